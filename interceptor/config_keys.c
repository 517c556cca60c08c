// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Every key of the config file, in one table: where its value lives in struct sc_config, its
 * type (which says how it is read, copied and freed), its default, and the hint given when it
 * has no value. The struct's life cycle follows from the table: the defaults a parse starts
 * from, sc_config_free() and sc_config_share(). What cannot be said in a row (a default that
 * depends on other keys) is in sc_config_finish() (config.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

static const struct sc_choices sc_orig_dst_choices = {
	"an originalDst mode", {{"endpoint", false}, {"service", true}, {NULL}}};
static const struct sc_choices sc_mode_choices = {
	"a mode", {{"ebpf", SC_MODE_EBPF}, {"iptables", SC_MODE_IPTABLES}, {NULL}}};

/* "*": every address of both families, 0.0.0.0/0 and ::/0. */
static const struct sc_cidr sc_cidr_all[] = {{.family = AF_INET}, {.family = AF_INET6}};
static const uint16_t sc_admin_ports[] = {15020, 15021, 15090};

/* Where the value of a key lives in struct sc_config. */
#define FIELD(field) \
	.off = offsetof(struct sc_config, field), .size = sizeof(((struct sc_config *)0)->field)
/* A default: a value of the field's type. */
/* clang-format off */
#define DEFAULT(type, ...) .def = &(const type){__VA_ARGS__}
/* clang-format on */
#define SC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Rows in the order of enum sc_key_id: the keys of each mapping come in the order that
 * messages list them in ("allowed: ...").
 */
const struct sc_key sc_keys[K__MAX] = {
	[K_ROOT] = {"", "", K_ROOT, T_MAP},
	[K_CGROUP] = {"cgroup", "cgroup", K_ROOT, T_CGROUP, FIELD(cgroup),
		      .hint = "set the absolute path of the pod's cgroup v2 directory, or auto (or "
			      "remove the key) to find it from inside the pod"},
	[K_NODE_CGROUP_MOUNT] = {"nodeCgroupMount", "nodeCgroupMount", K_ROOT, T_PATH,
				 FIELD(node_cgroup_mount),
				 DEFAULT(char *, (char *)"/host/sys/fs/cgroup"),
				 .hint = "remove the key for the default /host/sys/fs/cgroup"},
	[K_PIN_PATH] = {"pinPath", "pinPath", K_ROOT, T_PATH, FIELD(pin_path),
			.hint = "remove the key for the default derived from cgroup"},
	[K_NETNS] = {"netns", "netns", K_ROOT, T_PATH, FIELD(netns),
		     .hint = "remove the key, or set the path of the pod's network namespace file"},
	[K_MODE] = {"mode", "mode", K_ROOT, T_CHOICE, FIELD(mode), DEFAULT(int, SC_MODE_EBPF),
		    .hint = "remove the key for the default ebpf", .choices = &sc_mode_choices},

	[K_PROXY] = {"proxy", "proxy", K_ROOT, T_MAP},
	[K_UID] = {"uid", "proxy.uid", K_PROXY, T_ID, FIELD(proxy.uid), DEFAULT(uint32_t, 1337),
		   .hint = "remove the key for the default 1337"},
	[K_GID] = {"gid", "proxy.gid", K_PROXY, T_ID, FIELD(proxy.gid),
		   .hint = "remove the key to leave the proxy's group unchecked"},
	[K_OUTBOUND_PORT] = {"outboundPort", "proxy.outboundPort", K_PROXY, T_PORT,
			     FIELD(proxy.outbound_port), DEFAULT(uint16_t, 15001),
			     .hint = "remove the key for the default 15001"},
	[K_INBOUND_PORT] = {"inboundPort", "proxy.inboundPort", K_PROXY, T_PORT,
			    FIELD(proxy.inbound_port), DEFAULT(uint16_t, 15006),
			    .hint = "remove the key for the default 15006"},
	[K_FAIL_OPEN] = {"failOpen", "proxy.failOpen", K_PROXY, T_BOOL, FIELD(proxy.fail_open),
			 DEFAULT(bool, true), .hint = "remove the key for the default true"},
	[K_ORIGINAL_DST] = {"originalDst", "proxy.originalDst", K_PROXY, T_BOOL_CHOICE,
			    FIELD(proxy.orig_service), DEFAULT(bool, false),
			    .hint = "remove the key for the default endpoint",
			    .choices = &sc_orig_dst_choices},
	[K_ADMIN_PORTS] = {"adminPorts", "proxy.adminPorts", K_PROXY, T_PORTS,
			   FIELD(proxy.admin_ports),
			   DEFAULT(struct sc_port_set, .n = SC_ARRAY_SIZE(sc_admin_ports),
				   .v = (uint16_t *)sc_admin_ports),
			   .hint = "write [] for none, or remove the key for the default [15020, "
				   "15021, 15090]"},

	[K_OUTBOUND] = {"outbound", "outbound", K_ROOT, T_MAP},
	[K_OUT_INCLUDE_RANGES] = {"includeIPRanges", "outbound.includeIPRanges", K_OUTBOUND,
				  T_CIDRS, FIELD(outbound.include_ranges),
				  DEFAULT(struct sc_cidr_set, .n = SC_ARRAY_SIZE(sc_cidr_all),
					  .v = (struct sc_cidr *)sc_cidr_all),
				  .hint = "write [] for none, or remove the key for the default "
					  "[\"*\"]"},
	[K_OUT_EXCLUDE_RANGES] = {"excludeIPRanges", "outbound.excludeIPRanges", K_OUTBOUND,
				  T_CIDRS, FIELD(outbound.exclude_ranges),
				  .hint = "write [] for none"},
	[K_OUT_INCLUDE_PORTS] = {"includePorts", "outbound.includePorts", K_OUTBOUND, T_PORTS,
				 FIELD(outbound.include_ports),
				 DEFAULT(struct sc_port_set, .all = true),
				 .hint = "write [] or [\"*\"] for all ports"},
	[K_OUT_EXCLUDE_PORTS] = {"excludePorts", "outbound.excludePorts", K_OUTBOUND, T_PORTS,
				 FIELD(outbound.exclude_ports), .hint = "write [] for none"},

	[K_INBOUND] = {"inbound", "inbound", K_ROOT, T_MAP},
	[K_IN_INCLUDE_PORTS] = {"includePorts", "inbound.includePorts", K_INBOUND, T_PORTS,
				FIELD(inbound.include_ports),
				DEFAULT(struct sc_port_set, .all = true),
				.hint = "write [] for none, or remove the key for the default "
					"[\"*\"]"},
	[K_IN_EXCLUDE_PORTS] = {"excludePorts", "inbound.excludePorts", K_INBOUND, T_PORTS,
				FIELD(inbound.exclude_ports), .hint = "write [] for none"},

	[K_ACCELERATION] = {"acceleration", "acceleration", K_ROOT, T_ACCEL, FIELD(acceleration),
			    DEFAULT(int, SC_ACCEL_ADAPTIVE),
			    .hint = "remove the key for the default adaptive"},
	[K_ACCEL_MIN_EXCHANGES] = {"accelerationMinExchanges", "accelerationMinExchanges", K_ROOT,
				   T_COUNT, FIELD(accel_min_exchanges),
				   DEFAULT(uint32_t, SC_DEFAULT_ACCEL_MIN_EXCHANGES),
				   .hint = "remove the key for the default 4"},
	[K_ACCEL_PORTS] = {"accelerationPorts", "accelerationPorts", K_ROOT, T_MAP},
	[K_ACCEL_ALWAYS] = {"always", "accelerationPorts.always", K_ACCEL_PORTS, T_PORTS,
			    FIELD(accel_ports.always), .hint = "write [] for none"},
	[K_ACCEL_NEVER] = {"never", "accelerationPorts.never", K_ACCEL_PORTS, T_PORTS,
			   FIELD(accel_ports.never), .hint = "write [] for none"},
	[K_METRICS] = {"metrics", "metrics", K_ROOT, T_MAP},
	[K_METRICS_LISTEN] = {"listen", "metrics.listen", K_METRICS, T_LISTEN,
			      FIELD(metrics.listen),
			      .hint = "remove the key for the default 127.0.0.1:15020"},
	[K_DNS] = {"dns", "dns", K_ROOT, T_MAP},
	[K_DNS_CAPTURE] = {"capture", "dns.capture", K_DNS, T_BOOL, FIELD(dns.capture),
			   DEFAULT(bool, false), .hint = "remove the key for the default false"},
	[K_DNS_PORT] = {"port", "dns.port", K_DNS, T_PORT, FIELD(dns.port),
			DEFAULT(uint16_t, 15053), .hint = "remove the key for the default 15053"},
	[K_DNS_SERVERS] = {"servers", "dns.servers", K_DNS, T_ADDRS, FIELD(dns.servers),
			   .hint = "write [] for every server on port 53"},
	[K_SERVICES] = {"services", "services", K_ROOT, T_SERVICES, .hint = "write [] for none"},
};

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

static int sc_dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

static int sc_copy_str(void *dst, const void *src)
{
	return sc_dup_str(dst, *(char *const *)src);
}

static void sc_free_str(void *field)
{
	free(*(char **)field);
}

/* A set (struct sc_cidr_set, struct sc_port_set) owns its array of N values. */
#define SC_SET_OPS(name, type)                                                 \
	static int sc_copy_##name(void *dst, const void *src)                  \
	{                                                                      \
		type *d = dst;                                                 \
		const type *s = src;                                           \
                                                                               \
		*d = *s;                                                       \
		return sc_dup_mem((void **)&d->v, s->v, s->n * sizeof(*s->v)); \
	}                                                                      \
	static void sc_free_##name(void *field)                                \
	{                                                                      \
		free(((type *)field)->v);                                      \
	}

SC_SET_OPS(cidrs, struct sc_cidr_set)
SC_SET_OPS(ports, struct sc_port_set)

/*
 * The types whose fields own memory: how to copy one (a deep copy into a field that owns
 * nothing yet; 0 or -ENOMEM) and free one. The other fields are plain values, copied as bytes.
 * The services are apart: configs share them (sc_config_share()).
 */
static const struct {
	int (*copy)(void *dst, const void *src);
	void (*release)(void *field);
} sc_owning[T__MAX] = {
	[T_PATH] = {sc_copy_str, sc_free_str},
	[T_CGROUP] = {sc_copy_str, sc_free_str},
	[T_LISTEN] = {sc_copy_str, sc_free_str},
	[T_CIDRS] = {sc_copy_cidrs, sc_free_cidrs},
	[T_PORTS] = {sc_copy_ports, sc_free_ports},
	[T_ADDRS] = {sc_copy_cidrs, sc_free_cidrs},
};

static void *sc_field(struct sc_config *cfg, const struct sc_key *key)
{
	return (char *)cfg + key->off;
}

/* Copy SRC, a value of KEY's field, into CFG's field, which owns nothing. 0 or -ENOMEM. */
static int sc_field_copy(struct sc_config *cfg, const struct sc_key *key, const void *src)
{
	if (sc_owning[key->type].copy)
		return sc_owning[key->type].copy(sc_field(cfg, key), src);
	memcpy(sc_field(cfg, key), src, key->size);
	return 0;
}

int sc_config_defaults(struct sc_config *cfg, const char *name)
{
	size_t k;
	int err;

	err = sc_dup_str(&cfg->path, name);
	for (k = 0; !err && k < K__MAX; k++)
		if (sc_keys[k].def)
			err = sc_field_copy(cfg, &sc_keys[k], sc_keys[k].def);
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
	size_t k;

	free(cfg->path);
	for (k = 0; k < K__MAX; k++)
		if (sc_owning[sc_keys[k].type].release)
			sc_owning[sc_keys[k].type].release(sc_field(cfg, &sc_keys[k]));
	sc_services_free(cfg->services, cfg->n_services);
	memset(cfg, 0, sizeof(*cfg));
}

/* DST's services: SRC's, each counted once more in its refs. */
static int sc_services_share(struct sc_config *src, struct sc_config *dst)
{
	struct sc_service_cfg *svc;
	size_t i;

	if (!src->n_services)
		return 0;
	dst->services = malloc(src->n_services * sizeof(*dst->services));
	if (!dst->services)
		return -ENOMEM;
	for (i = 0; i < src->n_services; i++) {
		svc = &src->services[i];
		if (!svc->refs) {
			svc->refs = malloc(sizeof(*svc->refs));
			if (!svc->refs)
				return -ENOMEM;
			*svc->refs = 1;
		}
		++*svc->refs;
		dst->services[i] = *svc;
		dst->n_services = i + 1;
	}
	return 0;
}

int sc_config_share(struct sc_config *src, struct sc_config *dst)
{
	size_t k;
	int err;

	/* First nothing of DST owns memory, so that sc_config_free() can undo a partial copy. */
	*dst = *src;
	dst->path = NULL;
	dst->services = NULL;
	dst->n_services = 0;
	for (k = 0; k < K__MAX; k++)
		if (sc_owning[sc_keys[k].type].copy)
			memset(sc_field(dst, &sc_keys[k]), 0, sc_keys[k].size);
	err = sc_dup_str(&dst->path, src->path);
	for (k = 0; !err && k < K__MAX; k++)
		if (sc_owning[sc_keys[k].type].copy)
			err = sc_field_copy(dst, &sc_keys[k], sc_field(src, &sc_keys[k]));
	if (!err)
		err = sc_services_share(src, dst);
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
	    a->acceleration != b->acceleration ||
	    a->n_endpoints != b->n_endpoints)
		return false;
	/* Configs that share a service (sc_config_share()) share its name and endpoints. */
	if (a->name == b->name && a->endpoints == b->endpoints)
		return true;
	if (!!a->name != !!b->name || (a->name && strcmp(a->name, b->name)))
		return false;
	for (i = 0; i < a->n_endpoints; i++)
		if (!sc_endpoint_equal(&a->endpoints[i], &b->endpoints[i]))
			return false;
	return true;
}

size_t sc_config_endpoints(const struct sc_config *cfg)
{
	size_t i, n = 0;

	for (i = 0; i < cfg->n_services; i++)
		n += cfg->services[i].n_endpoints;
	return n;
}
