// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.h"
#include "kernel_features.h"
#include "pod.h"
#include "prom.h"
#include "report.h"

#define SC_COUNTER_NAME(n) #n,
static const char *const sc_counter_names[] = {SC_COUNTERS(SC_COUNTER_NAME)};
static const char *const sc_node_counter_names[] = {SC_NODE_COUNTERS(SC_COUNTER_NAME)};
#undef SC_COUNTER_NAME

/*
 * How each counter is exposed: its metric family and labels. Families group counters that are
 * alternatives of one decision, so rate(sum) of a family is meaningful.
 */
struct sc_counter_metric {
	const char *counter;
	const char *family;
	const char *l1, *v1, *l2, *v2;
};

static const struct sc_counter_metric sc_counter_metrics[] = {
	{"connect_redirect", "sidecap_outbound_connections_total", "action", "redirect", "reason",
	 "policy"},
	{"lb_redirect", "sidecap_outbound_connections_total", "action", "redirect", "reason",
	 "service"},
	{"lb_bypass", "sidecap_outbound_connections_total", "action", "bypass", "reason",
	 "service"},
	{"lb_proxy_direct", "sidecap_outbound_connections_total", "action", "bypass", "reason",
	 "proxy_own_service_connect"},
	{"connect_fail_open", "sidecap_outbound_connections_total", "action", "direct", "reason",
	 "proxy_not_listening"},
	{"connect_fail_closed", "sidecap_outbound_connections_total", "action", "refused", "reason",
	 "proxy_not_listening"},
	{"connect_skip_not_tcp", "sidecap_outbound_connections_total", "action", "direct", "reason",
	 "not_tcp"},
	{"connect_skip_proxy_uid", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "proxy_uid"},
	{"connect_skip_proxy_gid", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "proxy_gid"},
	{"connect_skip_loopback", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "loopback"},
	{"connect_skip_proxy_port", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "proxy_port"},
	{"connect_skip_excluded_port", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "excluded_port"},
	{"connect_skip_port_not_included", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "port_not_included"},
	{"connect_skip_excluded_cidr", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "excluded_cidr"},
	{"connect_skip_cidr_not_included", "sidecap_outbound_connections_total", "action", "direct",
	 "reason", "cidr_not_included"},
	{"inbound_redirect", "sidecap_inbound_connections_total", "action", "redirect", "reason",
	 "policy"},
	{"inbound_fail_open", "sidecap_inbound_connections_total", "action", "direct", "reason",
	 "proxy_not_listening"},
	{"inbound_fail_closed", "sidecap_inbound_connections_total", "action", "refused", "reason",
	 "proxy_not_listening"},
	{"inbound_skip_local", "sidecap_inbound_connections_total", "action", "direct", "reason",
	 "loopback"},
	{"inbound_skip_proxy_port", "sidecap_inbound_connections_total", "action", "direct",
	 "reason", "proxy_port"},
	{"inbound_skip_excluded_port", "sidecap_inbound_connections_total", "action", "direct",
	 "reason", "excluded_port"},
	{"inbound_skip_port_not_included", "sidecap_inbound_connections_total", "action", "direct",
	 "reason", "port_not_included"},
	{"msg_redirect", "sidecap_skmsg_messages_total", "path", "socket", NULL, NULL},
	{"msg_pass", "sidecap_skmsg_messages_total", "path", "tcp", NULL, NULL},
	{"msg_redirect_bytes", "sidecap_skmsg_bytes_total", "path", "socket", NULL, NULL},
	{"msg_pass_bytes", "sidecap_skmsg_bytes_total", "path", "tcp", NULL, NULL},
	{"msg_demote_unanswered", "sidecap_skmsg_demotions_total", "reason", "unanswered", NULL,
	 NULL},
	{"msg_demote_peer_missing", "sidecap_skmsg_demotions_total", "reason", "peer_missing", NULL,
	 NULL},
	{"msg_pass_no_flow", "sidecap_skmsg_demotions_total", "reason", "no_flow_state", NULL,
	 NULL},
	{"msg_demote_peer_left", "sidecap_skmsg_demotions_total", "reason", "peer_left", NULL,
	 NULL},
	{"msg_leave_marked", "sidecap_sockhash_leaves_total", "stage", "marked", NULL, NULL},
	{"sockops_sockhash_left", "sidecap_sockhash_leaves_total", "stage", "left", NULL, NULL},
	{"sockopt_original_dst", "sidecap_original_dst_queries_total", "answer", "answered", NULL,
	 NULL},
	{"sockopt_original_dst_unknown", "sidecap_original_dst_queries_total", "answer",
	 "not_redirected", NULL, NULL},
	{"getpeername_rewrite", "sidecap_getpeername_rewrites_total", NULL, NULL, NULL, NULL},
	{"sockops_handover_stored", "sidecap_sockops_events_total", "event", "handover_stored",
	 NULL, NULL},
	{"sockops_handover_claimed", "sidecap_sockops_events_total", "event", "handover_claimed",
	 NULL, NULL},
	{"sockops_sockhash_insert", "sidecap_sockops_events_total", "event", "sockhash_insert",
	 NULL, NULL},
	{"sockops_listener_registered", "sidecap_sockops_events_total", "event",
	 "listener_registered", NULL, NULL},
	{"listener_scan_registered", "sidecap_listener_scan_total", "result", "registered", NULL,
	 NULL},
};

