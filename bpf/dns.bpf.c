// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNS capture of UDP datagrams sent on unconnected sockets (sendto, sendmsg), which no connect
 * program sees: musl's resolver and many others query so. sendmsg4/6 send a query to port 53 to
 * the proxy's DNS listener on loopback and remember the server on the socket; recvmsg4/6 make
 * the proxy's replies read as coming from that server, since resolvers (glibc, musl, Go) drop
 * an answer from an address they did not ask. Connected UDP and TCP sockets are captured by
 * connect4/6 (connect.bpf.c) with the same decision (lib/dns.h) and read by these recvmsg
 * programs too.
 *
 * The state is one socket-storage record per socket that sent a captured query, freed with the
 * socket: nothing grows per query. The record holds the server of the socket's last query, so a
 * socket that queries two servers at once reads both answers as coming from the later one.
 *
 * Every path that does not capture fails open (the datagram goes where the app sent it) except
 * proxy.failOpen: false with nothing bound on dns.port, which fails the send with EPERM.
 */
#include "lib/dns.h"

#define SC_SEND_REFUSE 0 /* a sendmsg program returning 0 fails the send with EPERM */
#define SC_SEND_GO     1

/*
 * A datagram to DST: SC_DNS_CAPTURE with *TARGET where it goes instead, and the server
 * remembered on the socket, or not captured, or refused.
 */
static __always_inline enum sc_dns_verdict
sc_sendmsg_decide(struct bpf_sock_addr *ctx, const struct sc_addr *dst, struct sc_addr *target)
{
	const struct sc_policy *p;
	enum sc_counter captured;
	enum sc_dns_verdict v;
	struct sc_origdst *o;
	__u32 slot;

	/* Every other datagram of the pod passes here: leave it before any lookup. */
	if (dst->port != bpf_htons(SC_DNS_PORT) || !sc_is_udp(ctx))
		return SC_DNS_NO;
	p = sc_live_policy(&slot);
	if (!p) {
		sc_count(SC_C_errors__no_policy);
		return SC_DNS_NO;
	}
	v = sc_dns_query(ctx, p, slot, dst, true, target, &captured);
	if (v != SC_DNS_CAPTURE)
		return v;
	o = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o) {
		/* Without the record the reply could not be shown as the server's, and the
		 * resolver would drop it: better not to capture. */
		sc_count(SC_C_errors__dns_storage);
		return p->flags & SC_F_FAIL_OPEN ? SC_DNS_NO : SC_DNS_REFUSE;
	}
	sc_dns_remember(o, dst, target);
	sc_count(captured);
	return SC_DNS_CAPTURE;
}

SEC("cgroup/sendmsg4")
int sc_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct sc_addr dst = {
		.family = AF_INET,
		.port = (__u16)ctx->user_port,
		.addr = {ctx->user_ip4},
	};
	struct sc_addr target = {};

	switch (sc_sendmsg_decide(ctx, &dst, &target)) {
	case SC_DNS_REFUSE:
		return SC_SEND_REFUSE;
	case SC_DNS_CAPTURE:
		ctx->user_ip4 = target.addr[0];
		ctx->user_port = target.port;
		return SC_SEND_GO;
	default:
		return SC_SEND_GO;
	}
}

SEC("cgroup/sendmsg6")
int sc_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct sc_addr dst = {}, target = {};

	/* An IPv4-mapped server is IPv4 traffic (sc_user6_get). The kernel hands such a datagram
	 * to sendmsg4 first; this is for a kernel that does not. */
	sc_user6_get(ctx, &dst);
	switch (sc_sendmsg_decide(ctx, &dst, &target)) {
	case SC_DNS_REFUSE:
		return SC_SEND_REFUSE;
	case SC_DNS_CAPTURE:
		break;
	default:
		return SC_SEND_GO;
	}
	sc_user6_set(ctx, &target);
	return SC_SEND_GO;
}

/*
 * The server to show as the source of a datagram from SRC_PORT (network order) on a socket
 * whose queries were captured, when the datagram comes from the proxy's DNS port; else NULL.
 * The caller checks the source address.
 */
static __always_inline const struct sc_addr *sc_dns_reply(struct bpf_sock_addr *ctx, __u16 src_port)
{
	struct sc_origdst *o;

	if (!sc_is_udp(ctx))
		return NULL;
	o = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, 0);
	if (!o || !(o->flags & SC_ORIG_F_DNS) || o->dns_port != src_port)
		return NULL;
	return &o->asked;
}

/* recvmsg programs must return 1: they rewrite the source, never refuse a datagram. */
SEC("cgroup/recvmsg4")
int sc_recvmsg4(struct bpf_sock_addr *ctx)
{
	const struct sc_addr *a;

	if (ctx->user_ip4 != bpf_htonl(0x7f000001))
		return 1;
	a = sc_dns_reply(ctx, (__u16)ctx->user_port);
	if (!a || a->family != AF_INET)
		return 1;
	ctx->user_ip4 = a->addr[0];
	ctx->user_port = a->port;
	sc_count(SC_C_dns_reply_rewritten);
	return 1;
}

SEC("cgroup/recvmsg6")
int sc_recvmsg6(struct bpf_sock_addr *ctx)
{
	__u32 s[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
	const struct sc_addr *a;
	bool mapped;

	/* An IPv6 socket reads an IPv4 reply from ::ffff:127.0.0.1. */
	mapped = sc_v6_is_v4mapped(s) && s[3] == bpf_htonl(0x7f000001);
	if (!mapped && !(s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == bpf_htonl(1)))
		return 1;
	a = sc_dns_reply(ctx, (__u16)ctx->user_port);
	if (!a || (a->family == AF_INET) != mapped)
		return 1;
	sc_user6_set(ctx, a);
	sc_count(SC_C_dns_reply_rewritten);
	return 1;
}
