/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `cgroup: auto`: the interceptor, running as a container of a pod, finds the pod's cgroup v2
 * directory itself. The pod's cgroup is the parent of the container's own. No libbpf here: the unit
 * tests run it on fake trees of each kubelet and runtime layout.
 */
#ifndef SC_CGROUP_AUTO_H
#define SC_CGROUP_AUTO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Where to look. Every path may be pointed at a fake tree. */
struct sc_cgroup_env {
	const char *self_cgroup; /* /proc/self/cgroup */
	/* The container's view of the cgroup2 hierarchy (/sys/fs/cgroup): in a private cgroup
	 * namespace its root is the container's own cgroup. */
	const char *own_root;
	/* The node's cgroup2 tree mounted into the container (nodeCgroupMount, by default
	 * /host/sys/fs/cgroup); on a hybrid node its cgroup2 part may be <node_mount>/unified. */
	const char *node_mount;
	const char *pod_uid; /* the downward API's metadata.uid (SIDECAP_POD_UID), or NULL */
	long pid;	     /* this process as its cgroup.procs lists it (getpid()) */
};

struct sc_cgroup_found {
	char pod[PATH_MAX]; /* the pod's cgroup directory, as this process reaches it */
	char rel[PATH_MAX]; /* the same from the root of the hierarchy, e.g. /kubepods/pod<uid> */
	char how[256];	    /* how it was found, for the log */
};

/* The defaults: /proc/self/cgroup, /sys/fs/cgroup, NODE_MOUNT, $SIDECAP_POD_UID, getpid(). */
void sc_cgroup_env_default(struct sc_cgroup_env *env, const char *node_mount);

/*
 * Find the pod's cgroup. 0 with *OUT filled, or -errno with a message in ERR that says what was
 * found and the fix: no cgroup v2, nothing found, several candidates, a directory whose name lacks
 * the pod's UID, or one too high in the tree to be a pod's.
 */
int sc_cgroup_find_pod(const struct sc_cgroup_env *env, struct sc_cgroup_found *out, char *err,
		       size_t errlen);

/*
 * The default pin path of a pod whose cgroup was found from inside it: SC_PIN_ROOT/pod-<UID> when
 * the pod's UID is known (stable across the pod's containers and restarts), else SC_PIN_ROOT/ + REL
 * (the cgroup's path from the root) with its leading '/' dropped and every other '/' turned into
 * '_', as for a cgroup given in the file. A UID that is not a plain token is refused. 0 or -errno.
 */
int sc_auto_pin_path(const char *uid, const char *rel, char *out, size_t len);

/* The pod's UID as the kubelet's systemd cgroup driver writes it in a slice name: '-' -> '_'. */
void sc_pod_uid_systemd(const char *uid, char *out, size_t len);

#endif /* SC_CGROUP_AUTO_H */
