// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP life-cycle events of the pod's sockets:
 *  - the app's redirected socket sends its SYN: decide its acceleration, and publish its
 *    original destination with the verdict under its tuple (sc_handover), so that the proxy's
 *    side of the connection can find both;
 *  - the proxy's side is established: move the original destination into that socket's storage,
 *    where cgroup/getsockopt answers SO_ORIGINAL_DST from;
 *  - a socket whose two ends are both in this network namespace is established: put it in the
 *    sockhash (sk_msg then carries its bytes socket to socket) and create its flow entry;
 *  - a socket whose other end is elsewhere is established: pair it with that end through the
 *    node-wide maps if the other end is a socket of a pod of this node (struct sc_pair_key);
 *  - the proxy calls listen() on its inbound port: register the listening socket, where
 *    sk_lookup finds it to steer inbound connections (no fd passing, and a restarted proxy is
 *    picked up by itself);
 *  - a socket closes: delete what it published. Sockhashes drop closed sockets by themselves;
 *  - a demoted socket marked to leave the sockhash (bpf/skmsg.bpf.c) gets the ACK of its first
 *    bytes on TCP: take it out, so its sends no longer pay for the sk_msg path.
 *
 * A close callback (BPF_SOCK_OPS_STATE_CB) runs on every state change of the socket that asks for
 * it, so only sockets with something to delete ask: the end that created a flow entry or a pair
 * entry, one socket per connection. A handover entry needs none: the proxy's side deletes it when
 * it takes it.
 */
#include "lib/common.h"

#define BPF_TCP_ESTABLISHED 1
#define BPF_TCP_CLOSE	    7
#define EEXIST		    17

static __always_inline void sc_sockops_tuple(struct bpf_sock_ops *skops, struct sc_tuple *t,
					     enum sc_level level)
{
	__u32 l6[4] = {skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
		       skops->local_ip6[3]};
	__u32 r6[4] = {skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
		       skops->remote_ip6[3]};

	t->netns = level == SC_FULL ? bpf_get_netns_cookie(skops) : 0;
	t->lport = skops->local_port;
	/* remote_port holds the port in network order in its upper 16 bits. */
	t->rport = bpf_ntohl(skops->remote_port);
	sc_tuple_addrs(t, skops->family, skops->local_ip4, skops->remote_ip4, l6, r6);
}

/* The live policy if it can accelerate anything (SC_F_ACCEL), else NULL. */
static __always_inline const struct sc_policy *sc_accel_policy(__u32 *slot)
{
	const struct sc_policy *p = sc_live_policy(slot);

	return p && (p->flags & SC_F_ACCEL) ? p : NULL;
}

/* Is T's remote address one of the node's pods' (sc_xaddrs)? */
static __always_inline bool sc_peer_is_node_pod(const struct sc_tuple *t)
{
	struct sc_xaddr_key k = {.family = t->family};

	__builtin_memcpy(k.addr, t->raddr, 16);
	return bpf_map_lookup_elem(&sc_xaddrs, &k);
}

/* Enter T's local address, this pod's, in sc_xaddrs, where the other end of a connection with
 * a pod of this node looks for it. It is nearly always there already (and the lookup keeps it
 * from ageing out): only a miss writes. */
static __always_inline void sc_enter_own_addr(const struct sc_tuple *t)
{
	struct sc_xaddr_key k = {.family = t->family};
	__u8 one = 1;

	__builtin_memcpy(k.addr, t->laddr, 16);
	if (bpf_map_lookup_elem(&sc_xaddrs, &k))
		return;
	/* An LRU update fails only on memory allocation: this pod's connections with other pods
	 * of the node stay plain TCP until an update succeeds. */
	if (bpf_map_update_elem(&sc_xaddrs, &k, &one, BPF_ANY))
		sc_xcount(SC_X_errors__xpod_addrs);
}

/* Take the pairing hint of T's connection (sc_xhints), if a pod of this node left one. Most
 * connections have none: those with another node are told by sc_xaddrs, without a look into
 * the large hint map; a lookup that misses takes no bucket lock, a delete does; the delete
 * decides between two racing ends. */
