// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * promcheck: a strict checker of the Prometheus text exposition format (version 0.0.4).
 *
 *	promcheck [--list] < FILE
 *
 * Exits 0 when FILE is valid. Otherwise it prints "line N: what is wrong" on stderr for the first
 * problem and exits 1; usage and read errors exit 2. With --list, a valid FILE's samples are
 * printed one per line as "name{label="value",...} value", labels sorted by name and values
 * escaped the canonical way, the braces left out when there are no labels and the timestamp
 * dropped, so a test can grep for an exact series and value.
 *
 * It accepts what Prometheus's own parser accepts, less the spellings our builder never writes
 * (values are decimal numbers, "+Inf", "-Inf" or "NaN"), and adds the project's rules: blank
 * lines only at the end, counter names end in "_total", and HELP comes before a family's samples
 * as TYPE must. A series whose labels differ only by labels with empty values is a duplicate, as
 * an empty value is the same as no label to Prometheus.
 *
 * The unit tests include this file with PROMCHECK_NO_MAIN defined and call promcheck_text() and
 * promcheck_list().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pc_type {
	PC_UNTYPED,
	PC_COUNTER,
	PC_GAUGE,
	PC_HISTOGRAM,
	PC_SUMMARY,
};

static const char *const pc_type_names[] = {
	[PC_UNTYPED] = "untyped",     [PC_COUNTER] = "counter", [PC_GAUGE] = "gauge",
	[PC_HISTOGRAM] = "histogram", [PC_SUMMARY] = "summary",
};

struct pc_family {
	enum pc_type type;
	unsigned int help_line;
	unsigned int type_line;
	unsigned int sample_line;
	unsigned int last_line;
	/* Another family's lines came after this one's; it may not appear again. */
	bool closed;
};

/* A string set (and map), open addressing; the keys are owned. */
struct pc_entry {
	char *key;
	void *val;
};

struct pc_table {
	struct pc_entry *e;
	size_t cap;
	size_t n;
};

struct pc_str {
	char *s;
	size_t len;
	size_t cap;
};

struct pc_label {
	const char *name;
	size_t nlen;
	struct pc_str value;
};

struct pc {
	const char *text;
	size_t len;
	unsigned int line;
	char *err;
	size_t errlen;
	FILE *list;
	struct pc_table families;
	struct pc_table series;
	struct pc_family *cur;
	unsigned int blank_line;
	struct pc_label *labels;
	size_t nlabels;
	size_t labels_cap;
	struct pc_str key;
	struct pc_str out;
};

static int pc_fail(struct pc *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pc_fail(struct pc *pc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!pc->errlen)
		return -EINVAL;
	n = snprintf(pc->err, pc->errlen, "line %u: ", pc->line);
	if (n >= 0 && (size_t)n < pc->errlen) {
		va_start(ap, fmt);
		vsnprintf(pc->err + n, pc->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int pc_str_put(struct pc_str *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 64;
		char *b;

		while (cap < s->len + n + 1)
			cap *= 2;
		b = realloc(s->s, cap);
		if (!b)
			return -ENOMEM;
		s->s = b;
		s->cap = cap;
	}
	memcpy(s->s + s->len, p, n);
	s->len += n;
	s->s[s->len] = '\0';
	return 0;
}

static uint64_t pc_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static struct pc_entry *pc_slot(struct pc_entry *e, size_t cap, const char *key)
{
	size_t i = pc_hash(key) & (cap - 1);

	while (e[i].key && strcmp(e[i].key, key))
		i = (i + 1) & (cap - 1);
	return &e[i];
}

static struct pc_entry *pc_lookup(struct pc_table *t, const char *key)
{
	struct pc_entry *e;

	if (!t->cap)
		return NULL;
	e = pc_slot(t->e, t->cap, key);
	return e->key ? e : NULL;
}

/* Add KEY, which must not be there yet. */
static struct pc_entry *pc_insert(struct pc_table *t, const char *key, void *val)
{
	struct pc_entry *e;
	size_t i;

	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct pc_entry *ne = calloc(cap, sizeof(*ne));

		if (!ne)
			return NULL;
		for (i = 0; i < t->cap; i++) {
			if (t->e[i].key)
				*pc_slot(ne, cap, t->e[i].key) = t->e[i];
		}
		free(t->e);
		t->e = ne;
		t->cap = cap;
	}
	e = pc_slot(t->e, t->cap, key);
	e->key = strdup(key);
	if (!e->key)
		return NULL;
	e->val = val;
	t->n++;
	return e;
}

static void pc_table_free(struct pc_table *t, bool free_vals)
{
	size_t i;

	for (i = 0; i < t->cap; i++) {
		free(t->e[i].key);
		if (free_vals)
			free(t->e[i].val);
	}
	free(t->e);
}

static bool pc_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *pc_skip(const char *p, const char *end)
{
	while (p < end && pc_blank(*p))
		p++;
	return p;
}

/* The length of the name at P: metric names may also hold ':'. */
static size_t pc_name_len(const char *p, const char *end, bool metric)
{
	const char *q;

	for (q = p; q < end; q++) {
		char c = *q;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (metric && c == ':') || (q > p && c >= '0' && c <= '9'))
			continue;
		break;
	}
	return q - p;
}

