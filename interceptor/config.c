// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The config file, in two passes. The parse pass walks the libyaml document tree with a table
 * of the keys each mapping allows and fills struct sc_config, checking each value on its own.
 * The validation pass then checks the values against each other. Both passes report every
 * problem they find rather than the first, so one run of the daemon shows the user all there is
 * to fix; the marks of the nodes the validation pass needs are kept in a side table, since the
 * config struct itself carries no positions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <yaml.h>

#include "config.h"
#include "config_int.h"
#include "sidecap.h"

/*
 * A pod policy without services is a few hundred bytes, but one with the most services and
 * endpoints a slot holds, written in block style, runs to 10 MiB and more. Anything larger than
 * this is the wrong file.
 */
#define SC_MAX_FILE_SIZE (16 << 20)

/* (uid_t)-1 means "no change" to the kernel, and SC_ID_NONE means "not set" to the BPF side. */
#define SC_ID_MAX 4294967294ull

/*
 * A policy is written to the inactive slot while the active one still holds the old policy, so
 * the maps must hold both: each slot gets half of the capacity.
 */
#define SC_SLOT_PORTS	  (SC_MAX_PORTS / SC_POLICY_SLOTS)
#define SC_SLOT_CIDRS	  (SC_MAX_CIDRS / SC_POLICY_SLOTS)
#define SC_SLOT_SERVICES  (SC_MAX_SERVICES / SC_POLICY_SLOTS)
#define SC_SLOT_ENDPOINTS (SC_MAX_ENDPOINTS / SC_POLICY_SLOTS)

/*
 * The most endpoints one service may list. Its selection table grows with the count (Maglev
 * wants at least 100 entries per endpoint), and all tables share one map.
 */
#define SC_SVC_MAX_ENDPOINTS 256

/* The longest service name: a DNS label. */
#define SC_NAME_MAX 63

_Static_assert((int)SC_BALANCE_RANDOM == (int)SC_LB_RANDOM &&
		       (int)SC_BALANCE_ROUND_ROBIN == (int)SC_LB_ROUND_ROBIN &&
		       (int)SC_BALANCE_MAGLEV == (int)SC_LB_MAGLEV,
	       "enum sc_balance_cfg has the values of enum sc_balance");

enum sc_key_id {
	K_ROOT,
	K_CGROUP,
	K_PIN_PATH,
	K_PROXY,
	K_UID,
	K_GID,
	K_OUTBOUND_PORT,
	K_INBOUND_PORT,
	K_FAIL_OPEN,
	K_ORIGINAL_DST,
	K_ADMIN_PORTS,
	K_OUTBOUND,
	K_OUT_INCLUDE_RANGES,
	K_OUT_EXCLUDE_RANGES,
	K_OUT_INCLUDE_PORTS,
	K_OUT_EXCLUDE_PORTS,
	K_INBOUND,
	K_IN_INCLUDE_PORTS,
	K_IN_EXCLUDE_PORTS,
	K_ACCELERATION,
	K_NETNS,
	K_MODE,
	K_METRICS,
	K_METRICS_LISTEN,
	K_SERVICES,
	K__MAX
};

enum sc_type {
	T_MAP,
	T_PATH,
	T_ID,
	T_PORT,
	T_BOOL,
	T_CIDRS,
	T_PORTS,
	T_BOOL_CHOICE, /* one of two words, stored as a bool */
	T_CHOICE,      /* one of a few words, stored as an int */
	T_LISTEN,
	T_SERVICES,
};

/* The words a key may take, up to a NULL name; WHAT names such a word in messages. */
struct sc_choices {
	const char *what;
	struct {
		const char *name;
		int value;
	} v[4];
};

static const struct sc_choices sc_orig_dst_choices = {
	"an originalDst mode", {{"endpoint", false}, {"service", true}, {NULL}}};
static const struct sc_choices sc_balance_choices = {"a balancing method",
						     {{"random", SC_BALANCE_RANDOM},
						      {"round_robin", SC_BALANCE_ROUND_ROBIN},
						      {"maglev", SC_BALANCE_MAGLEV},
						      {NULL}}};
static const struct sc_choices sc_sidecar_choices = {
	"a sidecar mode", {{"redirect", false}, {"bypass", true}, {NULL}}};
static const struct sc_choices sc_mode_choices = {
	"a mode", {{"ebpf", SC_MODE_EBPF}, {"iptables", SC_MODE_IPTABLES}, {NULL}}};

struct sc_key {
	const char *name;
	const char *path; /* dotted, as diagnostics name it */
	enum sc_key_id id;
	enum sc_type type;
	size_t off;			  /* where the value lives in struct sc_config */
	const char *hint;		  /* how to fix a key given no value */
	const struct sc_key *keys;	  /* T_MAP: the keys allowed inside, up to a NULL name */
	const struct sc_choices *choices; /* T_BOOL_CHOICE, T_CHOICE */
};

#define CFG(field) offsetof(struct sc_config, field)

static const struct sc_key sc_proxy_keys[] = {
	{"uid", "proxy.uid", K_UID, T_ID, CFG(proxy.uid), "remove the key for the default 1337"},
	{"gid", "proxy.gid", K_GID, T_ID, CFG(proxy.gid),
	 "remove the key to leave the proxy's group unchecked"},
	{"outboundPort", "proxy.outboundPort", K_OUTBOUND_PORT, T_PORT, CFG(proxy.outbound_port),
	 "remove the key for the default 15001"},
	{"inboundPort", "proxy.inboundPort", K_INBOUND_PORT, T_PORT, CFG(proxy.inbound_port),
	 "remove the key for the default 15006"},
	{"failOpen", "proxy.failOpen", K_FAIL_OPEN, T_BOOL, CFG(proxy.fail_open),
	 "remove the key for the default true"},
	{"originalDst", "proxy.originalDst", K_ORIGINAL_DST, T_BOOL_CHOICE, CFG(proxy.orig_service),
	 "remove the key for the default endpoint", NULL, &sc_orig_dst_choices},
	{"adminPorts", "proxy.adminPorts", K_ADMIN_PORTS, T_PORTS, CFG(proxy.admin_ports),
	 "write [] for none, or remove the key for the default [15020, 15021, 15090]"},
	{NULL},
};

static const struct sc_key sc_outbound_keys[] = {
	{"includeIPRanges", "outbound.includeIPRanges", K_OUT_INCLUDE_RANGES, T_CIDRS,
	 CFG(outbound.include_ranges),
	 "write [] for none, or remove the key for the default [\"*\"]"},
	{"excludeIPRanges", "outbound.excludeIPRanges", K_OUT_EXCLUDE_RANGES, T_CIDRS,
	 CFG(outbound.exclude_ranges), "write [] for none"},
	{"includePorts", "outbound.includePorts", K_OUT_INCLUDE_PORTS, T_PORTS,
	 CFG(outbound.include_ports), "write [] or [\"*\"] for all ports"},
	{"excludePorts", "outbound.excludePorts", K_OUT_EXCLUDE_PORTS, T_PORTS,
	 CFG(outbound.exclude_ports), "write [] for none"},
	{NULL},
};

static const struct sc_key sc_inbound_keys[] = {
	{"includePorts", "inbound.includePorts", K_IN_INCLUDE_PORTS, T_PORTS,
	 CFG(inbound.include_ports),
	 "write [] for none, or remove the key for the default [\"*\"]"},
	{"excludePorts", "inbound.excludePorts", K_IN_EXCLUDE_PORTS, T_PORTS,
	 CFG(inbound.exclude_ports), "write [] for none"},
	{NULL},
};

static const struct sc_key sc_metrics_keys[] = {
	{"listen", "metrics.listen", K_METRICS_LISTEN, T_LISTEN, CFG(metrics.listen),
	 "remove the key for the default 127.0.0.1:15020"},
	{NULL},
};

static const struct sc_key sc_root_keys[] = {
	{"cgroup", "cgroup", K_CGROUP, T_PATH, CFG(cgroup),
	 "set the absolute path of the pod's cgroup v2 directory"},
	{"pinPath", "pinPath", K_PIN_PATH, T_PATH, CFG(pin_path),
	 "remove the key for the default derived from cgroup"},
	{"netns", "netns", K_NETNS, T_PATH, CFG(netns),
	 "remove the key, or set the path of the pod's network namespace file"},
	{"mode", "mode", K_MODE, T_CHOICE, CFG(mode), "remove the key for the default ebpf", NULL,
	 &sc_mode_choices},
	{"proxy", "proxy", K_PROXY, T_MAP, 0, NULL, sc_proxy_keys},
	{"outbound", "outbound", K_OUTBOUND, T_MAP, 0, NULL, sc_outbound_keys},
	{"inbound", "inbound", K_INBOUND, T_MAP, 0, NULL, sc_inbound_keys},
	{"acceleration", "acceleration", K_ACCELERATION, T_BOOL, CFG(acceleration),
	 "remove the key for the default true"},
	{"metrics", "metrics", K_METRICS, T_MAP, 0, NULL, sc_metrics_keys},
	{"services", "services", K_SERVICES, T_SERVICES, 0, "write [] for none"},
	{NULL},
};

