// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One relayed connection: find out where it was going, connect there, copy bytes both ways with
 * half-close, and log how it ended.
 *
 * A connection that is refused (no original destination, a loop, over the limit) or that fails
 * (upstream connect error, read/write error, a peer's reset) is closed with a reset rather than a
 * FIN, so that the other side sees an error and never mistakes a cut stream for a complete one.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

/* Warnings printed per second before the rest are only counted. */
#define PS_WARN_BURST 10

/* The inbound hop's source: Istio's convention, so that the hop is not captured again. */
#define PS_INBOUND_SOURCE "127.0.0.6"

static const char *const result_names[] = {
	[PS_RESULT_OK] = "ok",
	[PS_RESULT_CONNECT_ERROR] = "connect_error",
	[PS_RESULT_NO_ORIG_DST] = "no_orig_dst",
	[PS_RESULT_LOOP] = "loop",
	[PS_RESULT_OVER_LIMIT] = "over_limit",
	[PS_RESULT_RESET] = "reset",
};

void ps_warn(struct ps_proxy *proxy, const char *fmt, ...)
{
	struct ps_ratelimit *rl = &proxy->warn_rl;
	uint64_t now = uv_now(&proxy->loop) / 1000;
	va_list ap;

	if (now != rl->window_s) {
		if (rl->suppressed)
			fprintf(stderr, "proxy-stub: %u similar warnings suppressed\n",
				rl->suppressed);
		rl->window_s = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= PS_WARN_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;

	fputs("proxy-stub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void count_result(struct ps_stats *stats, enum ps_result result)
{
	switch (result) {
	case PS_RESULT_OK:
		stats->ok++;
		break;
	case PS_RESULT_CONNECT_ERROR:
		stats->connect_error++;
		break;
	case PS_RESULT_NO_ORIG_DST:
		stats->no_orig_dst++;
		break;
	case PS_RESULT_LOOP:
		stats->loop++;
		break;
	case PS_RESULT_OVER_LIMIT:
		stats->over_limit++;
		break;
	case PS_RESULT_RESET:
		stats->reset++;
		break;
	}
}

static void log_conn(const union ps_addr *client, const union ps_addr *orig, enum ps_dir dir,
		     uint64_t up, uint64_t down, uint64_t start_ns, enum ps_result result, int err)
{
	char client_str[PS_ADDRSTRLEN], orig_str[PS_ADDRSTRLEN];
	double dur_ms = (double)(uv_hrtime() - start_ns) / 1e6;

	ps_addr_format(client, client_str, sizeof(client_str));
	ps_addr_format(orig, orig_str, sizeof(orig_str));
	printf("conn client=%s orig=%s dir=%s up=%" PRIu64 " down=%" PRIu64
	       " dur_ms=%.1f result=%s%s%s\n",
	       client_str, orig_str, dir == PS_OUTBOUND ? "out" : "in", up, down, dur_ms,
	       result_names[result], result == PS_RESULT_CONNECT_ERROR ? ":" : "",
	       result == PS_RESULT_CONNECT_ERROR ? uv_err_name(err) : "");
	fflush(stdout);
}

static void conn_link(struct ps_proxy *proxy, struct ps_conn *conn)
{
	conn->prev = NULL;
	conn->next = proxy->conns;
	if (proxy->conns)
		proxy->conns->prev = conn;
	proxy->conns = conn;
	proxy->n_conns++;
}

static void conn_unlink(struct ps_proxy *proxy, struct ps_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		proxy->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	proxy->n_conns--;
}

/* The connection is freed here, once both of its handles are closed. */
static void conn_on_close(uv_handle_t *handle)
{
	struct ps_conn *conn = handle->data;
	struct ps_proxy *proxy = conn->proxy;

	if (--conn->open_handles > 0)
		return;

	count_result(&proxy->stats, conn->result);
	if (proxy->log)
		log_conn(&conn->client_addr, &conn->orig_addr, conn->dir, conn->up.bytes,
			 conn->down.bytes, conn->start_ns, conn->result, conn->connect_err);
	conn_unlink(proxy, conn);
	free(conn);
}

/*
 * A zero linger time makes close() send a reset and drop anything unsent. Failing to set it
 * leaves a plain close, which is all that can be done then.
 */
static void set_reset_on_close(uv_tcp_t *tcp)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)tcp, &fd) == 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/*
 * Close both sides. The first reason given is the one logged; anything but PS_RESULT_OK resets
 * both sides. Pending requests complete with UV_ECANCELED before the close callbacks run.
 */
static void conn_close(struct ps_conn *conn, enum ps_result result)
{
	if (conn->closing)
		return;
	conn->closing = true;
	conn->result = result;

	if (result != PS_RESULT_OK)
		set_reset_on_close(&conn->client);
	uv_close((uv_handle_t *)&conn->client, conn_on_close);
	if (conn->upstream_init) {
		if (result != PS_RESULT_OK)
			set_reset_on_close(&conn->upstream);
		uv_close((uv_handle_t *)&conn->upstream, conn_on_close);
	}
}

void ps_conns_abort_all(struct ps_proxy *proxy)
{
	struct ps_conn *conn;

	/* Closing never frees synchronously, so the list stays intact while it is walked. */
	for (conn = proxy->conns; conn; conn = conn->next)
		conn_close(conn, PS_RESULT_RESET);
}

static struct ps_half *half_of(uv_stream_t *src)
{
	struct ps_conn *conn = src->data;

	return src == (uv_stream_t *)&conn->client ? &conn->up : &conn->down;
}

/*
 * Every read goes to the start of the direction's one buffer: the source is never read while a
 * write from the buffer is queued, so by the time libuv asks for memory the buffer is free.
 */
static void on_alloc(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf)
{
	struct ps_half *half = half_of((uv_stream_t *)handle);

	*buf = uv_buf_init(half->buf, PS_BUF_SIZE);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct ps_half *half = ps_container_of(req, struct ps_half, shutdown_req);
	struct ps_conn *conn = req->handle->data;

	if (status == UV_ECANCELED || conn->closing)
		return;
	if (status < 0) {
		conn_close(conn, PS_RESULT_RESET);
		return;
	}
	half->shut = true;
	if (conn->up.shut && conn->down.shut)
		conn_close(conn, PS_RESULT_OK);
}

/*
 * The source sent FIN: pass it on as a FIN to the destination and keep relaying the other
 * direction. Nothing is queued towards the destination at this point (the source is not read
 * while a write is queued), so the FIN follows the last byte at once.
 */
static void half_eof(struct ps_conn *conn, struct ps_half *half)
{
	int err;

	half->eof = true;
	err = uv_shutdown(&half->shutdown_req, half->dst, on_shutdown);
	if (err)
		conn_close(conn, PS_RESULT_RESET);
}

static void on_read(uv_stream_t *src, ssize_t nread, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status)
{
	struct ps_half *half = ps_container_of(req, struct ps_half, write_req);
	struct ps_conn *conn = req->handle->data;
	int err;

	if (status == UV_ECANCELED || conn->closing)
		return;
	if (status < 0) {
		conn_close(conn, PS_RESULT_RESET);
		return;
	}
	half->bytes += half->queued;
	half->queued = 0;
	err = uv_read_start(half->src, on_alloc, on_read);
	if (err)
		conn_close(conn, PS_RESULT_RESET);
}

static void on_read(uv_stream_t *src, ssize_t nread, const uv_buf_t *buf)
{
	struct ps_conn *conn = src->data;
	struct ps_half *half = half_of(src);
	uv_buf_t rest;
	int n, err;

	/* A read that would block: libuv returns the buffer unused. */
	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		half_eof(conn, half);
		return;
	}
	if (nread < 0) {
		conn_close(conn, PS_RESULT_RESET);
		return;
	}

	/*
	 * Usually the destination takes everything at once; writing directly spares a request and
	 * a callback on the next loop turn. Whatever it does not take is queued, and the source
	 * waits until that is written: that is the backpressure.
	 */
	n = uv_try_write(half->dst, &(uv_buf_t){.base = buf->base, .len = nread}, 1);
	if (n == nread) {
		half->bytes += n;
		return;
	}
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(conn, PS_RESULT_RESET);
		return;
	}
	if (n < 0)
		n = 0;
	half->bytes += n;
	half->queued = nread - n;
	rest = uv_buf_init(buf->base + n, half->queued);
	err = uv_write(&half->write_req, half->dst, &rest, 1, on_write);
	if (err) {
		conn_close(conn, PS_RESULT_RESET);
		return;
	}
	uv_read_stop(src);
}

