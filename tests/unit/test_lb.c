// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lb.h"

#define NKEYS 100000

static uint16_t *tbl, *tbl2;

static void teardown(void)
{
	free(tbl);
	free(tbl2);
	tbl = tbl2 = NULL;
}

TestSuite(lb, .fini = teardown);

/* The id the daemon would pass for endpoint 10.0.I/16:8080: a hash of its address and port. */
static uint64_t ep_id(unsigned int i)
{
	return sc_mix64((uint64_t)(0x0a000000u + i) << 16 | 8080);
}

static void ids_for(uint64_t *ids, size_t n, unsigned int first)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = ep_id(first + (unsigned int)i);
}

static void count_entries(const uint16_t *t, uint32_t m, size_t n, uint32_t *count)
{
	memset(count, 0, n * sizeof(*count));
	for (uint32_t i = 0; i < m; i++) {
		cr_assert_lt(t[i], n, "entry %u is %u, past the %zu endpoints", i, t[i], n);
		count[t[i]]++;
	}
}

static void assert_table(int balance, const uint32_t *w, size_t n, const uint16_t *want,
			 uint32_t want_m)
{
	uint32_t m = 0;

	cr_assert_eq(sc_lb_table(balance, w, NULL, n, &tbl, &m), 0);
	cr_assert_eq(m, want_m);
	for (uint32_t i = 0; i < m; i++)
		cr_assert_eq(tbl[i], want[i], "entry %u is %u, want %u", i, tbl[i], want[i]);
	free(tbl);
	tbl = NULL;
}

Test(lb, wrr_weights_3_1_give_m_4_in_smooth_order)
{
	const uint32_t w[] = {3, 1};
	const uint16_t want[] = {0, 0, 1, 0};

	assert_table(SC_LB_ROUND_ROBIN, w, 2, want, 4);
	assert_table(SC_LB_RANDOM, w, 2, want, 4);
}

Test(lb, wrr_weights_5_1_1_follow_nginx_order)
{
	const uint32_t w[] = {5, 1, 1};
	const uint16_t want[] = {0, 0, 1, 0, 2, 0, 0}; /* a a b a c a a */

	assert_table(SC_LB_ROUND_ROBIN, w, 3, want, 7);
}

Test(lb, wrr_divides_weights_by_their_gcd)
{
	const uint32_t w[] = {600, 200};
	const uint16_t want[] = {0, 0, 1, 0};

	assert_table(SC_LB_ROUND_ROBIN, w, 2, want, 4);
}

Test(lb, wrr_never_picks_a_drained_endpoint)
{
	const uint32_t w[] = {0, 4, 2, 0};
	const uint16_t want[] = {1, 2, 1};

	assert_table(SC_LB_ROUND_ROBIN, w, 4, want, 3);
}

Test(lb, wrr_scales_a_large_sum_down_keeping_every_endpoint)
{
	const uint32_t w[] = {100000, 1, 50000, 0};
	uint32_t m = 0, count[4];

	cr_assert_eq(sc_lb_table(SC_LB_ROUND_ROBIN, w, NULL, 4, &tbl, &m), 0);
	cr_assert_leq(m, SC_LB_MAX_WRR_SIZE);
	count_entries(tbl, m, 4, count);
	cr_assert_eq(count[1], 1);
	cr_assert_eq(count[3], 0);
	cr_assert_eq(count[0] + count[1] + count[2], m);
	/* 2:1 survives the scaling to within one entry. */
	cr_assert_leq(abs((int)count[0] - 2 * (int)count[2]), 2, "%u vs %u", count[0], count[2]);
}

Test(lb, wrr_scales_256_coprime_weights_to_at_most_65536)
{
	uint32_t w[SC_LB_MAX_ENDPOINTS], m = 0, count[SC_LB_MAX_ENDPOINTS];

	for (int i = 0; i < SC_LB_MAX_ENDPOINTS; i++)
		w[i] = i == 7 ? 1 : 4000000000u - (uint32_t)i;
	cr_assert_eq(sc_lb_table(SC_LB_RANDOM, w, NULL, SC_LB_MAX_ENDPOINTS, &tbl, &m), 0);
	cr_assert_leq(m, SC_LB_MAX_WRR_SIZE);
	/* Each weight loses under 1 to the floor, after a headroom of one per endpoint. */
	cr_assert_geq(m, SC_LB_MAX_WRR_SIZE - 2 * SC_LB_MAX_ENDPOINTS);
	count_entries(tbl, m, SC_LB_MAX_ENDPOINTS, count);
	for (int i = 0; i < SC_LB_MAX_ENDPOINTS; i++)
		cr_assert_geq(count[i], 1, "endpoint %d has no entry", i);
}

