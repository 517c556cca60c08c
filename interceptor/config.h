/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pod policy as a plain struct. Parsing (libyaml events -> struct sc_config) and validation
 * know nothing of libbpf; policy.c turns a validated config into map entries.
 */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sc_cidr {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network order; IPv4 in the first 4 bytes; host bits cleared */
	uint8_t prefixlen; /* 0-32 or 0-128 */
};

struct sc_cidr_set {
	size_t n;
	struct sc_cidr *v;
};

/* "*" sets all; otherwise the listed ports (1-65535), sorted, no duplicates. */
struct sc_port_set {
	bool all;
	size_t n;
	uint16_t *v;
};

/* How a service picks an endpoint. The values are those of enum sc_balance in bpf/sidecap.h. */
enum sc_balance_cfg {
	SC_BALANCE_RANDOM = 1,
	SC_BALANCE_ROUND_ROBIN = 2,
	SC_BALANCE_MAGLEV = 3,
};

struct sc_endpoint_cfg {
	int family;	  /* AF_INET or AF_INET6, the family of the service's vip */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
	uint16_t port;
	uint32_t weight; /* 0-65535, default 1; 0 is drained: kept, but never picked */
};

struct sc_service_cfg {
	char *name;	 /* unique among the services */
	int family;	 /* AF_INET or AF_INET6; never an IPv4-mapped IPv6 address */
	uint8_t vip[16]; /* network order; IPv4 in the first 4 bytes, the rest zero */
	uint16_t port;	 /* (vip, port) is unique among the services */
	int balance;	 /* enum sc_balance_cfg, default SC_BALANCE_RANDOM */
	bool bypass;	 /* sidecar: bypass (default redirect) */
	int acceleration; /* enum sc_accel_mode; SC_ACCEL_INHERIT (the default): the pod's rules */
	size_t n_endpoints;
	struct sc_endpoint_cfg *endpoints; /* in file order, 1-256, (addr, port) unique */
	int line;			   /* 1-based line of the item in the file, for messages */
	/*
	 * How many configs share name and endpoints (sc_config_share()), which are freed with the
	 * last of them; NULL while this config is the only one.
	 */
	unsigned int *refs;
};

/* acceleration: which connections enter the sockhash (docs/architecture.md). */
enum sc_accel_mode {
	SC_ACCEL_INHERIT = -1, /* a service without its own: the port rules and the global mode */
	SC_ACCEL_ADAPTIVE = 0, /* learned per destination (the default) */
	SC_ACCEL_ALWAYS = 1,   /* also `true` */
	SC_ACCEL_NEVER = 2,    /* also `false` */
};

/* How the pod's connections are sent to the proxy. */
enum sc_mode {
	SC_MODE_EBPF = 0,     /* BPF programs on the pod's cgroup and netns (the default) */
	SC_MODE_IPTABLES = 1, /* istio-iptables' nat REDIRECT rules in the pod's netns */
};

/* For sc_config_load_mode(): keep the mode the file gives. */
#define SC_MODE_FROM_FILE (-1)

struct sc_config {
	char *path;	/* file it was read from ("<string>" for sc_config_parse_string) */
	/* An absolute path of a cgroup v2 directory; NULL (until sc_target_resolve()) when the
	 * file says `cgroup: auto` or gives no cgroup: the interceptor runs as a container of the
	 * pod and finds the pod's cgroup itself (cgroup_auto.c). */
	char *cgroup;
	bool cgroup_auto;
	/* Default: SC_PIN_ROOT "/" + cgroup without its leading '/', '/' -> '_'; with cgroup: auto,
	 * NULL until sc_target_resolve() derives it from the pod's UID or cgroup. */
	char *pin_path;
	char *node_cgroup_mount; /* where the node's cgroup2 tree is; default /host/sys/fs/cgroup */
	struct {
		uint32_t uid; /* default 1337 */
		uint32_t gid; /* default: none */
		bool has_gid;
		uint16_t outbound_port;		/* default 15001 */
		uint16_t inbound_port;		/* default 15006 */
		bool fail_open;			/* default true */
		bool orig_service;		/* originalDst: service; default endpoint (false) */
		struct sc_port_set admin_ports; /* default [15020, 15021, 15090]; never "*" */
	} proxy;
	struct {
		struct sc_cidr_set include_ranges; /* default ["*"] = 0.0.0.0/0 and ::/0 */
		struct sc_cidr_set exclude_ranges; /* default [] */
		struct sc_port_set include_ports;  /* default all; [] parses as "*" here */
		struct sc_port_set exclude_ports;  /* default [] */
	} outbound;
	struct {
		struct sc_port_set include_ports; /* default ["*"] */
		struct sc_port_set exclude_ports; /* default [] */
	} inbound;
	int acceleration;		   /* enum sc_accel_mode, default SC_ACCEL_ADAPTIVE */
	uint32_t accel_min_exchanges;	   /* accelerationMinExchanges, default 4 */
	struct {
		struct sc_port_set always; /* default []; never "*" */
		struct sc_port_set never;  /* default []; never "*" */
	} accel_ports;
	char *netns;	   /* the netns file where inbound steering is linked; NULL: not given */
	int mode;	   /* enum sc_mode, default SC_MODE_EBPF; iptables mode requires netns */
	struct {
		bool enabled; /* the section is present; listen defaults to 127.0.0.1:15020 */
		char *listen; /* "ADDR:PORT" or "[ADDR]:PORT", as written; NULL when off */
	} metrics;
	struct {
		bool capture;		    /* default false */
		uint16_t port;		    /* the proxy's DNS listener; default 15053 */
		struct sc_cidr_set servers; /* host addresses (/32, /128); default [] = every one */
	} dns;
	size_t n_services;
	struct sc_service_cfg *services; /* in file order; default none */
};