static __always_inline bool sc_take_hint(const struct sc_tuple *t)
{
	struct sc_tuple hint = *t;

	if (!sc_peer_is_node_pod(t))
		return false;
	hint.netns = 0;
	return bpf_map_lookup_elem(&sc_xhints, &hint) && !bpf_map_delete_elem(&sc_xhints, &hint);
}

static __always_inline void sc_unwatch_rtt(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags & ~BPF_SOCK_OPS_RTT_CB_FLAG);
}

/* The accepted socket of a redirected connection takes the original destination from the app's
 * side: the app's tuple is this socket's, seen from the other end. The entry is deleted once
 * taken; nothing else reads it. */
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
	stored->flags = SC_ORIG_F_ACCEPTED |
			(o->flags & (SC_ORIG_F_ACCEL_MASK | SC_ORIG_F_VERDICT_MASK));
	bpf_map_delete_elem(&sc_handover, &app);
	sc_count(SC_C_sockops_handover_claimed);
}

/*
 * The destination of a connection for its history (struct sc_dest): what the app named when the
 * connect program stored it (O), else the address the socket is connected to, or accepted on
 * (PASSIVE).
 */
static __always_inline void sc_dest_of(struct sc_dest_key *k, const struct sc_tuple *t,
				       const struct sc_origdst *o, bool passive)
{
	k->netns = t->netns;
	if (o) {
		k->family = o->asked.family;
		k->port = bpf_ntohs(o->asked.port);
		__builtin_memcpy(k->addr, o->asked.addr, 16);
		return;
	}
	k->family = t->family;
	k->port = passive ? t->lport : t->rport;
	__builtin_memcpy(k->addr, passive ? t->laddr : t->raddr, 16);
}

/* The original destination stored on SK by connect or taken from the handover, or NULL. */
static __always_inline struct sc_origdst *sc_origdst_of(struct bpf_sock *sk)
{
	struct sc_origdst *o;

	if (!sk)
		return NULL;
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	if (!o || !(o->flags & (SC_ORIG_F_CLIENT | SC_ORIG_F_ACCEPTED)))
		return NULL;
	return o;
}

/* What the policy says of destination K before any history: SC_ORIG_F_ACCEL_ALWAYS,
 * SC_ORIG_F_ACCEL_NEVER, or 0 for adaptive. The service's rule first, then the port lists,
 * then the global mode. */
static __always_inline __u32 sc_accel_rule(const struct sc_policy *p, __u32 slot,
					   const struct sc_origdst *o, const struct sc_dest_key *k)
{
	if (o && (o->flags & SC_ORIG_F_ACCEL_MASK))
		return o->flags & (SC_ORIG_F_ACCEL_ALWAYS | SC_ORIG_F_ACCEL_NEVER);
	if ((p->flags & SC_F_ACCEL_ALWAYS_PORTS) && sc_port_in(slot, SC_PORT_ACCEL_ALWAYS, k->port))
		return SC_ORIG_F_ACCEL_ALWAYS;
	if ((p->flags & SC_F_ACCEL_NEVER_PORTS) && sc_port_in(slot, SC_PORT_ACCEL_NEVER, k->port))
		return SC_ORIG_F_ACCEL_NEVER;
	if (p->flags & SC_F_ACCEL_ALWAYS)
		return SC_ORIG_F_ACCEL_ALWAYS;
	if (p->flags & SC_F_ACCEL_NEVER)
		return SC_ORIG_F_ACCEL_NEVER;
	return 0;
}

enum sc_accel_verdict {
	SC_ACCEL_SKIP,	  /* plain TCP, nothing asked */
	SC_ACCEL_MEASURE, /* plain TCP, measured at close */
	SC_ACCEL_YES,	  /* into the sockhash, with a flow entry (measured at close) */
};

/* A destination whose history says its connections repay the psock: enough exchanges, each on
 * average smaller than what flow control lets one direction send unanswered (a bigger one would
 * be demoted at once and keep paying the sk_msg send path). */
