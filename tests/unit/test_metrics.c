// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metrics server on real loopback sockets. Each test runs the server in a libuv loop on the
 * test's main thread and its client in a second thread with plain blocking sockets (timeouts on
 * every one); the client thread records what it saw and asks the loop, through a uv_async_t, to
 * stop the server, and the main thread asserts once the loop has closed. Clients that must not
 * count against the per-address limit connect from other loopback addresses (127.0.0.2, ...).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define BODY	     "# TYPE sidecap_up gauge\nsidecap_up 1\n"
#define IO_TIMEOUT_S 3
#define SLOW_CONNS   20

static char content_length[64];

struct reply {
	int err;
	int status;
	char head[4096];
	char body[4096];
	double ms;
};

struct fx {
	uv_loop_t loop;
	uv_async_t done;
	struct sc_metrics *m;
	uint16_t port;
	const char *listen;
	void (*client)(struct fx *fx);
	atomic_bool ready;
	atomic_int renders;
	int render_err;
	/* What the clients saw, for the main thread to assert. */
	struct reply r[4];
	double slow_get_ms[2];
	double slow_closed_min_ms;
	double slow_closed_max_ms;
	int slow_closed;
	int slow_connected;
	int big_status;
	int big_err;
	int limit_eof;
	int open_fds[3];
	double limit_wait_ms;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int render(void *ctx, char **body, size_t *len)
{
	struct fx *fx = ctx;

	atomic_fetch_add(&fx->renders, 1);
	if (fx->render_err)
		return fx->render_err;
	*body = strdup(BODY);
	if (!*body)
		return -ENOMEM;
	*len = strlen(BODY);
	return 0;
}

static bool ready(void *ctx)
{
	struct fx *fx = ctx;

	return atomic_load(&fx->ready);
}

/* A blocking socket connected from SRC (any port) to the server, or -errno. */
static int tcp_connect(struct fx *fx, const char *src)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (src) {
		inet_pton(AF_INET, src, &sin.sin_addr);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
			goto out_err;
	}
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	sin.sin_port = htons(fx->port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		goto out_err;
	return fd;
out_err:
	err = -errno;
	close(fd);
	return err;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read until EOF, then split the response into status, head and body. */
static void read_reply(int fd, struct reply *r)
{
	char buf[4096], *sep;
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

		if (n < 0) {
			r->err = -errno;
			return;
		}
		if (!n)
			break;
		len += n;
		if (len == sizeof(buf) - 1) {
			r->err = -EMSGSIZE;
			return;
		}
	}
	buf[len] = '\0';
	sep = strstr(buf, "\r\n\r\n");
	if (len < 12 || strncmp(buf, "HTTP/1.1 ", 9) || !sep) {
		r->err = -EPROTO;
		return;
	}
	r->status = atoi(buf + 9);
	/* The head keeps the CRLF of its last line, so a test can look for "\r\nName: v\r\n". */
	memcpy(r->head, buf, sep + 2 - buf);
	r->head[sep + 2 - buf] = '\0';
	memcpy(r->body, sep + 4, buf + len - (sep + 4) + 1);
}

/* REQ, a whole request, on its own connection from SRC (or 127.0.0.1). */
static void raw_request(struct fx *fx, const char *src, const char *req, struct reply *r)
{
	double t0 = now_ms();
	int fd;

	memset(r, 0, sizeof(*r));
	fd = tcp_connect(fx, src);
	if (fd < 0) {
		r->err = fd;
		return;
	}
	r->err = send_all(fd, req, strlen(req));
	if (!r->err)
		read_reply(fd, r);
	r->ms = now_ms() - t0;
	close(fd);
}

/* One request with "Connection: close", so the reply ends at EOF. */
static void request(struct fx *fx, const char *src, const char *method, const char *path,
		    struct reply *r)
{
	char req[256];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", method,
		 path);
	raw_request(fx, src, req, r);
}

static void *client_main(void *arg)
{
	struct fx *fx = arg;

	fx->client(fx);
	uv_async_send(&fx->done);
	return NULL;
}

static void on_close(uv_handle_t *h)
{
}

static void on_done(uv_async_t *a)
{
	struct fx *fx = a->data;

	sc_metrics_stop(fx->m);
	uv_close((uv_handle_t *)a, on_close);
}

