// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One value of each type, read from its libyaml node and checked on its own: paths, ids, ports,
 * booleans, lists of CIDRs and of ports, words from a fixed choice, listen addresses. A value
 * that is refused is reported (config_diag.c) and leaves its field at the default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "config_int.h"

/* An empty value, "~" or "null", written without quotes. */
bool sc_is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	size_t i;

	if (node->type != YAML_SCALAR_NODE || !sc_is_plain(node))
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(sc_value(node), nulls[i]))
			return true;
	return false;
}

/* Describe NODE for "must be X, not Y" messages. */
const char *sc_what(const yaml_node_t *node, char *buf, size_t size)
{
	if (node->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (node->type == YAML_SEQUENCE_NODE)
		return "a list";
	snprintf(buf, size, "\"%.64s\"", sc_value(node));
	return buf;
}

/*
 * Check that NODE is a scalar that can be read as a C string: libyaml lets a quoted scalar
 * carry "\0", which would cut the value short without anyone noticing. PATH is KEY's own path
 * for its value, or a list item's; only the former marks KEY bad, since a bad item leaves the
 * rest of its list in use. KEY is NULL for values inside services, whose marks are elsewhere.
 */
bool sc_scalar(struct sc_parser *p, const struct sc_key *key, const char *path,
	       const yaml_node_t *node, const char *expect)
{
	char what[80];

	if (node->type != YAML_SCALAR_NODE) {
		if (key)
			p->seen[sc_key_id(key)].bad |= path == key->path;
		sc_diag(p, node->start_mark, path, "must be %s, not %s", expect,
			sc_what(node, what, sizeof(what)));
		return false;
	}
	if (strlen(sc_value(node)) != node->data.scalar.length) {
		if (key)
			p->seen[sc_key_id(key)].bad |= path == key->path;
		sc_diag(p, node->start_mark, path, "contains a NUL character; remove it");
		return false;
	}
	return true;
}

/*
 * Read S as a decimal number: digits only, so no sign, no hex or octal, no spaces. A leading
 * zero is refused because YAML 1.1 tools read 010 as 8. Returns 0, -EINVAL when S is not a
 * number, -EDOM for a leading zero, -ERANGE when it is above MAX.
 */
int sc_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	const char *c;
	char *end;

	if (!*s)
		return -EINVAL;
	for (c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return -EINVAL;
	if (s[0] == '0' && s[1])
		return -EDOM;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || v > max)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Read NODE as a number in MIN..MAX for the key or list item PATH. WHAT names the value in
 * messages ("a port"), USE says what to write instead. Items of port lists may be quoted, so
 * that lists written by tools that quote everything still read; single values may not.
 */
int sc_number(struct sc_parser *p, const yaml_node_t *node, const char *path, const char *what,
	      const char *use, bool quoted_ok, unsigned long long min, unsigned long long max,
	      unsigned long long *out)
{
	const char *s = sc_value(node);
	unsigned long long v = 0;
	int err;

	if (!quoted_ok && !sc_is_plain(node)) {
		sc_diag(p, node->start_mark, path, "\"%.64s\" is a string; write %s without quotes",
			s, what);
		return -EINVAL;
	}
	err = sc_parse_uint(s, max, &v);
	if (!err && v < min)
		err = -ERANGE;
	if (err == -EINVAL && (s[0] == '-' || s[0] == '+') && !sc_parse_uint(s + 1, ~0ull, &v))
		err = -ERANGE;
	switch (err) {
	case 0:
		*out = v;
		return 0;
	case -EDOM:
		sc_diag(p, node->start_mark, path, "%.64s has a leading zero (write %llu)", s,
			strtoull(s, NULL, 10));
		break;
	case -ERANGE:
		sc_diag(p, node->start_mark, path, "%.64s is not %s (use %s)", s, what, use);
		break;
	default:
		sc_diag(p, node->start_mark, path, "\"%.64s\" is not %s (use %s)", s, what, use);
		break;
	}
	return -EINVAL;
}

/*
 * Paths are stored without repeated or trailing slashes, so that the default pin path derived
 * from the cgroup path does not depend on how the path was spelt. "." and ".." are refused
 * rather than resolved: resolving them needs the file system, and the parser does not touch it.
 */
void sc_parse_path(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	char **field = (char **)((char *)p->cfg + key->off);
	const char *s, *c, *end;
	char *path, *w;
	size_t len;

	if (!sc_scalar(p, key, key->path, node, "an absolute path"))
		return;
	s = sc_value(node);
	if (s[0] != '/') {
		sc_bad(p, key, node, "\"%.64s\" is not an absolute path (start it with /)", s);
		return;
	}
	path = malloc(strlen(s) + 1);
	if (!path) {
		p->err = -ENOMEM;
		return;
	}
	w = path;
	for (c = s; *c; c = end) {
		while (*c == '/')
			c++;
		end = strchrnul(c, '/');
		len = end - c;
		if (!len)
			break;
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.')) {
			sc_bad(p, key, node,
			       "\"%.64s\" has a . or .. component (write the path without them)",
			       s);
			free(path);
			return;
		}
		*w++ = '/';
		memcpy(w, c, len);
		w += len;
	}
	*w = '\0';
	if (w == path) {
		sc_bad(p, key, node, "/ is the root directory (name a directory below it)");
		free(path);
		return;
	}
	free(*field);
	*field = path;
}

