// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one definition of every map; the program files declare them extern (lib/maps.h). */
#include "lib/maps.h"

struct sc_policy_map sc_policy SEC(".maps");
struct sc_state_map sc_state SEC(".maps");
struct sc_ports_map sc_ports SEC(".maps");
struct sc_cidrs_map sc_cidrs SEC(".maps");
struct sc_stats_map sc_stats SEC(".maps");
struct sc_origdst_map sc_origdst SEC(".maps");
struct sc_handover_map sc_handover SEC(".maps");
struct sc_sockhash_map sc_sockhash SEC(".maps");
struct sc_flows_map sc_flows SEC(".maps");
struct sc_services_map sc_services SEC(".maps");
struct sc_lbtable_map sc_lbtable SEC(".maps");
struct sc_endpoints_map sc_endpoints SEC(".maps");
struct sc_picks_map sc_picks SEC(".maps");
struct sc_listeners_map sc_listeners SEC(".maps");
/* Node-wide: pinned under <dirname(pinPath)>/SC_NODE_DIR and shared by every pod of the node. */
struct sc_xsocks_map sc_xsocks SEC(".maps");
struct sc_xpairs_map sc_xpairs SEC(".maps");
struct sc_xhints_map sc_xhints SEC(".maps");
struct sc_xsk_map sc_xsk SEC(".maps");
struct sc_xstats_map sc_xstats SEC(".maps");

/*
 * Used by no program. Updating a map-in-map from user space returns only after an RCU grace
 * period, that is after every BPF program that was running has finished: the daemon updates
 * sc_barrier after switching policy slots, and only then may it rewrite the slot it left.
 */
struct sc_barrier_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sc_barrier_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct sc_barrier_inner);
} sc_barrier SEC(".maps") = {
	.values = {[0] = &sc_barrier_in},
};

/* sk_storage, sockhash and sk_msg redirect helpers are GPL-only. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
