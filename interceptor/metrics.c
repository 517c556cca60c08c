// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /metrics, /healthz and /readyz over libmicrohttpd, driven by the daemon's libuv loop.
 *
 * MHD runs in its "external epoll" mode: it keeps its sockets in an epoll set of its own, and
 * the loop watches that set's fd with a uv_poll_t and calls MHD_run() whenever it is readable.
 * MHD_run() never blocks, since every socket is non-blocking. A uv_timer_t wakes MHD when
 * MHD_get_timeout() says it has work due (an idle connection to time out, or buffered input it
 * has not parsed yet, in which case the timeout is 0).
 *
 * MHD's connection timeout counts idle time only, so a client that sends one byte of its request
 * headers every second would hold its connection for as long as the memory limit lasts (hours).
 * Each connection therefore also gets a deadline for finishing its request headers, armed when
 * it opens and again when a keep-alive request completes; one that misses it is shut down
 * (shutdown(), not close(): MHD owns the fd, reads EOF from it and closes it itself).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define SC_METRICS_BACKLOG 128

/* What each connection MHD has open needs from us: its fd and its request-header deadline. */
struct sc_metrics_conn {
	LIST_ENTRY(sc_metrics_conn) link;
	int fd;
	/* Loop time (ms) by which the request headers must be in; 0 while none are awaited. */
	uint64_t deadline;
};

struct sc_metrics {
	uv_poll_t poll;
	uv_timer_t timer;
	uv_loop_t *loop;
	struct MHD_Daemon *daemon;
	sc_metrics_render_fn render;
	sc_metrics_ready_fn ready;
	void *ctx;
	uint16_t port;
	/*
	 * A connection closed during this MHD_run(). At its connection limit MHD takes the
	 * listening socket out of its epoll set and puts it back only in a later MHD_run(), which
	 * nothing else would trigger (its epoll fd is not readable, and MHD_get_timeout() may say
	 * "no timeout").
	 */
	bool closed;
	/* Handles initialised and not yet closed; the struct is freed when this drops to 0. */
	int handles;
	bool poll_init;
	LIST_HEAD(, sc_metrics_conn) conns;
};

static const char sc_metrics_text_type[] = "text/plain; charset=utf-8";
static const char sc_metrics_prom_type[] = "text/plain; version=0.0.4; charset=utf-8";

/* "1.2.3.4:80" or "[::1]:80"; the port may be 0. */
static int sc_metrics_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	const char *colon = strrchr(addr, ':');
	char host[INET6_ADDRSTRLEN + 2];
	unsigned long port;
	size_t hostlen;
	char *end;

	if (!colon || colon == addr || !colon[1] || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	hostlen = colon - addr;
	if (hostlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hostlen);
	host[hostlen] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		if (hostlen < 3 || host[hostlen - 1] != ']')
			return -EINVAL;
		host[hostlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return -EINVAL;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*sslen = sizeof(*sin);
	return 0;
}

/*
 * The listening socket is ours to bind, so a bind error reaches the caller with its errno
 * (MHD_OPTION_SOCK_ADDR would only log it). An IPv6 address serves IPv6 alone.
 */
static int sc_metrics_listen(const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, err, one = 1;

	err = sc_metrics_parse(addr, &ss, &sslen);
	if (err) {
		pr_warn("metrics.listen %s: not ADDR:PORT (use 127.0.0.1:15020 or [::1]:15020)\n",
			addr);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto out_warn;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, SC_METRICS_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen)) {
		err = -errno;
		goto out_close;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;

out_close:
	close(fd);
out_warn:
	pr_warn("metrics.listen %s: %s\n", addr, strerror(-err));
	return err;
}

/* MHD's messages are about single connections (a refused client, a request too large). */
static void sc_metrics_on_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	pr_debug("metrics: %s\n", buf);
}

static struct sc_metrics_conn *sc_metrics_conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

static uint64_t sc_metrics_deadline(struct sc_metrics *m)
{
	return uv_now(m->loop) + SC_METRICS_TIMEOUT_S * 1000;
}

