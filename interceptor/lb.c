// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"

/* Marks a Maglev slot not yet taken; endpoint indices stay below SC_LB_MAX_ENDPOINTS. */
#define LB_EMPTY 0xffff

/* Marks, during a rebuild, a slot its over-target endpoint keeps; no endpoint index has it. */
#define LB_KEEP 0x8000
_Static_assert(SC_LB_MAX_ENDPOINTS == 256, "the release pass folds LB_KEEP into bit 8");

/* Seeds of the two hashes of an endpoint id that give its Maglev offset and skip. */
#define LB_SEED_OFFSET 0x9e3779b97f4a7c15ULL
#define LB_SEED_SKIP   0xc2b2ae3d27d4eb4fULL

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
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

uint32_t sc_lb_maglev_size(size_t nz)
{
	static const uint32_t rungs[] = {1, 2, 5, 10, 20, 40, 80, 160, SC_LB_MAX_ENDPOINTS};
	uint32_t m = 0;

	if (nz == 0 || nz > SC_LB_MAX_ENDPOINTS)
		return 0;
	for (size_t i = 0; i < sizeof(rungs) / sizeof(rungs[0]); i++) {
		if (nz <= rungs[i]) {
			m = 100 * rungs[i];
			break;
		}
	}
	while (!is_prime(m))
		m++;
	return m;
}

/*
 * Random and round_robin. W holds the NZ non-zero weights, IDX their endpoint indices. nginx's
 * smooth weighted round robin: every step each endpoint earns its weight, the richest (the first
 * of equals) is picked and pays the total. Over any M consecutive steps each endpoint is picked
 * exactly its weight, spread as evenly as the weights allow.
 */
