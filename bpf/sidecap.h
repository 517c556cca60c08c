/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between the BPF programs and the interceptor daemon: every struct that lives in a map,
 * map and pin names, counter indices. This is the only place they are declared. Both sides build
 * it with the kernel's UAPI types (__u8 .. __u64), so layouts match by construction; the
 * _Static_assert lines catch an edit that changes a size by accident.
 */
#ifndef SIDECAP_H
#define SIDECAP_H

#include <linux/types.h>

/* Policy lives in two slots; a connect reads the active slot once and uses only that slot. */
#define SC_POLICY_SLOTS 2

#define SC_ID_NONE 0xffffffffu /* proxy.gid not configured */

/* struct sc_policy.flags */
#define SC_F_VALID	   (1u << 0) /* the slot holds a complete policy */
#define SC_F_ACCEL	   (1u << 1) /* sockhash + sk_msg acceleration on */
#define SC_F_OUT_ALL_PORTS (1u << 2) /* outbound.includePorts is "*" or empty */
#define SC_F_IN_ALL_PORTS  (1u << 3) /* inbound.includePorts is "*" */
#define SC_F_FAIL_OPEN	   (1u << 4) /* proxy.failOpen */
#define SC_F_ORIG_SERVICE  (1u << 5) /* proxy.originalDst: service (VIP, not the endpoint) */
#define SC_F_INBOUND	   (1u << 6) /* sk_lookup steering is on */
/* What the CIDR lookups of a connect would answer anyway: includeIPRanges holds 0.0.0.0/0 (::/0),
 * excludeIPRanges holds no IPv4 (IPv6) range. The connect program skips those lookups. */
#define SC_F_OUT_INCL_ALL4  (1u << 7)
#define SC_F_OUT_INCL_ALL6  (1u << 8)
#define SC_F_OUT_EXCL_NONE4 (1u << 9)
#define SC_F_OUT_EXCL_NONE6 (1u << 10)
/* The global acceleration mode: always, never, or neither for adaptive (docs/architecture.md,
 * "Adaptive acceleration"). SC_F_ACCEL stays set while any rule can accelerate. */
#define SC_F_ACCEL_ALWAYS (1u << 11)
#define SC_F_ACCEL_NEVER  (1u << 12)
/* accelerationPorts.always (.never) lists ports: sockops looks the destination port up. */
#define SC_F_ACCEL_ALWAYS_PORTS (1u << 13)
#define SC_F_ACCEL_NEVER_PORTS	(1u << 14)
#define SC_F_DNS_CAPTURE     (1u << 15) /* dns.capture */
#define SC_F_DNS_ALL_SERVERS (1u << 16) /* dns.servers is empty: every destination on port 53 */

/* One policy slot: the scalar part of the config. Sets (ports, CIDRs) are in sc_ports/sc_cidrs. */
struct sc_policy {
	__u32 proxy_uid;
	__u32 proxy_gid; /* SC_ID_NONE when not configured */
	__u16 outbound_port;
	__u16 inbound_port;
	__u32 flags;
	/* Bytes one side of an accelerated flow may send while the other side sends nothing;
	 * past this the direction leaves sk_msg for good (see docs/architecture.md). */
	__u32 msg_unanswered_limit;
	__u32 generation;
	/* accelerationMinExchanges: adaptive acceleration takes destinations whose connections
	 * average at least this many exchanges. */
	__u32 accel_min_exchanges;
	__u16 dns_port; /* the proxy's DNS listener on loopback, host order */
	__u16 pad;
};
_Static_assert(sizeof(struct sc_policy) == 32, "sc_policy layout");

/*
 * The version of what a pod's pins hold: its maps' types, keys and values and what its programs
 * expect of them. Bump it with any change to those, even one that keeps every size: libbpf
 * reuses a pinned map whenever its type, sizes and capacity match, whatever its values mean. Each
 * policy the daemon writes carries it in sc_state, and a daemon refuses pins that carry another
 * (interceptor/pod.c, sc_check_abi). (The node's pins are versioned by SC_NODE_DIR instead.)
 */
#define SC_POD_ABI 7

/* sc_state[0]: which slot is live, and the pins' version. */
struct sc_state {
	__u32 active_slot;
	__u32 generation;
	__u32 abi; /* SC_POD_ABI of the daemon that wrote it; 0 until a policy is written */
	__u32 pad;
};
_Static_assert(sizeof(struct sc_state) == 16, "sc_state layout");

/* Port sets: key = slot << 24 | kind << 16 | port (host order); value = 1. */
enum sc_port_kind {
	SC_PORT_OUT_INCLUDE = 1,
	SC_PORT_OUT_EXCLUDE = 2,
	SC_PORT_IN_INCLUDE = 3,
	SC_PORT_IN_EXCLUDE = 4, /* inbound.excludePorts and proxy.adminPorts */
	SC_PORT_ACCEL_ALWAYS = 5,
	SC_PORT_ACCEL_NEVER = 6,
};

static inline __u32 sc_port_key(__u32 slot, __u32 kind, __u32 port)
{
	return slot << 24 | kind << 16 | (port & 0xffff);
}

/*
 * CIDR sets: one LPM trie for all of them. The slot and the kind are the first two bytes of the
 * matched data, so prefixlen = SC_CIDR_PREFIX_BASE + the CIDR's own length, and a lookup with a
 * full-length key for (slot, kind, address) finds the longest CIDR of that set only.
 */