static const struct {
	size_t n;
	uint32_t w[6];
} weight_sets[] = {
	{3, {1, 1, 1}},	    {2, {3, 1}},	  {3, {5, 1, 1}},
	{4, {10, 0, 5, 1}}, {4, {7, 13, 29, 51}}, {6, {1, 2, 3, 4, 5, 1000}},
};

static void assert_shares(const uint32_t *w, size_t n, const uint32_t *count, uint32_t total,
			  double tolerance)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		double got = (double)count[i] / total, want = (double)w[i] / (double)sum;

		cr_assert(got >= want - tolerance && got <= want + tolerance,
			  "endpoint %zu of %zu: share %.4f, want %.4f +- %.2f", i, n, got, want,
			  tolerance);
		if (w[i] == 0)
			cr_assert_eq(count[i], 0);
	}
}

Test(lb, rr_over_10000_connects_matches_weights)
{
	for (size_t s = 0; s < sizeof(weight_sets) / sizeof(weight_sets[0]); s++) {
		size_t n = weight_sets[s].n;
		uint32_t m = 0, count[6] = {0};

		cr_assert_eq(sc_lb_table(SC_LB_ROUND_ROBIN, weight_sets[s].w, NULL, n, &tbl, &m),
			     0);
		for (uint64_t rr = 0; rr < 10000; rr++)
			count[tbl[rr % m]]++;
		assert_shares(weight_sets[s].w, n, count, 10000, 0.03);
		free(tbl);
		tbl = NULL;
	}
}

/* xorshift64*, seeded: the test is deterministic. */
static uint64_t prng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

Test(lb, random_over_10000_draws_matches_weights)
{
	uint64_t seed = 0x5eed;

	for (size_t s = 0; s < sizeof(weight_sets) / sizeof(weight_sets[0]); s++) {
		size_t n = weight_sets[s].n;
		uint32_t m = 0, count[6] = {0};

		cr_assert_eq(sc_lb_table(SC_LB_RANDOM, weight_sets[s].w, NULL, n, &tbl, &m), 0);
		for (int d = 0; d < 10000; d++)
			count[tbl[(uint32_t)(prng(&seed) >> 32) % m]]++;
		assert_shares(weight_sets[s].w, n, count, 10000, 0.03);
		free(tbl);
		tbl = NULL;
	}
}

static int is_prime(uint32_t x)
{
	if (x < 2)
		return 0;
	for (uint32_t d = 2; d * d <= x; d++)
		if (x % d == 0)
			return 0;
	return 1;
}

Test(lb, maglev_size_is_a_prime_at_least_100_per_endpoint)
{
	for (size_t n = 1; n <= SC_LB_MAX_ENDPOINTS; n++) {
		uint32_t m = sc_lb_maglev_size(n);

		cr_assert(is_prime(m), "n %zu: M %u is not prime", n, m);
		cr_assert_geq(m, 100 * n, "n %zu: M %u", n, m);
		cr_assert_geq(m, 101);
	}
	cr_assert_eq(sc_lb_maglev_size(1), 101);
	/* sidecap.h sizes sc_lbtable for services of 10 endpoints at M = 1009. */
	cr_assert_eq(sc_lb_maglev_size(10), 1009);
	cr_assert_eq(sc_lb_maglev_size(6), 1009);
	cr_assert_eq(sc_lb_maglev_size(0), 0);
	cr_assert_eq(sc_lb_maglev_size(SC_LB_MAX_ENDPOINTS + 1), 0);
}

Test(lb, maglev_table_is_prime_sized_and_skips_drained_endpoints)
{
	const uint32_t w[] = {1, 0, 2, 1, 0, 1};
	uint64_t ids[6];
	uint32_t m = 0, count[6];

	ids_for(ids, 6, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 6, &tbl, &m), 0);
	cr_assert(is_prime(m));
	cr_assert_geq(m, 100 * 4);
	count_entries(tbl, m, 6, count);
	cr_assert_eq(count[1], 0);
	cr_assert_eq(count[4], 0);
	cr_assert_gt(count[0], 0);
	cr_assert_gt(count[2], 0);
	cr_assert_gt(count[3], 0);
	cr_assert_gt(count[5], 0);
}

Test(lb, maglev_equal_weights_share_the_table_evenly)
{
	static const size_t ns[] = {1, 2, 3, 5, 7, 10, 20, 50, 256};
	uint32_t w[SC_LB_MAX_ENDPOINTS], count[SC_LB_MAX_ENDPOINTS];
	uint64_t ids[SC_LB_MAX_ENDPOINTS];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		uint32_t m = 0;

		for (size_t i = 0; i < n; i++)
			w[i] = 7;
		ids_for(ids, n, 100);
		cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, n, &tbl, &m), 0);
		count_entries(tbl, m, n, count);
		assert_shares(w, n, count, m, 0.02);
		free(tbl);
		tbl = NULL;
	}
}

