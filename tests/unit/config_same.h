/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whether two parses of one text agree: every field of the config, the services in order with
 * their lines, and every diagnostic. The parse cache's unit tests and its fuzzer both hold the
 * cached parse to the whole one with these. The includer defines SAME_CHECK(cond, fmt, ...),
 * which reports a difference and does not return: Criterion's cr_assert in the unit tests, an
 * abort in the fuzzer.
 */
#ifndef SC_CONFIG_SAME_H
#define SC_CONFIG_SAME_H

#include <string.h>

#include "config.h"

static inline void same_str(const char *a, const char *b, const char *what)
{
	SAME_CHECK(!a == !b, "%s: %s vs %s", what, a ? a : "NULL", b ? b : "NULL");
	if (a)
		SAME_CHECK(!strcmp(a, b), "%s: %s vs %s", what, a, b);
}

#define SAME(field) SAME_CHECK(a->field == b->field, "%s", #field)
#define SAME_SET(set)                                                                              \
	do {                                                                                       \
		SAME(set.n);                                                                       \
		SAME_CHECK(!a->set.n || !memcmp(a->set.v, b->set.v, a->set.n * sizeof(*a->set.v)), \
			   "%s", #set);                                                            \
	} while (0)

/* Every field, services in order, each with its line. */
static inline void same_config(const struct sc_config *a, const struct sc_config *b)
{
	size_t i, j;

	same_str(a->path, b->path, "path");
	same_str(a->cgroup, b->cgroup, "cgroup");
	same_str(a->pin_path, b->pin_path, "pin_path");
	same_str(a->netns, b->netns, "netns");
	same_str(a->metrics.listen, b->metrics.listen, "metrics.listen");
	SAME(cgroup_auto);
	SAME(proxy.uid);
	SAME(proxy.gid);
	SAME(proxy.has_gid);
	SAME(proxy.outbound_port);
	SAME(proxy.inbound_port);
	SAME(proxy.fail_open);
	SAME(proxy.orig_service);
	SAME(proxy.admin_ports.all);
	SAME_SET(proxy.admin_ports);
	SAME_SET(outbound.include_ranges);
	SAME_SET(outbound.exclude_ranges);
	SAME(outbound.include_ports.all);
	SAME_SET(outbound.include_ports);
	SAME(outbound.exclude_ports.all);
	SAME_SET(outbound.exclude_ports);
	SAME(inbound.include_ports.all);
	SAME_SET(inbound.include_ports);
	SAME(inbound.exclude_ports.all);
	SAME_SET(inbound.exclude_ports);
	SAME(acceleration);
	SAME(mode);
	SAME(metrics.enabled);
	SAME(n_services);
	for (i = 0; i < a->n_services; i++) {
		const struct sc_service_cfg *x = &a->services[i], *y = &b->services[i];

		same_str(x->name, y->name, "services[].name");
		SAME_CHECK(x->family == y->family, "services[%zu].family", i);
		SAME_CHECK(!memcmp(x->vip, y->vip, 16), "services[%zu].vip", i);
		SAME_CHECK(x->port == y->port, "services[%zu].port", i);
		SAME_CHECK(x->balance == y->balance, "services[%zu].balance", i);
		SAME_CHECK(x->bypass == y->bypass, "services[%zu].bypass", i);
		SAME_CHECK(x->line == y->line, "services[%zu].line: %d vs %d", i, x->line, y->line);
		SAME_CHECK(x->n_endpoints == y->n_endpoints, "services[%zu].n_endpoints", i);
		for (j = 0; j < x->n_endpoints; j++) {
			const struct sc_endpoint_cfg *e = &x->endpoints[j], *f = &y->endpoints[j];

			SAME_CHECK(e->family == f->family && !memcmp(e->addr, f->addr, 16) &&
					   e->port == f->port && e->weight == f->weight,
				   "services[%zu].endpoints[%zu]", i, j);
		}
	}
}

static inline void same_diags(const struct sc_diags *a, const struct sc_diags *b)
{
	size_t i;

	SAME_CHECK(a->n == b->n, "%zu diagnostics, whole parse %zu (first: %s)", a->n, b->n,
		   b->n	  ? b->v[0].msg
		   : a->n ? a->v[0].msg
			  : "");
	for (i = 0; i < a->n; i++) {
		same_str(a->v[i].file, b->v[i].file, "diag file");
		SAME_CHECK(a->v[i].line == b->v[i].line, "diag %zu: line %d vs %d (%s)", i,
			   a->v[i].line, b->v[i].line, b->v[i].msg);
		SAME_CHECK(a->v[i].col == b->v[i].col, "diag %zu col (%s)", i, b->v[i].msg);
		same_str(a->v[i].key, b->v[i].key, "diag key");
		same_str(a->v[i].msg, b->v[i].msg, "diag msg");
	}
}

#endif /* SC_CONFIG_SAME_H */
