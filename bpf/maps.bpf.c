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

/* sk_storage, sockhash and sk_msg redirect helpers are GPL-only. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
