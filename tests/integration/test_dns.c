// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNS capture with real sockets: the app in the pod's cgroup queries the "real" server on port 53
 * of the remote host, which answers REAL_A4/REAL_A6; the sidecar's DNS server on 127.0.0.1:15053
 * and [::1]:15053 in the pod answers SIDECAR_A4/SIDECAR_A6. Which answer comes back says whether
 * the query was captured; the reply's source must always read as the server the app asked.
 * Both servers are a tiny responder written here: any question, one A or AAAA answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "harness.h"
#include "../tools/dnswire.h"
#include "sidecap.h"

TestSuite(dns, .init = tpod_setup, .fini = tpod_teardown, .timeout = 120);

#define SIDECAR_A4 "192.0.2.53"
#define SIDECAR_A6 "2001:db8::53"
#define REAL_A4	   "198.51.100.53"
#define REAL_A6	   "2001:db8::100"
#define QNAME	   "db.mesh.test"

static void sockaddr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%d", a, ntohs(s->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%d", a, ntohs(s->sin6_port));
	}
}

/*
 * A responder in namespace NS, on UDP and TCP at ADDRS (up to a NULL) and PORT, answering A4 or
 * A6, for at most 90 s; ended at teardown. Returns once its sockets are bound.
 */
static void start_responder(const char *ns, int flags, const char *const addrs[], int port,
			    const char *a4, const char *a6)
{
	struct pollfd pfd[8];
	int ready[2], n = 0, i, one = 1;
	char c = 0;
	pid_t pid;

	cr_assert_eq(pipe(ready), 0);
	pid = tpod_fork_at(ns, NULL, flags);
	if (pid) {
		close(ready[1]);
		cr_assert_eq(read(ready[0], &c, 1), 1, "the responder on port %d did not start",
			     port);
		close(ready[0]);
		return;
	}
	close(ready[0]);
	for (i = 0; addrs[i] && n < 8; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int type;

		for (type = 0; type < 2; type++) {
			int t = type ? SOCK_STREAM : SOCK_DGRAM, fd;

			if (dns_sockaddr(addrs[i], port, &ss, &len))
				_exit(2);
			fd = socket(ss.ss_family, t, 0);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ss.ss_family == AF_INET6)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) ||
			    (t == SOCK_STREAM && listen(fd, 16))) {
				perror("responder bind");
				_exit(3);
			}
			pfd[n].fd = fd;
			pfd[n].events = POLLIN;
			n++;
		}
	}
	if (write(ready[1], &c, 1) != 1)
		_exit(4);
	for (time_t end = time(NULL) + 90; time(NULL) < end;) {
		uint8_t q[514], r[514];
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t got;
		size_t rl;
		int type;

		if (poll(pfd, n, 1000) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			socklen_t tl = sizeof(type);

			getsockopt(pfd[i].fd, SOL_SOCKET, SO_TYPE, &type, &tl);
			if (type == SOCK_DGRAM) {
				got = recvfrom(pfd[i].fd, q, sizeof(q), 0, (struct sockaddr *)&from,
					       &flen);
				rl = got > 0 ? dns_answer(q, got, r, a4, a6) : 0;
				if (rl)
					sendto(pfd[i].fd, r, rl, 0, (struct sockaddr *)&from, flen);
				continue;
			}
			int c2 = accept(pfd[i].fd, NULL, NULL);
			struct timeval tv = {.tv_sec = 2};

			if (c2 < 0)
				continue;
			setsockopt(c2, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			/* A TCP query: a two-byte length, then the message. */
			got = recv(c2, q, 2, MSG_WAITALL);
			if (got == 2 && (q[0] << 8 | q[1]) <= (int)sizeof(q) - 2)
				got = 2 + recv(c2, q + 2, q[0] << 8 | q[1], MSG_WAITALL);
			if (got > 2 && (size_t)got >= 2u + (q[0] << 8 | q[1])) {
				rl = dns_answer(q + 2, got - 2, r + 2, a4, a6);
				r[0] = rl >> 8;
				r[1] = rl;
				if (rl && send(c2, r, rl + 2, MSG_NOSIGNAL) < 0)
					perror("responder send");
			}
			close(c2);
		}
	}
	_exit(0);
}