/* Serve until CLIENT is done, stop, and check that the loop closes clean. */
static void run(struct fx *fx, void (*client)(struct fx *fx))
{
	pthread_t th;

	fx->client = client;
	cr_assert_eq(uv_loop_init(&fx->loop), 0);
	cr_assert_eq(uv_async_init(&fx->loop, &fx->done, on_done), 0);
	fx->done.data = fx;
	cr_assert_eq(sc_metrics_start(&fx->loop, fx->listen ? fx->listen : "127.0.0.1:0", render,
				      ready, fx, &fx->m),
		     0);
	fx->port = sc_metrics_port(fx->m);
	cr_assert_neq(fx->port, 0);
	cr_assert_eq(pthread_create(&th, NULL, client_main, fx), 0);
	cr_assert_eq(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(uv_loop_close(&fx->loop), 0);
}

static void quiet(void)
{
	sc_log_set_level(SC_LOG_WARN);
	snprintf(content_length, sizeof(content_length), "\r\nContent-Length: %zu\r\n",
		 strlen(BODY));
}

TestSuite(metrics, .init = quiet, .timeout = 20);

static void get_metrics(struct fx *fx)
{
	request(fx, NULL, "GET", "/metrics", &fx->r[0]);
	request(fx, NULL, "GET", "/metrics?x=1", &fx->r[1]);
}

Test(metrics, get_metrics_returns_rendered_body_as_prometheus_text)
{
	struct fx fx = {0};

	run(&fx, get_metrics);
	cr_assert_eq(fx.r[0].err, 0);
	cr_assert_eq(fx.r[0].status, 200);
	cr_assert_str_eq(fx.r[0].body, BODY);
	cr_assert(strstr(fx.r[0].head,
			 "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
		  "%s", fx.r[0].head);
	cr_assert(strstr(fx.r[0].head, content_length), "%s", fx.r[0].head);
	cr_assert_eq(fx.r[1].status, 200);
	cr_assert_str_eq(fx.r[1].body, BODY);
	cr_assert_eq(atomic_load(&fx.renders), 2);
}

static void get_once(struct fx *fx)
{
	request(fx, NULL, "GET", "/metrics", &fx->r[0]);
}

Test(metrics, render_error_is_500_and_logged)
{
	struct fx fx = {.render_err = -EIO};

	cr_redirect_stderr();
	run(&fx, get_once);
	cr_assert_eq(fx.r[0].status, 500);
	cr_assert_str_eq(fx.r[0].body, "render failed\n");
	fflush(stderr);
	cr_assert_stderr_eq_str("metrics: rendering /metrics failed: Input/output error\n");
}

static void probes(struct fx *fx)
{
	request(fx, NULL, "GET", "/healthz", &fx->r[0]);
	request(fx, NULL, "GET", "/readyz", &fx->r[1]);
	atomic_store(&fx->ready, true);
	request(fx, NULL, "GET", "/readyz", &fx->r[2]);
}

Test(metrics, healthz_is_ok_and_readyz_follows_the_ready_callback)
{
	struct fx fx = {0};

	run(&fx, probes);
	cr_assert_eq(fx.r[0].status, 200);
	cr_assert_str_eq(fx.r[0].body, "ok\n");
	cr_assert_eq(fx.r[1].status, 503);
	cr_assert_str_eq(fx.r[1].body, "not ready\n");
	cr_assert_eq(fx.r[2].status, 200);
	cr_assert_str_eq(fx.r[2].body, "ready\n");
	cr_assert_eq(atomic_load(&fx.renders), 0);
}

static void wrong_requests(struct fx *fx)
{
	request(fx, NULL, "GET", "/metricsz", &fx->r[0]);
	request(fx, NULL, "POST", "/metrics", &fx->r[1]);
	request(fx, NULL, "DELETE", "/healthz", &fx->r[2]);
	request(fx, NULL, "HEAD", "/metrics", &fx->r[3]);
}

Test(metrics, unknown_path_is_404_other_methods_405_and_head_has_no_body)
{
	struct fx fx = {0};

	run(&fx, wrong_requests);
	cr_assert_eq(fx.r[0].status, 404);
	cr_assert_str_eq(fx.r[0].body, "not found\n");
	cr_assert_eq(fx.r[1].status, 405);
	cr_assert(strstr(fx.r[1].head, "\r\nAllow: GET, HEAD\r\n"), "%s", fx.r[1].head);
	cr_assert_eq(fx.r[2].status, 405);
	cr_assert_eq(fx.r[3].status, 200);
	cr_assert_str_eq(fx.r[3].body, "");
	cr_assert(strstr(fx.r[3].head, content_length), "%s", fx.r[3].head);
}

static void with_bodies(struct fx *fx)
{
	raw_request(fx, NULL,
		    "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		    "Content-Length: 5\r\n\r\nhello",
		    &fx->r[0]);
	raw_request(fx, NULL,
		    "POST /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		    &fx->r[1]);
}

Test(metrics, request_bodies_are_read_and_ignored)
{
	struct fx fx = {0};

	run(&fx, with_bodies);
	cr_assert_eq(fx.r[0].err, 0);
	cr_assert_eq(fx.r[0].status, 200);
	cr_assert_str_eq(fx.r[0].body, "ok\n");
	cr_assert_eq(fx.r[1].err, 0);
	cr_assert_eq(fx.r[1].status, 405);
	cr_assert_str_eq(fx.r[1].body, "method not allowed\n");
}

/*
 * Slowloris: 20 connections, four from each of five addresses (under the per-address limit),
 * each trickling a request line one byte every 250 ms, so MHD's idle timeout never fires. A
 * scrape must still be answered at once, and the 20 must be closed when the request-header
 * deadline passes.
 */
static void slowloris(struct fx *fx)
{
	static const char line[] =
		"GET /metrics?aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	double opened = 0, t0, next;
	int fds[SLOW_CONNS], i, sent = 1, open = 0;
	struct reply r;
	bool asked = false;

	fx->slow_closed_min_ms = 1e9;
	for (i = 0; i < SLOW_CONNS; i++)
		fds[i] = -1;
	for (i = 0; i < SLOW_CONNS; i++) {
		char src[16];

		snprintf(src, sizeof(src), "127.0.0.%d", 2 + i / 4);
		fds[i] = tcp_connect(fx, src);
		if (fds[i] < 0 || send_all(fds[i], line, 1))
			goto out;
		fx->slow_connected++;
		open++;
	}
	opened = now_ms();
	/* Give the loop a moment to accept all twenty before the scrape. */
	usleep(100 * 1000);
	request(fx, NULL, "GET", "/metrics", &r);
	fx->slow_get_ms[0] = r.status == 200 ? r.ms : -1;

	t0 = now_ms();
	next = t0 + 250;
	while (open && now_ms() - opened < (SC_METRICS_TIMEOUT_S + 4) * 1000) {
		struct pollfd pfd[SLOW_CONNS];

		for (i = 0; i < SLOW_CONNS; i++)
			pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (poll(pfd, SLOW_CONNS, 50) < 0)
			break;
		for (i = 0; i < SLOW_CONNS; i++) {
			double ms = now_ms() - opened;
			char c;

			if (fds[i] < 0 || !pfd[i].revents || recv(fds[i], &c, 1, MSG_DONTWAIT) > 0)
				continue;
			if (ms < fx->slow_closed_min_ms)
				fx->slow_closed_min_ms = ms;
			if (ms > fx->slow_closed_max_ms)
				fx->slow_closed_max_ms = ms;
			fx->slow_closed++;
			close(fds[i]);
			fds[i] = -1;
			open--;
		}
		if (now_ms() >= next && sent < (int)sizeof(line) - 1) {
			for (i = 0; i < SLOW_CONNS; i++) {
				if (fds[i] >= 0)
					send(fds[i], line + sent, 1, MSG_NOSIGNAL);
			}
			sent++;
			next += 250;
		}
		/* A second scrape in the middle, with the trickle well under way. */
		if (!asked && now_ms() - opened > 2500) {
			asked = true;
			request(fx, NULL, "GET", "/metrics", &r);
			fx->slow_get_ms[1] = r.status == 200 ? r.ms : -1;
		}
	}
out:
	for (i = 0; i < SLOW_CONNS; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

Test(metrics, slowloris_does_not_delay_a_scrape_and_is_closed_at_the_deadline)
{
	struct fx fx = {0};

	run(&fx, slowloris);
	cr_assert_eq(fx.slow_connected, SLOW_CONNS);
	cr_log_info("slowloris: scrapes took %.1f ms and %.1f ms; the %d trickling connections "
		    "were closed after %.0f-%.0f ms",
		    fx.slow_get_ms[0], fx.slow_get_ms[1], fx.slow_closed, fx.slow_closed_min_ms,
		    fx.slow_closed_max_ms);
	cr_assert(fx.slow_get_ms[0] >= 0 && fx.slow_get_ms[0] < 500, "%f", fx.slow_get_ms[0]);
	cr_assert(fx.slow_get_ms[1] >= 0 && fx.slow_get_ms[1] < 500, "%f", fx.slow_get_ms[1]);
	cr_assert_eq(fx.slow_closed, SLOW_CONNS);
	cr_assert_geq(fx.slow_closed_min_ms, SC_METRICS_TIMEOUT_S * 1000 - 300);
	cr_assert_leq(fx.slow_closed_max_ms, SC_METRICS_TIMEOUT_S * 1000 + 1500);
}

/* 100 KiB of request headers, far over the 32 KiB a connection may use. */
static void huge_headers(struct fx *fx)
{
	char pad[1024 + 32];
	struct reply r = {0};
	int fd, i;

	fx->big_err = fx->big_status = 0;
	fd = tcp_connect(fx, NULL);
	if (fd < 0) {
		fx->big_err = fd;
		return;
	}
	if (send_all(fd, "GET /metrics HTTP/1.1\r\nHost: t\r\n", 32)) {
		fx->big_err = -errno;
		goto out;
	}
	for (i = 0; i < 100; i++) {
		int n = snprintf(pad, sizeof(pad), "X-Pad-%03d: %01000d\r\n", i, 0);

		if (send_all(fd, pad, n))
			break;
	}
	send_all(fd, "\r\n", 2);
	read_reply(fd, &r);
	fx->big_status = r.status;
	fx->big_err = r.err;
out:
	close(fd);
	request(fx, NULL, "GET", "/metrics", &fx->r[0]);
}

Test(metrics, huge_request_headers_are_refused_and_serving_goes_on)
{
	struct fx fx = {0};

	run(&fx, huge_headers);
	cr_log_info("100 KiB of headers: status %d, error %d", fx.big_status, fx.big_err);
	cr_assert(fx.big_status == 431 || fx.big_err == -ECONNRESET || fx.big_err == -EPROTO,
		  "status %d err %d", fx.big_status, fx.big_err);
	cr_assert_eq(fx.r[0].status, 200);
	cr_assert_str_eq(fx.r[0].body, BODY);
}

/* The ninth connection from one address is closed at once; other addresses are still served. */
static void per_ip_limit(struct fx *fx)
{
	int fds[SC_METRICS_MAX_PER_IP + 1], i, n = 0;
	char c;

	for (i = 0; i <= SC_METRICS_MAX_PER_IP; i++) {
		fds[i] = tcp_connect(fx, "127.0.0.9");
		if (fds[i] < 0)
			goto out;
		n++;
	}
	fx->limit_eof = recv(fds[SC_METRICS_MAX_PER_IP], &c, 1, 0) == 0;
	request(fx, NULL, "GET", "/healthz", &fx->r[0]);
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
}

Test(metrics, per_address_connection_limit_refuses_the_ninth)
{
	struct fx fx = {0};

	run(&fx, per_ip_limit);
	cr_assert_eq(fx.limit_eof, 1);
	cr_assert_eq(fx.r[0].status, 200);
}

/*
 * 64 silent connections from eight addresses fill the server. A scrape then waits in the listen
 * backlog until MHD's idle timeout frees a slot: the limits bound how long, not whether.
 */
static void global_limit(struct fx *fx)
{
	int fds[SC_METRICS_MAX_CONNS], i, n = 0;
	struct reply r;
	double t0;

	for (i = 0; i < SC_METRICS_MAX_CONNS; i++) {
		char src[16];

		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i / SC_METRICS_MAX_PER_IP);
		fds[i] = tcp_connect(fx, src);
		if (fds[i] < 0)
			goto out;
		n++;
	}
	usleep(100 * 1000);
	t0 = now_ms();
	request(fx, NULL, "GET", "/healthz", &r);
	/* The client gives up after IO_TIMEOUT_S; try again, as a scraper would. */
	while (r.status != 200 && now_ms() - t0 < (SC_METRICS_TIMEOUT_S + 3) * 1000)
		request(fx, NULL, "GET", "/healthz", &r);
	fx->limit_wait_ms = r.status == 200 ? now_ms() - t0 : -1;
out:
	for (i = 0; i < n; i++)
		close(fds[i]);
}

Test(metrics, full_server_serves_a_scrape_once_idle_connections_time_out)
{
	struct fx fx = {0};

	run(&fx, global_limit);
	cr_log_info("64 idle connections: a scrape was answered after %.0f ms", fx.limit_wait_ms);
	cr_assert_geq(fx.limit_wait_ms, 0);
	cr_assert_leq(fx.limit_wait_ms, SC_METRICS_TIMEOUT_S * 1000 + 1500);
}

/* Connections still open when the server stops are closed with it. */
static void leave_open(struct fx *fx)
{
	int i;

	for (i = 0; i < 3; i++)
		fx->open_fds[i] = tcp_connect(fx, NULL);
	usleep(100 * 1000);
}

Test(metrics, stop_closes_open_connections_and_the_loop_closes_clean)
{
	struct fx fx = {0};
	int i;

	run(&fx, leave_open);
	for (i = 0; i < 3; i++) {
		char c;

		cr_assert_geq(fx.open_fds[i], 0);
		cr_assert_eq(recv(fx.open_fds[i], &c, 1, 0), 0);
		close(fx.open_fds[i]);
	}
}

static void healthz_v6(struct fx *fx)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	int fd;

	fx->r[0].err = -EIO;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sin6.sin6_port = htons(fx->port);
	if (!connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) &&
	    !send_all(fd, req, sizeof(req) - 1)) {
		fx->r[0].err = 0;
		read_reply(fd, &fx->r[0]);
	}
	close(fd);
}

Test(metrics, listens_on_ipv6_loopback)
{
	struct fx fx = {.listen = "[::1]:0"};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin6, sizeof(sin6))) {
		if (fd >= 0)
			close(fd);
		cr_skip_test("no IPv6 loopback here");
	}
	close(fd);
	run(&fx, healthz_v6);
	cr_assert_eq(fx.r[0].err, 0);
	cr_assert_eq(fx.r[0].status, 200);
	cr_assert_str_eq(fx.r[0].body, "ok\n");
}

