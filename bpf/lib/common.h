/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Inline logic shared by the program files: counters, the live policy, addresses, tuples. */
#ifndef SC_LIB_COMMON_H
#define SC_LIB_COMMON_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "lib/maps.h"

/*
 * Two kernel features split some programs in two builds: fetching atomics (fetch-and-or,
 * compare-and-swap, fetch-and-add whose result is used: Linux 5.12) and bpf_get_netns_cookie in
 * sockops and sk_msg programs (5.15). Each program that needs one has a twin named *_510 that a
 * 5.10 verifier accepts, built from the same inline code with SC_510 as its level; the daemon loads
 * one of each pair (interceptor/kernel_features.c). On the 5.10 level a demoted socket never leaves its
 * sockhash (that needs the atomics), tuples carry no network namespace (each pod's maps are its
 * own, so nothing there needs one), and the node-wide pairing of two pods is off (it must never
 * run without the namespace in its keys). A plain __sync_fetch_and_add whose result is unused is
 * the old XADD, which every kernel takes.
 */
enum sc_level {
	SC_510 = 0,  /* a kernel without one of them (5.10 to 5.14) */
	SC_FULL = 1, /* both (5.15 and later) */
};

/* No libc headers on the BPF side. */
#define AF_INET	    2
#define AF_INET6    10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define SOL_IP	    0
#define SOL_IPV6    41

static __always_inline void sc_count_add(enum sc_counter c, __u64 n)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&sc_stats, &key);

	if (v)
		*v += n;
}

static __always_inline void sc_count(enum sc_counter c)
{
	sc_count_add(c, 1);
}

static __always_inline void sc_xcount_add(enum sc_node_counter c, __u64 n)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&sc_xstats, &key);

	if (v)
		*v += n;
}

static __always_inline void sc_xcount(enum sc_node_counter c)
{
	sc_xcount_add(c, 1);
}

/*
 * The live policy, or NULL when the daemon has not written one yet. The slot is read once per
 * decision and every further lookup of that decision uses it, so one decision never mixes two
 * policies.
 */
static __always_inline const struct sc_policy *sc_live_policy(__u32 *slot)
{
	__u32 zero = 0;
	struct sc_state *st = bpf_map_lookup_elem(&sc_state, &zero);
	struct sc_policy *p;
	__u32 s;

	if (!st)
		return NULL;
	s = st->active_slot;
	if (s >= SC_POLICY_SLOTS)
		return NULL;
	p = bpf_map_lookup_elem(&sc_policy, &s);
	if (!p || !(p->flags & SC_F_VALID))
		return NULL;
	*slot = s;
	return p;
}

static __always_inline bool sc_port_in(__u32 slot, __u32 kind, __u16 port)
{
	__u32 key = sc_port_key(slot, kind, port);

	return bpf_map_lookup_elem(&sc_ports, &key) != NULL;
}

/* ADDR: 4 (IPv4, network order) or 16 bytes. */
static __always_inline bool sc_cidr_in(__u32 slot, __u32 kind, const __u32 *addr, bool v6)
{
	struct sc_cidr_key key = {
		.slot = slot,
		.kind = kind,
	};

	key.prefixlen = SC_CIDR_PREFIX_BASE + (v6 ? 128 : 32);
	__builtin_memcpy(key.addr, addr, 4);
	if (v6)
		__builtin_memcpy(key.addr + 4, addr + 1, 12);
	return bpf_map_lookup_elem(&sc_cidrs, &key) != NULL;
}

static __always_inline bool sc_v4_is_local(__u32 addr)
{
	return (bpf_ntohl(addr) >> 24) == 127 || addr == 0;
}

/* ::ffff:a.b.c.d */
static __always_inline bool sc_v6_is_v4mapped(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

/* The address and port an IPv6 sock_addr program was given (an IPv4-mapped one is IPv4: IPv4
 * policy, services and listener). */
static __always_inline void sc_user6_get(const struct bpf_sock_addr *ctx, struct sc_addr *a)
{
	__u32 v[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};

	a->port = (__u16)ctx->user_port;
	if (sc_v6_is_v4mapped(v)) {
		a->family = AF_INET;
		a->addr[0] = v[3];
	} else {
		a->family = AF_INET6;
		__builtin_memcpy(a->addr, v, 16);
	}
}

/* Make an IPv6 sock_addr program's address and port A (IPv4 as ::ffff:a.b.c.d). */
static __always_inline void sc_user6_set(struct bpf_sock_addr *ctx, const struct sc_addr *a)
{
	if (a->family == AF_INET) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = a->addr[0];
	} else {
		ctx->user_ip6[0] = a->addr[0];
		ctx->user_ip6[1] = a->addr[1];
		ctx->user_ip6[2] = a->addr[2];
		ctx->user_ip6[3] = a->addr[3];
	}
	ctx->user_port = a->port;
}

/* ::1 or :: */
static __always_inline bool sc_v6_is_local(const __u32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && (a[3] == 0 || a[3] == bpf_htonl(1));
}

/*
 * Fill the address part of a tuple from a socket's family and addresses, turning a v4-mapped
 * IPv6 pair into IPv4 so that the IPv6 app socket and the IPv4 proxy socket of one connection
 * agree on the key.
 */
