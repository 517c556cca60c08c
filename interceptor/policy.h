/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A validated config turned into the entries of one policy slot: the sc_policy value, and the
 * keys of the sc_ports hash and the sc_cidrs LPM trie (each with the value 1). Building them
 * needs no libbpf, so the mapping is unit-tested on its own; applying them to the maps is the
 * daemon's job.
 */
#ifndef SC_POLICY_H
#define SC_POLICY_H

#include <stddef.h>

#include "config.h"
#include "sidecap.h"

struct sc_compiled {
	struct sc_policy policy;
	size_t n_ports;
	__u32 *ports; /* sc_port_key(slot, kind, port) */
	size_t n_cidrs;
	struct sc_cidr_key *cidrs; /* padding zeroed, so keys compare with memcmp */
};

/*
 * Compile CFG for SLOT, stamped with GENERATION. Returns 0, -EINVAL when SLOT is not a slot,
 * -E2BIG when the sets exceed a slot's half of the map capacity (the other half holds the
 * live policy during a swap), or -ENOMEM. On error *OUT is left zeroed.
 */
int sc_policy_compile(const struct sc_config *cfg, __u32 slot, __u32 generation,
		      struct sc_compiled *out);

void sc_compiled_free(struct sc_compiled *c);

#endif /* SC_POLICY_H */