enum sc_cidr_kind {
	SC_CIDR_OUT_INCLUDE4 = 1,
	SC_CIDR_OUT_EXCLUDE4 = 2,
	SC_CIDR_OUT_INCLUDE6 = 3,
	SC_CIDR_OUT_EXCLUDE6 = 4,
	SC_CIDR_DNS_SERVER4 = 5, /* dns.servers, host routes only */
	SC_CIDR_DNS_SERVER6 = 6,
};
#define SC_CIDR_PREFIX_BASE 16

struct sc_cidr_key {
	__u32 prefixlen;
	__u8 slot;
	__u8 kind;
	__u8 addr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 pad[2];   /* never matched: prefixlen never reaches it */
};
_Static_assert(sizeof(struct sc_cidr_key) == 24, "sc_cidr_key layout");

/*
 * A TCP connection as seen from one of its sockets, in one network namespace. Addresses and
 * ports of an IPv4-mapped IPv6 socket are stored as IPv4 (family AF_INET), so both ends of a
 * connection between a v6 socket and a v4 socket produce the same key. Ports are host order,
 * addresses network order; IPv4 uses addr[0] only. All fields are 32/64-bit: no padding to
 * leave uninitialised.
 */
struct sc_tuple {
	__u64 netns;
	__u32 family;
	__u32 lport;
	__u32 rport;
	__u32 pad;
	__u32 laddr[4];
	__u32 raddr[4];
};
_Static_assert(sizeof(struct sc_tuple) == 56, "sc_tuple layout");

/* A TCP endpoint. */
struct sc_addr {
	__u32 family; /* AF_INET or AF_INET6 */
	__u16 port;   /* network order */
	__u16 pad;
	__u32 addr[4]; /* network order; IPv4 in addr[0] */
};
_Static_assert(sizeof(struct sc_addr) == 24, "sc_addr layout");

/*
 * What a redirected connection was going to. orig is what SO_ORIGINAL_DST reports to the proxy
 * (the destination, or for a service the chosen endpoint or the VIP, per proxy.originalDst);
 * asked is what the app connected to, which getpeername() reports to the app. On a socket whose
 * DNS queries were captured (SC_ORIG_F_DNS), asked is the server of its last query, which the
 * replies from the proxy's DNS listener at dns_port are made to come from.
 */
struct sc_origdst {
	struct sc_addr orig;
	struct sc_addr asked;
	__u32 flags;	/* SC_ORIG_F_* */
	__u16 dns_port; /* SC_ORIG_F_DNS: the proxy's DNS port the queries went to, network order */
	__u16 pad;
};
_Static_assert(sizeof(struct sc_origdst) == 56, "sc_origdst layout");

/* The app's socket, redirected or balanced: getpeername reports asked. */
#define SC_ORIG_F_CLIENT 1
/* The proxy's accepted socket: SO_ORIGINAL_DST reports orig; getpeername stays the real peer. */
#define SC_ORIG_F_ACCEPTED 2
/* The app's socket went straight to a service endpoint: no proxy will claim a handover. */
#define SC_ORIG_F_BYPASS 4
/* The service's acceleration: always, never or adaptive (none: the port rules and the global
 * mode). */
#define SC_ORIG_F_ACCEL_ALWAYS 8
#define SC_ORIG_F_ACCEL_NEVER  16
/* The service says adaptive: the history decides, whatever the port rules and global mode say. */
#define SC_ORIG_F_ACCEL_ADAPTIVE 32
#define SC_ORIG_F_ACCEL_MASK (SC_ORIG_F_ACCEL_ALWAYS | SC_ORIG_F_ACCEL_NEVER | SC_ORIG_F_ACCEL_ADAPTIVE)
/* The app's DNS socket: its queries go to the proxy's DNS listener (bpf/dns.bpf.c). */
#define SC_ORIG_F_DNS 64
/* The acceleration verdict of a redirected connection, decided when the app's socket sends its
 * SYN and carried to the proxy's side by the handover (bpf/sockops.bpf.c): DECIDED, and YES
 * (into the sockhash) or MEASURE (plain TCP, measured at close); DECIDED alone is plain TCP. */
#define SC_ORIG_F_DECIDED	128
#define SC_ORIG_F_VERDICT_YES	256
#define SC_ORIG_F_VERDICT_MEASURE 512
#define SC_ORIG_F_VERDICT_MASK (SC_ORIG_F_DECIDED | SC_ORIG_F_VERDICT_YES | SC_ORIG_F_VERDICT_MEASURE)

/*
 * Services (connect-time load balancing). A connect to vip:port of a service in the live slot
 * picks an endpoint index from the service's selection table, then the endpoint.
 */
enum sc_balance {
	SC_LB_RANDOM = 1,
	SC_LB_ROUND_ROBIN = 2,
	SC_LB_MAGLEV = 3,
};

#define SC_SVC_F_BYPASS 1 /* sidecar: bypass (straight to the endpoint, no proxy) */
/* services[].acceleration: always, never; neither for the rules below it. The same bits as
 * SC_ORIG_F_ACCEL_*, which the connect program copies them to. */
#define SC_SVC_F_ACCEL_ALWAYS SC_ORIG_F_ACCEL_ALWAYS
#define SC_SVC_F_ACCEL_NEVER  SC_ORIG_F_ACCEL_NEVER
#define SC_SVC_F_ACCEL_ADAPTIVE SC_ORIG_F_ACCEL_ADAPTIVE