static bool pc_valid_utf8(const unsigned char *p, const unsigned char *end, size_t *bad)
{
	const unsigned char *s = p;

	while (p < end) {
		uint32_t cp;
		int n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			goto bad;
		}
		if (end - p <= n)
			goto bad;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		p += n + 1;
	}
	return true;
bad:
	*bad = p - s;
	return false;
}

/* Decimal numbers with an optional exponent, and the three special values Prometheus writes. */
static bool pc_valid_float(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if ((n == 4 && (!memcmp(s, "+Inf", 4) || !memcmp(s, "-Inf", 4))) ||
	    (n == 3 && !memcmp(s, "NaN", 3)))
		return true;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	if (!digits)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		digits = 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (!digits)
			return false;
	}
	return i == n;
}

/* Milliseconds since the epoch, an int64. */
static bool pc_valid_timestamp(const char *s, size_t n)
{
	char buf[24];
	char *end;
	size_t i;

	if (!n || n >= sizeof(buf))
		return false;
	for (i = s[0] == '-'; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	if (n == (size_t)(s[0] == '-'))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	strtoll(buf, &end, 10);
	return !errno;
}

static bool pc_ends_with(const char *s, size_t n, const char *suffix)
{
	size_t sn = strlen(suffix);

	return n >= sn && !memcmp(s + n - sn, suffix, sn);
}

static int pc_family_get(struct pc *pc, const char *name, size_t n, bool create,
			 struct pc_family **out)
{
	struct pc_entry *e;
	char buf[256];
	char *key = n < sizeof(buf) ? buf : malloc(n + 1);

	if (!key)
		return -ENOMEM;
	memcpy(key, name, n);
	key[n] = '\0';
	e = pc_lookup(&pc->families, key);
	if (!e && create) {
		struct pc_family *f = calloc(1, sizeof(*f));

		e = f ? pc_insert(&pc->families, key, f) : NULL;
		if (!e) {
			free(f);
			if (key != buf)
				free(key);
			return -ENOMEM;
		}
	}
	if (key != buf)
		free(key);
	*out = e ? e->val : NULL;
	return 0;
}

/* Make F the family the following lines belong to. */
static int pc_enter(struct pc *pc, struct pc_family *f, const char *name, size_t n)
{
	if (f != pc->cur) {
		if (f->closed)
			return pc_fail(pc,
				       "%.*s: its family's lines must be together, but it ended at "
				       "line %u",
				       (int)n, name, f->last_line);
		if (pc->cur)
			pc->cur->closed = true;
		pc->cur = f;
	}
	f->last_line = pc->line;
	return 0;
}

/* "# HELP name text" and "# TYPE name type"; other comments are free text. */
static int pc_comment(struct pc *pc, const char *p, const char *end)
{
	const char *word, *name, *q;
	struct pc_family *f;
	bool help;
	size_t n;
	size_t t;
	int err;

	p++;
	if (p == end || !pc_blank(*p))
		return 0;
	word = p = pc_skip(p, end);
	while (p < end && !pc_blank(*p))
		p++;
	if (p - word != 4 || (memcmp(word, "HELP", 4) && memcmp(word, "TYPE", 4)))
		return 0;
	help = word[0] == 'H';
	name = p = pc_skip(p, end);
	n = pc_name_len(name, end, true);
	p += n;
	if (!n || (p < end && !pc_blank(*p)))
		return pc_fail(pc, "%s needs a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
			       help ? "HELP" : "TYPE");
	err = pc_family_get(pc, name, n, true, &f);
	if (err)
		return err;
	err = pc_enter(pc, f, name, n);
	if (err)
		return err;
	if (f->sample_line)
		return pc_fail(pc, "%s for %.*s after its samples (line %u)",
			       help ? "HELP" : "TYPE", (int)n, name, f->sample_line);

	if (help) {
		if (f->help_line)
			return pc_fail(pc, "second HELP for %.*s (the first is on line %u)", (int)n,
				       name, f->help_line);
		f->help_line = pc->line;
		for (q = p; q < end; q++) {
			if (*q != '\\')
				continue;
			if (q + 1 == end || (q[1] != '\\' && q[1] != 'n'))
				return pc_fail(pc, "HELP for %.*s: bad escape (only \\\\ and \\n)",
					       (int)n, name);
			q++;
		}
		return 0;
	}

	if (f->type_line)
		return pc_fail(pc, "second TYPE for %.*s (the first is on line %u)", (int)n, name,
			       f->type_line);
	word = p = pc_skip(p, end);
	while (p < end && !pc_blank(*p))
		p++;
	for (t = 0; t < sizeof(pc_type_names) / sizeof(pc_type_names[0]); t++) {
		if ((size_t)(p - word) == strlen(pc_type_names[t]) &&
		    !memcmp(word, pc_type_names[t], p - word))
			break;
	}
	if (t == sizeof(pc_type_names) / sizeof(pc_type_names[0]))
		return pc_fail(pc,
			       "TYPE for %.*s: \"%.*s\" is not counter, gauge, histogram, summary "
			       "or untyped",
			       (int)n, name, (int)(p - word), word);
	if (pc_skip(p, end) != end)
		return pc_fail(pc, "TYPE for %.*s: text after the type", (int)n, name);
	if (t == PC_COUNTER && !pc_ends_with(name, n, "_total"))
		return pc_fail(pc, "counter %.*s: counter names end in _total", (int)n, name);
	f->type = t;
	f->type_line = pc->line;
	return 0;
}

/* The series belongs to family NAME, or to a histogram or summary whose name NAME extends. */
static int pc_sample_family(struct pc *pc, const char *name, size_t n, struct pc_family **out)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	struct pc_family *f;
	size_t i;
	int err;

	err = pc_family_get(pc, name, n, false, &f);
	if (err || f) {
		*out = f;
		return err;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sn = strlen(suffixes[i]);

		if (!pc_ends_with(name, n, suffixes[i]))
			continue;
		err = pc_family_get(pc, name, n - sn, false, &f);
		if (err)
			return err;
		if (f && (f->type == PC_HISTOGRAM || (f->type == PC_SUMMARY && i > 0))) {
			*out = f;
			return 0;
		}
	}
	return pc_family_get(pc, name, n, true, out);
}

