/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcptool: a plain-POSIX TCP test peer for the integration tests and the demo. It is a poll()
 * loop on one thread, so what it does on the wire is easy to reason about, and it prints one
 * line of key=value pairs per connection for the tests to parse. The command line and the
 * output formats are described in tests/tools/README.md; keep the two in step.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Netfilter's "where was this connection going" getsockopt, answered by our BPF hook too. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv4.h> */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* <linux/netfilter_ipv6/ip6_tables.h> */
#endif

#define TT_EXIT_OK	0
#define TT_EXIT_FAIL	1 /* a connection failed (client), or a setup error */
#define TT_EXIT_USAGE	2
#define TT_EXIT_TIMEOUT 3 /* --max-seconds reached */

#define TT_BLOCK	      65536 /* bytes of the stream generated at once; also the write size */
#define TT_MAX_CONNS	      1024  /* connections a server serves at once */
#define TT_MAX_CHUNK	      (16u << 20)
#define TT_ADDRSTRLEN	      (INET6_ADDRSTRLEN + 8) /* "[" addr "]:" port */
#define TT_SHA_HEX	      65
#define TT_DEFAULT_SEND	      64
#define TT_DEFAULT_CHUNK      65536
#define TT_DEFAULT_MAX_SECS   600
#define TT_DEFAULT_WAIT_MS    5000
#define TT_SEED_ZERO_REPLACED 0x9E3779B97F4A7C15ull /* xorshift64* must not start at 0 */

enum tt_mode { TT_ECHO, TT_SINK, TT_SOURCE };

struct tt_opts {
	const char *cmd;
	const char *addr_arg;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct sockaddr_storage bind_addr;
	socklen_t bind_addrlen; /* 0 = no --bind */
	enum tt_mode mode;
	uint64_t src_bytes;  /* server --bytes */
	uint64_t send_bytes; /* client --send */
	uint64_t seed;
	uint64_t slow_us;
	size_t chunk;
	uint64_t count;
	uint64_t hold_ms;
	uint64_t repeat;    /* 0 = single connection, full conn line */
	uint64_t exchanges; /* client --exchanges: 0 = stream --send at once */
	uint64_t connect_timeout_ms;
	uint64_t wait_timeout_ms;
	uint64_t max_seconds;
	const char *ready_file;
	bool report;
	bool dual;
	bool dump;
};

/*
 * The deterministic stream: byte i is byte (i % 8) of the little-endian encoding of output
 * number i / 8 (counting from 0) of xorshift64* (shifts 12, 25, 27; multiplier
 * 0x2545F4914F6CDD1D) whose state starts at the seed (a seed of 0 is replaced by
 * 0x9E3779B97F4A7C15, since the all-zero state never leaves zero). Each connection starts the
 * stream afresh.
 */
struct tt_stream {
	uint64_t x;	 /* generator state */
	uint64_t left;	 /* bytes still to hand out */
	size_t off, len; /* blk[off..len) is generated but not yet handed out */
	uint8_t blk[TT_BLOCK];
};

struct tt_result {
	char peer[TT_ADDRSTRLEN];
	char local[TT_ADDRSTRLEN];
	uint64_t sent, recv;
	uint64_t connect_us, total_us;
	char sha_out[TT_SHA_HEX];
	char sha_in[TT_SHA_HEX];
	int err;	   /* 0 or a positive errno */
	const char *stage; /* where err happened */
};

struct tt_client {
	const struct tt_opts *o;
	uint8_t *buf; /* o->chunk bytes */
	struct tt_stream *stream;
	EVP_MD_CTX *sha_in, *sha_out;
};

struct tt_sconn {
	int fd;
	bool rd_eof, wr_shut;
	uint64_t in, out;
	EVP_MD_CTX *sha_in, *sha_out; /* NULL unless --report */
	uint8_t *buf;		      /* echo: buf[start..end) read and not yet written back */
	size_t start, end;
	struct tt_stream *src; /* source mode */
	char peer[TT_ADDRSTRLEN];
	char local[TT_ADDRSTRLEN];
};

static uint64_t tt_deadline_us;
static EVP_MD *tt_sha256;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The symbolic name of a positive errno ("ECONNRESET"); the result is valid until the next call. */
static const char *errno_name(int err)
{
	static char buf[24];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* What poll() may wait: want_ms (-1 = forever), but never past --max-seconds. */
static int poll_timeout(int64_t want_ms)
{
	uint64_t now = now_us(), left;

	if (now >= tt_deadline_us)
		return 0;
	left = (tt_deadline_us - now + 999) / 1000;
	if (want_ms >= 0 && (uint64_t)want_ms < left)
		left = want_ms;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static bool deadline_passed(void)
{
	return now_us() >= tt_deadline_us;
}

/* Sleeps us microseconds; stops at the deadline and then returns -ETIME. */
static int sleep_us(uint64_t us)
{
	uint64_t end = now_us() + us, now;
	int err = 0;

	if (end > tt_deadline_us) {
		end = tt_deadline_us;
		err = -ETIME;
	}
	while ((now = now_us()) < end) {
		uint64_t d = end - now;
		struct timespec ts = {.tv_sec = d / 1000000, .tv_nsec = (d % 1000000) * 1000};

		nanosleep(&ts, NULL);
	}
	return err;
}

/*
 * A backstop for --max-seconds: every wait is bounded by the deadline already, so this fires only
 * if something blocks where it should not.
 */
static void on_alarm(int sig)
{
	static const char msg[] = "tcptool: --max-seconds reached (hard stop)\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)r;
	_exit(TT_EXIT_TIMEOUT);
}

static void die_timeout(const struct tt_opts *o)
{
	fprintf(stderr, "tcptool: %s: --max-seconds %" PRIu64 " reached\n", o->cmd, o->max_seconds);
	exit(TT_EXIT_TIMEOUT);
}

static void sha_fail(const char *what)
{
	fprintf(stderr, "tcptool: %s failed (OpenSSL)\n", what);
	exit(TT_EXIT_FAIL);
}

static EVP_MD_CTX *sha_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx)
		sha_fail("EVP_MD_CTX_new");
	return ctx;
}

