/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the parts of the config reader share, and nothing outside them sees (config.h is the
 * public interface). The parts, in the order a file goes through them:
 *
 *   config.c           reading a file, the libyaml document, the walk of its mappings
 *   config_keys.c      every key of the file (type, field, default, hint) and what follows from
 *                      the table: defaults, freeing and sharing a struct sc_config
 *   config_values.c    one value of each type: paths, numbers, booleans, lists, CIDRs, ports
 *   config_services.c  the items of services and their endpoints
 *   config_validate.c  the checks between values, once the whole document is read
 *   config_diag.c      collecting, sorting and printing the diagnostics
 *   config_items.c     for the parse cache: where the services items are, and a run of them
 *                      parsed on its own
 *   config_cache.c     the parse cache (config.h)
 *
 * Adding a key of a type the parser knows is a field in struct sc_config, its id in enum
 * sc_key_id below and its row in sc_keys[] (config_keys.c), with its default and hint there;
 * freeing and sharing follow from the row. Checks against other keys go in config_validate.c.
 */
#ifndef SC_CONFIG_INT_H
#define SC_CONFIG_INT_H

#include <stdarg.h>
#include <yaml.h>

#include "config.h"
#include "sidecap.h"

/*
 * A pod policy without services is a few hundred bytes, but one with the most services and
 * endpoints a slot holds, written in block style, runs to 10 MiB and more. Anything larger than
 * this is the wrong file.
 */
#define SC_MAX_FILE_SIZE (16 << 20)

/* (uid_t)-1 means "no change" to the kernel, and SC_ID_NONE means "not set" to the BPF side. */
#define SC_ID_MAX 4294967294ull

/* The longest service name: a DNS label. */
#define SC_NAME_MAX 63

/* Every key of the file, mappings included; the index of its row in sc_keys[]. */
enum sc_key_id {
	K_ROOT,
	K_CGROUP,
	K_NODE_CGROUP_MOUNT,
	K_PIN_PATH,
	K_NETNS,
	K_MODE,
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
	K_ACCEL_MIN_EXCHANGES,
	K_ACCEL_PORTS,
	K_ACCEL_ALWAYS,
	K_ACCEL_NEVER,
	K_METRICS,
	K_METRICS_LISTEN,
	K_DNS,
	K_DNS_CAPTURE,
	K_DNS_PORT,
	K_DNS_SERVERS,
	K_SERVICES,
	K__MAX
};

/* What a key's value is, and so which function reads it (config.c, sc_parse_value). */
enum sc_type {
	T_MAP,	       /* a mapping of keys: the rows whose parent it is */
	T_PATH,	       /* char *: an absolute path, stored without repeated or trailing slashes */
	T_CGROUP,      /* char *: a T_PATH, or the word auto (sc_config.cgroup_auto) */
	T_ID,	       /* uint32_t: a uid or gid */
	T_PORT,	       /* uint16_t */
	T_BOOL,	       /* bool */
	T_CIDRS,       /* struct sc_cidr_set */
	T_PORTS,       /* struct sc_port_set */
	T_BOOL_CHOICE, /* bool: one of two words */
	T_CHOICE,      /* int: one of a few words */
	T_LISTEN,      /* char *: "ADDR:PORT" or "[ADDR]:PORT" */
	T_ACCEL,       /* int: enum sc_accel_mode, a word or true/false */
	T_COUNT,       /* uint32_t: 1-1000000 */
	T_SERVICES,    /* the services and n_services of struct sc_config */
	T_ADDRS,       /* struct sc_cidr_set of host addresses; IPv4-mapped ones stored as IPv4 */
	T__MAX
};

/* The words a key may take, up to a NULL name; WHAT names such a word in messages. */
struct sc_choices {
	const char *what;
	struct {
		const char *name;
		int value;
	} v[4];
};

struct sc_key {
	const char *name;
	const char *path;      /* dotted, as diagnostics name it */
	enum sc_key_id parent; /* the mapping it is a key of (K_ROOT for K_ROOT itself) */
	enum sc_type type;
	size_t off;			  /* where the value lives in struct sc_config */
	size_t size;			  /* of that field (0 for T_MAP and T_SERVICES) */
	const void *def;		  /* its default, of the field's type; NULL: zero or none */
	const char *hint;		  /* how to fix a key given no value */
	const struct sc_choices *choices; /* T_BOOL_CHOICE, T_CHOICE */
};

extern const struct sc_key sc_keys[K__MAX];

static inline enum sc_key_id sc_key_id(const struct sc_key *key)
{
	return (enum sc_key_id)(key - sc_keys);
}

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

/*
 * Where a value inside services is: services[SVC], then .endpoints[EP] unless EP is SIZE_MAX,
 * then .KEY unless KEY is NULL.
 */
struct sc_loc {
	size_t svc;
	size_t ep;
	const char *key;
};