static const struct sc_key sc_root = {"", "", K_ROOT, T_MAP, 0, NULL, sc_root_keys};

/* What the parse pass learnt about one key, for the checks that come after it. */
struct sc_seen {
	bool present;
	bool bad; /* present, but its value was rejected: later checks leave it alone */
	yaml_mark_t key_mark;
	yaml_mark_t mark; /* of the value */
};

/* One accepted item of a port list, with where it was written. */
struct sc_port_item {
	uint16_t port;
	size_t index;
	yaml_mark_t mark;
};

struct sc_port_items {
	size_t n;
	struct sc_port_item *v;
};

/* Where the parts of one endpoint were written, and which of them were accepted. */
struct sc_ep_marks {
	yaml_mark_t address;
	bool address_ok;
	bool port_ok;
	bool weight_ok; /* also when the weight is not given */
};

/* The same for one service. */
struct sc_svc_marks {
	yaml_mark_t name;
	yaml_mark_t vip;
	yaml_mark_t endpoints; /* of the value */
	bool name_ok;
	bool vip_ok;
	bool port_ok;
	bool endpoints_ok; /* endpoints is a list; then eps has one entry per item */
	struct sc_ep_marks *eps;
};

struct sc_parser {
	const char *file;
	yaml_document_t *doc;
	struct sc_config *cfg;
	struct sc_diags *diags;
	size_t errors;
	int err; /* -ENOMEM once an allocation failed */
	struct sc_seen seen[K__MAX];
	struct sc_port_items items[K__MAX]; /* for the T_PORTS keys only */
	size_t n_svcs;
	struct sc_svc_marks *svcs; /* one per item of services */
	int mode;		   /* given on the command line, or SC_MODE_FROM_FILE */
};

static int sc_diags_vadd(struct sc_diags *diags, const char *file, int line, int col,
			 const char *key, const char *fmt, va_list ap)
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

