// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The lists of bpf/sidecap.h as user space reads them (interceptor/abi.c): what a compiler
 * cannot check there is checked here. A counter without a metric family does not build; a
 * counter whose labels do not fit its family, or that repeats another's series, fails here.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "abi.h"

static bool name_ok(const char *s, bool metric)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (metric && c == ':') || (i && c >= '0' && c <= '9')))
			return false;
	}
	return i > 0 && strncmp(s, "__", 2);
}

Test(abi, every_map_name_macro_spells_its_map)
{
#define CHECK(id, name, ...) cr_assert_str_eq(SC_MAP_##id, #name);
	SC_MAPS(CHECK)
#undef CHECK
}

Test(abi, every_map_has_a_name_the_kernel_keeps_whole)
{
	size_t i;

	for (i = 0; i < SC_MAPID__MAX; i++) {
		cr_assert_lt(strlen(sc_maps[i].name), 16, "%s", sc_maps[i].name);
		cr_assert(sc_maps[i].capacity > 0 || !sc_maps[i].counted, "%s", sc_maps[i].name);
	}
}

Test(abi, every_family_is_a_counter_with_valid_names)
{
	size_t f, l;

	for (f = 0; f < SC_MF__MAX; f++) {
		const struct sc_family_info *fam = &sc_counter_families[f];
		size_t n = strlen(fam->name);

		cr_assert(name_ok(fam->name, true), "%s", fam->name);
		cr_assert(n > 6 && !strcmp(fam->name + n - 6, "_total"), "%s", fam->name);
		cr_assert(fam->help && fam->help[0], "%s has no help", fam->name);
		for (l = 0; l < 2 && fam->label[l]; l++)
			cr_assert(name_ok(fam->label[l], false), "%s", fam->name);
		cr_assert(l == 2 || !fam->label[1], "%s: second label without a first", fam->name);
	}
}

/* Counter I of INFO gives exactly the labels of its family, each a non-empty value. */
static void assert_labels_fit(const struct sc_counter_info *info)
{
	const struct sc_family_info *fam = &sc_counter_families[info->family];
	size_t l;

	cr_assert_lt((size_t)info->family, SC_MF__MAX, "%s", info->name);
	for (l = 0; l < 2; l++) {
		cr_assert_eq(!info->value[l], !fam->label[l], "%s: label %zu of %s", info->name, l,
			     fam->name);
		cr_assert(!info->value[l] || info->value[l][0], "%s: empty label value",
			  info->name);
	}
}

static bool same_series(const struct sc_counter_info *a, const struct sc_counter_info *b)
{
	size_t l;

	if (a->family != b->family)
		return false;
	for (l = 0; l < 2; l++)
		if (a->value[l] && strcmp(a->value[l], b->value[l]))
			return false;
	return true;
}

Test(abi, every_counter_is_one_series_of_its_family)
{
	const struct sc_counter_info *all[SC_C__MAX + SC_X__MAX];
	size_t i, j, n = 0;

	for (i = 0; i < SC_C__MAX; i++)
		all[n++] = &sc_counters[i];
	for (i = 0; i < SC_X__MAX; i++)
		all[n++] = &sc_node_counters[i];
	for (i = 0; i < n; i++) {
		assert_labels_fit(all[i]);
		for (j = 0; j < i; j++)
			cr_assert(!same_series(all[i], all[j]), "%s and %s are one series",
				  all[i]->name, all[j]->name);
	}
}

Test(abi, every_family_has_a_counter)
{
	bool used[SC_MF__MAX] = {false};
	size_t i;

	for (i = 0; i < SC_C__MAX; i++)
		used[sc_counters[i].family] = true;
	for (i = 0; i < SC_X__MAX; i++)
		used[sc_node_counters[i].family] = true;
	for (i = 0; i < SC_MF__MAX; i++)
		cr_assert(used[i], "%s has no counter", sc_counter_families[i].name);
}

/* The errors are one family whose reason is the counter's name after "errors__". */
Test(abi, every_error_counter_is_an_error_by_its_reason)
{
	size_t i;

	for (i = 0; i < SC_C__MAX + SC_X__MAX; i++) {
		const struct sc_counter_info *c =
			i < SC_C__MAX ? &sc_counters[i] : &sc_node_counters[i - SC_C__MAX];
		bool error = !strncmp(c->name, "errors__", 8);

		cr_assert_eq(error, c->family == SC_MF_ERRORS, "%s", c->name);
		if (error)
			cr_assert_str_eq(c->value[0], c->name + 8);
	}
}