Test(lb, maglev_weights_3_1_share_75_25)
{
	const uint32_t w[] = {3, 1};
	uint64_t ids[2];
	uint32_t m = 0, count[2];

	ids_for(ids, 2, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 2, &tbl, &m), 0);
	count_entries(tbl, m, 2, count);
	assert_shares(w, 2, count, m, 0.03);
}

Test(lb, maglev_unequal_weights_share_in_proportion)
{
	const uint32_t w[] = {1, 2, 3, 4, 10, 0, 5};
	uint64_t ids[7];
	uint32_t m = 0, count[7];

	ids_for(ids, 7, 40);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 7, &tbl, &m), 0);
	count_entries(tbl, m, 7, count);
	assert_shares(w, 7, count, m, 0.03);
}

Test(lb, maglev_table_does_not_depend_on_list_order)
{
	const uint32_t w[] = {1, 2, 1, 1, 3}, wr[] = {3, 1, 1, 2, 1};
	uint64_t ids[5], rev[5];
	uint32_t m = 0, m2 = 0;

	ids_for(ids, 5, 0);
	for (int i = 0; i < 5; i++)
		rev[i] = ids[4 - i];
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &m), 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, wr, rev, 5, &tbl2, &m2), 0);
	cr_assert_eq(m, m2);
	for (uint32_t i = 0; i < m; i++)
		cr_assert_eq(ids[tbl[i]], rev[tbl2[i]], "slot %u", i);
}

Test(lb, maglev_draining_an_endpoint_equals_removing_it)
{
	const uint32_t w[] = {1, 1, 0, 1, 1}, w2[] = {1, 1, 1, 1};
	uint64_t ids[5], ids2[4];
	uint32_t m = 0, m2 = 0;

	ids_for(ids, 5, 0);
	memcpy(ids2, ids, 2 * sizeof(*ids));
	memcpy(ids2 + 2, ids + 3, 2 * sizeof(*ids));
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &m), 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w2, ids2, 4, &tbl2, &m2), 0);
	cr_assert_eq(m, m2);
	for (uint32_t i = 0; i < m; i++)
		cr_assert_eq(ids[tbl[i]], ids2[tbl2[i]], "slot %u", i);
}

/* Endpoint ids 0..N-1 from the xorshift stream at SEED: ids with no structure at all. */
static void random_ids(uint64_t *ids, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = prng(&seed);
}

/* IDS without its entry R (the others keep their order and shift down one index). */
static void without(uint64_t *out, const uint64_t *ids, size_t n, size_t r)
{
	memcpy(out, ids, r * sizeof(*ids));
	memcpy(out + r, ids + r + 1, (n - r - 1) * sizeof(*ids));
}

static void all_ones(uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w[i] = 1;
}

/*
 * Each endpoint holds its weight's share of M rounded down or up, never further off: the
 * largest-remainder targets the rebuild promises (a weight-0 endpoint holds nothing).
 */
static void assert_exact_shares(const uint16_t *t, uint32_t m, const uint32_t *w, size_t n)
{
	uint32_t count[SC_LB_MAX_ENDPOINTS];
	uint64_t sum = 0;

	count_entries(t, m, n, count);
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		uint64_t share = (uint64_t)w[i] * m, floor = share / sum;

		cr_assert(count[i] == floor || (share % sum && count[i] == floor + 1),
			  "endpoint %zu of %zu (weight %u): %u slots of %u, want %.2f", i, n, w[i],
			  count[i], m, (double)share / (double)sum);
	}
}

struct churn {
	unsigned int moved;   /* keys whose endpoint changed */
	unsigned int of_gone; /* moved keys that were on the removed endpoint */
	unsigned int to_new;  /* moved keys that went to the added endpoint */
};

/* Clients of NKEYS keys before (T, M over IDS) and after (T2, M2 over IDS2): who moved where. */
static struct churn churn(const uint16_t *t, uint32_t m, const uint64_t *ids, const uint16_t *t2,
			  uint32_t m2, const uint64_t *ids2, uint64_t gone, uint64_t added)
{
	struct churn c = {0};

	for (uint64_t key = 0; key < NKEYS; key++) {
		uint64_t before = ids[sc_lb_maglev_pick(t, m, key)];
		uint64_t after = ids2[sc_lb_maglev_pick(t2, m2, key)];

		if (before == after)
			continue;
		c.moved++;
		c.of_gone += before == gone;
		c.to_new += after == added;
	}
	return c;
}

