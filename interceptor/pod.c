// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.skel.h"
#include "abi.h"
#include "links.h"
#include "listeners.h"
#include "netns.h"
#include "log.h"
#include "pod.h"
#include "policy.h"

const char *sc_cgroup2_mount(void)
{
	static char mnt[PATH_MAX];
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "re");

	if (!f)
		return NULL;
	mnt[0] = '\0';
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	}
	fclose(f);
	return mnt[0] ? mnt : NULL;
}

/* The cgroup must be a cgroup v2 directory other than the root of the hierarchy: programs on
 * the root would capture the whole machine's traffic. */
static int sc_open_cgroup(const char *path, bool allow_root)
{
	const char *mnt = sc_cgroup2_mount();
	char real[PATH_MAX], realmnt[PATH_MAX];
	struct statfs sfs;
	int fd;

	if (!realpath(path, real)) {
		pr_warn("cgroup %s: %s (create it with mkdir, or fix `cgroup` in the config)\n",
			path, strerror(errno));
		return -errno;
	}
	if (statfs(real, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		pr_warn("cgroup %s: not a cgroup v2 directory (cgroup2 is mounted at %s)\n", path,
			mnt ? mnt : "nowhere: mount -t cgroup2 none /sys/fs/cgroup");
		return -ENOTDIR;
	}
	if (mnt && realpath(mnt, realmnt) && !strcmp(real, realmnt) && !allow_root) {
		pr_warn("cgroup %s: is the root cgroup; attaching there intercepts every process "
			"on "
			"the machine. Give the pod's own cgroup, or pass --allow-root-cgroup\n",
			path);
		return -EPERM;
	}
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pr_warn("cgroup %s: open: %s\n", path, strerror(errno));
		return -errno;
	}
	return fd;
}

/*
 * PIN_PATH must be on a bpffs. /sys/fs/bpf is not mounted at boot on every distribution: mount
 * it when the pin path is below it; anywhere else, say how.
 */
static int sc_ensure_bpffs(const char *pin_path)
{
	char probe[PATH_MAX];
	struct statfs sfs;
	char *slash;

	snprintf(probe, sizeof(probe), "%s", pin_path);
	while (statfs(probe, &sfs)) {
		slash = strrchr(probe, '/');
		if (!slash || slash == probe) {
			strcpy(probe, "/");
			if (statfs(probe, &sfs))
				return -errno;
			break;
		}
		*slash = '\0';
	}
	if (sfs.f_type == BPF_FS_MAGIC)
		return 0;
	if (!strncmp(pin_path, "/sys/fs/bpf/", 12) && !strcmp(probe, "/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			pr_warn("pinPath %s: /sys/fs/bpf is not a bpffs and mounting one failed: "
				"%s "
				"(mount -t bpf bpf /sys/fs/bpf)\n",
				pin_path, strerror(errno));
			return -errno;
		}
		pr_info("mounted bpffs at /sys/fs/bpf\n");
		return 0;
	}
	pr_warn("pinPath %s: %s is not a bpffs; mount one (mount -t bpf bpf %s) or set pinPath "
		"below /sys/fs/bpf\n",
		pin_path, probe, probe);
	return -ENOTSUP;
}

/* The node-wide maps (shared with the node's other pods) as opposed to the pod's own. */
static bool sc_map_is_node(const char *name)
{
	size_t i;

	for (i = 0; i < SC_MAPID__MAX; i++)
		if (!strcmp(name, sc_maps[i].name))
			return sc_maps[i].node;
	return false;
}

