/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Selection tables for connect-time load balancing. A connect to a service VIP reads one entry
 * of the service's table (see struct sc_svc and SC_TABLE_CHUNK in sidecap.h): entry rr++ % M for
 * round_robin, prandom % M for random, sc_mix64(client key) % M for maglev. The tables are built
 * here, with no libbpf, so their properties are unit-tested on their own; writing them into
 * sc_lbtable is the daemon's job.
 */
#ifndef SC_LB_H
#define SC_LB_H

#include <stddef.h>
#include <stdint.h>

#include "sidecap.h"

/* Endpoints per service (a table entry is a u16 endpoint index): what a service may list. */
#define SC_LB_MAX_ENDPOINTS SC_SVC_MAX_ENDPOINTS
_Static_assert(SC_LB_MAX_ENDPOINTS <= 65536, "endpoint indices fit in a table entry");

/* Cap on M for random and round_robin: larger weight sums are scaled down to fit. */
#define SC_LB_MAX_WRR_SIZE 65536

/*
 * Build the selection table of one service. Endpoint i has WEIGHTS[i] (0 = drained: never
 * picked) and the stable identity EP_IDS[i] (a hash of its address:port), which only maglev uses
 * (EP_IDS may be NULL for the others). On success *TABLE is a malloc'd array of *M endpoint
 * indices (the caller frees it), and 0 is returned.
 *
 * random, round_robin: M is the sum of the weights divided by their gcd; a sum above
 * SC_LB_MAX_WRR_SIZE is scaled down proportionally, every non-zero weight staying >= 1. The
 * entries are in smooth weighted round-robin order (nginx's), so any M consecutive entries give
 * each endpoint exactly its weight, and no endpoint takes long runs.
 *
 * maglev: the weighted Maglev lookup table (Maglev paper, section 3.4; Envoy's weighted
 * variant). M is prime and at least 100 times the number of endpoints with a non-zero weight,
 * but it is taken from a fixed ladder (sc_lb_maglev_size()) rather than being the smallest such
 * prime: key % M changes for nearly every key when M does, so M must stay put while endpoints
 * come and go. The table depends on the endpoints' ids and weights, not on their order in the
 * list. Built from scratch, it is not minimally disruptive: when an endpoint leaves, the others
 * reach contested slots in a different order and trade some among themselves (removing one of
 * 20 moves up to 1.53/20 of the keys). A table that replaces a live one is therefore built with
 * sc_lb_maglev_rebuild().
 *
 * Returns -EINVAL when N is 0 or above SC_LB_MAX_ENDPOINTS, every weight is 0, BALANCE is
 * unknown, or maglev has no EP_IDS; -ENOMEM. On error *TABLE and *M are left untouched.
 */
int sc_lb_table(int balance, const uint32_t *weights, const uint64_t *ep_ids, size_t n,
		uint16_t **table, uint32_t *m);

/*
 * The Maglev M for NZ endpoints of non-zero weight (1 <= NZ <= SC_LB_MAX_ENDPOINTS): the
 * smallest prime >= 100 * the rung of NZ, the rungs being 1, 2, 5, 10, 20, 40, 80, 160, 256.
 * M changes only when NZ crosses a rung; then every client may move. Returns 0 when NZ is out
 * of range.
 */
uint32_t sc_lb_maglev_size(size_t nz);

/*
 * The Maglev table for the endpoints (WEIGHTS, EP_IDS, N, as for sc_lb_table()), built from
 * PREV, the table live now: PREV_M entries, each an index into PREV_IDS[PREV_N], the ids of the
 * endpoints it was built for. When M (sc_lb_maglev_size() of the new non-zero count) equals
 * PREV_M, a slot keeps its endpoint unless that endpoint left, was drained, or holds more than
 * its new share; only the freed slots are filled again, by the weighted Maglev population
 * restricted to them. Removing one of n endpoints then moves its keys and no others (about
 * 1/n); adding one moves about 1/(n+1) of the keys, all to it; a weight change moves only what
 * the new shares demand. Each endpoint holds exactly its share of M rounded by largest
 * remainder (and at least one slot), and the table depends on ids and weights, not on list
 * order. An entry of PREV not below PREV_N is refilled as if its endpoint had left.
 *
 * When PREV is NULL or M differs from PREV_M (the non-zero count crossed a rung: every client
 * moves anyway), this is sc_lb_table(SC_LB_MAGLEV, ...). Ownership and errors are those of
 * sc_lb_table(), plus -EINVAL when PREV is given without PREV_IDS or with PREV_N above
 * SC_LB_MAX_ENDPOINTS.
 */
int sc_lb_maglev_rebuild(const uint16_t *prev, uint32_t prev_m, const uint64_t *prev_ids,
			 size_t prev_n, const uint32_t *weights, const uint64_t *ep_ids, size_t n,
			 uint16_t **table, uint32_t *m);

/* The entry the kernel picks for a Maglev client KEY. */
static inline uint16_t sc_lb_maglev_pick(const uint16_t *table, uint32_t m, uint64_t key)
{
	return table[sc_mix64(key) % m];
}

#endif /* SC_LB_H */
