// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Inbound interception whatever the order in which the proxy and the interceptor start, and after
 * any restart or cleanup of the interceptor: a proxy that was already listening when the programs
 * were attached never calls listen() again, so the daemon must find its listener itself
 * (bpf/listeners.bpf.c). Without that, every inbound connection would bypass the proxy (fail open)
 * or be refused although the proxy is up (fail closed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(startorder, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};
static const char *const inbound_listeners[] = {"--inbound", "0.0.0.0:15006", "--inbound",
						"[::]:15006", NULL};

/* The app: an echo server on 8080 in the pod's cgroup, v4 and v6. */
static void start_app(void)
{
	tpod_start_server(T_POD | T_CGROUP, "::", "8080", echo_dual);
}

/* A client on the remote host reaches the app at the pod's address ADDR, and the proxy logged it
 * as the N-th inbound connection to ORIG. */
static void assert_inbound_through_proxy(const char *addr, const char *orig, int n)
{
	char line[1024];

	t_client(T_REMOTE, line, addr, "8080", NULL);
	t_assert_intact(line, "64");
	t_wait_proxy_lines(orig, n);
}

#define ORIG4 "orig=" T_POD_ADDR4 ":8080 dir=in"
#define ORIG6 "orig=[" T_POD_ADDR6 "]:8080 dir=in"

static void wait_generation_above(unsigned int gen)
{
	int i;

	for (i = 0; i < 200 && tpod_generation() <= gen; i++)
		usleep(10000);
	cr_assert_gt(tpod_generation(), gen, "no new policy 2 s after the edit");
}

/* The daemon looks for listeners once the new policy is live: wait for it to be done. */
static void wait_listeners(long n)
{
	int i;

	for (i = 0; i < 200 && tpod_map_entries(SC_MAP_LISTENERS) != n; i++)
		usleep(10000);
	cr_assert_eq(tpod_map_entries(SC_MAP_LISTENERS), n);
}

Test(startorder, proxy_listening_before_the_interceptor_gets_inbound_v4_and_v6)
{
	start_app();
	tpod_write_config_inbound("");
	tpod_start_proxy_with(inbound_listeners);
	tpod_start_daemon();
	/* Both listeners were found by the scan, none by a listen() callback. */
	cr_assert_eq(tpod_counter(SC_C_listener_scan_registered), 2);
	cr_assert_eq(tpod_counter(SC_C_sockops_listener_registered), 0);
	cr_assert_eq(tpod_map_entries(SC_MAP_LISTENERS), 2);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 1);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 2);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 0);
}

Test(startorder, kill9_cleanup_and_run_under_a_running_proxy_keep_inbound_through_the_proxy)
{
	char *cleanup[] = {T_BUILD "/interceptor", "cleanup", "--config", P.config, NULL};
	char text[4096];

	start_app();
	tpod_write_config_inbound("");
	tpod_start_daemon();
	tpod_start_proxy_with(inbound_listeners);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 1);
	/* A crash, then an operator's cleanup: the pins (and the registrations) are gone. */
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, cleanup), 0, "%s", text);
	cr_assert_lt(tpod_open_pinned(SC_MAP_LISTENERS), 0);
	cr_assert_eq(errno, ENOENT);
	/* The proxy never listens again; the new run finds it. */
	tpod_start_daemon();
	cr_assert_eq(tpod_counter(SC_C_listener_scan_registered), 2);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 2);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 2);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 0);
}

Test(startorder, kill9_and_run_without_cleanup_adopts_and_keeps_inbound)
{
	start_app();
	tpod_write_config_inbound("");
	tpod_start_daemon();
	tpod_start_proxy_with(inbound_listeners);
	tpod_kill(P.daemon, SIGKILL);
	tpod_start_daemon();
	/* The pinned sc_listeners kept the listen() registrations; the scan finds the same. */
	cr_assert_eq(tpod_counter(SC_C_sockops_listener_registered), 2);
	cr_assert_eq(tpod_map_entries(SC_MAP_LISTENERS), 2);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 1);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 1);
}

/* failOpen: false must not refuse inbound connections because the proxy started first; and once
 * the proxy restarts, it registers itself again at listen(). */
Test(startorder, fail_closed_with_the_proxy_already_up_steers_inbound_and_survives_a_proxy_restart)
{
	char *in[] = {T_BUILD "/tcptool",     "client", T_POD_ADDR4, "8080",
		      "--connect-timeout-ms", "500",	NULL};
	char text[4096];

	start_app();
	tpod_write_config_inbound("proxy:\n  failOpen: false\n");
	tpod_start_proxy_with(inbound_listeners);
	tpod_start_daemon();
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 1);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_closed), 0);
	/* The proxy goes away: refused, never the app unproxied. */
	tpod_kill(P.proxy, SIGKILL);
	cr_assert_neq(tpod_run(T_REMOTE, text, sizeof(text), 10000, in), 0, "%s", text);
	cr_assert_not_null(strstr(text, "error:ECONNREFUSED"), "%s", text);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_closed), 1);
	/* It comes back: registered by its own listen(). */
	tpod_start_proxy_with(inbound_listeners);
	cr_assert_eq(tpod_counter(SC_C_sockops_listener_registered), 2);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 2);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 2);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 4);
}

/* Only the pod's own sockets are taken: a socket of the pod's network namespace but of another
 * cgroup, listening on the inbound port, is not the proxy. */
Test(startorder, listener_outside_the_pod_cgroup_is_left_alone)
{
	static const char *const sink[] = {"--mode", "echo", NULL};
	char line[1024], rep[1024], v[128], log[PATH_MAX];

	start_app();
	tpod_start_server(T_POD, "0.0.0.0", "15006", sink);
	tpod_write_config_inbound("");
	tpod_start_daemon();
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	cr_assert_eq(file_count(log, "0.0.0.0:15006 in the pod's network namespace but is not in "
				     "the pod's cgroup"),
		     1);
	cr_assert_eq(tpod_counter(SC_C_listener_scan_registered), 0);
	cr_assert_eq(tpod_map_entries(SC_MAP_LISTENERS), 0);
	/* No proxy: fails open to the app, which sees the remote client itself. */
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert(strstr(kv(rep, "peer", v, sizeof(v)), T_REMOTE_ADDR4 "]:"), "%s", rep);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 1);
}

/* A live edit that moves the inbound port to one where the proxy already listens. */
Test(startorder, live_edit_of_the_inbound_port_finds_the_proxy_already_listening_there)
{
	static const char *const on_15007[] = {"--inbound", "0.0.0.0:15007", "--inbound",
					       "[::]:15007", NULL};
	char line[1024];
	unsigned int gen;

	start_app();
	tpod_write_config_inbound("");
	tpod_start_proxy_with(on_15007);
	tpod_start_daemon();
	cr_assert_eq(tpod_map_entries(SC_MAP_LISTENERS), 0);
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 1);
	gen = tpod_generation();
	tpod_write_config_inbound("proxy:\n  inboundPort: 15007\n");
	wait_generation_above(gen);
	wait_listeners(2);
	cr_assert_eq(tpod_counter(SC_C_listener_scan_registered), 2);
	assert_inbound_through_proxy(T_POD_ADDR4, ORIG4, 1);
	assert_inbound_through_proxy(T_POD_ADDR6, ORIG6, 1);
	/* And back: the entries of the port the policy left are dropped. */
	gen = tpod_generation();
	tpod_write_config_inbound("");
	wait_generation_above(gen);
	wait_listeners(0);
}
