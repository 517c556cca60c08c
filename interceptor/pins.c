// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A pod's pins on bpffs and the node's: where each map and link is pinned, the lock that
 * serialises the pods' daemons on the node directory, and taking pins away (one pod's on SIGTERM
 * or `cleanup`, the node's with the last pod, a gone pod's with `cleanup --stale`). Loading,
 * attaching and applying are pod.c's.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.h"
#include "log.h"
#include "pins.h"

const char *const sc_link_names[SC_LINK__MAX] = {
	[SC_LINK_CONNECT4] = "connect4",	 [SC_LINK_CONNECT6] = "connect6",
	[SC_LINK_GETPEERNAME4] = "getpeername4", [SC_LINK_GETPEERNAME6] = "getpeername6",
	[SC_LINK_SOCKOPS] = "sockops",		 [SC_LINK_SK_LOOKUP] = "sk_lookup",
	[SC_LINK_GETSOCKOPT] = "getsockopt",	 [SC_LINK_SK_MSG] = "sk_msg",
	[SC_LINK_SENDMSG4] = "sendmsg4",	 [SC_LINK_SENDMSG6] = "sendmsg6",
	[SC_LINK_RECVMSG4] = "recvmsg4",	 [SC_LINK_RECVMSG6] = "recvmsg6",
};

