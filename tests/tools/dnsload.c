// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A bounded DNS query load, for the benchmark and the demo.
 *
 *   dnsload server ADDR PORT [--answer A] [--seconds S]
 *       answer every UDP query on ADDR:PORT with address A (default 192.0.2.53) for S seconds
 *       (default 600), then exit.
 *   dnsload client ADDR PORT [--queries N] [--seconds S] [--name NAME]
 *       send N queries (default 10000) one after the other on one unconnected UDP socket
 *       (sendto/recvfrom, as musl's resolver does), stopping after S seconds (default 30);
 *       print one line: queries, qps, p50_us, p99_us, failed, and the last answer and its source.
 *
 * One query is outstanding at a time: the figures are the round trip of one query through
 * whatever sits between the client and the server (nothing, iptables, or sidecap's programs).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnswire.h"

#define MAX_QUERIES 1000000

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port;

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(buf, len, "[%s]:%d", a, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		snprintf(buf, len, "%s:%d", a, port);
	}
}

static int server(const struct sockaddr_storage *ss, socklen_t len, const char *answer,
		  double seconds)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0), one = 1;
	double end = now_us() + seconds * 1e6;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (fd < 0 || bind(fd, (const struct sockaddr *)ss, len)) {
		perror("dnsload server: bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (now_us() < end) {
		uint8_t q[512], r[512];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t got;
		size_t rl;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		got = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		rl = got > 0 ? dns_answer(q, got, r, answer, "2001:db8::53") : 0;
		if (rl)
			sendto(fd, r, rl, 0, (struct sockaddr *)&from, flen);
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int client(const struct sockaddr_storage *ss, socklen_t len, long n, double seconds,
		  const char *name)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	struct timeval tv = {.tv_sec = 1};
	double *lat = calloc(n, sizeof(*lat)), t0, t, end;
	char answer[64] = "-", src[80] = "-";
	long i, done = 0, failed = 0;

	if (fd < 0 || !lat) {
		perror("dnsload client");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_us();
	end = t0 + seconds * 1e6;
	for (i = 0; i < n && now_us() < end; i++) {
		uint8_t q[512], r[512];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		uint16_t id = i & 0xffff;
		size_t ql = dns_query(q, id, name, DNS_QTYPE_A);
		ssize_t got;

		t = now_us();
		if (sendto(fd, q, ql, 0, (const struct sockaddr *)ss, len) < 0) {
			failed++;
			continue;
		}
		got = recvfrom(fd, r, sizeof(r), 0, (struct sockaddr *)&from, &flen);
		if (got < 0 || dns_parse(r, got, id, answer, sizeof(answer))) {
			failed++;
			continue;
		}
		lat[done++] = now_us() - t;
		addr_str(&from, src, sizeof(src));
	}
	t = now_us() - t0;
	qsort(lat, done, sizeof(*lat), cmp_double);
	printf("queries=%ld qps=%.0f p50_us=%.1f p99_us=%.1f failed=%ld answer=%s from=%s\n", done,
	       done / (t / 1e6), done ? lat[done / 2] : 0.0, done ? lat[done * 99 / 100] : 0.0,
	       failed, answer, src);
	free(lat);
	return done && !failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *answer = "192.0.2.53", *name = "db.mesh.test";
	double seconds = -1;
	long n = 10000;
	struct sockaddr_storage ss;
	socklen_t len;
	int i;

	if (argc < 4 || dns_sockaddr(argv[2], atoi(argv[3]), &ss, &len)) {
		fprintf(stderr,
			"usage: dnsload server|client ADDR PORT [options] (see the source)\n");
		return 2;
	}
	for (i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--answer"))
			answer = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--queries"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--name"))
			name = argv[i + 1];
		else {
			fprintf(stderr, "dnsload: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (n < 1 || n > MAX_QUERIES) {
		fprintf(stderr, "dnsload: --queries 1-%d\n", MAX_QUERIES);
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return server(&ss, len, answer, seconds > 0 ? seconds : 600);
	if (!strcmp(argv[1], "client"))
		return client(&ss, len, n, seconds > 0 ? seconds : 30, name);
	fprintf(stderr, "dnsload: server or client, not %s\n", argv[1]);
	return 2;
}