static __always_inline bool sc_dest_pays(const struct sc_dest *d, const struct sc_policy *p)
{
	__u64 ex = d->exchanges;

	if (ex < (__u64)p->accel_min_exchanges * SC_ACCEL_SCALE)
		return false;
	return d->bytes * SC_ACCEL_SCALE < ex * 2 * p->msg_unanswered_limit;
}

/* The connecting end's decision (docs/architecture.md, "Adaptive acceleration"). */
static __always_inline enum sc_accel_verdict sc_accel_decide(const struct sc_policy *p, __u32 slot,
							     const struct sc_origdst *o,
							     const struct sc_dest_key *k)
{
	struct sc_dest *d;
	__u32 rule = sc_accel_rule(p, slot, o, k);

	if (rule == SC_ORIG_F_ACCEL_ALWAYS) {
		sc_count(SC_C_accel_policy_always);
		return SC_ACCEL_YES;
	}
	if (rule == SC_ORIG_F_ACCEL_NEVER) {
		sc_count(SC_C_accel_skip_policy_never);
		return SC_ACCEL_SKIP;
	}
	d = bpf_map_lookup_elem(&sc_dests, k);
	if (!d || d->samples < SC_ACCEL_LEARN) {
		sc_count(SC_C_accel_learning);
		return SC_ACCEL_YES;
	}
	if (sc_dest_pays(d, p)) {
		sc_count(SC_C_accel_long_lived);
		return SC_ACCEL_YES;
	}
	/* A plain store: under a race a probe comes a connection or two late. */
	if (d->skipped + 1 < SC_ACCEL_PROBE) {
		d->skipped++;
		sc_count(SC_C_accel_skip_short_lived);
		return SC_ACCEL_SKIP;
	}
	d->skipped = 0;
	sc_count(SC_C_accel_skip_measured);
	return SC_ACCEL_MEASURE;
}

/* The verdict of the app's socket O to the local end T, in O's flags (SC_ORIG_F_DECIDED...). No
 * verdict where the policy accelerates nothing: the established callbacks stop at that too. */
static __always_inline void sc_decide_at_connect(struct sc_origdst *o, const struct sc_tuple *t)
{
	const struct sc_policy *p;
	struct sc_dest_key dk = {};
	enum sc_accel_verdict v;
	__u32 slot;

	p = sc_accel_policy(&slot);
	if (!p)
		return;
	sc_dest_of(&dk, t, o, false);
	v = sc_accel_decide(p, slot, o, &dk);
	o->flags = (o->flags & ~SC_ORIG_F_VERDICT_MASK) | SC_ORIG_F_DECIDED |
		   (v == SC_ACCEL_YES ? SC_ORIG_F_VERDICT_YES : 0) |
		   (v == SC_ACCEL_MEASURE ? SC_ORIG_F_VERDICT_MEASURE : 0);
}

/* The verdict decided at connect (sc_decide_at_connect) of O, which has one. */
static __always_inline enum sc_accel_verdict sc_verdict_of(const struct sc_origdst *o)
{
	if (o->flags & SC_ORIG_F_VERDICT_YES)
		return SC_ACCEL_YES;
	return (o->flags & SC_ORIG_F_VERDICT_MEASURE) ? SC_ACCEL_MEASURE : SC_ACCEL_SKIP;
}

/*
 * The app's redirected socket sends its SYN: decide its acceleration now (its destination is
 * what it asked for, known since connect), and publish the original destination with the
 * verdict under its tuple (sc_handover). The proxy's side claims both when it is established, so
 * it follows a connection decided against without looking for a flow entry, and the app's side
 * only reads its verdict back.
 */
