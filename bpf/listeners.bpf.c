// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registering a proxy listener that was already listening.
 *
 * sockops registers the proxy's inbound listener in sc_listeners when the proxy calls listen()
 * (sockops.bpf.c). A proxy that listened before the programs were attached, or before a cleanup
 * and a new run made a new sc_listeners, or on a port that the policy made the inbound port only
 * later, never gets that callback again: sk_lookup would find no listener and inbound connections
 * would bypass the proxy (fail open) or be refused (fail closed) although the proxy is up.
 *
 * So the daemon looks for such sockets itself, at attach, at adoption and at each policy change
 * (interceptor/listeners.c): sock_diag lists the pod's listening sockets on the inbound port,
 * and for each one it runs this program once with BPF_PROG_TEST_RUN, in the pod's network
 * namespace. The program finds the socket with bpf_sk_lookup_tcp (the test packet's device is the
 * loopback of the namespace the daemon is in) and puts it into sc_listeners, which a tc program
 * may do since Linux 5.10. Neither needs a tracing program (a socket iterator would, and tracing
 * programs are refused on locked-down kernels) nor the proxy's file descriptors.
 *
 * The daemon asks only for sockets of the pod's cgroup (or of a descendant: the proxy's
 * container), the sockets whose listen() sockops sees: sock_diag tells each socket's cgroup, and
 * a tc program may not read a socket's cgroup ancestry itself.
 */
#include "lib/common.h"

#define ETH_HLEN 14

static __always_inline struct bpf_sock *sc_find_listener(struct __sk_buff *skb,
							 const struct sc_listen_req *req)
{
	struct bpf_sock_tuple t = {};

	if (req->family == AF_INET) {
		t.ipv4.daddr = req->addr[0];
		t.ipv4.dport = bpf_htons(req->port);
		return bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	}
	__builtin_memcpy(t.ipv6.daddr, req->addr, 16);
	t.ipv6.dport = bpf_htons(req->port);
	return bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
}

/* Run by the daemon only, through BPF_PROG_TEST_RUN; never attached to a device. */
SEC("tc")
int sc_listen_scan(struct __sk_buff *skb)
{
	struct sc_listener_key key = {};
	struct sc_listen_req req;
	struct bpf_sock *sk;
	long err;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &req, sizeof(req)) ||
	    (req.family != AF_INET && req.family != AF_INET6) || !req.port || req.port > 0xffff)
		return SC_LISTEN_BAD_REQUEST;
	sk = sc_find_listener(skb, &req);
	/* A connection the lookup found instead would be no listener (it cannot be: the lookup's
	 * source is the unspecified address, port 0). */
	if (!sk)
		return SC_LISTEN_NOT_FOUND;
	if (sk->state != 10 /* TCP_LISTEN */) {
		bpf_sk_release(sk);
		return SC_LISTEN_NOT_FOUND;
	}
	key.family = sk->family;
	key.port = req.port;
	err = bpf_map_update_elem(&sc_listeners, &key, sk, BPF_ANY);
	bpf_sk_release(sk);
	if (err) {
		/* Inbound steering fails open or closed per proxy.failOpen until the proxy
		 * listens again; the daemon says so. */
		sc_count(SC_C_errors__listener_scan);
		return SC_LISTEN_MAP_ERROR | (-(int)err << 8);
	}
	sc_count(SC_C_listener_scan_registered);
	return SC_LISTEN_REGISTERED;
}
