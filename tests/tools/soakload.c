// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * soakload: the mixed traffic of `make soak` (tests/soak/run.sh), one epoll loop per process.
 *
 *   soakload server ADDR PORT [--stats FILE] [--ready-file FILE] [--max-seconds S]
 *   soakload client ADDR PORT --seconds T [--short N] [--short-conc C] [--streams S]
 *            [--stream-life-s L] [--stream-rate R] [--bulk-bytes B] [--bulk-rate BPS]
 *            [--stats FILE]
 *
 * The client keeps four kinds of connection going at once: short ones (a request of 64 to 512
 * bytes echoed back, then close; N of them paced evenly over T seconds, C at a time), S long
 * request/response streams (rounds of 1 B to 16 KiB echoed back, R rounds a second, each stream
 * closed and replaced after L seconds), one bulk upload and one bulk download of B bytes each,
 * both paced at BPS bytes a second. The client always closes first.
 *
 * Every payload byte is a function of (seed, offset) and is checked where it arrives: echoed and
 * downloaded bytes by the client, uploaded bytes by the server. Bytes that differ are counted as
 * corrupted; a stream that ends early is a failed connection (EPROTO).
 *
 * SIGUSR1 tells the client a proxy restart begins, SIGUSR2 that the new proxy is ready. A
 * connection that fails with a reset, refusal or early end, that was open while a restart was
 * under way, and whose error comes at most SL_CUT_GRACE_S after the new proxy was ready, counts
 * as cut by the restart; every other failure counts as failed.
 *
 * --corrupt-every N (either side, for the self-check in tests/soak/selftest.sh) flips one byte
 * of the payload sent on every Nth connection, so that the checks can be seen to count.
 *
 * The server writes "PID PORT" to the --ready-file once it listens; PORT 0 lets the kernel pick
 * a free port (a port chosen at random may be held by a client's TIME_WAIT, and bind() fails).
 *
 * With --stats, both sides rewrite FILE (through a rename) with one line of cumulative counters
 * as key=value pairs, t= first: the server once a second, the client every SL_STATS_S. The
 * client exits 0 when nothing failed and nothing was corrupted, 1 otherwise, 2 on bad usage. Every
 * loop is bounded: the client issues nothing after T seconds and gives in-flight connections
 * SL_DRAIN_S more; the server exits on SIGTERM or after
 * --max-seconds (default 7200).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SL_MAGIC       0x4b414f53u /* "SOAK" */
#define SL_BUF	       65536
#define SL_MAX_CONNS   4096
#define SL_IDLE_S      20.0 /* a connection with no progress this long fails (ETIMEDOUT) */
#define SL_DRAIN_S     20.0
#define SL_CUT_GRACE_S 2.0
#define SL_TICK_MS     10
/* The client rewrites --stats this often: the soak samples every second. */
#define SL_STATS_S    0.25
#define SL_MAX_LOGGED 200 /* failures printed one by one; the rest are only counted */

enum sl_op { SL_ECHO = 1, SL_UPLOAD = 2, SL_DOWNLOAD = 3 };
enum sl_kind { SL_SHORT, SL_STREAM, SL_UP, SL_DOWN, SL_SERVED, SL_KINDS };
static const char *const sl_kind_name[SL_KINDS] = {"short", "stream", "upload", "download",
						   "served"};

struct sl_hdr {
	uint32_t magic;
	uint32_t op;
	uint64_t len; /* echo: 0 = until EOF */
	uint64_t seed;
};

struct sl_conn {
	int fd;
	enum sl_kind kind;
	bool connecting, have_hdr, replied;
	bool spoil; /* --corrupt-every picked this one: flip its first payload byte sent */
	uint32_t events;
	struct sl_hdr hdr;
	size_t hdr_done;
	uint64_t sent, recvd; /* payload offsets, each way */
	uint64_t round_end;   /* stream: the current round ends when sent == recvd == this */
	double start, progress, next_round;
	uint8_t out[SL_BUF]; /* bytes to write: out[out_off..out_len) */
	size_t out_off, out_len;
	uint8_t reply[16]; /* upload: the server's verdict, bad bytes and bytes received */
	size_t reply_done;
};

struct sl_count {
	uint64_t ok, failed, cut, bytes, rounds;
};

static struct {
	struct sl_count k[SL_KINDS];
	uint64_t corrupt, issued_short, logged;
	uint64_t errs[256];
} st;

static struct {
	bool server;
	const char *stats, *ready;
	double seconds, max_seconds;
	uint64_t shorts, short_conc, streams, bulk_bytes, bulk_rate;
	double stream_life, stream_rate;
	uint64_t seed, corrupt_every;
} opt = {
	.max_seconds = 7200,
	.shorts = 0,
	.short_conc = 16,
	.streams = 4,
	.bulk_bytes = 32 << 20,
	.bulk_rate = 16 << 20,
	.stream_life = 30,
	.stream_rate = 100,
	.seed = 1,
};

static volatile sig_atomic_t stop_sig, restart_open;
static volatile double restart_end = -1e9; /* written by the handler, read by the loop */
static struct sockaddr_in peer;
static int epfd;
static double t0;
static struct sl_conn *conns[SL_MAX_CONNS];
static size_t n_conns, n_open[SL_KINDS];
static double up_tokens, down_tokens;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1) {
		restart_open = 1;
	} else if (sig == SIGUSR2) {
		restart_end = now_s();
		restart_open = 0;
	} else {
		stop_sig = 1;
	}
}