/* The pod's own DNS server, run like the proxy, and the real one of the remote host. */
static void start_servers(void)
{
	static const char *const local[] = {"127.0.0.1", "::1", NULL};
	static const char *const remote[] = {T_REMOTE_ADDR4, T_REMOTE_ADDR6, NULL};

	start_responder(P.ns, T_UID_PROXY, local, 15053, SIDECAR_A4, SIDECAR_A6);
	start_responder(P.rns, 0, remote, 53, REAL_A4, REAL_A6);
}

enum qkind {
	Q_SENDTO,    /* unconnected UDP: sendto, recvfrom */
	Q_SENDMSG,   /* unconnected UDP: sendmsg, recvmsg */
	Q_CONNECTED, /* connected UDP: connect, send, recvfrom */
	Q_TCP,	     /* TCP: connect, length-prefixed message */
};

struct qres {
	int err; /* 0, or the errno of the step that failed */
	char answer[64];
	char from[80]; /* the reply's source as the app reads it (UDP) */
	char peer[80]; /* getpeername() (connected sockets) */
};

/* In the child: one query of KIND to SERVER:PORT, as FAMILY's socket. */
static void do_query(enum qkind kind, int family, const char *server, int port, struct qres *r)
{
	struct sockaddr_storage to, from, peer;
	socklen_t tolen, flen = sizeof(from), plen = sizeof(peer);
	struct timeval tv = {.tv_sec = 3};
	uint8_t q[512], a[514];
	uint16_t id = getpid() & 0xffff;
	size_t qlen;
	ssize_t got = -1;
	int fd;

	qlen = dns_query(q + 2, id, QNAME, DNS_QTYPE_A);
	if (dns_sockaddr(server, port, &to, &tolen)) {
		r->err = EINVAL;
		return;
	}
	fd = socket(family, kind == Q_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (kind == Q_CONNECTED || kind == Q_TCP) {
		if (connect(fd, (struct sockaddr *)&to, tolen)) {
			r->err = errno;
			return;
		}
		if (!getpeername(fd, (struct sockaddr *)&peer, &plen))
			sockaddr_str(&peer, r->peer, sizeof(r->peer));
	}
	switch (kind) {
	case Q_SENDTO:
		if (sendto(fd, q + 2, qlen, 0, (struct sockaddr *)&to, tolen) < 0)
			break;
		got = recvfrom(fd, a, sizeof(a), 0, (struct sockaddr *)&from, &flen);
		break;
	case Q_SENDMSG: {
		struct iovec iov = {q + 2, qlen};
		struct msghdr m = {
			.msg_name = &to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1};

		if (sendmsg(fd, &m, 0) < 0)
			break;
		iov.iov_base = a;
		iov.iov_len = sizeof(a);
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		got = recvmsg(fd, &m, 0);
		flen = m.msg_namelen;
		break;
	}
	case Q_CONNECTED:
		if (send(fd, q + 2, qlen, 0) < 0)
			break;
		got = recvfrom(fd, a, sizeof(a), 0, (struct sockaddr *)&from, &flen);
		break;
	case Q_TCP:
		q[0] = qlen >> 8;
		q[1] = qlen;
		if (send(fd, q, qlen + 2, 0) < 0)
			break;
		got = recv(fd, a, sizeof(a), MSG_WAITALL);
		if (got > 2) {
			memmove(a, a + 2, got - 2);
			got -= 2;
		}
		break;
	}
	if (got < 0) {
		r->err = errno ? errno : EIO;
		return;
	}
	if (kind != Q_TCP)
		sockaddr_str(&from, r->from, sizeof(r->from));
	if (dns_parse(a, got, id, r->answer, sizeof(r->answer)))
		r->err = EBADMSG;
	close(fd);
}

/* Run a query of KIND from a process of the pod (in its cgroup; FLAGS may add T_UID_PROXY). */
static struct qres query(int flags, enum qkind kind, int family, const char *server, int port)
{
	struct qres r = {0};
	struct pollfd pfd;
	int fds[2], st;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = tpod_fork_at(P.ns, P.cgroup, flags);
	if (pid == 0) {
		close(fds[0]);
		do_query(kind, family, server, port, &r);
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 10000), 1, "the query to %s:%d did not finish", server, port);
	cr_assert_eq(read(fds[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return r;
}

static void assert_answer(const struct qres *r, const char *answer, const char *from)
{
	cr_assert_eq(r->err, 0, "query failed: %s", strerror(r->err));
	cr_assert_str_eq(r->answer, answer);
	if (from)
		cr_assert_str_eq(r->from, from, "the reply's source reads %s, not %s", r->from,
				 from);
}

static void start_capture(const char *extra)
{
	char text[512];

	snprintf(text, sizeof(text), "dns:\n  capture: true\n%s", extra);
	tpod_write_config(text);
	tpod_start_daemon();
	start_servers();
}

Test(dns, unconnected_udp_v4_is_answered_by_the_sidecar_as_the_server)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, T_REMOTE_ADDR4 ":53");
	r = query(0, Q_SENDMSG, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, T_REMOTE_ADDR4 ":53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 2);
	cr_assert_eq(tpod_counter(SC_C_dns_reply_rewritten), 2);
}

Test(dns, unconnected_udp_v6_is_answered_by_the_sidecar_as_the_server)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_SENDTO, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, SIDECAR_A4, "[" T_REMOTE_ADDR6 "]:53");
	r = query(0, Q_SENDMSG, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, SIDECAR_A4, "[" T_REMOTE_ADDR6 "]:53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp6), 2);
	cr_assert_eq(tpod_counter(SC_C_dns_reply_rewritten), 2);
}

Test(dns, unconnected_udp_v4_mapped_is_captured_as_ipv4)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_SENDTO, AF_INET6, "::ffff:" T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, "[::ffff:" T_REMOTE_ADDR4 "]:53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 1);
}

