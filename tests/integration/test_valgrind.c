// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Valgrind's memcheck on the interceptor (issue 17): `validate`, `status` and a short `run`
 * (attached to the pod for real, a connection through it, then SIGTERM), each with no error
 * and no block definitely lost. Exit status 99 is valgrind's own, for any finding.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(valgrind, .init = tpod_setup, .fini = tpod_teardown, .timeout = 300);

static const char *const echo[] = {"--mode", "echo", NULL};

/* Memcheck's command line, its report in P.dir/NAME.vg. */
#define VG(name)                                                                            \
	"/usr/bin/valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite", \
		"--error-exitcode=99", "--suppressions=tests/valgrind.supp",                \
		"--gen-suppressions=all", vg_log(name)

static char *vg_log(const char *name)
{
	static char arg[4][PATH_MAX + 16];
	static int i;
	char *a = arg[i++ % 4];

	snprintf(a, PATH_MAX + 16, "--log-file=%s/%s.vg", P.dir, name);
	return a;
}

/* The valgrind report NAME, for a failure message. */
static const char *vg_report(const char *name)
{
	static char text[8192];
	char path[PATH_MAX];

	char cmd[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.vg", P.dir, name);
	/* Kept past the pod's teardown, whole (the message shows the first 8 KiB). */
	snprintf(cmd, sizeof(cmd), "mkdir -p " T_BUILD "/valgrind && cp %s " T_BUILD "/valgrind/",
		 path);
	if (system(cmd))
		cr_log_warn("could not keep %s", path);
	return t_read_file(path, text, sizeof(text));
}

/* A SANITIZE=1 build is built with ASan, which valgrind cannot run. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif

static void skip_without_valgrind(void)
{
#ifdef T_ASAN
	cr_skip_test("an ASan build (make test SANITIZE=1): valgrind runs on the plain build");
#endif
	if (system("command -v valgrind >/dev/null 2>&1"))
		cr_skip_test("valgrind is not installed (scripts/deps.sh installs it)");
}

Test(valgrind, validate_is_clean_on_good_and_bad_files)
{
	char out[4096];
	char *good[] = {VG("validate-good"), T_BUILD "/interceptor", "validate", "conf/mesh.yaml",
			NULL};
	char *bad[] = {VG("validate-bad"), T_BUILD "/interceptor", "validate",
		       "tests/fuzz/broken/49-service-duplicate-name.yaml", NULL};

	skip_without_valgrind();
	cr_assert_eq(tpod_run(0, out, sizeof(out), 60000, good), 0, "%s",
		     vg_report("validate-good"));
	/* 1: the file is bad; 99 would be valgrind's. */
	cr_assert_eq(tpod_run(0, out, sizeof(out), 60000, bad), 1, "%s", vg_report("validate-bad"));
}

Test(valgrind, status_is_clean)
{
	char out[64 * 1024];
	char *status[] = {VG("status"), T_BUILD "/interceptor", "status", "--config", P.config,
			  NULL};

	skip_without_valgrind();
	tpod_write_config("");
	tpod_start_daemon();
	cr_assert_eq(tpod_run(0, out, sizeof(out), 60000, status), 0, "%s", vg_report("status"));
	cr_assert(strstr(out, "generation"), "status printed:\n%s", out);
}

Test(valgrind, short_run_then_sigterm_is_clean)
{
	char ready[PATH_MAX], log[PATH_MAX], line[1024];
	char *run[] = {VG("run"), T_BUILD "/interceptor", "run", "--config",
		       P.config,  "--ready-file",	  ready, NULL};
	int st, i;

	skip_without_valgrind();
	tpod_write_config("");
	snprintf(ready, sizeof(ready), "%s/vg.ready", P.dir);
	snprintf(log, sizeof(log), "%s/vg-daemon.log", P.dir);
	P.daemon = tpod_spawn_at(NULL, NULL, 0, log, run);
	/* Valgrind runs it some 20-50 times slower. */
	cr_assert(tpod_wait_file(ready, 120000), "not ready under valgrind:\n%s", vg_report("run"));
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	/* Detaching, unpinning and the leak check take seconds under valgrind. */
	cr_assert_eq(kill(P.daemon, SIGTERM), 0);
	for (i = 0; i < 1200 && waitpid(P.daemon, &st, WNOHANG) != P.daemon; i++)
		usleep(50000);
	cr_assert_lt(i, 1200, "no exit 60 s after SIGTERM:\n%s", vg_report("run"));
	P.daemon = 0;
	cr_assert(WIFEXITED(st), "the daemon did not exit (status %d):\n%s", st, vg_report("run"));
	cr_assert_eq(WEXITSTATUS(st), 0, "exit %d:\n%s", WEXITSTATUS(st), vg_report("run"));
}
