// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The parse cache: a base text and an edit to it. The input is
 *
 *	BASE "\n#--edit--\n" OFFSET " " DELETE "\n" INSERT
 *
 * (OFFSET and DELETE in decimal, clipped to the base): the edited text is BASE with DELETE bytes
 * at OFFSET replaced by INSERT, so that it stays close to the base and the cache gets to splice.
 * Without the separator the whole input is the base and the edit is the base again. The base is
 * parsed through the cache, then the edited text; the cached result must equal the whole parse
 * of the edited text, config and diagnostics (tests/unit/config_same.h).
 */
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define SAME_CHECK FUZZ_CHECK
#include "../unit/config_same.h"

static const char sep[] = "\n#--edit--\n";

/* A decimal number at *P (before END), advanced past it and one separator byte. */
static size_t number(const char **p, const char *end)
{
	size_t n = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		if (n < (1u << 24))
			n = n * 10 + (size_t)(**p - '0');
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	return n;
}

/* Parse TEXT through CACHE and whole; both must agree. */
static void parse_both(struct sc_config_cache *cache, const char *text, size_t len)
{
	struct sc_diags da = {0}, db = {0};
	struct sc_config a, b;
	int ea, eb;

	ea = sc_config_parse_cached(cache, "edit.yaml", text, len, SC_MODE_FROM_FILE, &a, &da);
	eb = sc_config_parse_string_mode("edit.yaml", text, len, SC_MODE_FROM_FILE, &b, &db);
	FUZZ_CHECK(ea == eb, "cached %d, whole %d", ea, eb);
	same_diags(&da, &db);
	same_config(&a, &b);
	sc_config_free(&a);
	sc_config_free(&b);
	sc_diags_free(&da);
	sc_diags_free(&db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *end = in + size, *p, *cut;
	size_t base_len = size, off = 0, del = 0, ins_len = 0, len;
	struct sc_config_cache *cache;
	const char *ins = NULL;
	char *text;

	cut = memmem(in, size, sep, sizeof(sep) - 1);
	if (cut) {
		base_len = (size_t)(cut - in);
		p = cut + sizeof(sep) - 1;
		off = number(&p, end);
		del = number(&p, end);
		ins = p;
		ins_len = (size_t)(end - p);
		off = base_len ? off % (base_len + 1) : 0;
		if (del > base_len - off)
			del = base_len - off;
	}
	len = base_len - del + ins_len;
	/* Exactly LEN bytes, no NUL after them: a read past the end is caught. */
	text = malloc(len ? len : 1);
	if (!text)
		return 0;
	memcpy(text, in, off);
	if (ins_len)
		memcpy(text + off, ins, ins_len);
	memcpy(text + off + ins_len, in + off + del, base_len - off - del);

	/* No size floor, so that small texts are spliced too. */
	cache = sc_config_cache_new(0);
	if (cache) {
		parse_both(cache, in, base_len);
		parse_both(cache, text, len);
		sc_config_cache_free(cache);
	}
	free(text);
	return 0;
}