/* Word I of the stream of SEED: splitmix64 of the pair, so any offset can be checked alone. */
static uint64_t sl_word(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Bytes [OFF, OFF + N) of the stream of SEED into BUF (byte o is byte o % 8 of word o / 8). */
static void sl_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t o = off + i, w = sl_word(seed, o / 8);
		unsigned b;

		for (b = o % 8; b < 8 && i < n; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

/* How many of BUF's N bytes differ from the stream of SEED at OFF. */
static uint64_t sl_check(uint64_t seed, uint64_t off, const uint8_t *buf, size_t n)
{
	uint8_t want[4096];
	uint64_t bad = 0;
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < sizeof(want) ? n - i : sizeof(want);
		sl_fill(seed, off + i, want, k);
		if (memcmp(want, buf + i, k))
			for (size_t j = 0; j < k; j++)
				bad += want[j] != buf[i + j];
	}
	return bad;
}

static void sl_write_stats(void)
{
	char tmp[4096];
	FILE *f;
	int k;

	if (!opt.stats)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.stats);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "t=%.1f corrupt=%llu open=%zu issued_short=%llu", now_s() - t0,
		(unsigned long long)st.corrupt, n_conns, (unsigned long long)st.issued_short);
	for (k = 0; k < SL_KINDS; k++)
		fprintf(f, " %s_ok=%llu %s_failed=%llu %s_cut=%llu %s_bytes=%llu %s_rounds=%llu",
			sl_kind_name[k], (unsigned long long)st.k[k].ok, sl_kind_name[k],
			(unsigned long long)st.k[k].failed, sl_kind_name[k],
			(unsigned long long)st.k[k].cut, sl_kind_name[k],
			(unsigned long long)st.k[k].bytes, sl_kind_name[k],
			(unsigned long long)st.k[k].rounds);
	fprintf(f, "\n");
	if (fclose(f) == 0)
		rename(tmp, opt.stats);
}

static void sl_watch(struct sl_conn *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};

	if (ev != c->events && epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static struct sl_conn *sl_add(int fd, enum sl_kind kind)
{
	struct epoll_event e = {.events = 0};
	static uint64_t serial;
	struct sl_conn *c;

	if (n_conns == SL_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->kind = kind;
	c->start = c->progress = now_s();
	e.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e)) {
		close(fd);
		free(c);
		return NULL;
	}
	conns[n_conns++] = c;
	n_open[kind]++;
	if (opt.corrupt_every && ++serial % opt.corrupt_every == 0)
		c->spoil = true;
	return c;
}