static __always_inline void sc_tuple_addrs(struct sc_tuple *t, __u32 family, __u32 l4, __u32 r4,
					   const __u32 *l6, const __u32 *r6)
{
	if (family == AF_INET) {
		t->family = AF_INET;
		t->laddr[0] = l4;
		t->raddr[0] = r4;
	} else if (sc_v6_is_v4mapped(r6)) {
		t->family = AF_INET;
		t->laddr[0] = l6[3];
		t->raddr[0] = r6[3];
	} else {
		t->family = AF_INET6;
		__builtin_memcpy(t->laddr, l6, 16);
		__builtin_memcpy(t->raddr, r6, 16);
	}
}

/*
 * Inbound steering's port rule: the proxy's own ports never, excluded ports (and the admin ports
 * among them) never, then included ports or all. Returns the counter of the reason not to steer,
 * or SC_C_inbound_redirect.
 */
static __always_inline enum sc_counter sc_inbound_port_verdict(const struct sc_policy *p,
							       __u32 slot, __u32 port)
{
	if (port == p->inbound_port || port == p->outbound_port)
		return SC_C_inbound_skip_proxy_port;
	if (sc_port_in(slot, SC_PORT_IN_EXCLUDE, port))
		return SC_C_inbound_skip_excluded_port;
	if (!(p->flags & SC_F_IN_ALL_PORTS) && !sc_port_in(slot, SC_PORT_IN_INCLUDE, port))
		return SC_C_inbound_skip_port_not_included;
	return SC_C_inbound_redirect;
}

/* Both ends of the connection are sockets of this network namespace. */
static __always_inline bool sc_tuple_is_local(const struct sc_tuple *t)
{
	if (t->family == AF_INET)
		return sc_v4_is_local(t->raddr[0]) || t->raddr[0] == t->laddr[0];
	return sc_v6_is_local(t->raddr) ||
	       (t->raddr[0] == t->laddr[0] && t->raddr[1] == t->laddr[1] &&
		t->raddr[2] == t->laddr[2] && t->raddr[3] == t->laddr[3]);
}

/* The same connection seen from the other end. */
static __always_inline void sc_tuple_swap(struct sc_tuple *out, const struct sc_tuple *t)
{
	out->netns = t->netns;
	out->family = t->family;
	out->lport = t->rport;
	out->rport = t->lport;
	out->pad = 0;
	__builtin_memcpy(out->laddr, t->raddr, 16);
	__builtin_memcpy(out->raddr, t->laddr, 16);
}

/* True when the local endpoint sorts before the remote one: that side is side 0. */
static __always_inline bool sc_tuple_is_canonical(const struct sc_tuple *t)
{
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 l = bpf_ntohl(t->laddr[i]), r = bpf_ntohl(t->raddr[i]);

		if (l != r)
			return l < r;
	}
	return t->lport <= t->rport;
}

/*
 * The state word of a connection (struct sc_flow, struct sc_pair; SC_FLOW_* bits). Demote SIDE for
 * good; true when SIDE is also marked to leave its sockhash, which is only while its peer has
 * never redirected into it (its ingress queue is empty and will stay so). A failed
 * compare-and-swap (the word moved meanwhile) just leaves the socket where it is.
 *
 * On the 5.10 level the bit is set with an atomic add, which is an OR because only SIDE's own
 * sends (serialised by its socket lock) set it, once, after finding it clear; nothing leaves.
 */
static __always_inline bool sc_state_demote(__u64 *state, int side, enum sc_level level)
{
	__u64 old;

	if (level == SC_510) {
		__sync_fetch_and_add(state, SC_FLOW_DEMOTED(side));
		return false;
	}
	old = __sync_fetch_and_or(state, SC_FLOW_DEMOTED(side)) | SC_FLOW_DEMOTED(side);

	if (old & (SC_FLOW_REDIRECTED(side ^ 1) | SC_FLOW_LEAVING(side)))
		return false;
	return __sync_val_compare_and_swap(state, old, old | SC_FLOW_LEAVING(side)) == old;
}

/*
 * Before SIDE redirects into its peer: false when the peer is leaving its sockhash, and SIDE must
 * take TCP instead. The first redirect announces itself with an atomic OR, so that the peer's
 * compare-and-swap in sc_state_demote sees it; once REDIRECTED is set the peer can never start
 * leaving, so ST (a plain read of the word) is enough for every later send.
 */
static __always_inline bool sc_state_may_redirect(__u64 *state, __u64 st, int side,
						   enum sc_level level)
{
	/* On the 5.10 level no socket leaves its sockhash: nothing to order against. */
	if (level == SC_510)
		return true;
	if (!(st & SC_FLOW_REDIRECTED(side)))
		st = __sync_fetch_and_or(state, SC_FLOW_REDIRECTED(side));
	return !(st & SC_FLOW_LEAVING(side ^ 1));
}

/* Key of the flow map and the side T is on. */
static __always_inline int sc_flow_key(struct sc_tuple *key, const struct sc_tuple *t)
{
	if (sc_tuple_is_canonical(t)) {
		*key = *t;
		return 0;
	}
	sc_tuple_swap(key, t);
	return 1;
}

#endif /* SC_LIB_COMMON_H */
