// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup: auto on fake trees of each layout: the kubelet's systemd and cgroupfs drivers (Burstable,
 * BestEffort and Guaranteed pods), podman, a container in the node's cgroup namespace and one in a
 * private namespace (found by identity, or by cgroup.procs), and every refusal.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <criterion/criterion.h>

#include "cgroup_auto.h"

/* Paths of the fake trees are short; GCC cannot know it. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define UID   "8f0e6b1c-2d3a-4e5f-9a8b-7c6d5e4f3a2b"
#define UID_  "8f0e6b1c_2d3a_4e5f_9a8b_7c6d5e4f3a2b"
#define MYPID 4242

static char root[128]; /* the fake node tree: the node's /sys/fs/cgroup */
static char top[64];

static void setup(void)
{
	snprintf(top, sizeof(top), "/tmp/sc-cgauto-XXXXXX");
	cr_assert_not_null(mkdtemp(top));
	snprintf(root, sizeof(root), "%s/node", top);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(cgroup_auto, .init = setup, .fini = teardown);

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* A cgroup directory REL under BASE, made with its parents; BASE (the root of a cgroup2 tree) and
 * each directory below it get a cgroup.procs, empty but REL's, which gets PROCS when given. */
static void cg(const char *base, const char *rel, const char *procs)
{
	char path[PATH_MAX], file[PATH_MAX + 16];
	char *p;

	snprintf(path, sizeof(path), "%s%s", base, rel);
	for (p = path + strlen(top) + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST)
				cr_assert_fail("mkdir %s: %s", path, strerror(errno));
			snprintf(file, sizeof(file), "%s/cgroup.procs", path);
			if (strlen(path) >= strlen(base) && (access(file, F_OK) || (!c && procs)))
				write_text(file, !c && procs ? procs : "");
			*p = c;
			if (!c)
				break;
		}
	}
}

/* /proc/self/cgroup saying PATH on the unified hierarchy (and a v1 line, as hybrid nodes have). */
static const char *self_file(const char *path)
{
	static char file[PATH_MAX];
	char text[PATH_MAX + 64];

	snprintf(file, sizeof(file), "%s/self-cgroup", top);
	snprintf(text, sizeof(text), "12:cpu,cpuacct:/whatever\n0::%s\n", path);
	write_text(file, text);
	return file;
}

static struct sc_cgroup_env env_of(const char *self, const char *own_root, const char *uid)
{
	struct sc_cgroup_env env = {
		.self_cgroup = self_file(self),
		.own_root = own_root,
		.node_mount = root,
		.pod_uid = uid,
		.pid = MYPID,
	};

	return env;
}

