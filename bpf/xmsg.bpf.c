// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The node's sk_msg program, attached to the node-wide sockhash sc_xsocks: carries the bytes of
 * a connection between two pods of the node (sidecar to sidecar) socket to socket. It uses node
 * maps only, since one program serves every pod; every pod loads the same code and the node
 * link runs whichever copy was attached last.
 *
 * Flow control, byte order and leaving the sockhash are those of skmsg.bpf.c (read its comment):
 * a bounded number of unanswered bytes per direction, a one-way move to TCP past it or on any
 * miss, and out of sc_xsocks for a demoted side its peer never sent to. One more
 * reason to move: the socket sends before its peer has joined the pair (sockops.bpf.c), as the
 * active end can when its first write races the passive end's establishment, or the pair entry
 * was found to be shared by two connections; that message goes by TCP and so must every later
 * one of that direction.
 *
 * Only at the full level (lib/common.h): without the netns cookie there is no pairing at all.
 */
#include "lib/common.h"

static __always_inline void sc_pair_demote(struct sc_pair *pair, int side, enum sc_node_counter why)
{
	sc_xcount(why);
	if (sc_state_demote(&pair->state, side, SC_FULL))
		sc_xcount(SC_X_xpod_msg_leave_marked);
}

/* Always SK_PASS: SK_DROP would fail the send with EACCES. */
SEC("sk_msg")
int sc_sk_msg_node(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	struct sc_xsock *xs;
	struct sc_pair *pair;
	struct sc_tuple peer;
	__u32 size = msg->size;
	__u64 st;
	int side;

	if (!sk)
		goto pass;
	xs = bpf_sk_storage_get(&sc_xsk, sk, 0, 0);
	if (!xs)
		goto pass;
	/* Gone when its creator closed (or aged out of the LRU): plain TCP from here on. */
	pair = bpf_map_lookup_elem(&sc_xpairs, &xs->pair);
	if (!pair)
		goto pass;
	side = xs->side & 1;
	st = pair->state;
	if (st & SC_FLOW_DEMOTED(side))
		goto pass;
	if (!pair->ready || pair->collided) {
		sc_pair_demote(pair, side, SC_X_xpod_msg_demote_unpaired);
		goto pass;
	}
	if (pair->unanswered[side] + size > xs->limit) {
		sc_pair_demote(pair, side, SC_X_xpod_msg_demote_unanswered);
		goto pass;
	}
	if (!sc_state_may_redirect(&pair->state, st, side, SC_FULL)) {
		sc_pair_demote(pair, side, SC_X_xpod_msg_demote_peer_left);
		goto pass;
	}
	sc_tuple_swap(&peer, &xs->self);
	peer.netns = pair->netns[side ^ 1];
	if (bpf_msg_redirect_hash(msg, &sc_xsocks, &peer, BPF_F_INGRESS) != SK_PASS) {
		sc_pair_demote(pair, side, SC_X_xpod_msg_demote_peer_missing);
		goto pass;
	}
	__sync_fetch_and_add(&pair->unanswered[side], size);
	if (pair->unanswered[side ^ 1]) {
		/* A turn, for the destination's history (plain stores, as in skmsg.bpf.c). */
		pair->bytes += pair->unanswered[side ^ 1];
		pair->turns++;
		pair->unanswered[side ^ 1] = 0;
	}
	sc_xcount(SC_X_xpod_msg_redirect);
	sc_xcount_add(SC_X_xpod_msg_redirect_bytes, size);
	return SK_PASS;
pass:
	sc_xcount(SC_X_xpod_msg_pass);
	sc_xcount_add(SC_X_xpod_msg_pass_bytes, size);
	return SK_PASS;
}
