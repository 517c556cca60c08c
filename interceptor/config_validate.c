// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The validation pass: checks between values, on the parsed struct, once the whole document is
 * read. A value that was rejected has kept its default, so checks that involve it are skipped
 * rather than reported against a value nobody wrote.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

/* Report each item of the EXCLUDE list that is also in the INCLUDE list of the same direction. */
static void sc_validate_overlap(struct sc_parser *p, enum sc_key_id inc_id, enum sc_key_id exc_id)
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
		snprintf(path, sizeof(path), "%s[%zu]", sc_keys[exc_id].path, exc->v[i].index);
		sc_diag(p, exc->v[i].mark, path,
			"port %u is also in %s[%zu] (line %zu); remove it from one of the lists",
			exc->v[i].port, sc_keys[inc_id].path, inc->v[j].index,
			inc->v[j].mark.line + 1);
	}
}

/* The key of a ref for duplicate checks: whatever follows its index. */
typedef int (*sc_ref_cmp)(const void *a, const void *b);

/* By key, then by index: the first of equal ones is the one written first. */
static int sc_cmp_ref(const void *a, const void *b, void *arg)
{
	const size_t *x = a, *y = b; /* every ref starts with its item's index */
	int c = (*(const sc_ref_cmp *)arg)(a, b);

	return c ? c : (*x > *y) - (*x < *y);
}

/*
 * The duplicate check of the validation pass, for lists that may run to thousands of items:
 * sort the N refs V (SIZE bytes each, each starting with its item's index) by CMP, then call
 * REPORT for each ref whose key equals an earlier one's, with the first of them. So each
 * duplicate is reported once, at the later item, naming the first.
 */
static void sc_report_duplicates(struct sc_parser *p, void *v, size_t n, size_t size,
				 sc_ref_cmp cmp,
				 void (*report)(struct sc_parser *p, const void *dup,
						const void *first, const void *arg),
				 const void *arg)
{
	char *refs = v;
	size_t j, first;

	qsort_r(refs, n, size, sc_cmp_ref, &cmp);
	for (j = 1, first = 0; j < n; j++) {
		if (cmp(refs + first * size, refs + j * size)) {
			first = j;
			continue;
		}
		report(p, refs + j * size, refs + first * size, arg);
	}
}

static int sc_cmp_addr(const void *a, const void *b)
{
	const struct sc_addr_ref *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (x->port > y->port) - (x->port < y->port);
}

struct sc_name_ref {
	size_t i;
	const char *name;
};

static int sc_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct sc_name_ref *)a)->name, ((const struct sc_name_ref *)b)->name);
}

/* "10.0.0.1:80" or "[fd00::1]:80". */
static const char *sc_addr_port(const struct sc_addr_ref *r, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(r->family, r->addr, a, sizeof(a));
	if (r->family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, r->port);
	else
		snprintf(buf, size, "%s:%u", a, r->port);
	return buf;
}

static const char *sc_family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* An endpoint of service *SVC given twice. */
static void sc_report_endpoint(struct sc_parser *p, const void *dup, const void *first,
			       const void *svc)
{
	const struct sc_addr_ref *d = dup, *f = first;
	const struct sc_svc_marks *m = &p->svcs[*(const size_t *)svc];
	struct sc_loc loc = {*(const size_t *)svc, d->i, "address"};
	char ap[64];

	sc_loc_diag(p, m->eps[d->i].address, &loc,
		    "%s is also endpoints[%zu] (line %zu); remove one",
		    sc_addr_port(d, ap, sizeof(ap)), f->i, m->eps[f->i].address.line + 1);
}