static int pc_label_cmp(const void *a, const void *b)
{
	const struct pc_label *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);

	if (c)
		return c;
	return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

static const struct pc_label *pc_find_label(struct pc *pc, const char *name)
{
	size_t i;

	for (i = 0; i < pc->nlabels; i++) {
		if (pc->labels[i].nlen == strlen(name) &&
		    !memcmp(pc->labels[i].name, name, pc->labels[i].nlen))
			return &pc->labels[i];
	}
	return NULL;
}

/* A label value's escapes: \\, \" and \n only. Leaves P after the closing quote. */
static int pc_label_value(struct pc *pc, const char **pp, const char *end, struct pc_str *v)
{
	const char *p = *pp, *run = p;

	v->len = 0;
	if (pc_str_put(v, "", 0))
		return -ENOMEM;
	for (; p < end && *p != '"'; p++) {
		char c;

		if (*p != '\\')
			continue;
		if (p + 1 == end)
			break;
		if (p[1] == '\\' || p[1] == '"')
			c = p[1];
		else if (p[1] == 'n')
			c = '\n';
		else
			return pc_fail(pc,
				       "bad escape \\%c in a label value (only \\\\, \\\" and \\n)",
				       p[1]);
		if (pc_str_put(v, run, p - run) || pc_str_put(v, &c, 1))
			return -ENOMEM;
		p++;
		run = p + 1;
	}
	if (p == end)
		return pc_fail(pc, "label value without its closing quote");
	if (pc_str_put(v, run, p - run))
		return -ENOMEM;
	*pp = p + 1;
	return 0;
}

