/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The lists of the ABI header (bpf/sidecap.h) as tables for user space: every map with its
 * capacity and scope, every counter with its metric family and label values, and the families.
 * `status`, /metrics and the pin logic read these; nothing here needs libbpf, so the unit tests
 * check the tables against each other.
 */
#ifndef SC_ABI_H
#define SC_ABI_H

#include <stdbool.h>

#include "sidecap.h"

struct sc_map_info {
	const char *name; /* the map's name and pin name */
	long capacity;	  /* max_entries; 0 for socket storage */
	bool node;	  /* shared by the pods of the node, pinned in its node directory */
	bool counted;	  /* `status` and /metrics count its entries */
};

extern const struct sc_map_info sc_maps[SC_MAPID__MAX];

/* `run --map-max NAME=N`: a map's capacity in place of the built-in one (tests, small pods). */
struct sc_map_max {
	const char *name;
	unsigned int max_entries;
};

#define SC_MAP_MAX_OVERRIDES 8

struct sc_family_info {
	const char *name;     /* the metric's name */
	const char *label[2]; /* label names, NULL past the last */
	const char *help;
};

extern const struct sc_family_info sc_counter_families[SC_MF__MAX];

struct sc_counter_info {
	const char *name; /* in `status`, as in SC_COUNTERS */
	enum sc_counter_family family;
	const char *value[2]; /* the values of the family's labels */
};

extern const struct sc_counter_info sc_counters[SC_C__MAX];
extern const struct sc_counter_info sc_node_counters[SC_X__MAX];

#endif /* SC_ABI_H */