Test(metrics, bind_failure_names_the_address_and_returns_errno)
{
	struct sc_metrics *a = NULL, *b = NULL;
	char addr[32], expect[128];
	uv_loop_t loop;
	struct fx fx = {0};

	cr_redirect_stderr();
	cr_assert_eq(uv_loop_init(&loop), 0);
	cr_assert_eq(sc_metrics_start(&loop, "127.0.0.1:0", render, ready, &fx, &a), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", sc_metrics_port(a));
	cr_assert_eq(sc_metrics_start(&loop, addr, render, ready, &fx, &b), -EADDRINUSE);
	cr_assert_null(b);
	sc_metrics_stop(a);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
	fflush(stderr);
	snprintf(expect, sizeof(expect), "metrics.listen %s: Address already in use\n", addr);
	cr_assert_stderr_eq_str(expect);
}

Test(metrics, malformed_listen_addresses_are_einval)
{
	static const char *const bad[] = {
		"localhost:15020", "127.0.0.1",	   "[::1]",	 "::1:15020",
		"127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:", "[::1]:1x",
		"[127.0.0.1]:80",  "[::1:80",	   "1.2.3:80",	 ":80",
	};
	struct sc_metrics *m = NULL;
	uv_loop_t loop;
	size_t i;

	cr_redirect_stderr();
	cr_assert_eq(uv_loop_init(&loop), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sc_metrics_start(&loop, bad[i], render, ready, NULL, &m), -EINVAL,
			     "%s", bad[i]);
	cr_assert_null(m);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0);
}
