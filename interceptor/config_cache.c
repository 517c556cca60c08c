// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Parsing a config again after an edit, in proportion to the edit. A control plane rewrites the
 * whole file to change one service; with 10,000 services that is 6 MB of YAML, and libyaml alone
 * takes longer to read it than a policy change may take. The cache keeps the last text that
 * parsed without a problem, its config, and the first byte of each item of its services
 * sequence. A new text is compared with it from both ends; when what differs lies inside whole
 * items of that sequence, only those items (as they read now) are parsed, as a block sequence on
 * their own, and spliced into the kept config in place of the old ones.
 *
 * That gives what the whole parse gives only if the items read the same on their own as in
 * place, so the fast path is taken only when nothing in or around them can make them read
 * otherwise, and the whole text is parsed whenever there is any doubt, or any problem to report:
 *
 * - the kept text has no alias, directive or document marker, its top level is a block mapping at
 *   column 0, and services is a block sequence of at least one item that ends at the start of a
 *   line (the next key's, or the end of the file); its items hold no block scalar and no quoted
 *   scalar over several lines (config_items.c checks all this on the document);
 * - no '\r', NEL, LS or PS anywhere, so that lines are what libyaml counts as lines, and only
 *   printable ASCII in the items, so that byte offsets and columns agree;
 * - the items start exactly at the lines that begin with COL spaces and "- ", and each item's
 *   content begins on that line;
 * - the changed bytes lie within whole items, and the new text of those items starts and ends
 *   at the start of a line; it parses as one block sequence at column COL (or as nothing but
 *   comments), passes the same checks, and has no problem of its own;
 * - the spliced services keep distinct names and distinct vip:port pairs, and the policy limits.
 *
 * Why that is enough: the text before the items is the same as before and ended at the start of
 * an item's "-" line, so nothing in it is still open there (an open block scalar is the one thing
 * that could swallow the new lines, and there is none). The new items consist of lines at column
 * COL or deeper (a parse on their own fails otherwise), so in place they are items of the same
 * sequence, read with the same tokens. What follows them begins at column COL with "- ", or at
 * column 0, or is the end of the file, so it closes every block they open, as the end of their
 * own text does; what they could leave open that the end of their own text would not close
 * (flow collections, quotes) fails the parse on their own. Anchors would let an item depend on
 * another, and there are no aliases. The other keys are untouched, so their values and the
 * checks between them stay as they were; the checks that involve services are run again on the
 * new items, and between them and the rest through two hash sets.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config_int.h"
#include "htab.h"
#include "sidecap.h"

/* A vip and port as a set key: family, address, port in one byte string. */
#define SC_VIP_KEY 19

_Static_assert(SC_VIP_KEY <= SC_HTAB_INLINE, "a vip key is kept in its slot: adding one back "
					     "after a removal cannot fail");

struct sc_config_cache {
	size_t min_size;
	struct sc_config_cache_stats st;
	/* The rest describes the last text that parsed without a problem, when usable. */
	bool usable;
	char *name;
	int mode;
	char *text;
	size_t len;
	struct sc_config cfg; /* shares its services with the configs handed out */
	size_t col;	      /* column of the items' "-" */
	size_t *starts;	      /* first byte of each item's "-" line; [n_services]: the end */
	size_t endpoints;     /* in all services */
	const char *unusable; /* why the last text parsed was not kept */
	struct sc_htab names; /* borrowed from the kept config */
	struct sc_htab vips;  /* copies of SC_VIP_KEY bytes */
};

static int sc_name_add(struct sc_htab *names, const char *name)
{
	return sc_htab_add(names, name, strlen(name), 0);
}

static void sc_name_del(struct sc_htab *names, const char *name)
{
	sc_htab_del(names, name, strlen(name));
}

static void sc_vip_key(const struct sc_service_cfg *svc, uint8_t *key)
{
	key[0] = svc->family == AF_INET6;
	memcpy(key + 1, svc->vip, 16);
	key[17] = svc->port >> 8;
	key[18] = svc->port & 0xff;
}

static int sc_vip_add(struct sc_htab *vips, const struct sc_service_cfg *svc)
{
	uint8_t key[SC_VIP_KEY];

	sc_vip_key(svc, key);
	return sc_htab_add(vips, key, sizeof(key), 0);
}

