// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stddef.h>

#include "abi.h"

#define SC_NODE_POD	false
#define SC_NODE_NODE	true
#define SC_KIND_COUNTED true
#define SC_KIND_SIZED	false
#define SC_KIND_STORAGE false
#define SC_MAP_INFO(id, sym, cap, scope, kind) \
	[SC_MAPID_##id] = {#sym, cap, SC_NODE_##scope, SC_KIND_##kind},
const struct sc_map_info sc_maps[SC_MAPID__MAX] = {SC_MAPS(SC_MAP_INFO)};
#undef SC_MAP_INFO

#define SC_FAMILY_INFO(id, name, l1, l2, help) [SC_MF_##id] = {name, {l1, l2}, help},
const struct sc_family_info sc_counter_families[SC_MF__MAX] = {SC_COUNTER_FAMILIES(SC_FAMILY_INFO)};
#undef SC_FAMILY_INFO

#define SC_COUNTER_INFO(name, family, v1, v2) {#name, SC_MF_##family, {v1, v2}},
const struct sc_counter_info sc_counters[SC_C__MAX] = {SC_COUNTERS(SC_COUNTER_INFO)};
const struct sc_counter_info sc_node_counters[SC_X__MAX] = {SC_NODE_COUNTERS(SC_COUNTER_INFO)};
#undef SC_COUNTER_INFO