struct sc_svc_key {
	__u32 slot;
	__u32 family; /* AF_INET or AF_INET6 (a v4-mapped VIP is AF_INET) */
	__u32 port;   /* host order */
	__u32 vip[4]; /* network order; IPv4 in vip[0] */
};
_Static_assert(sizeof(struct sc_svc_key) == 28, "sc_svc_key layout");

struct sc_svc {
	__u32 id;	  /* names the service's table chunks, endpoints and pick counters */
	__u32 flags;	  /* SC_SVC_F_* */
	__u32 balance;	  /* enum sc_balance */
	__u32 table_size; /* M: entries in the selection table */
	__u64 rr;	  /* round-robin position, advanced atomically by connect */
};
_Static_assert(sizeof(struct sc_svc) == 24, "sc_svc layout");

/*
 * The client key of Maglev: a client is an app process in a network namespace, so one process
 * keeps its endpoint while the endpoint set is stable. The index is sc_mix64(key) % M. The same
 * function runs in the connect program and in user-space tests.
 */
static inline __u64 sc_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The selection table: M endpoint indices, SC_TABLE_CHUNK per map entry. For random and
 * round_robin each endpoint appears in proportion to its weight (smoothly interleaved); for
 * maglev it is the Maglev lookup table (M prime, at least 100x the endpoint count). */
#define SC_TABLE_CHUNK 64
struct sc_table_key {
	__u32 slot;
	__u32 svc;
	__u32 chunk;
};
_Static_assert(sizeof(struct sc_table_key) == 12, "sc_table_key layout");

struct sc_table_chunk {
	__u16 ep[SC_TABLE_CHUNK];
};
_Static_assert(sizeof(struct sc_table_chunk) == 128, "sc_table_chunk layout");

/* Endpoint INDEX of service SVC in SLOT -> struct sc_addr. */
struct sc_ep_key {
	__u32 slot;
	__u32 svc;
	__u32 index;
};
_Static_assert(sizeof(struct sc_ep_key) == 12, "sc_ep_key layout");

/* Picks per (service id, endpoint address), per CPU; the daemon deletes the rows of endpoints
 * that leave the policy. */
struct sc_pick_key {
	__u32 svc;
	__u32 family;
	__u32 port; /* host order */
	__u32 addr[4];
};
_Static_assert(sizeof(struct sc_pick_key) == 28, "sc_pick_key layout");

/* The proxy's listening sockets, registered by sockops when the proxy calls listen() on its
 * inbound or outbound port: {family, port} -> socket. */
struct sc_listener_key {
	__u32 family;
	__u32 port; /* host order */
};
_Static_assert(sizeof(struct sc_listener_key) == 8, "sc_listener_key layout");

/*
 * A proxy socket already listening when the programs were attached (or when the policy moved
 * the inbound port) was never seen by sockops' listen() callback. The daemon finds it with
 * sock_diag and asks sc_listen_scan, run once with BPF_PROG_TEST_RUN in the pod's network
 * namespace, to register it: this request follows the test packet's Ethernet header, and the
 * program's return value is an enum sc_listen_verdict, with the errno of a failed map update in
 * bits 8 and up.
 */
struct sc_listen_req {
	__u32 family;  /* AF_INET or AF_INET6: of the socket, and of the lookup */
	__u32 port;    /* host order */
	__u32 addr[4]; /* network order: the bound address, loopback for a wildcard */
};
_Static_assert(sizeof(struct sc_listen_req) == 24, "sc_listen_req layout");

enum sc_listen_verdict {
	SC_LISTEN_REGISTERED = 1,
	SC_LISTEN_NOT_FOUND = 2, /* nothing listens there (any more) */
	SC_LISTEN_BAD_REQUEST = 3,
	SC_LISTEN_MAP_ERROR = 4, /* errno in bits 8 and up */
};

/*
 * Per accelerated connection, keyed by the canonical tuple (lower endpoint as local). side 0 is
 * the socket whose own tuple is canonical. unanswered[i]: bytes side i has sent through sk_msg
 * since side !i last sent. state: SC_FLOW_* bits of both sides, in one word so that a side's
 * first redirect and its peer's decision to leave the sockhash are ordered by atomic operations
 * on it (bpf/skmsg.bpf.c).
 */
struct sc_flow {
	__u64 unanswered[2];
	__u64 state; /* 64 bits: clang 14 emits fetching atomics on 32 bits only for -mcpu=v3 */
	/* For the destination's history (struct sc_dest), counted where sk_msg zeroes a side's
	 * unanswered count anyway: direction changes, and the bytes of the turns so far. */
	__u32 turns;
	__u32 flags; /* SC_FLOW_F_* */
	__u64 bytes;
};
_Static_assert(sizeof(struct sc_flow) == 40, "sc_flow layout");

/* The passive end created the entry (its active end is not ours): not measured at close. */
#define SC_FLOW_F_PASSIVE 1

/* Side I sends on the plain TCP path for good. */
#define SC_FLOW_DEMOTED(i) (1ull << (i))
/* Side I has redirected (or was about to redirect) bytes into its peer's ingress queue. */
#define SC_FLOW_REDIRECTED(i) (1ull << (2 + (i)))
/* Side I is demoted, was never sent a byte through sk_msg, and leaves the sockhash at its next
 * sockops RTT callback: its peer must never redirect into it again. */
#define SC_FLOW_LEAVING(i) (1ull << (4 + (i)))

/*
 * Adaptive acceleration (docs/architecture.md): what the connections to one destination did,
 * in sc_dests, an LRU hash. The destination is the one the app named (the original destination,
 * a service's VIP:port), or the address the socket is connected to or accepted on.
 */
