// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.skel.h"
#include "sidecap.h"
#include "log.h"
#include "pod.h"
#include "policy.h"

const char *const sc_link_names[SC_LINK__MAX] = {
	[SC_LINK_CONNECT4] = "connect4",
	[SC_LINK_CONNECT6] = "connect6",
	[SC_LINK_GETPEERNAME4] = "getpeername4",
	[SC_LINK_GETPEERNAME6] = "getpeername6",
	[SC_LINK_SOCKOPS] = "sockops",
	[SC_LINK_GETSOCKOPT] = "getsockopt",
	[SC_LINK_SK_MSG] = "sk_msg",
};

int sc_pin_map_path(char *buf, size_t len, const char *pin_path, const char *name)
{
	int n = snprintf(buf, len, "%s/maps/%s", pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sc_pin_link_path(char *buf, size_t len, const char *pin_path, const char *name)
{
	int n = snprintf(buf, len, "%s/links/%s", pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

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

static int sc_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
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

static struct bpf_program *sc_link_prog(struct sidecap_bpf *skel, enum sc_link l)
{
	switch (l) {
	case SC_LINK_CONNECT4:
		return skel->progs.sc_connect4;
	case SC_LINK_CONNECT6:
		return skel->progs.sc_connect6;
	case SC_LINK_GETPEERNAME4:
		return skel->progs.sc_getpeername4;
	case SC_LINK_GETPEERNAME6:
		return skel->progs.sc_getpeername6;
	case SC_LINK_SOCKOPS:
		return skel->progs.sc_sockops;
	case SC_LINK_GETSOCKOPT:
		return skel->progs.sc_getsockopt;
	default:
		return skel->progs.sc_sk_msg;
	}
}

static int sc_set_pin_paths(struct sidecap_bpf *skel, const char *pin_path)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, skel->obj)
	{
		err = sc_pin_map_path(path, sizeof(path), pin_path, bpf_map__name(map));
		if (err)
			return err;
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

static int sc_cgroup_id(int cgroup_fd, __u64 *id)
{
	struct stat st;

	if (fstat(cgroup_fd, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

/*
 * A link pinned by an earlier run: swap in the new program atomically (interception never
 * pauses). The link must belong to the same cgroup, or the pins are another pod's.
 */
static int sc_adopt_link(struct sc_pod *pod, enum sc_link l, const char *path, int prog_fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	__u64 cgid = 0;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		goto out_close;
	}
	if (info.type == BPF_LINK_TYPE_CGROUP && !sc_cgroup_id(pod->cgroup_fd, &cgid) &&
	    info.cgroup.cgroup_id != cgid) {
		pr_warn("%s: attached to cgroup id %llu, not to this config's cgroup (id %llu); "
			"run `interceptor cleanup` for the old pin path first\n",
			path, (unsigned long long)info.cgroup.cgroup_id, (unsigned long long)cgid);
		err = -EEXIST;
		goto out_close;
	}
	if (bpf_link_update(fd, prog_fd, NULL)) {
		err = -errno;
		pr_warn("%s: replacing the program failed: %s\n", path, strerror(-err));
		goto out_close;
	}
	pod->link_fd[l] = fd;
	pod->adopted++;
	return 0;
out_close:
	close(fd);
	return err;
}

static int sc_new_link(struct sc_pod *pod, enum sc_link l, const char *path, int prog_fd)
{
	enum bpf_attach_type type;
	int target, fd;

	switch (l) {
	case SC_LINK_CONNECT4:
		type = BPF_CGROUP_INET4_CONNECT;
		break;
	case SC_LINK_CONNECT6:
		type = BPF_CGROUP_INET6_CONNECT;
		break;
	case SC_LINK_GETPEERNAME4:
		type = BPF_CGROUP_INET4_GETPEERNAME;
		break;
	case SC_LINK_GETPEERNAME6:
		type = BPF_CGROUP_INET6_GETPEERNAME;
		break;
	case SC_LINK_SOCKOPS:
		type = BPF_CGROUP_SOCK_OPS;
		break;
	case SC_LINK_GETSOCKOPT:
		type = BPF_CGROUP_GETSOCKOPT;
		break;
	default:
		type = BPF_SK_MSG_VERDICT;
		break;
	}
	target = l == SC_LINK_SK_MSG ? bpf_map__fd(pod->skel->maps.sc_sockhash) : pod->cgroup_fd;
	fd = bpf_link_create(prog_fd, target, type, NULL);
	if (fd < 0) {
		int err = -errno;

		pr_warn("attaching %s: %s%s\n", sc_link_names[l], strerror(-err),
			l == SC_LINK_SK_MSG ? " (sockmap links need Linux 6.10 or later)" : "");
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		pr_warn("pinning %s at %s: %s\n", sc_link_names[l], path, strerror(-err));
		close(fd);
		return err;
	}
	pod->link_fd[l] = fd;
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

int sc_pod_open(struct sc_pod *pod, const struct sc_config *cfg, const struct sc_pod_opts *opts)
{
	char path[PATH_MAX];
	bool created[SC_LINK__MAX] = {};
	int err, l;

	memset(pod, 0, sizeof(*pod));
	pod->cgroup_fd = -1;
	for (l = 0; l < SC_LINK__MAX; l++)
		pod->link_fd[l] = -1;
	snprintf(pod->pin_path, sizeof(pod->pin_path), "%s", cfg->pin_path);

	err = sc_open_cgroup(cfg->cgroup, opts->allow_root_cgroup);
	if (err < 0)
		return err;
	pod->cgroup_fd = err;

	err = sc_ensure_bpffs(pod->pin_path);
	if (err)
		goto out_close;
	/* Pins are root-only: whoever can open a pinned map can rewrite the pod's policy. */
	err = sc_mkdir_p(pod->pin_path, 0700);
	if (!err && sc_pin_map_path(path, sizeof(path), pod->pin_path, "") == 0)
		err = sc_mkdir_p(path, 0700);
	if (!err && sc_pin_link_path(path, sizeof(path), pod->pin_path, "") == 0)
		err = sc_mkdir_p(path, 0700);
	if (err) {
		pr_warn("pinPath %s: creating it failed: %s\n", pod->pin_path, strerror(-err));
		goto out_close;
	}

	pod->skel = sidecap_bpf__open();
	if (!pod->skel) {
		err = -errno;
		pr_warn("opening the BPF object: %s\n", strerror(-err));
		goto out_close;
	}
	err = sc_set_pin_paths(pod->skel, pod->pin_path);
	if (err)
		goto out_close;
	err = sidecap_bpf__load(pod->skel);
	if (err) {
		sc_print_load_hint(err);
		goto out_close;
	}

	/* Policy before programs: a connect on a fresh pod must find a policy. */
	err = sc_pod_apply(pod, cfg);
	if (err)
		goto out_close;

	for (l = 0; l < SC_LINK__MAX; l++) {
		int prog_fd = bpf_program__fd(sc_link_prog(pod->skel, l));

		err = sc_pin_link_path(path, sizeof(path), pod->pin_path, sc_link_names[l]);
		if (err)
			goto out_unlink;
		if (access(path, F_OK) == 0) {
			err = sc_adopt_link(pod, l, path, prog_fd);
		} else {
			err = sc_new_link(pod, l, path, prog_fd);
			created[l] = !err;
		}
		if (err)
			goto out_unlink;
	}
	return 0;

out_unlink:
	/* Undo only what this call attached; adopted links keep the programs they had. */
	for (l = 0; l < SC_LINK__MAX; l++) {
		if (created[l] &&
		    !sc_pin_link_path(path, sizeof(path), pod->pin_path, sc_link_names[l])) {
			bpf_link_detach(pod->link_fd[l]);
			unlink(path);
		}
	}
out_close:
	sc_pod_close(pod);
	return err;
}

/* Delete the entries of SLOT from the port and CIDR sets. */
static int sc_clear_slot(struct sc_pod *pod, __u32 slot)
{
	int ports = bpf_map__fd(pod->skel->maps.sc_ports);
	int cidrs = bpf_map__fd(pod->skel->maps.sc_cidrs);
	struct sc_cidr_key ck, cnext;
	__u32 pk, pnext;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(ports, prev, &pnext); prev = &pk) {
		pk = pnext;
		if (pk >> 24 == slot && bpf_map_delete_elem(ports, &pk) == 0)
			prev = NULL; /* restart: deleting invalidates the iteration */
	}
	for (prev = NULL; !bpf_map_get_next_key(cidrs, prev, &cnext); prev = &ck) {
		ck = cnext;
		if (ck.slot == slot && bpf_map_delete_elem(cidrs, &ck) == 0)
			prev = NULL;
	}
	return 0;
}

int sc_pod_apply(struct sc_pod *pod, const struct sc_config *cfg)
{
	int state_fd = bpf_map__fd(pod->skel->maps.sc_state);
	int policy_fd = bpf_map__fd(pod->skel->maps.sc_policy);
	struct sc_compiled c;
	struct sc_state st;
	__u32 zero = 0, slot;
	__u8 one = 1;
	size_t i;
	int err;

	if (bpf_map_lookup_elem(state_fd, &zero, &st))
		return -errno;
	slot = (st.active_slot ^ 1) & 1;
	err = sc_clear_slot(pod, slot);
	if (err)
		return err;
	err = sc_policy_compile(cfg, slot, st.generation + 1, &c);
	if (err) {
		pr_warn("compiling the policy: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < c.n_ports && !err; i++)
		if (bpf_map_update_elem(bpf_map__fd(pod->skel->maps.sc_ports), &c.ports[i], &one,
					BPF_ANY))
			err = -errno;
	for (i = 0; i < c.n_cidrs && !err; i++)
		if (bpf_map_update_elem(bpf_map__fd(pod->skel->maps.sc_cidrs), &c.cidrs[i], &one,
					BPF_ANY))
			err = -errno;
	if (!err && bpf_map_update_elem(policy_fd, &slot, &c.policy, BPF_ANY))
		err = -errno;
	if (err) {
		/* The live slot was not touched: the running policy stays. */
		pr_warn("writing the policy into slot %u: %s (%zu ports, %zu CIDRs; the maps hold "
			"%d and %d)\n",
			slot, strerror(-err), c.n_ports, c.n_cidrs, SC_MAX_PORTS, SC_MAX_CIDRS);
		goto out_free;
	}
	st.active_slot = slot;
	st.generation = c.policy.generation;
	if (bpf_map_update_elem(state_fd, &zero, &st, BPF_ANY))
		err = -errno;
	else
		pr_info("policy generation %u live (slot %u): %zu port and %zu CIDR entries, "
			"acceleration %s\n",
			st.generation, slot, c.n_ports, c.n_cidrs,
			cfg->acceleration ? "on" : "off");
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
	sidecap_bpf__destroy(pod->skel);
	pod->skel = NULL;
	if (pod->cgroup_fd >= 0)
		close(pod->cgroup_fd);
	pod->cgroup_fd = -1;
}

static int sc_unpin_link(const char *pin_path, enum sc_link l)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (sc_pin_link_path(path, sizeof(path), pin_path, sc_link_names[l]))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Detach explicitly: a daemon still holding the link must not keep it attached. */
	if (bpf_link_detach(fd) && errno != EINVAL)
		err = -errno;
	close(fd);
	if (unlink(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int sc_pins_remove(const char *pin_path)
{
	static const char *const maps[] = {SC_MAP_POLICY,   SC_MAP_STATE,    SC_MAP_PORTS,
					   SC_MAP_CIDRS,    SC_MAP_STATS,    SC_MAP_ORIGDST,
					   SC_MAP_HANDOVER, SC_MAP_SOCKHASH, SC_MAP_FLOWS};
	char path[PATH_MAX];
	int l, err = 0, e;
	size_t i;

	/*
	 * New connections go direct from here on. Open accelerated connections are not touched:
	 * each of their sockets holds its psock, the psock holds the sk_msg program, the program
	 * holds the sockhash, so the map and the path live on, unpinned, until the last of them
	 * closes. Nothing queued on them is lost.
	 */
	for (l = 0; l < SC_LINK__MAX; l++) {
		e = sc_unpin_link(pin_path, l);
		if (e && !err)
			err = e;
	}
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (sc_pin_map_path(path, sizeof(path), pin_path, maps[i]))
			continue;
		if (unlink(path) && errno != ENOENT && !err)
			err = -errno;
	}
	if (!sc_pin_map_path(path, sizeof(path), pin_path, ""))
		rmdir(path);
	if (!sc_pin_link_path(path, sizeof(path), pin_path, ""))
		rmdir(path);
	if (rmdir(pin_path) && errno != ENOENT && !err) {
		err = -errno;
		pr_warn("%s: not removed: %s (something else is pinned there)\n", pin_path,
			strerror(-err));
	}
	return err;
}