static void sc_metrics_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
				     enum MHD_ConnectionNotificationCode code)
{
	const union MHD_ConnectionInfo *info;
	struct sc_metrics *m = cls;
	struct sc_metrics_conn *conn;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		m->closed = true;
		conn = *socket_context;
		if (conn) {
			LIST_REMOVE(conn, link);
			free(conn);
			*socket_context = NULL;
		}
		return;
	}
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		/* Without a deadline the connection could be held open; drop it (fails closed). */
		if (info)
			shutdown(info->connect_fd, SHUT_RDWR);
		return;
	}
	conn->fd = info ? info->connect_fd : -1;
	conn->deadline = sc_metrics_deadline(m);
	LIST_INSERT_HEAD(&m->conns, conn, link);
	*socket_context = conn;
}

/* A keep-alive connection has the same time again for its next request's headers. */
static void sc_metrics_on_completed(void *cls, struct MHD_Connection *c, void **req,
				    enum MHD_RequestTerminationCode toe)
{
	struct sc_metrics_conn *conn = sc_metrics_conn_of(c);

	if (conn)
		conn->deadline = sc_metrics_deadline(cls);
}

static enum MHD_Result sc_metrics_reply(struct MHD_Connection *c, unsigned int status,
					const char *type, const char *body, size_t len,
					enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free((void *)body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES))
		ret = MHD_NO;
	else
		ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result sc_metrics_static(struct MHD_Connection *c, unsigned int status,
					 const char *body)
{
	return sc_metrics_reply(c, status, sc_metrics_text_type, body, strlen(body),
				MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result sc_metrics_serve_metrics(struct sc_metrics *m, struct MHD_Connection *c)
{
	char *body = NULL;
	size_t len = 0;
	int err;

	err = m->render(m->ctx, &body, &len);
	if (err) {
		pr_warn("metrics: rendering /metrics failed: %s\n", strerror(-err));
		return sc_metrics_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n");
	}
	return sc_metrics_reply(c, MHD_HTTP_OK, sc_metrics_prom_type, body, len,
				MHD_RESPMEM_MUST_FREE);
}

/*
 * Called once the request headers are in, and again for each piece of a request body. The
 * answer never depends on the body: it is queued on the first call (*REQ marks that) and any
 * body is read and dropped.
 */
static enum MHD_Result sc_metrics_on_request(void *cls, struct MHD_Connection *c, const char *url,
					     const char *method, const char *version,
					     const char *upload_data, size_t *upload_data_size,
					     void **req)
{
	struct sc_metrics_conn *conn = sc_metrics_conn_of(c);
	struct sc_metrics *m = cls;

	if (*req) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	*req = m;
	if (conn)
		conn->deadline = 0;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return sc_metrics_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return sc_metrics_serve_metrics(m, c);
	if (!strcmp(url, "/healthz"))
		return sc_metrics_static(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/readyz")) {
		if (m->ready(m->ctx))
			return sc_metrics_static(c, MHD_HTTP_OK, "ready\n");
		return sc_metrics_static(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
	}
	return sc_metrics_static(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void sc_metrics_on_timer(uv_timer_t *t);

/* Shut down the connections that are past their request-header deadline. */
static void sc_metrics_expire(struct sc_metrics *m)
{
	uint64_t now = uv_now(m->loop);
	struct sc_metrics_conn *conn;

	for (conn = LIST_FIRST(&m->conns); conn; conn = LIST_NEXT(conn, link)) {
		if (!conn->deadline || conn->deadline > now)
			continue;
		pr_debug("metrics: request headers not in after %d s; closing the connection\n",
			 SC_METRICS_TIMEOUT_S);
		shutdown(conn->fd, SHUT_RDWR);
		conn->deadline = 0;
	}
}

/* Wake up when MHD or a request-header deadline next needs us, or not at all. */
static void sc_metrics_arm(struct sc_metrics *m)
{
	uint64_t now = uv_now(m->loop), due = UINT64_MAX;
	struct sc_metrics_conn *conn;
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->daemon, &ms) == MHD_YES)
		due = ms;
	if (m->closed)
		due = 0;
	for (conn = LIST_FIRST(&m->conns); conn; conn = LIST_NEXT(conn, link)) {
		if (!conn->deadline)
			continue;
		if (conn->deadline <= now)
			due = 0;
		else if (conn->deadline - now < due)
			due = conn->deadline - now;
	}
	if (due == UINT64_MAX)
		uv_timer_stop(&m->timer);
	else
		uv_timer_start(&m->timer, sc_metrics_on_timer, due, 0);
}

static void sc_metrics_run(struct sc_metrics *m)
{
	m->closed = false;
	if (MHD_run(m->daemon) != MHD_YES)
		pr_warn("metrics: MHD_run failed\n");
	sc_metrics_expire(m);
	sc_metrics_arm(m);
}

static void sc_metrics_on_timer(uv_timer_t *t)
{
	sc_metrics_run(t->data);
}

static void sc_metrics_on_poll(uv_poll_t *p, int status, int events)
{
	if (status < 0)
		pr_warn("metrics: polling the MHD epoll fd: %s\n", uv_strerror(status));
	sc_metrics_run(p->data);
}

static void sc_metrics_on_close(uv_handle_t *h)
{
	struct sc_metrics *m = h->data;

	if (--m->handles == 0)
		free(m);
}

/* Also the error path of sc_metrics_start(), hence the checks of what has been set up. */
static void sc_metrics_teardown(struct sc_metrics *m)
{
	/* The poll handle goes first: libuv must drop MHD's epoll fd before MHD closes it. */
	if (m->poll_init)
		uv_close((uv_handle_t *)&m->poll, sc_metrics_on_close);
	uv_close((uv_handle_t *)&m->timer, sc_metrics_on_close);
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	m->daemon = NULL;
}

/*
 * MHD in external-epoll mode on our listening socket, with the limits that keep a bad scraper
 * from holding the server (see metrics.h). NULL with errno set (or 0) on failure.
 */
static struct MHD_Daemon *sc_metrics_mhd_start(struct sc_metrics *m, int fd)
{
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_CONNECTION_LIMIT, SC_METRICS_MAX_CONNS, NULL},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, SC_METRICS_MAX_PER_IP, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, SC_METRICS_TIMEOUT_S, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, SC_METRICS_CONN_MEMORY, NULL},
		{MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)sc_metrics_on_connection, m},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)sc_metrics_on_completed, m},
		{MHD_OPTION_END, 0, NULL},
	};

	errno = 0;
	/* The logger comes first so that MHD's start-up messages reach it too. */
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				sc_metrics_on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
				sc_metrics_on_log, m, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