static void sha_start(EVP_MD_CTX *ctx)
{
	if (ctx && !EVP_DigestInit_ex(ctx, tt_sha256, NULL))
		sha_fail("EVP_DigestInit_ex");
}

static void sha_update(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	if (ctx && n && !EVP_DigestUpdate(ctx, p, n))
		sha_fail("EVP_DigestUpdate");
}

static void sha_hex(EVP_MD_CTX *ctx, char out[TT_SHA_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;

	if (!EVP_DigestFinal_ex(ctx, md, &len) || len != 32)
		sha_fail("EVP_DigestFinal_ex");
	static const char hex[] = "0123456789abcdef";

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * len] = '\0';
}

static uint64_t xorshift64s(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1Dull;
}

static void stream_init(struct tt_stream *s, uint64_t seed, uint64_t total)
{
	s->x = seed ? seed : TT_SEED_ZERO_REPLACED;
	s->left = total;
	s->off = 0;
	s->len = 0;
}

/* Points *p at the next bytes to send and returns how many; 0 once the stream is all sent. */
static size_t stream_peek(struct tt_stream *s, const uint8_t **p)
{
	size_t i;

	if (s->off == s->len) {
		if (!s->left)
			return 0;
		s->off = 0;
		s->len = s->left < TT_BLOCK ? s->left : TT_BLOCK;
		/* Only what is left: a 64 B request must not cost a 64 KiB block of CPU. Every
		 * block starts where the last left the generator, so a peer that generates whole
		 * blocks sees the same bytes. */
		for (i = 0; i < s->len; i += 8) {
			uint64_t v = htole64(xorshift64s(&s->x));

			memcpy(s->blk + i, &v, sizeof(v));
		}
	}
	*p = s->blk + s->off;
	return s->len - s->off;
}

static void stream_consume(struct tt_stream *s, size_t n)
{
	s->off += n;
	s->left -= n;
}

/* Decimal, with an optional binary suffix K, M or G. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	switch (*end) {
	case 'k':
	case 'K':
		mult = 1ull << 10;
		end++;
		break;
	case 'M':
		mult = 1ull << 20;
		end++;
		break;
	case 'G':
		mult = 1ull << 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	if (v > max / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

/* An IPv4 or IPv6 literal, the latter optionally in brackets; port in host order. */
static int parse_addr(const char *arg, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	size_t n = strlen(arg);

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']') {
		arg++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -EINVAL;
}

/* "1.2.3.4:80" or "[::1]:80" ("[::ffff:1.2.3.4]:80" for v4-mapped); "-" for anything else. */
static void fmt_addr(const struct sockaddr_storage *ss, char buf[TT_ADDRSTRLEN])
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET && inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
		snprintf(buf, TT_ADDRSTRLEN, "%s:%u", host, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)))
		snprintf(buf, TT_ADDRSTRLEN, "[%s]:%u", host, ntohs(sin6->sin6_port));
	else
		snprintf(buf, TT_ADDRSTRLEN, "-");
}

static void fmt_sock(int fd, bool peer, char buf[TT_ADDRSTRLEN])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int ret;

	memset(&ss, 0, sizeof(ss));
	ret = peer ? getpeername(fd, (struct sockaddr *)&ss, &len)
		   : getsockname(fd, (struct sockaddr *)&ss, &len);
	if (ret < 0)
		ss.ss_family = AF_UNSPEC;
	fmt_addr(&ss, buf);
}

/*
 * The getsockopt answers --getsockopt-dump prints. Values that differ from socket to socket
 * (cookies, TCP_INFO, local ports) are left out so runs can be compared; SO_PEERNAME stays, as
 * tests compare it with the peer they expect.
 */
struct tt_sockopt {
	const char *name;
	int level;
	int opt;
	int family; /* 0 = every socket */
};