/* The id sets the churn tests run on: consecutive addresses from two bases, and random ids. */
enum { IDS_LOW, IDS_HIGH, IDS_RANDOM, IDS_SETS };

static void id_set(uint64_t *ids, size_t n, int set)
{
	if (set == IDS_RANDOM)
		random_ids(ids, n, 0xc0ffee + n);
	else
		ids_for(ids, n, set == IDS_LOW ? 0 : 1000);
}

static const size_t churn_ns[] = {5, 10, 20};

Test(lb, maglev_rebuild_removing_one_of_n_moves_only_its_keys)
{
	uint32_t w[SC_LB_MAX_ENDPOINTS];
	uint64_t ids[20], ids2[20];

	all_ones(w, SC_LB_MAX_ENDPOINTS);
	for (size_t k = 0; k < sizeof(churn_ns) / sizeof(churn_ns[0]); k++) {
		for (int set = 0; set < IDS_SETS; set++) {
			size_t n = churn_ns[k];
			uint32_t m = 0, m2 = 0;
			double worst = 0;

			id_set(ids, n, set);
			cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, n, &tbl, &m), 0);
			/* Remove each endpoint in turn from the live table. */
			for (size_t r = 0; r < n; r++) {
				struct churn c;

				without(ids2, ids, n, r);
				cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, n, w, ids2, n - 1,
								  &tbl2, &m2),
					     0);
				cr_assert_eq(m2, m, "n %zu: M changed from %u to %u", n, m, m2);
				assert_exact_shares(tbl2, m2, w, n - 1);
				c = churn(tbl, m, ids, tbl2, m2, ids2, ids[r], 0);
				cr_assert_leq((double)c.moved / NKEYS, 1.2 / n,
					      "n %zu, set %d, removing %zu: %u of %u keys moved", n,
					      set, r, c.moved, NKEYS);
				cr_assert_eq(
					c.of_gone, c.moved,
					"n %zu, set %d, removing %zu: %u of %u moved keys were "
					"not on it",
					n, set, r, c.moved - c.of_gone, c.moved);
				if ((double)c.moved / NKEYS > worst)
					worst = (double)c.moved / NKEYS;
				free(tbl2);
				tbl2 = NULL;
			}
			cr_log_info("maglev rebuild, remove 1 of %zu (ids %d): worst %.4f = %.3f/n",
				    n, set, worst, worst * n);
			free(tbl);
			tbl = NULL;
		}
	}
}

Test(lb, maglev_rebuild_adding_one_moves_about_one_in_n_plus_1_all_to_it)
{
	uint32_t w[SC_LB_MAX_ENDPOINTS];
	uint64_t ids[20], ids2[20];

	all_ones(w, SC_LB_MAX_ENDPOINTS);
	for (size_t k = 0; k < sizeof(churn_ns) / sizeof(churn_ns[0]); k++) {
		for (int set = 0; set < IDS_SETS; set++) {
			/* From n - 1 to n: the same rung of sc_lb_maglev_size(), so M stays. */
			size_t n = churn_ns[k];
			double worst = 0;

			id_set(ids, n, set);
			/* The newcomer is each endpoint in turn, so it lands anywhere in id order.
			 */
			for (size_t a = 0; a < n; a++) {
				uint32_t m = 0, m2 = 0;
				struct churn c;

				without(ids2, ids, n, a);
				cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids2, n - 1, &tbl, &m),
					     0);
				cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids2, n - 1, w, ids, n,
								  &tbl2, &m2),
					     0);
				cr_assert_eq(m2, m);
				assert_exact_shares(tbl2, m2, w, n);
				c = churn(tbl, m, ids2, tbl2, m2, ids, 0, ids[a]);
				cr_assert_leq((double)c.moved / NKEYS, 1.2 / n,
					      "%zu + 1 (set %d, adding %zu): %u keys moved", n - 1,
					      set, a, c.moved);
				cr_assert_geq((double)c.moved / NKEYS, 0.8 / n,
					      "%zu + 1 (set %d, adding %zu): %u keys moved", n - 1,
					      set, a, c.moved);
				cr_assert_eq(c.to_new, c.moved,
					     "%zu + 1 (set %d, adding %zu): %u moved keys went "
					     "elsewhere",
					     n - 1, set, a, c.moved - c.to_new);
				if ((double)c.moved / NKEYS > worst)
					worst = (double)c.moved / NKEYS;
				free(tbl);
				free(tbl2);
				tbl = tbl2 = NULL;
			}
			cr_log_info(
				"maglev rebuild, add 1 to %zu (ids %d): worst %.4f = %.3f/(n+1)",
				n - 1, set, worst, worst * n);
		}
	}
}