#define SC_PIN_ROOT "/sys/fs/bpf/sidecap"

/* One error: FILE:LINE:COL: key: message. line/col are 1-based; 0 when unknown. */
struct sc_diag {
	char *file;
	int line;
	int col;
	char *key; /* dotted path, e.g. "proxy.outboundPort", "outbound.excludeIPRanges[2]" */
	char *msg; /* says what is wrong and how to fix it */
};

struct sc_diags {
	size_t n;
	struct sc_diag *v;
};

/*
 * Read, parse and validate FILE. Returns 0 with *cfg filled, or -EINVAL with every problem found
 * appended to diags (syntax, unknown key, wrong type, bad value), or another -errno when the file
 * cannot be read (also reported in diags). On error *cfg is left zeroed.
 */
int sc_config_load(const char *file, struct sc_config *cfg, struct sc_diags *diags);

/* The same for text in memory; NAME stands for the file name in diagnostics. */
int sc_config_parse_string(const char *name, const char *text, size_t len, struct sc_config *cfg,
			   struct sc_diags *diags);

/*
 * sc_config_load() and sc_config_parse_string() with MODE (enum sc_mode, given on the command
 * line) in place of the file's `mode`, validated as if the file said so; SC_MODE_FROM_FILE keeps
 * the file's.
 */
int sc_config_load_mode(const char *file, int mode, struct sc_config *cfg, struct sc_diags *diags);
int sc_config_parse_string_mode(const char *name, const char *text, size_t len, int mode,
				struct sc_config *cfg, struct sc_diags *diags);

void sc_config_free(struct sc_config *cfg);

/* The endpoints of all of CFG's services. */
size_t sc_config_endpoints(const struct sc_config *cfg);

/*
 * Make DST a copy of SRC that shares the services' names and endpoints with it (counted in
 * their refs, so each config is freed on its own with sc_config_free()); everything else is
 * copied. Costs one allocation per service the first time a service is shared, none after.
 * 0 or -ENOMEM (DST zeroed).
 */
int sc_config_share(struct sc_config *src, struct sc_config *dst);

/*
 * A parse kept for the next one, so that a file edited in a few services is parsed again only
 * in those. It holds the last text that parsed without a problem, its config, and where each
 * item of its services sequence starts. A new text that differs from it only inside whole items
 * of that sequence is parsed item by item (the changed ones, each as a block sequence of its
 * own) and spliced into a copy of the kept config; anything else, or any doubt, is parsed as a
 * whole. Either way the result is the one sc_config_parse_string_mode() gives: the same config,
 * the same diagnostics.
 */
struct sc_config_cache;

struct sc_config_cache_stats {
	unsigned long spliced; /* parses done by splicing items */
	unsigned long full;    /* parses of the whole text */
	bool last_spliced;     /* how the last parse was done */
	size_t last_items;     /* items the last parse read: the changed ones, or all */
	const char *last_why;  /* why the last parse was of the whole text (static string) */
};

/* Texts shorter than MIN_SIZE are always parsed whole: it costs little, and risks nothing. */
struct sc_config_cache *sc_config_cache_new(size_t min_size);
void sc_config_cache_free(struct sc_config_cache *cache);
void sc_config_cache_stats(const struct sc_config_cache *cache, struct sc_config_cache_stats *st);

/* sc_config_parse_string_mode() and sc_config_load_mode() through CACHE. */
int sc_config_parse_cached(struct sc_config_cache *cache, const char *name, const char *text,
			   size_t len, int mode, struct sc_config *cfg, struct sc_diags *diags);
int sc_config_load_cached(struct sc_config_cache *cache, const char *file, int mode,
			  struct sc_config *cfg, struct sc_diags *diags);

/*
 * Whether A and B are the same service: every field but line, endpoints compared in order (an
 * endpoint's position is its index in the BPF maps, so a reordered list is a different policy).
 */
bool sc_service_equal(const struct sc_service_cfg *a, const struct sc_service_cfg *b);

void sc_diags_free(struct sc_diags *diags);

/* Print each diagnostic as "FILE:LINE:COL: key: message\n". */
void sc_diags_print(const struct sc_diags *diags, FILE *out);

#endif /* SC_CONFIG_H */