/* cgroup: a path, or the word auto. */
void sc_parse_cgroup(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	if (node->type == YAML_SCALAR_NODE && !strcmp(sc_value(node), "auto")) {
		p->cfg->cgroup_auto = true;
		return;
	}
	sc_parse_path(p, key, node);
}

void sc_parse_id(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	uint32_t *field = (uint32_t *)((char *)p->cfg + key->off);
	const char *what = sc_key_id(key) == K_UID ? "a uid" : "a gid";
	unsigned long long v;

	if (!sc_scalar(p, key, key->path, node, "a number"))
		return;
	if (sc_number(p, node, key->path, what, "0-4294967294", false, 0, SC_ID_MAX, &v)) {
		p->seen[sc_key_id(key)].bad = true;
		return;
	}
	*field = v;
}

void sc_parse_port(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	uint16_t *field = (uint16_t *)((char *)p->cfg + key->off);
	unsigned long long v;

	if (!sc_scalar(p, key, key->path, node, "a port number"))
		return;
	if (sc_number(p, node, key->path, "a port", "1-65535", false, 1, 65535, &v)) {
		p->seen[sc_key_id(key)].bad = true;
		return;
	}
	*field = v;
}

/*
 * YAML 1.2 booleans only. YAML 1.1 also read yes/no/on/off as booleans, and "country: no"
 * became false; refusing them keeps the file meaning the same to every tool that reads it.
 */
void sc_parse_bool(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	static const char *const yaml11[] = {"y", "n", "yes", "no", "on", "off"};
	bool *field = (bool *)((char *)p->cfg + key->off);
	const char *s;
	size_t i;

	if (!sc_scalar(p, key, key->path, node, "true or false"))
		return;
	s = sc_value(node);
	if (!sc_is_plain(node)) {
		sc_bad(p, key, node, "\"%.64s\" is a string (write true or false without quotes)",
		       s);
		return;
	}
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*field = true;
		return;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*field = false;
		return;
	}
	for (i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++) {
		if (!strcasecmp(s, yaml11[i])) {
			sc_bad(p, key, node, "%s is a YAML 1.1 boolean (use true or false)", s);
			return;
		}
	}
	sc_bad(p, key, node, "%.64s is not a boolean (use true or false)", s);
}