static void sc_vip_del(struct sc_htab *vips, const struct sc_service_cfg *svc)
{
	uint8_t key[SC_VIP_KEY];

	sc_vip_key(svc, key);
	sc_htab_del(vips, key, sizeof(key));
}

struct sc_config_cache *sc_config_cache_new(size_t min_size)
{
	struct sc_config_cache *c = calloc(1, sizeof(*c));

	if (c) {
		c->min_size = min_size;
		c->names.borrow = true;
	}
	return c;
}

/* Forget the kept text: the next parse is of the whole text. */
static void sc_cache_drop(struct sc_config_cache *c)
{
	c->unusable = NULL;
	sc_config_free(&c->cfg);
	free(c->name);
	free(c->text);
	free(c->starts);
	sc_htab_free(&c->names);
	sc_htab_free(&c->vips);
	c->usable = false;
	c->name = c->text = NULL;
	c->starts = NULL;
	c->len = c->endpoints = 0;
}

void sc_config_cache_free(struct sc_config_cache *c)
{
	if (!c)
		return;
	sc_cache_drop(c);
	free(c);
}

void sc_config_cache_stats(const struct sc_config_cache *c, struct sc_config_cache_stats *st)
{
	*st = c->st;
}

/* Whether the line at LS begins with COL spaces and "- " (or "-" and its end). */
static bool sc_item_line(const char *t, size_t len, size_t ls, size_t col)
{
	size_t i;

	if (ls + col >= len)
		return false;
	for (i = 0; i < col; i++)
		if (t[ls + i] != ' ')
			return false;
	return t[ls + col] == '-' &&
	       (ls + col + 1 == len || t[ls + col + 1] == ' ' || t[ls + col + 1] == '\n');
}

/* No '\r', NEL, LS or PS: libyaml counts those as line breaks, and we count '\n' alone. */
static bool sc_breaks_are_newlines(const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t i;

	for (i = 0; i < len; i++) {
		if (t[i] < 0x80) {
			if (t[i] == '\r')
				return false;
			continue;
		}
		if (t[i] == 0xc2 && i + 1 < len && t[i + 1] == 0x85)
			return false;
		if (t[i] == 0xe2 && i + 2 < len && t[i + 1] == 0x80 &&
		    (t[i + 2] == 0xa8 || t[i + 2] == 0xa9))
			return false;
	}
	return true;
}

/*
 * Check the items' text T[FROM, TO), which starts at a line start: printable ASCII and '\n' only,
 * no line that starts a document, ends one or is a directive. Stores the byte offset (from
 * FROM) and the line (from 0) of the first MAX lines that look like the start of an item in OFF
 * and LINE, and returns how many there are in all, or -1 when the text fails.
 */
static long sc_scan_items(const char *t, size_t from, size_t to, size_t col, size_t *off,
			  size_t *line, size_t max)
{
	size_t i, ls, nl = 0;
	long n = 0;

	for (ls = from; ls < to; ls = i + 1, nl++) {
		if (t[ls] == '%' ||
		    (to - ls >= 3 && (!memcmp(t + ls, "---", 3) || !memcmp(t + ls, "...", 3))))
			return -1;
		if (sc_item_line(t, to, ls, col)) {
			if ((size_t)n < max) {
				off[n] = ls - from;
				line[n] = nl;
			}
			n++;
		}
		for (i = ls; i < to && t[i] != '\n'; i++)
			if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] > 0x7e)
				return -1;
	}
	return n;
}

static size_t sc_count_lines(const char *t, size_t from, size_t to)
{
	const char *p = t + from, *end = t + to;
	size_t n = 0;

	while ((p = memchr(p, '\n', end - p))) {
		n++;
		p++;
	}
	return n;
}

/* The first byte of line LINE (from 0), or LEN when the text has fewer lines. */
static size_t sc_line_start(const char *t, size_t len, size_t line)
{
	const char *p = t, *end = t + len;

	while (line-- && (p = memchr(p, '\n', end - p)))
		p++;
	return p ? (size_t)(p - t) : len;
}

