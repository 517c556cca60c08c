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
	cr_assert_eq(sc_prom_family(&p, "sidecap_ready", SC_PROM_GAUGE, NULL), 0);
	cr_assert_eq(sc_prom_u64(&p, "sidecap_ready", NULL, 0, 1), 0);
	expect_text(&p, "# HELP sidecap_redirect_total Connections redirected to the proxy.\n"
			"# TYPE sidecap_redirect_total counter\n"
			"sidecap_redirect_total{direction=\"outbound\",proto=\"tcp\"} 42\n"
			"sidecap_redirect_total{direction=\"inbound\",proto=\"tcp\"} 0\n"
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

Test(prom, label_values_escape_backslash_quote_and_newline)
{
	struct sc_prom p = SC_PROM_INIT;
	struct sc_prom_label l[] = {{"v", "a\\b\"c\nd"}, {"empty", ""}};

	sc_prom_family(&p, "m", SC_PROM_GAUGE, NULL);
	sc_prom_u64(&p, "m", l, 2, 7);
	expect_text(&p, "# TYPE m gauge\n"
			"m{v=\"a\\\\b\\\"c\\nd\",empty=\"\"} 7\n");
}

Test(prom, u64_prints_all_digits)
{
	struct sc_prom p = SC_PROM_INIT;

	sc_prom_family(&p, "big", SC_PROM_GAUGE, NULL);
	sc_prom_u64(&p, "big", NULL, 0, UINT64_MAX);
	expect_text(&p, "# TYPE big gauge\n"
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

		snprintf(expect, sizeof(expect), "# TYPE d gauge\nd %s\n", cases[i].text);
		sc_prom_family(&p, "d", SC_PROM_GAUGE, NULL);
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

/* promcheck: one behaviour per row; ERR is the exact message, or NULL for a valid text. */
static const struct {
	const char *desc;
	const char *text;
	const char *err;
} promcheck_cases[] = {
	{"empty text", "", NULL},
	{"samples without TYPE are untyped", "a 1\nb{x=\"y\"} 2\n", NULL},
	{"blanks and tabs between tokens", "a { x = \"1\" ,\ty=\"2\" , }\t1  123\n", NULL},
	{"special values", "a +Inf\nb -Inf\nc NaN\nd -1.5e-3\ne .5\n", NULL},
	{"free comments", "#\n# just words\n#HELP is not a keyword here\na 1\n", NULL},
	{"blank lines at the end", "a 1\n\n\n", NULL},
	{"histogram",
	 "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
	 "h_sum 3\nh_count 2\n",
	 NULL},
	{"summary", "# TYPE s summary\ns{quantile=\"0.9\"} 1\ns_sum 3\ns_count 2\n", NULL},
	{"help may be empty", "# HELP a\na 1\n# HELP b \nb 1\n", NULL},
	{"utf-8 label value", "a{city=\"Z\xc3\xbcrich \xe2\x82\xac\"} 1\n", NULL},

	{"no final newline", "a 1", "line 1: no newline at the end of the last line"},
	{"blank line in the middle", "a 1\n\nb 1\n",
	 "line 2: blank line (allowed only at the end)"},
	{"carriage return", "a 1\r\n", "line 1: carriage return (lines end with \\n alone)"},
	{"bad utf-8", "a{x=\"\xc3\x28\"} 1\n", "line 1: invalid UTF-8 at byte 6"},
	{"overlong utf-8", "a{x=\"\xc0\xaf\"} 1\n", "line 1: invalid UTF-8 at byte 6"},
	{"metric name starts with a digit", "1a 1\n",
	 "line 1: expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or '#'"},
	{"dash in metric name", "a-b 1\n", "line 1: '-' is not allowed in a metric name"},
	{"no value", "a\n", "line 1: a has no value"},
	{"no value after labels", "a{x=\"1\"}\n", "line 1: a has no value"},
	{"value not a number", "a one\n",
	 "line 1: value \"one\" is not a number (digits, +Inf, -Inf or NaN)"},
	{"lowercase inf", "a inf\n",
	 "line 1: value \"inf\" is not a number (digits, +Inf, -Inf or NaN)"},
	{"hex value", "a 0x10\n",
	 "line 1: value \"0x10\" is not a number (digits, +Inf, -Inf or NaN)"},
	{"exponent without digits", "a 1e\n",
	 "line 1: value \"1e\" is not a number (digits, +Inf, -Inf or NaN)"},
	{"timestamp not an integer", "a 1 1.5\n",
	 "line 1: timestamp \"1.5\" is not an integer (milliseconds)"},
	{"text after timestamp", "a 1 2 3\n", "line 1: text after the timestamp"},
	{"label name starts with a digit", "a{1x=\"1\"} 1\n",
	 "line 1: expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}'"},
	{"label name with a colon", "a{x:y=\"1\"} 1\n", "line 1: expected '=' after label name x"},
	{"reserved label name", "a{__x=\"1\"} 1\n",
	 "line 1: label name __x: names starting with __ are reserved"},
	{"duplicate label name", "a{x=\"1\",x=\"2\"} 1\n", "line 1: label x given twice"},
	{"unquoted label value", "a{x=1} 1\n",
	 "line 1: expected '\"' to open the value of label x"},
	{"bad escape in label value", "a{x=\"\\t\"} 1\n",
	 "line 1: bad escape \\t in a label value (only \\\\, \\\" and \\n)"},
	{"unterminated label value", "a{x=\"1} 1\n",
	 "line 1: label value without its closing quote"},
	{"missing comma", "a{x=\"1\" y=\"2\"} 1\n",
	 "line 1: expected ',' or '}' after the value of label x"},
	{"no blank after labels", "a{x=\"1\"}1\n",
	 "line 1: expected a blank and a value after '}'"},
	{"unknown type", "# TYPE a gauges\n",
	 "line 1: TYPE for a: \"gauges\" is not counter, gauge, histogram, summary or untyped"},
	{"TYPE without a name", "# TYPE\n",
	 "line 1: TYPE needs a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"},
	{"HELP with a bad name", "# HELP a-b text\n",
	 "line 1: HELP needs a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"},
	{"text after the type", "# TYPE a gauge extra\n",
	 "line 1: TYPE for a: text after the type"},
	{"bad escape in HELP", "# HELP a \\t\n",
	 "line 1: HELP for a: bad escape (only \\\\ and \\n)"},
	{"counter without _total", "# TYPE requests counter\nrequests 1\n",
	 "line 1: counter requests: counter names end in _total"},
	{"second HELP", "# HELP a x\n# HELP a y\n",
	 "line 2: second HELP for a (the first is on line 1)"},
	{"second TYPE", "# TYPE a gauge\n# TYPE a gauge\n",
	 "line 2: second TYPE for a (the first is on line 1)"},
	{"TYPE after samples", "a 1\n# TYPE a gauge\n",
	 "line 2: TYPE for a after its samples (line 1)"},
	{"HELP after samples", "a 1\n# HELP a x\n",
	 "line 2: HELP for a after its samples (line 1)"},
	{"family split by another", "a{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n",
	 "line 3: a: its family's lines must be together, but it ended at line 1"},
	{"TYPE of a family seen earlier", "# TYPE a gauge\nb 1\n# HELP a x\n",
	 "line 3: a: its family's lines must be together, but it ended at line 1"},
	{"duplicate series", "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
	 "line 2: series a{x=\"1\",y=\"2\"} again (first on line 1)"},
	{"empty label value is no label", "a 1\na{x=\"\"} 2\n",
	 "line 2: series a again (first on line 1)"},
	{"histogram sample without suffix", "# TYPE h histogram\nh 1\n",
	 "line 2: histogram h has only _bucket, _sum and _count samples"},
	{"bucket without le", "# TYPE h histogram\nh_bucket 1\n",
	 "line 2: h_bucket needs a le label holding a number"},
	{"summary quantile not a number", "# TYPE s summary\ns{quantile=\"p90\"} 1\n",
	 "line 2: s needs a quantile label holding a number"},
};

Test(promcheck, table)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(promcheck_cases); i++) {
		char err[256];
		int ret = promcheck_text(promcheck_cases[i].text, err, sizeof(err));

		if (!promcheck_cases[i].err) {
			cr_expect_eq(ret, 0, "%s: %s", promcheck_cases[i].desc, err);
			continue;
		}
		cr_expect_eq(ret, -EINVAL, "%s: accepted", promcheck_cases[i].desc);
		cr_expect_str_eq(err, promcheck_cases[i].err, "%s", promcheck_cases[i].desc);
	}
}

Test(promcheck, nul_byte_is_an_error)
{
	static const char text[] = "a 1\nb\0 1\n";
	char err[128];

	cr_assert_eq(promcheck_list(text, sizeof(text) - 1, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "line 2: NUL byte");
}

Test(promcheck, list_sorts_labels_and_escapes_canonically)
{
	static const char text[] = "# TYPE a_total counter\n"
				   "a_total{z=\"1\", b=\"x\\\\y\\\"\\n\",} 3 1700000000000\n"
				   "b 1.5e3\n";
	char err[128], *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	cr_assert_not_null(f);
	cr_assert_eq(promcheck_list(text, strlen(text), f, err, sizeof(err)), 0, "%s", err);
	fclose(f);
	cr_assert_str_eq(out, "a_total{b=\"x\\\\y\\\"\\n\",z=\"1\"} 3\n"
			      "b 1.5e3\n");
	free(out);
}