Test(dns, connected_udp_v4_is_captured_and_sees_the_server_as_peer)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_CONNECTED, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, T_REMOTE_ADDR4 ":53");
	cr_assert_str_eq(r.peer, T_REMOTE_ADDR4 ":53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 1);
	cr_assert_eq(tpod_counter(SC_C_dns_reply_rewritten), 1);
}

Test(dns, connected_udp_v6_is_captured_and_sees_the_server_as_peer)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_CONNECTED, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, SIDECAR_A4, "[" T_REMOTE_ADDR6 "]:53");
	cr_assert_str_eq(r.peer, "[" T_REMOTE_ADDR6 "]:53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp6), 1);
}

Test(dns, tcp_v4_and_v6_are_captured)
{
	struct qres r;

	start_capture("");
	r = query(0, Q_TCP, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, NULL);
	cr_assert_str_eq(r.peer, T_REMOTE_ADDR4 ":53");
	r = query(0, Q_TCP, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, SIDECAR_A4, NULL);
	cr_assert_str_eq(r.peer, "[" T_REMOTE_ADDR6 "]:53");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_tcp4), 1);
	cr_assert_eq(tpod_counter(SC_C_dns_captured_tcp6), 1);
}

Test(dns, proxy_uid_query_is_not_captured)
{
	struct qres r;

	start_capture("");
	r = query(T_UID_PROXY, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":53");
	r = query(T_UID_PROXY, Q_CONNECTED, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, REAL_A4, "[" T_REMOTE_ADDR6 "]:53");
	cr_assert_eq(tpod_counter(SC_C_dns_skip_proxy_uid), 2);
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 0);
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp6), 0);
}

Test(dns, udp_to_another_port_is_not_captured)
{
	static const char *const remote[] = {T_REMOTE_ADDR4, NULL};
	struct qres r;

	start_capture("");
	start_responder(P.rns, 0, remote, 5300, REAL_A4, REAL_A6);
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 5300);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":5300");
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 0);
	cr_assert_eq(tpod_counter(SC_C_dns_reply_rewritten), 0);
}

