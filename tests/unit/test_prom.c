// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "prom.h"

#define PROMCHECK_NO_MAIN
#include "../tools/promcheck.c"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Take the builder's text, check it is what EXPECT says, and that promcheck accepts it. */
static void expect_text(struct sc_prom *p, const char *expect)
{
	char *body = NULL, err[256];
	size_t len = 0;

	cr_assert_eq(sc_prom_take(p, &body, &len), 0);
	cr_assert_str_eq(body, expect);
	cr_assert_eq(len, strlen(expect));
	cr_assert_eq(promcheck_text(body, err, sizeof(err)), 0, "%s", err);
	free(body);
}

Test(prom, family_and_samples_print_in_order)
{
	struct sc_prom p = SC_PROM_INIT;
	struct sc_prom_label dir[] = {{"direction", "outbound"}, {"proto", "tcp"}};

	cr_assert_eq(sc_prom_family(&p, "sidecap_redirect_total", SC_PROM_COUNTER,
				    "Connections redirected to the proxy."),
		     0);
	cr_assert_eq(sc_prom_u64(&p, "sidecap_redirect_total", dir, 2, 42), 0);
	dir[0].value = "inbound";
	cr_assert_eq(sc_prom_u64(&p, "sidecap_redirect_total", dir, 2, 0), 0);
	cr_assert_eq(sc_prom_family(&p, "sidecap_ready", SC_PROM_GAUGE, "Ready."), 0);
	cr_assert_eq(sc_prom_u64(&p, "sidecap_ready", NULL, 0, 1), 0);
	expect_text(&p, "# HELP sidecap_redirect_total Connections redirected to the proxy.\n"
			"# TYPE sidecap_redirect_total counter\n"
			"sidecap_redirect_total{direction=\"outbound\",proto=\"tcp\"} 42\n"
			"sidecap_redirect_total{direction=\"inbound\",proto=\"tcp\"} 0\n"
			"# HELP sidecap_ready Ready.\n"
			"# TYPE sidecap_ready gauge\n"
			"sidecap_ready 1\n");
}

Test(prom, help_escapes_backslash_and_newline_but_not_quote)
{
	struct sc_prom p = SC_PROM_INIT;

	sc_prom_family(&p, "a", SC_PROM_GAUGE, "C:\\path \"q\"\nnext");
	sc_prom_u64(&p, "a", NULL, 0, 1);
	expect_text(&p, "# HELP a C:\\\\path \"q\"\\nnext\n"
			"# TYPE a gauge\n"
			"a 1\n");
}

/* No HELP line without a help text (promtool's lint would then ask for one). */
Test(prom, family_without_help_has_no_help_line)
{
	struct sc_prom p = SC_PROM_INIT;
	char *body = NULL;
	size_t len = 0;

	sc_prom_family(&p, "a", SC_PROM_GAUGE, NULL);
	sc_prom_u64(&p, "a", NULL, 0, 1);
	cr_assert_eq(sc_prom_take(&p, &body, &len), 0);
	cr_assert_str_eq(body, "# TYPE a gauge\na 1\n");
	free(body);
}

Test(prom, label_values_escape_backslash_quote_and_newline)
{
	struct sc_prom p = SC_PROM_INIT;
	struct sc_prom_label l[] = {{"v", "a\\b\"c\nd"}, {"empty", ""}};

	sc_prom_family(&p, "m", SC_PROM_GAUGE, "M.");
	sc_prom_u64(&p, "m", l, 2, 7);
	expect_text(&p, "# HELP m M.\n"
			"# TYPE m gauge\n"
			"m{v=\"a\\\\b\\\"c\\nd\",empty=\"\"} 7\n");
}

Test(prom, u64_prints_all_digits)
{
	struct sc_prom p = SC_PROM_INIT;

	sc_prom_family(&p, "big", SC_PROM_GAUGE, "Big.");
	sc_prom_u64(&p, "big", NULL, 0, UINT64_MAX);
	expect_text(&p, "# HELP big Big.\n"
			"# TYPE big gauge\n"
			"big 18446744073709551615\n");
}

