// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP life-cycle events of the pod's sockets:
 *  - the app's redirected socket sends its SYN: publish its original destination under its
 *    tuple (sc_handover), so that the proxy's side of the connection can find it;
 *  - the proxy's side is established: copy the original destination into that socket's storage,
 *    where cgroup/getsockopt answers SO_ORIGINAL_DST from;
 *  - a socket whose two ends are both in this network namespace is established: put it in the
 *    sockhash (sk_msg then carries its bytes socket to socket) and create its flow entry;
 *  - the proxy calls listen() on its inbound port: register the listening socket, where
 *    sk_lookup finds it to steer inbound connections (no fd passing, and a restarted proxy is
 *    picked up by itself);
 *  - a socket closes: delete what it published. Sockhashes drop closed sockets by themselves.
 */
#include "lib/common.h"

#define BPF_TCP_CLOSE 7

static __always_inline void sc_sockops_tuple(struct bpf_sock_ops *skops, struct sc_tuple *t)
{
	__u32 l6[4] = {skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
		       skops->local_ip6[3]};
	__u32 r6[4] = {skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
		       skops->remote_ip6[3]};

	t->netns = bpf_get_netns_cookie(skops);
	t->lport = skops->local_port;
	/* remote_port holds the port in network order in its upper 16 bits. */
	t->rport = bpf_ntohl(skops->remote_port);
	sc_tuple_addrs(t, skops->family, skops->local_ip4, skops->remote_ip4, l6, r6);
}

/* Ask for BPF_SOCK_OPS_STATE_CB on this socket, so its state is deleted when it closes. */
static __always_inline void sc_watch_close(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

static __always_inline void sc_handle_connect(struct bpf_sock_ops *skops)
{
	struct sc_tuple t = {};
	struct sc_origdst *o;
	struct bpf_sock *sk = skops->sk;

	if (!sk)
		return;
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	/* A connect balanced straight to an endpoint has no proxy to hand over to. */
	if (!o || (o->flags & (SC_ORIG_F_CLIENT | SC_ORIG_F_BYPASS)) != SC_ORIG_F_CLIENT)
		return;
	sc_sockops_tuple(skops, &t);
	if (bpf_map_update_elem(&sc_handover, &t, o, BPF_ANY)) {
		/* The proxy will not learn the original destination and closes the connection:
		 * the map is sized for the pod's concurrent connections, so this is an alarm. */
		sc_count(SC_C_errors__handover_full);
		return;
	}
	sc_count(SC_C_sockops_handover_stored);
	sc_watch_close(skops);
}

/* The accepted socket of a redirected connection takes the original destination from the app's
 * side: the app's tuple is this socket's, seen from the other end. */
static __always_inline void sc_claim_handover(struct bpf_sock_ops *skops, const struct sc_tuple *t)
{
	struct sc_tuple app;
	struct sc_origdst *o, *stored;
	struct bpf_sock *sk = skops->sk;

	if (!sk)
		return;
	sc_tuple_swap(&app, t);
	o = bpf_map_lookup_elem(&sc_handover, &app);
	if (!o)
		return;
	stored = bpf_sk_storage_get(&sc_origdst, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!stored) {
		sc_count(SC_C_errors__origdst_storage);
		return;
	}
	*stored = *o;
	stored->flags = SC_ORIG_F_ACCEPTED;
	sc_count(SC_C_sockops_handover_claimed);
}

static __always_inline void sc_accelerate(struct bpf_sock_ops *skops, const struct sc_tuple *t)
{
	const struct sc_policy *p;
	struct sc_flow fresh = {};
	struct sc_tuple key;
	__u32 slot;
	long err;

	p = sc_live_policy(&slot);
	if (!p || !(p->flags & SC_F_ACCEL) || !sc_tuple_is_local(t))
		return;
	if (bpf_sock_hash_update(skops, &sc_sockhash, (void *)t, BPF_ANY)) {
		/* Fails open: this socket's peer will not find it and sends on plain TCP. */
		sc_count(SC_C_errors__sockhash_insert);
		return;
	}
	sc_count(SC_C_sockops_sockhash_insert);
	sc_watch_close(skops);
	/* Whichever end is established first creates the entry; the other finds it there. */
	sc_flow_key(&key, t);
	err = bpf_map_update_elem(&sc_flows, &key, &fresh, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */)
		/* Fails open: with no flow entry, sk_msg never redirects this connection. */
		sc_count(SC_C_errors__flow_full);
}

static __always_inline void sc_handle_established(struct bpf_sock_ops *skops, bool passive)
{
	struct sc_tuple t = {};

	sc_sockops_tuple(skops, &t);
	if (passive)
		sc_claim_handover(skops, &t);
	sc_accelerate(skops, &t);
}

static __always_inline void sc_handle_close(struct bpf_sock_ops *skops)
{
	struct sc_tuple t = {}, key;
	struct sc_origdst *o;
	struct bpf_sock *sk = skops->sk;

	sc_sockops_tuple(skops, &t);
	sc_flow_key(&key, &t);
	bpf_map_delete_elem(&sc_flows, &key);
	if (!sk)
		return;
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	if (o && (o->flags & (SC_ORIG_F_CLIENT | SC_ORIG_F_BYPASS)) == SC_ORIG_F_CLIENT)
		bpf_map_delete_elem(&sc_handover, &t);
}

static __always_inline void sc_handle_listen(struct bpf_sock_ops *skops)
{
	struct sc_listener_key key = {
		.family = skops->family,
		.port = skops->local_port,
	};
	const struct sc_policy *p;
	__u32 slot;

	p = sc_live_policy(&slot);
	if (!p || key.port != p->inbound_port)
		return;
	if (bpf_sock_hash_update(skops, &sc_listeners, &key, BPF_ANY)) {
		/* Inbound steering fails open or closed per proxy.failOpen until the proxy
		 * listens again. */
		sc_count(SC_C_errors__listener_register);
		return;
	}
	sc_count(SC_C_sockops_listener_registered);
}

SEC("sockops")
int sc_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sc_handle_connect(skops);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		sc_handle_established(skops, false);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sc_handle_established(skops, true);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		sc_handle_listen(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			sc_handle_close(skops);
		break;
	}
	return 1;
}