struct sc_dest_key {
	__u64 netns; /* 0 on the 5.10 level */
	__u32 family;
	__u32 port;    /* host order */
	__u32 addr[4]; /* network order; IPv4 in addr[0] */
};
_Static_assert(sizeof(struct sc_dest_key) == 32, "sc_dest_key layout");

struct sc_dest {
	__u32 exchanges; /* decayed average of exchanges per connection, x SC_ACCEL_SCALE */
	__u32 samples;	 /* connections measured, up to 255 */
	__u32 skipped;	 /* connections skipped since the last measured one */
	__u32 pad;
	__u64 bytes; /* decayed average of bytes per connection, both directions */
};
_Static_assert(sizeof(struct sc_dest) == 24, "sc_dest layout");

#define SC_ACCEL_SCALE 16 /* fixed point of sc_dest.exchanges */
#define SC_ACCEL_LEARN 32 /* measured connections before a destination is judged */
#define SC_ACCEL_PROBE 8  /* of a short-lived destination, one connection in this many is measured */
#define SC_ACCEL_DECAY 2  /* each sample moves the averages 1/2^this of the way to it */
#define SC_DEFAULT_ACCEL_MIN_EXCHANGES 4

/*
 * Connections between two pods of the node (the sidecar<->sidecar hop) are carried socket to
 * socket through node-wide maps that every pod's programs share (pinned under
 * <dirname(pinPath)>/SC_NODE_DIR). Two pods can hold sockets with the same 4-tuple, so nothing
 * there is keyed by the 4-tuple alone:
 *  - sc_xsocks, the node sockhash, is keyed by struct sc_tuple, which carries the socket's own
 *    network namespace;
 *  - sc_xpairs pairs the two sockets of one connection. Its key is the canonical 4-tuple and
 *    both initial sequence numbers: at establishment each end knows its own ISN (snd_nxt - 1)
 *    and its peer's (rcv_nxt - 1), and no third socket knows both. Each end writes its own
 *    namespace into the entry, so the key of the peer in sc_xsocks is learnt from the peer
 *    itself, never guessed from an address.
 * The active end is established first: it inserts itself into sc_xsocks and creates the entry;
 * the passive end finds the entry, inserts itself and marks it ready. A side sends through
 * sk_msg only once the entry is ready.
 *
 * ISNs are not salted per network namespace: two connections with the same 4-tuple opened in
 * two namespaces within the same 64 ns would get the same key. The second active end to get
 * there then finds the key taken and marks the entry collided, and no end uses a collided entry.
 * Each passive end joins only after its own active end has been through, so a passive end can
 * never join another namespace's entry that is not already marked.
 *
 * The active end offers itself only when the passive end asked for it: a pod's listener that
 * receives a SYN from another address leaves a hint in sc_xhints (an LRU hash keyed by the
 * 4-tuple as the active end sees it, netns 0) before it answers. A hint is only a hint: a stale
 * or colliding one costs a needless offer, never a wrong pairing. Connections to anything but a
 * pod of this node (a remote server) so never enter the node sockhash.
 *
 * Most connections of a pod are with other nodes, and a lookup in sc_xhints, a large map read at
 * a random place, costs a cache miss. So both ends first ask sc_xaddrs, the small set of the
 * node's pod addresses: a pod's socket enters its own local address when it connects to another
 * address (TCP_CONNECT_CB) and when its listener gets a SYN from one (TIMEOUT_INIT). The passive
 * end leaves a hint only for a client whose address is there, and the active end looks for a
 * hint only when its server's address is there. Each end enters its address before its first
 * packet leaves (the SYN, the SYN-ACK), so the other end always finds it: a pod's address is
 * never missing where it matters; an address left by a pod that is gone only costs a lookup.
 */
struct sc_xaddr_key {
	__u32 family;
	__u32 addr[4]; /* network order; IPv4 in [0] */
};
_Static_assert(sizeof(struct sc_xaddr_key) == 20, "sc_xaddr_key layout");

struct sc_pair_key {
	__u32 family;
	__u32 port[2]; /* host order; [0] is the canonical (lower) end */
	__u32 isn[2];  /* each end's initial sequence number, same order */
	__u32 pad;
	__u32 addr[2][4]; /* network order; IPv4 in [i][0] */
};
_Static_assert(sizeof(struct sc_pair_key) == 56, "sc_pair_key layout");

struct sc_pair {
	__u64 netns[2];	     /* each end's network namespace cookie, 0 until that end is in */
	__u64 unanswered[2]; /* as in struct sc_flow */
	__u64 state;	     /* as in struct sc_flow: SC_FLOW_* bits */
	__u32 ready;	     /* both ends are in sc_xsocks */
	__u32 collided;	     /* a second active end made the same key: nobody uses this entry */
	__u32 turns;	     /* as in struct sc_flow */
	__u32 pad;
	__u64 bytes; /* as in struct sc_flow */
};
_Static_assert(sizeof(struct sc_pair) == 64, "sc_pair layout");

/* Socket storage of a socket in sc_xsocks: its pair entry, which end it is, and its limit. */
struct sc_xsock {
	struct sc_pair_key pair;
	struct sc_tuple self; /* the socket's own key in sc_xsocks */
	__u32 side;
	__u32 limit; /* the pod's msg_unanswered_limit when the socket was inserted */
};
_Static_assert(sizeof(struct sc_xsock) == 120, "sc_xsock layout");