static const struct tt_sockopt tt_sockopts[] = {
	{"SO_TYPE", SOL_SOCKET, SO_TYPE, 0},
	{"SO_PROTOCOL", SOL_SOCKET, SO_PROTOCOL, 0},
	{"SO_DOMAIN", SOL_SOCKET, SO_DOMAIN, 0},
	{"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 0},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 0},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 0},
	{"SO_PEERNAME", SOL_SOCKET, SO_PEERNAME, 0},
	{"SO_PEERCRED", SOL_SOCKET, SO_PEERCRED, 0},
	{"SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, 0},
	{"SO_ERROR", SOL_SOCKET, SO_ERROR, 0},
	{"SO_PEERGROUPS", SOL_SOCKET, SO_PEERGROUPS, 0},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 0},
	{"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG, 0},
	{"TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION, 0},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 0},
	{"IP_TOS", SOL_IP, IP_TOS, 0},
	{"IP_TTL", SOL_IP, IP_TTL, 0},
	{"IP_MTU", SOL_IP, IP_MTU, 0},
	{"SO_ORIGINAL_DST", SOL_IP, SO_ORIGINAL_DST, 0},
	{"IPV6_V6ONLY", SOL_IPV6, IPV6_V6ONLY, AF_INET6},
	{"IPV6_UNICAST_HOPS", SOL_IPV6, IPV6_UNICAST_HOPS, AF_INET6},
	{"IP6T_SO_ORIGINAL_DST", SOL_IPV6, IP6T_SO_ORIGINAL_DST, AF_INET6},
};

static void dump_one(FILE *f, int fd, const struct tt_sockopt *so, socklen_t size)
{
	uint8_t buf[256];
	socklen_t len = size, i;

	memset(buf, 0, sizeof(buf));
	fprintf(f, " %s", so->name);
	if (size != sizeof(buf))
		fprintf(f, "/%u", (unsigned int)size);
	fputc('=', f);
	if (getsockopt(fd, so->level, so->opt, buf, &len) < 0) {
		fprintf(f, "err:%s", errno_name(errno));
		return;
	}
	fprintf(f, "%u:", (unsigned int)len);
	for (i = 0; i < len && i < size; i++)
		fprintf(f, "%02x", buf[i]);
}

static int dump_sockopts(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char *line = NULL;
	size_t linelen = 0, i;
	FILE *f;

	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	f = open_memstream(&line, &linelen);
	if (!f)
		return -errno;
	fputs("sockopts", f);
	for (i = 0; i < sizeof(tt_sockopts) / sizeof(tt_sockopts[0]); i++) {
		const struct tt_sockopt *so = &tt_sockopts[i];

		if (so->family && so->family != ss.ss_family)
			continue;
		dump_one(f, fd, so, 256);
		dump_one(f, fd, so, 2);
		/*
		 * The kernel answers SO_PEERNAME with EINVAL when optlen exceeds the address, so
		 * the 256-byte probe never shows the peer; ask once more with the exact size.
		 */
		if (so->level == SOL_SOCKET && so->opt == SO_PEERNAME)
			dump_one(f, fd, so,
				 ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in));
	}
	fputc('\n', f);
	if (fclose(f))
		return -errno;
	fputs(line, stdout);
	fflush(stdout);
	free(line);
	return 0;
}

/* Connects without blocking past --connect-timeout-ms or the deadline; *fd is set either way. */
static int client_connect(const struct tt_opts *o, int *fd)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int err = 0, n;

	*fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return -errno;
	if (o->bind_addrlen && bind(*fd, (const struct sockaddr *)&o->bind_addr, o->bind_addrlen))
		return -errno;
	if (!connect(*fd, (const struct sockaddr *)&o->addr, o->addrlen))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;

	pfd = (struct pollfd){.fd = *fd, .events = POLLOUT};
	do {
		n = poll(&pfd, 1,
			 poll_timeout(o->connect_timeout_ms ? (int64_t)o->connect_timeout_ms : -1));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return deadline_passed() ? -ETIME : -ETIMEDOUT;
	if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/*
 * Sends the stream and reads at the same time, so neither side's buffers can fill and stall an
 * echo; half-closes once everything is sent and returns at EOF from the peer.
 */
static int client_transfer(struct tt_client *c, int fd, struct tt_result *r)
{
	const struct tt_opts *o = c->o;
	bool rd_eof = false, wr_done = false;

	if (!o->send_bytes) {
		if (shutdown(fd, SHUT_WR))
			return -errno;
		wr_done = true;
	}
	while (!rd_eof || !wr_done) {
		struct pollfd pfd = {.fd = fd};
		int n;

		pfd.events = (rd_eof ? 0 : POLLIN) | (wr_done ? 0 : POLLOUT);
		n = poll(&pfd, 1, poll_timeout(-1));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIME;

		if (!rd_eof && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(fd, c->buf, o->chunk);

			if (got < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (got == 0)
				rd_eof = true;
			if (got > 0) {
				r->recv += got;
				sha_update(c->sha_in, c->buf, got);
				if (o->slow_us && sleep_us(o->slow_us))
					return -ETIME;
			}
		}
		if (!wr_done && (pfd.revents & (POLLOUT | POLLHUP | POLLERR))) {
			const uint8_t *p;
			size_t len = stream_peek(c->stream, &p);
			ssize_t put = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (put < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (put > 0) {
				stream_consume(c->stream, put);
				sha_update(c->sha_out, p, put);
				r->sent += put;
			}
			if (!c->stream->left) {
				if (shutdown(fd, SHUT_WR))
					return -errno;
				wr_done = true;
			}
		}
	}
	return 0;
}

/* Waits for FD to be ready for EVENTS; 0, or -ETIME past the deadline. */
static int wait_fd(int fd, short events)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int n;

	do {
		n = poll(&pfd, 1, poll_timeout(-1));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIME;
}

/*
 * --exchanges K: K request/response turns of --send bytes each against an echo server: each
 * request is sent whole, then its echo read whole, before the next; then a half-close, and EOF.
 */
static int client_exchanges(struct tt_client *c, int fd, struct tt_result *r)
{
	const struct tt_opts *o = c->o;
	uint64_t k, want;
	int err;

	for (k = 0; k < o->exchanges; k++) {
		want = r->sent + o->send_bytes;
		while (r->sent < want) {
			const uint8_t *p;
			size_t len = stream_peek(c->stream, &p);
			ssize_t put;

			if (len > want - r->sent)
				len = want - r->sent;
			put = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (put < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (put > 0) {
				stream_consume(c->stream, put);
				sha_update(c->sha_out, p, put);
				r->sent += put;
			} else if ((err = wait_fd(fd, POLLOUT))) {
				return err;
			}
		}
		while (r->recv < want) {
			ssize_t got = read(fd, c->buf, o->chunk);

			if (got == 0)
				return -ECONNRESET;
			if (got < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			if (got > 0) {
				r->recv += got;
				sha_update(c->sha_in, c->buf, got);
			} else if ((err = wait_fd(fd, POLLIN))) {
				return err;
			}
		}
	}
	if (shutdown(fd, SHUT_WR))
		return -errno;
	for (;;) {
		ssize_t got = read(fd, c->buf, o->chunk);

		if (got == 0)
			return 0;
		if (got < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (got > 0) {
			r->recv += got;
			sha_update(c->sha_in, c->buf, got);
		} else if ((err = wait_fd(fd, POLLIN))) {
			return err;
		}
	}
}

static void client_one(struct tt_client *c, struct tt_result *r)
{
	const struct tt_opts *o = c->o;
	uint64_t t0 = now_us();
	int fd = -1, err;

	memset(r, 0, sizeof(*r));
	strcpy(r->peer, "-");
	strcpy(r->local, "-");
	sha_start(c->sha_in);
	sha_start(c->sha_out);
	stream_init(c->stream, o->seed, o->send_bytes * (o->exchanges ? o->exchanges : 1));

	err = client_connect(o, &fd);
	r->connect_us = now_us() - t0;
	if (fd >= 0)
		fmt_sock(fd, false, r->local);
	if (err) {
		r->stage = "connect";
		goto out;
	}
	fmt_sock(fd, true, r->peer);
	if (o->dump) {
		err = dump_sockopts(fd);
		if (err) {
			r->stage = "getsockopt-dump";
			goto out;
		}
	}
	if (o->hold_ms) {
		err = sleep_us(o->hold_ms * 1000);
		if (err) {
			r->stage = "hold";
			goto out;
		}
	}
	err = o->exchanges ? client_exchanges(c, fd, r) : client_transfer(c, fd, r);
	if (err)
		r->stage = "transfer";
out:
	if (fd >= 0)
		close(fd);
	r->total_us = now_us() - t0;
	r->err = -err;
	sha_hex(c->sha_out, r->sha_out);
	sha_hex(c->sha_in, r->sha_in);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; 0 for an empty one. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned int p)
{
	size_t rank = (n * p + 99) / 100;

	if (!n)
		return 0;
	return v[rank ? rank - 1 : 0];
}

static int cmd_client(const struct tt_opts *o)
{
	struct tt_client c = {.o = o};
	uint64_t *connect_us = NULL, *total_us = NULL, i, ok = 0, failed = 0, t0;
	struct tt_result r;
	int rc = TT_EXIT_OK;

	c.buf = malloc(o->chunk);
	c.stream = malloc(sizeof(*c.stream));
	if (o->repeat) {
		connect_us = calloc(o->repeat, sizeof(*connect_us));
		total_us = calloc(o->repeat, sizeof(*total_us));
	}
	if (!c.buf || !c.stream || (o->repeat && (!connect_us || !total_us))) {
		fprintf(stderr, "tcptool: client: out of memory\n");
		return TT_EXIT_FAIL;
	}
	c.sha_in = sha_new();
	c.sha_out = sha_new();

	if (!o->repeat) {
		client_one(&c, &r);
		printf("conn peer=%s local=%s sent=%" PRIu64 " recv=%" PRIu64
		       " sha_out=%s sha_in=%s connect_us=%" PRIu64 " total_us=%" PRIu64
		       " result=%s%s\n",
		       r.peer, r.local, r.sent, r.recv, r.sha_out, r.sha_in, r.connect_us,
		       r.total_us, r.err ? "error:" : "ok", r.err ? errno_name(r.err) : "");
		fflush(stdout);
		if (r.err) {
			char addr[TT_ADDRSTRLEN];

			fmt_addr(&o->addr, addr);
			fprintf(stderr, "tcptool: client: %s to %s failed: %s\n", r.stage, addr,
				strerror(r.err));
			rc = r.err == ETIME ? TT_EXIT_TIMEOUT : TT_EXIT_FAIL;
		}
		goto out;
	}

	t0 = now_us();
	for (i = 0; i < o->repeat; i++) {
		client_one(&c, &r);
		if (r.err) {
			failed++;
			fprintf(stderr, "failed conn=%" PRIu64 " stage=%s error=%s\n", i, r.stage,
				errno_name(r.err));
			if (r.err == ETIME) {
				rc = TT_EXIT_TIMEOUT;
				i++;
				break;
			}
			continue;
		}
		connect_us[ok] = r.connect_us;
		total_us[ok] = r.total_us;
		ok++;
	}
	t0 = now_us() - t0; /* the loop's time: connections per second, with no start-up in it */
	qsort(connect_us, ok, sizeof(*connect_us), cmp_u64);
	qsort(total_us, ok, sizeof(*total_us), cmp_u64);
	printf("summary conns=%" PRIu64 " ok=%" PRIu64 " failed=%" PRIu64 " connect_p50_us=%" PRIu64
	       " connect_p99_us=%" PRIu64 " total_p50_us=%" PRIu64 " total_p99_us=%" PRIu64
	       " max_us=%" PRIu64 " elapsed_us=%" PRIu64 "\n",
	       i, ok, failed, percentile(connect_us, ok, 50), percentile(connect_us, ok, 99),
	       percentile(total_us, ok, 50), percentile(total_us, ok, 99),
	       ok ? total_us[ok - 1] : 0, t0);
	fflush(stdout);
	if (rc == TT_EXIT_TIMEOUT)
		fprintf(stderr, "tcptool: client: --max-seconds %" PRIu64 " reached\n",
			o->max_seconds);
	else if (failed)
		rc = TT_EXIT_FAIL;
out:
	EVP_MD_CTX_free(c.sha_in);
	EVP_MD_CTX_free(c.sha_out);
	free(connect_us);
	free(total_us);
	free(c.stream);
	free(c.buf);
	return rc;
}

/* Writes "<pid>\n" to PATH.tmp and renames it, so a reader never sees a partial file. */
static int write_ready_file(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f))
		return -errno;
	if (rename(tmp, path))
		return -errno;
	return 0;
}

static int server_listen(const struct tt_opts *o, int *lfd)
{
	int one = 1, v6only = !o->dual;
	int fd;

	fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto err;
	if (o->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto err;
	if (bind(fd, (const struct sockaddr *)&o->addr, o->addrlen))
		goto err;
	if (listen(fd, 4096))
		goto err;
	*lfd = fd;
	return 0;
err:
	one = -errno;
	close(fd);
	return one;
}

static void sconn_free(struct tt_sconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	EVP_MD_CTX_free(c->sha_in);
	EVP_MD_CTX_free(c->sha_out);
	free(c->buf);
	free(c->src);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int sconn_init(const struct tt_opts *o, struct tt_sconn *c, int fd,
		      const struct sockaddr_storage *peer)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	fmt_addr(peer, c->peer);
	fmt_sock(fd, false, c->local);
	if (o->report) {
		c->sha_in = sha_new();
		c->sha_out = sha_new();
		sha_start(c->sha_in);
		sha_start(c->sha_out);
	}
	if (o->mode == TT_ECHO) {
		c->buf = malloc(o->chunk);
		if (!c->buf)
			return -ENOMEM;
	}
	if (o->mode == TT_SOURCE) {
		c->src = malloc(sizeof(*c->src));
		if (!c->src)
			return -ENOMEM;
		stream_init(c->src, o->seed, o->src_bytes);
		if (!o->src_bytes) {
			if (shutdown(fd, SHUT_WR))
				return -errno;
			c->wr_shut = true;
		}
	}
	return 0;
}

static short sconn_events(const struct tt_opts *o, const struct tt_sconn *c)
{
	short ev = 0;

	switch (o->mode) {
	case TT_ECHO:
		if (!c->rd_eof && c->end < o->chunk)
			ev |= POLLIN;
		if (c->start < c->end)
			ev |= POLLOUT;
		break;
	case TT_SINK:
		ev = POLLIN;
		break;
	case TT_SOURCE:
		if (!c->rd_eof)
			ev |= POLLIN;
		if (!c->wr_shut)
			ev |= POLLOUT;
		break;
	}
	return ev;
}

/* Moves one connection along; returns 1 when it is finished, 0 to go on, -errno on error. */
static int sconn_step(const struct tt_opts *o, struct tt_sconn *c, short revents, uint8_t *scratch)
{
	short want = sconn_events(o, c);
	bool got_data = false;

	if ((want & POLLIN) && (revents & (POLLIN | POLLHUP | POLLERR))) {
		uint8_t *p = o->mode == TT_ECHO ? c->buf + c->end : scratch;
		size_t room = o->mode == TT_ECHO ? o->chunk - c->end : o->chunk;
		ssize_t got = read(c->fd, p, room);

		if (got < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (got == 0)
			c->rd_eof = true;
		if (got > 0) {
			c->in += got;
			sha_update(c->sha_in, p, got);
			if (o->mode == TT_ECHO)
				c->end += got;
			got_data = true;
			if (o->slow_us && sleep_us(o->slow_us))
				return -ETIME;
		}
	}
	/* An echo tries to write back what it just read without waiting for another poll. */
	want = sconn_events(o, c);
	if ((want & POLLOUT) && (got_data || (revents & (POLLOUT | POLLHUP | POLLERR)))) {
		/* No buffer yet (a source before its first read): nothing to offset. */
		const uint8_t *p = c->buf ? c->buf + c->start : NULL;
		size_t len = c->end - c->start;
		ssize_t put;

		if (o->mode == TT_SOURCE)
			len = stream_peek(c->src, &p);
		put = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (put < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (put > 0) {
			c->out += put;
			sha_update(c->sha_out, p, put);
			if (o->mode == TT_SOURCE)
				stream_consume(c->src, put);
			else
				c->start += put;
		}
		if (o->mode == TT_ECHO && c->start == c->end)
			c->start = c->end = 0;
		if (o->mode == TT_SOURCE && !c->src->left) {
			if (shutdown(c->fd, SHUT_WR))
				return -errno;
			c->wr_shut = true;
		}
	}

	switch (o->mode) {
	case TT_ECHO:
		/*
		 * Everything the peer sent is echoed: pass its half-close on. Closing right away is
		 * what "close when the peer closes" comes to, since the peer's FIN is already in.
		 */
		if (c->rd_eof && c->start == c->end) {
			if (shutdown(c->fd, SHUT_WR))
				return -errno;
			return 1;
		}
		return 0;
	case TT_SINK:
		return c->rd_eof;
	case TT_SOURCE:
		return c->rd_eof && c->wr_shut;
	}
	return 0;
}

static void sconn_done(const struct tt_opts *o, struct tt_sconn *c, int err)
{
	char sha_in[TT_SHA_HEX], sha_out[TT_SHA_HEX];

	close(c->fd);
	c->fd = -1;
	if (o->report) {
		sha_hex(c->sha_in, sha_in);
		sha_hex(c->sha_out, sha_out);
		printf("conn peer=%s local=%s in=%" PRIu64 " out=%" PRIu64
		       " sha_in=%s sha_out=%s result=%s%s\n",
		       c->peer, c->local, c->in, c->out, sha_in, sha_out, err ? "error:" : "ok",
		       err ? errno_name(-err) : "");
		fflush(stdout);
	} else if (err) {
		fprintf(stderr, "tcptool: server: connection from %s: %s\n", c->peer,
			strerror(-err));
	}
	sconn_free(c);
}

static int cmd_server(const struct tt_opts *o)
{
	/* A slow reader sleeps in the loop, which would pace every connection: serve one at once.
	 */
	size_t max_conns = o->slow_us ? 1 : TT_MAX_CONNS;
	struct pollfd *pfds = calloc(TT_MAX_CONNS + 1, sizeof(*pfds));
	struct tt_sconn *conns = calloc(TT_MAX_CONNS, sizeof(*conns));
	uint8_t *scratch = malloc(o->chunk);
	uint64_t accepted = 0, completed = 0;
	size_t nconns = 0, i;
	char addr[TT_ADDRSTRLEN];
	int lfd = -1, err;

	if (!pfds || !conns || !scratch) {
		fprintf(stderr, "tcptool: server: out of memory\n");
		return TT_EXIT_FAIL;
	}
	err = server_listen(o, &lfd);
	if (err) {
		fprintf(stderr, "tcptool: server: listen on %s: %s\n", o->addr_arg, strerror(-err));
		return TT_EXIT_FAIL;
	}
	fmt_sock(lfd, false, addr);
	printf("listening addr=%s\n", addr);
	fflush(stdout);
	if (o->ready_file) {
		err = write_ready_file(o->ready_file);
		if (err) {
			fprintf(stderr, "tcptool: server: write %s: %s\n", o->ready_file,
				strerror(-err));
			return TT_EXIT_FAIL;
		}
	}

	while (!o->count || completed < o->count) {
		bool accepting = nconns < max_conns && (!o->count || accepted < o->count);
		int n;

		pfds[0] = (struct pollfd){.fd = accepting ? lfd : -1, .events = POLLIN};
		for (i = 0; i < nconns; i++)
			pfds[i + 1] = (struct pollfd){.fd = conns[i].fd,
						      .events = sconn_events(o, &conns[i])};
		n = poll(pfds, nconns + 1, poll_timeout(-1));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tcptool: server: poll: %s\n", strerror(errno));
			return TT_EXIT_FAIL;
		}
		if (deadline_passed())
			die_timeout(o);

		/* Walk backwards so a finished connection can be replaced by the last one. */
		for (i = nconns; i-- > 0;) {
			if (!pfds[i + 1].revents)
				continue;
			err = sconn_step(o, &conns[i], pfds[i + 1].revents, scratch);
			if (err == -ETIME)
				die_timeout(o);
			if (!err)
				continue;
			sconn_done(o, &conns[i], err < 0 ? err : 0);
			completed++;
			nconns--;
			if (i != nconns) {
				conns[i] = conns[nconns];
				pfds[i + 1] = pfds[nconns + 1];
			}
		}

		while (accepting && (pfds[0].revents & POLLIN) && nconns < max_conns &&
		       (!o->count || accepted < o->count)) {
			struct sockaddr_storage peer;
			socklen_t len = sizeof(peer);
			int fd;

			memset(&peer, 0, sizeof(peer));
			fd = accept4(lfd, (struct sockaddr *)&peer, &len,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				if (errno == ECONNABORTED)
					continue;
				/* Out of descriptors or memory: say so, back off, try later. */
				fprintf(stderr, "tcptool: server: accept: %s\n", strerror(errno));
				sleep_us(10000);
				break;
			}
			accepted++;
			err = sconn_init(o, &conns[nconns], fd, &peer);
			if (err) {
				sconn_done(o, &conns[nconns], err);
				completed++;
				continue;
			}
			nconns++;
		}
	}
	close(lfd);
	free(scratch);
	free(conns);
	free(pfds);
	return TT_EXIT_OK;
}

/* Exit 0 as soon as a connect succeeds, 1 once --timeout-ms has passed. */
static int cmd_wait_port(const struct tt_opts *o)
{
	uint64_t end = now_us() + o->wait_timeout_ms * 1000;
	struct tt_opts probe = *o;
	int err, fd;

	for (;;) {
		uint64_t now = now_us();

		probe.connect_timeout_ms = now < end ? (end - now + 999) / 1000 : 1;
		if (probe.connect_timeout_ms > 1000)
			probe.connect_timeout_ms = 1000;
		err = client_connect(&probe, &fd);
		if (fd >= 0)
			close(fd);
		if (!err)
			return TT_EXIT_OK;
		if (err == -ETIME)
			die_timeout(o);
		if (now_us() >= end)
			break;
		sleep_us(50000);
	}
	fprintf(stderr, "tcptool: wait-port: %s not accepting after %" PRIu64 " ms (last: %s)\n",
		o->addr_arg, o->wait_timeout_ms, errno_name(-err));
	return TT_EXIT_FAIL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcptool server ADDR PORT [--mode echo|sink|source] [--bytes N] [--seed S]\n"
		"                                [--slow-read-us US] [--chunk N] [--count N]\n"
		"                                [--report] [--dual] [--ready-file PATH]\n"
		"                                [--max-seconds S]\n"
		"       tcptool client ADDR PORT [--send N] [--seed S] [--bind ADDR]\n"
		"                                [--slow-read-us US] [--chunk N] [--hold-ms MS]\n"
		"                                [--repeat R] [--exchanges K] [--getsockopt-dump]\n"
		"                                [--connect-timeout-ms MS] [--max-seconds S]\n"
		"       tcptool wait-port ADDR PORT [--timeout-ms T] [--max-seconds S]\n"
		"Sizes take a K, M or G suffix (binary). See tests/tools/README.md.\n");
}

enum {
	OPT_MODE = 256,
	OPT_BYTES,
	OPT_SEED,
	OPT_SLOW,
	OPT_CHUNK,
	OPT_COUNT,
	OPT_REPORT,
	OPT_MAX_SECONDS,
	OPT_READY_FILE,
	OPT_DUAL,
	OPT_BIND,
	OPT_SEND,
	OPT_HOLD,
	OPT_REPEAT,
	OPT_EXCHANGES,
	OPT_DUMP,
	OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_HELP,
};

#define TT_SERVER    1
#define TT_CLIENT    2
#define TT_WAIT_PORT 4
#define TT_ALL	     (TT_SERVER | TT_CLIENT | TT_WAIT_PORT)

static const struct option tt_long_opts[] = {
	{"mode", required_argument, NULL, OPT_MODE},
	{"bytes", required_argument, NULL, OPT_BYTES},
	{"seed", required_argument, NULL, OPT_SEED},
	{"slow-read-us", required_argument, NULL, OPT_SLOW},
	{"chunk", required_argument, NULL, OPT_CHUNK},
	{"count", required_argument, NULL, OPT_COUNT},
	{"report", no_argument, NULL, OPT_REPORT},
	{"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
	{"ready-file", required_argument, NULL, OPT_READY_FILE},
	{"dual", no_argument, NULL, OPT_DUAL},
	{"bind", required_argument, NULL, OPT_BIND},
	{"send", required_argument, NULL, OPT_SEND},
	{"hold-ms", required_argument, NULL, OPT_HOLD},
	{"repeat", required_argument, NULL, OPT_REPEAT},
	{"exchanges", required_argument, NULL, OPT_EXCHANGES},
	{"getsockopt-dump", no_argument, NULL, OPT_DUMP},
	{"connect-timeout-ms", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	{"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

/* Which subcommands take each option, indexed by option - OPT_MODE. */
static const unsigned char tt_opt_cmds[] = {
	TT_SERVER,	       /* mode */
	TT_SERVER,	       /* bytes */
	TT_SERVER | TT_CLIENT, /* seed */
	TT_SERVER | TT_CLIENT, /* slow-read-us */
	TT_SERVER | TT_CLIENT, /* chunk */
	TT_SERVER,	       /* count */
	TT_SERVER,	       /* report */
	TT_ALL,		       /* max-seconds */
	TT_SERVER,	       /* ready-file */
	TT_SERVER,	       /* dual */
	TT_CLIENT,	       /* bind */
	TT_CLIENT,	       /* send */
	TT_CLIENT,	       /* hold-ms */
	TT_CLIENT,	       /* repeat */
	TT_CLIENT,	       /* exchanges */
	TT_CLIENT,	       /* getsockopt-dump */
	TT_CLIENT,	       /* connect-timeout-ms */
	TT_WAIT_PORT,	       /* timeout-ms */
	TT_ALL,		       /* help */
};

_Static_assert(sizeof(tt_opt_cmds) == OPT_HELP - OPT_MODE + 1, "one entry per option");

static int bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "tcptool: --%s: bad value '%s'\n", opt, val);
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, unsigned int cmd, struct tt_opts *o)
{
	const char *bind_arg = NULL;
	uint64_t port, v;
	int c, idx;

	o->send_bytes = TT_DEFAULT_SEND;
	o->src_bytes = TT_DEFAULT_SEND;
	o->seed = 1;
	o->chunk = TT_DEFAULT_CHUNK;
	o->max_seconds = TT_DEFAULT_MAX_SECS;
	o->wait_timeout_ms = TT_DEFAULT_WAIT_MS;

	while ((c = getopt_long(argc, argv, "", tt_long_opts, &idx)) != -1) {
		const char *name = c >= OPT_MODE ? tt_long_opts[c - OPT_MODE].name : NULL;

		if (c == '?')
			return -EINVAL;
		if (!(tt_opt_cmds[c - OPT_MODE] & cmd)) {
			fprintf(stderr, "tcptool: --%s does not apply to %s\n", name, o->cmd);
			return -EINVAL;
		}
		switch (c) {
		case OPT_MODE:
			if (!strcmp(optarg, "echo"))
				o->mode = TT_ECHO;
			else if (!strcmp(optarg, "sink"))
				o->mode = TT_SINK;
			else if (!strcmp(optarg, "source"))
				o->mode = TT_SOURCE;
			else
				return bad_value(name, optarg);
			break;
		case OPT_BYTES:
			if (parse_u64(optarg, UINT64_MAX, &o->src_bytes))
				return bad_value(name, optarg);
			break;
		case OPT_SEND:
			if (parse_u64(optarg, UINT64_MAX, &o->send_bytes))
				return bad_value(name, optarg);
			break;
		case OPT_SEED:
			if (parse_u64(optarg, UINT64_MAX, &o->seed))
				return bad_value(name, optarg);
			break;
		case OPT_SLOW:
			if (parse_u64(optarg, 60000000, &o->slow_us))
				return bad_value(name, optarg);
			break;
		case OPT_CHUNK:
			if (parse_u64(optarg, TT_MAX_CHUNK, &v) || !v)
				return bad_value(name, optarg);
			o->chunk = v;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, UINT32_MAX, &o->count) || !o->count)
				return bad_value(name, optarg);
			break;
		case OPT_REPORT:
			o->report = true;
			break;
		case OPT_MAX_SECONDS:
			if (parse_u64(optarg, 7 * 86400, &o->max_seconds) || !o->max_seconds)
				return bad_value(name, optarg);
			break;
		case OPT_READY_FILE:
			o->ready_file = optarg;
			break;
		case OPT_DUAL:
			o->dual = true;
			break;
		case OPT_BIND:
			bind_arg = optarg;
			break;
		case OPT_HOLD:
			if (parse_u64(optarg, 7 * 86400 * 1000ull, &o->hold_ms))
				return bad_value(name, optarg);
			break;
		case OPT_REPEAT:
			if (parse_u64(optarg, 10000000, &o->repeat) || !o->repeat)
				return bad_value(name, optarg);
			break;
		case OPT_EXCHANGES:
			if (parse_u64(optarg, 10000000, &o->exchanges) || !o->exchanges)
				return bad_value(name, optarg);
			break;
		case OPT_DUMP:
			o->dump = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (parse_u64(optarg, INT_MAX, &o->connect_timeout_ms))
				return bad_value(name, optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, INT_MAX, &o->wait_timeout_ms))
				return bad_value(name, optarg);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(TT_EXIT_OK);
		}
	}

	if (argc - optind != 2) {
		fprintf(stderr, "tcptool: %s needs ADDR PORT\n", o->cmd);
		return -EINVAL;
	}
	o->addr_arg = argv[optind];
	if (parse_u64(argv[optind + 1], 65535, &port) || (cmd != TT_SERVER && !port)) {
		fprintf(stderr, "tcptool: '%s' is not a port (%s-65535)\n", argv[optind + 1],
			cmd == TT_SERVER ? "0" : "1");
		return -EINVAL;
	}
	if (parse_addr(o->addr_arg, port, &o->addr, &o->addrlen)) {
		fprintf(stderr, "tcptool: '%s' is not an IPv4 or IPv6 address\n", o->addr_arg);
		return -EINVAL;
	}
	if (bind_arg) {
		if (parse_addr(bind_arg, 0, &o->bind_addr, &o->bind_addrlen)) {
			fprintf(stderr, "tcptool: --bind: '%s' is not an IPv4 or IPv6 address\n",
				bind_arg);
			return -EINVAL;
		}
		if (o->bind_addr.ss_family != o->addr.ss_family) {
			fprintf(stderr, "tcptool: --bind %s and %s are not the same family\n",
				bind_arg, o->addr_arg);
			return -EINVAL;
		}
	}
	if (o->dual && o->addr.ss_family != AF_INET6) {
		fprintf(stderr, "tcptool: --dual needs an IPv6 address\n");
		return -EINVAL;
	}
	if (o->dump && o->repeat) {
		fprintf(stderr, "tcptool: --getsockopt-dump goes with a single connection, not "
				"--repeat\n");
		return -EINVAL;
	}
	return 0;
}

/* Room for TT_MAX_CONNS connections plus the listener and stdio under a default 1024 limit. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= 4096)
		return;
	rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	struct tt_opts o;
	unsigned int cmd;

	memset(&o, 0, sizeof(o));
	if (argc < 2) {
		usage(stderr);
		return TT_EXIT_USAGE;
	}
	o.cmd = argv[1];
	if (!strcmp(o.cmd, "server")) {
		cmd = TT_SERVER;
	} else if (!strcmp(o.cmd, "client")) {
		cmd = TT_CLIENT;
	} else if (!strcmp(o.cmd, "wait-port")) {
		cmd = TT_WAIT_PORT;
	} else if (!strcmp(o.cmd, "--help") || !strcmp(o.cmd, "-h")) {
		usage(stdout);
		return TT_EXIT_OK;
	} else {
		fprintf(stderr, "tcptool: unknown command '%s'\n", o.cmd);
		usage(stderr);
		return TT_EXIT_USAGE;
	}
	/* getopt names argv[0] in its messages: the program, not the subcommand. */
	argv[1] = argv[0];
	if (parse_opts(argc - 1, argv + 1, cmd, &o))
		return TT_EXIT_USAGE;

	tt_deadline_us = now_us() + o.max_seconds * 1000000;
	signal(SIGALRM, on_alarm);
	alarm(o.max_seconds + 2);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	tt_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!tt_sha256)
		sha_fail("EVP_MD_fetch(SHA256)");

	switch (cmd) {
	case TT_SERVER:
		return cmd_server(&o);
	case TT_CLIENT:
		return cmd_client(&o);
	default:
		return cmd_wait_port(&o);
	}
}
