// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "htab.h"

#define NKEYS 10000

static struct sc_htab t;

static void teardown(void)
{
	sc_htab_free(&t);
	memset(&t, 0, sizeof(t));
}

TestSuite(htab, .fini = teardown);

/* Key I: a name of a few bytes, or of more than a slot holds when LONG. */
static size_t key_of(char *buf, size_t size, unsigned int i, bool long_key)
{
	return snprintf(buf, size, long_key ? "service-%u.namespace.svc.cluster.local" : "svc-%u",
			i);
}

static void assert_has(const void *key, size_t len, size_t want)
{
	size_t val = ~(size_t)0;

	cr_assert(sc_htab_find(&t, key, len, &val), "key of %zu bytes missing", len);
	cr_assert_eq(val, want);
}

Test(htab, fnv1a_matches_the_published_vectors)
{
	cr_assert_eq(sc_fnv1a("", 0, SC_FNV1A_INIT), 0xcbf29ce484222325ULL);
	cr_assert_eq(sc_fnv1a("a", 1, SC_FNV1A_INIT), 0xaf63dc4c8601ec8cULL);
	cr_assert_eq(sc_fnv1a("foobar", 6, SC_FNV1A_INIT), 0x85944171f73967e8ULL);
	/* Chained: the hash of "foo" continued over "bar" is that of "foobar". */
	cr_assert_eq(sc_fnv1a("bar", 3, sc_fnv1a("foo", 3, SC_FNV1A_INIT)), 0x85944171f73967e8ULL);
}

Test(htab, empty_table_finds_nothing_and_removes_nothing)
{
	cr_assert_not(sc_htab_find(&t, "a", 1, NULL));
	cr_assert_not(sc_htab_del(&t, "a", 1));
	cr_assert_eq(t.n, 0);
}

Test(htab, add_then_find_gives_the_value_and_add_again_is_eexist)
{
	cr_assert_eq(sc_htab_add(&t, "web", 3, 7), 0);
	cr_assert_eq(sc_htab_add(&t, "db", 2, 9), 0);
	assert_has("web", 3, 7);
	assert_has("db", 2, 9);
	cr_assert_eq(sc_htab_add(&t, "web", 3, 8), -EEXIST);
	assert_has("web", 3, 7);
	cr_assert_not(sc_htab_find(&t, "we", 2, NULL));
	cr_assert_not(sc_htab_find(&t, "webs", 4, NULL));
	cr_assert_eq(t.n, 2);
}

Test(htab, set_replaces_the_value_of_a_key_that_is_there)
{
	cr_assert_eq(sc_htab_set(&t, "web", 3, 1), 0);
	cr_assert_eq(sc_htab_set(&t, "web", 3, 2), 0);
	assert_has("web", 3, 2);
	cr_assert_eq(t.n, 1);
}

Test(htab, binary_keys_with_zero_bytes_are_distinct_by_every_byte_and_length)
{
	static const unsigned char a[] = {'a', 0, 'b'}, b[] = {'a', 0, 'c'}, z[4] = {0};

	cr_assert_eq(sc_htab_add(&t, a, sizeof(a), 1), 0);
	cr_assert_eq(sc_htab_add(&t, b, sizeof(b), 2), 0);
	cr_assert_eq(sc_htab_add(&t, a, 1, 3), 0);
	cr_assert_eq(sc_htab_add(&t, z, 4, 4), 0);
	cr_assert_eq(sc_htab_add(&t, z, 3, 5), 0);
	cr_assert_eq(sc_htab_add(&t, z, 0, 6), 0);
	assert_has(a, sizeof(a), 1);
	assert_has(b, sizeof(b), 2);
	assert_has("a", 1, 3);
	assert_has(z, 4, 4);
	assert_has(z, 3, 5);
	assert_has("", 0, 6);
	cr_assert_not(sc_htab_find(&t, z, 2, NULL));
	cr_assert_eq(t.n, 6);
}

Test(htab, copied_keys_survive_the_callers_buffer_short_and_long)
{
	char buf[64];
	size_t len;

	len = key_of(buf, sizeof(buf), 1, false);
	cr_assert_eq(sc_htab_add(&t, buf, len, 1), 0);
	len = key_of(buf, sizeof(buf), 2, true);
	cr_assert_gt(len, SC_HTAB_INLINE);
	cr_assert_eq(sc_htab_add(&t, buf, len, 2), 0);
	memset(buf, 'x', sizeof(buf));
	assert_has("svc-1", 5, 1);
	len = key_of(buf, sizeof(buf), 2, true);
	assert_has(buf, len, 2);
	cr_assert(sc_htab_del(&t, buf, len));
	cr_assert_not(sc_htab_find(&t, buf, len, NULL));
}