static void sl_del(struct sl_conn *c)
{
	size_t i;

	for (i = 0; i < n_conns; i++)
		if (conns[i] == c) {
			conns[i] = conns[--n_conns];
			break;
		}
	n_open[c->kind]--;
	close(c->fd);
	free(c);
}

static void sl_done(struct sl_conn *c)
{
	st.k[c->kind].ok++;
	sl_del(c);
}

static bool sl_is_cut(const struct sl_conn *c, int err, double now)
{
	if (err != ECONNRESET && err != EPIPE && err != ECONNREFUSED && err != EPROTO)
		return false;
	if (restart_open)
		return true;
	return now <= restart_end + SL_CUT_GRACE_S && c->start <= restart_end;
}

static void sl_fail(struct sl_conn *c, int err)
{
	double now = now_s();
	bool cut = !opt.server && sl_is_cut(c, err, now);

	if (cut)
		st.k[c->kind].cut++;
	else
		st.k[c->kind].failed++;
	st.errs[err & 255]++;
	if (!cut && st.logged++ < SL_MAX_LOGGED)
		fprintf(stderr,
			"soakload: t=%.3f %s failed: %s (sent %llu, received %llu, age %.3f s)\n",
			now - t0, sl_kind_name[c->kind], strerror(err), (unsigned long long)c->sent,
			(unsigned long long)c->recvd, now - c->start);
	/* Reset rather than linger: a failed connection must not look complete to the peer. */
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &(struct linger){1, 0}, sizeof(struct linger));
	sl_del(c);
}

/* Writes out[out_off..out_len); returns 0, or -errno. */
static int sl_flush(struct sl_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += n;
		c->progress = now_s();
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Queues up to N payload bytes of the conn's stream from offset sent (client, server download). */
static void sl_queue_payload(struct sl_conn *c, uint64_t n)
{
	if (n > SL_BUF)
		n = SL_BUF;
	sl_fill(c->hdr.seed, c->sent, c->out, n);
	if (c->spoil && n) {
		c->out[0] ^= 0x5a;
		c->spoil = false;
	}
	c->out_off = 0;
	c->out_len = n;
	c->sent += n;
}

/* Reads what is there; checks payload bytes at offset recvd (or echoes them, server side).
 * Returns bytes read, 0 at EOF, -EAGAIN or -errno. LIMIT caps the bytes taken. */
static ssize_t sl_read(struct sl_conn *c, size_t limit, bool check)
{
	uint8_t buf[SL_BUF];
	ssize_t n;

	if (limit > sizeof(buf))
		limit = sizeof(buf);
	n = recv(c->fd, buf, limit, 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	c->progress = now_s();
	if (check) {
		uint64_t bad = sl_check(c->hdr.seed, c->recvd, buf, n);

		if (bad && st.logged++ < SL_MAX_LOGGED)
			fprintf(stderr, "soakload: %s: %llu corrupted bytes at offset %llu\n",
				sl_kind_name[c->kind], (unsigned long long)bad,
				(unsigned long long)c->recvd);
		st.corrupt += bad;
	} else {
		memcpy(c->out, buf, n); /* echo: out is empty whenever we read */
		if (c->spoil) {
			c->out[0] ^= 0x5a;
			c->spoil = false;
		}
		c->out_off = 0;
		c->out_len = n;
	}
	c->recvd += n;
	st.k[c->kind].bytes += n;
	return n;
}

/* ---- client ---- */

static uint64_t sl_rand(void)
{
	static uint64_t x = 0x2545F4914F6CDD1Dull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545F4914F6CDD1Dull;
}

static void sl_open(enum sl_kind kind)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	struct sl_conn *c;

	if (fd < 0) {
		st.k[kind].failed++;
		st.errs[errno & 255]++;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	c = sl_add(fd, kind);
	if (!c) {
		st.k[kind].failed++;
		return;
	}
	c->hdr.magic = SL_MAGIC;
	c->hdr.seed = opt.seed ^ sl_rand();
	switch (kind) {
	case SL_SHORT:
		c->hdr.op = SL_ECHO;
		c->hdr.len = 64 + sl_rand() % 449;
		st.issued_short++;
		break;
	case SL_STREAM:
		c->hdr.op = SL_ECHO;
		break;
	case SL_UP:
		c->hdr.op = SL_UPLOAD;
		c->hdr.len = opt.bulk_bytes;
		break;
	default:
		c->hdr.op = SL_DOWNLOAD;
		c->hdr.len = opt.bulk_bytes;
		break;
	}
	c->connecting = true;
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) && errno != EINPROGRESS) {
		sl_fail(c, errno);
		return;
	}
	sl_watch(c, EPOLLOUT);
}