/* A list value: a sequence of at most MAX items; a lone scalar gets a hint to bracket it. */
bool sc_list(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node, size_t max)
{
	size_t n;

	if (node->type == YAML_SCALAR_NODE) {
		/* A plain * would start an alias, so the hint for "*" keeps the quotes. */
		if (!strcmp(sc_value(node), "*"))
			sc_bad(p, key, node, "must be a list (write [\"*\"])");
		else
			sc_bad(p, key, node, "must be a list (write [%.64s])", sc_value(node));
		return false;
	}
	if (node->type != YAML_SEQUENCE_NODE) {
		sc_bad(p, key, node, "must be a list, not a mapping");
		return false;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n > max) {
		sc_bad(p, key, node, "%zu entries; a policy holds at most %zu", n, max);
		return false;
	}
	return true;
}

yaml_node_t *sc_item(struct sc_parser *p, const yaml_node_t *seq, size_t i)
{
	return yaml_document_get_node(p->doc, seq->data.sequence.items.start[i]);
}

/*
 * Parse S as an address or a CIDR. A bare address is a host route (/32 or /128). Host bits
 * below the prefix are refused rather than cleared: 10.0.0.1/8 is most likely a typo for
 * 10.0.0.1/32 or 10.0.0.0/8, and guessing wrong would intercept the wrong traffic.
 */
static int sc_parse_cidr(const char *s, struct sc_cidr *c, char *msg, size_t size)
{
	char buf[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN];
	const char *fam, *eg;
	unsigned long long len;
	uint8_t masked[16];
	unsigned int i, max;
	char *slash;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf)) {
		snprintf(msg, size, "\"%.64s\" is not an address or CIDR (write e.g. 10.0.0.0/8)",
			 s);
		return -EINVAL;
	}
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	c->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	max = c->family == AF_INET ? 32 : 128;
	fam = c->family == AF_INET ? "IPv4" : "IPv6";
	eg = c->family == AF_INET ? "10.0.0.0/8" : "fd00::/8";
	if (inet_pton(c->family, buf, c->addr) != 1) {
		snprintf(msg, size, "\"%s\" is not an %s address or CIDR (write e.g. %s)", s, fam,
			 eg);
		return -EINVAL;
	}
	len = max;
	if (slash) {
		switch (sc_parse_uint(slash + 1, max, &len)) {
		case 0:
			break;
		case -ERANGE:
			snprintf(msg, size, "prefix length %s is out of range for %s (use 0-%u)",
				 slash + 1, fam, max);
			return -EINVAL;
		default:
			snprintf(msg, size, "\"%s\" has a bad prefix length (use a number 0-%u)", s,
				 max);
			return -EINVAL;
		}
	}
	c->prefixlen = len;
	memcpy(masked, c->addr, sizeof(masked));
	for (i = 0; i < 16; i++) {
		if (i * 8 >= len)
			masked[i] = 0;
		else if (i * 8 + 8 > len)
			masked[i] &= 0xff << (8 - (len - i * 8));
	}
	if (memcmp(masked, c->addr, sizeof(masked))) {
		inet_ntop(c->family, masked, net, sizeof(net));
		snprintf(msg, size, "\"%s\" has host bits set; did you mean %s/%llu?", s, net, len);
		return -EINVAL;
	}
	return 0;
}

/* The "*" items of a list: how many, and the last one. */
struct sc_stars {
	size_t n;
	size_t index;
	yaml_mark_t mark;
};

/* Report ITEM, at PATH, as the same as item FIRST of its list, written at FIRST_MARK. */
static void sc_dup_item(struct sc_parser *p, const yaml_node_t *item, const char *path,
			size_t first, yaml_mark_t first_mark)
{
	sc_diag(p, item->start_mark, path, "duplicate of [%zu] (line %zu); remove one", first,
		first_mark.line + 1);
}

/* Whether ITEM, item I of a list (at PATH), is "*"; one after another is a duplicate. */
static bool sc_star(struct sc_parser *p, struct sc_stars *st, const yaml_node_t *item, size_t i,
		    const char *path)
{
	if (strcmp(sc_value(item), "*"))
		return false;
	if (st->n++)
		sc_dup_item(p, item, path, st->index, st->mark);
	st->index = i;
	st->mark = item->start_mark;
	return true;
}

