// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The parse cache against the whole parse: after each edit, the config and the diagnostics that
 * sc_config_parse_cached() gives must be those sc_config_parse_string_mode() gives for the same
 * text, and the edits that touch only services items must have been spliced, not parsed whole.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>

#include "config.h"

static struct sc_config_cache *cache;

static void setup(void)
{
	/* No size floor: the files here are small. */
	cache = sc_config_cache_new(0);
	cr_assert_not_null(cache);
}

static void teardown(void)
{
	sc_config_cache_free(cache);
}

TestSuite(config_cache, .init = setup, .fini = teardown);

#define SAME_CHECK(cond, ...) cr_assert(cond, __VA_ARGS__)
#include "config_same.h"

/*
 * Parse TEXT through the cache and whole; both must agree. Returns whether the cache spliced,
 * and the result in *ERR.
 */
static bool parse_both(const char *text, int *err)
{
	struct sc_config a, b;
	struct sc_diags da = {0}, db = {0};
	struct sc_config_cache_stats st;
	int ea, eb;

	ea = sc_config_parse_cached(cache, "t.yaml", text, strlen(text), SC_MODE_FROM_FILE, &a,
				    &da);
	eb = sc_config_parse_string_mode("t.yaml", text, strlen(text), SC_MODE_FROM_FILE, &b, &db);
	cr_assert_eq(ea, eb, "cached %d, whole %d for:\n%s", ea, eb, text);
	same_diags(&da, &db);
	same_config(&a, &b);
	sc_config_free(&a);
	sc_config_free(&b);
	sc_diags_free(&da);
	sc_diags_free(&db);
	sc_config_cache_stats(cache, &st);
	if (err)
		*err = ea;
	return st.last_spliced;
}

/* A file with N services in the styles people write them, and keys before and after them. */
static char *gen_config(size_t n)
{
	char *text = NULL;
	size_t size = 0, i, j;
	FILE *f = open_memstream(&text, &size);

	cr_assert_not_null(f);
	fputs("# the pod's policy\ncgroup: /sys/fs/cgroup/pods/web\nproxy:\n  uid: 1337\n"
	      "  outboundPort: 15001\nservices:\n",
	      f);
	for (i = 0; i < n; i++) {
		if (i % 7 == 3)
			fputs("  # the next one is special\n\n", f);
		/* Some vips quoted, as tools that quote every string write them. */
		fprintf(f, "  - name: svc%zu\n    vip: %s10.96.%zu.%zu%s\n    port: %zu\n", i,
			i % 5 == 1 ? "\"" : "", i / 200, i % 200 + 1, i % 5 == 1 ? "\"" : "",
			8000 + i % 3);
		if (i % 4 == 0)
			fprintf(f, "    balance: %s\n", i % 8 ? "maglev" : "round_robin");
		if (i % 6 == 2)
			fputs("    sidecar: bypass\n", f);
		if (i % 3 == 0) {
			fputs("    endpoints:\n", f);
			for (j = 0; j < 3; j++)
				fprintf(f,
					"      - {address: 10.100.%zu.%zu, port: %zu, weight: "
					"%zu}\n",
					i / 200, i % 200, 9000 + j, j + 1);
		} else if (i % 3 == 1) {
			fprintf(f, "    endpoints: [{address: 10.100.%zu.%zu, port: 80}]\n",
				i / 200, i % 200);
		} else {
			fputs("    endpoints:\n", f);
			for (j = 0; j < 2; j++)
				fprintf(f,
					"      - address: 10.101.%zu.%zu\n        port: %zu\n"
					"        weight: %zu  # per endpoint\n",
					i / 200, i % 200, 7000 + j, 2 * j + 1);
		}
	}
	fputs("metrics:\n  listen: 127.0.0.1:15020\n", f);
	fclose(f);
	return text;
}

/* TEXT with the first occurrence of FROM replaced by TO. */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	cr_assert_not_null(at, "\"%s\" not in the text", from);
	cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from)), 0);
	return out;
}

struct edit_case {
	const char *desc;
	const char *from, *to;
	bool spliced; /* the cache must splice it (else it must parse the whole) */
	bool ok;      /* the result parses */
};

