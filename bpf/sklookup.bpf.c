// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Inbound steering at socket lookup: a new TCP connection arriving in the pod's network
 * namespace for an application port is handed to the proxy's inbound listener. No packet is
 * rewritten and nothing is kept per flow; the accepted socket's local address is the original
 * destination.
 *
 * Connections that arrive over loopback are left alone: that is the proxy reaching the app
 * (from 127.0.0.6, Istio's convention) and the app reaching itself, which iptables' PREROUTING
 * never sees either.
 */
#include "lib/common.h"

#define LOOPBACK_IFINDEX 1

SEC("sk_lookup")
int sc_sk_lookup(struct bpf_sk_lookup *ctx)
{
	struct sc_listener_key key = {};
	enum sc_counter verdict;
	const struct sc_policy *p;
	struct bpf_sock *sk;
	__u32 slot, port = ctx->local_port;
	long err;

	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	/* No connection comes from port 0: this is sc_listen_scan's own lookup of the proxy's
	 * listener (listeners.bpf.c), not a decision to count. */
	if (!ctx->remote_port)
		return SK_PASS;
	p = sc_live_policy(&slot);
	if (!p || !(p->flags & SC_F_INBOUND))
		return SK_PASS;
	if (ctx->ingress_ifindex == LOOPBACK_IFINDEX) {
		sc_count(SC_C_inbound_skip_local);
		return SK_PASS;
	}
	/* Excluded ports include the proxy's admin ports (health, status, metrics). */
	verdict = sc_inbound_port_verdict(p, slot, port);
	if (verdict != SC_C_inbound_redirect) {
		sc_count(verdict);
		return SK_PASS;
	}

	key.family = ctx->family;
	key.port = p->inbound_port;
	sk = bpf_map_lookup_elem(&sc_listeners, &key);
	if (!sk && ctx->family == AF_INET) {
		/* A dual-stack [::] listener accepts IPv4 too. */
		key.family = AF_INET6;
		sk = bpf_map_lookup_elem(&sc_listeners, &key);
	}
	if (!sk)
		goto no_proxy;
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err) {
		/* E.g. an IPv6-only listener for an IPv4 connection. */
		sc_count(SC_C_errors__sk_assign);
		goto no_proxy;
	}
	sc_count(SC_C_inbound_redirect);
	return SK_PASS;

no_proxy:
	/* Decided per connection: the moment the proxy listens again, steering resumes. */
	if (p->flags & SC_F_FAIL_OPEN) {
		sc_count(SC_C_inbound_fail_open);
		return SK_PASS; /* the app's own listener, if any, takes it */
	}
	sc_count(SC_C_inbound_fail_closed);
	/* The lookup fails and the client gets a reset: strict mode never reaches the app
	 * unproxied. */
	return SK_DROP;
}