/* Whether the N items of KEY's list are "*", which may only stand alone. */
static bool sc_stars_alone(struct sc_parser *p, const struct sc_key *key, const struct sc_stars *st,
			   size_t n)
{
	char path[128];

	if (st->n && st->n < n) {
		snprintf(path, sizeof(path), "%s[%zu]", key->path, st->index);
		sc_diag(p, st->mark, path,
			"\"*\" cannot be combined with other entries (use \"*\" alone)");
	}
	return st->n && st->n == n;
}

/* Parses ITEM (a scalar at PATH) into *C, or says why at the item and returns false. */
typedef bool (*sc_cidr_item_fn)(struct sc_parser *p, const yaml_node_t *item, const char *path,
				struct sc_cidr *c);

/*
 * A list of addresses into KEY's sc_cidr_set, at most MAX items described as WHAT, each parsed
 * by PARSE; an item equal to an earlier one is reported at both. With STARS, "*" alone stands
 * for every address of both families (0.0.0.0/0 and ::/0).
 */
static void sc_parse_cidr_list(struct sc_parser *p, const struct sc_key *key,
			       const yaml_node_t *node, size_t max, const char *what, bool stars,
			       sc_cidr_item_fn parse)
{
	struct sc_cidr_set *field = (struct sc_cidr_set *)((char *)p->cfg + key->off);
	struct sc_cidr_set set = {0};
	struct sc_stars st = {0};
	size_t i, j, n, *index;
	yaml_mark_t *marks;
	yaml_node_t *item;
	struct sc_cidr *c;
	char path[128];

	if (!sc_list(p, key, node, max))
		return;
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	/* Room for every item, or for the two entries "*" stands for. */
	set.v = calloc(n + 2, sizeof(*set.v));
	marks = calloc(n + 1, sizeof(*marks));
	index = calloc(n + 1, sizeof(*index));
	if (!set.v || !marks || !index) {
		p->err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		item = sc_item(p, node, i);
		c = &set.v[set.n];
		snprintf(path, sizeof(path), "%s[%zu]", key->path, i);
		if (!sc_scalar(p, key, path, item, what) ||
		    (stars && sc_star(p, &st, item, i, path)) || !parse(p, item, path, c))
			continue;
		for (j = 0; j < set.n; j++)
			if (set.v[j].family == c->family && set.v[j].prefixlen == c->prefixlen &&
			    !memcmp(set.v[j].addr, c->addr, sizeof(c->addr)))
				break;
		if (j < set.n) {
			sc_dup_item(p, item, path, index[j], marks[j]);
			continue;
		}
		marks[set.n] = item->start_mark;
		index[set.n] = i;
		set.n++;
	}
	if (stars && sc_stars_alone(p, key, &st, n)) {
		memset(set.v, 0, 2 * sizeof(*set.v));
		set.v[0].family = AF_INET;
		set.v[1].family = AF_INET6;
		set.n = 2;
	}
	free(field->v);
	*field = set;
	set.v = NULL;
out_free:
	free(index);
	free(marks);
	free(set.v);
}

static bool sc_cidr_item(struct sc_parser *p, const yaml_node_t *item, const char *path,
			 struct sc_cidr *c)
{
	char msg[192];

	if (!sc_parse_cidr(sc_value(item), c, msg, sizeof(msg)))
		return true;
	sc_diag(p, item->start_mark, path, "%s", msg);
	return false;
}

void sc_parse_cidrs(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	sc_parse_cidr_list(p, key, node, SC_SLOT_CIDRS, "an address or CIDR string", true,
			   sc_cidr_item);
}

static int sc_cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Port lists; "*" is every port, but not in proxy.adminPorts (the proxy has only so many) nor in
 * accelerationPorts (the global acceleration says it for every port). */