/* The node's counters (shared by the pods of the node: the sidecar<->sidecar hops). */
static const struct sc_counter_metric sc_node_counter_metrics[] = {
	{"xpod_msg_redirect", "sidecap_node_skmsg_messages_total", "path", "socket", NULL, NULL},
	{"xpod_msg_pass", "sidecap_node_skmsg_messages_total", "path", "tcp", NULL, NULL},
	{"xpod_msg_redirect_bytes", "sidecap_node_skmsg_bytes_total", "path", "socket", NULL, NULL},
	{"xpod_msg_pass_bytes", "sidecap_node_skmsg_bytes_total", "path", "tcp", NULL, NULL},
	{"xpod_msg_demote_unpaired", "sidecap_node_skmsg_demotions_total", "reason", "unpaired",
	 NULL, NULL},
	{"xpod_msg_demote_unanswered", "sidecap_node_skmsg_demotions_total", "reason", "unanswered",
	 NULL, NULL},
	{"xpod_msg_demote_peer_missing", "sidecap_node_skmsg_demotions_total", "reason",
	 "peer_missing", NULL, NULL},
	{"xpod_msg_demote_peer_left", "sidecap_node_skmsg_demotions_total", "reason", "peer_left",
	 NULL, NULL},
	{"xpod_msg_leave_marked", "sidecap_node_sockhash_leaves_total", "stage", "marked", NULL,
	 NULL},
	{"xpod_sockhash_left", "sidecap_node_sockhash_leaves_total", "stage", "left", NULL, NULL},
	{"xpod_pair_created", "sidecap_node_pairs_total", "event", "offered", NULL, NULL},
	{"xpod_pair_ready", "sidecap_node_pairs_total", "event", "paired", NULL, NULL},
	{"xpod_pair_collided", "sidecap_node_pairs_total", "event", "collided", NULL, NULL},
};

static const struct {
	const char *name, *help;
} sc_families[] = {
	{"sidecap_outbound_connections_total",
	 "Outbound connect() decisions of the pod's processes, by action and reason."},
	{"sidecap_inbound_connections_total",
	 "Inbound connection steering decisions (sk_lookup), by action and reason."},
	{"sidecap_skmsg_messages_total",
	 "Messages sent by accelerated sockets, by path: socket to socket, or TCP."},
	{"sidecap_skmsg_bytes_total", "Bytes sent by accelerated sockets, by path."},
	{"sidecap_skmsg_demotions_total",
	 "Connection directions moved from sk_msg to TCP for good, by reason."},
	{"sidecap_sockhash_leaves_total",
	 "Demoted sockets never sent to through sk_msg, marked to leave the sockhash and taken "
	 "out of it (they then send on the plain TCP path), by stage."},
	{"sidecap_original_dst_queries_total", "SO_ORIGINAL_DST queries, by answer."},
	{"sidecap_getpeername_rewrites_total",
	 "getpeername() answers rewritten to the destination the app asked for."},
	{"sidecap_sockops_events_total", "Socket life-cycle events handled, by event."},
	{"sidecap_listener_scan_total",
	 "The proxy's sockets found already listening on the inbound port at attach, adoption "
	 "or a policy change, and registered for inbound steering."},
	{"sidecap_node_skmsg_messages_total",
	 "Messages sent between sidecars of two pods of the node, by path (node-wide)."},
	{"sidecap_node_skmsg_bytes_total",
	 "Bytes sent between sidecars of two pods of the node, by path (node-wide)."},
	{"sidecap_node_skmsg_demotions_total",
	 "Pod-to-pod connection directions moved to TCP for good, by reason (node-wide)."},
	{"sidecap_node_sockhash_leaves_total",
	 "Demoted pod-to-pod sockets never sent to through sk_msg, marked to leave the node "
	 "sockhash and taken out of it, by stage (node-wide)."},
	{"sidecap_node_pairs_total",
	 "Pod-to-pod connections offered for pairing by their active end, paired, and left "
	 "unpaired because two connections made the same key (node-wide)."},
};