static int sc_set_pin_paths(struct sidecap_bpf *skel, const char *pin_path)
{
	char path[PATH_MAX], node[PATH_MAX];
	struct bpf_map *map;
	int err;

	err = sc_node_path(node, sizeof(node), pin_path);
	if (err)
		return err;
	bpf_object__for_each_map(map, skel->obj)
	{
		const char *name = bpf_map__name(map);

		err = sc_pin_map_path(path, sizeof(path), sc_map_is_node(name) ? node : pin_path,
				      name);
		if (err)
			return err;
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

static void sc_print_load_hint(int err)
{
	if (err == -EPERM)
		pr_warn("loading the BPF programs was refused: run as root (or with CAP_BPF, "
			"CAP_NET_ADMIN and CAP_SYS_ADMIN)\n");
	else if (err == -EINVAL)
		pr_warn("loading failed: a pinned map may be left by another version "
			"(run `interceptor cleanup --config FILE`), or the verifier refused a "
			"program (its log is above)\n");
	else
		pr_warn("loading the BPF programs failed: %s (see `interceptor check`)\n",
			strerror(-err));
}

/*
 * The network namespace for inbound steering: the config's `netns`, else the daemon's own. The
 * host's namespace is never used: steering there would capture the machine's inbound traffic.
 * Returns an fd, -1 when steering stays off, or -errno.
 */
static int sc_open_netns(const struct sc_config *cfg)
{
	const char *path = cfg->netns ? cfg->netns : "/proc/self/ns/net";
	int fd, host;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_warn("netns %s: %s (give a network namespace file such as /run/netns/NAME)\n",
			path, strerror(errno));
		return -errno;
	}
	host = sc_netns_is_host(fd);
	if (host < 0)
		pr_warn("netns %s: cannot tell whether it is the host's (%s): taken as the "
			"host's\n",
			path, strerror(-host));
	if (host) {
		close(fd);
		if (cfg->netns) {
			pr_warn("netns %s: is the host's network namespace; inbound steering there "
				"would capture the machine's own traffic. Give the pod's "
				"namespace\n",
				path);
			return -EINVAL; /* not -EPERM: that is -1, "steering off" */
		}
		pr_info("inbound steering off: the daemon runs in the host's network namespace "
			"and the config gives no `netns`\n");
		return -1;
	}
	return fd;
}

static bool sc_link_wanted(const struct sc_pod *pod, enum sc_link l)
{
	return l != SC_LINK_SK_LOOKUP || pod->netns_fd >= 0;
}

/*
 * Pins of another version may hold maps that libbpf would reuse because their sizes match while
 * their values mean something else: refuse them before libbpf loads, pins or attaches anything.
 * No pinned state: a new pod. A state no policy was written into yet (0) was left by a run that
 * stopped before its first policy. A state of another size predates the ABI field.
 */
static int sc_check_abi(const char *pin_path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0, abi = 0;
	char path[PATH_MAX];
	struct sc_state st;
	int fd, err = 0;

	if (sc_pin_map_path(path, sizeof(path), pin_path, SC_MAP_STATE))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	if (info.value_size == sizeof(st)) {
		if (bpf_map_lookup_elem(fd, &zero, &st)) {
			err = -errno;
			goto out;
		}
		if (st.abi == SC_POD_ABI || (st.abi == 0 && st.generation == 0))
			goto out;
		abi = st.abi;
	}
	pr_warn("pinPath %s holds the pins of another version of sidecap (pod ABI %u, this one is "
		"%u): remove them with `interceptor cleanup --config FILE` and run again (open "
		"connections keep working; new ones go direct until the new run attaches)\n",
		pin_path, abi, SC_POD_ABI);
	err = -EPROTO;
out:
	close(fd);
	return err;
}

/*
 * Register the proxy's inbound listeners that were listening before sockops could see their
 * listen() (bpf/listeners.bpf.c). Called once the programs are attached, so that a listen() after
 * the scan is seen by sockops, and after each policy change, which may move the inbound port.
 */
static int sc_pod_scan_listeners(struct sc_pod *pod)
{
	struct sc_listen_scan s = {
		.prog_fd = bpf_program__fd(pod->skel->progs.sc_listen_scan),
		.map_fd = bpf_map__fd(pod->skel->maps.sc_listeners),
		.netns_fd = pod->netns_fd,
		.cgroup_fd = pod->cgroup_fd,
		.port = sc_pod_config(pod)->proxy.inbound_port,
	};
	int err;

	if (pod->netns_fd < 0)
		return 0;
	err = sc_listeners_scan(&s);
	return err < 0 ? err : 0;
}

/*
 * The pod's pin directories on a bpffs (root-only: whoever can open a pinned map can rewrite the
 * pod's policy), and the node directory beside them, locked: returns the lock's fd (NODE holds
 * the node directory), or -errno.
 */
static int sc_pod_dirs(struct sc_pod *pod, char *node, size_t len)
{
	char path[PATH_MAX], parent[PATH_MAX];
	int err;

	err = sc_ensure_bpffs(pod->pin_path);
	if (err)
		return err;
	err = sc_mkdir_p(pod->pin_path, 0700);
	if (!err && sc_pin_map_path(path, sizeof(path), pod->pin_path, "") == 0)
		err = sc_mkdir_p(path, 0700);
	if (!err && sc_pin_link_path(path, sizeof(path), pod->pin_path, "") == 0)
		err = sc_mkdir_p(path, 0700);
	if (err) {
		pr_warn("pinPath %s: creating it failed: %s\n", pod->pin_path, strerror(-err));
		return err;
	}
	err = sc_node_path(node, len, pod->pin_path);
	if (err)
		return err;
	/* A pod deleted while its interceptor was down left its pins beside ours. */
	snprintf(parent, sizeof(parent), "%.*s", (int)(strlen(node) - strlen(SC_NODE_DIR) - 1),
		 node);
	sc_pins_remove_stale(parent[0] ? parent : "/");
	return sc_node_lock(node, true);
}

/* Load the programs, reusing the maps pinned by an earlier run of this version. */
/*
 * --map-max: capacities in place of the built-in ones, before the maps are created. The node's
 * maps are shared: a pod takes the capacity of the pins the node's first pod made (--map-max of a
 * later pod does not change them).
 */
static int sc_set_map_max(struct sidecap_bpf *skel, const struct sc_pod_opts *opts)
{
	struct bpf_map *m;
	int i, err;

	bpf_object__for_each_map(m, skel->obj)
	{
		struct bpf_map_info info = {0};
		__u32 len = sizeof(info);
		int fd;

		if (!sc_map_is_node(bpf_map__name(m)) || !bpf_map__pin_path(m))
			continue;
		fd = bpf_obj_get(bpf_map__pin_path(m));
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.max_entries &&
		    info.max_entries != bpf_map__max_entries(m))
			bpf_map__set_max_entries(m, info.max_entries);
		close(fd);
	}
	for (i = 0; i < opts->n_map_max; i++) {
		m = bpf_object__find_map_by_name(skel->obj, opts->map_max[i].name);
		if (m && sc_map_is_node(opts->map_max[i].name) && bpf_map__pin_path(m) &&
		    !access(bpf_map__pin_path(m), F_OK)) {
			pr_info("--map-max %s: the node's map is pinned already and keeps its "
				"capacity\n",
				opts->map_max[i].name);
			continue;
		}
		err = m ? bpf_map__set_max_entries(m, opts->map_max[i].max_entries) : -ENOENT;
		if (err) {
			pr_warn("--map-max %s: %s\n", opts->map_max[i].name, strerror(-err));
			return err;
		}
		pr_info("map %s: %u entries (--map-max)\n", opts->map_max[i].name,
			opts->map_max[i].max_entries);
	}
	return 0;
}