void sc_parse_ports(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	struct sc_port_set *field = (struct sc_port_set *)((char *)p->cfg + key->off);
	struct sc_port_items *items = &p->items[sc_key_id(key)];
	bool star_ok = sc_key_id(key) != K_ADMIN_PORTS && sc_key_id(key) != K_ACCEL_ALWAYS &&
		       sc_key_id(key) != K_ACCEL_NEVER;
	struct sc_stars stars = {0};
	unsigned long long port;
	struct sc_port_set set;
	size_t i, j, n;
	yaml_node_t *item;
	char path[128];

	if (!sc_list(p, key, node, SC_SLOT_PORTS))
		return;
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	free(items->v);
	items->n = 0;
	items->v = calloc(n + 1, sizeof(*items->v));
	if (!items->v) {
		p->err = -ENOMEM;
		return;
	}
	for (i = 0; i < n; i++) {
		item = sc_item(p, node, i);
		snprintf(path, sizeof(path), "%s[%zu]", key->path, i);
		if (!sc_scalar(p, key, path, item, star_ok ? "a port or \"*\"" : "a port"))
			continue;
		if (!strcmp(sc_value(item), "*") && !star_ok) {
			sc_diag(p, item->start_mark, path,
				"\"*\" is not allowed here (list the ports, or write [] for none)");
			continue;
		}
		if (sc_star(p, &stars, item, i, path))
			continue;
		if (sc_number(p, item, path, "a port",
			      star_ok ? "1-65535, or \"*\" for all" : "1-65535", true, 1, 65535,
			      &port))
			continue;
		for (j = 0; j < items->n; j++)
			if (items->v[j].port == port)
				break;
		if (j < items->n) {
			sc_dup_item(p, item, path, items->v[j].index, items->v[j].mark);
			continue;
		}
		items->v[items->n].port = port;
		items->v[items->n].index = i;
		items->v[items->n].mark = item->start_mark;
		items->n++;
	}
	set.all = sc_stars_alone(p, key, &stars, n);
	set.n = set.all ? 0 : items->n;
	set.v = NULL;
	if (set.n) {
		set.v = calloc(set.n, sizeof(*set.v));
		if (!set.v) {
			p->err = -ENOMEM;
			return;
		}
		for (i = 0; i < set.n; i++)
			set.v[i] = items->v[i].port;
		qsort(set.v, set.n, sizeof(*set.v), sc_cmp_u16);
	}
	free(field->v);
	*field = set;
}

/* The words of C as "a, b or c". */
const char *sc_choice_words(const struct sc_choices *c, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; c->v[i].name && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s",
				!i		   ? ""
				: c->v[i + 1].name ? ", "
						   : " or ",
				c->v[i].name);
	return buf;
}

bool sc_match_choice(const struct sc_choices *c, const char *s, int *out)
{
	size_t i;

	for (i = 0; c->v[i].name; i++) {
		if (!strcmp(s, c->v[i].name)) {
			*out = c->v[i].value;
			return true;
		}
	}
	return false;
}

/* Report NODE, a scalar, as none of the words of C; one that differs only in case is named. */
void sc_bad_choice(struct sc_parser *p, const yaml_node_t *node, const char *path,
		   const struct sc_choices *c)
{
	const char *s = sc_value(node);
	char words[96];
	size_t i;

	for (i = 0; c->v[i].name; i++) {
		if (!strcasecmp(s, c->v[i].name)) {
			sc_diag(p, node->start_mark, path, "\"%.64s\" is not %s; did you mean %s?",
				s, c->what, c->v[i].name);
			return;
		}
	}
	sc_diag(p, node->start_mark, path, "\"%.64s\" is not %s (use %s)", s, c->what,
		sc_choice_words(c, words, sizeof(words)));
}

