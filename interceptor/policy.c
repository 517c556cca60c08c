// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

static void sc_add_ports(struct sc_compiled *c, __u32 slot, __u32 kind,
			 const struct sc_port_set *set)
{
	size_t i;

	if (set->all)
		return;
	for (i = 0; i < set->n; i++)
		c->ports[c->n_ports++] = sc_port_key(slot, kind, set->v[i]);
}

static void sc_add_cidrs(struct sc_compiled *c, __u32 slot, __u32 kind4, __u32 kind6,
			 const struct sc_cidr_set *set)
{
	struct sc_cidr_key *key;
	size_t i;

	for (i = 0; i < set->n; i++) {
		key = &c->cidrs[c->n_cidrs++];
		/* The trie compares whole keys: stray bytes in the padding would split entries. */
		memset(key, 0, sizeof(*key));
		key->prefixlen = SC_CIDR_PREFIX_BASE + set->v[i].prefixlen;
		key->slot = slot;
		key->kind = set->v[i].family == AF_INET ? kind4 : kind6;
		memcpy(key->addr, set->v[i].addr, sizeof(key->addr));
	}
}

/* SC_F_OUT_INCL_ALL4/6 and SC_F_OUT_EXCL_NONE4/6: the CIDR answers known without a lookup. */
static __u32 sc_cidr_flags(const struct sc_cidr_set *incl, const struct sc_cidr_set *excl)
{
	__u32 f = SC_F_OUT_EXCL_NONE4 | SC_F_OUT_EXCL_NONE6;
	size_t i;

	for (i = 0; i < excl->n; i++)
		f &= excl->v[i].family == AF_INET ? ~SC_F_OUT_EXCL_NONE4 : ~SC_F_OUT_EXCL_NONE6;
	for (i = 0; i < incl->n; i++)
		if (incl->v[i].prefixlen == 0)
			f |= incl->v[i].family == AF_INET ? SC_F_OUT_INCL_ALL4 : SC_F_OUT_INCL_ALL6;
	return f;
}

static bool sc_port_set_has(const struct sc_port_set *set, uint16_t port)
{
	size_t i;

	if (set->all)
		return true;
	for (i = 0; i < set->n; i++)
		if (set->v[i] == port)
			return true;
	return false;
}

/* The proxy's admin ports join the inbound exclusions (sk_lookup never steers them). */
static void sc_add_admin_ports(struct sc_compiled *c, __u32 slot, const struct sc_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->proxy.admin_ports.n; i++)
		if (!sc_port_set_has(&cfg->inbound.exclude_ports, cfg->proxy.admin_ports.v[i]))
			c->ports[c->n_ports++] =
				sc_port_key(slot, SC_PORT_IN_EXCLUDE, cfg->proxy.admin_ports.v[i]);
}

/* The SC_F_ACCEL* flags: SC_F_ACCEL unless no rule can accelerate anything. */
static __u32 sc_accel_flags(const struct sc_config *cfg)
{
	__u32 f = SC_F_ACCEL;
	size_t i;

	if (cfg->accel_ports.always.n)
		f |= SC_F_ACCEL_ALWAYS_PORTS;
	if (cfg->accel_ports.never.n)
		f |= SC_F_ACCEL_NEVER_PORTS;
	if (cfg->acceleration == SC_ACCEL_ALWAYS)
		return f | SC_F_ACCEL_ALWAYS;
	if (cfg->acceleration != SC_ACCEL_NEVER)
		return f;
	f |= SC_F_ACCEL_NEVER;
	for (i = 0; i < cfg->n_services; i++)
		if (cfg->services[i].acceleration == SC_ACCEL_ALWAYS ||
		    cfg->services[i].acceleration == SC_ACCEL_ADAPTIVE)
			return f;
	return cfg->accel_ports.always.n ? f : f & ~SC_F_ACCEL;
}

static size_t sc_port_count(const struct sc_port_set *set)
{
	return set->all ? 0 : set->n;
}

int sc_policy_compile(const struct sc_config *cfg, __u32 slot, __u32 generation,
		      struct sc_compiled *out)
{
	struct sc_policy *pol = &out->policy;
	size_t n_ports, n_cidrs;