/* Endpoint J of service I is of another family than the service's vip. */
static void sc_report_family(struct sc_parser *p, size_t i, size_t j)
{
	const struct sc_service_cfg *svc = &p->cfg->services[i];
	const struct sc_endpoint_cfg *ep = &svc->endpoints[j];
	struct sc_loc loc = {i, j, "address"};
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	inet_ntop(ep->family, ep->addr, a, sizeof(a));
	inet_ntop(svc->family, svc->vip, b, sizeof(b));
	sc_loc_diag(p, p->svcs[i].eps[j].address, &loc,
		    "%s is %s but services[%zu].vip %s is %s; give a service endpoints of its "
		    "vip's family",
		    a, sc_family_name(ep->family), i, b, sc_family_name(svc->family));
}

void sc_validate_endpoints(struct sc_parser *p, size_t i, struct sc_addr_ref *refs)
{
	const struct sc_service_cfg *svc = &p->cfg->services[i];
	const struct sc_svc_marks *m = &p->svcs[i];
	struct sc_loc loc = {i, SIZE_MAX, "endpoints"};
	const struct sc_endpoint_cfg *ep;
	const struct sc_ep_marks *em;
	bool weights_ok = true;
	uint64_t weight = 0;
	size_t j, n = 0;

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
			sc_report_family(p, i, j);
			continue;
		}
		if (!em->port_ok)
			continue;
		refs[n].i = j;
		refs[n].family = ep->family;
		memcpy(refs[n].addr, ep->addr, sizeof(refs[n].addr));
		refs[n].port = ep->port;
		n++;
	}
	if (weights_ok && !weight)
		sc_loc_diag(p, m->endpoints, &loc,
			    "every endpoint has weight 0; give at least one a weight above 0");
	sc_report_duplicates(p, refs, n, sizeof(*refs), sc_cmp_addr, sc_report_endpoint, &i);
}

static void sc_report_name(struct sc_parser *p, const void *dup, const void *first, const void *arg)
{
	const struct sc_name_ref *d = dup, *f = first;
	struct sc_loc loc = {d->i, SIZE_MAX, "name"};

	sc_loc_diag(p, p->svcs[d->i].name, &loc,
		    "\"%s\" is also the name of services[%zu] (line %zu); give each service its "
		    "own name",
		    d->name, f->i, p->svcs[f->i].name.line + 1);
}

static void sc_report_vip(struct sc_parser *p, const void *dup, const void *first, const void *arg)
{
	const struct sc_addr_ref *d = dup, *f = first;
	struct sc_loc loc = {d->i, SIZE_MAX, "vip"};
	char ap[64];

	sc_loc_diag(p, p->svcs[d->i].vip, &loc,
		    "%s is also the vip and port of services[%zu] (line %zu); give each service a "
		    "vip and port of its own",
		    sc_addr_port(d, ap, sizeof(ap)), f->i, p->svcs[f->i].vip.line + 1);
}

/* How many services and endpoints together a policy holds. */
static void sc_validate_service_limits(struct sc_parser *p, size_t *most)
{
	const struct sc_config *cfg = p->cfg;
	const struct sc_seen *seen = &p->seen[K_SERVICES];
	size_t i, total = 0;

	*most = 0;
	if (cfg->n_services > SC_SLOT_SERVICES)
		sc_diag(p, seen->mark, "services", "%zu services; a policy holds at most %u",
			cfg->n_services, SC_SLOT_SERVICES);
	for (i = 0; i < cfg->n_services; i++) {
		total += cfg->services[i].n_endpoints;
		if (cfg->services[i].n_endpoints > *most)
			*most = cfg->services[i].n_endpoints;
	}
	if (total > SC_SLOT_ENDPOINTS)
		sc_diag(p, seen->mark, "services",
			"%zu endpoints in the services together; a policy holds at most %u", total,
			SC_SLOT_ENDPOINTS);
}

/*
 * Checks between services, and between the endpoints of each. Duplicates are found by sorting,
 * since a file may hold thousands of services; each is reported at the later item, naming the
 * first.
 */