/* Moves a client connection on as far as it can go now; 0, or -errno to fail it. */
static int sl_client_step(struct sl_conn *c, double now)
{
	ssize_t n;
	int err;

	if (c->connecting) {
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			return -errno;
		if (err)
			return -err;
		c->connecting = false;
		memcpy(c->out, &c->hdr, sizeof(c->hdr));
		c->out_len = sizeof(c->hdr);
		c->progress = now;
	}
	err = sl_flush(c);
	if (err)
		return err;
	/* What to send next, once the last piece has gone. */
	if (!c->out_len) {
		uint64_t want = 0;

		if (c->kind == SL_SHORT) {
			want = c->hdr.len - c->sent;
		} else if (c->kind == SL_STREAM) {
			if (c->sent == c->round_end && c->recvd == c->round_end &&
			    now >= c->next_round && now - c->start < opt.stream_life && !stop_sig &&
			    now - t0 < opt.seconds) {
				c->round_end += 1 + sl_rand() % 16384;
				c->next_round = now + 1.0 / opt.stream_rate;
			}
			want = c->round_end - c->sent;
		} else if (c->kind == SL_UP) {
			want = c->hdr.len - c->sent;
			if (want > SL_BUF)
				want = SL_BUF;
			if (want > up_tokens)
				want = up_tokens;
			up_tokens -= want;
			st.k[SL_UP].bytes += want;
		}
		if (want) {
			sl_queue_payload(c, want);
			err = sl_flush(c);
			if (err)
				return err;
		}
	}
	/* Read what is due. */
	for (;;) {
		size_t limit = SL_BUF;
		bool check = true;

		if (c->kind == SL_SHORT || c->kind == SL_STREAM) {
			if (c->recvd == c->sent)
				break;
			limit = c->sent - c->recvd;
		} else if (c->kind == SL_DOWN) {
			if (c->recvd == c->hdr.len)
				break;
			limit = c->hdr.len - c->recvd;
			if (limit > down_tokens)
				limit = down_tokens;
			if (!limit)
				break;
		} else {
			/* Upload: only the 16-byte verdict comes back, once everything is sent. */
			if (c->sent < c->hdr.len || c->reply_done == sizeof(c->reply))
				break;
			n = recv(c->fd, c->reply + c->reply_done, sizeof(c->reply) - c->reply_done,
				 0);
			if (n == 0)
				return -EPROTO;
			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			c->reply_done += n;
			c->progress = now;
			continue;
		}
		n = sl_read(c, limit, check);
		if (n == 0)
			return -EPROTO;
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		if (c->kind == SL_DOWN)
			down_tokens -= n;
		if (c->kind == SL_STREAM && c->recvd == c->round_end)
			st.k[SL_STREAM].rounds++;
	}
	/* Finished? The client closes first. */
	switch (c->kind) {
	case SL_SHORT:
		if (c->sent == c->hdr.len && c->recvd == c->hdr.len)
			return 1;
		break;
	case SL_STREAM:
		if (c->sent == c->round_end && c->recvd == c->round_end && !c->out_len &&
		    (now - c->start >= opt.stream_life || stop_sig || now - t0 >= opt.seconds))
			return 1;
		break;
	case SL_UP:
		if (c->reply_done == sizeof(c->reply)) {
			uint64_t bad, got;

			memcpy(&bad, c->reply, 8);
			memcpy(&got, c->reply + 8, 8);
			if (got != c->hdr.len)
				return -EPROTO;
			(void)bad; /* the server counts upload corruption in its own stats */
			return 1;
		}
		break;
	default:
		if (c->recvd == c->hdr.len)
			return 1;
		break;
	}
	return 0;
}