/*
 * The metric families the counters are served as on /metrics, all Prometheus counters:
 * F(ID, name, label, label, help), a label NULL when the family has fewer. Families group the
 * counters that are alternatives of one decision, so rate(sum) of a family is meaningful; they
 * are served in this order.
 */
#define SC_COUNTER_FAMILIES(F)                                                                    \
	F(OUTBOUND, "sidecap_outbound_connections_total", "action", "reason",                     \
	  "Outbound connect() decisions of the pod's processes, by action and reason.")           \
	F(INBOUND, "sidecap_inbound_connections_total", "action", "reason",                       \
	  "Inbound connection steering decisions (sk_lookup), by action and reason.")             \
	F(SKMSG_MESSAGES, "sidecap_skmsg_messages_total", "path", NULL,                           \
	  "Messages sent by accelerated sockets, by path: socket to socket, or TCP.")             \
	F(SKMSG_BYTES, "sidecap_skmsg_bytes_total", "path", NULL,                                 \
	  "Bytes sent by accelerated sockets, by path.")                                          \
	F(SKMSG_DEMOTIONS, "sidecap_skmsg_demotions_total", "reason", NULL,                       \
	  "Connection directions moved from sk_msg to TCP for good, by reason.")                  \
	F(SOCKHASH_LEAVES, "sidecap_sockhash_leaves_total", "stage", NULL,                        \
	  "Demoted sockets never sent to through sk_msg, marked to leave the sockhash and taken " \
	  "out of it (they then send on the plain TCP path), by stage.")                          \
	F(ORIGINAL_DST, "sidecap_original_dst_queries_total", "answer", NULL,                     \
	  "SO_ORIGINAL_DST queries, by answer.")                                                  \
	F(GETPEERNAME, "sidecap_getpeername_rewrites_total", NULL, NULL,                          \
	  "getpeername() answers rewritten to the destination the app asked for.")                \
	F(SOCKOPS_EVENTS, "sidecap_sockops_events_total", "event", NULL,                          \
	  "Socket life-cycle events handled, by event.")                                          \
	F(LISTENER_SCAN, "sidecap_listener_scan_total", "result", NULL,                           \
	  "The proxy's sockets found already listening on the inbound port at attach, adoption "  \
	  "or a policy change, and registered for inbound steering.")                             \
	F(NODE_SKMSG_MESSAGES, "sidecap_node_skmsg_messages_total", "path", NULL,                 \
	  "Messages sent between sidecars of two pods of the node, by path (node-wide).")         \
	F(NODE_SKMSG_BYTES, "sidecap_node_skmsg_bytes_total", "path", NULL,                       \
	  "Bytes sent between sidecars of two pods of the node, by path (node-wide).")            \
	F(NODE_SKMSG_DEMOTIONS, "sidecap_node_skmsg_demotions_total", "reason", NULL,             \
	  "Pod-to-pod connection directions moved to TCP for good, by reason (node-wide).")       \
	F(NODE_SOCKHASH_LEAVES, "sidecap_node_sockhash_leaves_total", "stage", NULL,              \
	  "Demoted pod-to-pod sockets never sent to through sk_msg, marked to leave the node "    \
	  "sockhash and taken out of it, by stage (node-wide).")                                  \
	F(NODE_PAIRS, "sidecap_node_pairs_total", "event", NULL,                                  \
	  "Pod-to-pod connections hinted by the passive end's listener, offered for pairing by "  \
	  "their active end, paired, and left unpaired because two connections made the same "    \
	  "key (node-wide).")                                                                     \
	F(ACCELERATION, "sidecap_acceleration_decisions_total", "decision", "reason",             \
	  "Connections of the pod to a local peer or to a pod of this node, by whether they were " \
	  "put in a sockhash (accelerated) and why (decided by the connecting end).")            \
	F(DNS_CAPTURED, "sidecap_dns_queries_captured_total", "family", "transport",              \
	  "The app's DNS queries sent to the proxy's DNS listener: UDP datagrams sent unconnected "\
	  "and connected UDP or TCP sockets, by address family and transport.")                   \
	F(DNS_NOT_CAPTURED, "sidecap_dns_queries_not_captured_total", "action", "reason",         \
	  "DNS queries (to port 53) left alone or refused, by action and reason.")                \
	F(DNS_REPLIES, "sidecap_dns_replies_rewritten_total", NULL, NULL,                         \
	  "Replies of the proxy's DNS listener shown to the app as coming from the server it "     \
	  "asked.")                                                                               \
	F(ERRORS, "sidecap_errors_total", "reason", NULL,                                         \
	  "Paths that failed open (or closed) because something went wrong, by reason.")

#define SC_FAMILY_ENUM(id, ...) SC_MF_##id,
enum sc_counter_family { SC_COUNTER_FAMILIES(SC_FAMILY_ENUM) SC_MF__MAX };
#undef SC_FAMILY_ENUM

/*
 * The counters: X(name, family, value, value), one per reason, the values those of the
 * family's labels (NULL where it has fewer). The name is the counter's name in `status` and
 * its index SC_C_<name> (SC_X_<name> for the node's) in its per-CPU array, so a counter is only
 * ever added at the end. A counter without a family does not build.
 */

