// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stale pins: a pod deleted while its interceptor was down (killed, node drained) leaves its pins,
 * which hold its maps and programs for nothing. `interceptor cleanup --stale` and any interceptor
 * starting on the node remove them; a live pod's pins, or those of a pod whose daemon is merely
 * down, are never touched.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(stale, .init = tpod_setup, .fini = tpod_teardown, .timeout = 120);

static const char *const echo[] = {"--mode", "echo", NULL};

/* The cgroup id the pinned connect4 link of the pod at PIN_PATH reports (0: detached). */
static unsigned long long link_cgroup_id(const char *pin_path)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/links/connect4", pin_path);
	fd = bpf_obj_get(path);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.cgroup.cgroup_id;
}

/* A pod Q whose daemon was killed, then whose cgroup was removed (the pod deleted). */
static struct tpeer *deleted_pod(void)
{
	struct tpeer *q = tpod_add_peer("gone", P.rns);
	int i;

	tpeer_write_config(q, "");
	tpeer_start_daemon(q);
	tpod_kill(q->daemon, SIGKILL);
	q->daemon = 0;
	tpeer_remove_cgroup(q);
	/* The kernel detaches a cgroup's links once the removed cgroup is released. */
	for (i = 0; i < 500 && link_cgroup_id(q->pin_path); i++)
		usleep(10000);
	cr_assert_eq(link_cgroup_id(q->pin_path), 0, "links of the removed cgroup still attached");
	return q;
}

static void assert_pod_intercepts(unsigned long long redirects)
{
	char line[1024];

	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), redirects);
}

Test(stale, cleanup_stale_removes_a_deleted_pods_pins_and_keeps_the_live_pod)
{
	char *cmd[] = {T_BUILD "/interceptor", "cleanup", "--stale", "--pin-root", P.bpffs, NULL};
	char text[4096];
	struct tpeer *q;

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_daemon();
	tpod_start_proxy();
	q = deleted_pod();
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, cmd), 0, "%s", text);
	cr_assert_not_null(strstr(text, "removed the pins of 1 pod whose cgroup is gone"), "%s",
			   text);
	cr_assert_neq(access(q->pin_path, F_OK), 0, "%s is still there", q->pin_path);
	/* The live pod: pins, node objects and interception untouched. */
	cr_assert_geq(tpod_open_pinned(SC_MAP_STATS), 0);
	cr_assert_eq(access(tpod_node_dir(), F_OK), 0);
	assert_pod_intercepts(1);
	/* Nothing more to remove. */
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, cmd), 0, "%s", text);
	cr_assert_not_null(strstr(text, "removed the pins of 0 pods"), "%s", text);
}

Test(stale, an_interceptor_starting_on_the_node_removes_stale_pins)
{
	char log[PATH_MAX];
	struct tpeer *q;

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	q = deleted_pod();
	tpod_start_daemon();
	tpod_start_proxy();
	cr_assert_neq(access(q->pin_path, F_OK), 0, "%s is still there", q->pin_path);
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	cr_assert_eq(file_count(log, "their pod's cgroup is gone"), 1);
	assert_pod_intercepts(1);
}

Test(stale, a_pod_whose_daemon_is_down_but_whose_cgroup_lives_is_not_stale)
{
	char *cmd[] = {T_BUILD "/interceptor", "cleanup", "--stale", "--pin-root", P.bpffs, NULL};
	struct tpeer *q = tpod_add_peer("down", P.rns);
	char text[4096];

	tpeer_write_config(q, "");
	tpeer_start_daemon(q);
	tpod_kill(q->daemon, SIGKILL);
	q->daemon = 0;
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, cmd), 0, "%s", text);
	cr_assert_not_null(strstr(text, "removed the pins of 0 pods"), "%s", text);
	cr_assert_eq(access(q->pin_path, F_OK), 0);
	cr_assert_neq(link_cgroup_id(q->pin_path), 0);
}

Test(stale, stale_and_config_together_are_refused)
{
	char *cmd[] = {T_BUILD "/interceptor", "cleanup", "--stale", "--config", P.config, NULL};
	char text[4096];

	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, cmd), 2, "%s", text);
	cr_assert_not_null(strstr(text, "run it without --config"), "%s", text);
}
