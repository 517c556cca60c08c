// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Where Istio's capture settings come from: a pod's annotations (the sidecar injector's
 * traffic.sidecar.istio.io ones and proxy.istio.io/config, and the status of an injected pod)
 * and istio-iptables' command line. Both fill a struct sc_istio_capture, which istio.c turns into a
 * policy.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "istio.h"
#include "istio_int.h"

/* Why an Istio annotation is not honoured; NULL for the ones that are. */
struct istio_annotation {
	const char *name;
	const char *why;
};

static const char WHY_INTERFACE[] =
	"cannot be honoured: sidecap captures at connect() and at the socket lookup, where no "
	"network interface is known yet; connections of every interface are captured";
static const char WHY_ENVOY[] = "not honoured: it configures Istio's own sidecar proxy, which "
				"sidecap neither adds nor changes";

static const struct istio_annotation istio_annotations[] = {
	{"traffic.sidecar.istio.io/includeOutboundIPRanges", NULL},
	{"traffic.sidecar.istio.io/excludeOutboundIPRanges", NULL},
	{"traffic.sidecar.istio.io/includeInboundPorts", NULL},
	{"traffic.sidecar.istio.io/excludeInboundPorts", NULL},
	{"traffic.sidecar.istio.io/includeOutboundPorts", NULL},
	{"traffic.sidecar.istio.io/excludeOutboundPorts", NULL},
	{"traffic.sidecar.istio.io/excludeInterfaces", WHY_INTERFACE},
	{"traffic.sidecar.istio.io/kubevirtInterfaces", WHY_INTERFACE},
	{"istio.io/reroute-virtual-interfaces", WHY_INTERFACE},
	{"sidecar.istio.io/interceptionMode", NULL},
	{"status.sidecar.istio.io/port", NULL},
	/* inject reads these two itself: "false" and NONE leave the workload as it is. */
	{"sidecar.istio.io/inject", NULL},
	{"sidecar.istio.io/status", NULL},
	{"proxy.istio.io/config",
	 "read for proxyMetadata.ISTIO_META_DNS_CAPTURE only: a ProxyConfig's interceptionMode or "
	 "ports in it are not honoured; use sidecar.istio.io/interceptionMode and the "
	 "traffic.sidecar.istio.io annotations"},
	{"sidecar.istio.io/agentLogLevel", WHY_ENVOY},
	{"sidecar.istio.io/bootstrapOverride", WHY_ENVOY},
	{"sidecar.istio.io/componentLogLevel", WHY_ENVOY},
	{"sidecar.istio.io/controlPlaneAuthPolicy", WHY_ENVOY},
	{"sidecar.istio.io/discoveryAddress", WHY_ENVOY},
	{"sidecar.istio.io/enableCoreDump", WHY_ENVOY},
	{"sidecar.istio.io/extraStatTags", WHY_ENVOY},
	{"sidecar.istio.io/logLevel", WHY_ENVOY},
	{"sidecar.istio.io/nativeSidecar", WHY_ENVOY},
	{"sidecar.istio.io/proxyCPU", WHY_ENVOY},
	{"sidecar.istio.io/proxyCPULimit", WHY_ENVOY},
	{"sidecar.istio.io/proxyImage", WHY_ENVOY},
	{"sidecar.istio.io/proxyImageType", WHY_ENVOY},
	{"sidecar.istio.io/proxyMemory", WHY_ENVOY},
	{"sidecar.istio.io/proxyMemoryLimit", WHY_ENVOY},
	{"sidecar.istio.io/rewriteAppHTTPProbers", WHY_ENVOY},
	{"sidecar.istio.io/statsCompression", WHY_ENVOY},
	{"sidecar.istio.io/statsEvictionInterval", WHY_ENVOY},
	{"sidecar.istio.io/statsFlushInterval", WHY_ENVOY},
	{"sidecar.istio.io/statsHistogramBins", WHY_ENVOY},
	{"sidecar.istio.io/statsHistogramBuckets", WHY_ENVOY},
	{"sidecar.istio.io/statsInclusionPrefixes", WHY_ENVOY},
	{"sidecar.istio.io/statsInclusionRegexps", WHY_ENVOY},
	{"sidecar.istio.io/statsInclusionSuffixes", WHY_ENVOY},
	{"sidecar.istio.io/userVolume", WHY_ENVOY},
	{"sidecar.istio.io/userVolumeMount", WHY_ENVOY},
	{"sidecar.istio.io/capNetBindService", WHY_ENVOY},
	{"readiness.status.sidecar.istio.io/applicationPorts", WHY_ENVOY},
	{"readiness.status.sidecar.istio.io/failureThreshold", WHY_ENVOY},
	{"readiness.status.sidecar.istio.io/initialDelaySeconds", WHY_ENVOY},
	{"readiness.status.sidecar.istio.io/periodSeconds", WHY_ENVOY},
};