static int sc_pod_load(struct sc_pod *pod, const struct sc_pod_opts *opts)
{
	int err;

	err = sc_check_abi(pod->pin_path);
	if (err)
		return err;
	pod->skel = sidecap_bpf__open();
	if (!pod->skel) {
		err = -errno;
		pr_warn("opening the BPF object: %s\n", strerror(-err));
		return err;
	}
	err = sc_set_pin_paths(pod->skel, pod->pin_path);
	if (err)
		return err;
	err = sc_set_map_max(pod->skel, opts);
	if (err)
		return err;
	sc_set_level(pod->skel, pod->full);
	err = sidecap_bpf__load(pod->skel);
	if (err)
		sc_print_load_hint(err);
	return err;
}

/*
 * Attach each program, adopting the links an earlier run pinned, then the node's sk_msg link,
 * then register the proxy's listeners. On error what this call attached is detached again.
 */
static int sc_pod_attach(struct sc_pod *pod, const char *node)
{
	bool created[SC_LINK__MAX] = {};
	int err = 0, l;

	for (l = 0; !err && l < SC_LINK__MAX; l++) {
		if (!sc_link_wanted(pod, l))
			/* Inbound steering was on in an earlier run: take it away. */
			err = sc_unpin_link(pod->pin_path, l);
		else
			err = sc_link_attach(pod, l, &created[l]);
	}
	if (!err)
		err = sc_node_link(pod, node);
	if (!err) {
		err = sc_pod_scan_listeners(pod);
		if (err)
			pr_warn("inbound steering cannot find the proxy's listener: not "
				"starting\n");
	}
	if (!err)
		return 0;
	/* Undo only what this call attached; adopted links keep the programs they had. */
	for (l = 0; l < SC_LINK__MAX; l++)
		if (created[l])
			sc_link_undo(pod, l);
	return err;
}

