// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The table of keys (interceptor/config_keys.c) that the parser, the defaults and the struct's
 * life cycle all follow: a row that disagrees with struct sc_config or with its mapping would
 * read a value into the wrong bytes, or free what it does not own.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config_int.h"

/* The size of a field of each type; 0 for the types that have no field of their own. */
static size_t type_size(enum sc_type t)
{
	switch (t) {
	case T_PATH:
	case T_CGROUP:
	case T_LISTEN:
		return sizeof(char *);
	case T_ID:
		return sizeof(uint32_t);
	case T_PORT:
		return sizeof(uint16_t);
	case T_BOOL:
	case T_BOOL_CHOICE:
		return sizeof(bool);
	case T_CHOICE:
	case T_ACCEL:
		return sizeof(int);
	case T_COUNT:
		return sizeof(uint32_t);
	case T_CIDRS:
	case T_ADDRS:
		return sizeof(struct sc_cidr_set);
	case T_PORTS:
		return sizeof(struct sc_port_set);
	default:
		return 0;
	}
}

Test(config_keys, every_id_has_a_row_under_a_mapping)
{
	size_t k;

	cr_assert_eq(sc_keys[K_ROOT].type, T_MAP);
	for (k = 1; k < K__MAX; k++) {
		const struct sc_key *key = &sc_keys[k];

		cr_assert_not_null(key->name, "key id %zu has no row", k);
		cr_assert_neq(key->name[0], '\0', "key id %zu has no name", k);
		cr_assert_eq(sc_keys[key->parent].type, T_MAP, "%s: parent is not a mapping",
			     key->path);
		cr_assert_lt((size_t)key->parent, k, "%s: its mapping's row comes after it",
			     key->path);
		/* A mapping given no value is an empty section; any other key needs the hint. */
		cr_assert(key->type == T_MAP || key->hint, "%s: no hint for the key given no value",
			  key->path);
	}
}

Test(config_keys, path_is_the_mapping_path_and_the_name)
{
	char want[128];
	size_t k;

	for (k = 1; k < K__MAX; k++) {
		const struct sc_key *key = &sc_keys[k];

		if (key->parent == K_ROOT)
			snprintf(want, sizeof(want), "%s", key->name);
		else
			snprintf(want, sizeof(want), "%s.%s", sc_keys[key->parent].path, key->name);
		cr_assert_str_eq(key->path, want);
	}
}

Test(config_keys, field_has_the_size_of_its_type_and_is_nobody_elses)
{
	size_t k, j;

	for (k = 0; k < K__MAX; k++) {
		const struct sc_key *key = &sc_keys[k];

		cr_assert_eq(key->size, type_size(key->type), "%s: field of %zu bytes", key->path,
			     key->size);
		cr_assert_leq(key->off + key->size, sizeof(struct sc_config), "%s", key->path);
		for (j = 0; j < k && key->size; j++)
			cr_assert(!sc_keys[j].size ||
					  sc_keys[j].off + sc_keys[j].size <= key->off ||
					  key->off + key->size <= sc_keys[j].off,
				  "%s and %s share bytes", key->path, sc_keys[j].path);
	}
}

Test(config_keys, choices_only_for_choice_types)
{
	size_t k;

	for (k = 0; k < K__MAX; k++) {
		const struct sc_key *key = &sc_keys[k];
		bool choice = key->type == T_CHOICE || key->type == T_BOOL_CHOICE;

		cr_assert_eq(key->choices != NULL, choice, "%s", key->path);
		cr_assert(!key->def || key->size, "%s: a default but no field", key->path);
	}
}