static int lb_wrr_table(uint64_t *w, const uint16_t *idx, size_t nz, uint16_t **table, uint32_t *m)
{
	int64_t cur[SC_LB_MAX_ENDPOINTS] = {0};
	uint64_t total = 0, g = 0;
	uint16_t *t;

	for (size_t i = 0; i < nz; i++) {
		g = gcd64(g, w[i]);
		total += w[i];
	}
	if (total / g > SC_LB_MAX_WRR_SIZE) {
		/* Each floor() loses under 1 and each max(1, .) adds at most 1 back: leaving NZ
		 * of headroom keeps the sum <= SC_LB_MAX_WRR_SIZE. */
		uint64_t room = SC_LB_MAX_WRR_SIZE - nz;

		g = 0;
		for (size_t i = 0; i < nz; i++) {
			w[i] = w[i] * room / total;
			if (w[i] == 0)
				w[i] = 1;
			g = gcd64(g, w[i]);
		}
	}
	total = 0;
	for (size_t i = 0; i < nz; i++) {
		w[i] /= g;
		total += w[i];
	}

	t = malloc(total * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (uint64_t s = 0; s < total; s++) {
		size_t best = 0;

		for (size_t i = 0; i < nz; i++) {
			cur[i] += (int64_t)w[i];
			if (cur[i] > cur[best])
				best = i;
		}
		cur[best] -= (int64_t)total;
		t[s] = idx[best];
	}
	*table = t;
	*m = (uint32_t)total;
	return 0;
}

struct lb_mg {
	uint64_t id;
	uint64_t weight; /* the rate of its turns */
	uint64_t turns;	 /* turns taken * the largest weight */
	uint32_t pos;	 /* the next slot of the permutation to try */
	uint32_t skip;
	uint32_t left; /* slots it may still claim */
	uint16_t idx;
};

static int lb_mg_cmp(const void *a, const void *b)
{
	const struct lb_mg *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Put X at the start of its permutation of the M slots, (offset + j * skip) % M. */
static void lb_mg_start(struct lb_mg *x, uint32_t M)
{
	x->pos = (uint32_t)(sc_mix64(x->id ^ LB_SEED_OFFSET) % M);
	x->skip = (uint32_t)(sc_mix64(x->id ^ LB_SEED_SKIP) % (M - 1)) + 1;
	x->turns = 0;
}

static uint32_t lb_mg_next(const struct lb_mg *x, uint32_t c, uint32_t M)
{
	c += x->skip;
	return c >= M ? c - M : c;
}

/*
 * The Maglev population of the NFREE empty slots of T (M slots). Every endpoint walks its own
 * permutation and takes turns claiming the next empty slot of it, until it has claimed LEFT
 * slots or no slot is empty. Weights: in round r an endpoint takes a turn only while its turns
 * so far are below r * weight / max weight (Envoy's weighted Maglev), so the heaviest takes one
 * every round and the others in proportion. E is in id order, so the result does not depend on
 * the order of the endpoint list, and an endpoint leaving keeps the others' order.
 */
static void lb_mg_fill(struct lb_mg *e, size_t nz, uint16_t *t, uint32_t M, uint32_t nfree)
{
	uint64_t wmax = 0;
	uint32_t filled = 0;

	for (size_t i = 0; i < nz; i++)
		if (e[i].left && e[i].weight > wmax)
			wmax = e[i].weight;
	if (!nfree)
		return;
	for (uint64_t round = 1;; round++) {
		for (size_t i = 0; i < nz; i++) {
			struct lb_mg *x = &e[i];
			uint32_t c = x->pos;

			if (!x->left || round * x->weight < x->turns)
				continue;
			x->turns += wmax;
			while (t[c] != LB_EMPTY)
				c = lb_mg_next(x, c, M);
			t[c] = x->idx;
			x->pos = lb_mg_next(x, c, M);
			x->left--;
			if (++filled == nfree)
				return;
		}
	}
}

/* Maglev from scratch: E (NZ endpoints of non-zero weight) fills an empty table. */
static int lb_maglev_table(struct lb_mg *e, size_t nz, uint16_t **table, uint32_t *m)
{
	uint32_t M = sc_lb_maglev_size(nz);
	uint16_t *t;

	t = malloc(M * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t, 0xff, M * sizeof(*t));
	for (size_t i = 0; i < nz; i++) {
		lb_mg_start(&e[i], M);
		e[i].left = UINT32_MAX;
	}
	qsort(e, nz, sizeof(*e), lb_mg_cmp);
	lb_mg_fill(e, nz, t, M, M);
	*table = t;
	*m = M;
	return 0;
}

int sc_lb_table(int balance, const uint32_t *weights, const uint64_t *ep_ids, size_t n,
		uint16_t **table, uint32_t *m)
{
	struct lb_mg mg[SC_LB_MAX_ENDPOINTS];
	uint64_t w[SC_LB_MAX_ENDPOINTS];
	uint16_t idx[SC_LB_MAX_ENDPOINTS];
	size_t nz = 0;

	if (!weights || !table || !m || n == 0 || n > SC_LB_MAX_ENDPOINTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		w[nz] = weights[i];
		idx[nz] = (uint16_t)i;
		nz++;
	}
	if (nz == 0)
		return -EINVAL;

	switch (balance) {
	case SC_LB_RANDOM:
	case SC_LB_ROUND_ROBIN:
		return lb_wrr_table(w, idx, nz, table, m);
	case SC_LB_MAGLEV:
		if (!ep_ids)
			return -EINVAL;
		for (size_t i = 0; i < nz; i++)
			mg[i] = (struct lb_mg){.id = ep_ids[idx[i]], .weight = w[i], .idx = idx[i]};
		return lb_maglev_table(mg, nz, table, m);
	default:
		return -EINVAL;
	}
}

struct lb_rank {
	uint64_t rem;  /* weight * M % the weight sum: the fraction floor() dropped */
	uint32_t held; /* it holds more slots than the floor: rounding it up keeps one in place */
	uint32_t k;    /* its place in id order */
};

static int lb_rank_cmp(const void *a, const void *b)
{
	const struct lb_rank *x = a, *y = b;

	if (x->rem != y->rem)
		return x->rem > y->rem ? -1 : 1;
	if (x->held != y->held)
		return x->held > y->held ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/*
 * The slots each of E (NZ endpoints in id order) should hold out of M: its weight share,
 * rounded by largest remainder so that the targets sum to M. Equal remainders go first to the
 * endpoints that already hold more than the floor (HELD), so that rounding does not move a
 * slot for nothing and a table already at its targets is rebuilt unchanged; then by id. An endpoint
 * whose share rounds to 0 still gets one slot, taken from the largest target, as in a fresh build a
 * non-zero weight is always picked sometimes.
 */
static void lb_mg_targets(const struct lb_mg *e, size_t nz, uint32_t M, const uint32_t *held,
			  uint32_t *target)
{
	struct lb_rank r[SC_LB_MAX_ENDPOINTS];
	uint64_t sum = 0;
	uint32_t given = 0;

	for (size_t k = 0; k < nz; k++)
		sum += e[k].weight;
	for (size_t k = 0; k < nz; k++) {
		uint64_t share = e[k].weight * M;

		target[k] = (uint32_t)(share / sum);
		given += target[k];
		r[k] = (struct lb_rank){
			.rem = share % sum, .held = held[k] > target[k], .k = (uint32_t)k};
	}
	qsort(r, nz, sizeof(*r), lb_rank_cmp);
	/* Each floor() drops under 1, so fewer than NZ slots are left over. */
	for (size_t i = 0; given < M; i++, given++)
		target[r[i].k]++;
	for (size_t k = 0; k < nz; k++) {
		size_t big = 0;

		if (target[k])
			continue;
		for (size_t j = 1; j < nz; j++)
			if (target[j] > target[big])
				big = j;
		/* M >= 100 * NZ, so the largest target is far above 1. */
		target[big]--;
		target[k] = 1;
	}
}

/* The first of E (NZ, in id order) whose id is ID, or LB_EMPTY. */
static uint16_t lb_mg_find(const struct lb_mg *e, size_t nz, uint64_t id)
{
	size_t lo = 0, hi = nz;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nz && e[lo].id == id ? (uint16_t)lo : LB_EMPTY;
}

/*
 * Keep PREV's slots of endpoints still present, then release what an endpoint holds beyond its
 * target: the slots latest in its own permutation. The choice then depends on that endpoint
 * alone, not on list order, and it keeps the slots earliest in its permutation, those a fresh
 * build tends to give it. The freed slots are
 * filled by the Maglev population restricted to them, each endpoint claiming what it lacks.
 */
static int lb_maglev_rebuild(struct lb_mg *e, size_t nz, uint32_t M, const uint16_t *prev,
			     const uint64_t *prev_ids, size_t prev_n, uint16_t **table)
{
	uint32_t held[SC_LB_MAX_ENDPOINTS] = {0}, target[SC_LB_MAX_ENDPOINTS];
	uint16_t map[SC_LB_MAX_ENDPOINTS];
	/* What an entry becomes once the excess is released: [idx] when not kept, [256 + idx]
	 * when kept (LB_KEEP folded into bit 8), so the pass over the table does not branch. */
	uint16_t after[2 * SC_LB_MAX_ENDPOINTS];
	uint32_t nfree = M, over = 0;
	uint16_t *t;

	t = malloc(M * sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t k = 0; k < nz; k++)
		lb_mg_start(&e[k], M);
	for (size_t p = 0; p < prev_n; p++)
		map[p] = lb_mg_find(e, nz, prev_ids[p]);

	/* An entry past PREV_N (a corrupt live table) is refilled like a departed endpoint's. */
	for (uint32_t c = 0; c < M; c++) {
		uint16_t k = prev[c] < prev_n ? map[prev[c]] : LB_EMPTY;

		t[c] = k == LB_EMPTY ? LB_EMPTY : e[k].idx;
		if (k != LB_EMPTY)
			held[k]++;
	}

	lb_mg_targets(e, nz, M, held, target);
	for (size_t k = 0; k < nz; k++) {
		uint32_t kept = 0;

		for (uint32_t c = e[k].pos; held[k] > target[k] && kept < target[k];
		     c = lb_mg_next(&e[k], c, M)) {
			if (t[c] == e[k].idx) {
				t[c] |= LB_KEEP;
				kept++;
			}
		}
		after[e[k].idx] = held[k] > target[k] ? LB_EMPTY : e[k].idx;
		after[SC_LB_MAX_ENDPOINTS + e[k].idx] = e[k].idx;
		over += held[k] > target[k];
		e[k].left = held[k] < target[k] ? target[k] - held[k] : 0;
		e[k].weight = e[k].left;
		nfree -= held[k] < target[k] ? held[k] : target[k];
	}
	for (uint32_t c = 0; over && c < M; c++) {
		uint16_t v = t[c];
		uint16_t a = after[(v & (SC_LB_MAX_ENDPOINTS - 1)) | (v & LB_KEEP) >> 7];

		t[c] = v == LB_EMPTY ? LB_EMPTY : a;
	}

	lb_mg_fill(e, nz, t, M, nfree);
	*table = t;
	return 0;
}

int sc_lb_maglev_rebuild(const uint16_t *prev, uint32_t prev_m, const uint64_t *prev_ids,
			 size_t prev_n, const uint32_t *weights, const uint64_t *ep_ids, size_t n,
			 uint16_t **table, uint32_t *m)
{
	struct lb_mg e[SC_LB_MAX_ENDPOINTS];
	size_t nz = 0;
	uint32_t M;
	int err;

	if (!weights || !ep_ids || !table || !m || n == 0 || n > SC_LB_MAX_ENDPOINTS)
		return -EINVAL;
	if (prev && (!prev_ids || prev_n > SC_LB_MAX_ENDPOINTS))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		e[nz++] = (struct lb_mg){.id = ep_ids[i], .weight = weights[i], .idx = (uint16_t)i};
	}
	if (nz == 0)
		return -EINVAL;
	M = sc_lb_maglev_size(nz);
	if (!prev || prev_m != M)
		return sc_lb_table(SC_LB_MAGLEV, weights, ep_ids, n, table, m);

	qsort(e, nz, sizeof(*e), lb_mg_cmp);
	err = lb_maglev_rebuild(e, nz, M, prev, prev_ids, prev_n, table);
	if (err)
		return err;
	*m = M;
	return 0;
}
