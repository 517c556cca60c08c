// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Signals at each stage of start-up (issue 17): SIGTERM, SIGINT and SIGHUP delivered while
 * `interceptor run` is at load (programs loaded and pinned), apply (policy written, nothing
 * attached) and attach (attached, the loop not yet running). The daemon's test hook
 * SIDECAP_TEST_PAUSE=STAGE stops it there (SIGSTOP, tpod_start_paused); the test sends the
 * signal, then SIGCONT. (test_iptables.c does the same for mode: iptables.)
 * A stop signal must end in a clean state (nothing attached, nothing pinned, exit 0); SIGHUP
 * must leave a running daemon with the policy live, which a later SIGTERM takes down clean.
 * And during the take-down (detach, after a first SIGTERM): any of the three ends it clean.
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

TestSuite(signals, .init = tpod_setup, .fini = tpod_teardown, .timeout = 120);

static void assert_clean(const char *what)
{
	cr_assert_eq(tpod_attached_programs(), 0, "%s: programs left attached", what);
	cr_assert_eq(access(P.pin_path, F_OK), -1, "%s: %s still exists", what, P.pin_path);
}

static void stop_signal_at(const char *stage, int sig)
{
	char ready[PATH_MAX];
	pid_t pid;

	tpod_write_config("");
	pid = tpod_start_paused(stage, ready, sizeof(ready));
	tpod_assert_exit0(tpod_signal_stopped(pid, sig), sig, stage);
	assert_clean(stage);
}

static void sighup_at(const char *stage)
{
	char ready[PATH_MAX];
	pid_t pid;
	int st;

	tpod_write_config("");
	pid = tpod_start_paused(stage, ready, sizeof(ready));
	cr_assert_eq(kill(pid, SIGHUP), 0);
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert(tpod_wait_file(ready, 10000), "not ready after SIGHUP at %s:\n%s", stage,
		  tpod_daemon_log());
	cr_assert_eq(kill(pid, 0), 0, "SIGHUP at %s ended the daemon", stage);
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	cr_assert_gt(tpod_generation(), 0);
	st = tpod_kill(pid, SIGTERM);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	assert_clean(stage);
}

Test(signals, sigterm_at_load_ends_clean)
{
	stop_signal_at("load", SIGTERM);
}
Test(signals, sigterm_at_apply_ends_clean)
{
	stop_signal_at("apply", SIGTERM);
}
Test(signals, sigterm_at_attach_ends_clean)
{
	stop_signal_at("attach", SIGTERM);
}
Test(signals, sigint_at_load_ends_clean)
{
	stop_signal_at("load", SIGINT);
}
Test(signals, sigint_at_apply_ends_clean)
{
	stop_signal_at("apply", SIGINT);
}
Test(signals, sigint_at_attach_ends_clean)
{
	stop_signal_at("attach", SIGINT);
}
Test(signals, sighup_at_load_keeps_running)
{
	sighup_at("load");
}
Test(signals, sighup_at_apply_keeps_running)
{
	sighup_at("apply");
}
Test(signals, sighup_at_attach_keeps_running)
{
	sighup_at("attach");
}

/*
 * During the take-down: SIGTERM starts it, the daemon stops itself before detaching, and a
 * second signal arrives. Held back, it has nothing left to do: the pod is taken down whole.
 */
static void signal_at_detach(int sig)
{
	char ready[PATH_MAX];
	pid_t pid;

	tpod_write_config("");
	pid = tpod_start_pausing_at("detach", ready, sizeof(ready));
	cr_assert(tpod_wait_file(ready, 10000), "not ready:\n%s", tpod_daemon_log());
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	tpod_assert_exit0(tpod_signal_at_detach(pid, sig), sig, "detach");
	assert_clean("detach");
}

Test(signals, sigterm_at_detach_ends_clean)
{
	signal_at_detach(SIGTERM);
}
Test(signals, sigint_at_detach_ends_clean)
{
	signal_at_detach(SIGINT);
}
Test(signals, sighup_at_detach_ends_clean)
{
	signal_at_detach(SIGHUP);
}