/*
 * A fresh build is not minimally disruptive: the remaining endpoints reach contested slots in
 * a different order and trade some among themselves. Measured here (worst single removal,
 * times n: n = 5: 1.13, n = 10: 1.24, n = 20: 1.53), this is why a live table is replaced by
 * sc_lb_maglev_rebuild(), which moves the removed endpoint's keys and no others.
 */
Test(lb, maglev_fresh_build_moves_more_keys_than_a_rebuild)
{
	uint32_t w[SC_LB_MAX_ENDPOINTS];
	uint64_t ids[20], ids2[20];
	uint16_t *fresh = NULL;

	all_ones(w, SC_LB_MAX_ENDPOINTS);
	for (size_t k = 0; k < sizeof(churn_ns) / sizeof(churn_ns[0]); k++) {
		size_t n = churn_ns[k];
		double worst_fresh = 0, worst_rebuild = 0;
		uint32_t m = 0, m2 = 0, m3 = 0;

		ids_for(ids, n, 0);
		cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, n, &tbl, &m), 0);
		for (size_t r = 0; r < n; r++) {
			struct churn cf, cr;

			without(ids2, ids, n, r);
			cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids2, n - 1, &fresh, &m3), 0);
			cr_assert_eq(
				sc_lb_maglev_rebuild(tbl, m, ids, n, w, ids2, n - 1, &tbl2, &m2),
				0);
			cf = churn(tbl, m, ids, fresh, m3, ids2, ids[r], 0);
			cr = churn(tbl, m, ids, tbl2, m2, ids2, ids[r], 0);
			cr_assert_leq(cr.moved, cf.moved, "n %zu, removing %zu", n, r);
			if ((double)cf.moved / NKEYS > worst_fresh)
				worst_fresh = (double)cf.moved / NKEYS;
			if ((double)cr.moved / NKEYS > worst_rebuild)
				worst_rebuild = (double)cr.moved / NKEYS;
			free(fresh);
			free(tbl2);
			fresh = tbl2 = NULL;
		}
		cr_log_info("maglev remove 1 of %zu, worst moved times n: fresh %.3f, rebuild %.3f",
			    n, worst_fresh * n, worst_rebuild * n);
		free(tbl);
		tbl = NULL;
	}
}

static const struct {
	size_t n;
	uint32_t w[8];
} share_sets[] = {
	{2, {3, 1}},
	{3, {5, 1, 1}},
	{4, {10, 0, 5, 1}},
	{4, {7, 13, 29, 51}},
	{6, {1, 2, 3, 4, 5, 1000}},
	{7, {1, 2, 3, 4, 10, 0, 5}},
	{8, {1, 1, 1, 1, 1, 1, 1, 1}},
};

Test(lb, maglev_rebuild_gives_each_endpoint_its_exact_share)
{
	uint32_t ones[8];
	uint64_t ids[8];

	all_ones(ones, 8);
	for (size_t s = 0; s < sizeof(share_sets) / sizeof(share_sets[0]); s++) {
		const uint32_t *w = share_sets[s].w;
		size_t n = share_sets[s].n, nz = 0;
		uint32_t m = 0, m2 = 0;

		for (size_t i = 0; i < n; i++)
			nz += w[i] != 0;
		ids_for(ids, n, 7);
		/* The live table: the same endpoints at equal weights, all of them in service
		 * when that keeps M (a set whose non-zero count crosses a rung starts fresh). */
		cr_assert_eq(sc_lb_table(SC_LB_MAGLEV,
					 sc_lb_maglev_size(n) == sc_lb_maglev_size(nz) ? ones : w,
					 ids, n, &tbl, &m),
			     0);
		cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, n, w, ids, n, &tbl2, &m2), 0);
		cr_assert_eq(m2, m);
		assert_exact_shares(tbl2, m2, w, n);
		free(tbl);
		free(tbl2);
		tbl = tbl2 = NULL;
	}
}