static int sc_open_map(const char *pin_path, const char *name)
{
	char path[PATH_MAX];

	if (sc_pin_map_path(path, sizeof(path), pin_path, name))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

/* Per-counter sums over CPUs of the N counters in the pinned per-CPU array NAME. */
static int sc_read_counters_of(const char *pin_path, const char *name, size_t n, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, cpu;
	__u64 *vals;
	size_t i;

	memset(out, 0, n * sizeof(*out));
	if (ncpu < 1)
		return -EINVAL;
	fd = sc_open_map(pin_path, name);
	if (fd < 0)
		return -errno;
	vals = calloc(ncpu, sizeof(*vals));
	for (i = 0; vals && i < n; i++) {
		__u32 key = i;

		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			out[i] += vals[cpu];
	}
	free(vals);
	close(fd);
	return vals ? 0 : -ENOMEM;
}

static int sc_read_counters(const char *pin_path, __u64 *out)
{
	return sc_read_counters_of(pin_path, SC_MAP_STATS, SC_C__MAX, out);
}

/* The node's counters; all zero when the node objects are not there. */
static void sc_read_node_counters(const char *pin_path, __u64 *out)
{
	char node[PATH_MAX];

	memset(out, 0, SC_X__MAX * sizeof(*out));
	if (!sc_node_path(node, sizeof(node), pin_path))
		sc_read_counters_of(node, SC_MAP_XSTATS, SC_X__MAX, out);
}

static long sc_count_entries(const char *pin_path, const char *name)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	char key[64], next[64];
	void *prev = NULL;
	long n = 0;
	int fd = sc_open_map(pin_path, name);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size > sizeof(key)) {
		close(fd);
		return -EINVAL;
	}
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info.key_size);
		prev = key;
		n++;
	}
	close(fd);
	return n;
}

static const struct {
	const char *map;
	long cap;
	bool node; /* pinned with the node's objects */
} sc_occupancy[] = {
	{SC_MAP_SOCKHASH, SC_MAX_SOCKETS},    {SC_MAP_FLOWS, SC_MAX_FLOWS},
	{SC_MAP_HANDOVER, SC_MAX_HANDOVER},   {SC_MAP_LISTENERS, SC_MAX_LISTENERS},
	{SC_MAP_SERVICES, SC_MAX_SERVICES},   {SC_MAP_LBTABLE, SC_MAX_LBCHUNKS},
	{SC_MAP_ENDPOINTS, SC_MAX_ENDPOINTS}, {SC_MAP_PICKS, SC_MAX_PICKS},
	{SC_MAP_PORTS, SC_MAX_PORTS},	      {SC_MAP_CIDRS, SC_MAX_CIDRS},
	{SC_MAP_XSOCKS, SC_MAX_XSOCKS, true}, {SC_MAP_XPAIRS, SC_MAX_XPAIRS, true},
};

/* Entries of sc_occupancy[I], or -errno. */
static long sc_occupancy_entries(const char *pin_path, size_t i)
{
	char node[PATH_MAX];

	if (!sc_occupancy[i].node)
		return sc_count_entries(pin_path, sc_occupancy[i].map);
	if (sc_node_path(node, sizeof(node), pin_path))
		return -ENAMETOOLONG;
	return sc_count_entries(node, sc_occupancy[i].map);
}

