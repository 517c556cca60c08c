/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's HTTP endpoint: GET /metrics, /healthz and /readyz, served by libmicrohttpd from
 * the daemon's own libuv loop (no thread). HEAD is answered like GET, other methods get 405 and
 * other paths 404.
 *
 * A scraper cannot stall the loop or starve the others: sockets are non-blocking, at most
 * SC_METRICS_MAX_CONNS connections are open (SC_METRICS_MAX_PER_IP from one address), each may
 * hold SC_METRICS_CONN_MEMORY bytes (larger request headers get 431), one idle for
 * SC_METRICS_TIMEOUT_S seconds is closed, and so is one that has not finished sending its
 * request headers within SC_METRICS_TIMEOUT_S seconds, however slowly it trickles them.
 */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define SC_METRICS_MAX_CONNS   64
#define SC_METRICS_MAX_PER_IP  8
#define SC_METRICS_TIMEOUT_S   5
#define SC_METRICS_CONN_MEMORY (32 * 1024)

struct sc_metrics;

/*
 * Render the whole /metrics body (Prometheus text format 0.0.4) into a malloc'd buffer, which
 * the server frees. Returns 0 or -errno; an error answers the scrape with 500. It runs in the
 * loop, so it must be quick.
 */
typedef int (*sc_metrics_render_fn)(void *ctx, char **body, size_t *len);
typedef bool (*sc_metrics_ready_fn)(void *ctx);

/*
 * Listen on LISTEN, "ADDR:PORT" with ADDR an IPv4 address or a bracketed IPv6 one
 * ("127.0.0.1:15020", "[::1]:15020"); port 0 picks a free port (see sc_metrics_port()). Returns
 * 0 or -errno, having logged why: -EINVAL for a malformed LISTEN, the bind() or listen() error
 * otherwise.
 */
int sc_metrics_start(uv_loop_t *loop, const char *listen, sc_metrics_render_fn render,
		     sc_metrics_ready_fn ready, void *ctx, struct sc_metrics **out);

/* The port the server listens on, in host order. */
uint16_t sc_metrics_port(const struct sc_metrics *m);

/*
 * Stop serving: the listening socket and every connection are closed at once, and the rest is
 * freed once its handles are closed (the loop must run for that). Not to be called from the
 * render or ready callback.
 */
void sc_metrics_stop(struct sc_metrics *m);

#endif /* SC_METRICS_H */