static const struct edit_case cases[] = {
	{"a weight in the middle", "port: 9001, weight: 2}\n      - {address: 10.100.0.9,",
	 "port: 9001, weight: 70}\n      - {address: 10.100.0.9,", true, true},
	{"a weight near the end", "10.100.0.18, port: 9002, weight: 3}",
	 "10.100.0.18, port: 9002, weight: 0}", true, true},
	{"the first service's name", "name: svc0\n", "name: first\n", true, true},
	{"a service added at the start", "services:\n",
	 "services:\n  - name: new\n    vip: 10.96.9.9\n    port: 1\n    endpoints: [{address: "
	 "10.1.1.1, port: 1}]\n",
	 true, true},
	{"a service added in the middle", "  - name: svc8\n",
	 "  - name: new\n    vip: 10.96.9.9\n    port: 1\n    endpoints: [{address: 10.1.1.1, "
	 "port: 1}]\n  - name: svc8\n",
	 true, true},
	{"a service added at the end", "metrics:\n",
	 "  - name: new\n    vip: 10.96.9.9\n    port: 1\n    endpoints: [{address: 10.1.1.1, "
	 "port: 1}]\nmetrics:\n",
	 true, true},
	{"the first service removed",
	 "  - name: svc0\n    vip: 10.96.0.1\n    port: 8000\n    balance: round_robin\n    "
	 "endpoints:\n      - {address: 10.100.0.0, port: 9000, weight: 1}\n      - {address: "
	 "10.100.0.0, port: 9001, weight: 2}\n      - {address: 10.100.0.0, port: 9002, weight: "
	 "3}\n",
	 "", true, true},
	{"a service in the middle removed",
	 "  - name: svc7\n    vip: 10.96.0.8\n    port: 8001\n    endpoints: [{address: "
	 "10.100.0.7, port: 80}]\n",
	 "", true, true},
	{"the last service removed",
	 "  - name: svc19\n    vip: 10.96.0.20\n    port: 8001\n    endpoints: [{address: "
	 "10.100.0.19, port: 80}]\n",
	 "", true, true},
	{"an endpoint added at the end of a block list", "10.100.0.3, port: 9002, weight: 3}\n",
	 "10.100.0.3, port: 9002, weight: 3}\n      - {address: 10.100.0.3, port: 9003}\n", true,
	 true},
	{"an endpoint added to a flow list", "[{address: 10.100.0.4, port: 80}]",
	 "[{address: 10.100.0.4, port: 80}, {address: 10.100.0.4, port: 81}]", true, true},
	{"a comment added inside an item", "    vip: 10.96.0.6\n",
	 "    # moved here\n    vip: 10.96.0.6\n", true, true},
	{"a comment changed", "# the next one is special", "# this one is special", true, true},
	{"a blank line and comment between items", "  - name: svc12\n",
	 "\n# twelve\n  - name: svc12\n", true, true},
	{"a balance changed", "balance: maglev", "balance: random", true, true},
	{"a quoted vip changed", "vip: \"10.96.0.2\"", "vip: \"10.96.0.99\"", true, true},
	{"a weight out of range", "port: 9001, weight: 2}", "port: 9001, weight: 70000}", false,
	 false},
	{"a duplicate name", "name: svc5\n", "name: svc4\n", false, false},
	{"a duplicate vip and port", "vip: 10.96.0.6\n    port: 8002",
	 "vip: 10.96.0.5\n    port: 8001", false, false},
	{"two names swapped through a third", "name: svc5\n", "name: svc4x\n", true, true},
	{"an unknown key", "    sidecar: bypass\n", "    sidecar: bypass\n    color: red\n", false,
	 false},
	{"bad indentation", "    vip: 10.96.0.6\n", "     vip: 10.96.0.6\n", false, false},
	{"an unclosed quote", "vip: \"10.96.0.2\"", "vip: \"10.96.0.2", false, false},
	{"an unclosed flow list", "[{address: 10.100.0.4, port: 80}]",
	 "[{address: 10.100.0.4, port: 80}", false, false},
	{"a tab", "    vip: 10.96.0.6\n", "    vip:\t10.96.0.6\n", false, true},
	{"a service's endpoints emptied", "endpoints: [{address: 10.100.0.4, port: 80}]",
	 "endpoints: []", false, false},
	{"the services key renamed", "services:\n", "service:\n", false, false},
	{"a key before services", "  outboundPort: 15001\n", "  outboundPort: 15002\n", false,
	 true},
	{"a key after services", "listen: 127.0.0.1:15020", "listen: 127.0.0.1:15021", false, true},
	{"a top-level key between services and metrics", "metrics:\n",
	 "acceleration: false\nmetrics:\n", false, true},
	{"a top-level key among the items", "  - name: svc8\n",
	 "acceleration: false\n  - name: svc8\n", false, false},
	{"a document end among the items", "  - name: svc8\n", "...\n  - name: svc8\n", false,
	 false},
	{"a document start among the items", "  - name: svc8\n", "---\n  - name: svc8\n", false,
	 false},
	{"a block scalar", "name: svc8\n", "name: |\n      svc8\n", false, false},
	{"an anchor without alias", "    endpoints: [{address: 10.100.0.4, port: 80}]\n",
	 "    endpoints: &e [{address: 10.100.0.4, port: 80}]\n", true, true},
	{"an item joined to the next line", "10.100.0.4, port: 80}]\n  - name: svc5",
	 "10.100.0.4, port: 80}]  - name: svc5", false, false},
	{"an item's dash moved to its own line", "  - name: svc8\n", "  -\n    name: svc8\n", false,
	 true},
	{"a line that continues the item before", "  - name: svc8\n",
	 "      - {address: 10.100.0.7, port: 81}\n  - name: svc8\n", false, false},
	{"items indented differently", "  - name: svc8\n    vip: 10.96.0.9\n",
	 "   - name: svc8\n     vip: 10.96.0.9\n", false, false},
	{"a non-ASCII comment", "# the next one is special", "# the next one is spécial", false,
	 true},
	{"a carriage return", "    vip: 10.96.0.6\n", "    vip: 10.96.0.6\r\n", false, true},
	{"a multi-line quoted name", "name: svc8\n", "name: \"svc\n      8\"\n", false, false},
	{"a tag", "name: svc8\n", "name: !!str svc8\n", true, true},
	{"a custom tag", "name: svc8\n", "name: !x svc8\n", true, true},
	{"an alias to an earlier anchor", "    vip: 10.96.0.6\n", "    vip: *v\n", false, false},
};