int sc_pin_map_path(char *buf, size_t len, const char *pin_path, const char *name)
{
	int n = snprintf(buf, len, "%s/maps/%s", pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sc_pin_prog_path(char *buf, size_t len, const char *pin_path, const char *name)
{
	int n = snprintf(buf, len, "%s/progs/%s", pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sc_pin_link_path(char *buf, size_t len, const char *pin_path, const char *name)
{
	int n = snprintf(buf, len, "%s/links/%s", pin_path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sc_mkdir_p(const char *path, mode_t mode)
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

int sc_node_path(char *buf, size_t len, const char *pin_path)
{
	size_t n = strlen(pin_path);
	int w;

	while (n > 1 && pin_path[n - 1] == '/')
		n--;
	while (n > 0 && pin_path[n - 1] != '/')
		n--;
	while (n > 1 && pin_path[n - 1] == '/')
		n--;
	if (n == 0)
		return -EINVAL;
	w = snprintf(buf, len, "%.*s/%s", (int)(n == 1 ? 0 : n), pin_path, SC_NODE_DIR);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

int sc_node_lock(const char *node, bool create)
{
	char path[PATH_MAX];
	int err = 0, fd;

	if (create) {
		err = sc_mkdir_p(node, 0700);
		if (!err && sc_pin_map_path(path, sizeof(path), node, "") == 0)
			err = sc_mkdir_p(path, 0700);
		if (!err && sc_pin_link_path(path, sizeof(path), node, "") == 0)
			err = sc_mkdir_p(path, 0700);
		if (!err && sc_pin_prog_path(path, sizeof(path), node, "") == 0)
			err = sc_mkdir_p(path, 0700);
		if (err) {
			pr_warn("%s: creating it failed: %s\n", node, strerror(-err));
			return err;
		}
	}
	fd = open(node, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sc_unpin_link(const char *pin_path, enum sc_link l)
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

int sc_detach_msg(const char *dir, const char *map_name)
{
	char ppath[PATH_MAX], mpath[PATH_MAX];
	int prog, map, err = 0;

	if (sc_pin_prog_path(ppath, sizeof(ppath), dir, "sk_msg") ||
	    sc_pin_map_path(mpath, sizeof(mpath), dir, map_name))
		return -ENAMETOOLONG;
	prog = bpf_obj_get(ppath);
	if (prog >= 0) {
		map = bpf_obj_get(mpath);
		/* A daemon still holding the sockhash must not keep the program attached. */
		if (map >= 0 && bpf_prog_detach2(prog, map, BPF_SK_MSG_VERDICT) && errno != ENOENT)
			err = -errno;
		if (map >= 0)
			close(map);
		close(prog);
		if (unlink(ppath) && errno != ENOENT && !err)
			err = -errno;
	} else if (errno != ENOENT) {
		err = -errno;
	}
	snprintf(ppath, sizeof(ppath), "%s/progs", dir);
	rmdir(ppath);
	return err;
}

/* Unlink every entry of DIR, then DIR itself. */
static int sc_rm_pins(const char *dirpath)
{
	struct dirent *de;
	int err = 0;
	DIR *dir = opendir(dirpath);

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) && !err)
			err = -errno;
	}
	closedir(dir);
	if (rmdir(dirpath) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* Whether PARENT holds another pod's pins (a directory with a maps/ directory in it). */
static bool sc_node_in_use(const char *parent)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	bool used = false;
	DIR *dir = opendir(parent);

	if (!dir)
		return false;
	while (!used && (de = readdir(dir))) {
		if (de->d_name[0] == '.' ||
		    !strncmp(de->d_name, SC_NODE_PREFIX, strlen(SC_NODE_PREFIX)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/maps", parent, de->d_name) <
			    (int)sizeof(path) &&
		    !stat(path, &st) && S_ISDIR(st.st_mode))
			used = true;
	}
	closedir(dir);
	return used;
}

/*
 * The node objects go with the last pod of the node: once no other pod's pins are left beside
 * PIN_PATH. Open connections between pods keep their path until they close, as in
 * sc_pins_remove().
 */
static int sc_node_remove(const char *pin_path)
{
	char node[PATH_MAX], parent[PATH_MAX], path[PATH_MAX];
	int err, fd;

	if (sc_node_path(node, sizeof(node), pin_path))
		return 0;
	snprintf(parent, sizeof(parent), "%.*s", (int)(strlen(node) - strlen(SC_NODE_DIR) - 1),
		 node);
	if (!parent[0])
		strcpy(parent, "/");
	fd = sc_node_lock(node, false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	if (sc_node_in_use(parent)) {
		close(fd);
		return 0;
	}
	err = sc_detach_msg(node, SC_MAP_XSOCKS);
	if (!sc_pin_link_path(path, sizeof(path), node, "sk_msg")) {
		int link = bpf_obj_get(path);

		if (link >= 0) {
			bpf_link_detach(link);
			close(link);
		}
	}
	if (!sc_pin_link_path(path, sizeof(path), node, ""))
		err = sc_rm_pins(path);
	if (!sc_pin_map_path(path, sizeof(path), node, "")) {
		int e = sc_rm_pins(path);

		if (e && !err)
			err = e;
	}
	if (rmdir(node) && errno != ENOENT && !err)
		err = -errno;
	close(fd);
	if (err)
		pr_warn("%s: not removed: %s\n", node, strerror(-err));
	return err;
}

int sc_pins_remove(const char *pin_path)
{
	char path[PATH_MAX];
	int l, err = 0, e;

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
	/* sk_msg attached without a link (before Linux 6.10). */
	e = sc_detach_msg(pin_path, SC_MAP_SOCKHASH);
	if (e && !err)
		err = e;
	if (!sc_pin_map_path(path, sizeof(path), pin_path, "")) {
		e = sc_rm_pins(path);
		if (e && !err)
			err = e;
	}
	if (!sc_pin_link_path(path, sizeof(path), pin_path, ""))
		rmdir(path);
	if (rmdir(pin_path) && errno != ENOENT && !err) {
		err = -errno;
		pr_warn("%s: not removed: %s (something else is pinned there)\n", pin_path,
			strerror(-err));
	}
	e = sc_node_remove(pin_path);
	if (e && !err)
		err = e;
	return err;
}

/*
 * Whether the pod pinned at PIN_PATH lost its cgroup: it has cgroup links pinned and the kernel
 * detached every one of them (a cgroup link reports cgroup id 0 once its cgroup was removed and
 * released). A pod with no cgroup link pinned yet may be a daemon starting right now: never stale.
 */
static bool sc_pod_is_stale(const char *pin_path)
{
	static const enum sc_link cgroup_links[] = {
		SC_LINK_CONNECT4,     SC_LINK_CONNECT6, SC_LINK_GETPEERNAME4,
		SC_LINK_GETPEERNAME6, SC_LINK_SOCKOPS,	SC_LINK_GETSOCKOPT,
	};
	int seen = 0, detached = 0;
	size_t i;

	for (i = 0; i < sizeof(cgroup_links) / sizeof(cgroup_links[0]); i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		char path[PATH_MAX];
		int fd;

		if (sc_pin_link_path(path, sizeof(path), pin_path, sc_link_names[cgroup_links[i]]))
			return false;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_CGROUP) {
			seen++;
			detached += info.cgroup.cgroup_id == 0;
		}
		close(fd);
	}
	return seen && detached == seen;
}

int sc_pins_remove_stale(const char *parent)
{
	char path[PATH_MAX];
	struct dirent *de;
	int removed = 0, err;
	struct stat st;
	DIR *dir = opendir(parent);

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' ||
		    !strncmp(de->d_name, SC_NODE_PREFIX, strlen(SC_NODE_PREFIX)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/maps", parent, de->d_name) >=
			    (int)sizeof(path) ||
		    stat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		if (!sc_pod_is_stale(path))
			continue;
		err = sc_pins_remove(path);
		if (err) {
			pr_warn("stale pins %s (their cgroup is gone): not removed: %s\n", path,
				strerror(-err));
			continue;
		}
		pr_info("removed stale pins %s: their pod's cgroup is gone\n", path);
		removed++;
	}
	closedir(dir);
	return removed;
}