/* "{name="value",...}", a trailing comma allowed; leaves P after the '}'. */
static int pc_labels(struct pc *pc, const char **pp, const char *end)
{
	const char *p = *pp + 1;
	size_t i;
	int err;

	for (;;) {
		struct pc_label *l;
		size_t n;

		p = pc_skip(p, end);
		if (p < end && *p == '}')
			break;
		n = pc_name_len(p, end, false);
		if (!n)
			return pc_fail(pc, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) or '}'");
		if (n >= 2 && p[0] == '_' && p[1] == '_')
			return pc_fail(pc, "label name %.*s: names starting with __ are reserved",
				       (int)n, p);
		for (i = 0; i < pc->nlabels; i++) {
			if (pc->labels[i].nlen == n && !memcmp(pc->labels[i].name, p, n))
				return pc_fail(pc, "label %.*s given twice", (int)n, p);
		}
		if (pc->nlabels == pc->labels_cap) {
			size_t cap = pc->labels_cap ? 2 * pc->labels_cap : 8;

			l = realloc(pc->labels, cap * sizeof(*l));
			if (!l)
				return -ENOMEM;
			memset(l + pc->labels_cap, 0, (cap - pc->labels_cap) * sizeof(*l));
			pc->labels = l;
			pc->labels_cap = cap;
		}
		l = &pc->labels[pc->nlabels];
		l->name = p;
		l->nlen = n;
		p = pc_skip(p + n, end);
		if (p == end || *p != '=')
			return pc_fail(pc, "expected '=' after label name %.*s", (int)n, l->name);
		p = pc_skip(p + 1, end);
		if (p == end || *p != '"')
			return pc_fail(pc, "expected '\"' to open the value of label %.*s", (int)n,
				       l->name);
		p++;
		err = pc_label_value(pc, &p, end, &l->value);
		if (err)
			return err;
		pc->nlabels++;
		p = pc_skip(p, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '}')
			break;
		return pc_fail(pc, "expected ',' or '}' after the value of label %.*s", (int)n,
			       l->name);
	}
	*pp = p + 1;
	return 0;
}

/* "name{labels}", labels sorted; with SKIP_EMPTY, labels with an empty value are left out. */
static int pc_series_text(struct pc *pc, struct pc_str *s, const char *name, size_t n,
			  bool skip_empty)
{
	bool first = true;
	size_t i;

	s->len = 0;
	if (pc_str_put(s, name, n))
		return -ENOMEM;
	for (i = 0; i < pc->nlabels; i++) {
		const struct pc_label *l = &pc->labels[i];
		const char *v;

		if (skip_empty && !l->value.len)
			continue;
		if (pc_str_put(s, first ? "{" : ",", 1) || pc_str_put(s, l->name, l->nlen) ||
		    pc_str_put(s, "=\"", 2))
			return -ENOMEM;
		first = false;
		for (v = l->value.s; v < l->value.s + l->value.len; v++) {
			const char *esc = *v == '\\'   ? "\\\\"
					  : *v == '"'  ? "\\\""
					  : *v == '\n' ? "\\n"
						       : NULL;

			if (pc_str_put(s, esc ? esc : v, esc ? 2 : 1))
				return -ENOMEM;
		}
		if (pc_str_put(s, "\"", 1))
			return -ENOMEM;
	}
	if (!first && pc_str_put(s, "}", 1))
		return -ENOMEM;
	return 0;
}

