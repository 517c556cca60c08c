// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one definition of every map; the program files declare them extern (lib/maps.h). */
#include "lib/maps.h"

/* Each map of SC_MAPS, of its type struct <name>_map. */
#define SC_MAP_DEFINE(id, name, ...) struct name##_map name SEC(".maps");
SC_MAPS(SC_MAP_DEFINE)
#undef SC_MAP_DEFINE

/*
 * What the list says of each map, checked when the maps are built: its max_entries is the
 * capacity that `status` and /metrics report, and SC_MAP_<ID> spells its name for user space (as
 * far as a constant expression can tell: the length; a unit test compares the letters).
 */
#define SC_CHECK_COUNTED(name, cap) SC_CHECK_SIZED(name, cap)
#define SC_CHECK_SIZED(name, cap)                                                             \
	_Static_assert(sizeof(*((struct name##_map *)0)->max_entries) == (cap) * sizeof(int), \
		       #name ": max_entries is not its capacity in SC_MAPS")
#define SC_CHECK_STORAGE(name, cap) \
	_Static_assert((cap) == 0, #name ": socket storage has no capacity")
#define SC_MAP_CHECK(id, name, cap, scope, kind)                                              \
	SC_CHECK_##kind(name, cap);                                                           \
	_Static_assert(sizeof(SC_MAP_##id) == sizeof(#name), "SC_MAP_" #id " is not " #name); \
	_Static_assert(sizeof(#name) <= 16, #name ": longer than BPF_OBJ_NAME_LEN allows");
SC_MAPS(SC_MAP_CHECK)
#undef SC_MAP_CHECK

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