static const char *sc_svc_name(const struct sc_report_src *src, __u32 id, char *buf, size_t len)
{
	size_t i;

	for (i = 0; src->cfg && src->ids && i < src->cfg->n_services; i++)
		if (sc_svc_id_find(src->ids, src->cfg->services[i].name) == id)
			return src->cfg->services[i].name;
	snprintf(buf, len, "id-%u", id);
	return buf;
}

static void sc_format_ep(const struct sc_pick_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(k->family, k->addr, a, sizeof(a));
	snprintf(buf, len, k->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, k->port);
}

typedef void (*sc_pick_fn)(void *arg, const char *svc, const char *ep, __u64 n);

static void sc_each_pick(const struct sc_report_src *src, sc_pick_fn fn, void *arg)
{
	int ncpu = libbpf_num_possible_cpus(), fd = sc_open_map(src->pin_path, SC_MAP_PICKS);
	struct sc_pick_key k, next;
	char name[32], ep[64];
	void *prev = NULL;
	__u64 *vals;

	if (fd < 0 || ncpu < 1)
		goto out;
	vals = calloc(ncpu, sizeof(*vals));
	while (vals && !bpf_map_get_next_key(fd, prev, &next)) {
		__u64 sum = 0;
		int cpu;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			sum += vals[cpu];
		sc_format_ep(&k, ep, sizeof(ep));
		fn(arg, sc_svc_name(src, k.svc, name, sizeof(name)), ep, sum);
	}
	free(vals);
out:
	if (fd >= 0)
		close(fd);
}

static bool sc_read_state(const char *pin_path, struct sc_state *st)
{
	__u32 zero = 0;
	int fd = sc_open_map(pin_path, SC_MAP_STATE);
	bool ok;

	if (fd < 0)
		return false;
	ok = !bpf_map_lookup_elem(fd, &zero, st);
	close(fd);
	return ok;
}

static void sc_prom_pick(void *arg, const char *svc, const char *ep, __u64 n)
{
	struct sc_prom_label l[] = {{"service", svc}, {"endpoint", ep}};

	sc_prom_u64(arg, "sidecap_lb_picks_total", l, 2, n);
}

/* The samples of FAMILY among the N metrics M, whose counters are NAMES/VALUES. */
static void sc_prom_counters(struct sc_prom *p, const char *family,
			     const struct sc_counter_metric *m, size_t n, const char *const *names,
			     size_t ncounters, const __u64 *values)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct sc_prom_label l[2] = {{m[i].l1, m[i].v1}, {m[i].l2, m[i].v2}};

		if (strcmp(m[i].family, family))
			continue;
		for (j = 0; j < ncounters; j++)
			if (!strcmp(names[j], m[i].counter))
				sc_prom_u64(p, family, l, m[i].l2 ? 2 : m[i].l1 ? 1 : 0, values[j]);
	}
}

/* The errors__* counters among NAMES as samples of sidecap_errors_total. */
static void sc_prom_errors(struct sc_prom *p, const char *const *names, size_t n,
			   const __u64 *values)
{
	size_t j;

	for (j = 0; j < n; j++) {
		struct sc_prom_label l = {"reason", names[j] + 8};

		if (!strncmp(names[j], "errors__", 8))
			sc_prom_u64(p, "sidecap_errors_total", &l, 1, values[j]);
	}
}