	memset(out, 0, sizeof(*out));
	if (slot >= SC_POLICY_SLOTS)
		return -EINVAL;
	n_ports = sc_port_count(&cfg->outbound.include_ports) +
		  sc_port_count(&cfg->outbound.exclude_ports) +
		  sc_port_count(&cfg->inbound.include_ports) +
		  sc_port_count(&cfg->inbound.exclude_ports) +
		  sc_port_count(&cfg->proxy.admin_ports) + cfg->accel_ports.always.n +
		  cfg->accel_ports.never.n;
	n_cidrs = cfg->outbound.include_ranges.n + cfg->outbound.exclude_ranges.n +
		  cfg->dns.servers.n;
	if (n_ports > SC_SLOT_PORTS || n_cidrs > SC_SLOT_CIDRS)
		return -E2BIG;
	/* One spare element each, so that an empty set is not a NULL that reads as a failure. */
	out->ports = calloc(n_ports + 1, sizeof(*out->ports));
	out->cidrs = calloc(n_cidrs + 1, sizeof(*out->cidrs));
	if (!out->ports || !out->cidrs)
		goto out_nomem;

	memset(pol, 0, sizeof(*pol));
	pol->proxy_uid = cfg->proxy.uid;
	pol->proxy_gid = cfg->proxy.has_gid ? cfg->proxy.gid : SC_ID_NONE;
	pol->outbound_port = cfg->proxy.outbound_port;
	pol->inbound_port = cfg->proxy.inbound_port;
	pol->flags = SC_F_VALID;
	pol->flags |= sc_accel_flags(cfg);
	pol->accel_min_exchanges = cfg->accel_min_exchanges;
	if (cfg->proxy.fail_open)
		pol->flags |= SC_F_FAIL_OPEN;
	if (cfg->proxy.orig_service)
		pol->flags |= SC_F_ORIG_SERVICE;
	/* Outbound, an empty include list means every port; inbound, it means none. */
	if (cfg->outbound.include_ports.all || !cfg->outbound.include_ports.n)
		pol->flags |= SC_F_OUT_ALL_PORTS;
	if (cfg->inbound.include_ports.all)
		pol->flags |= SC_F_IN_ALL_PORTS;
	pol->flags |= sc_cidr_flags(&cfg->outbound.include_ranges, &cfg->outbound.exclude_ranges);
	pol->msg_unanswered_limit = SC_DEFAULT_UNANSWERED_LIMIT;
	pol->generation = generation;
	pol->dns_port = cfg->dns.port;
	if (cfg->dns.capture)
		pol->flags |= SC_F_DNS_CAPTURE;
	if (!cfg->dns.servers.n)
		pol->flags |= SC_F_DNS_ALL_SERVERS;

	sc_add_ports(out, slot, SC_PORT_OUT_INCLUDE, &cfg->outbound.include_ports);
	sc_add_ports(out, slot, SC_PORT_OUT_EXCLUDE, &cfg->outbound.exclude_ports);
	sc_add_ports(out, slot, SC_PORT_IN_INCLUDE, &cfg->inbound.include_ports);
	sc_add_ports(out, slot, SC_PORT_IN_EXCLUDE, &cfg->inbound.exclude_ports);
	sc_add_admin_ports(out, slot, cfg);
	sc_add_ports(out, slot, SC_PORT_ACCEL_ALWAYS, &cfg->accel_ports.always);
	sc_add_ports(out, slot, SC_PORT_ACCEL_NEVER, &cfg->accel_ports.never);
	sc_add_cidrs(out, slot, SC_CIDR_OUT_INCLUDE4, SC_CIDR_OUT_INCLUDE6,
		     &cfg->outbound.include_ranges);
	sc_add_cidrs(out, slot, SC_CIDR_OUT_EXCLUDE4, SC_CIDR_OUT_EXCLUDE6,
		     &cfg->outbound.exclude_ranges);
	sc_add_cidrs(out, slot, SC_CIDR_DNS_SERVER4, SC_CIDR_DNS_SERVER6, &cfg->dns.servers);
	return 0;

out_nomem:
	sc_compiled_free(out);
	return -ENOMEM;
}

void sc_compiled_free(struct sc_compiled *c)
{
	free(c->ports);
	free(c->cidrs);
	memset(c, 0, sizeof(*c));
}