Test(dns, servers_not_listed_are_not_captured)
{
	struct qres r;

	start_capture("  servers: [" T_REMOTE_ADDR6 "]\n");
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":53");
	cr_assert_eq(tpod_counter(SC_C_dns_skip_server_not_listed), 1);
	r = query(0, Q_SENDTO, AF_INET6, T_REMOTE_ADDR6, 53);
	assert_answer(&r, SIDECAR_A4, "[" T_REMOTE_ADDR6 "]:53");
}

Test(dns, capture_is_off_by_default)
{
	struct qres r;

	tpod_write_config("");
	tpod_start_daemon();
	start_servers();
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":53");
	r = query(0, Q_CONNECTED, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":53");
	cr_assert_eq(tpod_counter(SC_C_dns_skip_capture_off), 2);
	cr_assert_eq(tpod_counter(SC_C_dns_captured_udp4), 0);
}

Test(dns, live_edit_turns_capture_off_for_the_next_query)
{
	unsigned int gen;
	struct qres r;
	int i;

	start_capture("");
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, SIDECAR_A4, T_REMOTE_ADDR4 ":53");
	gen = tpod_generation();
	tpod_write_config("dns:\n  capture: false\n");
	for (i = 0; i < 400 && tpod_generation() == gen; i++)
		usleep(5000);
	cr_assert_gt(tpod_generation(), gen, "the edit was not applied");
	r = query(0, Q_SENDTO, AF_INET, T_REMOTE_ADDR4, 53);
	assert_answer(&r, REAL_A4, T_REMOTE_ADDR4 ":53");
	cr_assert_eq(tpod_counter(SC_C_dns_skip_capture_off), 1);
	cr_assert_eq(kill(P.daemon, 0), 0, "the daemon exited on the edit");
}

/*
 * The C library's resolver, as an app would call it: getaddrinfo with a resolv.conf naming the
 * remote server, bind-mounted over /etc/resolv.conf in a mount namespace of the child only. The
 * child runs as an ordinary uid.
 */
Test(dns, getaddrinfo_gets_the_sidecar_answer)
{
	char resolv[PATH_MAX], nss[PATH_MAX];
	struct qres r = {0};
	int fds[2], st;
	FILE *f;
	pid_t pid;

	start_capture("");
	snprintf(resolv, sizeof(resolv), "%s/resolv.conf", P.dir);
	f = fopen(resolv, "we");
	cr_assert_not_null(f);
	fprintf(f, "nameserver %s\noptions attempts:1 timeout:2\n", T_REMOTE_ADDR4);
	fclose(f);
	snprintf(nss, sizeof(nss), "%s/nsswitch.conf", P.dir);
	f = fopen(nss, "we");
	cr_assert_not_null(f);
	fprintf(f, "hosts: dns\n");
	fclose(f);
	cr_assert_eq(pipe(fds), 0);
	pid = tpod_fork_at(P.ns, P.cgroup, 0);
	if (pid == 0) {
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res;
		int err;

		close(fds[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) ||
		    mount(nss, "/etc/nsswitch.conf", NULL, MS_BIND, NULL))
			r.err = errno;
		else if (setgroups(0, NULL) || setgid(1000) || setuid(1000))
			r.err = errno;
		else if ((err = getaddrinfo(QNAME, NULL, &hints, &res)))
			snprintf(r.answer, sizeof(r.answer), "error: %s", gai_strerror(err));
		else
			inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
				  r.answer, sizeof(r.answer));
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(r.err, 0, "setting up the child: %s", strerror(r.err));
	cr_assert_str_eq(r.answer, SIDECAR_A4);
	cr_assert_geq(tpod_counter(SC_C_dns_captured_udp4), 1);
	cr_assert_geq(tpod_counter(SC_C_dns_reply_rewritten), 1);
}