int sc_report_metrics(const struct sc_report_src *src, char **body, size_t *len)
{
	struct sc_prom p = SC_PROM_INIT;
	__u64 counters[SC_C__MAX], node[SC_X__MAX];
	struct sc_state st = {0};
	size_t f, i;
	int err;

	err = sc_read_counters(src->pin_path, counters);
	if (err)
		return err;
	sc_read_node_counters(src->pin_path, node);
	for (f = 0; f < sizeof(sc_families) / sizeof(sc_families[0]); f++) {
		sc_prom_family(&p, sc_families[f].name, SC_PROM_COUNTER, sc_families[f].help);
		sc_prom_counters(&p, sc_families[f].name, sc_counter_metrics,
				 sizeof(sc_counter_metrics) / sizeof(sc_counter_metrics[0]),
				 sc_counter_names, SC_C__MAX, counters);
		sc_prom_counters(&p, sc_families[f].name, sc_node_counter_metrics,
				 sizeof(sc_node_counter_metrics) /
					 sizeof(sc_node_counter_metrics[0]),
				 sc_node_counter_names, SC_X__MAX, node);
	}
	sc_prom_family(&p, "sidecap_errors_total", SC_PROM_COUNTER,
		       "Paths that failed open (or closed) because something went wrong, by "
		       "reason.");
	sc_prom_errors(&p, sc_counter_names, SC_C__MAX, counters);
	sc_prom_errors(&p, sc_node_counter_names, SC_X__MAX, node);

	sc_prom_family(&p, "sidecap_lb_picks_total", SC_PROM_COUNTER,
		       "Endpoints picked at connect() for service VIPs, by service and endpoint.");
	sc_each_pick(src, sc_prom_pick, &p);

	sc_prom_family(&p, "sidecap_policy_generation", SC_PROM_GAUGE,
		       "Generation of the live policy (1 for the first, +1 per applied change).");
	if (sc_read_state(src->pin_path, &st))
		sc_prom_u64(&p, "sidecap_policy_generation", NULL, 0, st.generation);
	if (src->reloads) {
		struct sc_prom_label ok = {"result", "success"}, bad = {"result", "failure"};

		sc_prom_family(&p, "sidecap_policy_reloads_total", SC_PROM_COUNTER,
			       "Policy reloads since the daemon started, by result.");
		sc_prom_u64(&p, "sidecap_policy_reloads_total", &ok, 1, src->reloads->ok);
		sc_prom_u64(&p, "sidecap_policy_reloads_total", &bad, 1, src->reloads->failed);
		sc_prom_family(&p, "sidecap_policy_last_reload_timestamp_seconds", SC_PROM_GAUGE,
			       "Unix time of the last policy reload, by result (0: never).");
		sc_prom_double(&p, "sidecap_policy_last_reload_timestamp_seconds", &ok, 1,
			       src->reloads->last_ok);
		sc_prom_double(&p, "sidecap_policy_last_reload_timestamp_seconds", &bad, 1,
			       src->reloads->last_failed);
	}

	sc_prom_family(&p, "sidecap_map_entries", SC_PROM_GAUGE,
		       "Entries in each BPF map (both policy slots for policy maps).");
	for (i = 0; i < sizeof(sc_occupancy) / sizeof(sc_occupancy[0]); i++) {
		struct sc_prom_label l = {"map", sc_occupancy[i].map};
		long n = sc_occupancy_entries(src->pin_path, i);

		if (n >= 0)
			sc_prom_u64(&p, "sidecap_map_entries", &l, 1, n);
	}
	sc_prom_family(&p, "sidecap_map_capacity_entries", SC_PROM_GAUGE,
		       "Capacity of each BPF map, in entries.");
	for (i = 0; i < sizeof(sc_occupancy) / sizeof(sc_occupancy[0]); i++) {
		struct sc_prom_label l = {"map", sc_occupancy[i].map};

		sc_prom_u64(&p, "sidecap_map_capacity_entries", &l, 1, sc_occupancy[i].cap);
	}
	return sc_prom_take(&p, body, len);
}

struct sc_json_picks {
	FILE *out;
	bool json;
	int n;
};

static void sc_status_pick(void *arg, const char *svc, const char *ep, __u64 n)
{
	struct sc_json_picks *jp = arg;

	if (jp->json)
		fprintf(jp->out,
			"%s\n    {\"service\": \"%s\", \"endpoint\": \"%s\", \"picks\": %llu}",
			jp->n ? "," : "", svc, ep, (unsigned long long)n);
	else
		fprintf(jp->out, "pick     %-24s %-24s %llu\n", svc, ep, (unsigned long long)n);
	jp->n++;
}