int sc_pod_open(struct sc_pod *pod, struct sc_config *cfg, const struct sc_pod_opts *opts)
{
	char node[PATH_MAX], state[PATH_MAX];
	int err, l, node_fd = -1;
	bool fresh = false;

	memset(pod, 0, sizeof(*pod));
	pod->cgroup_fd = -1;
	pod->netns_fd = -1;
	pod->node_link_fd = -1;
	for (l = 0; l < SC_LINK__MAX; l++)
		pod->link_fd[l] = -1;
	snprintf(pod->pin_path, sizeof(pod->pin_path), "%s", cfg->pin_path);

	sc_features_probe(&pod->feat);
	pod->full = sc_features_full(&pod->feat);
	sc_features_log(&pod->feat);
	err = sc_open_cgroup(cfg->cgroup, opts->allow_root_cgroup);
	if (err < 0)
		return err;
	pod->cgroup_fd = err;
	err = sc_open_netns(cfg);
	if (err < -1)
		goto out_close;
	pod->netns_fd = err;
	err = node_fd = sc_pod_dirs(pod, node, sizeof(node));
	if (err < 0)
		goto out_close;
	/* A new pod: if it does not start, what it pinned goes too. */
	fresh = !sc_pin_map_path(state, sizeof(state), pod->pin_path, SC_MAP_STATE) &&
		access(state, F_OK);
	err = sc_pod_load(pod, opts);
	if (err)
		goto out_close;
	sc_test_pause("load");
	/* Policy before programs: a connect on a fresh pod must find a policy. */
	err = sc_pod_apply(pod, cfg);
	if (!err) {
		sc_test_pause("apply");
		err = sc_pod_attach(pod, node);
	}
	if (!err) {
		sc_test_pause("attach");
		close(node_fd);
		return 0;
	}

out_close:
	/* CFG went to slot_cfg only if the policy was applied: give it back. */
	for (l = 0; l < SC_POLICY_SLOTS; l++)
		if (pod->slot_cfg[l] == cfg)
			pod->slot_cfg[l] = NULL;
	sc_pod_close(pod);
	if (node_fd >= 0)
		close(node_fd);
	/* After the node lock is let go: removing the node's objects takes it. */
	if (fresh)
		sc_pins_remove(pod->pin_path);
	return err;
}

/* Free a config the pod owns (allocated with malloc). */
static void sc_config_destroy(struct sc_config *cfg)
{
	if (!cfg)
		return;
	sc_config_free(cfg);
	free(cfg);
}

static int sc_port_key_in_slot(const void *key, void *arg)
{
	return *(const __u32 *)key >> 24 == *(const __u32 *)arg;
}

static int sc_cidr_key_in_slot(const void *key, void *arg)
{
	return ((const struct sc_cidr_key *)key)->slot == *(const __u32 *)arg;
}

