// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Carries bytes between two sockets of the pod without the TCP/IP stack, and keeps TCP's
 * guarantees while doing so.
 *
 * A message redirected with BPF_F_INGRESS lands in the peer's psock ingress queue. The kernel
 * charges it to the peer without looking at the peer's receive buffer (net/ipv4/tcp_bpf.c,
 * bpf_tcp_ingress), so a sender faster than its reader grows that queue until TCP memory runs
 * out and sends fail with ENOMEM, on this connection and others. The peer's queue cannot be read
 * from here, so each direction is bounded instead: a side may send at most
 * msg_unanswered_limit bytes through sk_msg while the other side sends nothing. Request/response
 * traffic answers long before that and stays accelerated; a bulk sender (or a reader that stopped
 * reading) crosses it, and that direction moves to the plain TCP path, where the peer's receive
 * window blocks the sender as usual.
 *
 * The move is one way and keeps byte order: the reader drains its psock ingress queue before its
 * TCP receive queue (tcp_bpf_recvmsg), and everything that went through sk_msg was queued before
 * the first byte that did not. Going back could let sk_msg bytes overtake TCP bytes still queued,
 * so a demoted direction never returns. For the same reason a failed redirect (no peer in the
 * sockhash) demotes too: that message takes the TCP path, and no later one may overtake it.
 *
 * A demoted socket that stays in the sockhash still pays for it on every send: the kernel's
 * sk_msg send path copies the bytes into its own pages and runs this program before handing
 * them to TCP, about a tenth more CPU per byte for a bulk stream than a plain socket. So a
 * demoted side leaves the sockhash when that is safe, which is when its peer has never
 * redirected a byte into it: leaving drops the socket's psock, and with it whatever waits in its
 * ingress queue. Uploads and other one-way streams qualify; a response streamed after a request
 * does not (the request went into the responder's queue, and whether it was read cannot be seen
 * from here). The two decisions race on two CPUs, so both go through the flow's state word: a
 * side sets REDIRECTED with an atomic OR before its first redirect and gives up redirecting if
 * the peer is LEAVING; a side sets LEAVING with a compare-and-swap only while the peer's
 * REDIRECTED is clear. Whichever atomic comes first, no byte is redirected into a socket that
 * leaves. The delete itself runs in sockops (an sk_msg program may not update a sockhash): the
 * leaving socket's next RTT callback, that is the first ACK of its bytes on TCP.
 */
#include "lib/common.h"

static __always_inline void sc_msg_tuple(struct sk_msg_md *msg, struct sc_tuple *t,
					 enum sc_level level)
{
	__u32 l6[4] = {msg->local_ip6[0], msg->local_ip6[1], msg->local_ip6[2], msg->local_ip6[3]};
	__u32 r6[4] = {msg->remote_ip6[0], msg->remote_ip6[1], msg->remote_ip6[2],
		       msg->remote_ip6[3]};

	t->netns = level == SC_FULL ? bpf_get_netns_cookie(msg) : 0;
	t->lport = msg->local_port;
	/* remote_port holds the port in network order in its upper 16 bits. */
	t->rport = bpf_ntohl(msg->remote_port);
	sc_tuple_addrs(t, msg->family, msg->local_ip4, msg->remote_ip4, l6, r6);
}

static __always_inline void sc_flow_demote(struct sc_flow *flow, int side, enum sc_counter why,
					   enum sc_level level)
{
	sc_count(why);
	if (sc_state_demote(&flow->state, side, level))
		sc_count(SC_C_msg_leave_marked);
}

/* Always SK_PASS: a verdict of SK_DROP would fail the app's send with EACCES. */
static __always_inline int sc_sk_msg_run(struct sk_msg_md *msg, enum sc_level level)
{
	struct sc_tuple self = {}, peer, key;
	const struct sc_policy *p;
	struct sc_flow *flow;
	__u32 size = msg->size;
	__u32 limit = SC_DEFAULT_UNANSWERED_LIMIT;
	__u64 st;
	__u32 slot;
	int side;

	sc_msg_tuple(msg, &self, level);
	side = sc_flow_key(&key, &self) & 1;
	flow = bpf_map_lookup_elem(&sc_flows, &key);
	if (!flow) {
		/* Flow map was full at establishment: never redirected, plain TCP throughout. */
		sc_count(SC_C_msg_pass_no_flow);
		goto pass;
	}
	st = flow->state;
	if (st & SC_FLOW_DEMOTED(side))
		goto pass;
	p = sc_live_policy(&slot);
	if (p)
		limit = p->msg_unanswered_limit;
	if (!p || !(p->flags & SC_F_ACCEL) || flow->unanswered[side] + size > limit) {
		/* Acceleration turned off, or this side is not being answered: plain TCP. */
		sc_flow_demote(flow, side, SC_C_msg_demote_unanswered, level);
		goto pass;
	}
	if (!sc_state_may_redirect(&flow->state, st, side, level)) {
		/* The peer is leaving the sockhash: TCP from here on, as for a missing peer. */
		sc_flow_demote(flow, side, SC_C_msg_demote_peer_left, level);
		goto pass;
	}
	sc_tuple_swap(&peer, &self);
	if (bpf_msg_redirect_hash(msg, &sc_sockhash, &peer, BPF_F_INGRESS) != SK_PASS) {
		/* The peer is not in the sockhash (outside the pod's cgroup, or the insert failed).
		 */
		sc_flow_demote(flow, side, SC_C_msg_demote_peer_missing, level);
		goto pass;
	}
	__sync_fetch_and_add(&flow->unanswered[side], size);
	if (flow->unanswered[side ^ 1]) {
		/* The peer sent since this side last did: a turn, for the destination's history
		 * (plain stores: a count lost to a race only blurs an average). */
		flow->bytes += flow->unanswered[side ^ 1];
		flow->turns++;
		flow->unanswered[side ^ 1] = 0;
	}
	sc_count(SC_C_msg_redirect);
	sc_count_add(SC_C_msg_redirect_bytes, size);
	return SK_PASS;
pass:
	sc_count(SC_C_msg_pass);
	sc_count_add(SC_C_msg_pass_bytes, size);
	return SK_PASS;
}

SEC("sk_msg")
int sc_sk_msg(struct sk_msg_md *msg)
{
	return sc_sk_msg_run(msg, SC_FULL);
}

/* Linux 5.10 to 5.14 (lib/common.h): no netns in the tuple, no leaving the sockhash. */
SEC("sk_msg")
int sc_sk_msg_510(struct sk_msg_md *msg)
{
	return sc_sk_msg_run(msg, SC_510);
}
