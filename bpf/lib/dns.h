/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DNS capture, shared by the connect programs (connected UDP and TCP sockets) and the
 * sendmsg/recvmsg programs of dns.bpf.c (UDP datagrams sent unconnected): whether a query to
 * port 53 goes to the proxy's DNS listener on loopback, per the live policy.
 */
#ifndef SC_LIB_DNS_H
#define SC_LIB_DNS_H

#include "lib/common.h"

#define SOCK_DGRAM  2
#define IPPROTO_UDP 17
#define SC_DNS_PORT 53

enum sc_dns_verdict {
	SC_DNS_NO,	/* not captured: the socket goes on as if there were no DNS capture */
	SC_DNS_CAPTURE, /* to *target, the proxy's DNS listener */
	SC_DNS_REFUSE,	/* proxy.failOpen false and nothing listens on dns.port */
};

/* The proxy's listener at PORT on loopback for FAMILY, as the socket would reach it. */
static __always_inline void sc_proxy_addr(struct sc_addr *a, __u32 family, __u16 port)
{
	a->family = family;
	a->port = bpf_htons(port);
	if (family == AF_INET)
		a->addr[0] = bpf_htonl(0x7f000001);
	else
		a->addr[3] = bpf_htonl(1);
}

/* Is a TCP socket listening, or a UDP socket bound, at PX? Looked up on every decision. */
static __always_inline bool sc_proxy_bound(struct bpf_sock_addr *ctx, const struct sc_addr *px,
					   bool udp)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;

	if (px->family == AF_INET) {
		t.ipv4.saddr = px->addr[0];
		t.ipv4.daddr = px->addr[0];
		t.ipv4.dport = px->port;
		len = sizeof(t.ipv4);
	} else {
		t.ipv6.saddr[3] = px->addr[3];
		t.ipv6.daddr[3] = px->addr[3];
		t.ipv6.dport = px->port;
		len = sizeof(t.ipv6);
	}
	if (udp)
		sk = bpf_sk_lookup_udp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_tcp(ctx, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

static __always_inline bool sc_is_udp(const struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_DGRAM && ctx->protocol == IPPROTO_UDP;
}

/* The counter of a query to DST (port 53): the reason not to capture it, or its captured_*. */
static __always_inline enum sc_counter sc_dns_decision(const struct sc_policy *p, __u32 slot,
						       const struct sc_addr *dst, bool udp)
{
	__u64 ugid = bpf_get_current_uid_gid();
	bool v6 = dst->family == AF_INET6;

	if (!(p->flags & SC_F_DNS_CAPTURE))
		return SC_C_dns_skip_capture_off;
	/* The proxy's own upstream queries must reach the server, or they would loop. */
	if ((__u32)ugid == p->proxy_uid)
		return SC_C_dns_skip_proxy_uid;
	if (p->proxy_gid != SC_ID_NONE && (__u32)(ugid >> 32) == p->proxy_gid)
		return SC_C_dns_skip_proxy_gid;
	if (!(p->flags & SC_F_DNS_ALL_SERVERS) &&
	    !sc_cidr_in(slot, v6 ? SC_CIDR_DNS_SERVER6 : SC_CIDR_DNS_SERVER4, dst->addr, v6))
		return SC_C_dns_skip_server_not_listed;
	if (udp)
		return v6 ? SC_C_dns_captured_udp6 : SC_C_dns_captured_udp4;
	return v6 ? SC_C_dns_captured_tcp6 : SC_C_dns_captured_tcp4;
}

static __always_inline bool sc_dns_counter_captures(enum sc_counter c)
{
	return c == SC_C_dns_captured_udp4 || c == SC_C_dns_captured_udp6 ||
	       c == SC_C_dns_captured_tcp4 || c == SC_C_dns_captured_tcp6;
}

/*
 * A query to DST over UDP or TCP: SC_DNS_CAPTURE with *TARGET the proxy's DNS listener and
 * *CAPTURED the counter the caller adds once the query is on its way, or not. Anything but port
 * 53 is not a query. Each reason not to capture is counted here. When nothing listens on
 * dns.port the query fails open (to the server it was sent to) or closed, per proxy.failOpen,
 * and the next query looks again.
 */
static __always_inline enum sc_dns_verdict
sc_dns_query(struct bpf_sock_addr *ctx, const struct sc_policy *p, __u32 slot,
	     const struct sc_addr *dst, bool udp, struct sc_addr *target, enum sc_counter *captured)
{
	enum sc_counter c;

	if (dst->port != bpf_htons(SC_DNS_PORT))
		return SC_DNS_NO;
	c = sc_dns_decision(p, slot, dst, udp);
	if (!sc_dns_counter_captures(c)) {
		sc_count(c);
		return SC_DNS_NO;
	}
	sc_proxy_addr(target, dst->family, p->dns_port);
	if (!sc_proxy_bound(ctx, target, udp)) {
		if (!(p->flags & SC_F_FAIL_OPEN)) {
			sc_count(SC_C_dns_fail_closed);
			return SC_DNS_REFUSE;
		}
		sc_count(SC_C_dns_fail_open);
		return SC_DNS_NO;
	}
	*captured = c;
	return SC_DNS_CAPTURE;
}

/* What a captured DNS socket remembers: the server asked, and the proxy port it went to. */
static __always_inline void sc_dns_remember(struct sc_origdst *o, const struct sc_addr *dst,
					    const struct sc_addr *target)
{
	o->asked = *dst;
	o->dns_port = target->port;
	o->flags |= SC_ORIG_F_DNS;
}

#endif /* SC_LIB_DNS_H */
