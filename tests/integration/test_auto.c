// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The interceptor as a container of its pod: its config names no cgroup (or says auto), it runs in
 * a cgroup below the pod's as a container does, finds the pod's cgroup itself and intercepts the
 * pod's other processes. `interceptor ready` (the startupProbe) says when it does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(auto_cgroup, .init = tpod_setup, .fini = tpod_teardown, .timeout = 60);

static const char *const echo[] = {"--mode", "echo", NULL};

/* The config of the pod's ConfigMap: no cgroup, a pin path of the test's bpffs. */
static void write_auto_config(const char *extra)
{
	char text[1024];
	FILE *f = fopen(P.config, "we");

	cr_assert_not_null(f);
	snprintf(text, sizeof(text), "pinPath: %s\n%s", P.pin_path, extra);
	fputs(text, f);
	fclose(f);
}

/* `interceptor run` in the container cgroup CG; the pod's UID in the environment when given. */
static pid_t start_in_container(const char *cg, const char *uid, char *log, size_t len)
{
	char ready[PATH_MAX];
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config, "--ready-file", ready,
			NULL};
	pid_t pid;

	snprintf(ready, sizeof(ready), "%s/auto.ready", P.dir);
	snprintf(log, len, "%s/auto-daemon.log", P.dir);
	if (uid)
		setenv("SIDECAP_POD_UID", uid, 1);
	pid = tpod_spawn_at(NULL, cg, 0, log, argv);
	unsetenv("SIDECAP_POD_UID");
	if (!tpod_wait_file(ready, 10000)) {
		char text[4096];

		cr_assert_fail("interceptor not ready:\n%s", t_read_file(log, text, sizeof(text)));
	}
	P.daemon = pid;
	return pid;
}

/* `interceptor ready` from the container cgroup CG; its output in OUT. */
static int ready(const char *cg, const char *uid, char *out, size_t len)
{
	char *argv[] = {T_BUILD "/interceptor", "ready", "--config", P.config, NULL};
	char log[PATH_MAX];
	pid_t pid;
	int st;

	snprintf(log, sizeof(log), "%s/ready.out", P.dir);
	unlink(log);
	if (uid)
		setenv("SIDECAP_POD_UID", uid, 1);
	pid = tpod_spawn_at(NULL, cg, 0, log, argv);
	unsetenv("SIDECAP_POD_UID");
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	t_read_file(log, out, len);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(auto_cgroup, interceptor_in_a_container_cgroup_intercepts_its_pod)
{
	const char *cg = tpod_container_cgroup("interceptor");
	char log[PATH_MAX], text[4096], want[PATH_MAX], line[1024];

	write_auto_config("");
	cr_assert_eq(ready(cg, P.id, text, sizeof(text)), 1, "%s", text);
	cr_assert_not_null(strstr(text, "not ready: no policy is live"), "%s", text);
	start_in_container(cg, P.id, log, sizeof(log));
	snprintf(want, sizeof(want), "cgroup: auto: the pod's cgroup is /sidecap-test/%s", P.id);
	cr_assert_eq(file_count(log, want), 1, "%s", t_read_file(log, text, sizeof(text)));
	cr_assert_eq(ready(cg, P.id, text, sizeof(text)), 0, "%s", text);
	cr_assert_not_null(strstr(text, "ready: policy generation 1 live, 11 programs attached"),
			   "%s", text);
	/* The app, another process of the pod, is intercepted. */
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
}

Test(auto_cgroup, cgroup_auto_without_a_pod_uid_takes_the_parent)
{
	const char *cg = tpod_container_cgroup("interceptor");
	char log[PATH_MAX], text[4096], want[PATH_MAX];

	write_auto_config("cgroup: auto\n");
	start_in_container(cg, NULL, log, sizeof(log));
	snprintf(want, sizeof(want), "cgroup: auto: the pod's cgroup is /sidecap-test/%s", P.id);
	cr_assert_eq(file_count(log, want), 1, "%s", t_read_file(log, text, sizeof(text)));
}

Test(auto_cgroup, a_pod_uid_the_cgroup_does_not_carry_is_refused_and_attaches_nothing)
{
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	const char *cg = tpod_container_cgroup("interceptor");
	char log[PATH_MAX], text[4096], want[PATH_MAX];
	pid_t pid;
	int st;

	write_auto_config("");
	snprintf(log, sizeof(log), "%s/wrong-uid.log", P.dir);
	setenv("SIDECAP_POD_UID", "0c0ffee0-1111-2222-3333-444444444444", 1);
	pid = tpod_spawn_at(NULL, cg, 0, log, argv);
	unsetenv("SIDECAP_POD_UID");
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	snprintf(want, sizeof(want),
		 "found /sidecap-test/%s as the pod's cgroup, but its name does not contain the "
		 "pod's UID 0c0ffee0-1111-2222-3333-444444444444",
		 P.id);
	cr_assert_eq(file_count(log, want), 1, "%s", t_read_file(log, text, sizeof(text)));
	cr_assert_lt(tpod_open_pinned(SC_MAP_STATE), 0, "something was pinned");
}