static __always_inline void sc_handle_connect(struct bpf_sock_ops *skops, enum sc_level level)
{
	struct sc_tuple t = {};
	struct sc_origdst *o;
	struct bpf_sock *sk = skops->sk;
	bool local;
	__u32 slot;

	if (!sk)
		return;
	sc_sockops_tuple(skops, &t, level);
	local = sc_tuple_is_local(&t);
	/* Towards another address, maybe a pod of this node that will ask this socket to pair:
	 * that pod's listener hints only to a node pod's address (sc_hint_peer). */
	if (!local && sc_accel_policy(&slot))
		sc_enter_own_addr(&t);
	o = bpf_sk_storage_get(&sc_origdst, sk, 0, 0);
	/* A connect balanced straight to an endpoint has no proxy to hand over to. */
	if (!o || (o->flags & (SC_ORIG_F_CLIENT | SC_ORIG_F_BYPASS)) != SC_ORIG_F_CLIENT)
		return;
	if (local)
		sc_decide_at_connect(o, &t);
	if (bpf_map_update_elem(&sc_handover, &t, o, BPF_ANY)) {
		/* The proxy will not learn the original destination and closes the connection. An
		 * LRU update fails only on memory allocation: an alarm. */
		sc_count(SC_C_errors__handover_full);
		return;
	}
	sc_count(SC_C_sockops_handover_stored);
}

/*
 * A closing connection's sample for its destination: the exchanges and bytes sk_msg carried
 * (TURNS and SKMSG_BYTES, from its flow or pair entry) and those that went by TCP, from this
 * socket's own counters.
 */
static __always_inline void sc_dest_measure(struct bpf_sock_ops *skops, const struct sc_dest_key *k,
					    __u32 turns, __u64 skmsg_bytes)
{
	__u32 in = skops->data_segs_in, out = skops->data_segs_out;
	__u64 ex = (in < out ? in : out) + ((__u64)turns + 1) / 2;
	__u64 bytes = skops->bytes_received + skops->bytes_acked + skmsg_bytes;
	struct sc_dest *d, fresh = {};

	if (ex > (1u << 20))
		ex = 1u << 20;
	ex *= SC_ACCEL_SCALE;
	sc_count(SC_C_sockops_dest_measured);
	d = bpf_map_lookup_elem(&sc_dests, k);
	if (!d) {
		fresh.exchanges = ex;
		fresh.bytes = bytes;
		fresh.samples = 1;
		/* An LRU update fails only on memory allocation: the sample is lost. */
		if (bpf_map_update_elem(&sc_dests, k, &fresh, BPF_NOEXIST))
			sc_count(SC_C_errors__dests_update);
		return;
	}
	/* Plain stores: two closes at once may lose a sample, never corrupt the entry. */
	d->exchanges = d->exchanges - (d->exchanges >> SC_ACCEL_DECAY) + (ex >> SC_ACCEL_DECAY);
	d->bytes = d->bytes - (d->bytes >> SC_ACCEL_DECAY) + (bytes >> SC_ACCEL_DECAY);
	if (d->samples < 255)
		d->samples++;
}

/* Into the sockhash with the flow entry (CREATE: this end makes the entry). */
static __always_inline void sc_accelerate(struct bpf_sock_ops *skops, const struct sc_tuple *t,
					  bool create, bool passive, enum sc_level level)
{
	struct sc_flow fresh = {};
	struct sc_tuple key;
	__u32 cb;
	long err;

	if (bpf_sock_hash_update(skops, &sc_sockhash, (void *)t, BPF_ANY)) {
		/* Fails open: this socket's peer will not find it and sends on plain TCP. */
		sc_count(SC_C_errors__sockhash_insert);
		return;
	}
	sc_count(SC_C_sockops_sockhash_insert);
	/* RTT samples come only once this socket's own bytes go by TCP, that is once it is
	 * demoted (sc_handle_rtt): while sk_msg carries them there are no ACKs and no callbacks.
	 * On the 5.10 level no socket leaves its sockhash: no samples needed. */
	cb = skops->bpf_sock_ops_cb_flags | (level == SC_FULL ? BPF_SOCK_OPS_RTT_CB_FLAG : 0);
	if (create) {
		/* The creator deletes the entry when it closes. */
		fresh.flags = passive ? SC_FLOW_F_PASSIVE : 0;
		sc_flow_key(&key, t);
		err = bpf_map_update_elem(&sc_flows, &key, &fresh, BPF_NOEXIST);
		if (!err)
			cb |= BPF_SOCK_OPS_STATE_CB_FLAG;
		else if ((int)err != -EEXIST) /* before 6.4 the error reaches us zero-extended */
			/* Fails open: with no flow entry, sk_msg never redirects this connection.
			 */
			sc_count(SC_C_errors__flow_full);
	}
	bpf_sock_ops_cb_flags_set(skops, cb);
}

