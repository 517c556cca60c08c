// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "abi.h"
#include "kernel_features.h"
#include "links.h"
#include "pins.h"
#include "prom.h"
#include "report.h"

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

/* Entries of the map NAME pinned under PIN_PATH, and its capacity as created (--map-max may
 * differ from the built-in one) in *CAP, or -errno. */
static long sc_count_entries(const char *pin_path, const char *name, long *cap)
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
	*cap = info.max_entries;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info.key_size);
		prev = key;
		n++;
	}
	close(fd);
	return n;
}

/* Entries of sc_maps[I], or -errno; its capacity in *CAP (the built-in one when unknown). */
static long sc_map_entries(const char *pin_path, size_t i, long *cap)
{
	char node[PATH_MAX];

	*cap = sc_maps[i].capacity;
	if (!sc_maps[i].node)
		return sc_count_entries(pin_path, sc_maps[i].name, cap);
	if (sc_node_path(node, sizeof(node), pin_path))
		return -ENAMETOOLONG;
	return sc_count_entries(node, sc_maps[i].name, cap);
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

/* The samples of family F among the N counters INFO, whose values are VALUES. */
static void sc_prom_counters(struct sc_prom *p, enum sc_counter_family f,
			     const struct sc_counter_info *info, size_t n, const __u64 *values)
{
	const struct sc_family_info *fam = &sc_counter_families[f];
	size_t i, nl = fam->label[1] ? 2 : fam->label[0] ? 1 : 0;

	for (i = 0; i < n; i++) {
		struct sc_prom_label l[2] = {{fam->label[0], info[i].value[0]},
					     {fam->label[1], info[i].value[1]}};

		if (info[i].family == f)
			sc_prom_u64(p, fam->name, l, nl, values[i]);
	}
}

int sc_report_metrics(const struct sc_report_src *src, char **body, size_t *len)
{
	long caps[SC_MAPID__MAX];
	struct sc_prom p = SC_PROM_INIT;
	__u64 counters[SC_C__MAX], node[SC_X__MAX];
	struct sc_state st = {0};
	size_t f, i;
	int err;

	err = sc_read_counters(src->pin_path, counters);
	if (err)
		return err;
	sc_read_node_counters(src->pin_path, node);
	for (f = 0; f < SC_MF__MAX; f++) {
		sc_prom_family(&p, sc_counter_families[f].name, SC_PROM_COUNTER,
			       sc_counter_families[f].help);
		sc_prom_counters(&p, f, sc_counters, SC_C__MAX, counters);
		sc_prom_counters(&p, f, sc_node_counters, SC_X__MAX, node);
	}

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
	for (i = 0; i < SC_MAPID__MAX; i++) {
		struct sc_prom_label l = {"map", sc_maps[i].name};
		long n = sc_maps[i].counted ? sc_map_entries(src->pin_path, i, &caps[i]) : -1;

		if (n >= 0)
			sc_prom_u64(&p, "sidecap_map_entries", &l, 1, n);
	}
	sc_prom_family(&p, "sidecap_map_capacity_entries", SC_PROM_GAUGE,
		       "Capacity of each BPF map, in entries.");
	for (i = 0; i < SC_MAPID__MAX; i++) {
		struct sc_prom_label l = {"map", sc_maps[i].name};

		if (sc_maps[i].counted)
			sc_prom_u64(&p, "sidecap_map_capacity_entries", &l, 1, caps[i]);
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
	long entries, cap;
	__u64 counters[SC_C__MAX], node[SC_X__MAX];
	struct sc_json_picks jp = {.out = out, .json = json};
	struct sc_state st = {0};
	char prog[BPF_OBJ_NAME_LEN];
	struct sc_features feat;
	int nfeat = 0;
	bool have_state;
	size_t i, n;
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
			fprintf(out, "%s\n    \"%s\": %llu", i ? "," : "", sc_counters[i].name,
				(unsigned long long)counters[i]);
		fprintf(out, "\n  },\n  \"node_counters\": {");
		for (i = 0; i < SC_X__MAX; i++)
			fprintf(out, "%s\n    \"%s\": %llu", i ? "," : "", sc_node_counters[i].name,
				(unsigned long long)node[i]);
		fprintf(out, "\n  },\n  \"maps\": {");
		for (i = 0, n = 0; i < SC_MAPID__MAX; i++) {
			if (!sc_maps[i].counted)
				continue;
			entries = sc_map_entries(src->pin_path, i, &cap);
			fprintf(out, "%s\n    \"%s\": {\"entries\": %ld, \"capacity\": %ld}",
				n++ ? "," : "", sc_maps[i].name, entries, cap);
		}
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
			fprintf(out, "counter  %-28s %llu\n", sc_counters[i].name,
				(unsigned long long)counters[i]);
	for (i = 0; i < SC_X__MAX; i++)
		if (node[i])
			fprintf(out, "node     %-28s %llu\n", sc_node_counters[i].name,
				(unsigned long long)node[i]);
	for (i = 0; i < SC_MAPID__MAX; i++) {
		if (!sc_maps[i].counted)
			continue;
		entries = sc_map_entries(src->pin_path, i, &cap);
		/* At capacity: an insert fails (an LRU evicts its oldest entry instead). */
		fprintf(out, "map      %-28s %ld / %ld%s\n", sc_maps[i].name, entries, cap,
			entries >= cap ? " (full)" : "");
	}
	sc_each_pick(src, sc_status_pick, &jp);
	return 0;
}

int sc_report_ready(const char *pin_path, char *why, size_t len)
{
	struct sc_policy pol = {0};
	struct sc_state st = {0};
	char prog[BPF_OBJ_NAME_LEN];
	int fd, l, n = 0;

	if (!sc_read_state(pin_path, &st) || !st.generation) {
		snprintf(why, len,
			 "no policy is live under %s (the interceptor has not started, or "
			 "is loading)",
			 pin_path);
		return -ENOENT;
	}
	if (st.abi != SC_POD_ABI) {
		snprintf(why, len,
			 "%s holds the pins of another version (pod ABI %u, this one is %u)",
			 pin_path, st.abi, SC_POD_ABI);
		return -EPROTO;
	}
	fd = sc_open_map(pin_path, SC_MAP_POLICY);
	if (fd < 0 || bpf_map_lookup_elem(fd, &st.active_slot, &pol)) {
		snprintf(why, len, "the live policy slot %u cannot be read", st.active_slot);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	for (l = 0; l < SC_LINK__MAX; l++) {
		if (l == SC_LINK_SK_LOOKUP && !(pol.flags & SC_F_INBOUND))
			continue;
		if (sc_pod_link_program(pin_path, l, prog, sizeof(prog)) <= 0) {
			snprintf(why, len, "%s is not attached", sc_link_names[l]);
			return -ENOENT;
		}
		n++;
	}
	snprintf(why, len, "policy generation %u live, %d programs attached", st.generation, n);
	return 0;
}
