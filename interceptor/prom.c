// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The text exposition format is line based: a family is announced by "# HELP" and "# TYPE"
 * comment lines and each sample is "name{label="value",...} value". The only escaping is of
 * backslash and newline in HELP text, and of those and the double quote in label values.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* The first allocation; a typical /metrics body of a few dozen series fits in it. */
#define SC_PROM_MIN_CAP 4096

static int sc_prom_fail(struct sc_prom *p, int err)
{
	if (!p->err)
		p->err = err;
	return p->err;
}

/* Make room for N more bytes plus the terminating NUL. */
static int sc_prom_reserve(struct sc_prom *p, size_t n)
{
	size_t cap = p->cap ? p->cap : SC_PROM_MIN_CAP;
	char *buf;

	if (n > SIZE_MAX / 2 - p->len)
		return sc_prom_fail(p, -ENOMEM);
	if (p->len + n + 1 <= p->cap)
		return 0;
	while (cap < p->len + n + 1)
		cap *= 2;
	buf = realloc(p->buf, cap);
	if (!buf)
		return sc_prom_fail(p, -ENOMEM);
	p->buf = buf;
	p->cap = cap;
	return 0;
}

static int sc_prom_put(struct sc_prom *p, const char *s, size_t n)
{
	if (sc_prom_reserve(p, n))
		return p->err;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
	return 0;
}

static int sc_prom_puts(struct sc_prom *p, const char *s)
{
	return sc_prom_put(p, s, strlen(s));
}

/* Label values escape all three; HELP text leaves the double quote alone. */
static int sc_prom_put_escaped(struct sc_prom *p, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (!esc)
			continue;
		sc_prom_put(p, run, s - run);
		sc_prom_put(p, esc, 2);
		run = s + 1;
	}
	return sc_prom_put(p, run, s - run);
}

static bool sc_prom_valid_name(const char *s, bool metric)
{
	const char *c;

	if (!metric && s[0] == '_' && s[1] == '_')
		return false;
	for (c = s; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
			     (metric && *c == ':');

		if (!alpha && !(c > s && *c >= '0' && *c <= '9'))
			return false;
	}
	return c > s;
}

int sc_prom_family(struct sc_prom *p, const char *name, enum sc_prom_type type, const char *help)
{
	if (p->err)
		return p->err;
	if (!sc_prom_valid_name(name, true))
		return sc_prom_fail(p, -EINVAL);
	if (help) {
		sc_prom_puts(p, "# HELP ");
		sc_prom_puts(p, name);
		sc_prom_puts(p, " ");
		sc_prom_put_escaped(p, help, false);
		sc_prom_puts(p, "\n");
	}
	sc_prom_puts(p, "# TYPE ");
	sc_prom_puts(p, name);
	sc_prom_puts(p, type == SC_PROM_COUNTER ? " counter\n" : " gauge\n");
	return p->err;
}

static int sc_prom_sample(struct sc_prom *p, const char *name, const struct sc_prom_label *labels,
			  size_t n, const char *value)
{
	size_t i;

	if (p->err)
		return p->err;
	if (!sc_prom_valid_name(name, true))
		return sc_prom_fail(p, -EINVAL);
	for (i = 0; i < n; i++) {
		if (!sc_prom_valid_name(labels[i].name, false))
			return sc_prom_fail(p, -EINVAL);
	}
	sc_prom_puts(p, name);
	for (i = 0; i < n; i++) {
		sc_prom_puts(p, i ? "," : "{");
		sc_prom_puts(p, labels[i].name);
		sc_prom_puts(p, "=\"");
		sc_prom_put_escaped(p, labels[i].value, true);
		sc_prom_puts(p, "\"");
	}
	if (n)
		sc_prom_puts(p, "}");
	sc_prom_puts(p, " ");
	sc_prom_puts(p, value);
	return sc_prom_puts(p, "\n");
}

int sc_prom_u64(struct sc_prom *p, const char *name, const struct sc_prom_label *labels, size_t n,
		uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	return sc_prom_sample(p, name, labels, n, buf);
}

/*
 * Prometheus reads values with Go's strconv.ParseFloat, which takes C's "%g" output but spells the
 * special values "+Inf", "-Inf" and "NaN". The shortest of 15, 16 and 17 significant digits that
 * reads back as the same double is used, so 0.1 prints as "0.1" rather than
 * "0.10000000000000001". The daemon never calls setlocale(), so the decimal point is '.'.
 */
static void sc_prom_format_double(double v, char *buf, size_t size)
{
	int prec;

	if (isnan(v)) {
		snprintf(buf, size, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, size, "%.17g", v);
}

int sc_prom_double(struct sc_prom *p, const char *name, const struct sc_prom_label *labels,
		   size_t n, double value)
{
	char buf[32];

	sc_prom_format_double(value, buf, sizeof(buf));
	return sc_prom_sample(p, name, labels, n, buf);
}

int sc_prom_take(struct sc_prom *p, char **body, size_t *len)
{
	int err = p->err;

	/* An empty body is valid text; give the caller a string all the same. */
	if (!err && !p->buf)
		err = sc_prom_put(p, "", 0);
	if (err) {
		sc_prom_reset(p);
		return err;
	}
	*body = p->buf;
	*len = p->len;
	*p = (struct sc_prom)SC_PROM_INIT;
	return 0;
}

void sc_prom_reset(struct sc_prom *p)
{
	free(p->buf);
	*p = (struct sc_prom)SC_PROM_INIT;
}