/* Fill the sets from the kept config; -EEXIST cannot happen, it parsed without a problem. */
static int sc_cache_fill_sets(struct sc_config_cache *c)
{
	size_t i;
	int err;

	err = sc_htab_reserve(&c->names, c->cfg.n_services)
		      ?: sc_htab_reserve(&c->vips, c->cfg.n_services);
	for (i = 0; !err && i < c->cfg.n_services; i++) {
		err = sc_name_add(&c->names, c->cfg.services[i].name)
			      ?: sc_vip_add(&c->vips, &c->cfg.services[i]);
		c->endpoints += c->cfg.services[i].n_endpoints;
	}
	return err;
}

/*
 * Keep TEXT (taken over) and CFG, which it parsed to without a problem, if the layout LAY and
 * the text allow splicing later; otherwise keep nothing. Returns why not, or NULL.
 */
static const char *sc_cache_keep(struct sc_config_cache *c, const char *name, int mode, char *text,
				 size_t len, struct sc_config *cfg,
				 const struct sc_items_layout *lay)
{
	size_t n = cfg->n_services, a, b, k, *lines = NULL;
	const char *why = NULL;
	long found;

	sc_cache_drop(c);
	c->unusable = "no earlier text that parsed";
	if (!lay->usable) {
		why = lay->why;
		goto out_drop;
	}
	if (!sc_breaks_are_newlines(text, len)) {
		why = "line breaks other than \\n";
		goto out_drop;
	}
	a = sc_line_start(text, len, cfg->services[0].line - 1);
	b = sc_line_start(text, len, lay->end_line);
	c->starts = malloc((n + 1) * sizeof(*c->starts));
	lines = malloc((n + 1) * sizeof(*lines));
	c->name = strdup(name);
	if (!c->starts || !lines || !c->name) {
		why = "out of memory";
		goto out_drop;
	}
	found = sc_scan_items(text, a, b, lay->col, c->starts, lines, n);
	if (found != (long)n) {
		why = found < 0 ? "tabs, control or non-ASCII characters, or document markers in "
				  "services"
				: "items that do not start with \"- \" on a line of their own";
		goto out_drop;
	}
	for (k = 0; k < n; k++) {
		if (lines[k] + cfg->services[0].line != (size_t)cfg->services[k].line) {
			why = "items that do not start with \"- \" on a line of their own";
			goto out_drop;
		}
		c->starts[k] += a;
	}
	c->starts[n] = b;
	if (sc_config_share(cfg, &c->cfg) || sc_cache_fill_sets(c)) {
		why = "out of memory";
		goto out_drop;
	}
	c->usable = true;
	c->mode = mode;
	c->col = lay->col;
	c->text = text;
	c->len = len;
	free(lines);
	return NULL;

out_drop:
	free(lines);
	sc_cache_drop(c);
	free(text);
	c->unusable = why;
	return why;
}

/* How many bytes A and B (N each) have in common from the start, or from the end (BACK). */
static size_t sc_common(const char *a, const char *b, size_t n, bool back)
{
	enum { CHUNK = 4096 };
	size_t i = 0;

	if (!back) {
		while (i + CHUNK <= n && !memcmp(a + i, b + i, CHUNK))
			i += CHUNK;
		while (i < n && a[i] == b[i])
			i++;
		return i;
	}
	while (i + CHUNK <= n && !memcmp(a - i - CHUNK, b - i - CHUNK, CHUNK))
		i += CHUNK;
	while (i < n && a[-1 - (long)i] == b[-1 - (long)i])
		i++;
	return i;
}