/* Node-wide counters (per-CPU array sc_xstats): the node sk_msg program has no pod. */
#define SC_NODE_COUNTERS(X)                                                         \
	X(xpod_hint, NODE_PAIRS, "hinted", NULL)                                    \
	X(xpod_pair_created, NODE_PAIRS, "offered", NULL)                           \
	X(xpod_pair_ready, NODE_PAIRS, "paired", NULL)                              \
	X(xpod_pair_collided, NODE_PAIRS, "collided", NULL)                         \
	X(errors__xpod_insert, ERRORS, "xpod_insert", NULL)                         \
	X(errors__xpod_pair_full, ERRORS, "xpod_pair_full", NULL)                   \
	X(errors__xpod_addrs, ERRORS, "xpod_addrs", NULL)                           \
	X(xpod_msg_redirect, NODE_SKMSG_MESSAGES, "socket", NULL)                   \
	X(xpod_msg_redirect_bytes, NODE_SKMSG_BYTES, "socket", NULL)                \
	X(xpod_msg_pass, NODE_SKMSG_MESSAGES, "tcp", NULL)                          \
	X(xpod_msg_pass_bytes, NODE_SKMSG_BYTES, "tcp", NULL)                       \
	X(xpod_msg_demote_unpaired, NODE_SKMSG_DEMOTIONS, "unpaired", NULL)         \
	X(xpod_msg_demote_unanswered, NODE_SKMSG_DEMOTIONS, "unanswered", NULL)     \
	X(xpod_msg_demote_peer_missing, NODE_SKMSG_DEMOTIONS, "peer_missing", NULL) \
	X(xpod_msg_demote_peer_left, NODE_SKMSG_DEMOTIONS, "peer_left", NULL)       \
	X(xpod_msg_leave_marked, NODE_SOCKHASH_LEAVES, "marked", NULL)              \
	X(xpod_sockhash_left, NODE_SOCKHASH_LEAVES, "left", NULL)                   \
	X(errors__xpod_sockhash_leave, ERRORS, "xpod_sockhash_leave", NULL)

#define SC_COUNTER_ENUM(name, ...) SC_X_##name,
enum sc_node_counter { SC_NODE_COUNTERS(SC_COUNTER_ENUM) SC_X__MAX };
#undef SC_COUNTER_ENUM

/* Counters: per-CPU array sc_stats, one __u64 per reason. */
#define SC_COUNTERS(X)                                                              \
	X(connect_redirect, OUTBOUND, "redirect", "policy")                         \
	X(connect_skip_not_tcp, OUTBOUND, "direct", "not_tcp")                      \
	X(connect_skip_proxy_uid, OUTBOUND, "direct", "proxy_uid")                  \
	X(connect_skip_proxy_gid, OUTBOUND, "direct", "proxy_gid")                  \
	X(connect_skip_loopback, OUTBOUND, "direct", "loopback")                    \
	X(connect_skip_proxy_port, OUTBOUND, "direct", "proxy_port")                \
	X(connect_skip_excluded_port, OUTBOUND, "direct", "excluded_port")          \
	X(connect_skip_port_not_included, OUTBOUND, "direct", "port_not_included")  \
	X(connect_skip_excluded_cidr, OUTBOUND, "direct", "excluded_cidr")          \
	X(connect_skip_cidr_not_included, OUTBOUND, "direct", "cidr_not_included")  \
	X(errors__no_policy, ERRORS, "no_policy", NULL)                             \
	X(errors__origdst_storage, ERRORS, "origdst_storage", NULL)                 \
	X(sockops_handover_stored, SOCKOPS_EVENTS, "handover_stored", NULL)         \
	X(sockops_handover_claimed, SOCKOPS_EVENTS, "handover_claimed", NULL)       \
	X(errors__handover_full, ERRORS, "handover_full", NULL)                     \
	X(sockops_sockhash_insert, SOCKOPS_EVENTS, "sockhash_insert", NULL)         \
	X(errors__sockhash_insert, ERRORS, "sockhash_insert", NULL)                 \
	X(errors__flow_full, ERRORS, "flow_full", NULL)                             \
	X(msg_redirect, SKMSG_MESSAGES, "socket", NULL)                             \
	X(msg_redirect_bytes, SKMSG_BYTES, "socket", NULL)                          \
	X(msg_pass, SKMSG_MESSAGES, "tcp", NULL)                                    \
	X(msg_pass_bytes, SKMSG_BYTES, "tcp", NULL)                                 \
	X(msg_pass_no_flow, SKMSG_DEMOTIONS, "no_flow_state", NULL)                 \
	X(msg_demote_unanswered, SKMSG_DEMOTIONS, "unanswered", NULL)               \
	X(msg_demote_peer_missing, SKMSG_DEMOTIONS, "peer_missing", NULL)           \
	X(msg_demote_peer_left, SKMSG_DEMOTIONS, "peer_left", NULL)                 \
	X(msg_leave_marked, SOCKHASH_LEAVES, "marked", NULL)                        \
	X(sockops_sockhash_left, SOCKHASH_LEAVES, "left", NULL)                     \
	X(errors__sockhash_leave, ERRORS, "sockhash_leave", NULL)                   \
	X(sockopt_original_dst, ORIGINAL_DST, "answered", NULL)                     \
	X(sockopt_original_dst_unknown, ORIGINAL_DST, "not_redirected", NULL)       \
	X(getpeername_rewrite, GETPEERNAME, NULL, NULL)                             \
	X(connect_fail_open, OUTBOUND, "direct", "proxy_not_listening")             \
	X(connect_fail_closed, OUTBOUND, "refused", "proxy_not_listening")          \
	X(lb_redirect, OUTBOUND, "redirect", "service")                             \
	X(lb_bypass, OUTBOUND, "bypass", "service")                                 \
	X(lb_proxy_direct, OUTBOUND, "bypass", "proxy_own_service_connect")         \
	X(errors__lb_table, ERRORS, "lb_table", NULL)                               \
	X(sockops_listener_registered, SOCKOPS_EVENTS, "listener_registered", NULL) \
	X(errors__listener_register, ERRORS, "listener_register", NULL)             \
	X(inbound_redirect, INBOUND, "redirect", "policy")                          \
	X(inbound_skip_local, INBOUND, "direct", "loopback")                        \
	X(inbound_skip_proxy_port, INBOUND, "direct", "proxy_port")                 \
	X(inbound_skip_excluded_port, INBOUND, "direct", "excluded_port")           \
	X(inbound_skip_port_not_included, INBOUND, "direct", "port_not_included")   \
	X(inbound_fail_open, INBOUND, "direct", "proxy_not_listening")              \
	X(inbound_fail_closed, INBOUND, "refused", "proxy_not_listening")           \
	X(errors__sk_assign, ERRORS, "sk_assign", NULL)                             \
	X(listener_scan_registered, LISTENER_SCAN, "registered", NULL)              \
	X(errors__listener_scan, ERRORS, "listener_scan", NULL)                     \
	X(xpod_off_no_netns_cookie, SOCKOPS_EVENTS, "pairing_off_no_netns_cookie", NULL)    \
	X(errors__picks_full, ERRORS, "picks_full", NULL)                           \
	X(accel_learning, ACCELERATION, "accelerated", "learning")                  \
	X(accel_long_lived, ACCELERATION, "accelerated", "long_lived")              \
	X(accel_policy_always, ACCELERATION, "accelerated", "policy_always")        \
	X(accel_skip_short_lived, ACCELERATION, "skipped", "short_lived")           \
	X(accel_skip_measured, ACCELERATION, "skipped", "short_lived_measured")     \
	X(accel_skip_policy_never, ACCELERATION, "skipped", "policy_never")         \
	X(sockops_dest_measured, SOCKOPS_EVENTS, "destination_measured", NULL)      \
	X(errors__dests_update, ERRORS, "dests_update", NULL)                      \
	X(dns_captured_udp4, DNS_CAPTURED, "ipv4", "udp")                           \
	X(dns_captured_udp6, DNS_CAPTURED, "ipv6", "udp")                           \
	X(dns_captured_tcp4, DNS_CAPTURED, "ipv4", "tcp")                           \
	X(dns_captured_tcp6, DNS_CAPTURED, "ipv6", "tcp")                           \
	X(dns_skip_capture_off, DNS_NOT_CAPTURED, "direct", "capture_off")          \
	X(dns_skip_proxy_uid, DNS_NOT_CAPTURED, "direct", "proxy_uid")              \
	X(dns_skip_proxy_gid, DNS_NOT_CAPTURED, "direct", "proxy_gid")              \
	X(dns_skip_server_not_listed, DNS_NOT_CAPTURED, "direct", "server_not_listed") \
	X(dns_fail_open, DNS_NOT_CAPTURED, "direct", "proxy_not_listening")         \
	X(dns_fail_closed, DNS_NOT_CAPTURED, "refused", "proxy_not_listening")      \
	X(dns_reply_rewritten, DNS_REPLIES, NULL, NULL)                             \
	X(errors__dns_storage, ERRORS, "dns_storage", NULL)

