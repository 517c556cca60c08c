// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The services list: each item a mapping (name, vip, port, balance, sidecar, endpoints), each
 * endpoint a mapping (address, port, weight). A file may hold thousands of services, so paths
 * of values inside them are spelt out only when a message needs one (struct sc_loc). Checks
 * between services and between endpoints are in config_validate.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"

_Static_assert((int)SC_BALANCE_RANDOM == (int)SC_LB_RANDOM &&
		       (int)SC_BALANCE_ROUND_ROBIN == (int)SC_LB_ROUND_ROBIN &&
		       (int)SC_BALANCE_MAGLEV == (int)SC_LB_MAGLEV,
	       "enum sc_balance_cfg has the values of enum sc_balance");

static const struct sc_choices sc_balance_choices = {"a balancing method",
						     {{"random", SC_BALANCE_RANDOM},
						      {"round_robin", SC_BALANCE_ROUND_ROBIN},
						      {"maglev", SC_BALANCE_MAGLEV},
						      {NULL}}};
static const struct sc_choices sc_sidecar_choices = {
	"a sidecar mode", {{"redirect", false}, {"bypass", true}, {NULL}}};

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

static void sc_loc_accel(struct sc_parser *p, const struct sc_loc *loc, const yaml_node_t *node,
			 int *out)
{
	char msg[192];

	if (!sc_loc_scalar(p, loc, node, "adaptive, always or never"))
		return;
	if (!sc_match_accel(node, out, msg, sizeof(msg)))
		sc_loc_diag(p, node->start_mark, loc, "%s", msg);
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

enum {
	SVC_NAME,
	SVC_VIP,
	SVC_PORT,
	SVC_BALANCE,
	SVC_SIDECAR,
	SVC_ACCELERATION,
	SVC_ENDPOINTS,
	SVC__MAX
};
enum { EP_ADDRESS, EP_PORT, EP_WEIGHT, EP__MAX };
_Static_assert((int)EP__MAX <= (int)SVC__MAX,
	       "sc_parse_item has room for the keys of either table");

static const struct sc_item_key sc_service_keys[SVC__MAX] = {
	[SVC_NAME] = {"name", true, "name the service, e.g. name: reviews"},
	[SVC_VIP] = {"vip", true, "set the service's virtual IP address, e.g. vip: 10.96.0.20"},
	[SVC_PORT] = {"port", true, "set the service's port, e.g. port: 9080"},
	[SVC_BALANCE] = {"balance", false, "remove the key for the default random"},
	[SVC_SIDECAR] = {"sidecar", false, "remove the key for the default redirect"},
	[SVC_ACCELERATION] = {"acceleration", false,
			      "remove the key to follow accelerationPorts and acceleration"},
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

void sc_parse_service(struct sc_parser *p, size_t i, const yaml_node_t *node,
		      struct sc_service_cfg *svc, struct sc_svc_marks *m)
{
	const yaml_node_t *v[SVC__MAX] = {0};
	struct sc_loc loc = {i, SIZE_MAX, NULL};
	unsigned long long port;
	int value;

	svc->balance = SC_BALANCE_RANDOM;
	svc->acceleration = SC_ACCEL_INHERIT;
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
	if (v[SVC_ACCELERATION]) {
		loc.key = "acceleration";
		sc_loc_accel(p, &loc, v[SVC_ACCELERATION], &svc->acceleration);
	}
	if (v[SVC_ENDPOINTS]) {
		loc.key = "endpoints";
		sc_parse_endpoints(p, loc, v[SVC_ENDPOINTS], svc, m);
	}
}

/* The services, in file order. How many a policy holds is checked by the validation pass. */
void sc_parse_services(struct sc_parser *p, const struct sc_key *key, const yaml_node_t *node)
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
