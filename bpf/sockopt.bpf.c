// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * SO_ORIGINAL_DST for redirected connections, in the format nf_conntrack gives, so that
 * unmodified proxies (Envoy, HAProxy) work as under iptables REDIRECT.
 *
 * This program runs after the kernel has answered every getsockopt() of every socket in the
 * cgroup. Anything but the two options it answers, or a socket it knows nothing of, is returned
 * exactly as the kernel answered it: optval, optlen and the error stay untouched.
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

SEC("cgroup/getsockopt")
int sc_getsockopt(struct bpf_sockopt *ctx)
{
	void *optval = ctx->optval, *end = ctx->optval_end;
	struct sc_origdst *o;
	struct bpf_sock *sk;

	if (ctx->optname != SC_SO_ORIGINAL_DST || (ctx->level != SOL_IP && ctx->level != SOL_IPV6))
		return 1;
	sk = ctx->sk;
	if (!sk)
		return 1;
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	if (!o) {
		/* Not a connection we redirected: the kernel's answer (conntrack's, if any). */
		sc_count(SC_C_sockopt_original_dst_unknown);
		return 1;
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
