// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Finding the pod's cgroup from inside one of its containers.
 *
 * Where the container runs in the node's cgroup namespace (cgroup v1 hybrid nodes, podman here),
 * /proc/self/cgroup gives the container's cgroup from the root of the hierarchy. Where it runs in
 * a private one (containerd and CRI-O on cgroup v2 give one to every non-privileged container),
 * /proc/self/cgroup says "/", and the container's /sys/fs/cgroup is its own cgroup: then the node's
 * tree, mounted read-only into the container, is searched for the directory that is that same
 * directory (same device and inode), or, failing that, for the cgroup.procs that lists this
 * process. Either way the pod's cgroup is the parent of the container's:
 *
 *   systemd driver   /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid, - as _>.slice/
 *                    cri-containerd-<id>.scope     (Guaranteed: kubepods-pod<uid>.slice directly)
 *   cgroupfs driver  /kubepods/<qos>/pod<uid>/<id> (Guaranteed: /kubepods/pod<uid>/<id>)
 *   podman           /libpod_parent/<pod id>/libpod-<id>
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgroup_auto.h"
#include "config.h"

/* Bounds on the search of the node's tree: deeper than any runtime nests, more than any node
 * holds. */
#define SC_CG_MAX_DEPTH 16
#define SC_CG_MAX_DIRS	200000
#define SC_CG_MAX_FOUND 4

static void sc_errf(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void sc_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

void sc_cgroup_env_default(struct sc_cgroup_env *env, const char *node_mount)
{
	const char *uid = getenv("SIDECAP_POD_UID");

	env->self_cgroup = "/proc/self/cgroup";
	env->own_root = "/sys/fs/cgroup";
	env->node_mount = node_mount;
	env->pod_uid = uid && *uid ? uid : NULL;
	env->pid = getpid();
}

void sc_pod_uid_systemd(const char *uid, char *out, size_t len)
{
	size_t i;

	for (i = 0; uid[i] && i + 1 < len; i++)
		out[i] = uid[i] == '-' ? '_' : uid[i];
	out[len ? i : 0] = '\0';
}

/* The cgroup v2 path of this process ("0::<path>" in /proc/self/cgroup). */
static int sc_self_cgroup(const char *file, char *path, size_t len)
{
	char line[PATH_MAX + 64];
	int err = -ENOENT;
	FILE *f = fopen(file, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(path, len, "%s", line + 3) >= (int)len)
			err = -ENAMETOOLONG;
		else
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

static bool sc_is_cgroup_dir(const char *dir)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/cgroup.procs", dir) < (int)sizeof(p) && !access(p, F_OK);
}

/* The node's cgroup2 tree under MOUNT: MOUNT itself, or MOUNT/unified on a hybrid node. */
static bool sc_node_tree(const char *mount, char *out, size_t len)
{
	if (!mount)
		return false;
	if (sc_is_cgroup_dir(mount))
		return snprintf(out, len, "%s", mount) < (int)len;
	if (snprintf(out, len, "%s/unified", mount) < (int)len && sc_is_cgroup_dir(out))
		return true;
	return false;
}

struct sc_cg_search {
	dev_t dev;
	ino_t ino;   /* match a directory by identity, when dev or ino is set */
	long pid;    /* or by its cgroup.procs listing PID */
	size_t dirs; /* directories visited */
	size_t n;
	char found[SC_CG_MAX_FOUND][PATH_MAX]; /* paths relative to the tree's root */
};

static bool sc_procs_lists(int dirfd, long pid)
{
	char buf[64];
	bool hit = false;
	FILE *f;
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return false;
	}
	while (!hit && fgets(buf, sizeof(buf), f))
		hit = strtol(buf, NULL, 10) == pid;
	fclose(f);
	return hit;
}

static void sc_cg_walk(struct sc_cg_search *s, int fd0, char *rel, size_t rel_len, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;

	if (++s->dirs > SC_CG_MAX_DIRS || fstat(fd0, &st)) {
		close(fd0);
		return;
	}
	if (s->pid ? sc_procs_lists(fd0, s->pid) : st.st_dev == s->dev && st.st_ino == s->ino) {
		if (s->n < SC_CG_MAX_FOUND)
			snprintf(s->found[s->n], PATH_MAX, "%s", rel[0] ? rel : "/");
		s->n++;
	}
	dir = depth < SC_CG_MAX_DEPTH ? fdopendir(fd0) : NULL;
	if (!dir) {
		close(fd0);
		return;
	}
	while ((de = readdir(dir))) {
		size_t n = strlen(rel);
		int fd;

		if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		fd = openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (snprintf(rel + n, rel_len - n, "/%s", de->d_name) < (int)(rel_len - n))
			sc_cg_walk(s, fd, rel, rel_len, depth + 1);
		else
			close(fd);
		rel[n] = '\0';
	}
	closedir(dir);
}