static void sc_validate_services(struct sc_parser *p)
{
	const struct sc_config *cfg = p->cfg;
	struct sc_addr_ref *vips = NULL, *eps = NULL;
	size_t i, most, n_names = 0, n_vips = 0;
	struct sc_name_ref *names = NULL;
	const struct sc_service_cfg *svc;

	if (!p->n_svcs)
		return;
	sc_validate_service_limits(p, &most);
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
			names[n_names].i = i;
			names[n_names].name = svc->name;
			n_names++;
		}
		if (p->svcs[i].vip_ok && p->svcs[i].port_ok) {
			vips[n_vips].i = i;
			vips[n_vips].family = svc->family;
			memcpy(vips[n_vips].addr, svc->vip, sizeof(vips[n_vips].addr));
			vips[n_vips].port = svc->port;
			n_vips++;
		}
	}
	sc_report_duplicates(p, names, n_names, sizeof(*names), sc_cmp_name, sc_report_name, NULL);
	sc_report_duplicates(p, vips, n_vips, sizeof(*vips), sc_cmp_addr, sc_report_vip, NULL);

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
 * Each list is capped on its own while parsing; the slot holds all of them together. An admin
 * port also in inbound.excludePorts shares its entry, but the compiler sizes its buffer without
 * looking, so it counts here too.
 */
static void sc_validate_set_limits(struct sc_parser *p)
{
	const struct sc_config *cfg = p->cfg;
	size_t n;

	n = sc_port_entries(&cfg->outbound.include_ports) +
	    sc_port_entries(&cfg->outbound.exclude_ports) +
	    sc_port_entries(&cfg->inbound.include_ports) +
	    sc_port_entries(&cfg->inbound.exclude_ports) + cfg->proxy.admin_ports.n +
	    cfg->accel_ports.always.n + cfg->accel_ports.never.n;
	if (n > SC_SLOT_PORTS)
		sc_diag(p, p->seen[K_ROOT].mark, "",
			"%zu ports in the port lists together; a policy holds at most %u", n,
			SC_SLOT_PORTS);
	n = cfg->outbound.include_ranges.n + cfg->outbound.exclude_ranges.n + cfg->dns.servers.n;
	if (n > SC_SLOT_CIDRS)
		sc_diag(p, p->seen[K_ROOT].mark, "",
			"%zu CIDRs in the range lists and dns.servers together; a policy holds at "
			"most %u",
			n, SC_SLOT_CIDRS);
}

/* The DNS listener is another port than the proxy's TCP listeners, and never 53 itself. */
static void sc_validate_dns(struct sc_parser *p)
{
	const struct sc_config *cfg = p->cfg;
	const struct sc_seen *seen = &p->seen[K_DNS_PORT];
	uint16_t port = cfg->dns.port;

	if (seen->bad || !seen->present)
		return;
	if (port == 53)
		sc_diag(p, seen->mark, "dns.port",
			"53 is the port queries are captured from; give the proxy's DNS listener "
			"another port (default 15053)");
	else if (port == cfg->proxy.outbound_port || port == cfg->proxy.inbound_port)
		sc_diag(p, seen->mark, "dns.port",
			"%u is also proxy.%sPort; give the DNS listener its own port (default "
			"15053)",
			port, port == cfg->proxy.outbound_port ? "outbound" : "inbound");
}

void sc_config_validate(struct sc_parser *p)
{
	struct sc_config *cfg = p->cfg;
	struct sc_seen *out = &p->seen[K_OUTBOUND_PORT], *in = &p->seen[K_INBOUND_PORT];

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
		sc_validate_overlap(p, K_OUT_INCLUDE_PORTS, K_OUT_EXCLUDE_PORTS);
	if (!cfg->inbound.include_ports.all)
		sc_validate_overlap(p, K_IN_INCLUDE_PORTS, K_IN_EXCLUDE_PORTS);
	sc_validate_overlap(p, K_ACCEL_ALWAYS, K_ACCEL_NEVER);
	sc_validate_set_limits(p);
	sc_validate_dns(p);
	/* A service may share a port with the proxy: only its vip and port are matched. */
	sc_validate_services(p);
	sc_validate_iptables(p);
}
