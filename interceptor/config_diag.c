// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Diagnostics: each problem as FILE:LINE:COL: key: message, collected rather than returned one
 * at a time, so that one run shows the user all there is to fix, then put in file order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

int sc_diags_vadd(struct sc_diags *diags, const char *file, int line, int col, const char *key,
		  const char *fmt, va_list ap)
{
	struct sc_diag *v, *d;

	v = realloc(diags->v, (diags->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	diags->v = v;
	d = &v[diags->n];
	memset(d, 0, sizeof(*d));
	d->line = line;
	d->col = col;
	d->file = strdup(file);
	d->key = strdup(key);
	if (!d->file || !d->key || vasprintf(&d->msg, fmt, ap) < 0)
		goto out_free;
	diags->n++;
	return 0;

out_free:
	free(d->file);
	free(d->key);
	return -ENOMEM;
}

void sc_diags_add(struct sc_diags *diags, const char *file, int line, int col, const char *key,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc_diags_vadd(diags, file, line, col, key, fmt, ap);
	va_end(ap);
}

/* Report a problem at MARK; libyaml counts lines and columns from 0, editors from 1. */
void sc_diag(struct sc_parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	va_start(ap, fmt);
	if (sc_diags_vadd(p->diags, p->file, mark.line + 1, mark.column + 1, key, fmt, ap))
		p->err = -ENOMEM;
	va_end(ap);
}

/* Report a problem with the value of KEY, which then keeps its default. */
void sc_bad(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node, const char *fmt,
	    ...)
{
	va_list ap;

	p->errors++;
	p->seen[sc_key_id(key)].bad = true;
	va_start(ap, fmt);
	if (sc_diags_vadd(p->diags, p->file, node->start_mark.line + 1, node->start_mark.column + 1,
			  key->path, fmt, ap))
		p->err = -ENOMEM;
	va_end(ap);
}

/* A large file has a million values in services: their paths are spelt out for messages only. */
const char *sc_loc_path(const struct sc_loc *loc, char *buf, size_t size)
{
	int len;

	len = snprintf(buf, size, "services[%zu]", loc->svc);
	if (loc->ep != SIZE_MAX)
		len += snprintf(buf + len, size - len, ".endpoints[%zu]", loc->ep);
	if (loc->key)
		snprintf(buf + len, size - len, ".%.64s", loc->key);
	return buf;
}

void sc_loc_diag(struct sc_parser *p, yaml_mark_t mark, const struct sc_loc *loc, const char *fmt,
		 ...)
{
	char path[160];
	va_list ap;

	p->errors++;
	va_start(ap, fmt);
	if (sc_diags_vadd(p->diags, p->file, mark.line + 1, mark.column + 1,
			  sc_loc_path(loc, path, sizeof(path)), fmt, ap))
		p->err = -ENOMEM;
	va_end(ap);
}

static bool sc_diag_before(const struct sc_diag *a, const struct sc_diag *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* The sort of last resort, when there is no memory for a merge sort: stable, O(n^2). */
static void sc_diags_insertion_sort(struct sc_diag *v, size_t n)
{
	struct sc_diag d;
	size_t i, j;

	for (i = 1; i < n; i++) {
		d = v[i];
		for (j = i; j > 0 && sc_diag_before(&d, &v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = d;
	}
}

/*
 * Put the diagnostics from V[0] on in file order, which is the order a user fixes them in; the
 * passes find them in another (a list's "*" is judged after its last item, cross-checks come
 * last). The sort is stable, so two problems at one node keep the order they were found in. It
 * is a merge sort: a file of thousands of services can give thousands of diagnostics, those of
 * the validation pass all after those of the parse pass.
 */
void sc_diags_sort(struct sc_diag *v, size_t n)
{
	struct sc_diag *tmp, *from, *to, *swap;
	size_t width, lo, mid, hi, i, j, k;

	if (n < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		sc_diags_insertion_sort(v, n);
		return;
	}
	from = v;
	to = tmp;
	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = lo + width < n ? lo + width : n;
			hi = lo + 2 * width < n ? lo + 2 * width : n;
			/* On a tie the left run goes first: that keeps the sort stable. */
			for (i = lo, j = mid, k = lo; k < hi; k++) {
				if (j == hi || (i < mid && !sc_diag_before(&from[j], &from[i])))
					to[k] = from[i++];
				else
					to[k] = from[j++];
			}
		}
		swap = from;
		from = to;
		to = swap;
	}
	if (from != v)
		memcpy(v, from, n * sizeof(*v));
	free(tmp);
}

void sc_diags_free(struct sc_diags *diags)
{
	size_t i;

	for (i = 0; i < diags->n; i++) {
		free(diags->v[i].file);
		free(diags->v[i].key);
		free(diags->v[i].msg);
	}
	free(diags->v);
	memset(diags, 0, sizeof(*diags));
}

/* Parts that are not known (no line, no key) are left out rather than printed as 0 or "". */
void sc_diags_print(const struct sc_diags *diags, FILE *out)
{
	const struct sc_diag *d;
	size_t i;

	for (i = 0; i < diags->n; i++) {
		d = &diags->v[i];
		if (d->line)
			fprintf(out, "%s:%d:%d: ", d->file, d->line, d->col);
		else
			fprintf(out, "%s: ", d->file);
		if (d->key[0])
			fprintf(out, "%s: ", d->key);
		fprintf(out, "%s\n", d->msg);
	}
}