/* Whether KEY is in Istio's sidecar annotation domains (sidecar.istio.io and below it). */
static bool sidecar_domain(const char *key)
{
	const char *slash = strchr(key, '/');
	size_t len = slash ? (size_t)(slash - key) : 0, n = strlen("sidecar.istio.io");

	return len >= n && !strncmp(slash - n, "sidecar.istio.io", n) &&
	       (len == n || slash[-(long)n - 1] == '.');
}

/* Warn about KEY unless it is an annotation sidecap honours, or not one of Istio's sidecar's. */
static void check_annotation(const char *key, const char *who, FILE *msgs)
{
	size_t i;

	for (i = 0; i < sizeof(istio_annotations) / sizeof(istio_annotations[0]); i++) {
		if (strcmp(key, istio_annotations[i].name))
			continue;
		if (istio_annotations[i].why)
			sc_istio_warn(msgs, who, key, "%s", istio_annotations[i].why);
		return;
	}
	if (!sidecar_domain(key))
		return;
	for (i = 0; i < sizeof(istio_annotations) / sizeof(istio_annotations[0]); i++) {
		if (!strcasecmp(key, istio_annotations[i].name)) {
			sc_istio_warn(msgs, who, key, "not an Istio annotation; did you mean %s?",
				      istio_annotations[i].name);
			return;
		}
	}
	sc_istio_warn(msgs, who, key, "not an Istio annotation sidecap knows: not honoured");
}

/* The scalar value of KEY in the mapping NODE of DOC, or NULL. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *node, const char *key)
{
	yaml_node_pair_t *pr;
	yaml_node_t *k;

	if (!node || node->type != YAML_MAPPING_NODE)
		return NULL;
	for (pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(doc, pr->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return yaml_document_get_node(doc, pr->value);
	}
	return NULL;
}

/*
 * Whether CONFIG, the ProxyConfig of proxy.istio.io/config, sets ISTIO_META_DNS_CAPTURE to
 * "true" in its proxyMetadata (how Istio turns its DNS capture on for one pod): 1, 0, or
 * -EINVAL when it is not YAML.
 */
static int proxy_config_dns(const char *config)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *v;
	int on = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)config, strlen(config));
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	v = map_get(&doc, map_get(&doc, yaml_document_get_root_node(&doc), "proxyMetadata"),
		    "ISTIO_META_DNS_CAPTURE");
	if (v && v->type == YAML_SCALAR_NODE)
		on = !strcasecmp((char *)v->data.scalar.value, "true");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return on;
}