/* The samples a histogram or summary may have, and the label each kind needs. */
static int pc_check_kind(struct pc *pc, const char *name, size_t n, struct pc_family *f)
{
	const char *need = NULL;
	const struct pc_label *l;
	size_t base;

	if (f->type != PC_HISTOGRAM && f->type != PC_SUMMARY)
		return 0;
	if (pc_ends_with(name, n, "_sum") || pc_ends_with(name, n, "_count"))
		return 0;
	base = n - (pc_ends_with(name, n, "_bucket") ? strlen("_bucket") : 0);
	if (f->type == PC_HISTOGRAM && base == n)
		return pc_fail(pc, "histogram %.*s has only _bucket, _sum and _count samples",
			       (int)n, name);
	need = f->type == PC_HISTOGRAM ? "le" : "quantile";
	l = pc_find_label(pc, need);
	if (!l || !pc_valid_float(l->value.s, l->value.len))
		return pc_fail(pc, "%.*s needs a %s label holding a number", (int)n, name, need);
	return 0;
}

static int pc_sample(struct pc *pc, const char *p, const char *end)
{
	const char *name = p, *value, *ts;
	struct pc_family *f;
	struct pc_entry *e;
	size_t n, vn;
	int err;

	n = pc_name_len(p, end, true);
	if (!n)
		return pc_fail(pc, "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or '#'");
	p += n;
	if (p < end && !pc_blank(*p) && *p != '{')
		return pc_fail(pc, "'%c' is not allowed in a metric name", *p);
	pc->nlabels = 0;
	p = pc_skip(p, end);
	if (p < end && *p == '{') {
		err = pc_labels(pc, &p, end);
		if (err)
			return err;
		if (p < end && !pc_blank(*p))
			return pc_fail(pc, "expected a blank and a value after '}'");
	}
	value = p = pc_skip(p, end);
	while (p < end && !pc_blank(*p))
		p++;
	vn = p - value;
	if (!vn)
		return pc_fail(pc, "%.*s has no value", (int)n, name);
	if (!pc_valid_float(value, vn))
		return pc_fail(pc, "value \"%.*s\" is not a number (digits, +Inf, -Inf or NaN)",
			       (int)vn, value);
	ts = p = pc_skip(p, end);
	while (p < end && !pc_blank(*p))
		p++;
	if (p > ts && !pc_valid_timestamp(ts, p - ts))
		return pc_fail(pc, "timestamp \"%.*s\" is not an integer (milliseconds)",
			       (int)(p - ts), ts);
	if (pc_skip(p, end) != end)
		return pc_fail(pc, "text after the %s", p > ts ? "timestamp" : "value");

	err = pc_sample_family(pc, name, n, &f);
	if (err)
		return err;
	err = pc_enter(pc, f, name, n);
	if (err)
		return err;
	if (!f->sample_line)
		f->sample_line = pc->line;
	err = pc_check_kind(pc, name, n, f);
	if (err)
		return err;

	qsort(pc->labels, pc->nlabels, sizeof(pc->labels[0]), pc_label_cmp);
	err = pc_series_text(pc, &pc->key, name, n, true);
	if (err)
		return err;
	e = pc_lookup(&pc->series, pc->key.s);
	if (e)
		return pc_fail(pc, "series %s again (first on line %u)", pc->key.s,
			       (unsigned int)(uintptr_t)e->val);
	if (!pc_insert(&pc->series, pc->key.s, (void *)(uintptr_t)pc->line))
		return -ENOMEM;
	if (!pc->list)
		return 0;
	err = pc_series_text(pc, &pc->out, name, n, false);
	if (err)
		return err;
	fprintf(pc->list, "%s %.*s\n", pc->out.s, (int)vn, value);
	return 0;
}