Test(prom, doubles_print_shortest_round_trip_and_special_values)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{0.1, "0.1"},
		{1.5, "1.5"},
		{-0.0, "-0"},
		{1e300, "1e+300"},
		{1.0 / 3, "0.3333333333333333"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{5e-324, "4.94065645841247e-324"},
		{INFINITY, "+Inf"},
		{-INFINITY, "-Inf"},
		{NAN, "NaN"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sc_prom p = SC_PROM_INIT;
		char expect[128];

		snprintf(expect, sizeof(expect), "# HELP d D.\n# TYPE d gauge\nd %s\n",
			 cases[i].text);
		sc_prom_family(&p, "d", SC_PROM_GAUGE, "D.");
		sc_prom_double(&p, "d", NULL, 0, cases[i].v);
		expect_text(&p, expect);
		if (!isnan(cases[i].v) && !isinf(cases[i].v))
			cr_assert_eq(strtod(cases[i].text, NULL), cases[i].v, "%s", cases[i].text);
	}
}

Test(prom, bad_metric_name_is_einval_and_sticky)
{
	struct sc_prom p = SC_PROM_INIT;
	char *body = (char *)"untouched";
	size_t len = 99;

	cr_assert_eq(sc_prom_family(&p, "ok", SC_PROM_GAUGE, NULL), 0);
	cr_assert_eq(sc_prom_u64(&p, "bad-name", NULL, 0, 1), -EINVAL);
	cr_assert_eq(sc_prom_u64(&p, "ok", NULL, 0, 1), -EINVAL);
	cr_assert_eq(sc_prom_take(&p, &body, &len), -EINVAL);
	cr_assert_str_eq(body, "untouched");
	cr_assert_eq(len, 99);
	cr_assert_null(p.buf);
	cr_assert_eq(p.err, 0);
}

Test(prom, names_are_checked)
{
	struct sc_prom_label reserved[] = {{"__name__", "x"}};
	struct sc_prom_label digit[] = {{"1a", "x"}};
	struct sc_prom_label colon[] = {{"a:b", "x"}};
	struct sc_prom p = SC_PROM_INIT;

	cr_assert_eq(sc_prom_family(&p, "", SC_PROM_GAUGE, NULL), -EINVAL);
	sc_prom_reset(&p);
	cr_assert_eq(sc_prom_family(&p, "9lives", SC_PROM_GAUGE, NULL), -EINVAL);
	sc_prom_reset(&p);
	cr_assert_eq(sc_prom_u64(&p, "ns:sub_total", NULL, 0, 1), 0);
	cr_assert_eq(sc_prom_u64(&p, "m", reserved, 1, 1), -EINVAL);
	sc_prom_reset(&p);
	cr_assert_eq(sc_prom_u64(&p, "m", digit, 1, 1), -EINVAL);
	sc_prom_reset(&p);
	cr_assert_eq(sc_prom_u64(&p, "m", colon, 1, 1), -EINVAL);
	sc_prom_reset(&p);
}

Test(prom, take_of_nothing_is_an_empty_string)
{
	struct sc_prom p = SC_PROM_INIT;

	expect_text(&p, "");
}

Test(prom, builder_grows_past_its_first_allocation)
{
	struct sc_prom p = SC_PROM_INIT;
	char *body, port[8];
	size_t len, i;
	int n = 0;

	sc_prom_family(&p, "sidecap_port_total", SC_PROM_COUNTER, "Per port.");
	for (i = 0; i < 2000; i++) {
		struct sc_prom_label l[] = {{"port", port}};

		snprintf(port, sizeof(port), "%zu", i);
		sc_prom_u64(&p, "sidecap_port_total", l, 1, i);
	}
	cr_assert_eq(sc_prom_take(&p, &body, &len), 0);
	cr_assert_gt(len, 4096);
	cr_assert_eq(strlen(body), len);
	cr_assert_eq(promcheck_text(body, NULL, 0), 0);
	for (i = 0; i < len; i++)
		n += body[i] == '\n';
	cr_assert_eq(n, 2 + 2000);
	cr_assert(strstr(body, "\nsidecap_port_total{port=\"1999\"} 1999\n"));
	free(body);
}

/*
 * promcheck: one behaviour per row. ERR is NULL for a valid text; the exact message for a rule
 * of ours; for promtool's, its message starts with "promtool: " and contains ERR + 1 (ERR
 * starting with '~').
 */