static void sl_client_want(struct sl_conn *c, double now)
{
	uint32_t ev = 0;

	if (c->connecting || c->out_len)
		ev |= EPOLLOUT;
	else if (c->kind == SL_UP && c->sent < c->hdr.len && up_tokens >= 1)
		ev |= EPOLLOUT;
	if (c->kind == SL_DOWN) {
		if (!c->connecting && down_tokens >= 1)
			ev |= EPOLLIN;
	} else if (!c->connecting) {
		ev |= EPOLLIN;
	}
	sl_watch(c, ev);
}

static void sl_client_run(struct sl_conn *c, double now)
{
	int r = sl_client_step(c, now);

	if (r < 0) {
		sl_fail(c, -r);
		return;
	}
	if (r > 0) {
		sl_done(c);
		return;
	}
	sl_client_want(c, now);
}

static int sl_client(void)
{
	struct epoll_event ev[64];
	double last_stats = 0, last = now_s(), drain_end = 0, rate;
	uint64_t k;
	int i, n;

	/* Paced to reach N two seconds before the end: a late start must not cost the count. */
	rate = opt.shorts / (opt.seconds > 3 ? opt.seconds - 2 : opt.seconds);
	for (;;) {
		double now = now_s(), el = now - t0, dt = now - last;
		bool issuing = el < opt.seconds && !stop_sig;

		last = now;
		up_tokens += dt * opt.bulk_rate;
		down_tokens += dt * opt.bulk_rate;
		if (up_tokens > opt.bulk_rate / 10.0 + SL_BUF)
			up_tokens = opt.bulk_rate / 10.0 + SL_BUF;
		if (down_tokens > opt.bulk_rate / 10.0 + SL_BUF)
			down_tokens = opt.bulk_rate / 10.0 + SL_BUF;
		if (issuing) {
			uint64_t allowed = (uint64_t)(rate * el) + 1;

			if (allowed > opt.shorts)
				allowed = opt.shorts;
			while (st.issued_short < allowed && n_open[SL_SHORT] < opt.short_conc)
				sl_open(SL_SHORT);
			while (n_open[SL_STREAM] < opt.streams)
				sl_open(SL_STREAM);
			if (opt.bulk_bytes && !n_open[SL_UP])
				sl_open(SL_UP);
			if (opt.bulk_bytes && !n_open[SL_DOWN])
				sl_open(SL_DOWN);
		} else {
			if (!drain_end)
				drain_end = now + SL_DRAIN_S;
			if (!n_conns || now >= drain_end)
				break;
		}
		for (k = 0; k < n_conns; k++) {
			struct sl_conn *c = conns[k];

			if (now - c->progress > SL_IDLE_S) {
				sl_fail(c, ETIMEDOUT);
				k--;
				continue;
			}
		}
		/* Paced connections (bulk, stream rounds) move on the tick, not on an event. */
		for (k = 0; k < n_conns; k++) {
			struct sl_conn *c = conns[k];
			size_t before = n_conns;

			if (c->kind != SL_SHORT && !c->connecting) {
				sl_client_run(c, now);
				if (n_conns < before)
					k--;
			}
		}
		n = epoll_wait(epfd, ev, 64, SL_TICK_MS);
		now = now_s();
		for (i = 0; i < n; i++) {
			struct sl_conn *c = ev[i].data.ptr;

			/* A connection freed earlier in this batch is no longer in conns[]. */
			for (k = 0; k < n_conns && conns[k] != c; k++)
				;
			if (k < n_conns)
				sl_client_run(c, now);
		}
		if (now - last_stats >= SL_STATS_S) {
			sl_write_stats();
			last_stats = now;
		}
	}
	while (n_conns) {
		struct sl_conn *c = conns[0];

		sl_fail(c, ETIME);
	}
	sl_write_stats();
	return 0;
}

