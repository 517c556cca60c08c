// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Outbound redirection at connect() time, and what the app sees of its peer afterwards.
 *
 * connect4/6 decide per connect whether the app's TCP connection goes to the sidecar. When it
 * does, the original destination is kept in the socket's own storage (freed with the socket) and
 * the destination is rewritten to the proxy's outbound port on loopback. Every path that leaves
 * the connect alone fails open: the app reaches its original destination directly.
 */
#include "lib/common.h"

/* Counter index of the reason not to redirect, or SC_C_connect_redirect. */
static __always_inline enum sc_counter sc_outbound_decision(const struct sc_policy *p, __u32 slot,
							    const struct sc_origdst *dst)
{
	__u64 ugid = bpf_get_current_uid_gid();
	__u16 port = bpf_ntohs(dst->port);
	bool v6 = dst->family == AF_INET6;

	/* The proxy's own connections must reach their destination, or they would loop. */
	if ((__u32)ugid == p->proxy_uid)
		return SC_C_connect_skip_proxy_uid;
	if (p->proxy_gid != SC_ID_NONE && (__u32)(ugid >> 32) == p->proxy_gid)
		return SC_C_connect_skip_proxy_gid;
	if (v6 ? sc_v6_is_local(dst->addr) : sc_v4_is_local(dst->addr[0]))
		return SC_C_connect_skip_loopback;
	if (port == p->outbound_port || port == p->inbound_port)
		return SC_C_connect_skip_proxy_port;
	if (sc_port_in(slot, SC_PORT_OUT_EXCLUDE, port))
		return SC_C_connect_skip_excluded_port;
	if (!(p->flags & SC_F_OUT_ALL_PORTS) && !sc_port_in(slot, SC_PORT_OUT_INCLUDE, port))
		return SC_C_connect_skip_port_not_included;
	/* Excluded ranges win over included ones whatever their lengths, as in istio-iptables. */
	if (sc_cidr_in(slot, v6 ? SC_CIDR_OUT_EXCLUDE6 : SC_CIDR_OUT_EXCLUDE4, dst->addr, v6))
		return SC_C_connect_skip_excluded_cidr;
	if (!sc_cidr_in(slot, v6 ? SC_CIDR_OUT_INCLUDE6 : SC_CIDR_OUT_INCLUDE4, dst->addr, v6))
		return SC_C_connect_skip_cidr_not_included;
	return SC_C_connect_redirect;
}

/*
 * Decide for one connect and, when redirecting, remember the original destination on the socket.
 * Returns the proxy's outbound port (host order) to rewrite to, or 0 to leave the connect alone.
 */
static __always_inline __u16 sc_outbound(struct bpf_sock_addr *ctx, const struct sc_origdst *dst)
{
	const struct sc_policy *p;
	struct sc_origdst *stored;
	enum sc_counter verdict;
	__u32 slot;

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP) {
		sc_count(SC_C_connect_skip_not_tcp);
		return 0;
	}
	p = sc_live_policy(&slot);
	if (!p) {
		/* No policy yet (daemon starting): fail open. */
		sc_count(SC_C_errors__no_policy);
		return 0;
	}
	verdict = sc_outbound_decision(p, slot, dst);
	if (verdict != SC_C_connect_redirect) {
		sc_count(verdict);
		return 0;
	}
	stored = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!stored) {
		/* Without it the proxy could not learn where to go: fail open, connect direct. */
		sc_count(SC_C_errors__origdst_storage);
		return 0;
	}
	*stored = *dst;
	stored->flags = SC_ORIG_F_CLIENT;
	sc_count(SC_C_connect_redirect);
	return p->outbound_port;
}

SEC("cgroup/connect4")
int sc_connect4(struct bpf_sock_addr *ctx)
{
	struct sc_origdst dst = {
		.family = AF_INET,
		.port = (__u16)ctx->user_port,
		.addr = {ctx->user_ip4},
	};
	__u16 port = sc_outbound(ctx, &dst);

	if (port) {
		ctx->user_ip4 = bpf_htonl(0x7f000001);
		ctx->user_port = bpf_htons(port);
	}
	return 1;
}

SEC("cgroup/connect6")
int sc_connect6(struct bpf_sock_addr *ctx)
{
	struct sc_origdst dst = {
		.port = (__u16)ctx->user_port,
	};
	__u32 a[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
	bool mapped = sc_v6_is_v4mapped(a);
	__u16 port;

	/* An IPv4-mapped destination is IPv4 traffic: IPv4 policy, IPv4 proxy listener. */
	if (mapped) {
		dst.family = AF_INET;
		dst.addr[0] = a[3];
	} else {
		dst.family = AF_INET6;
		__builtin_memcpy(dst.addr, a, 16);
	}
	port = sc_outbound(ctx, &dst);
	if (!port)
		return 1;
	ctx->user_ip6[0] = 0;
	ctx->user_ip6[1] = 0;
	if (mapped) {
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = bpf_htonl(0x7f000001);
	} else {
		ctx->user_ip6[2] = 0;
		ctx->user_ip6[3] = bpf_htonl(1);
	}
	ctx->user_port = bpf_htons(port);
	return 1;
}

/*
 * Under iptables REDIRECT the app's socket stays connected to the original destination, and
 * getpeername() says so; here it is connected to the proxy. Report the original destination,
 * only on the app's redirected sockets (the proxy's accepted sockets keep their real peer).
 */
static __always_inline const struct sc_origdst *sc_redirected(struct bpf_sock_addr *ctx)
{
	struct sc_origdst *o = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, 0);

	if (!o || !(o->flags & SC_ORIG_F_CLIENT))
		return NULL;
	sc_count(SC_C_getpeername_rewrite);
	return o;
}

SEC("cgroup/getpeername4")
int sc_getpeername4(struct bpf_sock_addr *ctx)
{
	const struct sc_origdst *o = sc_redirected(ctx);

	if (o && o->family == AF_INET) {
		ctx->user_ip4 = o->addr[0];
		ctx->user_port = o->port;
	}
	return 1;
}

SEC("cgroup/getpeername6")
int sc_getpeername6(struct bpf_sock_addr *ctx)
{
	const struct sc_origdst *o = sc_redirected(ctx);

	if (!o)
		return 1;
	if (o->family == AF_INET) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = o->addr[0];
	} else {
		ctx->user_ip6[0] = o->addr[0];
		ctx->user_ip6[1] = o->addr[1];
		ctx->user_ip6[2] = o->addr[2];
		ctx->user_ip6[3] = o->addr[3];
	}
	ctx->user_port = o->port;
	return 1;
}