static void on_upstream_connect(uv_connect_t *req, int status)
{
	struct ps_conn *conn = req->handle->data;
	int err;

	if (status == UV_ECANCELED || conn->closing)
		return;
	if (status < 0) {
		conn->connect_err = status;
		conn_close(conn, PS_RESULT_CONNECT_ERROR);
		return;
	}

	/*
	 * The client is read only from now on: what it sent meanwhile waits in its socket, and a
	 * connect that fails has consumed nothing from it.
	 */
	conn->up.src = (uv_stream_t *)&conn->client;
	conn->up.dst = (uv_stream_t *)&conn->upstream;
	conn->down.src = (uv_stream_t *)&conn->upstream;
	conn->down.dst = (uv_stream_t *)&conn->client;
	err = uv_read_start(conn->up.src, on_alloc, on_read);
	if (!err)
		err = uv_read_start(conn->down.src, on_alloc, on_read);
	if (err)
		conn_close(conn, PS_RESULT_RESET);
}

/*
 * Start the connect to TARGET, from SOURCE if given. Errors here are reported like the connect's
 * own: as result=connect_error.
 */
static int connect_upstream(struct ps_conn *conn, const union ps_addr *target,
			    const union ps_addr *source)
{
	struct ps_proxy *proxy = conn->proxy;
	uv_os_fd_t fd;
	int one = 1;
	int err;

	/* Created with its family so that options can be set on the socket before the connect. */
	err = uv_tcp_init_ex(&proxy->loop, &conn->upstream, target->sa.sa_family);
	if (err)
		return err;
	conn->upstream.data = conn;
	conn->upstream_init = true;
	conn->open_handles++;

	err = uv_tcp_nodelay(&conn->upstream, 1);
	if (err)
		return err;
	if (source) {
		/*
		 * Let connect() choose the source port, unique per 4-tuple, instead of bind()
		 * choosing one unused on the source address: otherwise every inbound connection
		 * holds one of the address's ephemeral ports for its whole life, whatever its
		 * destination. Without the option the bind still works, just less scalably.
		 */
		if (uv_fileno((uv_handle_t *)&conn->upstream, &fd) == 0)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		err = uv_tcp_bind(&conn->upstream, &source->sa, 0);
		if (err)
			return err;
	}
	return uv_tcp_connect(&conn->connect_req, &conn->upstream, &target->sa,
			      on_upstream_connect);
}

