// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * SO_ORIGINAL_DST for redirected connections, in the format nf_conntrack gives, so that
 * unmodified proxies (Envoy, HAProxy) work as under iptables REDIRECT.
 *
 * This program runs after the kernel has answered every getsockopt() of every socket in the
 * cgroup. Anything but the two options it answers, or a socket it knows nothing of, is returned
 * exactly as the kernel answered it: optval, optlen and the error stay untouched.
 *
 * An inbound connection steered to the proxy by sk_lookup was never rewritten: its original
 * destination is the accepted socket's own local address, and that is what it answers there
 * (Envoy's original_dst listener filter asks SO_ORIGINAL_DST on inbound connections too).
 *
 * For a redirected socket it answers as nf_conntrack's getorigdst() does: the same bytes, EINVAL
 * for a buffer shorter than the address, ENOENT for a query of the other family. One difference:
 * conntrack leaves a longer optlen as the caller passed it; here optlen is set to the address
 * size, because when the kernel's own answer failed the program's buffer starts zeroed, and a
 * longer optlen would copy those zeroes over the caller's bytes past the address.
 */
#include "lib/common.h"

#define EINVAL 22
#define ENOENT 2

/* struct sockaddr_in / sockaddr_in6 as the kernel lays them out. */
struct sc_sockaddr_in {
	__u16 family;
	__u16 port;
	__u32 addr;
	__u8 zero[8];
};

struct sc_sockaddr_in6 {
	__u16 family;
	__u16 port;
	__u32 flowinfo;
	__u32 addr[4];
	__u32 scope_id;
};

/*
 * The local address of SK if it is the proxy's end of an inbound connection that sk_lookup
 * steered: a port the policy steers, and a peer that did not come over loopback.
 */
static __always_inline bool sc_inbound_orig(struct bpf_sock *sk, struct sc_addr *a)
{
	const struct sc_policy *p;
	__u32 slot, l6[4], r6[4];
	struct sc_tuple t = {};

	p = sc_live_policy(&slot);
	if (!p || !(p->flags & SC_F_INBOUND))
		return false;
	l6[0] = sk->src_ip6[0];
	l6[1] = sk->src_ip6[1];
	l6[2] = sk->src_ip6[2];
	l6[3] = sk->src_ip6[3];
	r6[0] = sk->dst_ip6[0];
	r6[1] = sk->dst_ip6[1];
	r6[2] = sk->dst_ip6[2];
	r6[3] = sk->dst_ip6[3];
	sc_tuple_addrs(&t, sk->family, sk->src_ip4, sk->dst_ip4, l6, r6);
	if (sc_tuple_is_local(&t) ||
	    sc_inbound_port_verdict(p, slot, sk->src_port) != SC_C_inbound_redirect)
		return false;
	a->family = t.family;
	a->port = bpf_htons(sk->src_port);
	__builtin_memcpy(a->addr, t.laddr, 16);
	return true;
}

SEC("cgroup/getsockopt")
int sc_getsockopt(struct bpf_sockopt *ctx)
{
	void *optval = ctx->optval, *end = ctx->optval_end;
	struct sc_origdst *o, inbound = {};
	struct bpf_sock *sk;

	if (ctx->optname != SC_SO_ORIGINAL_DST || (ctx->level != SOL_IP && ctx->level != SOL_IPV6))
		return 1;
	sk = ctx->sk;
	if (!sk)
		return 1;
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	if (!o) {
		if (!sc_inbound_orig(sk, &inbound.orig)) {
			/* Not a connection we redirected: the kernel's answer (conntrack's). */
			sc_count(SC_C_sockopt_original_dst_unknown);
			return 1;
		}
		o = &inbound;
	}
	if (ctx->level == SOL_IP) {
		struct sc_sockaddr_in *sin = optval;

		if (o->orig.family != AF_INET) {
			ctx->retval = -ENOENT;
			return 1;
		}
		if ((void *)(sin + 1) > end) {
			ctx->retval = -EINVAL;
			return 1;
		}
		__builtin_memset(sin, 0, sizeof(*sin));
		sin->family = AF_INET;
		sin->port = o->orig.port;
		sin->addr = o->orig.addr[0];
		ctx->optlen = sizeof(*sin);
	} else {
		struct sc_sockaddr_in6 *sin6 = optval;

		if (o->orig.family != AF_INET6) {
			ctx->retval = -ENOENT;
			return 1;
		}
		if ((void *)(sin6 + 1) > end) {
			ctx->retval = -EINVAL;
			return 1;
		}
		__builtin_memset(sin6, 0, sizeof(*sin6));
		sin6->family = AF_INET6;
		sin6->port = o->orig.port;
		sin6->addr[0] = o->orig.addr[0];
		sin6->addr[1] = o->orig.addr[1];
		sin6->addr[2] = o->orig.addr[2];
		sin6->addr[3] = o->orig.addr[3];
		ctx->optlen = sizeof(*sin6);
	}
	ctx->retval = 0;
	sc_count(SC_C_sockopt_original_dst);
	return 1;
}