static void sc_diags_add(struct sc_diags *diags, const char *file, int line, int col,
			 const char *key, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void sc_diags_add(struct sc_diags *diags, const char *file, int line, int col,
			 const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc_diags_vadd(diags, file, line, col, key, fmt, ap);
	va_end(ap);
}

static void sc_diag(struct sc_parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report a problem at MARK; libyaml counts lines and columns from 0, editors from 1. */
static void sc_diag(struct sc_parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	va_start(ap, fmt);
	if (sc_diags_vadd(p->diags, p->file, mark.line + 1, mark.column + 1, key, fmt, ap))
		p->err = -ENOMEM;
	va_end(ap);
}

static void sc_bad(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Report a problem with the value of KEY, which then keeps its default. */
static void sc_bad(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node,
		   const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	p->seen[key->id].bad = true;
	va_start(ap, fmt);
	if (sc_diags_vadd(p->diags, p->file, node->start_mark.line + 1, node->start_mark.column + 1,
			  key->path, fmt, ap))
		p->err = -ENOMEM;
	va_end(ap);
}

static const char *sc_value(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool sc_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* An empty value, "~" or "null", written without quotes. */
static bool sc_is_null(const yaml_node_t *node)
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
static const char *sc_what(const yaml_node_t *node, char *buf, size_t size)
{
	if (node->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (node->type == YAML_SEQUENCE_NODE)
		return "a list";
	snprintf(buf, size, "\"%.64s\"", sc_value(node));
	return buf;
}

static void sc_allowed(const struct sc_key *keys, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (; keys->name && len < size; keys++)
		len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "", keys->name);
}

/*
 * Check that NODE is a scalar that can be read as a C string: libyaml lets a quoted scalar
 * carry "\0", which would cut the value short without anyone noticing. PATH is KEY's own path
 * for its value, or a list item's; only the former marks KEY bad, since a bad item leaves the
 * rest of its list in use. KEY is NULL for values inside services, whose marks are elsewhere.
 */
static bool sc_scalar(struct sc_parser *p, const struct sc_key *key, const char *path,
		      const yaml_node_t *node, const char *expect)
{
	char what[80];

	if (node->type != YAML_SCALAR_NODE) {
		if (key)
			p->seen[key->id].bad |= path == key->path;
		sc_diag(p, node->start_mark, path, "must be %s, not %s", expect,
			sc_what(node, what, sizeof(what)));
		return false;
	}
	if (strlen(sc_value(node)) != node->data.scalar.length) {
		if (key)
			p->seen[key->id].bad |= path == key->path;
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
static int sc_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
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
static int sc_number(struct sc_parser *p, const yaml_node_t *node, const char *path,
		     const char *what, const char *use, bool quoted_ok, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
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

/* A no-value mapping is an empty section; any other key given no value is an error. */
static bool sc_null(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	if (!sc_is_null(node))
		return false;
	if (key->type != T_MAP)
		sc_bad(p, key, node, "no value (%s)", key->hint);
	return true;
}

/*
 * Paths are stored without repeated or trailing slashes, so that the default pin path derived
 * from the cgroup path does not depend on how the path was spelt. "." and ".." are refused
 * rather than resolved: resolving them needs the file system, and the parser does not touch it.
 */
static void sc_parse_path(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
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

static void sc_parse_id(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	uint32_t *field = (uint32_t *)((char *)p->cfg + key->off);
	const char *what = key->id == K_UID ? "a uid" : "a gid";
	unsigned long long v;

	if (!sc_scalar(p, key, key->path, node, "a number"))
		return;
	if (sc_number(p, node, key->path, what, "0-4294967294", false, 0, SC_ID_MAX, &v)) {
		p->seen[key->id].bad = true;
		return;
	}
	*field = v;
}

static void sc_parse_port(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	uint16_t *field = (uint16_t *)((char *)p->cfg + key->off);
	unsigned long long v;

	if (!sc_scalar(p, key, key->path, node, "a port number"))
		return;
	if (sc_number(p, node, key->path, "a port", "1-65535", false, 1, 65535, &v)) {
		p->seen[key->id].bad = true;
		return;
	}
	*field = v;
}

/*
 * YAML 1.2 booleans only. YAML 1.1 also read yes/no/on/off as booleans, and "country: no"
 * became false; refusing them keeps the file meaning the same to every tool that reads it.
 */
static void sc_parse_bool(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
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
static bool sc_list(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node,
		    size_t max)
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

static yaml_node_t *sc_item(struct sc_parser *p, const yaml_node_t *seq, size_t i)
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

static void sc_parse_cidrs(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	struct sc_cidr_set *field = (struct sc_cidr_set *)((char *)p->cfg + key->off);
	size_t i, j, n, n_stars = 0, star = 0;
	struct sc_cidr_set set = {0};
	yaml_mark_t star_mark = {0};
	char path[128], msg[192];
	yaml_mark_t *marks;
	yaml_node_t *item;
	size_t *index;

	if (!sc_list(p, key, node, SC_SLOT_CIDRS))
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
		snprintf(path, sizeof(path), "%s[%zu]", key->path, i);
		if (!sc_scalar(p, key, path, item, "an address or CIDR string"))
			continue;
		if (!strcmp(sc_value(item), "*")) {
			if (n_stars++)
				sc_diag(p, item->start_mark, path,
					"duplicate of [%zu] (line %zu); remove one", star,
					star_mark.line + 1);
			star = i;
			star_mark = item->start_mark;
			continue;
		}
		if (sc_parse_cidr(sc_value(item), &set.v[set.n], msg, sizeof(msg))) {
			sc_diag(p, item->start_mark, path, "%s", msg);
			continue;
		}
		for (j = 0; j < set.n; j++)
			if (set.v[j].family == set.v[set.n].family &&
			    set.v[j].prefixlen == set.v[set.n].prefixlen &&
			    !memcmp(set.v[j].addr, set.v[set.n].addr, sizeof(set.v[j].addr)))
				break;
		if (j < set.n) {
			sc_diag(p, item->start_mark, path,
				"duplicate of [%zu] (line %zu); remove one", index[j],
				marks[j].line + 1);
			continue;
		}
		marks[set.n] = item->start_mark;
		index[set.n] = i;
		set.n++;
	}
	if (n_stars && n_stars < n) {
		snprintf(path, sizeof(path), "%s[%zu]", key->path, star);
		sc_diag(p, star_mark, path,
			"\"*\" cannot be combined with other entries (use \"*\" alone)");
	} else if (n_stars) {
		/* "*" is every address of both families: 0.0.0.0/0 and ::/0. */
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

static int sc_cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Port lists; "*" is every port, but not in proxy.adminPorts: the proxy has only so many. */
static void sc_parse_ports(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	struct sc_port_set *field = (struct sc_port_set *)((char *)p->cfg + key->off);
	struct sc_port_items *items = &p->items[key->id];
	bool star_ok = key->id != K_ADMIN_PORTS;
	size_t i, j, n, n_stars = 0, star = 0;
	unsigned long long port;
	yaml_mark_t star_mark = {0};
	struct sc_port_set set;
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
		if (!strcmp(sc_value(item), "*")) {
			if (n_stars++)
				sc_diag(p, item->start_mark, path,
					"duplicate of [%zu] (line %zu); remove one", star,
					star_mark.line + 1);
			star = i;
			star_mark = item->start_mark;
			continue;
		}
		if (sc_number(p, item, path, "a port",
			      star_ok ? "1-65535, or \"*\" for all" : "1-65535", true, 1, 65535,
			      &port))
			continue;
		for (j = 0; j < items->n; j++)
			if (items->v[j].port == port)
				break;
		if (j < items->n) {
			sc_diag(p, item->start_mark, path,
				"duplicate of [%zu] (line %zu); remove one", items->v[j].index,
				items->v[j].mark.line + 1);
			continue;
		}
		items->v[items->n].port = port;
		items->v[items->n].index = i;
		items->v[items->n].mark = item->start_mark;
		items->n++;
	}
	if (n_stars && n_stars < n) {
		snprintf(path, sizeof(path), "%s[%zu]", key->path, star);
		sc_diag(p, star_mark, path,
			"\"*\" cannot be combined with other entries (use \"*\" alone)");
	}
	set.all = n_stars && n_stars == n;
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
static const char *sc_choice_words(const struct sc_choices *c, char *buf, size_t size)
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

static bool sc_match_choice(const struct sc_choices *c, const char *s, int *out)
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
static void sc_bad_choice(struct sc_parser *p, const yaml_node_t *node, const char *path,
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

static void sc_parse_bool_choice(struct sc_parser *p, const struct sc_key *key,
				 const yaml_node_t *node)
{
	bool *field = (bool *)((char *)p->cfg + key->off);
	char words[96];
	int v;

	if (!sc_scalar(p, key, key->path, node,
		       sc_choice_words(key->choices, words, sizeof(words))))
		return;
	if (!sc_match_choice(key->choices, sc_value(node), &v)) {
		p->seen[key->id].bad = true;
		sc_bad_choice(p, node, key->path, key->choices);
		return;
	}
	*field = v;
}

static void sc_parse_choice(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	int *field = (int *)((char *)p->cfg + key->off);
	char words[96];

	if (!sc_scalar(p, key, key->path, node,
		       sc_choice_words(key->choices, words, sizeof(words))))
		return;
	if (!sc_match_choice(key->choices, sc_value(node), field)) {
		p->seen[key->id].bad = true;
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

static void sc_parse_listen(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
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
 * Where a value inside services is: services[SVC], then .endpoints[EP] unless EP is SIZE_MAX,
 * then .KEY unless KEY is NULL.
 */
struct sc_loc {
	size_t svc;
	size_t ep;
	const char *key;
};

/* A large file has a million values in services: their paths are spelt out for messages only. */
static const char *sc_loc_path(const struct sc_loc *loc, char *buf, size_t size)
{
	int len;

	len = snprintf(buf, size, "services[%zu]", loc->svc);
	if (loc->ep != SIZE_MAX)
		len += snprintf(buf + len, size - len, ".endpoints[%zu]", loc->ep);
	if (loc->key)
		snprintf(buf + len, size - len, ".%.64s", loc->key);
	return buf;
}

static void sc_loc_diag(struct sc_parser *p, yaml_mark_t mark, const struct sc_loc *loc,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void sc_loc_diag(struct sc_parser *p, yaml_mark_t mark, const struct sc_loc *loc,
			const char *fmt, ...)
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

static bool sc_loc_scalar(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
			  const char *expect)
{
	char path[160];

	if (node->type == YAML_SCALAR_NODE && strlen(sc_value(node)) == node->data.scalar.length)
		return true;
	return sc_scalar(p, NULL, sc_loc_path(loc, path, sizeof(path)), node, expect);
}

/* A number in MIN..MAX, without quotes, as sc_number reads it. */
static int sc_loc_number(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
			 const char *what, const char *use, unsigned long long min,
			 unsigned long long max, unsigned long long *out)
{
	char path[160];

	if (!sc_loc_scalar(p, loc, node, "a number"))
		return -EINVAL;
	if (sc_is_plain(node) && !sc_parse_uint(sc_value(node), max, out) && *out >= min)
		return 0;
	return sc_number(p, node, sc_loc_path(loc, path, sizeof(path)), what, use, false, min, max,
			 out);
}

static int sc_loc_choice(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
			 const struct sc_choices *c, int *out)
{
	char path[160], words[96];

	if (!sc_loc_scalar(p, loc, node, sc_choice_words(c, words, sizeof(words))))
		return -EINVAL;
	if (sc_match_choice(c, sc_value(node), out))
		return 0;
	sc_bad_choice(p, node, sc_loc_path(loc, path, sizeof(path)), c);
	return -EINVAL;
}

/*
 * Parse S as one address, without a prefix length. An IPv4-mapped IPv6 address is refused: the
 * BPF side sees a connection to one as IPv4, so a service or endpoint written so would never
 * match.
 */
static int sc_parse_addr(const char *s, int *family, uint8_t *addr, char *msg, size_t size)
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

static int sc_loc_addr(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
		       int *family, uint8_t *addr)
{
	char msg[192];

	if (!sc_loc_scalar(p, loc, node, "an IP address"))
		return -EINVAL;
	if (!sc_parse_addr(sc_value(node), family, addr, msg, sizeof(msg)))
		return 0;
	sc_loc_diag(p, node->start_mark, loc, "%s", msg);
	return -EINVAL;
}

/*
 * A service name is a DNS label, dots allowed: it names the service in logs and metrics, where
 * anything else would need quoting.
 */
static bool sc_valid_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if ((s[i] == '-' || s[i] == '.') && i > 0 && i < len - 1)
			continue;
		return false;
	}
	return len > 0;
}

static int sc_loc_name(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
		       char **out)
{
	const char *s;
	size_t len;

	if (!sc_loc_scalar(p, loc, node, "a name"))
		return -EINVAL;
	s = sc_value(node);
	len = node->data.scalar.length;
	if (len > SC_NAME_MAX) {
		sc_loc_diag(p, node->start_mark, loc,
			    "\"%.64s...\" is %zu characters; a name has at most %d", s, len,
			    SC_NAME_MAX);
		return -EINVAL;
	}
	if (!sc_valid_name(s, len)) {
		sc_loc_diag(p, node->start_mark, loc,
			    "\"%s\" is not a name (use lowercase letters, digits, - and ., "
			    "starting and ending with a letter or digit)",
			    s);
		return -EINVAL;
	}
	*out = strdup(s);
	if (!*out) {
		p->err = -ENOMEM;
		return -ENOMEM;
	}
	return 0;
}

/* A key of the mappings inside services. */
struct sc_item_key {
	const char *name;
	bool required;
	const char *hint; /* how to fix the key missing or given no value */
};

enum { SVC_NAME, SVC_VIP, SVC_PORT, SVC_BALANCE, SVC_SIDECAR, SVC_ENDPOINTS, SVC__MAX };
enum { EP_ADDRESS, EP_PORT, EP_WEIGHT, EP__MAX };
_Static_assert((int)EP__MAX <= (int)SVC__MAX,
	       "sc_parse_item has room for the keys of either table");

static const struct sc_item_key sc_service_keys[SVC__MAX] = {
	[SVC_NAME] = {"name", true, "name the service, e.g. name: reviews"},
	[SVC_VIP] = {"vip", true, "set the service's virtual IP address, e.g. vip: 10.96.0.20"},
	[SVC_PORT] = {"port", true, "set the service's port, e.g. port: 9080"},
	[SVC_BALANCE] = {"balance", false, "remove the key for the default random"},
	[SVC_SIDECAR] = {"sidecar", false, "remove the key for the default redirect"},
	[SVC_ENDPOINTS] =
		{"endpoints", true,
		 "list the endpoints, e.g. endpoints: [{address: 10.99.0.2, port: 9080}]"},
};

static const struct sc_item_key sc_endpoint_keys[EP__MAX] = {
	[EP_ADDRESS] = {"address", true, "set the endpoint's IP address, e.g. address: 10.99.0.2"},
	[EP_PORT] = {"port", true, "set the endpoint's port, e.g. port: 9080"},
	[EP_WEIGHT] = {"weight", false, "remove the key for the default 1"},
};

static void sc_item_allowed(const struct sc_item_key *keys, size_t n, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "", keys[i].name);
}

/*
 * Read the mapping NODE, an item of services or of a service's endpoints, into V: V[i] is the
 * value of KEYS[i], or NULL when the key is absent or has no value. Unknown and duplicate keys,
 * keys given no value and missing required keys are reported as at the top level. Returns
 * false when NODE is not a mapping.
 */
static bool sc_parse_item(struct sc_parser *p, const struct sc_item_key *keys, size_t n,
			  struct sc_loc loc, const yaml_node_t *node, const yaml_node_t **v)
{
	const yaml_node_t *given[SVC__MAX] = {0};
	char allowed[128], what[80];
	yaml_node_pair_t *pair;
	yaml_node_t *k, *val;
	size_t i, j;

	if (node->type != YAML_MAPPING_NODE) {
		sc_item_allowed(keys, n, allowed, sizeof(allowed));
		sc_loc_diag(p, node->start_mark, &loc, "must be a mapping (keys: %s), not %s",
			    allowed, sc_what(node, what, sizeof(what)));
		return false;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		val = yaml_document_get_node(p->doc, pair->value);
		if (k->type != YAML_SCALAR_NODE || strlen(sc_value(k)) != k->data.scalar.length) {
			sc_item_allowed(keys, n, allowed, sizeof(allowed));
			loc.key = NULL;
			sc_loc_diag(p, k->start_mark, &loc,
				    "keys must be plain names (allowed: %s)", allowed);
			continue;
		}
		for (i = 0; i < n && strcmp(keys[i].name, sc_value(k)); i++)
			;
		if (i == n) {
			for (j = 0; j < n && strcasecmp(keys[j].name, sc_value(k)); j++)
				;
			sc_item_allowed(keys, n, allowed, sizeof(allowed));
			loc.key = sc_value(k);
			sc_loc_diag(p, k->start_mark, &loc, "unknown key%s%s%s (allowed: %s)",
				    j < n ? "; did you mean " : "", j < n ? keys[j].name : "",
				    j < n ? "?" : "", allowed);
			continue;
		}
		loc.key = keys[i].name;
		if (given[i]) {
			sc_loc_diag(p, k->start_mark, &loc,
				    "duplicate key (first at line %zu); remove one",
				    given[i]->start_mark.line + 1);
			continue;
		}
		given[i] = k;
		if (sc_is_null(val)) {
			sc_loc_diag(p, val->start_mark, &loc, "no value (%s)", keys[i].hint);
			continue;
		}
		v[i] = val;
	}
	for (i = 0; i < n; i++) {
		if (!keys[i].required || given[i])
			continue;
		loc.key = keys[i].name;
		sc_loc_diag(p, node->start_mark, &loc, "required key missing (%s)", keys[i].hint);
	}
	return true;
}

static void sc_parse_endpoint(struct sc_parser *p, struct sc_loc loc, const yaml_node_t *node,
			      struct sc_endpoint_cfg *ep, struct sc_ep_marks *m)
{
	const yaml_node_t *v[EP__MAX] = {0};
	unsigned long long n;

	ep->weight = 1;
	m->weight_ok = true;
	if (!sc_parse_item(p, sc_endpoint_keys, EP__MAX, loc, node, v))
		return;
	if (v[EP_ADDRESS]) {
		loc.key = "address";
		m->address = v[EP_ADDRESS]->start_mark;
		m->address_ok = !sc_loc_addr(p, &loc, v[EP_ADDRESS], &ep->family, ep->addr);
	}
	if (v[EP_PORT]) {
		loc.key = "port";
		m->port_ok = !sc_loc_number(p, &loc, v[EP_PORT], "a port", "1-65535", 1, 65535, &n);
		if (m->port_ok)
			ep->port = n;
	}
	if (v[EP_WEIGHT]) {
		loc.key = "weight";
		m->weight_ok = !sc_loc_number(p, &loc, v[EP_WEIGHT], "a weight",
					      "0-65535; 0 drains the endpoint", 0, 65535, &n);
		if (m->weight_ok)
			ep->weight = n;
	}
}

static void sc_parse_endpoints(struct sc_parser *p, struct sc_loc loc, const yaml_node_t *node,
			       struct sc_service_cfg *svc, struct sc_svc_marks *m)
{
	char what[80];
	size_t j, n;

	m->endpoints = node->start_mark;
	if (node->type != YAML_SEQUENCE_NODE) {
		sc_loc_diag(p, node->start_mark, &loc,
			    "must be a list of endpoints, not %s (write e.g. [{address: 10.99.0.2, "
			    "port: 9080}])",
			    sc_what(node, what, sizeof(what)));
		return;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n) {
		svc->endpoints = calloc(n, sizeof(*svc->endpoints));
		m->eps = calloc(n, sizeof(*m->eps));
		if (!svc->endpoints || !m->eps) {
			p->err = -ENOMEM;
			return;
		}
	}
	svc->n_endpoints = n;
	m->endpoints_ok = true;
	loc.key = NULL;
	for (j = 0; j < n; j++) {
		loc.ep = j;
		sc_parse_endpoint(p, loc, sc_item(p, node, j), &svc->endpoints[j], &m->eps[j]);
	}
}

static void sc_parse_service(struct sc_parser *p, size_t i, const yaml_node_t *node,
			     struct sc_service_cfg *svc, struct sc_svc_marks *m)
{
	const yaml_node_t *v[SVC__MAX] = {0};
	struct sc_loc loc = {i, SIZE_MAX, NULL};
	unsigned long long port;
	int value;

	svc->balance = SC_BALANCE_RANDOM;
	svc->line = node->start_mark.line + 1;
	if (!sc_parse_item(p, sc_service_keys, SVC__MAX, loc, node, v))
		return;
	if (v[SVC_NAME]) {
		loc.key = "name";
		m->name = v[SVC_NAME]->start_mark;
		m->name_ok = !sc_loc_name(p, &loc, v[SVC_NAME], &svc->name);
	}
	if (v[SVC_VIP]) {
		loc.key = "vip";
		m->vip = v[SVC_VIP]->start_mark;
		m->vip_ok = !sc_loc_addr(p, &loc, v[SVC_VIP], &svc->family, svc->vip);
	}
	if (v[SVC_PORT]) {
		loc.key = "port";
		m->port_ok =
			!sc_loc_number(p, &loc, v[SVC_PORT], "a port", "1-65535", 1, 65535, &port);
		if (m->port_ok)
			svc->port = port;
	}
	if (v[SVC_BALANCE]) {
		loc.key = "balance";
		if (!sc_loc_choice(p, &loc, v[SVC_BALANCE], &sc_balance_choices, &value))
			svc->balance = value;
	}
	if (v[SVC_SIDECAR]) {
		loc.key = "sidecar";
		if (!sc_loc_choice(p, &loc, v[SVC_SIDECAR], &sc_sidecar_choices, &value))
			svc->bypass = value;
	}
	if (v[SVC_ENDPOINTS]) {
		loc.key = "endpoints";
		sc_parse_endpoints(p, loc, v[SVC_ENDPOINTS], svc, m);
	}
}

/* The services, in file order. How many a policy holds is checked by the validation pass. */
static void sc_parse_services(struct sc_parser *p, const struct sc_key *key,
			      const yaml_node_t *node)
{
	struct sc_config *cfg = p->cfg;
	size_t i, n;

	/* A mapping here is most likely services keyed by name. */
	if (node->type == YAML_MAPPING_NODE) {
		sc_bad(p, key, node,
		       "must be a list, not a mapping (start each service with - name:)");
		return;
	}
	if (!sc_list(p, key, node, SIZE_MAX))
		return;
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (!n)
		return;
	cfg->services = calloc(n, sizeof(*cfg->services));
	p->svcs = calloc(n, sizeof(*p->svcs));
	if (!cfg->services || !p->svcs) {
		p->err = -ENOMEM;
		return;
	}
	cfg->n_services = n;
	p->n_svcs = n;
	for (i = 0; i < n; i++)
		sc_parse_service(p, i, sc_item(p, node, i), &cfg->services[i], &p->svcs[i]);
}

static void sc_parse_map(struct sc_parser *p, const struct sc_key *map, const yaml_node_t *node);

static void sc_parse_value(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
{
	if (sc_null(p, key, node))
		return;
	switch (key->type) {
	case T_MAP:
		sc_parse_map(p, key, node);
		break;
	case T_PATH:
		sc_parse_path(p, key, node);
		break;
	case T_ID:
		sc_parse_id(p, key, node);
		break;
	case T_PORT:
		sc_parse_port(p, key, node);
		break;
	case T_BOOL:
		sc_parse_bool(p, key, node);
		break;
	case T_CIDRS:
		sc_parse_cidrs(p, key, node);
		break;
	case T_PORTS:
		sc_parse_ports(p, key, node);
		break;
	case T_BOOL_CHOICE:
		sc_parse_bool_choice(p, key, node);
		break;
	case T_CHOICE:
		sc_parse_choice(p, key, node);
		break;
	case T_LISTEN:
		sc_parse_listen(p, key, node);
		break;
	case T_SERVICES:
		sc_parse_services(p, key, node);
		break;
	}
}

static const struct sc_key *sc_find_key(const struct sc_key *keys, const char *name,
					const struct sc_key **near)
{
	*near = NULL;
	for (; keys->name; keys++) {
		if (!strcmp(keys->name, name))
			return keys;
		if (!strcasecmp(keys->name, name))
			*near = keys;
	}
	return NULL;
}

static void sc_parse_map(struct sc_parser *p, const struct sc_key *map, const yaml_node_t *node)
{
	const struct sc_key *key, *near;
	yaml_node_t *k, *v;
	yaml_node_pair_t *pair;
	char allowed[128], what[80], path[128];
	struct sc_seen *seen;

	sc_allowed(map->keys, allowed, sizeof(allowed));
	if (node->type != YAML_MAPPING_NODE) {
		sc_bad(p, map, node, "%smust be a mapping (keys: %s), not %s",
		       map == &sc_root ? "the document " : "", allowed,
		       sc_what(node, what, sizeof(what)));
		return;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(p->doc, pair->key);
		v = yaml_document_get_node(p->doc, pair->value);
		if (k->type != YAML_SCALAR_NODE || strlen(sc_value(k)) != k->data.scalar.length) {
			sc_diag(p, k->start_mark, map->path,
				"keys must be plain names (allowed: %s)", allowed);
			continue;
		}
		key = sc_find_key(map->keys, sc_value(k), &near);
		if (!key) {
			snprintf(path, sizeof(path), "%s%s%.64s", map->path,
				 map == &sc_root ? "" : ".", sc_value(k));
			sc_diag(p, k->start_mark, path, "unknown key%s%s%s (allowed: %s)",
				near ? "; did you mean " : "", near ? near->name : "",
				near ? "?" : "", allowed);
			continue;
		}
		seen = &p->seen[key->id];
		if (seen->present) {
			sc_diag(p, k->start_mark, key->path,
				"duplicate key (first at line %zu); remove one",
				seen->key_mark.line + 1);
			continue;
		}
		seen->present = true;
		seen->key_mark = k->start_mark;
		seen->mark = v->start_mark;
		sc_parse_value(p, key, v);
	}
}

static int sc_config_defaults(struct sc_config *cfg, const char *name)
{
	static const uint16_t admin_ports[] = {15020, 15021, 15090};

	cfg->path = strdup(name);
	cfg->outbound.include_ranges.v = calloc(2, sizeof(struct sc_cidr));
	cfg->proxy.admin_ports.v = malloc(sizeof(admin_ports));
	if (!cfg->path || !cfg->outbound.include_ranges.v || !cfg->proxy.admin_ports.v)
		return -ENOMEM;
	memcpy(cfg->proxy.admin_ports.v, admin_ports, sizeof(admin_ports));
	cfg->proxy.admin_ports.n = sizeof(admin_ports) / sizeof(admin_ports[0]);
	cfg->proxy.uid = 1337;
	cfg->proxy.outbound_port = 15001;
	cfg->proxy.inbound_port = 15006;
	cfg->proxy.fail_open = true;
	cfg->outbound.include_ranges.n = 2;
	cfg->outbound.include_ranges.v[0].family = AF_INET;
	cfg->outbound.include_ranges.v[1].family = AF_INET6;
	cfg->outbound.include_ports.all = true;
	cfg->inbound.include_ports.all = true;
	cfg->acceleration = true;
	return 0;
}

/*
 * The default pin path names the pod by its cgroup: the path without its leading slash, each
 * slash turned into an underscore, so that pods in different cgroups never share pins.
 */
static int sc_default_pin_path(struct sc_config *cfg)
{
	char *c;

	if (asprintf(&cfg->pin_path, "%s/%s", SC_PIN_ROOT, cfg->cgroup + 1) < 0) {
		cfg->pin_path = NULL;
		return -ENOMEM;
	}
	for (c = cfg->pin_path + strlen(SC_PIN_ROOT) + 1; *c; c++)
		if (*c == '/')
			*c = '_';
	return 0;
}

/* Fill in what depends on which keys were given, once the whole document has been read. */
static void sc_config_finish(struct sc_parser *p)
{
	struct sc_config *cfg = p->cfg;

	if (!p->seen[K_CGROUP].present)
		sc_diag(p, p->seen[K_ROOT].mark, "cgroup",
			"required key missing (set the absolute path of the pod's cgroup v2 "
			"directory, e.g. /sys/fs/cgroup/pods/web)");
	if (!p->seen[K_PIN_PATH].present && cfg->cgroup && sc_default_pin_path(cfg))
		p->err = -ENOMEM;
	cfg->proxy.has_gid = p->seen[K_GID].present && !p->seen[K_GID].bad;
	if (p->mode != SC_MODE_FROM_FILE)
		cfg->mode = p->mode;
	/* outbound.includePorts: [] means every port, as "*" does. */
	if (!cfg->outbound.include_ports.n)
		cfg->outbound.include_ports.all = true;
	/* Metrics are on when the section is there, even empty: listen has a default. */
	cfg->metrics.enabled = p->seen[K_METRICS].present && !p->seen[K_METRICS].bad;
	if (cfg->metrics.enabled && !cfg->metrics.listen) {
		cfg->metrics.listen = strdup("127.0.0.1:15020");
		if (!cfg->metrics.listen)
			p->err = -ENOMEM;
	}
}

/* Report each item of the EXCLUDE list that is also in the INCLUDE list of the same direction. */
static void sc_validate_overlap(struct sc_parser *p, enum sc_key_id inc_id, const char *inc_path,
				enum sc_key_id exc_id, const char *exc_path)
{
	const struct sc_port_items *inc = &p->items[inc_id], *exc = &p->items[exc_id];
	char path[128];
	size_t i, j;

	for (i = 0; i < exc->n; i++) {
		for (j = 0; j < inc->n; j++)
			if (inc->v[j].port == exc->v[i].port)
				break;
		if (j == inc->n)
			continue;
		snprintf(path, sizeof(path), "%s[%zu]", exc_path, exc->v[i].index);
		sc_diag(p, exc->v[i].mark, path,
			"port %u is also in %s[%zu] (line %zu); remove it from one of the lists",
			exc->v[i].port, inc_path, inc->v[j].index, inc->v[j].mark.line + 1);
	}
}

/* An address and port of a service or endpoint, and the index of its item, for sorting. */
struct sc_addr_ref {
	int family;
	uint8_t addr[16];
	uint16_t port;
	size_t i;
};

static int sc_cmp_addr(const struct sc_addr_ref *a, const struct sc_addr_ref *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

/* By address and port, then by index: the first of equal ones is the one written first. */
static int sc_cmp_addr_ref(const void *a, const void *b)
{
	const struct sc_addr_ref *x = a, *y = b;
	int c = sc_cmp_addr(x, y);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

struct sc_name_ref {
	const char *name;
	size_t i;
};

static int sc_cmp_name_ref(const void *a, const void *b)
{
	const struct sc_name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* "10.0.0.1:80" or "[fd00::1]:80". */
static const char *sc_addr_port(int family, const uint8_t *addr, uint16_t port, char *buf,
				size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
	return buf;
}

static const char *sc_family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* Checks between the endpoints of service I; REFS has room for all of them. */
static void sc_validate_endpoints(struct sc_parser *p, size_t i, struct sc_addr_ref *refs)
{
	const struct sc_service_cfg *svc = &p->cfg->services[i];
	const struct sc_svc_marks *m = &p->svcs[i];
	struct sc_loc loc = {i, SIZE_MAX, "endpoints"};
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], ap[64];
	const struct sc_endpoint_cfg *ep;
	const struct sc_ep_marks *em;
	bool weights_ok = true;
	size_t j, n = 0, first;
	uint64_t weight = 0;

	if (!m->endpoints_ok)
		return;
	if (!svc->n_endpoints) {
		sc_loc_diag(
			p, m->endpoints, &loc,
			"no endpoints; list at least one (write e.g. [{address: 10.99.0.2, port: "
			"9080}])");
		return;
	}
	if (svc->n_endpoints > SC_SVC_MAX_ENDPOINTS)
		sc_loc_diag(p, m->endpoints, &loc, "%zu endpoints; a service holds at most %d",
			    svc->n_endpoints, SC_SVC_MAX_ENDPOINTS);
	for (j = 0; j < svc->n_endpoints; j++) {
		ep = &svc->endpoints[j];
		em = &m->eps[j];
		weights_ok &= em->weight_ok;
		weight += ep->weight;
		if (!em->address_ok)
			continue;
		if (m->vip_ok && ep->family != svc->family) {
			loc.ep = j;
			loc.key = "address";
			inet_ntop(ep->family, ep->addr, a, sizeof(a));
			inet_ntop(svc->family, svc->vip, b, sizeof(b));
			sc_loc_diag(p, em->address, &loc,
				    "%s is %s but services[%zu].vip %s is %s; give a service "
				    "endpoints of its vip's family",
				    a, sc_family_name(ep->family), i, b,
				    sc_family_name(svc->family));
			continue;
		}
		if (!em->port_ok)
			continue;
		refs[n].family = ep->family;
		memcpy(refs[n].addr, ep->addr, sizeof(refs[n].addr));
		refs[n].port = ep->port;
		refs[n].i = j;
		n++;
	}
	loc.ep = SIZE_MAX;
	loc.key = "endpoints";
	if (weights_ok && !weight)
		sc_loc_diag(p, m->endpoints, &loc,
			    "every endpoint has weight 0; give at least one a weight above 0");
	qsort(refs, n, sizeof(*refs), sc_cmp_addr_ref);
	for (j = 1, first = 0; j < n; j++) {
		if (sc_cmp_addr(&refs[first], &refs[j])) {
			first = j;
			continue;
		}
		loc.ep = refs[j].i;
		loc.key = "address";
		sc_loc_diag(
			p, m->eps[refs[j].i].address, &loc,
			"%s is also endpoints[%zu] (line %zu); remove one",
			sc_addr_port(refs[j].family, refs[j].addr, refs[j].port, ap, sizeof(ap)),
			refs[first].i, m->eps[refs[first].i].address.line + 1);
	}
}

/*
 * Checks between services. Duplicates are found by sorting, since a file may hold thousands of
 * services; each is reported at the later item, naming the first.
 */
static void sc_validate_services(struct sc_parser *p)
{
	struct sc_config *cfg = p->cfg;
	const struct sc_seen *seen = &p->seen[K_SERVICES];
	struct sc_addr_ref *vips = NULL, *eps = NULL;
	size_t i, j, first, n_names = 0, n_vips = 0;
	size_t total = 0, most = 0;
	struct sc_name_ref *names = NULL;
	const struct sc_service_cfg *svc;
	struct sc_loc loc = {0, SIZE_MAX, NULL};
	char ap[64];

	if (!p->n_svcs)
		return;
	if (cfg->n_services > SC_SLOT_SERVICES)
		sc_diag(p, seen->mark, "services", "%zu services; a policy holds at most %u",
			cfg->n_services, SC_SLOT_SERVICES);
	for (i = 0; i < cfg->n_services; i++) {
		total += cfg->services[i].n_endpoints;
		if (cfg->services[i].n_endpoints > most)
			most = cfg->services[i].n_endpoints;
	}
	if (total > SC_SLOT_ENDPOINTS)
		sc_diag(p, seen->mark, "services",
			"%zu endpoints in the services together; a policy holds at most %u", total,
			SC_SLOT_ENDPOINTS);

	names = malloc(cfg->n_services * sizeof(*names));
	vips = malloc(cfg->n_services * sizeof(*vips));
	eps = malloc((most + 1) * sizeof(*eps));
	if (!names || !vips || !eps) {
		p->err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < cfg->n_services; i++) {
		svc = &cfg->services[i];
		sc_validate_endpoints(p, i, eps);
		if (p->svcs[i].name_ok) {
			names[n_names].name = svc->name;
			names[n_names].i = i;
			n_names++;
		}
		if (p->svcs[i].vip_ok && p->svcs[i].port_ok) {
			vips[n_vips].family = svc->family;
			memcpy(vips[n_vips].addr, svc->vip, sizeof(vips[n_vips].addr));
			vips[n_vips].port = svc->port;
			vips[n_vips].i = i;
			n_vips++;
		}
	}

	qsort(names, n_names, sizeof(*names), sc_cmp_name_ref);
	for (j = 1, first = 0; j < n_names; j++) {
		if (strcmp(names[first].name, names[j].name)) {
			first = j;
			continue;
		}
		loc.svc = names[j].i;
		loc.key = "name";
		sc_loc_diag(
			p, p->svcs[names[j].i].name, &loc,
			"\"%s\" is also the name of services[%zu] (line %zu); give each service "
			"its own name",
			names[j].name, names[first].i, p->svcs[names[first].i].name.line + 1);
	}

	qsort(vips, n_vips, sizeof(*vips), sc_cmp_addr_ref);
	for (j = 1, first = 0; j < n_vips; j++) {
		if (sc_cmp_addr(&vips[first], &vips[j])) {
			first = j;
			continue;
		}
		loc.svc = vips[j].i;
		loc.key = "vip";
		sc_loc_diag(
			p, p->svcs[vips[j].i].vip, &loc,
			"%s is also the vip and port of services[%zu] (line %zu); give each "
			"service a vip and port of its own",
			sc_addr_port(vips[j].family, vips[j].addr, vips[j].port, ap, sizeof(ap)),
			vips[first].i, p->svcs[vips[first].i].vip.line + 1);
	}

out_free:
	free(eps);
	free(vips);
	free(names);
}

/*
 * In iptables mode the rules go into the pod's network namespace, which must be named: the
 * daemon's own namespace may be the host's, where nat rules would capture the whole machine.
 * Services are balanced by the connect program, which iptables mode does not have.
 */
static void sc_validate_iptables(struct sc_parser *p)
{
	const char *from = p->mode == SC_MODE_IPTABLES ? ", given by --mode" : "";
	struct sc_seen *mode = &p->seen[K_MODE];

	if (p->cfg->mode != SC_MODE_IPTABLES)
		return;
	if (!p->cfg->netns && !p->seen[K_NETNS].bad)
		sc_diag(p, mode->present && !from[0] ? mode->mark : p->seen[K_ROOT].mark, "netns",
			"required with mode: iptables%s (set the pod's network namespace file, "
			"e.g. "
			"netns: /run/netns/web; rules are never installed in the host's namespace)",
			from);
	if (p->cfg->n_services)
		sc_diag(p, p->seen[K_SERVICES].mark, "services",
			"services need mode: ebpf (remove services, or set mode: ebpf%s)",
			from[0] ? " and drop --mode iptables" : "");
}

static size_t sc_port_entries(const struct sc_port_set *s)
{
	return s->all ? 0 : s->n;
}

/*
 * Checks between values, on the parsed struct. A value that was rejected has kept its default,
 * so checks that involve it are skipped rather than reported against a value nobody wrote.
 */
static void sc_config_validate(struct sc_parser *p)
{
	struct sc_config *cfg = p->cfg;
	struct sc_seen *out = &p->seen[K_OUTBOUND_PORT], *in = &p->seen[K_INBOUND_PORT];
	size_t n;

	if (!out->bad && !in->bad && cfg->proxy.outbound_port == cfg->proxy.inbound_port) {
		if (in->present)
			sc_diag(p, in->mark, "proxy.inboundPort",
				"%u is also proxy.outboundPort; use two different ports",
				cfg->proxy.inbound_port);
		else
			sc_diag(p, out->mark, "proxy.outboundPort",
				"%u is also proxy.inboundPort; use two different ports",
				cfg->proxy.outbound_port);
	}

	if (!cfg->outbound.include_ports.all)
		sc_validate_overlap(p, K_OUT_INCLUDE_PORTS, "outbound.includePorts",
				    K_OUT_EXCLUDE_PORTS, "outbound.excludePorts");
	if (!cfg->inbound.include_ports.all)
		sc_validate_overlap(p, K_IN_INCLUDE_PORTS, "inbound.includePorts",
				    K_IN_EXCLUDE_PORTS, "inbound.excludePorts");

	/*
	 * Each list is capped on its own while parsing; the slot holds all of them together. An
	 * admin port also in inbound.excludePorts shares its entry, but the compiler sizes its
	 * buffer without looking, so it counts here too.
	 */
	n = sc_port_entries(&cfg->outbound.include_ports) +
	    sc_port_entries(&cfg->outbound.exclude_ports) +
	    sc_port_entries(&cfg->inbound.include_ports) +
	    sc_port_entries(&cfg->inbound.exclude_ports) + cfg->proxy.admin_ports.n;
	if (n > SC_SLOT_PORTS)
		sc_diag(p, p->seen[K_ROOT].mark, "",
			"%zu ports in the port lists together; a policy holds at most %u", n,
			SC_SLOT_PORTS);
	n = cfg->outbound.include_ranges.n + cfg->outbound.exclude_ranges.n;
	if (n > SC_SLOT_CIDRS)
		sc_diag(p, p->seen[K_ROOT].mark, "",
			"%zu CIDRs in the range lists together; a policy holds at most %u", n,
			SC_SLOT_CIDRS);

	/* A service may share a port with the proxy: only its vip and port are matched. */
	sc_validate_services(p);
	sc_validate_iptables(p);
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
static void sc_diags_sort(struct sc_diag *v, size_t n)
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

static void sc_syntax_error(struct sc_parser *p, const yaml_parser_t *parser)
{
	if (parser->error == YAML_MEMORY_ERROR) {
		p->err = -ENOMEM;
		return;
	}
	/* The reader fails on bad encodings, before it has counted lines. */
	if (parser->error == YAML_READER_ERROR) {
		p->errors++;
		sc_diags_add(p->diags, p->file, 0, 0, "",
			     "not valid UTF-8 or UTF-16: %s at byte %zu", parser->problem,
			     parser->problem_offset);
		return;
	}
	if (parser->context)
		sc_diag(p, parser->problem_mark, "",
			"YAML syntax error: %s (%s at line %zu, column %zu)", parser->problem,
			parser->context, parser->context_mark.line + 1,
			parser->context_mark.column + 1);
	else
		sc_diag(p, parser->problem_mark, "", "YAML syntax error: %s", parser->problem);
}

/* A config file holds one document; a second one would be silently ignored otherwise. */
static void sc_check_single_document(struct sc_parser *p, yaml_parser_t *parser)
{
	yaml_document_t next;
	yaml_node_t *root;

	if (!yaml_parser_load(parser, &next)) {
		sc_syntax_error(p, parser);
		return;
	}
	root = yaml_document_get_root_node(&next);
	if (root)
		sc_diag(p, next.start_mark, "",
			"a second YAML document; a config file holds one (remove this ---)");
	yaml_document_delete(&next);
}

int sc_config_parse_string(const char *name, const char *text, size_t len, struct sc_config *cfg,
			   struct sc_diags *diags)
{
	return sc_config_parse_string_mode(name, text, len, SC_MODE_FROM_FILE, cfg, diags);
}

/*
 * Whether the document is a tree: an alias makes a node the child of a second parent, so a
 * document with one has more child references than nodes below the root.
 */
static bool sc_doc_is_tree(yaml_document_t *doc)
{
	size_t nodes = doc->nodes.top - doc->nodes.start, refs = 0;
	const yaml_node_t *n;

	if (!nodes)
		return true;
	for (n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (n->type == YAML_SEQUENCE_NODE)
			refs += n->data.sequence.items.top - n->data.sequence.items.start;
		else if (n->type == YAML_MAPPING_NODE)
			refs += 2 * (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	return refs + 1 == nodes;
}

/*
 * Whether the nodes FIRST..LAST (ids, inclusive) read the same wherever their text stands: no
 * block scalar (a line added after one could become part of it), no quoted scalar over several
 * lines. (A tag reads the same anywhere in a document without %TAG directives, and the parse
 * does not look at tags.)
 */
static const char *sc_nodes_local(yaml_document_t *doc, int first, int last)
{
	const yaml_node_t *n;
	int id;

	for (id = first; id <= last; id++) {
		n = yaml_document_get_node(doc, id);
		if (n->type != YAML_SCALAR_NODE)
			continue;
		switch (n->data.scalar.style) {
		case YAML_LITERAL_SCALAR_STYLE:
		case YAML_FOLDED_SCALAR_STYLE:
			return "a block scalar in services";
		case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
			if (n->start_mark.line != n->end_mark.line)
				return "a quoted scalar over several lines in services";
			break;
		default:
			break;
		}
	}
	return NULL;
}

static bool sc_doc_plain(const yaml_document_t *doc)
{
	return doc->start_implicit && doc->end_implicit && !doc->version_directive &&
	       doc->tag_directives.start == doc->tag_directives.end;
}

/* See struct sc_items_layout. DOC parsed without a problem. */
static const char *sc_layout_of(yaml_document_t *doc, struct sc_items_layout *lay)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *k, *seq = NULL;
	yaml_node_pair_t *pair;
	int last;

	if (!sc_doc_plain(doc))
		return "directives or document markers";
	if (!root || root->type != YAML_MAPPING_NODE ||
	    root->data.mapping.style != YAML_BLOCK_MAPPING_STYLE || root->start_mark.column)
		return "the top level is not a block mapping at column 1";
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(doc, pair->key);
		if (!strcmp(sc_value(k), "services")) {
			seq = yaml_document_get_node(doc, pair->value);
			break;
		}
	}
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE ||
	    seq->data.sequence.items.start == seq->data.sequence.items.top)
		return "services is not a block sequence";
	if (seq->end_mark.column)
		return "services does not end at the start of a line";
	if (!sc_doc_is_tree(doc))
		return "an alias";
	/* Nodes are numbered in document order: the sequence's are up to the next key's. */
	last = pair + 1 < root->data.mapping.pairs.top ? pair[1].key - 1
						       : (int)(doc->nodes.top - doc->nodes.start);
	lay->why = sc_nodes_local(doc, pair->value, last);
	if (lay->why)
		return lay->why;
	lay->col = seq->start_mark.column;
	lay->end_line = seq->end_mark.line;
	return NULL;
}

static int sc_parse_text(const char *name, const char *text, size_t len, int mode,
			 struct sc_config *cfg, struct sc_diags *diags, struct sc_items_layout *lay)
{
	struct sc_diags scratch = {0};
	struct sc_parser p = {0};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t i, first;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (lay)
		*lay = (struct sc_items_layout){.why = "the file does not parse"};
	p.file = name ? name : "<string>";
	p.cfg = cfg;
	p.doc = &doc;
	p.diags = diags ? diags : &scratch;
	p.mode = mode;
	first = p.diags->n;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		sc_syntax_error(&p, &parser);
		goto out_parser;
	}
	err = sc_config_defaults(cfg, p.file);
	if (err) {
		p.err = err;
		goto out_doc;
	}
	/* An empty file, or one holding only comments, has no root node: it is an empty mapping. */
	root = yaml_document_get_root_node(&doc);
	p.seen[K_ROOT].present = true;
	p.seen[K_ROOT].mark = root ? root->start_mark : doc.start_mark;
	if (root)
		sc_parse_value(&p, &sc_root, root);
	if (!p.seen[K_ROOT].bad) {
		sc_config_finish(&p);
		sc_config_validate(&p);
	}
	sc_check_single_document(&p, &parser);
	if (lay && !p.err && !p.errors) {
		lay->why = sc_layout_of(&doc, lay);
		lay->usable = !lay->why;
	}

out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	for (i = 0; i < K__MAX; i++)
		free(p.items[i].v);
	for (i = 0; i < p.n_svcs; i++)
		free(p.svcs[i].eps);
	free(p.svcs);
	sc_diags_sort(p.diags->v + first, p.diags->n - first);
	sc_diags_free(&scratch);
	err = p.err ? p.err : p.errors ? -EINVAL : 0;
	if (err)
		sc_config_free(cfg);
	if (err && lay)
		lay->usable = false;
	return err;
}

int sc_config_parse_string_mode(const char *name, const char *text, size_t len, int mode,
				struct sc_config *cfg, struct sc_diags *diags)
{
	return sc_parse_text(name, text, len, mode, cfg, diags, NULL);
}

int sc_config_parse_layout(const char *name, const char *text, size_t len, int mode,
			   struct sc_config *cfg, struct sc_diags *diags,
			   struct sc_items_layout *lay)
{
	return sc_parse_text(name, text, len, mode, cfg, diags, lay);
}

/*
 * The items are read with the same functions as in a whole file, so a run of items reads as it
 * does in place as long as nothing around it changes how its text is scanned; the checks here
 * and in config_cache.c make sure of that.
 */
int sc_config_parse_items(const char *name, const char *text, size_t len, size_t col,
			  struct sc_service_cfg **svcs, size_t *n)
{
	struct sc_config cfg = {0};
	struct sc_diags scratch = {0};
	struct sc_parser p = {.file = name, .cfg = &cfg, .diags = &scratch};
	struct sc_addr_ref *refs = NULL;
	yaml_document_t doc, next;
	yaml_parser_t parser;
	yaml_node_t *root;
	size_t i, items = 0;
	int err = -EAGAIN;

	*svcs = NULL;
	*n = 0;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EAGAIN;
		goto out_parser;
	}
	p.doc = &doc;
	/* No root: the text held nothing but comments and blank lines, and the stream has ended. */
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		err = 0;
		goto out_doc;
	}
	if (!sc_doc_plain(&doc) || !sc_doc_is_tree(&doc) || root->type != YAML_SEQUENCE_NODE ||
	    root->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE ||
	    root->start_mark.column != col ||
	    sc_nodes_local(&doc, 1, (int)(doc.nodes.top - doc.nodes.start)))
		goto out_doc;
	items = root->data.sequence.items.top - root->data.sequence.items.start;
	/* Nothing may follow: a second document, even an empty one, is the whole file's problem. */
	if (!yaml_parser_load(&parser, &next)) {
		err = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EAGAIN;
		goto out_doc;
	}
	root = yaml_document_get_root_node(&next);
	yaml_document_delete(&next);
	if (root)
		goto out_doc;

	root = yaml_document_get_root_node(&doc);
	cfg.services = calloc(items, sizeof(*cfg.services));
	p.svcs = calloc(items, sizeof(*p.svcs));
	refs = malloc((SC_SVC_MAX_ENDPOINTS + 1) * sizeof(*refs));
	if (!cfg.services || !p.svcs || !refs) {
		err = -ENOMEM;
		goto out_doc;
	}
	cfg.n_services = items;
	p.n_svcs = items;
	for (i = 0; i < items; i++)
		sc_parse_service(&p, i, sc_item(&p, root, i), &cfg.services[i], &p.svcs[i]);
	for (i = 0; !p.errors && !p.err && i < items; i++) {
		/* More endpoints than that is an error, reported by the whole parse. */
		if (cfg.services[i].n_endpoints > SC_SVC_MAX_ENDPOINTS)
			p.errors++;
		else
			sc_validate_endpoints(&p, i, refs);
	}
	err = p.err ? p.err : p.errors ? -EAGAIN : 0;
	if (!err) {
		*svcs = cfg.services;
		*n = items;
		cfg.services = NULL;
		cfg.n_services = 0;
	}

out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	for (i = 0; i < p.n_svcs; i++)
		free(p.svcs[i].eps);
	free(p.svcs);
	free(refs);
	sc_services_free(cfg.services, cfg.n_services);
	sc_diags_free(&scratch);
	return err;
}

int sc_config_read(const char *file, char **out, size_t *out_len, struct sc_diags *diags)
{
	size_t len = 0, n;
	char *text, *shrunk;
	FILE *f;
	int err = 0;

	*out = NULL;
	*out_len = 0;
	/* One byte more than the limit tells a file at the limit from a larger one. */
	text = malloc(SC_MAX_FILE_SIZE + 1);
	if (!text)
		return -ENOMEM;
	f = fopen(file, "re");
	if (!f) {
		err = -errno;
		sc_diags_add(diags, file, 0, 0, "", "cannot open: %s", strerror(-err));
		goto out_free;
	}
	errno = 0;
	while ((n = fread(text + len, 1, SC_MAX_FILE_SIZE + 1 - len, f)) > 0)
		len += n;
	if (ferror(f)) {
		err = errno ? -errno : -EIO;
		sc_diags_add(diags, file, 0, 0, "", "cannot read: %s", strerror(-err));
		goto out_close;
	}
	if (len > SC_MAX_FILE_SIZE) {
		err = -EFBIG;
		sc_diags_add(diags, file, 0, 0, "",
			     "larger than %d bytes; is this the config file?", SC_MAX_FILE_SIZE);
		goto out_close;
	}
	shrunk = realloc(text, len + 1);
	if (shrunk)
		text = shrunk;
	text[len] = '\0';
	*out = text;
	*out_len = len;
	text = NULL;

out_close:
	fclose(f);
out_free:
	free(text);
	return err;
}

int sc_config_load(const char *file, struct sc_config *cfg, struct sc_diags *diags)
{
	return sc_config_load_mode(file, SC_MODE_FROM_FILE, cfg, diags);
}

int sc_config_load_mode(const char *file, int mode, struct sc_config *cfg, struct sc_diags *diags)
{
	struct sc_diags scratch = {0};
	size_t len;
	char *text;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	if (!diags)
		diags = &scratch;
	err = sc_config_read(file, &text, &len, diags);
	if (!err)
		err = sc_config_parse_string_mode(file, text, len, mode, cfg, diags);
	free(text);
	sc_diags_free(&scratch);
	return err;
}

void sc_service_release(struct sc_service_cfg *svc)
{
	if (svc->refs && --*svc->refs)
		return;
	free(svc->refs);
	free(svc->name);
	free(svc->endpoints);
}

void sc_services_free(struct sc_service_cfg *svcs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sc_service_release(&svcs[i]);
	free(svcs);
}

void sc_config_free(struct sc_config *cfg)
{
	free(cfg->path);
	free(cfg->cgroup);
	free(cfg->pin_path);
	free(cfg->outbound.include_ranges.v);
	free(cfg->outbound.exclude_ranges.v);
	free(cfg->outbound.include_ports.v);
	free(cfg->outbound.exclude_ports.v);
	free(cfg->inbound.include_ports.v);
	free(cfg->inbound.exclude_ports.v);
	free(cfg->proxy.admin_ports.v);
	free(cfg->netns);
	free(cfg->metrics.listen);
	sc_services_free(cfg->services, cfg->n_services);
	memset(cfg, 0, sizeof(*cfg));
}

static int sc_dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

static int sc_dup_mem(void **dst, const void *src, size_t size)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = malloc(size ? size : 1);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, size);
	return 0;
}

int sc_config_share(struct sc_config *src, struct sc_config *dst)
{
	size_t i;
	int err;

	*dst = *src;
	dst->path = dst->cgroup = dst->pin_path = dst->netns = dst->metrics.listen = NULL;
	dst->proxy.admin_ports.v = NULL;
	dst->outbound.include_ranges.v = dst->outbound.exclude_ranges.v = NULL;
	dst->outbound.include_ports.v = dst->outbound.exclude_ports.v = NULL;
	dst->inbound.include_ports.v = dst->inbound.exclude_ports.v = NULL;
	dst->services = NULL;
	dst->n_services = 0;
	err = sc_dup_str(&dst->path, src->path) ?: sc_dup_str(&dst->cgroup, src->cgroup) ?:
	      sc_dup_str(&dst->pin_path, src->pin_path) ?: sc_dup_str(&dst->netns, src->netns) ?:
	      sc_dup_str(&dst->metrics.listen, src->metrics.listen);
#define SC_DUP_SET(set) \
	(sc_dup_mem((void **)&dst->set.v, src->set.v, src->set.n * sizeof(*src->set.v)))
	err = err ?: SC_DUP_SET(proxy.admin_ports) ?: SC_DUP_SET(outbound.include_ranges) ?:
		     SC_DUP_SET(outbound.exclude_ranges) ?: SC_DUP_SET(outbound.include_ports) ?:
		     SC_DUP_SET(outbound.exclude_ports) ?: SC_DUP_SET(inbound.include_ports) ?:
		     SC_DUP_SET(inbound.exclude_ports);
#undef SC_DUP_SET
	if (!err && src->n_services) {
		dst->services = malloc(src->n_services * sizeof(*dst->services));
		err = dst->services ? 0 : -ENOMEM;
	}
	for (i = 0; !err && i < src->n_services; i++) {
		if (!src->services[i].refs) {
			src->services[i].refs = malloc(sizeof(*src->services[i].refs));
			if (!src->services[i].refs) {
				err = -ENOMEM;
				break;
			}
			*src->services[i].refs = 1;
		}
		++*src->services[i].refs;
		dst->services[i] = src->services[i];
		dst->n_services = i + 1;
	}
	if (err)
		sc_config_free(dst);
	return err;
}

static bool sc_endpoint_equal(const struct sc_endpoint_cfg *a, const struct sc_endpoint_cfg *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr)) &&
	       a->port == b->port && a->weight == b->weight;
}

bool sc_service_equal(const struct sc_service_cfg *a, const struct sc_service_cfg *b)
{
	size_t i;

	if (a->family != b->family || memcmp(a->vip, b->vip, sizeof(a->vip)) ||
	    a->port != b->port || a->balance != b->balance || a->bypass != b->bypass ||
	    a->n_endpoints != b->n_endpoints)
		return false;
	/* Configs that share a service (sc_config_share()) share its name and endpoints. */
	if (a->name == b->name && a->endpoints == b->endpoints)
		return true;
	if (!!a->name != !!b->name || (a->name && strcmp(a->name, b->name)))
		return false;
	if (a->family != b->family || memcmp(a->vip, b->vip, sizeof(a->vip)) ||
	    a->port != b->port || a->balance != b->balance || a->bypass != b->bypass ||
	    a->n_endpoints != b->n_endpoints)
		return false;
	for (i = 0; i < a->n_endpoints; i++)
		if (!sc_endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	return true;
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