/*
 * Whether DST is one of our own listening addresses. A wildcard listener owns its port on every
 * local address; of those, the loopback range and the address this connection arrived on
 * (LOCAL) are the ones known without listing the host's interfaces.
 */
static bool is_own_listener(struct ps_proxy *proxy, const union ps_addr *dst,
			    const union ps_addr *local)
{
	union ps_addr same_host;
	size_t i;

	same_host = *dst;
	if (same_host.sa.sa_family == AF_INET)
		same_host.in.sin_port = htons(ps_addr_port(local));
	else
		same_host.in6.sin6_port = htons(ps_addr_port(local));

	for (i = 0; i < proxy->n_listeners; i++) {
		const struct ps_listener *l = &proxy->listeners[i];
		union ps_addr laddr = l->addr;

		if (!l->active)
			continue;
		ps_addr_unmap(&laddr);
		if (ps_addr_port(&laddr) != ps_addr_port(dst))
			continue;
		if (ps_addr_equal(&laddr, dst))
			return true;
		if (!ps_addr_is_any(&laddr))
			continue;
		if (laddr.sa.sa_family == AF_INET && dst->sa.sa_family != AF_INET)
			continue;
		if (ps_addr_is_loopback(dst) || ps_addr_equal(&same_host, local))
			return true;
	}
	return false;
}