static int sc_cg_search(struct sc_cg_search *s, const char *tree)
{
	char rel[PATH_MAX] = "";
	int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	s->n = 0;
	s->dirs = 0;
	sc_cg_walk(s, fd, rel, sizeof(rel), 0);
	return 0;
}

static void sc_list_found(const struct sc_cg_search *s, char *out, size_t len)
{
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < s->n && i < SC_CG_MAX_FOUND && used < len; i++)
		used += snprintf(out + used, len - used, "%s%s", i ? ", " : "", s->found[i]);
	if (s->n > SC_CG_MAX_FOUND && used < len)
		snprintf(out + used, len - used, ", ...");
}

/*
 * In a private cgroup namespace: the container's cgroup in the node's tree, by identity with its
 * own root, else by its cgroup.procs. REL gets its path from the tree's root.
 */
static int sc_find_in_node_tree(const struct sc_cgroup_env *env, const char *tree, char *rel,
				size_t len, char *how, size_t howlen, char *err, size_t errlen)
{
	struct sc_cg_search *s = calloc(1, sizeof(*s));
	char list[1024];
	struct stat own;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	if (!stat(env->own_root, &own)) {
		s->dev = own.st_dev;
		s->ino = own.st_ino;
		ret = sc_cg_search(s, tree);
		if (!ret && s->n)
			snprintf(how, howlen, "the directory of %.100s is %.100s", tree,
				 env->own_root);
	}
	if (!ret && !s->n) {
		s->pid = env->pid;
		ret = sc_cg_search(s, tree);
		if (!ret && s->n)
			snprintf(how, howlen, "its cgroup.procs in %.180s lists pid %ld", tree,
				 env->pid);
	}
	if (ret) {
		sc_errf(err, errlen, "cgroup: auto: reading %s: %s", tree, strerror(-ret));
	} else if (s->n == 0) {
		sc_errf(err, errlen,
			"cgroup: auto: this container's cgroup is not in the node's tree at %s (no "
			"directory is %s, no cgroup.procs lists pid %ld): mount the node's "
			"/sys/fs/cgroup there read-only, or set nodeCgroupMount, or give cgroup: "
			"explicitly",
			tree, env->own_root, env->pid);
		ret = -ENOENT;
	} else if (s->n > 1) {
		sc_list_found(s, list, sizeof(list));
		sc_errf(err, errlen,
			"cgroup: auto: %zu cgroups of %s could be this container's (%s): give "
			"cgroup: explicitly",
			s->n, tree, list);
		ret = -EEXIST;
	} else if (snprintf(rel, len, "%s", s->found[0]) >= (int)len) {
		ret = -ENAMETOOLONG;
	}
	free(s);
	return ret;
}