/*
 * A local connection is established at one end. The connecting (active) end decides (an app's
 * redirected socket did at connect), and creates the flow entry when it accelerates; its
 * callback runs before it sends the ACK that establishes the passive end, so the passive end
 * follows by finding the entry, or by the verdict it claimed with the handover. A passive end
 * with no entry either was decided against, or its active end is not ours (outside the pod's
 * cgroup); it then accelerates only when its rule says always, creating the entry itself.
 */
static __always_inline void sc_local_established(struct bpf_sock_ops *skops,
						 const struct sc_tuple *t, bool passive,
						 enum sc_level level)
{
	const struct sc_policy *p;
	struct sc_origdst *o;
	struct sc_dest_key dk = {};
	struct sc_tuple key;
	enum sc_accel_verdict v;
	__u32 slot;

	p = sc_accel_policy(&slot);
	if (!p)
		return;
	o = sc_origdst_of(skops->sk);
	if (passive) {
		/* The app's end decided against at connect (the same rule as this end's): no entry
		 * to look for, nothing to create. */
		if (o && (o->flags & SC_ORIG_F_DECIDED) && !(o->flags & SC_ORIG_F_VERDICT_YES))
			return;
		sc_flow_key(&key, t);
		if (bpf_map_lookup_elem(&sc_flows, &key)) {
			sc_accelerate(skops, t, false, true, level);
			return;
		}
		sc_dest_of(&dk, t, o, true);
		if (sc_accel_rule(p, slot, o, &dk) == SC_ORIG_F_ACCEL_ALWAYS)
			sc_accelerate(skops, t, true, true, level);
		return;
	}
	if (o && (o->flags & SC_ORIG_F_DECIDED)) {
		v = sc_verdict_of(o);
	} else {
		sc_dest_of(&dk, t, o, false);
		v = sc_accel_decide(p, slot, o, &dk);
	}
	if (v == SC_ACCEL_YES)
		sc_accelerate(skops, t, true, false, level);
	else if (v == SC_ACCEL_MEASURE)
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
							 BPF_SOCK_OPS_STATE_CB_FLAG);
}

enum sc_rtt_verdict {
	SC_RTT_WATCH, /* still carried by sk_msg: keep asking */
	SC_RTT_STAY,  /* demoted, but its peer sent into it: it stays, stop asking */
	SC_RTT_LEAVE, /* marked to leave (sc_state_demote): take it out, stop asking */
};

/* What an RTT sample means for SIDE of the connection whose state word is STATE (NULL: its
 * entry is gone, and without it nothing may leave). LEAVING implies DEMOTED. */
static __always_inline enum sc_rtt_verdict sc_rtt_verdict(const __u64 *state, int side)
{
	if (!state)
		return SC_RTT_STAY;
	if (*state & SC_FLOW_LEAVING(side))
		return SC_RTT_LEAVE;
	return (*state & SC_FLOW_DEMOTED(side)) ? SC_RTT_STAY : SC_RTT_WATCH;
}

/*
 * An RTT sample of a socket in a sockhash: its own bytes go by TCP, because it is demoted or
 * closing (the ACK of its FIN), or for bytes sent before it was inserted. If sk_msg marked it to
 * leave (its peer never redirected into it, so its ingress queue is empty and stays so), take it
 * out of its sockhash, the pod's or the node's: the kernel then gives it back the plain TCP send
 * path. Only a socket still carried by sk_msg keeps asking for samples.
 */