static int pc_line(struct pc *pc, const char *p, const char *end)
{
	size_t bad;

	if (p == end) {
		if (!pc->blank_line)
			pc->blank_line = pc->line;
		return 0;
	}
	if (pc->blank_line) {
		pc->line = pc->blank_line;
		return pc_fail(pc, "blank line (allowed only at the end)");
	}
	if (memchr(p, '\r', end - p))
		return pc_fail(pc, "carriage return (lines end with \\n alone)");
	if (memchr(p, '\0', end - p))
		return pc_fail(pc, "NUL byte");
	if (!pc_valid_utf8((const unsigned char *)p, (const unsigned char *)end, &bad))
		return pc_fail(pc, "invalid UTF-8 at byte %zu", bad + 1);
	if (*p == '#')
		return pc_comment(pc, p, end);
	return pc_sample(pc, p, end);
}

/*
 * Check LEN bytes of TEXT; when LIST is not NULL, print each sample to it as it is checked (so
 * an invalid text leaves a partial list). Returns 0 when valid, -EINVAL with "line N: ..." in
 * ERR when not, or -ENOMEM.
 */
int promcheck_list(const char *text, size_t len, FILE *list, char *err, size_t errlen)
{
	struct pc pc = {.text = text, .len = len, .err = err, .errlen = errlen, .list = list};
	const char *p = text, *end = text + len;
	size_t i;
	int ret = 0;

	if (errlen)
		err[0] = '\0';
	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', end - p);

		pc.line++;
		if (!nl) {
			ret = pc_fail(&pc, "no newline at the end of the last line");
			break;
		}
		ret = pc_line(&pc, p, nl);
		p = nl + 1;
	}
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	pc_table_free(&pc.families, true);
	pc_table_free(&pc.series, false);
	for (i = 0; i < pc.labels_cap; i++)
		free(pc.labels[i].value.s);
	free(pc.labels);
	free(pc.key.s);
	free(pc.out.s);
	return ret;
}

int promcheck_text(const char *text, char *err, size_t errlen)
{
	return promcheck_list(text, strlen(text), NULL, err, errlen);
}

#ifndef PROMCHECK_NO_MAIN
int main(int argc, char **argv)
{
	char err[512], *listbuf = NULL;
	size_t len = 0, cap = 0, listlen = 0;
	bool list = false;
	FILE *out = NULL;
	char *text = NULL;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		list = true;
	} else if (argc != 1) {
		fprintf(stderr, "usage: promcheck [--list] < FILE\n");
		return 2;
	}
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 65536;
			text = realloc(text, cap);
			if (!text) {
				fprintf(stderr, "promcheck: out of memory\n");
				return 2;
			}
		}
		n = fread(text + len, 1, cap - len, stdin);
		len += n;
		if (n)
			continue;
		if (ferror(stdin)) {
			fprintf(stderr, "promcheck: reading stdin: %s\n", strerror(errno));
			return 2;
		}
		break;
	}
	/* The samples are listed only for a valid text, so they go to memory first. */
	if (list) {
		out = open_memstream(&listbuf, &listlen);
		if (!out) {
			fprintf(stderr, "promcheck: %s\n", strerror(errno));
			return 2;
		}
	}
	ret = promcheck_list(text, len, out, err, sizeof(err));
	if (out)
		fclose(out);
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return ret == -EINVAL ? 1 : 2;
	}
	if (list)
		fwrite(listbuf, 1, listlen, stdout);
	free(listbuf);
	free(text);
	return 0;
}
#endif /* PROMCHECK_NO_MAIN */