Test(lb, maglev_rebuild_to_weights_3_1_moves_only_what_the_shares_demand)
{
	const uint32_t w[] = {1, 1}, w2[] = {3, 1};
	uint32_t m = 0, m2 = 0, count[2], count2[2], changed = 0;
	uint64_t ids[2];

	ids_for(ids, 2, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 2, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 2, w2, ids, 2, &tbl2, &m2), 0);
	cr_assert_eq(m2, m);
	count_entries(tbl, m, 2, count);
	count_entries(tbl2, m2, 2, count2);
	/* 75% of M = 211 is 158.25. */
	cr_assert_leq(abs(4 * (int)count2[0] - 3 * (int)m2), 4, "%u of %u", count2[0], m2);
	cr_assert_leq(abs(4 * (int)count2[1] - (int)m2), 4, "%u of %u", count2[1], m2);
	for (uint32_t i = 0; i < m; i++) {
		changed += tbl[i] != tbl2[i];
		if (tbl[i] != tbl2[i])
			cr_assert_eq(tbl2[i], 0, "slot %u went to the lighter endpoint", i);
	}
	cr_assert_eq(changed, count2[0] - count[0]);
}

Test(lb, maglev_rebuild_never_picks_a_drained_endpoint_and_drain_equals_removal)
{
	const uint32_t w[] = {1, 1, 1, 1, 1}, drained[] = {1, 1, 0, 1, 1};
	uint64_t ids[5], ids2[4];
	uint16_t *removed = NULL;
	uint32_t m = 0, m2 = 0, m3 = 0, count[5];

	ids_for(ids, 5, 0);
	without(ids2, ids, 5, 2);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 5, drained, ids, 5, &tbl2, &m2), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 5, w, ids2, 4, &removed, &m3), 0);
	count_entries(tbl2, m2, 5, count);
	cr_assert_eq(count[2], 0);
	cr_assert_eq(m2, m3);
	for (uint32_t i = 0; i < m2; i++)
		cr_assert_eq(ids[tbl2[i]], ids2[removed[i]], "slot %u", i);
	free(removed);
}

Test(lb, maglev_rebuild_of_an_unchanged_set_returns_the_same_table)
{
	const uint32_t w[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	uint32_t ones[10], m = 0, m2 = 0;
	uint64_t ids[10];
	uint16_t *again = NULL;

	all_ones(ones, 10);
	ids_for(ids, 10, 0);
	/* From a fresh build of equal weights, whose shares already are the targets. */
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, ones, ids, 10, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 10, ones, ids, 10, &tbl2, &m2), 0);
	cr_assert_eq(m2, m);
	cr_assert_arr_eq(tbl2, tbl, m * sizeof(*tbl));
	free(tbl2);
	tbl2 = NULL;
	/* From a rebuild to unequal weights. */
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 10, w, ids, 10, &tbl2, &m2), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl2, m2, ids, 10, w, ids, 10, &again, &m), 0);
	cr_assert_eq(m, m2);
	cr_assert_arr_eq(again, tbl2, m * sizeof(*tbl));
	free(again);
}

Test(lb, maglev_rebuild_does_not_depend_on_list_order)
{
	const uint32_t w[] = {1, 2, 1, 1, 3, 2}, wr[] = {2, 3, 1, 1, 2, 1};
	uint64_t ids[6], rev[6], prev_rev[5];
	uint16_t *prev_r = NULL;
	uint32_t m = 0, m2 = 0, mp = 0, mpr = 0;

	ids_for(ids, 6, 0);
	for (int i = 0; i < 6; i++)
		rev[i] = ids[5 - i];
	for (int i = 0; i < 5; i++)
		prev_rev[i] = ids[4 - i];
	/* The live table over the first five, built in both orders (the same table by id). */
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &mp), 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, wr + 1, prev_rev, 5, &prev_r, &mpr), 0);
	/* Add the sixth and reweight, from each live table, in each order. */
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, mp, ids, 5, w, ids, 6, &tbl2, &m), 0);
	free(tbl);
	tbl = NULL;
	cr_assert_eq(sc_lb_maglev_rebuild(prev_r, mpr, prev_rev, 5, wr, rev, 6, &tbl, &m2), 0);
	free(prev_r);
	cr_assert_eq(m, m2);
	for (uint32_t i = 0; i < m; i++)
		cr_assert_eq(ids[tbl2[i]], rev[tbl[i]], "slot %u", i);
}

Test(lb, maglev_rebuild_falls_back_to_a_fresh_build_when_m_changes)
{
	uint32_t w[6], m = 0, m2 = 0, m3 = 0;
	uint64_t ids[6];
	uint16_t *fresh = NULL;

	all_ones(w, 6);
	ids_for(ids, 6, 0);
	/* 5 endpoints: M = 503; 6: M = 1009. */
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 5, w, ids, 6, &tbl2, &m2), 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 6, &fresh, &m3), 0);
	cr_assert_neq(m2, m);
	cr_assert_eq(m2, m3);
	cr_assert_arr_eq(tbl2, fresh, m2 * sizeof(*fresh));
	free(tbl2);
	tbl2 = NULL;
	/* No live table: a fresh build too. */
	cr_assert_eq(sc_lb_maglev_rebuild(NULL, 0, NULL, 0, w, ids, 6, &tbl2, &m2), 0);
	cr_assert_eq(m2, m3);
	cr_assert_arr_eq(tbl2, fresh, m2 * sizeof(*fresh));
	free(fresh);
}

