/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A hash table from byte strings to a size_t, for the daemon's own sets and maps ("table" alone
 * means a service's selection table here, see lb.h). Keys are given as pointer and length: a
 * name is its strlen() bytes, a fixed-size key its size, and zero bytes are allowed.
 *
 * Open addressing with linear probing, at most half full; a removal moves the rest of its run
 * back into the hole, so there are no tombstones and lookups stay short after many removals.
 * A zeroed struct sc_htab is an empty table that copies its keys; one with .borrow set keeps the
 * caller's pointers instead, and the caller keeps each key valid while it is in the table.
 */
#ifndef SC_HTAB_H
#define SC_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_FNV1A_INIT 0xcbf29ce484222325ULL

/* 64-bit FNV-1a of LEN bytes at P, continuing from H (SC_FNV1A_INIT to start). */
uint64_t sc_fnv1a(const void *p, size_t len, uint64_t h);

/*
 * A copied key of up to this many bytes is kept in its slot, so that adding it allocates nothing
 * once the table has room (sc_htab_reserve()); a longer one gets an allocation of its own.
 */
#define SC_HTAB_INLINE 24

struct sc_htab_slot {
	union {
		const void *ptr;		     /* borrowed, or the copy of a longer key */
		unsigned char bytes[SC_HTAB_INLINE]; /* the copy of a short key */
	} key;
	uint32_t len;
	uint32_t hash; /* never 0 in a used slot: 0 marks an empty one */
	size_t val;
};

struct sc_htab {
	struct sc_htab_slot *v;
	size_t n, cap; /* cap: 0, or a power of two at least twice n */
	bool borrow;   /* keys are the caller's; otherwise the table's own copies */
};

/* The hash a table places KEY by (its low bits pick the home slot); never 0. */
uint32_t sc_htab_hash(const void *key, size_t len);

/* Make room for WANT keys, so that adding up to that many allocates no slots: 0 or -ENOMEM. */
int sc_htab_reserve(struct sc_htab *t, size_t want);

/* Add KEY -> VAL unless KEY is there: 0, -EEXIST (the entry left as it was), -ENOMEM, -EINVAL. */
int sc_htab_add(struct sc_htab *t, const void *key, size_t len, size_t val);

/* Add KEY -> VAL, or give KEY (a borrowed one: the new pointer) VAL: 0, -ENOMEM or -EINVAL. */
int sc_htab_set(struct sc_htab *t, const void *key, size_t len, size_t val);

/* Whether KEY is there; its value in *VAL if so (VAL may be NULL). */
bool sc_htab_find(const struct sc_htab *t, const void *key, size_t len, size_t *val);

/* Remove KEY; whether it was there. Never allocates. */
bool sc_htab_del(struct sc_htab *t, const void *key, size_t len);

/* Free the slots and copied keys; the table is left empty, borrowing or copying as before. */
void sc_htab_free(struct sc_htab *t);

#endif /* SC_HTAB_H */