/* ---- server ---- */

static int sl_server_step(struct sl_conn *c)
{
	ssize_t n;
	int err;

	for (;;) {
		err = sl_flush(c);
		if (err)
			return err;
		if (c->out_len)
			return 0; /* wait until the peer takes more */
		if (!c->have_hdr) {
			n = recv(c->fd, (uint8_t *)&c->hdr + c->hdr_done,
				 sizeof(c->hdr) - c->hdr_done, 0);
			if (n == 0)
				return c->hdr_done ? -EPROTO : 1; /* a probe: connect and close */
			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			c->hdr_done += n;
			if (c->hdr_done < sizeof(c->hdr))
				continue;
			if (c->hdr.magic != SL_MAGIC || c->hdr.op < SL_ECHO ||
			    c->hdr.op > SL_DOWNLOAD)
				return -EPROTO;
			c->have_hdr = true;
			continue;
		}
		if (c->hdr.op == SL_DOWNLOAD && c->sent < c->hdr.len) {
			sl_queue_payload(c, c->hdr.len - c->sent);
			st.k[SL_SERVED].bytes += c->out_len;
			continue;
		}
		if (c->hdr.op == SL_UPLOAD && c->recvd == c->hdr.len && !c->replied) {
			uint64_t got = c->recvd, bad = 0;

			memcpy(c->out, &bad, 8);
			memcpy(c->out + 8, &got, 8);
			c->out_off = 0;
			c->out_len = 16;
			c->replied = true;
			continue;
		}
		if (c->hdr.op == SL_UPLOAD && c->recvd < c->hdr.len)
			n = sl_read(c, c->hdr.len - c->recvd, true);
		else if (c->hdr.op == SL_ECHO)
			n = sl_read(c, SL_BUF, false);
		else {
			uint8_t b;

			/* Everything is sent: the client's FIN ends the connection. */
			n = recv(c->fd, &b, 1, 0);
			if (n > 0)
				return -EPROTO;
			n = n < 0 ? -errno : 0;
		}
		if (n == 0) {
			bool complete = c->hdr.op == SL_ECHO ? !c->hdr.len || c->recvd == c->hdr.len
							     : c->sent == c->hdr.len || c->replied;

			return complete ? 1 : -EPROTO;
		}
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
	}
}

static int sl_server(int lfd)
{
	struct epoll_event ev[64];
	double last_stats = 0;
	int i, n;

	while (!stop_sig && now_s() - t0 < opt.max_seconds) {
		n = epoll_wait(epfd, ev, 64, 100);
		for (i = 0; i < n; i++) {
			struct sl_conn *c = ev[i].data.ptr;
			size_t k;
			int r;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
						   sizeof(int));
					c = sl_add(fd, SL_SERVED);
					if (c)
						sl_watch(c, EPOLLIN);
				}
				continue;
			}
			for (k = 0; k < n_conns && conns[k] != c; k++)
				;
			if (k == n_conns)
				continue;
			r = sl_server_step(c);
			if (r < 0)
				sl_fail(c, -r);
			else if (r > 0)
				sl_done(c);
			else
				sl_watch(c, c->out_len ? EPOLLOUT : EPOLLIN);
		}
		if (now_s() - last_stats >= 1) {
			sl_write_stats();
			last_stats = now_s();
		}
	}
	sl_write_stats();
	return 0;
}