static const char *sc_basename(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* The kubelet's own levels, above any pod: never a pod's cgroup. */
static bool sc_is_kubelet_level(const char *name)
{
	static const char *const levels[] = {
		"kubepods",
		"kubepods.slice",
		"kubepods-burstable.slice",
		"kubepods-besteffort.slice",
		"burstable",
		"besteffort",
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(name, levels[i]))
			return true;
	return false;
}

/* Whether the pod directory POD (a path from the root) can be the pod's, given what we know. */
static int sc_check_pod_dir(const struct sc_cgroup_env *env, const char *pod, char *err,
			    size_t errlen)
{
	const char *name = sc_basename(pod);
	char uid_sd[128];
	int depth = 0;
	const char *p;

	for (p = pod; *p; p++)
		depth += *p == '/';
	if (!strcmp(pod, "/") || !*pod) {
		sc_errf(err, errlen,
			"cgroup: auto: this container's cgroup is the root's child, so its parent "
			"would be the root of the hierarchy (every process of the node): give "
			"cgroup: "
			"explicitly");
		return -EPERM;
	}
	if (env->pod_uid) {
		sc_pod_uid_systemd(env->pod_uid, uid_sd, sizeof(uid_sd));
		if (strstr(name, env->pod_uid) || strstr(name, uid_sd))
			return 0;
		sc_errf(err, errlen,
			"cgroup: auto: found %s as the pod's cgroup, but its name does not contain "
			"the "
			"pod's UID %s (SIDECAP_POD_UID): the interceptor must run as a container "
			"of "
			"that pod; fix SIDECAP_POD_UID (fieldRef metadata.uid) or give cgroup: "
			"explicitly",
			pod, env->pod_uid);
		return -ESRCH;
	}
	if (depth < 2 || sc_is_kubelet_level(name)) {
		sc_errf(err, errlen,
			"cgroup: auto: found %s as the pod's cgroup, which is too high in the tree "
			"to "
			"be one pod's: run the interceptor as a container of the pod and set "
			"SIDECAP_POD_UID from the downward API, or give cgroup: explicitly",
			pod);
		return -EPERM;
	}
	return 0;
}

int sc_cgroup_find_pod(const struct sc_cgroup_env *env, struct sc_cgroup_found *out, char *err,
		       size_t errlen)
{
	char self[PATH_MAX], tree[PATH_MAX], rel[PATH_MAX];
	const char *base;
	char *slash;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = sc_self_cgroup(env->self_cgroup, self, sizeof(self));
	if (ret) {
		sc_errf(err, errlen,
			"cgroup: auto: %s has no cgroup v2 entry (0::): the node must mount cgroup "
			"v2 (unified or hybrid)",
			env->self_cgroup);
		return ret;
	}
	if (strcmp(self, "/")) {
		/* The node's namespace: the path is from the root of the hierarchy. */
		snprintf(rel, sizeof(rel), "%s", self);
		snprintf(out->how, sizeof(out->how), "%.60s says %.180s", env->self_cgroup, self);
		if (!sc_node_tree(env->node_mount, tree, sizeof(tree)) &&
		    !sc_node_tree(env->own_root, tree, sizeof(tree))) {
			sc_errf(err, errlen,
				"cgroup: auto: no cgroup2 tree at %s or %s to reach %s through: "
				"mount the node's /sys/fs/cgroup read-only at nodeCgroupMount",
				env->node_mount ? env->node_mount : "(nodeCgroupMount unset)",
				env->own_root, self);
			return -ENOENT;
		}
		base = tree;
	} else {
		if (!sc_node_tree(env->node_mount, tree, sizeof(tree))) {
			sc_errf(err, errlen,
				"cgroup: auto: this container has a cgroup namespace of its own, "
				"so the "
				"node's cgroup2 tree must be mounted into it: no cgroup tree at %s "
				"(mount "
				"hostPath /sys/fs/cgroup there read-only, or set nodeCgroupMount)",
				env->node_mount ? env->node_mount : "(nodeCgroupMount unset)");
			return -ENOENT;
		}
		ret = sc_find_in_node_tree(env, tree, rel, sizeof(rel), out->how, sizeof(out->how),
					   err, errlen);
		if (ret)
			return ret;
		base = tree;
	}
	/* The pod is the parent of the container's cgroup. */
	slash = strrchr(rel, '/');
	if (!slash) {
		sc_errf(err, errlen, "cgroup: auto: %s is not a cgroup path", rel);
		return -EINVAL;
	}
	*slash = '\0';
	ret = sc_check_pod_dir(env, rel[0] ? rel : "/", err, errlen);
	if (ret)
		return ret;
	snprintf(out->rel, sizeof(out->rel), "%s", rel);
	if (snprintf(out->pod, sizeof(out->pod), "%s%s", base, rel) >= (int)sizeof(out->pod))
		return -ENAMETOOLONG;
	if (!sc_is_cgroup_dir(out->pod)) {
		sc_errf(err, errlen,
			"cgroup: auto: the pod's cgroup %s is not reachable at %s: mount the "
			"node's "
			"/sys/fs/cgroup read-only at nodeCgroupMount",
			rel, out->pod);
		return -ENOENT;
	}
	return 0;
}

int sc_auto_pin_path(const char *uid, const char *rel, char *out, size_t len)
{
	const char *c;
	char *w;
	int n;

	if (uid) {
		for (c = uid; *c; c++)
			if (!(*c == '-' || *c == '_' || (*c >= '0' && *c <= '9') ||
			      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
				return -EINVAL;
		if (!*uid || c - uid > 64)
			return -EINVAL;
		n = snprintf(out, len, "%s/pod-%s", SC_PIN_ROOT, uid);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	if (!rel || rel[0] != '/' || !rel[1])
		return -EINVAL;
	n = snprintf(out, len, "%s/%s", SC_PIN_ROOT, rel + 1);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	for (w = out + strlen(SC_PIN_ROOT) + 1; *w; w++)
		if (*w == '/')
			*w = '_';
	return 0;
}