/* The last K in [LO, HI) with V[K] <= X (V[LO] <= X), or the first with V[K] >= X (!LAST). */
static size_t sc_search(const size_t *v, size_t lo, size_t hi, size_t x, bool last)
{
	size_t mid;

	if (last) {
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (v[mid] <= x)
				lo = mid;
			else
				hi = mid;
		}
		return lo;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Undo sc_cache_check_unique() for the first ADDED new services, putting back the old ones
 * (I..J-1 of the kept config).
 */
static void sc_cache_unique_undo(struct sc_config_cache *c, size_t i, size_t j,
				 const struct sc_service_cfg *svcs, size_t added, bool vips)
{
	size_t k;

	for (k = 0; k < added; k++) {
		sc_name_del(&c->names, svcs[k].name);
		if (vips || k + 1 < added)
			sc_vip_del(&c->vips, &svcs[k]);
	}
	for (k = i; k < j; k++) {
		/* Room was there before, so these cannot fail. */
		sc_name_add(&c->names, c->cfg.services[k].name);
		sc_vip_add(&c->vips, &c->cfg.services[k]);
	}
}

/*
 * The names and vip:port pairs of the services after the splice are distinct: take out those of
 * the old items I..J-1, then add those of the N new ones, which fails on one already there.
 * 0, or -EAGAIN/-ENOMEM with the sets as they were.
 */
static int sc_cache_check_unique(struct sc_config_cache *c, size_t i, size_t j,
				 const struct sc_service_cfg *svcs, size_t n)
{
	size_t k;
	int err = 0;

	for (k = i; k < j; k++) {
		sc_name_del(&c->names, c->cfg.services[k].name);
		sc_vip_del(&c->vips, &c->cfg.services[k]);
	}
	for (k = 0; k < n; k++) {
		err = sc_name_add(&c->names, svcs[k].name);
		if (err) {
			sc_cache_unique_undo(c, i, j, svcs, k, true);
			break;
		}
		err = sc_vip_add(&c->vips, &svcs[k]);
		if (err) {
			sc_cache_unique_undo(c, i, j, svcs, k + 1, false);
			break;
		}
	}
	return err == -EEXIST ? -EAGAIN : err;
}

/*
 * One edit as the splice sees it: the window of items it touched. Items FIRST..LAST-1 of the
 * kept config are replaced by the items of the new text's bytes [FROM, NEW_END), which were
 * [FROM, OLD_END) in the kept text; everything before FROM is the same in both texts, and
 * everything from OLD_END on in the kept text is the same as from NEW_END on in the new one.
 */
struct sc_edit {
	size_t first, last; /* the kept items replaced */
	size_t from;	    /* first byte of item FIRST's line, in both texts */
	size_t old_end;	    /* where the window ends in the kept text: item LAST's line, or the
			     * end of the sequence */
	size_t new_end;	    /* where it ends in the new text */
	long byte_shift;    /* NEW_END - OLD_END: where the items after the window moved */
	/* What parse found in the window: */
	size_t n_lines;		     /* lines that look like the start of an item */
	size_t *offs;		     /* of each such line, from FROM */
	size_t *lines;		     /* the same as line numbers, from 0 at FROM */
	struct sc_service_cfg *svcs; /* its items as they read now (lines counted in the file) */
	size_t n;
	size_t endpoints; /* in all services, once the window is spliced in */
};

static void sc_edit_free(struct sc_edit *e)
{
	sc_services_free(e->svcs, e->n);
	free(e->offs);
	free(e->lines);
	e->svcs = NULL;
	e->offs = e->lines = NULL;
	e->n = 0;
}

/*
 * Locate the window of TEXT (LEN bytes) that differs from the kept text, in whole items: 0 with
 * E filled, 1 when the texts are the same, or -EAGAIN (st.last_why says why).
 */
static int sc_edit_locate(struct sc_config_cache *c, const char *text, size_t len,
			  struct sc_edit *e)
{
	size_t n = c->cfg.n_services, both = len < c->len ? len : c->len;
	size_t same_head, same_tail;

	same_head = sc_common(c->text, text, both, false);
	same_tail = sc_common(c->text + c->len, text + len, both - same_head, true);
	if (same_head == len && len == c->len)
		return 1;
	/* What differs: [same_head, c->len - same_tail) of the kept text, up to len - same_tail
	 * of the new one. */
	if (same_head < c->starts[0] || c->len - same_tail > c->starts[n]) {
		c->st.last_why = "the edit is not inside the services items";
		return -EAGAIN;
	}
	e->first = sc_search(c->starts, 0, n, same_head, true);
	/* An edit at the "- " of an item may as well end the one before: read that one too. */
	if (e->first > 0 && same_head < c->starts[e->first] + c->col + 2)
		e->first--;
	e->last = sc_search(c->starts, e->first, n + 1, c->len - same_tail, false);
	e->from = c->starts[e->first];
	e->old_end = c->starts[e->last];
	e->byte_shift = (long)len - (long)c->len;
	e->new_end = e->old_end + e->byte_shift;
	/* Reading most of the file as items costs more than reading it whole. */
	if (e->new_end - e->from > len / 2) {
		c->st.last_why = "most of the file changed";
		return -EAGAIN;
	}
	if (e->new_end < len && e->new_end > 0 && text[e->new_end - 1] != '\n') {
		c->st.last_why = "the edit joins an item to the line after it";
		return -EAGAIN;
	}
	return 0;
}

/* Where the window's lines that look like items start: its text is checked on the way. */
static int sc_edit_scan(struct sc_config_cache *c, const char *text, struct sc_edit *e)
{
	long found = sc_scan_items(text, e->from, e->new_end, c->col, NULL, NULL, 0);

	if (found < 0) {
		c->st.last_why =
			"tabs, control or non-ASCII characters, or document markers in the "
			"edited items";
		return -EAGAIN;
	}
	e->n_lines = found;
	e->offs = malloc((found + 1) * sizeof(*e->offs));
	e->lines = malloc((found + 1) * sizeof(*e->lines));
	if (!e->offs || !e->lines)
		return -ENOMEM;
	sc_scan_items(text, e->from, e->new_end, c->col, e->offs, e->lines, found);
	return 0;
}

/* The new items start exactly at the lines that look like items; their lines become the file's. */
static int sc_edit_item_lines(struct sc_config_cache *c, struct sc_edit *e)
{
	size_t k, base = c->cfg.services[e->first].line - 1;

	if (e->n != e->n_lines)
		goto out_not_alone;
	for (k = 0; k < e->n; k++) {
		if ((size_t)e->svcs[k].line != e->lines[k] + 1)
			goto out_not_alone;
		/* Lines of the items on their own count from the window's first. */
		e->svcs[k].line += base;
	}
	return 0;

out_not_alone:
	c->st.last_why = "edited items that do not start with \"- \" on a line of their own";
	return -EAGAIN;
}

/*
 * Parse the window's items on their own and check what the whole parse would: that they read
 * as items, and that the services after the splice stay within the policy limits with distinct
 * names and vip:port pairs (the sets then hold the new items'). 0, -EAGAIN or -ENOMEM.
 */
static int sc_edit_parse(struct sc_config_cache *c, const char *text, struct sc_edit *e)
{
	size_t k, total;
	int err;

	err = sc_edit_scan(c, text, e);
	if (err)
		return err;
	err = sc_config_parse_items(c->name, text + e->from, e->new_end - e->from, c->col, &e->svcs,
				    &e->n);
	if (err) {
		c->st.last_why = "the edited items do not read as items on their own, or have a "
				 "problem";
		return err;
	}
	err = sc_edit_item_lines(c, e);
	if (err)
		return err;
	e->endpoints = c->endpoints;
	for (k = 0; k < e->n; k++)
		e->endpoints += e->svcs[k].n_endpoints;
	for (k = e->first; k < e->last; k++)
		e->endpoints -= c->cfg.services[k].n_endpoints;
	total = c->cfg.n_services - (e->last - e->first) + e->n;
	if (!total || total > SC_SLOT_SERVICES || e->endpoints > SC_SLOT_ENDPOINTS) {
		c->st.last_why = "no services left, or more than a policy holds";
		return -EAGAIN;
	}
	err = sc_cache_check_unique(c, e->first, e->last, e->svcs, e->n);
	if (err)
		c->st.last_why = "a name or vip:port given twice";
	return err;
}

/*
 * Put the window's items in place of the old ones in the kept config, and shift the lines and
 * starts of the items after it. The old items go (their memory with the last config that shares
 * them), the new ones are the kept config's. 0 or -ENOMEM (nothing changed, the sets undone).
 */
static int sc_edit_merge(struct sc_config_cache *c, const char *text, struct sc_edit *e)
{
	size_t n = c->cfg.n_services, total = n - (e->last - e->first) + e->n, after, k;
	struct sc_service_cfg *merged;
	size_t *starts;
	long line_shift;

	merged = malloc(total * sizeof(*merged));
	starts = malloc((total + 1) * sizeof(*starts));
	if (!merged || !starts) {
		sc_cache_unique_undo(c, e->first, e->last, e->svcs, e->n, true);
		free(merged);
		free(starts);
		return -ENOMEM;
	}
	line_shift = (long)sc_count_lines(text, e->from, e->new_end) -
		     (long)sc_count_lines(c->text, e->from, e->old_end);
	after = e->first + e->n; /* where the kept items after the window go */
	memcpy(merged, c->cfg.services, e->first * sizeof(*merged));
	memcpy(starts, c->starts, e->first * sizeof(*starts));
	/* An edit that only removes items has none to put in (and e->svcs may be NULL). */
	if (e->n)
		memcpy(merged + e->first, e->svcs, e->n * sizeof(*merged));
	for (k = 0; k < e->n; k++)
		starts[e->first + k] = e->from + e->offs[k];
	for (k = e->last; k < n; k++) {
		merged[after + k - e->last] = c->cfg.services[k];
		merged[after + k - e->last].line += line_shift;
	}
	for (k = e->last; k <= n; k++)
		starts[after + k - e->last] = c->starts[k] + e->byte_shift;
	for (k = e->first; k < e->last; k++)
		sc_service_release(&c->cfg.services[k]);
	free(c->cfg.services);
	free(c->starts);
	c->cfg.services = merged;
	c->cfg.n_services = total;
	c->starts = starts;
	c->endpoints = e->endpoints;
	/* The items are the kept config's now. */
	free(e->svcs);
	e->svcs = NULL;
	e->n = 0;
	return 0;
}

/*
 * Parse TEXT (LEN bytes) by splicing, into OUT: locate the window the edit touched, parse its
 * items on their own, merge them into the kept config. On success the cache holds TEXT (taken
 * over). -EAGAIN when the whole text must be parsed (st.last_why says why), -ENOMEM.
 */
static int sc_cache_splice(struct sc_config_cache *c, char *text, size_t len, struct sc_config *out)
{
	struct sc_edit e = {0};
	size_t parsed = 0;
	int err;

	err = sc_edit_locate(c, text, len, &e);
	if (err < 0)
		return err;
	if (!err) {
		err = sc_edit_parse(c, text, &e);
		parsed = e.n;
		if (!err)
			err = sc_edit_merge(c, text, &e);
		sc_edit_free(&e);
		if (err)
			return err;
	}
	free(c->text);
	c->text = text;
	c->len = len;
	c->st.last_items = parsed;
	err = sc_config_share(&c->cfg, out);
	if (err) {
		/* TEXT goes back to the caller, for the whole parse; the cache starts over. */
		c->text = NULL;
		sc_cache_drop(c);
	}
	return err;
}

/* Parse TEXT (taken over) through the cache. */
static int sc_cache_parse(struct sc_config_cache *c, const char *name, char *text, size_t len,
			  int mode, struct sc_config *cfg, struct sc_diags *diags)
{
	struct sc_items_layout lay;
	const char *why;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	name = name ? name : "<string>";
	c->st.last_spliced = false;
	if (!c->usable) {
		why = c->unusable ? c->unusable : "no earlier text that parsed";
	} else if (c->mode != mode || strcmp(c->name, name)) {
		why = "another file or mode than the earlier text";
	} else if (len < c->min_size) {
		why = "a small file";
	} else {
		err = sc_cache_splice(c, text, len, cfg);
		if (!err) {
			c->st.spliced++;
			c->st.last_spliced = true;
			c->st.last_why = NULL;
			return 0;
		}
		why = err == -ENOMEM ? "out of memory" : c->st.last_why;
	}
	c->st.full++;
	c->st.last_why = why;
	c->st.last_items = 0;
	err = sc_config_parse_layout(name, text, len, mode, cfg, diags, &lay);
	if (err) {
		/* The kept text stays: the next one is likely this one fixed. */
		free(text);
		return err;
	}
	c->st.last_items = cfg->n_services;
	sc_cache_keep(c, name, mode, text, len, cfg, &lay);
	return 0;
}

int sc_config_parse_cached(struct sc_config_cache *c, const char *name, const char *text,
			   size_t len, int mode, struct sc_config *cfg, struct sc_diags *diags)
{
	char *copy = malloc(len + 1);

	memset(cfg, 0, sizeof(*cfg));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	return sc_cache_parse(c, name, copy, len, mode, cfg, diags);
}

int sc_config_load_cached(struct sc_config_cache *c, const char *file, int mode,
			  struct sc_config *cfg, struct sc_diags *diags)
{
	struct sc_diags scratch = {0};
	size_t len;
	char *text;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	err = sc_config_read(file, &text, &len, diags ? diags : &scratch);
	if (!err)
		err = sc_cache_parse(c, file, text, len, mode, cfg, diags ? diags : &scratch);
	sc_diags_free(&scratch);
	return err;
}