Test(htab, borrowed_keys_are_kept_by_pointer)
{
	static const char name[] = "svc-1";
	char copy[] = "svc-1";
	size_t i;

	t.borrow = true;
	cr_assert_eq(sc_htab_add(&t, name, strlen(name), 1), 0);
	assert_has(copy, strlen(copy), 1);
	for (i = 0; i < t.cap && !t.v[i].hash; i++)
		;
	cr_assert_lt(i, t.cap);
	cr_assert_eq(t.v[i].key.ptr, name);
	sc_htab_free(&t);
	cr_assert(t.borrow, "free keeps the table borrowing");
	cr_assert_eq(t.n, 0);
	cr_assert_null(t.v);
}

/* Many keys, short and long, through several doublings; then half removed, in any order. */
Test(htab, grows_across_many_keys_and_removes_half)
{
	char buf[64];
	size_t i, len;

	for (i = 0; i < NKEYS; i++) {
		len = key_of(buf, sizeof(buf), i, i % 3 == 0);
		cr_assert_eq(sc_htab_add(&t, buf, len, i), 0, "key %zu", i);
	}
	cr_assert_eq(t.n, NKEYS);
	cr_assert_geq(t.cap, 2 * t.n);
	cr_assert_eq(t.cap & (t.cap - 1), 0, "cap %zu is not a power of two", t.cap);
	for (i = 0; i < NKEYS; i++) {
		len = key_of(buf, sizeof(buf), i, i % 3 == 0);
		assert_has(buf, len, i);
	}
	for (i = 0; i < NKEYS; i += 2) {
		len = key_of(buf, sizeof(buf), i, i % 3 == 0);
		cr_assert(sc_htab_del(&t, buf, len), "key %zu", i);
		cr_assert_not(sc_htab_del(&t, buf, len), "key %zu removed twice", i);
	}
	cr_assert_eq(t.n, NKEYS / 2);
	for (i = 0; i < NKEYS; i++) {
		len = key_of(buf, sizeof(buf), i, i % 3 == 0);
		if (i % 2)
			assert_has(buf, len, i);
		else
			cr_assert_not(sc_htab_find(&t, buf, len, NULL), "key %zu", i);
	}
}

Test(htab, reserve_makes_room_so_adding_does_not_move_the_slots)
{
	char buf[16];
	struct sc_htab_slot *v;
	size_t i, len;

	cr_assert_eq(sc_htab_reserve(&t, 1000), 0);
	cr_assert_geq(t.cap, 2000);
	v = t.v;
	for (i = 0; i < 1000; i++) {
		len = key_of(buf, sizeof(buf), i, false);
		cr_assert_eq(sc_htab_add(&t, buf, len, i), 0);
	}
	cr_assert_eq(t.v, v);
}

/*
 * Keys that share one home slot form one run; removing from its middle or its start must leave
 * every other key findable (the later ones move back into the hole), also when the run wraps
 * past the last slot.
 */
Test(htab, colliding_keys_stay_findable_after_removals)
{
	enum { RUN = 8 };
	char keys[RUN][16], buf[16];
	size_t home, i, n = 0, len;
	unsigned int k;

	cr_assert_eq(sc_htab_reserve(&t, 1), 0);
	home = t.cap - 2; /* near the end: the run wraps round to slot 0 */
	for (k = 0; n < RUN; k++) {
		len = key_of(buf, sizeof(buf), k, false);
		if ((sc_htab_hash(buf, len) & (t.cap - 1)) == home)
			memcpy(keys[n++], buf, len + 1);
	}
	for (i = 0; i < RUN; i++)
		cr_assert_eq(sc_htab_add(&t, keys[i], strlen(keys[i]), i), 0);
	cr_assert_eq(t.cap, 64, "the run is in the table it was chosen for");
	cr_assert_neq(t.v[0].hash, 0, "the run wraps round");
	cr_assert(sc_htab_del(&t, keys[3], strlen(keys[3])));
	cr_assert(sc_htab_del(&t, keys[0], strlen(keys[0])));
	for (i = 0; i < RUN; i++) {
		if (i == 0 || i == 3)
			cr_assert_not(sc_htab_find(&t, keys[i], strlen(keys[i]), NULL));
		else
			assert_has(keys[i], strlen(keys[i]), i);
	}
	cr_assert_eq(sc_htab_add(&t, keys[3], strlen(keys[3]), 33), 0);
	assert_has(keys[3], strlen(keys[3]), 33);
	cr_assert_eq(t.n, RUN - 1);
}