#define SC_COUNTER_ENUM(name, ...) SC_C_##name,
enum sc_counter { SC_COUNTERS(SC_COUNTER_ENUM) SC_C__MAX };
#undef SC_COUNTER_ENUM

/*
 * The node directory carries the version of what pods share through it (the node maps' types,
 * keys and values, and struct sc_pair_key / sc_pair / sc_xsock): bump it with any change to
 * those. Pods of two versions then use two node directories and never pair with each other (the
 * hop between them stays plain TCP), where one shared directory would make the second version's
 * load fail on the first one's incompatible pins. Every name starting with SC_NODE_PREFIX is a
 * node directory, never a pod's. bpffs refuses names with a dot; a pin path derived from a cgroup
 * never starts with "_".
 */
#define SC_NODE_PREFIX "_node"
#define SC_NODE_DIR    SC_NODE_PREFIX "-v5"

/* Capacities. Per-connection maps hold live connections only: entries die with the socket. */
#define SC_MAX_PORTS	4096
#define SC_MAX_CIDRS	4096
#define SC_MAX_SOCKETS	65536
#define SC_MAX_FLOWS	65536
#define SC_MAX_HANDOVER 65536
/* Both slots together: 10,000 services of 10 endpoints (Maglev M = 1009, 16 chunks) twice. */
#define SC_MAX_SERVICES	 32768
#define SC_MAX_LBCHUNKS	 524288
#define SC_MAX_ENDPOINTS 262144
#define SC_MAX_PICKS	 131072
#define SC_MAX_LISTENERS 16
#define SC_MAX_DESTS	 16384
/* dns.servers: the most a policy lists (resolv.conf takes three). */
#define SC_DNS_MAX_SERVERS 16
/* Node-wide: sockets of the sidecar<->sidecar hops of every pod of the node. */
#define SC_MAX_XSOCKS 131072
#define SC_MAX_XPAIRS 65536
#define SC_MAX_XHINTS 65536
/* The addresses of the node's pods: a few per pod, refreshed by every connection of the pod. */
#define SC_MAX_XADDRS 1024

/*
 * A policy is written into the inactive slot while the active one still holds the old policy,
 * so the policy maps hold both: each slot gets half of their capacity.
 */