/* An address and port of a service or endpoint, and the index of its item, for sorting. */
struct sc_addr_ref {
	size_t i;
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* config_keys.c: a struct holding the defaults of every key, and NAME as its path. 0 or -ENOMEM. */
int sc_config_defaults(struct sc_config *cfg, const char *name);

/* config_diag.c */
int sc_diags_vadd(struct sc_diags *diags, const char *file, int line, int col, const char *key,
		  const char *fmt, va_list ap);
void sc_diags_add(struct sc_diags *diags, const char *file, int line, int col, const char *key,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Report a problem at MARK. */
void sc_diag(struct sc_parser *p, yaml_mark_t mark, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Report a problem with the value of KEY, which then keeps its default. */
void sc_bad(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
/* The path of a value inside services, in BUF, for messages. */
const char *sc_loc_path(const struct sc_loc *loc, char *buf, size_t size);
/* Report a problem with a value inside services. */
void sc_loc_diag(struct sc_parser *p, yaml_mark_t mark, const struct sc_loc *loc, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));
/* Put V[0..N) in file order, keeping the order of problems at one place. */
void sc_diags_sort(struct sc_diag *v, size_t n);

/* config_values.c: reading one node. */
static inline const char *sc_value(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static inline bool sc_is_plain(const yaml_node_t *node)
{
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool sc_is_null(const yaml_node_t *node);
const char *sc_what(const yaml_node_t *node, char *buf, size_t size);
yaml_node_t *sc_item(struct sc_parser *p, const yaml_node_t *seq, size_t i);
bool sc_scalar(struct sc_parser *p, const struct sc_key *key, const char *path,
	       const yaml_node_t *node, const char *expect);
int sc_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
int sc_number(struct sc_parser *p, const yaml_node_t *node, const char *path, const char *what,
	      const char *use, bool quoted_ok, unsigned long long min, unsigned long long max,
	      unsigned long long *out);
bool sc_list(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node, size_t max);
const char *sc_choice_words(const struct sc_choices *c, char *buf, size_t size);
bool sc_match_choice(const struct sc_choices *c, const char *s, int *out);
void sc_bad_choice(struct sc_parser *p, const yaml_node_t *node, const char *path,
		   const struct sc_choices *c);
int sc_parse_addr(const char *s, int *family, uint8_t *addr, char *msg, size_t size);

/* config_values.c: the value of KEY, of each type, into its field. */
void sc_parse_path(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_cgroup(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_id(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_port(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_bool(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_cidrs(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_ports(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_bool_choice(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_choice(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_accel(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_count(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
/* An acceleration mode: adaptive, always, never, or the booleans true (always) and false
 * (never) that older files use. False with a message in MSG when NODE is none of them. */
bool sc_match_accel(const yaml_node_t *node, int *out, char *msg, size_t size);
void sc_parse_listen(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_addrs(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);

/* config_services.c */
void sc_parse_services(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node);
void sc_parse_service(struct sc_parser *p, size_t i, const yaml_node_t *node,
		      struct sc_service_cfg *svc, struct sc_svc_marks *m);

/* config_validate.c */
void sc_config_validate(struct sc_parser *p);
/* Checks between the endpoints of service I; REFS has room for all of them. */
void sc_validate_endpoints(struct sc_parser *p, size_t i, struct sc_addr_ref *refs);

/*
 * Where the services sequence of a parsed document is, when its items can be parsed again one
 * run at a time: the document has no directives, no "---" or "...", no alias; its top level is a
 * block mapping at column 0; services is a block sequence of at least one item, with no tag, that
 * ends at the start of a line; its items hold no block scalar (| or >) and no quoted scalar that
 * spans lines. Item K begins on line cfg->services[K].line.
 */
struct sc_items_layout {
	bool usable;
	const char *why; /* when not usable */
	size_t col;	 /* column of the items' "-" */
	size_t end_line; /* 0-based line where the sequence ends (the next key's, or past the end)
			  */
};

/* config_items.c: the layout of DOC, parsed without a problem: NULL, or why it is not usable. */
const char *sc_layout_of(yaml_document_t *doc, struct sc_items_layout *lay);

/* sc_config_parse_string_mode(), and on success the layout of the services sequence. */
int sc_config_parse_layout(const char *name, const char *text, size_t len, int mode,
			   struct sc_config *cfg, struct sc_diags *diags,
			   struct sc_items_layout *lay);

/*
 * Parse TEXT, whole items cut out of the services sequence of a file, as a document of its own:
 * 0 with the services in *SVCS (*N of them, lines counted from 1 at TEXT's first line) when
 * TEXT is nothing but comments, or one block sequence at column COL whose items pass the checks
 * of struct sc_items_layout and have no problem of their own (sc_config_parse_string() would
 * report none in them, cross-checks between services aside); -EAGAIN for anything else, for
 * the whole file to tell what is wrong; -ENOMEM.
 */
int sc_config_parse_items(const char *name, const char *text, size_t len, size_t col,
			  struct sc_service_cfg **svcs, size_t *n);

/* Free the name and endpoints of SVC unless another config shares them. */
void sc_service_release(struct sc_service_cfg *svc);

/* sc_service_release() each of N services, then free SVCS. */
void sc_services_free(struct sc_service_cfg *svcs, size_t n);

/* Read FILE whole (at most the size limit), reporting a failure in DIAGS. 0 or -errno. */
int sc_config_read(const char *file, char **text, size_t *len, struct sc_diags *diags);

#endif /* SC_CONFIG_INT_H */