static bool is_own_port(struct ps_proxy *proxy, uint16_t port)
{
	size_t i;

	for (i = 0; i < proxy->n_listeners; i++)
		if (proxy->listeners[i].active && ps_addr_port(&proxy->listeners[i].addr) == port)
			return true;
	return false;
}

/*
 * Outbound: the application connected somewhere and was redirected to us; go where it was
 * going. Without an original destination there is nowhere to go, so the client is refused
 * (fails closed); so is a destination that is ourselves, which would loop until fds run out.
 */
static enum ps_result outbound_target(struct ps_listener *l, struct ps_conn *conn, int fd,
				      const union ps_addr *local, union ps_addr *target)
{
	char client_str[PS_ADDRSTRLEN], orig_str[PS_ADDRSTRLEN], local_str[PS_ADDRSTRLEN];
	struct ps_proxy *proxy = l->proxy;
	int err;

	err = ps_orig_dst(fd, &conn->orig_addr);
	if (err) {
		memset(&conn->orig_addr, 0, sizeof(conn->orig_addr));
		ps_addr_format(&conn->client_addr, client_str, sizeof(client_str));
		ps_addr_format(local, local_str, sizeof(local_str));
		ps_warn(proxy,
			"%s -> %s: no original destination (SO_ORIGINAL_DST: %s); refusing. Was "
			"the connection redirected here by the interceptor or iptables?",
			client_str, local_str, strerror(-err));
		return PS_RESULT_NO_ORIG_DST;
	}
	if (is_own_listener(proxy, &conn->orig_addr, local)) {
		ps_addr_format(&conn->client_addr, client_str, sizeof(client_str));
		ps_addr_format(&conn->orig_addr, orig_str, sizeof(orig_str));
		ps_warn(proxy,
			"%s: original destination %s is one of our listeners; refusing the loop. "
			"Is "
			"the proxy's own uid excluded from redirection?",
			client_str, orig_str);
		return PS_RESULT_LOOP;
	}
	*target = conn->orig_addr;
	return PS_RESULT_OK;
}

/*
 * Inbound: a connection for a local application was redirected to us; hand it to the
 * application on loopback, same port. iptables REDIRECT rewrites the port, so SO_ORIGINAL_DST
 * (conntrack) knows the real one; sk_lookup-style steering keeps the address, so getsockname()
 * already is it. A port that is our own means nobody redirected the connection: passing it on
 * would come straight back to us.
 */
static enum ps_result inbound_target(struct ps_listener *l, struct ps_conn *conn, int fd,
				     const union ps_addr *local, union ps_addr *target,
				     union ps_addr *source, bool *use_source)
{
	char client_str[PS_ADDRSTRLEN], orig_str[PS_ADDRSTRLEN];
	struct ps_proxy *proxy = l->proxy;
	union ps_addr orig;
	uint16_t port;

	conn->orig_addr = *local;
	if (ps_orig_dst(fd, &orig) == 0 && !ps_addr_equal(&orig, local))
		conn->orig_addr = orig;
	port = ps_addr_port(&conn->orig_addr);

	if (is_own_port(proxy, port)) {
		ps_addr_format(&conn->client_addr, client_str, sizeof(client_str));
		ps_addr_format(&conn->orig_addr, orig_str, sizeof(orig_str));
		ps_warn(proxy,
			"%s -> %s: inbound connection to our own port, not redirected; refusing "
			"the "
			"loop",
			client_str, orig_str);
		return PS_RESULT_LOOP;
	}

	memset(target, 0, sizeof(*target));
	if (conn->orig_addr.sa.sa_family == AF_INET) {
		target->in.sin_family = AF_INET;
		target->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		target->in.sin_port = htons(port);
		ps_addr_parse(PS_INBOUND_SOURCE ":0", source);
		*use_source = true;
	} else {
		target->in6.sin6_family = AF_INET6;
		target->in6.sin6_addr = in6addr_loopback;
		target->in6.sin6_port = htons(port);
		*use_source = false;
	}
	return PS_RESULT_OK;
}