static void assert_found(const struct sc_cgroup_env *env, const char *rel)
{
	struct sc_cgroup_found f;
	char err[2048] = "", want[PATH_MAX];

	cr_assert_eq(sc_cgroup_find_pod(env, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(f.rel, rel);
	snprintf(want, sizeof(want), "%s%s", root, rel);
	cr_assert_str_eq(f.pod, want);
}

static void assert_refused(const struct sc_cgroup_env *env, int errnum, const char *needle)
{
	struct sc_cgroup_found f;
	char err[2048] = "";

	cr_assert_eq(sc_cgroup_find_pod(env, &f, err, sizeof(err)), -errnum, "%s", err);
	cr_assert_not_null(strstr(err, needle), "message lacks \"%s\": %s", needle, err);
}

#define SD_BURST "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice"
#define SD_CTR	 SD_BURST "/cri-containerd-0123abcd.scope"

Test(cgroup_auto, systemd_driver_in_the_node_namespace_is_the_parent_of_proc_self_cgroup)
{
	struct sc_cgroup_env env = env_of(SD_CTR, "/nonexistent", UID);

	cg(root, SD_CTR, NULL);
	assert_found(&env, SD_BURST);
}

Test(cgroup_auto, systemd_guaranteed_pod_sits_directly_under_kubepods)
{
	const char *pod = "/kubepods.slice/kubepods-pod" UID_ ".slice";
	char ctr[PATH_MAX];
	struct sc_cgroup_env env;

	snprintf(ctr, sizeof(ctr), "%s/cri-containerd-77.scope", pod);
	cg(root, ctr, NULL);
	env = env_of(ctr, "/nonexistent", UID);
	assert_found(&env, pod);
}

Test(cgroup_auto, cgroupfs_driver_in_a_private_namespace_is_found_by_identity)
{
	const char *pod = "/kubepods/besteffort/pod" UID;
	char ctr[PATH_MAX], own[PATH_MAX];
	struct sc_cgroup_env env;

	snprintf(ctr, sizeof(ctr), "%s/0123456789abcdef", pod);
	cg(root, ctr, NULL);
	cg(root, "/kubepods/besteffort/podother/fedcba", NULL);
	/* In a private namespace the container's /sys/fs/cgroup is its own cgroup. */
	snprintf(own, sizeof(own), "%s%s", root, ctr);
	env = env_of("/", own, UID);
	assert_found(&env, pod);
}

Test(cgroup_auto, cgroupfs_guaranteed_pod_in_a_private_namespace)
{
	char own[PATH_MAX];
	struct sc_cgroup_env env;

	cg(root, "/kubepods/pod" UID "/c1", NULL);
	snprintf(own, sizeof(own), "%s/kubepods/pod" UID "/c1", root);
	env = env_of("/", own, UID);
	assert_found(&env, "/kubepods/pod" UID);
}

Test(cgroup_auto, private_namespace_without_identity_is_found_by_cgroup_procs)
{
	struct sc_cgroup_env env;

	cg(root, SD_BURST "/cri-containerd-other.scope", "17\n0\n");
	cg(root, SD_CTR,
	   "1\n"
	   "4242\n");
	env = env_of("/", "/nonexistent", UID);
	assert_found(&env, SD_BURST);
}

Test(cgroup_auto, podman_pod_on_a_hybrid_node_is_under_unified)
{
	char unified[PATH_MAX], want[PATH_MAX];
	struct sc_cgroup_env env = env_of("/libpod_parent/" UID "/libpod-abc", "/nonexistent", UID);
	struct sc_cgroup_found f;
	char err[2048] = "";

	/* The hybrid node's /sys/fs/cgroup is a tmpfs: cgroup2 is its unified directory. */
	cr_assert_eq(mkdir(root, 0755), 0);
	snprintf(unified, sizeof(unified), "%s/unified", root);
	cg(unified, "/libpod_parent/" UID "/libpod-abc", NULL);
	cr_assert_eq(sc_cgroup_find_pod(&env, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(f.rel, "/libpod_parent/" UID);
	snprintf(want, sizeof(want), "%s/libpod_parent/" UID, unified);
	cr_assert_str_eq(f.pod, want);
}

Test(cgroup_auto, without_a_pod_uid_a_pod_like_parent_is_taken)
{
	struct sc_cgroup_env env = env_of(SD_CTR, "/nonexistent", NULL);

	cg(root, SD_CTR, NULL);
	assert_found(&env, SD_BURST);
}

Test(cgroup_auto, a_name_without_the_pod_uid_is_refused_naming_what_was_found)
{
	struct sc_cgroup_env env =
		env_of(SD_CTR, "/nonexistent", "11111111-2222-3333-4444-555555555555");

	cg(root, SD_CTR, NULL);
	assert_refused(&env, ESRCH,
		       "found " SD_BURST " as the pod's cgroup, but its name does not "
		       "contain the pod's UID 11111111-2222-3333-4444-555555555555");
}

Test(cgroup_auto, a_qos_level_parent_is_refused_without_a_pod_uid)
{
	struct sc_cgroup_env env =
		env_of("/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope",
		       "/nonexistent", NULL);

	cg(root, "/kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope", NULL);
	assert_refused(&env, EPERM, "too high in the tree to be one pod's");
}

Test(cgroup_auto, a_child_of_the_root_is_refused)
{
	struct sc_cgroup_env env = env_of("/app.scope", "/nonexistent", NULL);

	cg(root, "/app.scope", NULL);
	assert_refused(&env, EPERM, "root of the hierarchy");
}

Test(cgroup_auto, two_cgroups_listing_our_pid_are_an_ambiguity_naming_both)
{
	struct sc_cgroup_env env = env_of("/", "/nonexistent", UID);

	cg(root, "/kubepods/pod" UID "/a", "4242\n");
	cg(root, "/kubepods/pod" UID "/b", "4242\n");
	assert_refused(&env, EEXIST, "2 cgroups of");
	assert_refused(&env, EEXIST, "/kubepods/pod" UID "/a");
	assert_refused(&env, EEXIST, "/kubepods/pod" UID "/b");
}

Test(cgroup_auto, private_namespace_without_the_node_tree_says_how_to_mount_it)
{
	struct sc_cgroup_env env = env_of("/", "/nonexistent", UID);

	assert_refused(&env, ENOENT, "mount hostPath /sys/fs/cgroup there read-only");
}

Test(cgroup_auto, private_namespace_found_nowhere_says_where_it_looked)
{
	struct sc_cgroup_env env = env_of("/", "/nonexistent", UID);

	cg(root, "/kubepods/pod" UID "/a", "1\n");
	assert_refused(&env, ENOENT, "no cgroup.procs lists pid 4242");
}

Test(cgroup_auto, no_cgroup_v2_entry_is_refused)
{
	struct sc_cgroup_env env = env_of("/x", "/nonexistent", UID);
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/v1-only", top);
	write_text(file, "12:cpu,cpuacct:/x\n");
	env.self_cgroup = file;
	assert_refused(&env, ENOENT, "no cgroup v2 entry");
}

Test(cgroup_auto, systemd_uid_spelling_turns_dashes_into_underscores)
{
	char out[64];

	sc_pod_uid_systemd(UID, out, sizeof(out));
	cr_assert_str_eq(out, UID_);
}

Test(cgroup_auto, pin_path_of_a_known_pod_is_named_after_its_uid)
{
	char out[256];

	cr_assert_eq(sc_auto_pin_path(UID, SD_BURST, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/sys/fs/bpf/sidecap/pod-" UID);
}

Test(cgroup_auto, pin_path_without_a_uid_is_the_cgroup_path_flattened)
{
	char out[256];

	cr_assert_eq(sc_auto_pin_path(NULL, "/kubepods/pod1/x", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "/sys/fs/bpf/sidecap/kubepods_pod1_x");
}

Test(cgroup_auto, a_uid_that_is_not_a_plain_token_gives_no_pin_path)
{
	char out[256];

	cr_assert_eq(sc_auto_pin_path("../../etc", NULL, out, sizeof(out)), -EINVAL);
	cr_assert_eq(sc_auto_pin_path("", NULL, out, sizeof(out)), -EINVAL);
}