void sc_parse_bool_choice(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	bool *field = (bool *)((char *)p->cfg + key->off);
	char words[96];
	int v;

	if (!sc_scalar(p, key, key->path, node,
		       sc_choice_words(key->choices, words, sizeof(words))))
		return;
	if (!sc_match_choice(key->choices, sc_value(node), &v)) {
		p->seen[sc_key_id(key)].bad = true;
		sc_bad_choice(p, node, key->path, key->choices);
		return;
	}
	*field = v;
}

bool sc_match_accel(const yaml_node_t *node, int *out, char *msg, size_t size)
{
	static const struct sc_choices words = {"an acceleration mode",
						{{"adaptive", SC_ACCEL_ADAPTIVE},
						 {"always", SC_ACCEL_ALWAYS},
						 {"never", SC_ACCEL_NEVER},
						 {NULL}}};
	const char *s = sc_value(node);
	size_t i;

	if (sc_match_choice(&words, s, out))
		return true;
	if (sc_is_plain(node) && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
		*out = SC_ACCEL_ALWAYS;
		return true;
	}
	if (sc_is_plain(node) &&
	    (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
		*out = SC_ACCEL_NEVER;
		return true;
	}
	for (i = 0; words.v[i].name; i++) {
		if (!strcasecmp(s, words.v[i].name)) {
			snprintf(msg, size,
				 "\"%.64s\" is not an acceleration mode; did you mean %s?", s,
				 words.v[i].name);
			return false;
		}
	}
	snprintf(msg, size,
		 "\"%.64s\" is not an acceleration mode (use adaptive, always or never; true and "
		 "false, unquoted, still mean always and never)",
		 s);
	return false;
}

void sc_parse_accel(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	int *field = (int *)((char *)p->cfg + key->off);
	char msg[192];

	if (!sc_scalar(p, key, key->path, node, "adaptive, always or never"))
		return;
	if (!sc_match_accel(node, field, msg, sizeof(msg))) {
		p->seen[sc_key_id(key)].bad = true;
		sc_bad(p, key, node, "%s", msg);
	}
}

void sc_parse_count(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	uint32_t *field = (uint32_t *)((char *)p->cfg + key->off);
	unsigned long long v;

	if (!sc_scalar(p, key, key->path, node, "a number"))
		return;
	if (sc_number(p, node, key->path, "a count", "1-1000000", false, 1, 1000000, &v)) {
		p->seen[sc_key_id(key)].bad = true;
		return;
	}
	*field = v;
}

void sc_parse_choice(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	int *field = (int *)((char *)p->cfg + key->off);
	char words[96];

	if (!sc_scalar(p, key, key->path, node,
		       sc_choice_words(key->choices, words, sizeof(words))))
		return;
	if (!sc_match_choice(key->choices, sc_value(node), field)) {
		p->seen[sc_key_id(key)].bad = true;
		sc_bad_choice(p, node, key->path, key->choices);
	}
}

/*
 * Check S as "ADDR:PORT", or "[ADDR]:PORT" for IPv6 as in URLs. Any address will do: who may
 * scrape the metrics is the user's choice, so only the syntax is checked.
 */
static int sc_check_listen(const char *s, char *msg, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	const char *h, *end, *port;
	unsigned long long v;
	uint8_t addr[16];
	int family;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':') {
			snprintf(msg, size,
				 "\"%.64s\" is not [ADDR]:PORT (write e.g. \"[::1]:15020\")", s);
			return -EINVAL;
		}
		h = s + 1;
		port = end + 2;
		family = AF_INET6;
	} else {
		end = strrchr(s, ':');
		if (!end) {
			snprintf(msg, size, "\"%.64s\" has no port (write e.g. 127.0.0.1:15020)",
				 s);
			return -EINVAL;
		}
		if (memchr(s, ':', end - s)) {
			snprintf(msg, size,
				 "\"%.64s\": an IPv6 address goes in brackets (write e.g. "
				 "\"[::1]:15020\")",
				 s);
			return -EINVAL;
		}
		h = s;
		port = end + 1;
		family = AF_INET;
	}
	if ((size_t)(end - h) >= sizeof(host))
		end = h + sizeof(host) - 1;
	memcpy(host, h, end - h);
	host[end - h] = '\0';
	if (inet_pton(family, host, addr) != 1) {
		snprintf(msg, size, "\"%.64s\" is not an %s address (write an IP address, e.g. %s)",
			 host, family == AF_INET ? "IPv4" : "IPv6",
			 family == AF_INET ? "127.0.0.1:15020" : "\"[::1]:15020\"");
		return -EINVAL;
	}
	if (sc_parse_uint(port, 65535, &v) || !v) {
		snprintf(msg, size, "\"%.64s\": \"%.16s\" is not a port (use 1-65535)", s, port);
		return -EINVAL;
	}
	return 0;
}