static const char *find(const struct sc_istio_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

int sc_istio_from_annotations(const struct sc_istio_kv *kv, size_t n, const char *uid,
			      struct sc_istio_capture *cap, const char *who, FILE *msgs)
{
	const char *status, *excl, *p, *item;
	size_t i, len, size;
	int port = 0;
	char *d;

	memset(cap, 0, sizeof(*cap));
	for (i = 0; i < n; i++)
		check_annotation(kv[i].key, who, msgs);

	cap->proxy_port = (struct sc_istio_opt){"15001", "istio-iptables -p"};
	cap->inbound_port = (struct sc_istio_opt){"15006", "istio-iptables -z"};
	cap->tunnel_port = (struct sc_istio_opt){NULL, "istio-iptables -e"};
	cap->uid = (struct sc_istio_opt){uid, "proxy uid"};
	cap->gid = (struct sc_istio_opt){uid, "proxy gid"};
#define ANN(field, key, def)                                              \
	do {                                                              \
		const char *v_ = find(kv, n, key);                        \
		cap->field = (struct sc_istio_opt){v_ ? v_ : (def), key}; \
	} while (0)
	ANN(mode, ANN_SIDECAR "interceptionMode", "REDIRECT");
	ANN(include_ranges, ANN_TRAFFIC "includeOutboundIPRanges", "*");
	ANN(exclude_ranges, ANN_TRAFFIC "excludeOutboundIPRanges", "");
	ANN(include_inbound, ANN_TRAFFIC "includeInboundPorts", "*");
	ANN(include_outbound, ANN_TRAFFIC "includeOutboundPorts", NULL);
	ANN(exclude_outbound, ANN_TRAFFIC "excludeOutboundPorts", NULL);
#undef ANN

	/* Istio's DNS capture asked for this pod in its ProxyConfig: every server, as istio-cni. */
	p = find(kv, n, "proxy.istio.io/config");
	if (p && proxy_config_dns(p) < 0)
		sc_istio_warn(msgs, who, "proxy.istio.io/config",
			      "not YAML: ISTIO_META_DNS_CAPTURE not read");
	else if (p && proxy_config_dns(p)) {
		cap->redirect_dns = true;
		cap->capture_all_dns = true;
		cap->dns_name = "proxy.istio.io/config proxyMetadata.ISTIO_META_DNS_CAPTURE";
	}

	/*
	 * The injector's -d: 15090 and 15021, then excludeInboundPorts with the status port
	 * (default 15020, none when 0) added unless it is there already.
	 */
	status = find(kv, n, "status.sidecar.istio.io/port");
	if (status) {
		p = status;
		len = sc_istio_next_item(&p, &item);
		if (len != 1 || *item != '0') {
			port = sc_istio_parse_port(item, len);
			if (port < 0 || sc_istio_next_item(&p, &item)) {
				fprintf(msgs,
					"%s: status.sidecar.istio.io/port: \"%s\" is not a port "
					"(use 1-65535, or 0 for none)\n",
					who, status);
				return -EINVAL;
			}
		}
	} else {
		port = ISTIO_STATUS_PORT;
	}
	excl = find(kv, n, ANN_TRAFFIC "excludeInboundPorts");
	size = (excl ? strlen(excl) : 0) + 32;
	d = cap->owned = malloc(size);
	if (!d)
		return -ENOMEM;
	snprintf(d, size, "%u,%u%s%s", ISTIO_ADMIN_PROM, ISTIO_ADMIN_HEALTH, excl ? "," : "",
		 excl ? excl : "");
	if (port)
		snprintf(d + strlen(d), size - strlen(d), ",%d", port);
	cap->exclude_inbound = (struct sc_istio_opt){d, ANN_TRAFFIC "excludeInboundPorts"};
	return 0;
}

/* istio-iptables' flags: those that set a capture setting, and those that decide nothing here. */
enum flag_kind {
	FLAG_VALUE,  /* sets the capture setting at OFFSET */
	FLAG_IGNORE, /* takes a value (or is a switch) that changes nothing sidecap does */
	FLAG_WARN,   /* takes a value (or is a switch) that sidecap cannot honour */
	FLAG_SWITCH, /* a switch that sets the bool at OFFSET (unless given =false) */
};

struct istio_flag {
	const char *display; /* how messages name it */
	char short_name;
	const char *long_name;
	enum flag_kind kind;
	bool has_value;
	size_t offset; /* of the struct sc_istio_opt (FLAG_SWITCH: bool) in the capture */
	const char *why;
};

#define VALUE(s, l, field)                                             \
	{                                                              \
		"istio-iptables -" s, s[0], l, FLAG_VALUE, true,       \
			offsetof(struct sc_istio_capture, field), NULL \
	}

static const char WHY_TPROXY[] = "used only with TPROXY, which sidecap does not do";
static const char WHY_NO_RULES[] = "no effect: sidecap installs no iptables rules";

static const struct istio_flag istio_flags[] = {
	VALUE("p", "envoy-port", proxy_port),
	VALUE("z", "inbound-capture-port", inbound_port),
	VALUE("e", "inbound-tunnel-port", tunnel_port),
	VALUE("u", "proxy-uid", uid),
	VALUE("g", "proxy-gid", gid),
	VALUE("m", "istio-inbound-interception-mode", mode),
	VALUE("b", "istio-inbound-ports", include_inbound),
	VALUE("d", "istio-local-exclude-ports", exclude_inbound),
	VALUE("i", "istio-service-cidr", include_ranges),
	VALUE("x", "istio-service-exclude-cidr", exclude_ranges),
	VALUE("q", "istio-outbound-ports", include_outbound),
	VALUE("o", "istio-local-outbound-ports-exclude", exclude_outbound),
	{"istio-iptables -c", 'c', "istio-exclude-interfaces", FLAG_WARN, true, 0, WHY_INTERFACE},
	{"istio-iptables -k", 'k', "kube-virt-interfaces", FLAG_WARN, true, 0, WHY_INTERFACE},
	{"istio-iptables -t", 't', "istio-inbound-tproxy-mark", FLAG_WARN, true, 0, WHY_TPROXY},
	{"istio-iptables -r", 'r', "istio-inbound-tproxy-route-table", FLAG_WARN, true, 0,
	 WHY_TPROXY},
	{"istio-iptables -n", 'n', "dry-run", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables -f", 'f', "restore-format", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables --iptables-trace-logging", 0, "iptables-trace-logging", FLAG_WARN, false,
	 0, WHY_NO_RULES},
	{"istio-iptables --iptables-probe-port", 0, "iptables-probe-port", FLAG_IGNORE, true, 0,
	 NULL},
	{"istio-iptables --probe-timeout", 0, "probe-timeout", FLAG_IGNORE, true, 0, NULL},
	{"istio-iptables --skip-rule-apply", 0, "skip-rule-apply", FLAG_WARN, false, 0,
	 "sidecap's interceptor always attaches its programs"},
	{"istio-iptables --run-validation", 0, "run-validation", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables --redirect-dns", 0, "redirect-dns", FLAG_SWITCH, false,
	 offsetof(struct sc_istio_capture, redirect_dns), NULL},
	{"istio-iptables --capture-all-dns", 0, "capture-all-dns", FLAG_SWITCH, false,
	 offsetof(struct sc_istio_capture, capture_all_dns), NULL},
	{"istio-iptables --drop-invalid", 0, "drop-invalid", FLAG_WARN, false, 0,
	 "not needed: sidecap keeps no conntrack state, so no out-of-window packet is "
	 "rewritten"},
	{"istio-iptables --dual-stack", 0, "dual-stack", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables --network-namespace", 0, "network-namespace", FLAG_WARN, true, 0,
	 "not needed: the interceptor runs in the pod's network namespace"},
	{"istio-iptables --cni-mode", 0, "cni-mode", FLAG_WARN, false, 0,
	 "sidecap runs in the pod, not from a CNI plugin (see docs/kubernetes.md)"},
	{"istio-iptables --reconcile", 0, "reconcile", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables --cleanup-only", 0, "cleanup-only", FLAG_WARN, false, 0,
	 "use interceptor cleanup"},
	{"istio-iptables --force-apply", 0, "force-apply", FLAG_IGNORE, false, 0, NULL},
	{"istio-iptables --native-nftables", 0, "native-nftables", FLAG_WARN, false, 0,
	 WHY_NO_RULES},
	{"istio-iptables --force-iptables-binary", 0, "force-iptables-binary", FLAG_WARN, true, 0,
	 WHY_NO_RULES},
	{"istio-iptables --log_output_level", 0, "log_output_level", FLAG_IGNORE, true, 0, NULL},
	{"istio-iptables --log_as_json", 0, "log_as_json", FLAG_IGNORE, false, 0, NULL},
};

#undef VALUE

static const struct istio_flag *lookup_flag(const char *arg, const char **value, bool *attached)
{
	const char *eq;
	size_t i, len;

	*value = NULL;
	*attached = false;
	if (arg[0] == '-' && arg[1] == '-') {
		arg += 2;
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < sizeof(istio_flags) / sizeof(istio_flags[0]); i++) {
			if (strlen(istio_flags[i].long_name) != len ||
			    strncmp(istio_flags[i].long_name, arg, len))
				continue;
			if (eq) {
				*value = eq + 1;
				*attached = true;
			}
			return &istio_flags[i];
		}
		return NULL;
	}
	if (arg[0] != '-' || !arg[1])
		return NULL;
	for (i = 0; i < sizeof(istio_flags) / sizeof(istio_flags[0]); i++) {
		if (istio_flags[i].short_name != arg[1])
			continue;
		if (arg[2]) {
			*value = arg[2] == '=' ? arg + 3 : arg + 2;
			*attached = true;
		}
		return &istio_flags[i];
	}
	return NULL;
}