int sc_report_status(const struct sc_report_src *src, bool json, FILE *out)
{
	__u64 counters[SC_C__MAX], node[SC_X__MAX];
	struct sc_json_picks jp = {.out = out, .json = json};
	struct sc_state st = {0};
	char prog[BPF_OBJ_NAME_LEN];
	struct sc_features feat;
	int nfeat = 0;
	bool have_state;
	size_t i;
	int err;

	have_state = sc_read_state(src->pin_path, &st);
	err = sc_read_counters(src->pin_path, counters);
	sc_read_node_counters(src->pin_path, node);
	if (!have_state || err)
		return err ? err : -ENOENT;
	if (json) {
		fprintf(out, "{\n  \"cgroup\": \"%s\",\n  \"pin_path\": \"%s\",\n",
			src->cfg ? src->cfg->cgroup : "", src->pin_path);
		fprintf(out, "  \"policy\": {\"generation\": %u, \"slot\": %u},\n  \"links\": {",
			st.generation, st.active_slot);
		for (i = 0; i < SC_LINK__MAX; i++) {
			int on = sc_pod_link_program(src->pin_path, i, prog, sizeof(prog));

			fprintf(out, "%s\"%s\": %s%s%s", i ? ", " : "", sc_link_names[i],
				on > 0 ? "\"" : "false", on > 0 ? prog : "", on > 0 ? "\"" : "");
		}
		sc_features_probe(&feat);
		fprintf(out, "},\n  \"kernel_features\": {");
#define SC_FEATURE_JSON(field, name, version, without) \
	fprintf(out, "%s\"%s\": %s", nfeat++ ? ", " : "", #field, feat.field ? "true" : "false");
		SC_FEATURES(SC_FEATURE_JSON)
#undef SC_FEATURE_JSON
		fprintf(out, "},\n  \"counters\": {");
		for (i = 0; i < SC_C__MAX; i++)
			fprintf(out, "%s\n    \"%s\": %llu", i ? "," : "", sc_counter_names[i],
				(unsigned long long)counters[i]);
		fprintf(out, "\n  },\n  \"node_counters\": {");
		for (i = 0; i < SC_X__MAX; i++)
			fprintf(out, "%s\n    \"%s\": %llu", i ? "," : "", sc_node_counter_names[i],
				(unsigned long long)node[i]);
		fprintf(out, "\n  },\n  \"maps\": {");
		for (i = 0; i < sizeof(sc_occupancy) / sizeof(sc_occupancy[0]); i++)
			fprintf(out, "%s\n    \"%s\": {\"entries\": %ld, \"capacity\": %ld}",
				i ? "," : "", sc_occupancy[i].map,
				sc_occupancy_entries(src->pin_path, i), sc_occupancy[i].cap);
		fprintf(out, "\n  },\n  \"picks\": [");
		sc_each_pick(src, sc_status_pick, &jp);
		fprintf(out, "%s]\n}\n", jp.n ? "\n  " : "");
		return 0;
	}
	fprintf(out, "pod      %s\npins     %s\n", src->cfg ? src->cfg->cgroup : "?",
		src->pin_path);
	fprintf(out, "policy   generation %u (slot %u)\n", st.generation, st.active_slot);
	for (i = 0; i < SC_LINK__MAX; i++) {
		int on = sc_pod_link_program(src->pin_path, i, prog, sizeof(prog));

		fprintf(out, "link     %-28s %s%s\n", sc_link_names[i], on > 0 ? "attached: " : "-",
			on > 0 ? prog : "");
	}
	sc_features_probe(&feat);
	fprintf(out, "kernel   what this kernel offers beyond Linux 5.10:\n");
	sc_features_print(&feat, out);
	for (i = 0; i < SC_C__MAX; i++)
		if (counters[i])
			fprintf(out, "counter  %-28s %llu\n", sc_counter_names[i],
				(unsigned long long)counters[i]);
	for (i = 0; i < SC_X__MAX; i++)
		if (node[i])
			fprintf(out, "node     %-28s %llu\n", sc_node_counter_names[i],
				(unsigned long long)node[i]);
	for (i = 0; i < sizeof(sc_occupancy) / sizeof(sc_occupancy[0]); i++)
		fprintf(out, "map      %-28s %ld / %ld\n", sc_occupancy[i].map,
			sc_occupancy_entries(src->pin_path, i), sc_occupancy[i].cap);
	sc_each_pick(src, sc_status_pick, &jp);
	return 0;
}