static __always_inline void sc_handle_rtt(struct bpf_sock_ops *skops)
{
	struct sc_tuple t = {}, key;
	struct bpf_sock *sk = skops->sk;
	enum sc_rtt_verdict v;
	struct sc_flow *flow;
	struct sc_xsock *xs;
	struct sc_pair *pair;
	int side;

	if (skops->state != BPF_TCP_ESTABLISHED)
		goto out;
	sc_sockops_tuple(skops, &t, SC_FULL);
	if (sc_tuple_is_local(&t)) {
		side = sc_flow_key(&key, &t) & 1;
		flow = bpf_map_lookup_elem(&sc_flows, &key);
		v = sc_rtt_verdict(flow ? &flow->state : NULL, side);
		if (v == SC_RTT_WATCH)
			return;
		if (v != SC_RTT_LEAVE)
			goto out;
		if (bpf_map_delete_elem(&sc_sockhash, &t))
			/* Stays: its sends keep paying for the sk_msg path, nothing else. */
			sc_count(SC_C_errors__sockhash_leave);
		else
			sc_count(SC_C_sockops_sockhash_left);
		goto out;
	}
	xs = sk ? bpf_sk_storage_get(&sc_xsk, sk, 0, 0) : NULL;
	if (!xs)
		goto out;
	side = xs->side & 1;
	pair = bpf_map_lookup_elem(&sc_xpairs, &xs->pair);
	v = sc_rtt_verdict(pair ? &pair->state : NULL, side);
	if (v == SC_RTT_WATCH)
		return;
	if (v != SC_RTT_LEAVE)
		goto out;
	if (bpf_map_delete_elem(&sc_xsocks, &xs->self))
		sc_xcount(SC_X_errors__xpod_sockhash_leave);
	else
		sc_xcount(SC_X_xpod_sockhash_left);
out:
	sc_unwatch_rtt(skops);
}

/* The key of T's connection in sc_xpairs, and the side T is on (0: the canonical end). */
static __always_inline int sc_pair_key_of(struct sc_pair_key *k, const struct sc_tuple *t,
					  __u32 own_isn, __u32 peer_isn)
{
	k->family = t->family;
	k->pad = 0;
	if (sc_tuple_is_canonical(t)) {
		k->port[0] = t->lport;
		k->port[1] = t->rport;
		k->isn[0] = own_isn;
		k->isn[1] = peer_isn;
		__builtin_memcpy(k->addr[0], t->laddr, 16);
		__builtin_memcpy(k->addr[1], t->raddr, 16);
		return 0;
	}
	k->port[0] = t->rport;
	k->port[1] = t->lport;
	k->isn[0] = peer_isn;
	k->isn[1] = own_isn;
	__builtin_memcpy(k->addr[0], t->raddr, 16);
	__builtin_memcpy(k->addr[1], t->laddr, 16);
	return 1;
}

/*
 * The other end of T may be a socket of another pod of this node (the sidecar<->sidecar hop).
 * The active end always offers itself (it cannot know yet); the passive end joins only an offer
 * made with both of this connection's sequence numbers, so only the true peer ever joins.
 * Sequence numbers are read at establishment: snd_nxt and rcv_nxt are each ISN + 1 until data
 * moves (a TCP Fast Open connection carries data in its SYN, never pairs, and stays plain TCP).
 */