static const struct {
	const char *desc;
	const char *text;
	const char *err;
} promcheck_cases[] = {
	{"empty text", "", NULL},
	{"a counter family", "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 1\n",
	 NULL},
	{"free comments", "#\n# just words\n# HELP a A.\n# TYPE a gauge\na 1\n", NULL},
	{"blank lines at the end", "# HELP a A.\n# TYPE a gauge\na 1\n\n\n", NULL},
	{"special values",
	 "# HELP a A.\n# TYPE a gauge\na +Inf\na{x=\"1\"} -Inf\na{x=\"2\"} NaN\n"
	 "a{x=\"3\"} -1.5e-3\na{x=\"4\"} .5\n",
	 NULL},
	{"histogram",
	 "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
	 "h_sum 3\nh_count 2\n",
	 NULL},
	{"utf-8 label value",
	 "# HELP a A.\n# TYPE a gauge\na{city=\"Z\xc3\xbcrich \xe2\x82\xac\"} 1\n", NULL},

	{"no final newline", "# HELP a A.\n# TYPE a gauge\na 1", "~unexpected end of input stream"},
	{"family without HELP", "# TYPE a gauge\na 1\n", "~a no help text"},
	{"counter without _total", "# HELP requests R.\n# TYPE requests counter\nrequests 1\n",
	 "~requests counter metrics should have \"_total\" suffix"},
	{"bad utf-8", "# HELP a A.\n# TYPE a gauge\na{x=\"\xc3\x28\"} 1\n", "~invalid label value"},
	{"duplicate label name", "# HELP a A.\n# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",
	 "~duplicate label names"},
	{"bad escape in label value", "# HELP a A.\n# TYPE a gauge\na{x=\"\\t\"} 1\n",
	 "~invalid escape sequence"},
	{"TYPE after samples", "# HELP a A.\na 1\n# TYPE a gauge\n",
	 "~TYPE reported after samples"},

	{"blank line in the middle", "# HELP a A.\n# TYPE a gauge\na 1\n\n# HELP b B.\nb 1\n",
	 "line 4: blank line (allowed only at the end)"},
	{"family split by another",
	 "# HELP a A.\n# TYPE a gauge\na{x=\"1\"} 1\n# HELP b B.\n# TYPE b gauge\nb 1\n"
	 "a{x=\"2\"} 1\n",
	 "line 7: a: its family's lines must be together, but it ended at line 3"},
	{"HELP after samples", "# TYPE a gauge\na 1\n# HELP a A.\n",
	 "line 3: HELP or TYPE for a after its samples (line 2)"},
	{"duplicate series",
	 "# HELP a A.\n# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
	 "line 4: series a{x=\"1\",y=\"2\"} again (first on line 3)"},
	{"empty label value is no label", "# HELP a A.\n# TYPE a gauge\na 1\na{x=\"\"} 2\n",
	 "line 4: series a again (first on line 3)"},
	{"reserved label name", "# HELP a A.\n# TYPE a gauge\na{__x=\"1\"} 1\n",
	 "line 3: label name __x: names starting with __ are reserved"},
	{"value spelt inf", "# HELP a A.\n# TYPE a gauge\na inf\n",
	 "line 3: value \"inf\" is not a number (digits, +Inf, -Inf or NaN)"},
};

Test(promcheck, table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(promcheck_cases); i++) {
		const char *want = promcheck_cases[i].err;
		char err[256];
		int ret = promcheck_text(promcheck_cases[i].text, err, sizeof(err));

		if (!want) {
			cr_expect_eq(ret, 0, "%s: %s", promcheck_cases[i].desc, err);
			continue;
		}
		cr_expect_eq(ret, -EINVAL, "%s: accepted (%s)", promcheck_cases[i].desc, err);
		if (want[0] == '~')
			cr_expect(!strncmp(err, "promtool: ", 10) && strstr(err, want + 1),
				  "%s: %s", promcheck_cases[i].desc, err);
		else
			cr_expect_str_eq(err, want, "%s", promcheck_cases[i].desc);
	}
}

Test(promcheck, nul_byte_is_an_error)
{
	static const char text[] = "# HELP a A.\n# TYPE a gauge\na 1\nb\0 1\n";
	char err[256];

	cr_assert_eq(promcheck_buf(text, sizeof(text) - 1, err, sizeof(err)), -EINVAL);
	cr_assert(!strncmp(err, "promtool: ", 10), "%s", err);
}
