// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * promcheck: the check of our /metrics text. `promtool check metrics` (Debian package
 * prometheus) checks the exposition format and lints it; then come the rules of this project
 * that promtool lets through (promtool 2.42 accepts every text below that breaks one):
 *
 *  - blank lines only at the end;
 *  - a family's lines together, its HELP and TYPE before its samples;
 *  - no series twice, whatever the order of its labels; a label with an empty value is no label;
 *  - no label name starting with "__" (reserved by Prometheus);
 *  - values spelt as our builder writes them: decimal numbers, +Inf, -Inf or NaN.
 *
 *	promcheck < FILE
 *
 * Exits 0 when FILE passes both. Otherwise it prints the first problem on stderr and exits 1:
 * "promtool: " and the first line promtool printed, or "line N: what is wrong" for our rules.
 * Usage and read errors, and a promtool that cannot be run, exit 2.
 *
 * The unit tests include this file with PROMCHECK_NO_MAIN defined and call promcheck_text() and
 * promcheck_buf().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PC_PROMTOOL "promtool"

/* Run `promtool check metrics` on LEN bytes of TEXT: 0, -EINVAL with the first line of what
 * it printed in ERR, or -errno (ERR says why) when it cannot be run. */
static int pc_promtool(const char *text, size_t len, char *err, size_t errlen)
{
	int in = memfd_create("promcheck", MFD_CLOEXEC), out[2], st;
	char buf[512];
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (in < 0 || write(in, text, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) ||
	    pipe2(out, O_CLOEXEC)) {
		snprintf(err, errlen, "promtool: cannot feed it: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		dup2(in, 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execlp(PC_PROMTOOL, PC_PROMTOOL, "check", "metrics", (char *)NULL);
		_exit(127);
	}
	close(in);
	close(out[1]);
	while (pid > 0 && (r = read(out[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	buf[n] = '\0';
	close(out[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		snprintf(err, errlen, "promtool: cannot run it: %s", strerror(errno));
		return -ECHILD;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		snprintf(err, errlen, "promtool: not found (apt-get install prometheus)");
		return -ENOENT;
	}
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(err, errlen, "promtool: %s", buf);
	return -EINVAL;
}

/* A series as a canonical key (name, then its labels with values, sorted by name), and where. */
struct pc_series {
	char *key;
	unsigned int line;
};

struct pc_label {
	const char *name, *value; /* the value as written, escapes and all */
	size_t nlen, vlen;
};

struct pc {
	unsigned int line;
	char *err;
	size_t errlen;
	unsigned int blank_line; /* the first blank line, while only blank lines follow it */
	char family[256];	 /* the family of the lines being read */
	bool typed_suffixes;	 /* it is a histogram or summary: _bucket, _sum, _count are its */
	unsigned int family_end; /* its last line so far */
	unsigned int first_sample;
	struct pc_ended {
		char name[256];
		unsigned int end;
	} * ended; /* families whose lines are behind us */
	size_t n_ended;
	struct pc_series *series;
	size_t n_series;
};

static int pc_fail(struct pc *pc, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int pc_fail(struct pc *pc, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!pc->errlen)
		return -EINVAL;
	n = snprintf(pc->err, pc->errlen, "line %u: ", line);
	if (n >= 0 && (size_t)n < pc->errlen) {
		va_start(ap, fmt);
		vsnprintf(pc->err + n, pc->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const char *pc_skip(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static size_t pc_name_len(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p != ' ' && *p != '\t' && *p != '{')
		p++;
	return p - s;
}

/* The lines of family NAME (N bytes) go on, or start; META for its HELP and TYPE lines. */
static int pc_family(struct pc *pc, const char *name, size_t n, bool meta)
{
	struct pc_ended *v;
	size_t i;

	if (n >= sizeof(pc->family))
		return pc_fail(pc, pc->line, "a metric name of %zu characters", n);
	if (strlen(pc->family) != n || strncmp(pc->family, name, n)) {
		for (i = 0; i < pc->n_ended; i++)
			if (strlen(pc->ended[i].name) == n && !strncmp(pc->ended[i].name, name, n))
				return pc_fail(pc, pc->line,
					       "%.*s: its family's lines must be together, but it "
					       "ended at line %u",
					       (int)n, name, pc->ended[i].end);
		if (pc->family[0]) {
			v = realloc(pc->ended, (pc->n_ended + 1) * sizeof(*pc->ended));
			if (!v)
				return -ENOMEM;
			pc->ended = v;
			strcpy(v[pc->n_ended].name, pc->family);
			v[pc->n_ended++].end = pc->family_end;
		}
		memcpy(pc->family, name, n);
		pc->family[n] = '\0';
		pc->typed_suffixes = false;
		pc->first_sample = 0;
	}
	if (meta && pc->first_sample)
		return pc_fail(pc, pc->line, "HELP or TYPE for %s after its samples (line %u)",
			       pc->family, pc->first_sample);
	pc->family_end = pc->line;
	return 0;
}

/* "# HELP name ..." and "# TYPE name type"; other comments say nothing. */
static int pc_comment(struct pc *pc, const char *p, const char *end)
{
	bool help = end - p > 7 && !strncmp(p, "# HELP ", 7);
	bool type = end - p > 7 && !strncmp(p, "# TYPE ", 7);
	const char *name;
	size_t n;
	int err;

	if (!help && !type)
		return 0;
	name = pc_skip(p + 7, end);
	n = pc_name_len(name, end);
	err = pc_family(pc, name, n, true);
	if (!err && type) {
		p = pc_skip(name + n, end);
		pc->typed_suffixes = (end - p == 9 && !strncmp(p, "histogram", 9)) ||
				     (end - p == 7 && !strncmp(p, "summary", 7));
	}
	return err;
}

/* Whether sample NAME (N bytes) is of the family being read, through a histogram's suffix. */
static bool pc_suffixed(const struct pc *pc, const char *name, size_t n)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t i, f = strlen(pc->family), s;

	for (i = 0; pc->typed_suffixes && i < 3; i++) {
		s = strlen(suffixes[i]);
		if (n == f + s && !strncmp(name, pc->family, f) &&
		    !strncmp(name + f, suffixes[i], s))
			return true;
	}
	return false;
}

/* The labels of "{...}" at P, which promtool has read already, into L (MAX at most); returns
 * what follows the braces. */
static const char *pc_read_labels(const char *p, const char *end, struct pc_label *l, size_t max,
				  size_t *n)
{
	struct pc_label x;

	*n = 0;
	for (p++; (p = pc_skip(p, end)) < end && *p != '}';) {
		x.name = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\t')
			p++;
		x.nlen = p - x.name;
		p = pc_skip(pc_skip(p, end) + 1, end) + 1; /* past '=' and '"' */
		for (x.value = p; p < end && *p != '"'; p += *p == '\\' ? 2 : 1)
			;
		x.vlen = p - x.value;
		if (*n < max)
			l[(*n)++] = x;
		p = pc_skip(p + 1, end);
		p += p < end && *p == ',';
	}
	return p < end ? p + 1 : p;
}

static int pc_cmp_label(const void *a, const void *b)
{
	const struct pc_label *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->nlen < y->nlen ? x->nlen : y->nlen);

	return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
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
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (!digits)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i += 1 + (i + 1 < n && (s[i + 1] == '+' || s[i + 1] == '-'));
		for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	}
	return digits && i == n;
}

/* Note the series NAME{L} (N labels) of this line; an empty value is no label. */
static int pc_add_series(struct pc *pc, const char *name, size_t nlen, struct pc_label *l, size_t n)
{
	struct pc_series *v;
	bool braced = false;
	char *key = NULL;
	size_t len, i;
	FILE *f;

	qsort(l, n, sizeof(*l), pc_cmp_label);
	f = open_memstream(&key, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%.*s", (int)nlen, name);
	for (i = 0; i < n; i++) {
		if (!l[i].vlen)
			continue;
		fprintf(f, "%c%.*s=\"%.*s\"", braced ? ',' : '{', (int)l[i].nlen, l[i].name,
			(int)l[i].vlen, l[i].value);
		braced = true;
	}
	if (braced)
		fputc('}', f);
	if (fclose(f))
		return -ENOMEM;
	v = realloc(pc->series, (pc->n_series + 1) * sizeof(*v));
	if (!v) {
		free(key);
		return -ENOMEM;
	}
	pc->series = v;
	v[pc->n_series].key = key;
	v[pc->n_series++].line = pc->line;
	return 0;
}

/* A sample line: its family, its labels, its value. */
static int pc_sample(struct pc *pc, const char *p, const char *end)
{
	struct pc_label l[64];
	const char *name = p, *value;
	size_t n = pc_name_len(p, end), nl = 0, i;
	int err;

	err = pc_family(pc, name, pc_suffixed(pc, name, n) ? strlen(pc->family) : n, false);
	if (err)
		return err;
	if (!pc->first_sample)
		pc->first_sample = pc->line;
	p = pc_skip(name + n, end);
	if (p < end && *p == '{')
		p = pc_read_labels(p, end, l, sizeof(l) / sizeof(l[0]), &nl);
	for (i = 0; i < nl; i++)
		if (l[i].nlen >= 2 && l[i].name[0] == '_' && l[i].name[1] == '_')
			return pc_fail(pc, pc->line,
				       "label name %.*s: names starting with __ are reserved",
				       (int)l[i].nlen, l[i].name);
	value = pc_skip(p, end);
	for (p = value; p < end && *p != ' ' && *p != '\t'; p++)
		;
	if (!pc_valid_float(value, p - value))
		return pc_fail(pc, pc->line,
			       "value \"%.*s\" is not a number (digits, +Inf, -Inf or NaN)",
			       (int)(p - value), value);
	return pc_add_series(pc, name, n, l, nl);
}

static int pc_line(struct pc *pc, const char *p, const char *end)
{
	if (p == end) {
		if (!pc->blank_line)
			pc->blank_line = pc->line;
		return 0;
	}
	if (pc->blank_line)
		return pc_fail(pc, pc->blank_line, "blank line (allowed only at the end)");
	return *p == '#' ? pc_comment(pc, p, end) : pc_sample(pc, p, end);
}

/* By key, then by line. */
static int pc_cmp_series(const void *a, const void *b)
{
	const struct pc_series *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The first line, in file order, that repeats an earlier series. */
static int pc_check_series(struct pc *pc)
{
	const struct pc_series *v = pc->series, *dup = NULL;
	size_t i;

	/* qsort() is given no NULL base, even for nothing to sort. */
	if (pc->n_series > 1)
		qsort(pc->series, pc->n_series, sizeof(*v), pc_cmp_series);
	for (i = 1; i < pc->n_series; i++)
		if (!strcmp(v[i].key, v[i - 1].key) && (!dup || v[i].line < dup->line) &&
		    (i < 2 || strcmp(v[i].key, v[i - 2].key)))
			dup = &v[i];
	if (!dup)
		return 0;
	return pc_fail(pc, dup->line, "series %s again (first on line %u)", dup->key, dup[-1].line);
}

/* Our rules on LEN bytes of TEXT, which promtool has accepted. */
static int pc_rules(const char *text, size_t len, char *err, size_t errlen)
{
	struct pc pc = {.err = err, .errlen = errlen};
	const char *p = text, *end = text + len, *nl;
	size_t i;
	int ret = 0;

	while (p < end && !ret) {
		nl = memchr(p, '\n', end - p);
		pc.line++;
		ret = pc_line(&pc, p, nl ? nl : end);
		p = nl ? nl + 1 : end;
	}
	if (!ret)
		ret = pc_check_series(&pc);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	for (i = 0; i < pc.n_series; i++)
		free(pc.series[i].key);
	free(pc.series);
	free(pc.ended);
	return ret;
}

/* Check LEN bytes of TEXT: 0, -EINVAL with the problem in ERR, or another -errno (ERR says). */
int promcheck_buf(const char *text, size_t len, char *err, size_t errlen)
{
	int ret;

	if (errlen)
		err[0] = '\0';
	ret = pc_promtool(text, len, err, errlen);
	return ret ? ret : pc_rules(text, len, err, errlen);
}

int promcheck_text(const char *text, char *err, size_t errlen)
{
	return promcheck_buf(text, strlen(text), err, errlen);
}

#ifndef PROMCHECK_NO_MAIN
int main(int argc, char **argv)
{
	size_t len = 0, cap = 0, n;
	char err[512], *text = NULL, *v;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "usage: promcheck < FILE\n");
		return 2;
	}
	do {
		if (cap - len < 65536) {
			cap = cap ? 2 * cap : 65536;
			v = realloc(text, cap);
			if (!v) {
				fprintf(stderr, "promcheck: out of memory\n");
				return 2;
			}
			text = v;
		}
		n = fread(text + len, 1, cap - len, stdin);
		len += n;
	} while (n);
	if (ferror(stdin)) {
		fprintf(stderr, "promcheck: reading stdin: %s\n", strerror(errno));
		return 2;
	}
	ret = promcheck_buf(text, len, err, sizeof(err));
	if (ret)
		fprintf(stderr, "%s\n", err);
	free(text);
	return !ret ? 0 : ret == -EINVAL ? 1 : 2;
}
#endif /* PROMCHECK_NO_MAIN */