static int sc_write_sets(struct sc_pod *pod, __u32 slot, const struct sc_compiled *c)
{
	int ports = bpf_map__fd(pod->skel->maps.sc_ports);
	int cidrs = bpf_map__fd(pod->skel->maps.sc_cidrs);
	__u8 one = 1;
	long n;
	size_t i;

	n = sc_map_delete_matching(ports, sizeof(__u32), sc_port_key_in_slot, &slot);
	if (n >= 0)
		n = sc_map_delete_matching(cidrs, sizeof(struct sc_cidr_key), sc_cidr_key_in_slot,
					   &slot);
	if (n < 0)
		return n;
	for (i = 0; i < c->n_ports; i++)
		if (bpf_map_update_elem(ports, &c->ports[i], &one, BPF_ANY))
			return -errno;
	for (i = 0; i < c->n_cidrs; i++)
		if (bpf_map_update_elem(cidrs, &c->cidrs[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

static struct sc_svc_maps sc_svc_maps_of(const struct sc_pod *pod)
{
	struct sc_svc_maps m = {
		.services = bpf_map__fd(pod->skel->maps.sc_services),
		.lbtable = bpf_map__fd(pod->skel->maps.sc_lbtable),
		.endpoints = bpf_map__fd(pod->skel->maps.sc_endpoints),
		.picks = bpf_map__fd(pod->skel->maps.sc_picks),
	};

	return m;
}

/*
 * Return once every BPF program that may have read the slot just left has finished: updating
 * a map-in-map waits for an RCU grace period (see sc_barrier in maps.bpf.c).
 */
static int sc_wait_for_readers(struct sc_pod *pod)
{
	int inner = bpf_map__fd(pod->skel->maps.sc_barrier_in);
	__u32 zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(pod->skel->maps.sc_barrier), &zero, &inner, BPF_ANY))
		return -errno;
	return 0;
}

const struct sc_config *sc_pod_config(const struct sc_pod *pod)
{
	return pod->slot_cfg[pod->active_slot];
}

/* Forget what SLOT holds; the config is freed unless the other slot holds it too. */
static void sc_slot_cfg_drop(struct sc_pod *pod, __u32 slot)
{
	if (pod->slot_cfg[slot] != pod->slot_cfg[slot ^ 1])
		sc_config_destroy(pod->slot_cfg[slot]);
	pod->slot_cfg[slot] = NULL;
}

/*
 * Once no program reads SLOT any more (the slot just left), give it CFG's services too. The next
 * change is written into SLOT as a diff against what it holds: without this, the first edit after
 * loading N services would rewrite all N there. Costs one diff of the change just applied, after
 * it is live; the other parts of a slot (scalars, ports, CIDRs) are rewritten whole anyway.
 */
static void sc_catch_up(struct sc_pod *pod, const struct sc_svc_maps *maps, __u32 slot,
			struct sc_config *cfg)
{
	int err;

	if (pod->slot_cfg[slot] == cfg)
		return;
	err = sc_services_write(maps, &pod->ids, slot, pod->slot_cfg[slot], cfg);
	sc_slot_cfg_drop(pod, slot);
	if (err) {
		/* Unknown content: the next change into SLOT starts it from empty. */
		pr_warn("writing the services into the idle slot %u: %s (the next change "
			"rewrites them whole)\n",
			slot, strerror(-err));
		return;
	}
	pod->slot_cfg[slot] = cfg;
}

/*
 * Whether a policy of C (compiled from CFG) fits in one slot of the pod's maps: half of each,
 * the live policy keeping the other half. Checked before anything is written, so a policy that
 * does not fit is refused whole with what it needs and the fix. (The selection tables of services
 * are sized as they are built; the write into the idle slot fails then, and the live slot stays.)
 */
static int sc_policy_fits(const struct sc_pod *pod, const struct sc_config *cfg,
			  const struct sc_compiled *c)
{
	struct {
		const struct bpf_map *map;
		size_t need;
		const char *what;
	} use[] = {
		{pod->skel->maps.sc_ports, c->n_ports, "port entries"},
		{pod->skel->maps.sc_cidrs, c->n_cidrs, "CIDR entries"},
		{pod->skel->maps.sc_services, cfg->n_services, "services"},
		{pod->skel->maps.sc_endpoints, sc_config_endpoints(cfg), "endpoints"},
	};
	size_t i, slot;

	for (i = 0; i < sizeof(use) / sizeof(use[0]); i++) {
		slot = bpf_map__max_entries(use[i].map) / SC_POLICY_SLOTS;
		if (use[i].need <= slot)
			continue;
		pr_warn("%s: the policy needs %zu %s, one policy slot of %s holds %zu (half of its "
			"%u entries: the live policy keeps the other half); shrink the policy, or "
			"start the daemon with --map-max %s=%zu\n",
			cfg->path, use[i].need, use[i].what, bpf_map__name(use[i].map), slot,
			bpf_map__max_entries(use[i].map), bpf_map__name(use[i].map),
			use[i].need * SC_POLICY_SLOTS);
		return -ENOSPC;
	}
	return 0;
}

int sc_pod_apply(struct sc_pod *pod, struct sc_config *cfg)
{
	int state_fd = bpf_map__fd(pod->skel->maps.sc_state);
	int policy_fd = bpf_map__fd(pod->skel->maps.sc_policy);
	struct sc_svc_maps maps = sc_svc_maps_of(pod);
	struct sc_compiled c;
	struct sc_state st;
	__u32 zero = 0, slot;
	int err;

	if (bpf_map_lookup_elem(state_fd, &zero, &st))
		return -errno;
	slot = (st.active_slot ^ 1) & 1;
	err = sc_policy_compile(cfg, slot, st.generation + 1, &c);
	if (err) {
		pr_warn("compiling the policy: %s\n", strerror(-err));
		return err;
	}
	if (pod->netns_fd >= 0)
		c.policy.flags |= SC_F_INBOUND;
	err = sc_policy_fits(pod, cfg, &c);
	if (err)
		goto out_free;
	err = sc_write_sets(pod, slot, &c);
	if (err)
		pr_warn("writing ports and CIDRs into slot %u: %s (%zu ports, %zu CIDRs)\n", slot,
			strerror(-err), c.n_ports, c.n_cidrs);
	if (!err)
		err = sc_services_write(&maps, &pod->ids, slot, pod->slot_cfg[slot], cfg);
	if (!err && bpf_map_update_elem(policy_fd, &slot, &c.policy, BPF_ANY))
		err = -errno;
	if (!err) {
		st.active_slot = slot;
		st.generation = c.policy.generation;
		st.abi = SC_POD_ABI;
		st.pad = 0;
		if (bpf_map_update_elem(state_fd, &zero, &st, BPF_ANY))
			err = -errno;
	}
	if (err) {
		/* The live slot was not touched: the running policy stays. The one written to
		 * may be half done: its content is unknown from now on. */
		sc_slot_cfg_drop(pod, slot);
		goto out_free;
	}
	if (pod->slot_cfg[slot] != cfg)
		sc_slot_cfg_drop(pod, slot);
	pod->slot_cfg[slot] = cfg;
	pod->active_slot = slot;
	pod->generation = st.generation;
	pr_info("policy generation %u live (slot %u): %zu services, %zu port and %zu CIDR "
		"entries, acceleration %s, inbound steering %s\n",
		st.generation, slot, cfg->n_services, c.n_ports, c.n_cidrs,
		cfg->acceleration == SC_ACCEL_ALWAYS	? "always"
		: cfg->acceleration == SC_ACCEL_NEVER ? "never"
							: "adaptive", pod->netns_fd >= 0 ? "on" : "off");
	err = sc_wait_for_readers(pod);
	if (err)
		pr_warn("waiting for BPF programs to leave slot %u: %s\n", slot ^ 1,
			strerror(-err));
	else
		sc_catch_up(pod, &maps, slot ^ 1, cfg);
	sc_services_prune_picks(&maps, &pod->ids, cfg);
	/* Once attached (sc_pod_open scans itself after attaching): the new policy may name
	 * another inbound port, where the proxy may already listen. */
	if (pod->link_fd[SC_LINK_SOCKOPS] >= 0 && sc_pod_scan_listeners(pod))
		pr_warn("policy generation %u is live, but inbound listeners already listening "
			"were not registered (see above)\n",
			pod->generation);
out_free:
	sc_compiled_free(&c);
	return err;
}

void sc_pod_close(struct sc_pod *pod)
{
	int l;

	for (l = 0; l < SC_LINK__MAX; l++) {
		if (pod->link_fd[l] >= 0)
			close(pod->link_fd[l]);
		pod->link_fd[l] = -1;
	}
	if (pod->node_link_fd >= 0)
		close(pod->node_link_fd);
	pod->node_link_fd = -1;
	sidecap_bpf__destroy(pod->skel);
	pod->skel = NULL;
	if (pod->cgroup_fd >= 0)
		close(pod->cgroup_fd);
	pod->cgroup_fd = -1;
	if (pod->netns_fd >= 0)
		close(pod->netns_fd);
	pod->netns_fd = -1;
	for (l = 0; l < SC_POLICY_SLOTS; l++) {
		/* Both slots may hold the same config object. */
		if (l == 1 && pod->slot_cfg[1] == pod->slot_cfg[0])
			break;
		sc_config_destroy(pod->slot_cfg[l]);
	}
	memset(pod->slot_cfg, 0, sizeof(pod->slot_cfg));
	sc_svc_ids_free(&pod->ids);
}