/*
 * The test runs in a process of its own, where pointers in the parameters would not be valid:
 * each is an index into cases[].
 */
ParameterizedTestParameters(config_cache, edit_matches_whole_parse)
{
	static size_t index[sizeof(cases) / sizeof(cases[0])];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		index[i] = i;
	return cr_make_param_array(size_t, index, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(size_t *i, config_cache, edit_matches_whole_parse)
{
	const struct edit_case *c = &cases[*i];
	char *base = gen_config(20), *changed = edit(base, c->from, c->to);
	int err;

	cr_assert_not(parse_both(base, &err), "the first parse is whole");
	cr_assert_eq(err, 0);
	cr_assert_eq(parse_both(changed, &err), c->spliced, "%s: %s", c->desc,
		     c->spliced ? "not spliced" : "spliced");
	cr_assert_eq(err == 0, c->ok, "%s: %d", c->desc, err);
	free(changed);
	free(base);
}

Test(config_cache, same_text_is_spliced_with_nothing_read)
{
	char *base = gen_config(20);
	struct sc_config_cache_stats st;

	parse_both(base, NULL);
	cr_assert(parse_both(base, NULL));
	sc_config_cache_stats(cache, &st);
	cr_assert_eq(st.last_items, 0);
	free(base);
}

Test(config_cache, one_changed_service_is_the_only_one_read)
{
	char *base = gen_config(300), *changed;
	struct sc_config_cache_stats st;

	parse_both(base, NULL);
	changed = edit(base, "10.100.1.49, port: 9001, weight: 2}", "10.100.1.49, port: 9001}");
	cr_assert(parse_both(changed, NULL));
	sc_config_cache_stats(cache, &st);
	cr_assert_eq(st.last_items, 1);
	cr_assert_eq(st.spliced, 1);
	cr_assert_eq(st.full, 1);
	free(changed);
	free(base);
}

Test(config_cache, rejected_edit_keeps_the_earlier_text_to_splice_into)
{
	char *base = gen_config(20);
	char *bad = edit(base, "name: svc9\n", "name: Svc9\n");
	char *fixed = edit(base, "name: svc9\n", "name: svc9b\n");
	int err;

	parse_both(base, NULL);
	cr_assert_not(parse_both(bad, &err));
	cr_assert_eq(err, -EINVAL);
	cr_assert(parse_both(fixed, &err));
	cr_assert_eq(err, 0);
	free(fixed);
	free(bad);
	free(base);
}

Test(config_cache, edits_in_a_row_keep_lines_and_order)
{
	char *text = gen_config(20), *next;
	int i;

	parse_both(text, NULL);
	/* Grow and shrink the file around the same items, so later lines move both ways. */
	for (i = 0; i < 6; i++) {
		next = i % 2 ? edit(text, "  # added\n  # lines\n", "")
			     : edit(text, "  - name: svc3\n",
				    "  # added\n  # lines\n  - name: svc3\n");
		cr_assert(parse_both(next, NULL));
		free(text);
		text = next;
		next = edit(text, "name: svc17", i % 2 ? "name: svc17" : "name: svc17x");
		cr_assert(parse_both(next, NULL) || !strcmp(next, text));
		free(text);
		text = next;
	}
	free(text);
}

Test(config_cache, small_files_are_parsed_whole)
{
	struct sc_config_cache *big = sc_config_cache_new(1 << 20);
	char *base = gen_config(20), *changed = edit(base, "name: svc3\n", "name: svc3b\n");
	struct sc_config_cache_stats st;
	struct sc_config cfg;

	cr_assert_eq(sc_config_parse_cached(big, "t.yaml", base, strlen(base), SC_MODE_FROM_FILE,
					    &cfg, NULL),
		     0);
	sc_config_free(&cfg);
	cr_assert_eq(sc_config_parse_cached(big, "t.yaml", changed, strlen(changed),
					    SC_MODE_FROM_FILE, &cfg, NULL),
		     0);
	sc_config_free(&cfg);
	sc_config_cache_stats(big, &st);
	cr_assert_not(st.last_spliced);
	cr_assert_str_eq(st.last_why, "a small file");
	sc_config_cache_free(big);
	free(changed);
	free(base);
}

Test(config_cache, another_mode_is_parsed_whole)
{
	char *base = gen_config(20);
	struct sc_config cfg;
	struct sc_diags d = {0}, w = {0};

	parse_both(base, NULL);
	cr_assert_eq(sc_config_parse_cached(cache, "t.yaml", base, strlen(base), SC_MODE_IPTABLES,
					    &cfg, &d),
		     -EINVAL);
	cr_assert_eq(sc_config_parse_string_mode("t.yaml", base, strlen(base), SC_MODE_IPTABLES,
						 &cfg, &w),
		     -EINVAL);
	same_diags(&d, &w);
	sc_diags_free(&d);
	sc_diags_free(&w);
	free(base);
}

Test(config_cache, shared_services_outlive_the_cache)
{
	char *base = gen_config(20), *changed = edit(base, "name: svc3\n", "name: svc3b\n");
	struct sc_config a, b;

	cr_assert_eq(sc_config_parse_cached(cache, "t.yaml", base, strlen(base), SC_MODE_FROM_FILE,
					    &a, NULL),
		     0);
	cr_assert_eq(sc_config_parse_cached(cache, "t.yaml", changed, strlen(changed),
					    SC_MODE_FROM_FILE, &b, NULL),
		     0);
	/* The unchanged services are the same memory in both configs and the cache. */
	cr_assert_eq(a.services[5].name, b.services[5].name);
	cr_assert_neq(a.services[3].name, b.services[3].name);
	sc_config_cache_free(cache);
	cache = NULL;
	cr_assert_str_eq(a.services[5].name, "svc5");
	cr_assert_str_eq(b.services[3].name, "svc3b");
	cr_assert(sc_service_equal(&a.services[5], &b.services[5]));
	sc_config_free(&a);
	cr_assert_str_eq(b.services[5].name, "svc5");
	sc_config_free(&b);
	free(changed);
	free(base);
}

/* A deterministic generator, so that a failure can be replayed. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33) % n;
}

/* Byte offsets of the starts of the lines of TEXT. */
static size_t line_starts(const char *text, size_t *v, size_t max)
{
	size_t n = 0, i, len = strlen(text);

	for (i = 0; i < len && n < max; i++)
		if (i == 0 || text[i - 1] == '\n')
			v[n++] = i;
	return n;
}

/*
 * One random edit of TEXT: replace, insert or delete a line (lines drawn from the text itself, or
 * changed in a digit or a letter), or insert or delete characters that matter to YAML.
 */
static char *random_edit(const char *text, int *kind)
{
	static const char chars[] = " -:#{}[],\n\"'|>&*!0123456789abcsvz.";
	size_t starts[4096], n = line_starts(text, starts, 4096), len = strlen(text);
	size_t a = starts[rnd(n)], b = strchrnul(text + a, '\n') - text, at, from;
	char *out, *line;
	int r = rnd(100);

	if (b < len)
		b++;
	from = starts[rnd(n)];
	line = strndup(text + from, strchrnul(text + from, '\n') - text - from + 1);
	if (r < 30) {
		/* Change a digit (a weight, a port, an address byte) or a letter in place. */
		*kind = 0;
		out = strdup(text);
		for (at = a + rnd(b - a + 1); at < len && !isalnum((unsigned char)out[at]); at++)
			;
		if (at < len)
			out[at] = isdigit((unsigned char)out[at]) ? '0' + rnd(10) : 'a' + rnd(26);
	} else if (r < 45) {
		*kind = 1; /* a line copied from elsewhere, inserted */
		cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)a, text, line, text + a), 0);
	} else if (r < 60) {
		*kind = 2; /* a line deleted */
		cr_assert_geq(asprintf(&out, "%.*s%s", (int)a, text, text + b), 0);
	} else if (r < 70) {
		*kind = 3; /* a line replaced by another */
		cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)a, text, line, text + b), 0);
	} else if (r < 85) {
		*kind = 4; /* a character inserted */
		at = a + rnd(b - a + 1);
		cr_assert_geq(asprintf(&out, "%.*s%c%s", (int)at, text,
				       chars[rnd(sizeof(chars) - 1)], text + at),
			      0);
	} else {
		*kind = 5; /* a character or a few deleted */
		at = a + rnd(b - a + 1);
		from = at + 1 + rnd(3);
		if (from > len)
			from = len;
		cr_assert_geq(asprintf(&out, "%.*s%s", (int)at, text, text + from), 0);
	}
	free(line);
	return out;
}