static __always_inline void sc_pair_up(struct bpf_sock_ops *skops, const struct sc_tuple *t,
				       bool passive)
{
	struct sc_pair_key key = {};
	struct sc_pair fresh = {}, *pair = NULL;
	const struct sc_policy *p;
	struct sc_xsock *xs;
	struct bpf_sock *sk = skops->sk;
	__u32 slot, cb;
	int side;

	p = sc_accel_policy(&slot);
	if (!sk || !p)
		return;
	if (!passive) {
		struct sc_dest_key dk = {};
		enum sc_accel_verdict v;
		struct sc_origdst *o;

		/* Only where a pod of this node asked (sc_xhints): never for a remote peer. */
		if (!sc_take_hint(t))
			return;
		/* The offering end decides as for a local connection; the passive end joins only
		 * an offer, so it follows. */
		o = sc_origdst_of(sk);
		sc_dest_of(&dk, t, o, false);
		v = sc_accel_decide(p, slot, o, &dk);
		if (v == SC_ACCEL_MEASURE)
			bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
								 BPF_SOCK_OPS_STATE_CB_FLAG);
		if (v != SC_ACCEL_YES)
			return;
	}
	side = sc_pair_key_of(&key, t, skops->snd_nxt - 1, skops->rcv_nxt - 1);
	if (passive) {
		pair = bpf_map_lookup_elem(&sc_xpairs, &key);
		/* No offer: the other end is not a socket of a pod of this node. */
		if (!pair || pair->ready || pair->collided || !pair->netns[side ^ 1])
			return;
	}
	xs = bpf_sk_storage_get(&sc_xsk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!xs) {
		sc_xcount(SC_X_errors__xpod_insert);
		return;
	}
	xs->pair = key;
	xs->self = *t;
	xs->side = side;
	xs->limit = p->msg_unanswered_limit;
	/* In the sockhash before the pair is announced: the peer never redirects to a socket
	 * that is not there yet. */
	if (bpf_sock_hash_update(skops, &sc_xsocks, (void *)t, BPF_ANY)) {
		sc_xcount(SC_X_errors__xpod_insert);
		bpf_sk_storage_delete(&sc_xsk, sk);
		return;
	}
	/* As for a local flow (sc_accelerate): RTT samples only once demoted (sc_handle_rtt). */
	cb = skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG;
	if (pair) {
		if (side)
			pair->netns[1] = t->netns;
		else
			pair->netns[0] = t->netns;
		/* A locked add orders the store above before it (and x86 keeps store order). */
		__sync_fetch_and_add(&pair->ready, 1);
		sc_xcount(SC_X_xpod_pair_ready);
		bpf_sock_ops_cb_flags_set(skops, cb);
		return;
	}
	if (side)
		fresh.netns[1] = t->netns;
	else
		fresh.netns[0] = t->netns;
	if (bpf_map_update_elem(&sc_xpairs, &key, &fresh, BPF_NOEXIST)) {
		/* Taken (see struct sc_pair_key): neither connection may use the entry. Or no
		 * memory. Either way this socket's sends find no entry of its own and take the TCP
		 * path, and it must not delete the entry of the other (it asks for no close
		 * callback). */
		pair = bpf_map_lookup_elem(&sc_xpairs, &key);
		if (pair) {
			pair->collided = 1;
			sc_xcount(SC_X_xpod_pair_collided);
		} else {
			sc_xcount(SC_X_errors__xpod_pair_full);
		}
		bpf_sk_storage_delete(&sc_xsk, sk);
		return;
	}
	/* The creator deletes the entry when it closes; the end that joins does not. */
	bpf_sock_ops_cb_flags_set(skops, cb | BPF_SOCK_OPS_STATE_CB_FLAG);
	sc_xcount(SC_X_xpod_pair_created);
}

/* A SYN from another address reached a listener of the pod (T is the request socket's tuple):
 * ask the active end, if it is a pod of this node, to offer itself for pairing. That end entered
 * its address in sc_xaddrs before its SYN left; this end enters its own before its SYN-ACK
 * leaves, for that end to look for the hint. */
static __always_inline void sc_hint_peer(struct bpf_sock_ops *skops, enum sc_level level)
{
	struct sc_tuple t = {}, hint;
	const struct sc_policy *p;
	__u8 one = 1;
	__u32 slot;

	p = sc_accel_policy(&slot);
	if (!p)
		return;
	sc_sockops_tuple(skops, &t, level);
	if (sc_tuple_is_local(&t))
		return;
	sc_enter_own_addr(&t);
	if (!sc_peer_is_node_pod(&t))
		return;
	sc_tuple_swap(&hint, &t);
	hint.netns = 0;
	if (!bpf_map_update_elem(&sc_xhints, &hint, &one, BPF_ANY))
		sc_xcount(SC_X_xpod_hint);
}

/*
 * On the 5.10 level pairing is off: the node's keys need the namespace, which sockops cannot read
 * there. A connection that a pod of this node offered to pair (its hint is here) is counted.
 */
