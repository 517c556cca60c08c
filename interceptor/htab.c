// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define SC_HTAB_MIN_CAP 64

uint64_t sc_fnv1a(const void *p, size_t len, uint64_t h)
{
	const unsigned char *b = p;

	while (len--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint32_t sc_htab_hash(const void *key, size_t len)
{
	uint64_t h = sc_fnv1a(key, len, SC_FNV1A_INIT);
	/* FNV ends with a multiply, which leaves the low bits weakest: fold high bits in. */
	uint32_t folded = (uint32_t)(h ^ (h >> 29));

	return folded ? folded : 1;
}

/* A copied key is in the slot, or in an allocation of its own when longer than the slot holds. */
static bool sc_htab_key_inline(const struct sc_htab *t, const struct sc_htab_slot *s)
{
	return !t->borrow && s->len <= SC_HTAB_INLINE;
}

/* A copy of a longer key, which the table frees. */
static bool sc_htab_key_allocated(const struct sc_htab *t, const struct sc_htab_slot *s)
{
	return !t->borrow && s->len > SC_HTAB_INLINE;
}

static const void *sc_htab_key(const struct sc_htab *t, const struct sc_htab_slot *s)
{
	return sc_htab_key_inline(t, s) ? s->key.bytes : s->key.ptr;
}

/* The slot that holds KEY, or the empty one that ends its run. T has slots. */
static size_t sc_htab_slot_of(const struct sc_htab *t, const void *key, uint32_t len, uint32_t hash)
{
	size_t i = hash & (t->cap - 1);
	const struct sc_htab_slot *s;

	for (; (s = &t->v[i])->hash; i = (i + 1) & (t->cap - 1))
		if (s->hash == hash && s->len == len && !memcmp(sc_htab_key(t, s), key, len))
			break;
	return i;
}

int sc_htab_reserve(struct sc_htab *t, size_t want)
{
	struct sc_htab_slot *v;
	size_t cap = t->cap ? t->cap : SC_HTAB_MIN_CAP, i, k;

	while (cap < 2 * want)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* The keys are distinct: each goes to the first empty slot from its home, slot and all. */
	for (i = 0; i < t->cap; i++) {
		if (!t->v[i].hash)
			continue;
		for (k = t->v[i].hash & (cap - 1); v[k].hash; k = (k + 1) & (cap - 1))
			;
		v[k] = t->v[i];
	}
	free(t->v);
	t->v = v;
	t->cap = cap;
	return 0;
}

static int sc_htab_insert(struct sc_htab *t, const void *key, size_t len, size_t val, bool replace)
{
	struct sc_htab_slot *s;
	uint32_t hash;
	void *copy;
	int err;

	if (len > UINT32_MAX)
		return -EINVAL;
	err = sc_htab_reserve(t, t->n + 1);
	if (err)
		return err;
	hash = sc_htab_hash(key, len);
	s = &t->v[sc_htab_slot_of(t, key, len, hash)];
	if (s->hash) {
		if (!replace)
			return -EEXIST;
		if (t->borrow)
			s->key.ptr = key;
		s->val = val;
		return 0;
	}
	s->len = len;
	if (t->borrow) {
		s->key.ptr = key;
	} else if (sc_htab_key_inline(t, s)) {
		memcpy(s->key.bytes, key, len);
	} else {
		copy = malloc(len);
		if (!copy) {
			s->len = 0;
			return -ENOMEM;
		}
		memcpy(copy, key, len);
		s->key.ptr = copy;
	}
	s->hash = hash;
	s->val = val;
	t->n++;
	return 0;
}

int sc_htab_add(struct sc_htab *t, const void *key, size_t len, size_t val)
{
	return sc_htab_insert(t, key, len, val, false);
}

int sc_htab_set(struct sc_htab *t, const void *key, size_t len, size_t val)
{
	return sc_htab_insert(t, key, len, val, true);
}

bool sc_htab_find(const struct sc_htab *t, const void *key, size_t len, size_t *val)
{
	const struct sc_htab_slot *s;

	if (!t->cap || len > UINT32_MAX)
		return false;
	s = &t->v[sc_htab_slot_of(t, key, len, sc_htab_hash(key, len))];
	if (!s->hash)
		return false;
	if (val)
		*val = s->val;
	return true;
}

/* Whether HOME lies cyclically in (HOLE, AT]: the entry at AT may not move back into HOLE. */
static bool sc_htab_between(size_t home, size_t hole, size_t at)
{
	return hole <= at ? (hole < home && home <= at) : (hole < home || home <= at);
}

bool sc_htab_del(struct sc_htab *t, const void *key, size_t len)
{
	size_t hole, i, mask = t->cap - 1;

	if (!t->cap || len > UINT32_MAX)
		return false;
	hole = sc_htab_slot_of(t, key, len, sc_htab_hash(key, len));
	if (!t->v[hole].hash)
		return false;
	if (sc_htab_key_allocated(t, &t->v[hole]))
		free((void *)t->v[hole].key.ptr);
	for (i = (hole + 1) & mask; t->v[i].hash; i = (i + 1) & mask) {
		if (sc_htab_between(t->v[i].hash & mask, hole, i))
			continue;
		t->v[hole] = t->v[i];
		hole = i;
	}
	memset(&t->v[hole], 0, sizeof(t->v[hole]));
	t->n--;
	return true;
}

void sc_htab_free(struct sc_htab *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		if (t->v[i].hash && sc_htab_key_allocated(t, &t->v[i]))
			free((void *)t->v[i].key.ptr);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