#define SC_SLOT_PORTS	  (SC_MAX_PORTS / SC_POLICY_SLOTS)
#define SC_SLOT_CIDRS	  (SC_MAX_CIDRS / SC_POLICY_SLOTS)
#define SC_SLOT_SERVICES  (SC_MAX_SERVICES / SC_POLICY_SLOTS)
#define SC_SLOT_ENDPOINTS (SC_MAX_ENDPOINTS / SC_POLICY_SLOTS)

/*
 * The most endpoints one service may list. Its selection table grows with the count (Maglev
 * wants at least 100 entries per endpoint), and all tables share one map.
 */
#define SC_SVC_MAX_ENDPOINTS 256

/*
 * Every map, in one list: X(ID, name, capacity, scope, kind). NAME is the map's C symbol on the
 * BPF side (of type struct NAME_map, bpf/lib/maps.h), its name in the kernel and its pin name
 * (at most 15 characters); SC_MAP_<ID> below is the same as a string. CAPACITY is its
 * max_entries. SCOPE is POD, pinned under <pinPath>/maps/, or NODE, shared by the pods of a node
 * and pinned under <dirname(pinPath)>/SC_NODE_DIR/maps/. KIND is COUNTED for a map whose entries
 * `status` and /metrics count against its capacity, in this order; SIZED for another map with a
 * capacity; STORAGE for socket storage, which has none (capacity 0). bpf/lib/maps.h declares the
 * maps from the list, and bpf/maps.bpf.c defines them and checks each capacity and name against
 * it at compile time.
 */
#define SC_MAPS(X)                                                 \
	X(SOCKHASH, sc_sockhash, SC_MAX_SOCKETS, POD, COUNTED)     \
	X(FLOWS, sc_flows, SC_MAX_FLOWS, POD, COUNTED)             \
	X(HANDOVER, sc_handover, SC_MAX_HANDOVER, POD, COUNTED)    \
	X(LISTENERS, sc_listeners, SC_MAX_LISTENERS, POD, COUNTED) \
	X(SERVICES, sc_services, SC_MAX_SERVICES, POD, COUNTED)    \
	X(LBTABLE, sc_lbtable, SC_MAX_LBCHUNKS, POD, COUNTED)      \
	X(ENDPOINTS, sc_endpoints, SC_MAX_ENDPOINTS, POD, COUNTED) \
	X(PICKS, sc_picks, SC_MAX_PICKS, POD, COUNTED)             \
	X(PORTS, sc_ports, SC_MAX_PORTS, POD, COUNTED)             \
	X(CIDRS, sc_cidrs, SC_MAX_CIDRS, POD, COUNTED)             \
	X(DESTS, sc_dests, SC_MAX_DESTS, POD, COUNTED)             \
	X(XSOCKS, sc_xsocks, SC_MAX_XSOCKS, NODE, COUNTED)         \
	X(XPAIRS, sc_xpairs, SC_MAX_XPAIRS, NODE, COUNTED)         \
	X(POLICY, sc_policy, SC_POLICY_SLOTS, POD, SIZED)          \
	X(STATE, sc_state, 1, POD, SIZED)                          \
	X(STATS, sc_stats, SC_C__MAX, POD, SIZED)                  \
	X(ORIGDST, sc_origdst, 0, POD, STORAGE)                    \
	X(XHINTS, sc_xhints, SC_MAX_XHINTS, NODE, SIZED)           \
	X(XADDRS, sc_xaddrs, SC_MAX_XADDRS, NODE, SIZED)           \
	X(XSK, sc_xsk, 0, NODE, STORAGE)                           \
	X(XSTATS, sc_xstats, SC_X__MAX, NODE, SIZED)

#define SC_MAP_ENUM(id, ...) SC_MAPID_##id,
enum sc_map_id { SC_MAPS(SC_MAP_ENUM) SC_MAPID__MAX };
#undef SC_MAP_ENUM

/* The map names as strings, for paths ("/maps/" SC_MAP_STATE): each is its NAME in SC_MAPS. */
#define SC_MAP_SOCKHASH	 "sc_sockhash"
#define SC_MAP_FLOWS	 "sc_flows"
#define SC_MAP_HANDOVER	 "sc_handover"
#define SC_MAP_LISTENERS "sc_listeners"
#define SC_MAP_SERVICES	 "sc_services"
#define SC_MAP_LBTABLE	 "sc_lbtable"
#define SC_MAP_ENDPOINTS "sc_endpoints"
#define SC_MAP_PICKS	 "sc_picks"
#define SC_MAP_PORTS	 "sc_ports"
#define SC_MAP_CIDRS	 "sc_cidrs"
#define SC_MAP_DESTS	 "sc_dests"
#define SC_MAP_XSOCKS	 "sc_xsocks"
#define SC_MAP_XPAIRS	 "sc_xpairs"
#define SC_MAP_POLICY	 "sc_policy"
#define SC_MAP_STATE	 "sc_state"
#define SC_MAP_STATS	 "sc_stats"
#define SC_MAP_ORIGDST	 "sc_origdst"
#define SC_MAP_XHINTS	 "sc_xhints"
#define SC_MAP_XADDRS	 "sc_xaddrs"
#define SC_MAP_XSK	 "sc_xsk"
#define SC_MAP_XSTATS	 "sc_xstats"

#define SC_DEFAULT_UNANSWERED_LIMIT (1u << 20)

/* Not in every libc's headers. */
#define SC_SO_ORIGINAL_DST	80
#define SC_IP6T_SO_ORIGINAL_DST 80

#endif /* SIDECAP_H */