Test(config_cache, random_edits_match_whole_parse, .timeout = 120)
{
	char *good = gen_config(40), *text;
	size_t spliced = 0, ok = 0, digit_ok = 0, digit_spliced = 0;
	const char *seed = getenv("SC_TEST_SEED"), *edits = getenv("SC_TEST_EDITS");
	int i, err, kind, rounds = edits ? atoi(edits) : 2000;
	bool sp;

	/* A fixed seed by default; SC_TEST_SEED and SC_TEST_EDITS for a longer hunt. */
	rng_state = seed ? strtoull(seed, NULL, 0) : 20261122;
	parse_both(good, NULL);
	for (i = 0; i < rounds; i++) {
		/* Mostly one edit of the last good text; sometimes a second edit on top. */
		text = random_edit(good, &kind);
		if (rnd(5) == 0) {
			char *again = random_edit(text, &kind);

			free(text);
			text = again;
			kind = -1;
		}
		sp = parse_both(text, &err);
		spliced += sp;
		if (!err) {
			ok++;
			if (kind == 0 && strlen(text) == strlen(good)) {
				digit_ok++;
				digit_spliced += sp;
			}
			free(good);
			good = text;
		} else {
			free(text);
		}
	}
	free(good);
	cr_log_info("random edits: %zu of %d parsed, %zu spliced; in-place changes: %zu of %zu "
		    "spliced",
		    ok, rounds, spliced, digit_spliced, digit_ok);
	if (rounds != 2000)
		return;
	/* Most single-character changes that still parse are inside an item. */
	cr_assert_gt(spliced, 300, "%zu of 2000 spliced", spliced);
	cr_assert_gt(ok, 300, "%zu of 2000 parsed", ok);
	cr_assert_geq(digit_spliced * 10, digit_ok * 8, "%zu of %zu in-place changes spliced",
		      digit_spliced, digit_ok);
}

/*
 * Found by fuzz_config_edit: an edit that removes a whole item and puts none in its place spliced
 * nothing into the kept services through memcpy() from a NULL pointer (undefined, caught by
 * UBSan). The result must be the whole parse's, as for any edit.
 */
Test(config_cache, removing_a_whole_item_splices_nothing_in)
{
	static const char base[] =
		"cgroup: /a\n"
		"services:\n"
		"  - {name: a, vip: 10.96.0.1, port: 80, endpoints: [{address: 100.0.0.1, port: 80}, "
		"{address: 10.0.0.1, port: 81}]}\n"
		"  - {name: b, vip: 10.96.0.1, port: 81, endpoints: [{address: 10.0.0.1, port: 80}]}\n";
	/* The first item's text gone, its newline left. */
	static const char edited[] =
		"cgroup: /a\n"
		"services:\n"
		"\n"
		"  - {name: b, vip: 10.96.0.1, port: 81, endpoints: [{address: 10.0.0.1, port: 80}]}\n";
	int err;

	parse_both(base, &err);
	cr_assert_eq(err, 0);
	parse_both(edited, &err);
	cr_assert_eq(err, 0);
}