int sc_metrics_start(uv_loop_t *loop, const char *listen, sc_metrics_render_fn render,
		     sc_metrics_ready_fn ready, void *ctx, struct sc_metrics **out)
{
	const union MHD_DaemonInfo *info;
	struct sc_metrics *m;
	int fd, err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->render = render;
	m->ready = ready;
	m->ctx = ctx;
	LIST_INIT(&m->conns);
	uv_timer_init(loop, &m->timer);
	m->timer.data = m;
	m->handles = 1;

	fd = sc_metrics_listen(listen, &m->port);
	if (fd < 0) {
		err = fd;
		goto out_teardown;
	}
	/*
	 * MHD takes the listening socket over only if it starts; if it does not, the socket is
	 * still ours to close.
	 */
	m->daemon = sc_metrics_mhd_start(m, fd);
	if (!m->daemon) {
		err = errno ? -errno : -EIO;
		close(fd);
		pr_warn("metrics.listen %s: starting the HTTP server: %s\n", listen,
			strerror(-err));
		goto out_teardown;
	}
	info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = -EIO;
		pr_warn("metrics.listen %s: the HTTP server has no epoll fd\n", listen);
		goto out_teardown;
	}
	err = uv_poll_init(loop, &m->poll, info->epoll_fd);
	if (err) {
		pr_warn("metrics.listen %s: polling the HTTP server: %s\n", listen,
			uv_strerror(err));
		goto out_teardown;
	}
	m->poll.data = m;
	m->poll_init = true;
	m->handles++;
	err = uv_poll_start(&m->poll, UV_READABLE, sc_metrics_on_poll);
	if (err) {
		pr_warn("metrics.listen %s: polling the HTTP server: %s\n", listen,
			uv_strerror(err));
		goto out_teardown;
	}
	sc_metrics_arm(m);
	*out = m;
	return 0;

out_teardown:
	sc_metrics_teardown(m);
	return err;
}

uint16_t sc_metrics_port(const struct sc_metrics *m)
{
	return m->port;
}

void sc_metrics_stop(struct sc_metrics *m)
{
	if (m)
		sc_metrics_teardown(m);
}