Test(lb, maglev_rebuild_rounds_up_the_endpoint_that_already_holds_more)
{
	uint32_t w[3] = {1, 1, 1}, ones[3] = {1, 1, 1}, m = 0, m2 = 0, count[3];
	uint64_t ids[3];
	size_t top = 0;

	ids_for(ids, 3, 0);
	for (size_t i = 1; i < 3; i++)
		if (ids[i] > ids[top])
			top = i;
	/* The highest id held double weight; back at equal weights, 503 / 3 leaves two slots
	 * over. By id they would go to the other two, so the highest would give up one slot more
	 * and another take it: it keeps one of them instead. */
	w[top] = 2;
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 3, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 3, ones, ids, 3, &tbl2, &m2), 0);
	cr_assert_eq(m2, 503);
	count_entries(tbl2, m2, 3, count);
	cr_assert_eq(count[top], 168);
	assert_exact_shares(tbl2, m2, ones, 3);
}

Test(lb, maglev_rebuild_gives_a_tiny_weight_one_slot)
{
	const uint32_t w[] = {1, 1}, w2[] = {1000000, 1};
	uint32_t m = 0, m2 = 0, count[2];
	uint64_t ids[2];

	ids_for(ids, 2, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 2, &tbl, &m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 2, w2, ids, 2, &tbl2, &m2), 0);
	count_entries(tbl2, m2, 2, count);
	cr_assert_eq(count[1], 1);
	cr_assert_eq(count[0], m2 - 1);
}

/* Slots that changed endpoint, and the fewest any table with the new shares must change. */
static void slot_changes(const uint16_t *t, const uint64_t *ids, size_t n, const uint16_t *t2,
			 const uint64_t *ids2, size_t n2, uint32_t m, uint32_t *changed,
			 uint32_t *needed)
{
	uint32_t count[SC_LB_MAX_ENDPOINTS], count2[SC_LB_MAX_ENDPOINTS];

	count_entries(t, m, n, count);
	count_entries(t2, m, n2, count2);
	*changed = *needed = 0;
	for (uint32_t i = 0; i < m; i++)
		*changed += ids[t[i]] != ids2[t2[i]];
	/* Every slot an endpoint loses (all of them when it leaves) must change. */
	for (size_t i = 0; i < n; i++) {
		uint32_t now = 0;

		for (size_t j = 0; j < n2; j++)
			if (ids2[j] == ids[i])
				now = count2[j];
		*needed += count[i] > now ? count[i] - now : 0;
	}
}

Test(lb, maglev_rebuild_through_50_random_changes_stays_exact_and_minimal)
{
	uint32_t w[20], w2[20], m = 0, m2 = 0;
	uint64_t ids[20], ids2[20], seed = 0xc4a1, next_id = 0;
	size_t n = 15, n2;

	/* Non-zero counts stay within 11..20: one rung, M = 2003 throughout. */
	for (size_t i = 0; i < n; i++) {
		ids[i] = ep_id((unsigned int)next_id++);
		w[i] = 1 + (uint32_t)(prng(&seed) % 4);
	}
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, n, &tbl, &m), 0);
	for (int step = 0; step < 50; step++) {
		uint32_t changed, needed;
		size_t nz = 0, i;
		int op = (int)(prng(&seed) % 3);

		memcpy(ids2, ids, n * sizeof(*ids));
		memcpy(w2, w, n * sizeof(*w));
		n2 = n;
		i = (size_t)(prng(&seed) % n);
		if (op == 0 && n < 20) {
			/* Add, at a random place in the list. */
			ids2[n2] = ids2[i];
			w2[n2++] = w2[i];
			ids2[i] = ep_id((unsigned int)next_id++);
			w2[i] = 1 + (uint32_t)(prng(&seed) % 4);
		} else if (op == 1 && n > 11) {
			/* Remove; the last endpoint takes its place in the list. */
			ids2[i] = ids2[--n2];
			w2[i] = w2[n2];
		} else {
			/* Reweight, draining (0) included. */
			w2[i] = (uint32_t)(prng(&seed) % 6);
		}
		for (size_t j = 0; j < n2; j++)
			nz += w2[j] != 0;
		if (nz < 11) {
			step--;
			continue;
		}
		cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, n, w2, ids2, n2, &tbl2, &m2), 0);
		cr_assert_eq(m2, m, "step %d", step);
		assert_exact_shares(tbl2, m2, w2, n2);
		slot_changes(tbl, ids, n, tbl2, ids2, n2, m, &changed, &needed);
		cr_assert_eq(changed, needed, "step %d (op %d): %u slots changed, %u needed", step,
			     op, changed, needed);
		free(tbl);
		tbl = tbl2;
		tbl2 = NULL;
		memcpy(ids, ids2, n2 * sizeof(*ids));
		memcpy(w, w2, n2 * sizeof(*w));
		n = n2;
	}
}