static __always_inline void sc_pairing_off(const struct sc_tuple *t, bool passive)
{
	if (!passive && sc_take_hint(t))
		sc_count(SC_C_xpod_off_no_netns_cookie);
}

static __always_inline void sc_handle_established(struct bpf_sock_ops *skops, bool passive,
						  enum sc_level level)
{
	struct sc_tuple t = {};

	sc_sockops_tuple(skops, &t, level);
	if (passive)
		sc_claim_handover(skops, &t);
	if (sc_tuple_is_local(&t))
		sc_local_established(skops, &t, passive, level);
	else if (level == SC_FULL)
		sc_pair_up(skops, &t, passive);
	else
		sc_pairing_off(&t, passive);
}

/* Only sockets that asked (BPF_SOCK_OPS_STATE_CB_FLAG) get here: the creator of a local flow entry
 * or of a pair entry of two pods, and a local connection measured without acceleration (whose
 * active end asked). */
static __always_inline void sc_handle_close(struct bpf_sock_ops *skops, enum sc_level level)
{
	struct sc_tuple t = {}, key;
	struct sc_dest_key dk = {};
	struct sc_xsock *xs;
	struct sc_flow *flow;
	struct sc_pair *pair;
	struct bpf_sock *sk = skops->sk;

	sc_sockops_tuple(skops, &t, level);
	if (sc_tuple_is_local(&t)) {
		sc_flow_key(&key, &t);
		flow = bpf_map_lookup_elem(&sc_flows, &key);
		if (!flow) {
			sc_dest_of(&dk, &t, sc_origdst_of(sk), false);
			sc_dest_measure(skops, &dk, 0, 0);
		} else if (!(flow->flags & SC_FLOW_F_PASSIVE)) {
			sc_dest_of(&dk, &t, sc_origdst_of(sk), false);
			sc_dest_measure(skops, &dk, flow->turns,
					flow->bytes + flow->unanswered[0] + flow->unanswered[1]);
		}
		if (flow)
			bpf_map_delete_elem(&sc_flows, &key);
		return;
	}
	if (level != SC_FULL || !sk)
		return;
	/* The active end of a pod-to-pod hop: it offered the pair, or was measured without. */
	sc_dest_of(&dk, &t, sc_origdst_of(sk), false);
	xs = bpf_sk_storage_get(&sc_xsk, sk, 0, 0);
	pair = xs ? bpf_map_lookup_elem(&sc_xpairs, &xs->pair) : NULL;
	if (pair)
		sc_dest_measure(skops, &dk, pair->turns,
				pair->bytes + pair->unanswered[0] + pair->unanswered[1]);
	else
		sc_dest_measure(skops, &dk, 0, 0);
	if (xs)
		bpf_map_delete_elem(&sc_xpairs, &xs->pair);
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

static __always_inline int sc_sockops_run(struct bpf_sock_ops *skops, enum sc_level level)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sc_handle_connect(skops, level);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		sc_handle_established(skops, false, level);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sc_handle_established(skops, true, level);
		break;
	case BPF_SOCK_OPS_TIMEOUT_INIT:
		/* Asked for every SYN a listener answers (syncookies aside), before the SYN-ACK;
		 * reply stays 0, so the kernel keeps its own timeout. */
		if (!skops->is_fullsock)
			sc_hint_peer(skops, level);
		break;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		sc_handle_listen(skops);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		/* Asked for at the full level only. */
		if (level == SC_FULL)
			sc_handle_rtt(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			sc_handle_close(skops, level);
		break;
	}
	return 1;
}

SEC("sockops")
int sc_sockops(struct bpf_sock_ops *skops)
{
	return sc_sockops_run(skops, SC_FULL);
}

/* Linux 5.10 to 5.14 (lib/common.h): no netns in the tuple, no leaving, no pairing. */
SEC("sockops")
int sc_sockops_510(struct bpf_sock_ops *skops)
{
	return sc_sockops_run(skops, SC_510);
}
