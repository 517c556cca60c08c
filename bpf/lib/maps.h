/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map types and extern declarations. The list of maps is SC_MAPS in sidecap.h; each map's type
 * is struct <name>_map here. The maps are defined once, in maps.bpf.c; every program file
 * declares them extern and `bpftool gen object` resolves them into one object.
 */
#ifndef SC_LIB_MAPS_H
#define SC_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sidecap.h"

/* Two policy slots (scalars); the daemon writes the inactive one, then flips sc_state. */
struct sc_policy_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SC_POLICY_SLOTS);
	__type(key, __u32);
	__type(value, struct sc_policy);
};

/* Which slot is live. */
struct sc_state_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sc_state);
};

/* Port sets of both slots: sc_port_key(slot, kind, port) -> 1. */
struct sc_ports_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u8);
};

/* CIDR sets of both slots, longest prefix match within (slot, kind). */
struct sc_cidrs_map {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SC_MAX_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sc_cidr_key);
	__type(value, __u8);
};

/* One counter per reason (enum sc_counter), per CPU. */
struct sc_stats_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_C__MAX);
	__type(key, __u32);
	__type(value, __u64);
};

/* Original destination, stored on the app's socket at connect and on the proxy's accepted
 * socket at establishment; freed by the kernel with the socket. */
struct sc_origdst_map {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sc_origdst);
};

/* App socket tuple -> original destination, from the app's SYN until the proxy's side of the
 * connection is established and takes it (and deletes it): how the accepted socket finds it. An
 * LRU, so that the entry of a SYN nobody answered (the proxy died in between) ages out instead of
 * needing a close callback on every app socket. */
struct sc_handover_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_HANDOVER);
	__type(key, struct sc_tuple);
	__type(value, struct sc_origdst);
};

/* Local TCP sockets of the pod, keyed by their own (local, remote) tuple; the kernel removes a
 * socket when it closes. sk_msg redirects to the peer found by the swapped tuple. */
struct sc_sockhash_map {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SC_MAX_SOCKETS);
	__type(key, struct sc_tuple);
	__type(value, __u64);
};

/* Flow-control state of each accelerated connection, keyed by its canonical tuple; created at
 * establishment by the first end, which deletes it when it closes. */
struct sc_flows_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_FLOWS);
	__type(key, struct sc_tuple);
	__type(value, struct sc_flow);
};

/* Per destination: what its closed connections did (adaptive acceleration). An LRU: bounded,
 * and a destination nobody connects to any more is forgotten. */
struct sc_dests_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_DESTS);
	__type(key, struct sc_dest_key);
	__type(value, struct sc_dest);
};

/* Services of both slots: (slot, family, port, VIP) -> service. */
struct sc_services_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sc_svc_key);
	__type(value, struct sc_svc);
};

/* Selection tables of both slots, SC_TABLE_CHUNK endpoint indices per entry. */
struct sc_lbtable_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_LBCHUNKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sc_table_key);
	__type(value, struct sc_table_chunk);
};

/* Endpoints of both slots. */
struct sc_endpoints_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SC_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sc_ep_key);
	__type(value, struct sc_addr);
};

/* Picks per service endpoint; rows of removed endpoints are deleted by the daemon. */
struct sc_picks_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SC_MAX_PICKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sc_pick_key);
	__type(value, __u64);
};

/* The proxy's inbound listeners, registered at listen(); the kernel drops a closed socket. */
struct sc_listeners_map {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SC_MAX_LISTENERS);
	__type(key, struct sc_listener_key);
	__type(value, __u64);
};

/*
 * Node-wide maps (see struct sc_pair_key in sidecap.h): every pod's programs use the same ones,
 * pinned once per node. Only the node sk_msg program (xmsg.bpf.c) and sockops touch them.
 */
struct sc_xsocks_map {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SC_MAX_XSOCKS);
	__type(key, struct sc_tuple);
	__type(value, __u64);
};

/* An LRU: the entry is deleted when the end that created it (the active end) closes, and a pod
 * removed while its connections are open leaves entries that age out instead of filling the map.
 * An entry evicted while its connection lives moves that connection to TCP, which is safe. */
struct sc_xpairs_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_XPAIRS);
	__type(key, struct sc_pair_key);
	__type(value, struct sc_pair);
};

struct sc_xhints_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_XHINTS);
	__type(key, struct sc_tuple);
	__type(value, __u8);
};

/* The node's pod addresses (struct sc_xaddr_key): where a pairing hint can be. */
struct sc_xaddrs_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SC_MAX_XADDRS);
	__type(key, struct sc_xaddr_key);
	__type(value, __u8);
};

struct sc_xsk_map {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sc_xsock);
};

struct sc_xstats_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SC_X__MAX);
	__type(key, __u32);
	__type(value, __u64);
};

/* Every map of SC_MAPS (sidecap.h), defined once in maps.bpf.c. */
#define SC_MAP_EXTERN(id, name, ...) extern struct name##_map name SEC(".maps");
SC_MAPS(SC_MAP_EXTERN)
#undef SC_MAP_EXTERN

#endif /* SC_LIB_MAPS_H */