static void sl_summary(FILE *f)
{
	int k;

	fprintf(f, "soakload: %s done: corrupt=%llu", opt.server ? "server" : "client",
		(unsigned long long)st.corrupt);
	for (k = 0; k < SL_KINDS; k++)
		if (st.k[k].ok || st.k[k].failed || st.k[k].cut)
			fprintf(f, " %s=ok:%llu,failed:%llu,cut:%llu,bytes:%llu", sl_kind_name[k],
				(unsigned long long)st.k[k].ok, (unsigned long long)st.k[k].failed,
				(unsigned long long)st.k[k].cut, (unsigned long long)st.k[k].bytes);
	for (k = 0; k < 256; k++)
		if (st.errs[k])
			fprintf(f, " errno_%s=%llu", strerrorname_np(k) ? strerrorname_np(k) : "?",
				(unsigned long long)st.errs[k]);
	fprintf(f, "\n");
}

static int usage(void)
{
	fprintf(stderr, "usage: soakload server ADDR PORT [--stats FILE] [--ready-file FILE] "
			"[--max-seconds S] [--corrupt-every N]\n"
			"       soakload client ADDR PORT --seconds T [--short N] [--short-conc C] "
			"[--streams S]\n"
			"                [--stream-life-s L] [--stream-rate R] [--bulk-bytes B] "
			"[--bulk-rate BPS] [--stats FILE] [--corrupt-every N]\n");
	return 2;
}

static int parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	double v;
	int i, lfd = -1, ok;

	if (argc < 4)
		return usage();
	opt.server = !strcmp(argv[1], "server");
	if (!opt.server && strcmp(argv[1], "client"))
		return usage();
	peer.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &peer.sin_addr) != 1 || parse_num(argv[3], &v) || v > 65535)
		return usage();
	peer.sin_port = htons((uint16_t)v);
	for (i = 4; i < argc; i++) {
		const char *o = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!a)
			return usage();
		i++;
		if (!strcmp(o, "--stats")) {
			opt.stats = a;
			continue;
		}
		if (!strcmp(o, "--ready-file")) {
			opt.ready = a;
			continue;
		}
		if (parse_num(a, &v))
			return usage();
		if (!strcmp(o, "--seconds"))
			opt.seconds = v;
		else if (!strcmp(o, "--max-seconds"))
			opt.max_seconds = v;
		else if (!strcmp(o, "--short"))
			opt.shorts = v;
		else if (!strcmp(o, "--short-conc") && v >= 1)
			opt.short_conc = v;
		else if (!strcmp(o, "--streams"))
			opt.streams = v;
		else if (!strcmp(o, "--stream-life-s"))
			opt.stream_life = v;
		else if (!strcmp(o, "--stream-rate") && v > 0)
			opt.stream_rate = v;
		else if (!strcmp(o, "--bulk-bytes"))
			opt.bulk_bytes = v;
		else if (!strcmp(o, "--bulk-rate") && v >= 1)
			opt.bulk_rate = v;
		else if (!strcmp(o, "--corrupt-every"))
			opt.corrupt_every = v;
		else
			return usage();
	}
	if (!opt.server && !opt.seconds)
		return usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	t0 = now_s();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("soakload: epoll_create1");
		return 1;
	}
	if (opt.server) {
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&peer, sizeof(peer)) ||
		    listen(lfd, 4096) || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e)) {
			fprintf(stderr, "soakload: server %s:%s: %s\n", argv[2], argv[3],
				strerror(errno));
			return 1;
		}
		if (opt.ready) {
			struct sockaddr_in me;
			socklen_t len = sizeof(me);
			FILE *f;

			if (getsockname(lfd, (struct sockaddr *)&me, &len)) {
				perror("soakload: getsockname");
				return 1;
			}
			f = fopen(opt.ready, "w");
			if (f) {
				fprintf(f, "%d %u\n", getpid(), ntohs(me.sin_port));
				fclose(f);
			}
		}
		sl_server(lfd);
		sl_summary(stdout);
		return 0;
	}
	sl_client();
	sl_summary(stdout);
	ok = !st.corrupt;
	for (i = 0; i < SL_KINDS; i++)
		ok = ok && !st.k[i].failed;
	return ok ? 0 : 1;
}
