/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * proxy-stub: a small transparent TCP relay on one libuv loop, the sidecar proxy of sidecap's
 * tests, demo and benchmark. It learns where a connection was going from SO_ORIGINAL_DST, which
 * both the eBPF interceptor (cgroup/getsockopt) and iptables REDIRECT (conntrack) answer, and
 * relays bytes with plain reads and writes: never splice(), because sockets whose data travels
 * through the interceptor's sk_msg redirect do not hand it to splice.
 */
#ifndef PS_PROXY_H
#define PS_PROXY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/*
 * The netfilter option that returns a redirected connection's original destination. Its home,
 * linux/netfilter_ipv4.h and linux/netfilter_ipv6/ip6_tables.h, pulls in uapi headers that clash
 * with netinet/in.h, so the values are spelled out here.
 */
#define PS_SO_ORIGINAL_DST	80
#define PS_IP6T_SO_ORIGINAL_DST 80

/*
 * One buffer per direction, allocated with the connection. A read fills it at most once; while a
 * write from it is still queued the source is not read, so this is also the most a direction
 * holds in user space when its destination cannot keep up (the kernel's socket buffers hold the
 * rest and push back on the sender).
 */
#define PS_BUF_SIZE (64 * 1024)

#define PS_DEFAULT_MAX_CONNS 65536

#define ps_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* "[" + IPv6 + "]:" + port + NUL. */
#define PS_ADDRSTRLEN (INET6_ADDRSTRLEN + 8)

union ps_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};

/* addr.c */
int ps_addr_parse(const char *text, union ps_addr *addr);
void ps_addr_format(const union ps_addr *addr, char *buf, size_t len);
uint16_t ps_addr_port(const union ps_addr *addr);
void ps_addr_unmap(union ps_addr *addr);
bool ps_addr_equal(const union ps_addr *a, const union ps_addr *b);
bool ps_addr_is_any(const union ps_addr *addr);
bool ps_addr_is_loopback(const union ps_addr *addr);
int ps_orig_dst(int fd, union ps_addr *dst);

enum ps_dir {
	PS_OUTBOUND,
	PS_INBOUND,
};

/* How a connection ended; the names are the log's result= values. */
enum ps_result {
	PS_RESULT_OK,
	PS_RESULT_CONNECT_ERROR,
	PS_RESULT_NO_ORIG_DST,
	PS_RESULT_LOOP,
	PS_RESULT_OVER_LIMIT,
	PS_RESULT_RESET,
};

/* Connections by how they ended, printed to stderr on exit. */
struct ps_stats {
	uint64_t accepted;
	uint64_t ok;
	uint64_t reset;
	uint64_t connect_error;
	uint64_t no_orig_dst;
	uint64_t loop;
	uint64_t over_limit;
	uint64_t errors__accept;
};

struct ps_listener {
	uv_tcp_t tcp;
	struct ps_proxy *proxy;
	enum ps_dir dir;
	/* A built-in default rather than an --outbound the user gave: see ps_listen(). */
	bool is_default;
	/* Bound and listening; a default that this host cannot bind is left out. */
	bool active;
	/* As bound: the port is the kernel's choice when the user asked for port 0. */
	union ps_addr addr;
};

/* One direction of a connection: reads from src, writes to dst. */
struct ps_half {
	uv_stream_t *src;
	uv_stream_t *dst;
	uv_write_t write_req;
	uv_shutdown_t shutdown_req;
	/* Bytes handed to dst, counted when the kernel took them. */
	uint64_t bytes;
	/* Bytes of the last read still queued in write_req; src is not read meanwhile. */
	size_t queued;
	bool eof;
	bool shut;
	char *buf;
};

struct ps_conn {
	struct ps_conn *prev;
	struct ps_conn *next;
	struct ps_proxy *proxy;
	enum ps_dir dir;
	enum ps_result result;
	/* The upstream connect's error, for result=connect_error:<name>. */
	int connect_err;
	bool upstream_init;
	bool closing;
	/* Handles initialised and not yet through their close callback. */
	int open_handles;
	uint64_t start_ns;
	union ps_addr client_addr;
	union ps_addr orig_addr;
	uv_tcp_t client;
	uv_tcp_t upstream;
	uv_connect_t connect_req;
	struct ps_half up;   /* client -> upstream */
	struct ps_half down; /* upstream -> client */
	/* Last, so that setting up a connection clears everything but these. */
	char bufs[2][PS_BUF_SIZE];
};

/* Lets through a burst of warnings per second and counts the rest. */
struct ps_ratelimit {
	uint64_t window_s;
	unsigned int printed;
	unsigned int suppressed;
};

struct ps_proxy {
	uv_loop_t loop;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	struct ps_listener *listeners;
	size_t n_listeners;
	struct ps_conn *conns;
	size_t n_conns;
	size_t max_conns;
	bool log;
	bool stopping;
	struct ps_stats stats;
	struct ps_ratelimit warn_rl;
};

/* conn.c */
void ps_on_connection(uv_stream_t *server, int status);
void ps_conns_abort_all(struct ps_proxy *proxy);
void ps_warn(struct ps_proxy *proxy, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* PS_PROXY_H */