Test(lb, maglev_rebuild_refills_entries_past_the_old_endpoints)
{
	uint32_t w[5], m = 0, m2 = 0;
	uint64_t ids[5];

	all_ones(w, 5);
	ids_for(ids, 5, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 5, &tbl, &m), 0);
	/* A live table that names endpoints 5 and 0xffff of a 5-endpoint list. */
	tbl[0] = 5;
	tbl[1] = 0xffff;
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, m, ids, 5, w, ids, 5, &tbl2, &m2), 0);
	assert_exact_shares(tbl2, m2, w, 5);
	for (uint32_t i = 2; i < m; i++)
		cr_assert_eq(tbl2[i], tbl[i], "slot %u", i);
}

Test(lb, maglev_crossing_a_size_rung_changes_m)
{
	/* Documented cost of a stable M: past a rung, key % M changes and every client moves. */
	cr_assert_eq(sc_lb_maglev_size(5), 503);
	cr_assert_neq(sc_lb_maglev_size(6), sc_lb_maglev_size(5));
	cr_assert_eq(sc_lb_maglev_size(11), sc_lb_maglev_size(20));
}

Test(lb, errors)
{
	const uint32_t w[] = {1, 1}, zero[] = {0, 0};
	uint32_t big[SC_LB_MAX_ENDPOINTS + 1], m = 1234;
	uint64_t ids[SC_LB_MAX_ENDPOINTS + 1];
	uint16_t *t = (uint16_t *)&m;

	for (size_t i = 0; i <= SC_LB_MAX_ENDPOINTS; i++)
		big[i] = 1;
	ids_for(ids, SC_LB_MAX_ENDPOINTS + 1, 0);
	cr_assert_eq(sc_lb_table(SC_LB_ROUND_ROBIN, w, ids, 0, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, big, ids, SC_LB_MAX_ENDPOINTS + 1, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_RANDOM, zero, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, zero, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(0, w, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV + 1, w, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, NULL, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_RANDOM, NULL, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_RANDOM, w, ids, 2, NULL, &m), -EINVAL);
	cr_assert_eq(sc_lb_table(SC_LB_RANDOM, w, ids, 2, &t, NULL), -EINVAL);
	/* Failures leave the outputs alone. */
	cr_assert_eq(m, 1234);
	cr_assert_eq(t, (uint16_t *)&m);
	/* 256 endpoints is the limit, not past it. */
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, big, ids, SC_LB_MAX_ENDPOINTS, &tbl, &m), 0);
}

Test(lb, maglev_rebuild_errors_leave_the_outputs_alone)
{
	const uint32_t w[] = {1, 1}, zero[] = {0, 0};
	uint32_t big[SC_LB_MAX_ENDPOINTS + 1], m = 1234, live_m = 0;
	uint64_t ids[SC_LB_MAX_ENDPOINTS + 1];
	uint16_t *t = (uint16_t *)&m;

	for (size_t i = 0; i <= SC_LB_MAX_ENDPOINTS; i++)
		big[i] = 1;
	ids_for(ids, SC_LB_MAX_ENDPOINTS + 1, 0);
	cr_assert_eq(sc_lb_table(SC_LB_MAGLEV, w, ids, 2, &tbl, &live_m), 0);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, w, ids, 0, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, big, ids, SC_LB_MAX_ENDPOINTS + 1,
					  &t, &m),
		     -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, zero, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, NULL, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, w, NULL, 2, &t, &m), -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, w, ids, 2, NULL, &m), -EINVAL);
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, ids, 2, w, ids, 2, &t, NULL), -EINVAL);
	/* A live table needs the ids it was built for. */
	cr_assert_eq(sc_lb_maglev_rebuild(tbl, live_m, NULL, 2, w, ids, 2, &t, &m), -EINVAL);
	cr_assert_eq(
		sc_lb_maglev_rebuild(tbl, live_m, ids, SC_LB_MAX_ENDPOINTS + 1, w, ids, 2, &t, &m),
		-EINVAL);
	cr_assert_eq(m, 1234);
	cr_assert_eq(t, (uint16_t *)&m);
}