void sc_parse_listen(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	char **field = (char **)((char *)p->cfg + key->off);
	char msg[192], *s;

	if (!sc_scalar(p, key, key->path, node, "a string \"ADDR:PORT\" or \"[ADDR]:PORT\""))
		return;
	if (sc_check_listen(sc_value(node), msg, sizeof(msg))) {
		sc_bad(p, key, node, "%s", msg);
		return;
	}
	s = strdup(sc_value(node));
	if (!s) {
		p->err = -ENOMEM;
		return;
	}
	free(*field);
	*field = s;
}

/*
 * Parse S as one address, without a prefix length. An IPv4-mapped IPv6 address is refused: the
 * BPF side sees a connection to one as IPv4, so a service or endpoint written so would never
 * match.
 */
int sc_parse_addr(const char *s, int *family, uint8_t *addr, char *msg, size_t size)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	char v4[INET_ADDRSTRLEN];
	const char *fam;

	*family = strchr(s, ':') ? AF_INET6 : AF_INET;
	fam = *family == AF_INET ? "IPv4" : "IPv6";
	memset(addr, 0, 16);
	if (inet_pton(*family, s, addr) != 1) {
		if (strchr(s, '/'))
			snprintf(msg, size,
				 "\"%.64s\" is a CIDR; write a single %s address, without the "
				 "prefix length",
				 s, fam);
		else
			snprintf(msg, size, "\"%.64s\" is not an %s address (write e.g. %s)", s,
				 fam, *family == AF_INET ? "10.96.0.20" : "fd00::20");
		return -EINVAL;
	}
	if (*family == AF_INET6 && !memcmp(addr, mapped, sizeof(mapped))) {
		inet_ntop(AF_INET, addr + 12, v4, sizeof(v4));
		snprintf(msg, size,
			 "\"%.64s\" is an IPv4-mapped IPv6 address; write the IPv4 address (%s)", s,
			 v4);
		return -EINVAL;
	}
	return 0;
}

/*
 * A list of host addresses (dns.servers): IPv4 or IPv6, no prefix length. An IPv4-mapped IPv6
 * address names the same server as its IPv4 address (the BPF side sees a query to one as IPv4),
 * so it is stored as IPv4; then it may duplicate an IPv4 item.
 */
static bool sc_addr_item(struct sc_parser *p, const yaml_node_t *item, const char *path,
			 struct sc_cidr *c)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	c->family = strchr(sc_value(item), ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, sc_value(item), c->addr) != 1) {
		sc_diag(p, item->start_mark, path,
			"\"%.64s\" is not an %s address (write e.g. %s, with no prefix length)",
			sc_value(item), c->family == AF_INET ? "IPv4" : "IPv6",
			c->family == AF_INET ? "10.96.0.10" : "fd00::10");
		return false;
	}
	if (c->family == AF_INET6 && !memcmp(c->addr, mapped, sizeof(mapped))) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
	}
	c->prefixlen = c->family == AF_INET ? 32 : 128;
	return true;
}

void sc_parse_addrs(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	sc_parse_cidr_list(p, key, node, SC_DNS_MAX_SERVERS, "an address string", false,
			   sc_addr_item);
}