int sc_istio_from_flags(int argc, char *const *argv, struct sc_istio_capture *cap, const char *who,
			FILE *msgs)
{
	const struct istio_flag *fl;
	struct sc_istio_opt *o;
	const char *value, *base;
	bool attached;
	int i = 0;

	memset(cap, 0, sizeof(*cap));
	for (i = 0; i < (int)(sizeof(istio_flags) / sizeof(istio_flags[0])); i++)
		if (istio_flags[i].kind == FLAG_VALUE)
			((struct sc_istio_opt *)((char *)cap + istio_flags[i].offset))->name =
				istio_flags[i].display;
	i = 0;
	if (argc > 0) {
		base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (!strcmp(base, "istio-iptables"))
			i = 1;
	}
	for (; i < argc; i++) {
		fl = lookup_flag(argv[i], &value, &attached);
		if (!fl) {
			fprintf(msgs, "%s: istio-iptables: unknown flag \"%s\"\n", who, argv[i]);
			return -EINVAL;
		}
		if (fl->has_value && !attached) {
			if (i + 1 >= argc) {
				fprintf(msgs, "%s: istio-iptables %s: needs a value\n", who,
					argv[i]);
				return -EINVAL;
			}
			value = argv[++i];
		}
		if (fl->kind == FLAG_VALUE) {
			o = (struct sc_istio_opt *)((char *)cap + fl->offset);
			o->value = value;
		} else if (fl->kind == FLAG_SWITCH) {
			*(bool *)((char *)cap + fl->offset) = !value || strcmp(value, "false");
			if (fl->offset == offsetof(struct sc_istio_capture, redirect_dns))
				cap->dns_name = fl->display;
		} else if (fl->kind == FLAG_WARN &&
			   (fl->has_value ? value && *value : !value || strcmp(value, "false"))) {
			sc_istio_warn(msgs, who, fl->display, "%s", fl->why);
		}
	}
	return 0;
}