/* Past --max-conns: take the connection off the accept queue and reset it. */
static void reject_on_close(uv_handle_t *handle)
{
	free(handle);
}

static void reject_over_limit(struct ps_listener *l)
{
	struct ps_proxy *proxy = l->proxy;
	union ps_addr client = {0}, none = {0};
	int len = sizeof(client.ss);
	uint64_t start_ns = uv_hrtime();
	uv_tcp_t *tcp;

	/*
	 * Without memory for a handle the connection cannot be accepted, and libuv stops watching
	 * the listener until one is: that listener is stuck, and is reported.
	 */
	tcp = malloc(sizeof(*tcp));
	if (!tcp) {
		ps_warn(proxy, "over --max-conns: no memory to reject a connection");
		return;
	}
	uv_tcp_init(&proxy->loop, tcp);
	proxy->stats.accepted++;
	proxy->stats.over_limit++;
	if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)tcp) == 0) {
		set_reset_on_close(tcp);
		if (proxy->log) {
			uv_tcp_getpeername(tcp, &client.sa, &len);
			ps_addr_unmap(&client);
			log_conn(&client, &none, l->dir, 0, 0, start_ns, PS_RESULT_OVER_LIMIT, 0);
		}
	}
	uv_close((uv_handle_t *)tcp, reject_on_close);
}

void ps_on_connection(uv_stream_t *server, int status)
{
	struct ps_listener *l = server->data;
	struct ps_proxy *proxy = l->proxy;
	union ps_addr local, target, source;
	bool use_source = false;
	enum ps_result result;
	struct ps_conn *conn;
	uv_os_fd_t fd;
	int len, err;

	if (status < 0) {
		proxy->stats.errors__accept++;
		ps_warn(proxy, "accept: %s", uv_strerror(status));
		return;
	}
	if (proxy->n_conns >= proxy->max_conns) {
		reject_over_limit(l);
		return;
	}

	/* Without memory for a connection, refuse it as over the limit: a handle is smaller. */
	conn = malloc(sizeof(*conn));
	if (!conn) {
		reject_over_limit(l);
		return;
	}
	memset(conn, 0, offsetof(struct ps_conn, bufs));
	conn->proxy = proxy;
	conn->dir = l->dir;
	conn->start_ns = uv_hrtime();
	conn->up.buf = conn->bufs[0];
	conn->down.buf = conn->bufs[1];
	uv_tcp_init(&proxy->loop, &conn->client);
	conn->client.data = conn;
	conn->open_handles = 1;
	conn_link(proxy, conn);
	proxy->stats.accepted++;

	err = uv_accept(server, (uv_stream_t *)&conn->client);
	if (err) {
		proxy->stats.errors__accept++;
		ps_warn(proxy, "accept: %s", uv_strerror(err));
		conn_close(conn, PS_RESULT_RESET);
		return;
	}
	uv_fileno((uv_handle_t *)&conn->client, &fd);
	uv_tcp_nodelay(&conn->client, 1);

	len = sizeof(conn->client_addr.ss);
	uv_tcp_getpeername(&conn->client, &conn->client_addr.sa, &len);
	ps_addr_unmap(&conn->client_addr);
	len = sizeof(local.ss);
	uv_tcp_getsockname(&conn->client, &local.sa, &len);
	ps_addr_unmap(&local);

	if (l->dir == PS_OUTBOUND)
		result = outbound_target(l, conn, fd, &local, &target);
	else
		result = inbound_target(l, conn, fd, &local, &target, &source, &use_source);
	if (result != PS_RESULT_OK) {
		conn_close(conn, result);
		return;
	}

	err = connect_upstream(conn, &target, use_source ? &source : NULL);
	if (err) {
		conn->connect_err = err;
		conn_close(conn, PS_RESULT_CONNECT_ERROR);
	}
}
