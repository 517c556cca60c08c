// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Outbound redirection and connect-time load balancing, and what the app sees of its peer.
 *
 * connect4/6 decide per connect. A connect to a service VIP:port picks an endpoint by the
 * service's policy; the connection then goes through the proxy (sidecar: redirect; the proxy
 * learns the endpoint or the VIP from SO_ORIGINAL_DST) or straight to the endpoint (sidecar:
 * bypass, and always for the proxy's own connects). Any other connect is redirected to the
 * proxy's outbound port on loopback when the policy says so. What the app asked for and what the
 * proxy must be told are kept in the socket's own storage, freed with the socket.
 *
 * Nothing is cached between connects: whether the proxy is listening is looked up on each one,
 * so interception resumes the moment the proxy listens again.
 */
#include "lib/dns.h"

#define EPERM_VERDICT 0 /* a cgroup sock_addr program returning 0 fails connect() with EPERM */
#define E2BIG	      7

enum sc_action {
	SC_LEAVE,   /* connect to what the app asked for */
	SC_REWRITE, /* connect to *target */
	SC_REFUSE,  /* fail the connect (proxy.failOpen: false and no proxy) */
};

/* Counter index of the reason not to redirect, or SC_C_connect_redirect. */
static __always_inline enum sc_counter sc_outbound_decision(const struct sc_policy *p, __u32 slot,
							    const struct sc_addr *dst, __u64 ugid)
{
	__u16 port = bpf_ntohs(dst->port);
	bool v6 = dst->family == AF_INET6;

	/* The proxy's own connections must reach their destination, or they would loop. */
	if ((__u32)ugid == p->proxy_uid)
		return SC_C_connect_skip_proxy_uid;
	if (p->proxy_gid != SC_ID_NONE && (__u32)(ugid >> 32) == p->proxy_gid)
		return SC_C_connect_skip_proxy_gid;
	if (v6 ? sc_v6_is_local(dst->addr) : sc_v4_is_local(dst->addr[0]))
		return SC_C_connect_skip_loopback;
	if (port == p->outbound_port || port == p->inbound_port)
		return SC_C_connect_skip_proxy_port;
	if (sc_port_in(slot, SC_PORT_OUT_EXCLUDE, port))
		return SC_C_connect_skip_excluded_port;
	if (!(p->flags & SC_F_OUT_ALL_PORTS) && !sc_port_in(slot, SC_PORT_OUT_INCLUDE, port))
		return SC_C_connect_skip_port_not_included;
	/* Excluded ranges win over included ones whatever their lengths, as in istio-iptables.
	 * A lookup whose answer the policy already gives (no excluded range of the family, or
	 * everything included) is not made. */
	if (!(p->flags & (v6 ? SC_F_OUT_EXCL_NONE6 : SC_F_OUT_EXCL_NONE4)) &&
	    sc_cidr_in(slot, v6 ? SC_CIDR_OUT_EXCLUDE6 : SC_CIDR_OUT_EXCLUDE4, dst->addr, v6))
		return SC_C_connect_skip_excluded_cidr;
	if (!(p->flags & (v6 ? SC_F_OUT_INCL_ALL6 : SC_F_OUT_INCL_ALL4)) &&
	    !sc_cidr_in(slot, v6 ? SC_CIDR_OUT_INCLUDE6 : SC_CIDR_OUT_INCLUDE4, dst->addr, v6))
		return SC_C_connect_skip_cidr_not_included;
	return SC_C_connect_redirect;
}

static __always_inline void sc_count_pick(const struct sc_svc *svc, const struct sc_addr *ep)
{
	struct sc_pick_key k = {
		.svc = svc->id,
		.family = ep->family,
		.port = bpf_ntohs(ep->port),
	};
	__u64 one = 1, *n;
	long err;

	__builtin_memcpy(k.addr, ep->addr, 16);
	n = bpf_map_lookup_elem(&sc_picks, &k);
	if (n) {
		*n += 1;
		return;
	}
	err = bpf_map_update_elem(&sc_picks, &k, &one, BPF_NOEXIST);
	/* Full: this endpoint's picks go uncounted; the connect itself goes on. (Another CPU
	 * adding the same row first, -EEXIST, loses one pick.) Before 6.4 the error reaches us
	 * zero-extended: compare it as an int. */
	if ((int)err == -E2BIG)
		sc_count(SC_C_errors__picks_full);
}

/* The endpoint of SVC for this connect, or NULL when the tables are inconsistent. */
static __always_inline const struct sc_addr *sc_pick(struct bpf_sock_addr *ctx, struct sc_svc *svc,
						     __u32 slot, enum sc_level level)
{
	struct sc_table_key tk = {.slot = slot, .svc = svc->id};
	struct sc_ep_key ek = {.slot = slot, .svc = svc->id};
	struct sc_table_chunk *chunk;
	__u32 m = svc->table_size, i;
	__u64 client;

	if (!m)
		return NULL;
	switch (svc->balance) {
	case SC_LB_ROUND_ROBIN:
		if (level == SC_FULL) {
			i = __sync_fetch_and_add(&svc->rr, 1) % m;
		} else {
			/* Without fetching atomics two CPUs may take the same turn: round robin
			 * is then approximate. */
			i = svc->rr % m;
			__sync_fetch_and_add(&svc->rr, 1);
		}
		break;
	case SC_LB_MAGLEV:
		/* A client is a process in a network namespace: it keeps its endpoint. */
		client = bpf_get_netns_cookie(ctx) * 0x9e3779b97f4a7c15ULL ^
			 (bpf_get_current_pid_tgid() >> 32);
		i = sc_mix64(client) % m;
		break;
	default:
		i = bpf_get_prandom_u32() % m;
		break;
	}
	tk.chunk = i / SC_TABLE_CHUNK;
	chunk = bpf_map_lookup_elem(&sc_lbtable, &tk);
	if (!chunk)
		return NULL;
	ek.index = chunk->ep[i & (SC_TABLE_CHUNK - 1)];
	return bpf_map_lookup_elem(&sc_endpoints, &ek);
}

static __always_inline struct sc_svc *sc_service(__u32 slot, const struct sc_addr *dst)
{
	struct sc_svc_key k = {
		.slot = slot,
		.family = dst->family,
		.port = bpf_ntohs(dst->port),
	};

	__builtin_memcpy(k.vip, dst->addr, 16);
	return bpf_map_lookup_elem(&sc_services, &k);
}

/*
 * Decide one connect to DST (what the app asked for). On SC_REWRITE, *target is where the
 * connect goes and *od what to remember on the socket.
 */
static __always_inline enum sc_action sc_outbound(struct bpf_sock_addr *ctx,
						  const struct sc_addr *dst, struct sc_addr *target,
						  struct sc_origdst *od, bool *fail_open,
						  enum sc_level level)
{
	__u64 ugid = bpf_get_current_uid_gid();
	bool tcp = ctx->type == SOCK_STREAM && ctx->protocol == IPPROTO_TCP;
	enum sc_counter verdict, captured;
	const struct sc_addr *ep = NULL;
	const struct sc_policy *p;
	struct sc_svc *svc;
	__u32 slot;

	/* Connected UDP is looked at for DNS capture only. */
	if (!tcp && !(sc_is_udp(ctx) && dst->port == bpf_htons(SC_DNS_PORT))) {
		sc_count(SC_C_connect_skip_not_tcp);
		return SC_LEAVE;
	}
	p = sc_live_policy(&slot);
	if (!p) {
		/* No policy yet (daemon starting): fail open. */
		sc_count(SC_C_errors__no_policy);
		return SC_LEAVE;
	}
	od->asked = *dst;
	od->flags = SC_ORIG_F_CLIENT;
	*fail_open = p->flags & SC_F_FAIL_OPEN;

	/* A DNS query goes to the proxy's DNS listener before any other policy applies; one the
	 * DNS capture leaves alone carries on as any other connect (TCP) or is left (UDP). */
	switch (sc_dns_query(ctx, p, slot, dst, !tcp, target, &captured)) {
	case SC_DNS_REFUSE:
		return SC_REFUSE;
	case SC_DNS_CAPTURE:
		od->orig = *dst;
		sc_dns_remember(od, dst, target);
		sc_count(captured);
		return SC_REWRITE;
	default:
		break;
	}
	if (!tcp) {
		sc_count(SC_C_connect_skip_not_tcp);
		return SC_LEAVE;
	}

	svc = sc_service(slot, dst);
	if (svc) {
		ep = sc_pick(ctx, svc, slot, level);
		if (!ep) {
			/* Fails open towards the VIP, which nothing answers: an alarm. */
			sc_count(SC_C_errors__lb_table);
			return SC_LEAVE;
		}
		sc_count_pick(svc, ep);
		od->orig = *ep;
		*target = *ep;
		od->flags |= SC_ORIG_F_BYPASS | (svc->flags & SC_ORIG_F_ACCEL_MASK);
		if ((__u32)ugid == p->proxy_uid ||
		    (p->proxy_gid != SC_ID_NONE && (__u32)(ugid >> 32) == p->proxy_gid)) {
			sc_count(SC_C_lb_proxy_direct);
			return SC_REWRITE;
		}
		if (svc->flags & SC_SVC_F_BYPASS) {
			sc_count(SC_C_lb_bypass);
			return SC_REWRITE;
		}
		if (p->flags & SC_F_ORIG_SERVICE)
			od->orig = *dst;
	} else {
		verdict = sc_outbound_decision(p, slot, dst, ugid);
		if (verdict != SC_C_connect_redirect) {
			sc_count(verdict);
			return SC_LEAVE;
		}
		od->orig = *dst;
	}

	sc_proxy_addr(target, dst->family, p->outbound_port);
	if (!sc_proxy_bound(ctx, target, false)) {
		if (!(p->flags & SC_F_FAIL_OPEN)) {
			sc_count(SC_C_connect_fail_closed);
			return SC_REFUSE;
		}
		/* No proxy: the connection goes where it was going (to the endpoint for a
		 * service), and the next connect looks again. */
		sc_count(SC_C_connect_fail_open);
		if (!ep)
			return SC_LEAVE;
		*target = *ep;
		return SC_REWRITE;
	}
	od->flags &= ~SC_ORIG_F_BYPASS;
	sc_count(svc ? SC_C_lb_redirect : SC_C_connect_redirect);
	return SC_REWRITE;
}

/*
 * Remember OD on the socket, then say what the connect does. Without the storage the proxy could
 * not learn where to go, so a redirect cannot be made: proxy.failOpen says whether the connect
 * then goes where the app asked (SC_LEAVE) or fails (SC_REFUSE). A balanced connect straight to
 * its endpoint needs no storage to work: it goes on (getpeername then shows the endpoint).
 */
static __always_inline enum sc_action sc_remember(struct bpf_sock_addr *ctx,
						  const struct sc_origdst *od, bool fail_open)
{
	struct sc_origdst *stored;

	stored = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (stored) {
		*stored = *od;
		return SC_REWRITE;
	}
	sc_count(SC_C_errors__origdst_storage);
	if (od->flags & SC_ORIG_F_BYPASS)
		return SC_REWRITE;
	return fail_open ? SC_LEAVE : SC_REFUSE;
}

/* The whole decision of one connect to DST: where it goes (*TARGET), or leave it, or refuse it. */
static __always_inline enum sc_action sc_connect_decide(struct bpf_sock_addr *ctx,
							const struct sc_addr *dst,
							struct sc_addr *target, enum sc_level level)
{
	struct sc_origdst od = {};
	bool fail_open = true;
	enum sc_action a = sc_outbound(ctx, dst, target, &od, &fail_open, level);

	return a == SC_REWRITE ? sc_remember(ctx, &od, fail_open) : a;
}

static __always_inline int sc_connect4_run(struct bpf_sock_addr *ctx, enum sc_level level)
{
	struct sc_addr dst = {
		.family = AF_INET,
		.port = (__u16)ctx->user_port,
		.addr = {ctx->user_ip4},
	};
	struct sc_addr target = {};

	switch (sc_connect_decide(ctx, &dst, &target, level)) {
	case SC_REFUSE:
		return EPERM_VERDICT;
	case SC_LEAVE:
		return 1;
	default:
		break;
	}
	ctx->user_ip4 = target.addr[0];
	ctx->user_port = target.port;
	return 1;
}

static __always_inline int sc_connect6_run(struct bpf_sock_addr *ctx, enum sc_level level)
{
	struct sc_addr dst = {}, target = {};

	sc_user6_get(ctx, &dst);
	switch (sc_connect_decide(ctx, &dst, &target, level)) {
	case SC_REFUSE:
		return EPERM_VERDICT;
	case SC_LEAVE:
		return 1;
	default:
		break;
	}
	sc_user6_set(ctx, &target);
	return 1;
}

SEC("cgroup/connect4")
int sc_connect4(struct bpf_sock_addr *ctx)
{
	return sc_connect4_run(ctx, SC_FULL);
}

SEC("cgroup/connect6")
int sc_connect6(struct bpf_sock_addr *ctx)
{
	return sc_connect6_run(ctx, SC_FULL);
}

/* Linux 5.10 and 5.11 (lib/common.h): round robin without a fetching atomic. */
SEC("cgroup/connect4")
int sc_connect4_510(struct bpf_sock_addr *ctx)
{
	return sc_connect4_run(ctx, SC_510);
}

SEC("cgroup/connect6")
int sc_connect6_510(struct bpf_sock_addr *ctx)
{
	return sc_connect6_run(ctx, SC_510);
}

/*
 * Under iptables REDIRECT the app's socket stays connected to the original destination, and
 * getpeername() says so; here it is connected to the proxy or to a service endpoint. Report
 * what the app connected to, only on the app's own sockets (the proxy's accepted sockets keep
 * their real peer).
 */
static __always_inline const struct sc_addr *sc_asked(struct bpf_sock_addr *ctx)
{
	struct sc_origdst *o = bpf_sk_storage_get(&sc_origdst, ctx->sk, 0, 0);

	if (!o || !(o->flags & SC_ORIG_F_CLIENT))
		return NULL;
	sc_count(SC_C_getpeername_rewrite);
	return &o->asked;
}

SEC("cgroup/getpeername4")
int sc_getpeername4(struct bpf_sock_addr *ctx)
{
	const struct sc_addr *a = sc_asked(ctx);

	if (a && a->family == AF_INET) {
		ctx->user_ip4 = a->addr[0];
		ctx->user_port = a->port;
	}
	return 1;
}

SEC("cgroup/getpeername6")
int sc_getpeername6(struct bpf_sock_addr *ctx)
{
	const struct sc_addr *a = sc_asked(ctx);

	if (a)
		sc_user6_set(ctx, a);
	return 1;
}
