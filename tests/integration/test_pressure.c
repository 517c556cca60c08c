// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maps filled on purpose. Each map that can fill is made small (`run --map-max NAME=N`) and filled
 * with real connections (or, for an LRU, with entries written from here): the app's connections
 * still work, failing open or closed exactly as configured; a counter says why; `status` shows
 * the map at its limit; and a policy that would not fit is refused whole, the live one staying.
 * Socket storage (sc_origdst, sc_xsk) has no capacity: it fails only when the kernel is out of
 * memory, which no test can arrange (the connect program's answer to that is unit-sized: fail
 * open or closed per proxy.failOpen, counted as errors__origdst_storage).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(pressure, .init = tpod_setup, .fini = tpod_teardown, .timeout = 120);

static const char *const echo[] = {"--mode", "echo", NULL};
static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};

/* `interceptor status` of P: its whole output. */
static const char *status(void)
{
	static char text[16384];
	char *argv[] = {T_BUILD "/interceptor", "status", "--config", P.config, NULL};

	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, argv), 0, "%s", text);
	return text;
}

static void wait_entries(const char *map, long n)
{
	int i;

	for (i = 0; i < 300 && tpod_map_entries(map) != n; i++)
		usleep(10000);
	cr_assert_eq(tpod_map_entries(map), n, "%s", map);
}

/* A client of the remote echo server that holds its connection MS before its transfer. */
static pid_t held_client(const char *ms)
{
	char log[PATH_MAX];
	char *argv[] = {T_BUILD "/tcptool", "client", T_REMOTE_ADDR4, "8080", "--hold-ms",
			(char *)ms, "--send", "1M", NULL};

	snprintf(log, sizeof(log), "%s/held.out", P.dir);
	return tpod_spawn(T_POD | T_CGROUP, log, argv);
}

static void assert_held_intact(pid_t pid)
{
	char log[PATH_MAX], text[4096], line[1024];
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	snprintf(log, sizeof(log), "%s/held.out", P.dir);
	t_read_file(log, text, sizeof(text));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", text);
	cr_assert_not_null(line_with(text, "conn ", line, sizeof(line)), "%s", text);
	t_assert_intact(line, "1048576");
}

static void start_outbound_pod(const char *const daemon_args[])
{
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_write_config("");
	tpod_start_daemon_with(daemon_args);
	tpod_start_proxy();
}

Test(pressure, full_sockhash_leaves_a_connection_on_plain_tcp_and_status_says_full)
{
	static const char *const args[] = {"--map-max", "sc_sockhash=2", NULL};
	char line[1024];
	pid_t held;

	start_outbound_pod(args);
	held = held_client("1500");
	/* The app's socket and the proxy's accepted one fill the two entries. */
	wait_entries(SC_MAP_SOCKHASH, 2);
	cr_assert_not_null(strstr(status(), "sc_sockhash                  2 / 2 (full)"), "%s",
			   status());
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "8M", NULL);
	t_assert_intact(line, "8388608");
	/* Both of its ends fell back to plain TCP; it was still intercepted. */
	cr_assert_eq(tpod_counter(SC_C_errors__sockhash_insert), 2);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 2);
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 2);
	assert_held_intact(held);
}

Test(pressure, full_flow_map_leaves_a_connection_unaccelerated_and_intact)
{
	static const char *const args[] = {"--map-max", "sc_flows=1", NULL};
	char line[1024];
	pid_t held;

	start_outbound_pod(args);
	held = held_client("1500");
	wait_entries(SC_MAP_FLOWS, 1);
	cr_assert_not_null(strstr(status(), "sc_flows                     1 / 1 (full)"), "%s",
			   status());
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "8M", NULL);
	t_assert_intact(line, "8388608");
	/* Each end tried to create the flow; without it sk_msg never redirects. */
	cr_assert_eq(tpod_counter(SC_C_errors__flow_full), 2);
	cr_assert_gt(tpod_counter(SC_C_msg_pass_no_flow), 0);
	assert_held_intact(held);
}

/* An LRU never refuses: at capacity the oldest entry goes. The handover of a new connection
 * still reaches the proxy. */
Test(pressure, full_handover_lru_still_hands_the_original_destination_over)
{
	static const char *const args[] = {"--map-max", "sc_handover=4", NULL};
	struct sc_origdst od = {.flags = SC_ORIG_F_CLIENT};
	char line[1024];
	int fd, i;

	start_outbound_pod(args);
	fd = tpod_open_pinned(SC_MAP_HANDOVER);
	cr_assert_geq(fd, 0);
	for (i = 0; i < 4; i++) {
		struct sc_tuple t = {.family = 2, .lport = 40000 + i, .rport = 15001};

		cr_assert_eq(bpf_map_update_elem(fd, &t, &od, BPF_ANY), 0);
	}
	close(fd);
	cr_assert_not_null(strstr(status(), "sc_handover                  4 / 4 (full)"), "%s",
			   status());
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_handover_claimed), 1);
	cr_assert_eq(tpod_counter(SC_C_errors__handover_full), 0);
}

/* A listener that does not fit is not registered: its family's inbound connections fail as
 * configured (here closed: refused, never the app unproxied); the other family is steered. */
Test(pressure, listener_that_does_not_fit_fails_its_inbound_closed_as_configured)
{
	static const char *const args[] = {"--map-max", "sc_listeners=1", NULL};
	static const char *const listeners[] = {"--inbound", "0.0.0.0:15006", "--inbound",
						"[::]:15006", NULL};
	char *v6[] = {T_BUILD "/tcptool", "client", T_POD_ADDR6, "8080",
		      "--connect-timeout-ms", "500", NULL};
	char text[4096], line[1024];

	tpod_start_server(T_POD | T_CGROUP, "::", "8080", echo_dual);
	tpod_write_config_inbound("proxy:\n  failOpen: false\n");
	tpod_start_daemon_with(args);
	tpod_start_proxy_with(listeners);
	/* The proxy listens on v4 first: the v6 listener found the map full. */
	cr_assert_eq(tpod_counter(SC_C_sockops_listener_registered), 1);
	cr_assert_eq(tpod_counter(SC_C_errors__listener_register), 1);
	cr_assert_not_null(strstr(status(), "sc_listeners                 1 / 1 (full)"), "%s",
			   status());
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_neq(tpod_run(T_REMOTE, text, sizeof(text), 10000, v6), 0, "%s", text);
	cr_assert_not_null(strstr(text, "error:ECONNREFUSED"), "%s", text);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_closed), 1);
}

/* Picks are only counted: a full picks map costs the count, never the connection. */
Test(pressure, full_picks_map_leaves_picks_uncounted_and_connections_working)
{
	static const char *const args[] = {"--map-max", "sc_picks=1", NULL};
	char line[1024], v[64];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8081", echo);
	tpod_write_config("services:\n"
			  "  - name: web\n"
			  "    vip: 10.96.0.10\n"
			  "    port: 80\n"
			  "    balance: round_robin\n"
			  "    endpoints:\n"
			  "      - {address: " T_REMOTE_ADDR4 ", port: 8080}\n"
			  "      - {address: " T_REMOTE_ADDR4 ", port: 8081}\n");
	tpod_start_daemon_with(args);
	tpod_start_proxy();
	t_client(T_POD | T_CGROUP, line, "10.96.0.10", "80", "--repeat", "4", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "4", "%s", line);
	cr_assert_eq(tpod_counter(SC_C_lb_redirect), 4);
	cr_assert_eq(tpod_counter(SC_C_errors__picks_full), 2);
	cr_assert_not_null(strstr(status(), "sc_picks                     1 / 1 (full)"), "%s",
			   status());
}

static void wait_generation_above(unsigned int gen)
{
	int i;

	for (i = 0; i < 200 && tpod_generation() <= gen; i++)
		usleep(10000);
}

/* A policy that would not fit one slot of the LPM trie is refused whole: nothing of it is
 * written, the live policy stays, the daemon says what it needs and the fix, and applies the
 * next edit that fits. */
Test(pressure, policy_too_big_for_a_slot_is_refused_whole_and_the_live_one_stays)
{
	static const char *const args[] = {"--map-max", "sc_cidrs=4", NULL};
	char log[PATH_MAX], line[1024];
	unsigned int gen;

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	/* "*" is two CIDR entries, 0.0.0.0/0 and ::/0: the two a slot holds. */
	tpod_write_config("");
	tpod_start_daemon_with(args);
	tpod_start_proxy();
	gen = tpod_generation();
	tpod_write_config("outbound:\n  excludeIPRanges: [" T_REMOTE_ADDR4 "/32]\n");
	usleep(500000);
	cr_assert_eq(tpod_generation(), gen, "a policy that does not fit went live");
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	cr_assert_eq(file_count(log, "the policy needs 3 CIDR entries, one policy slot of sc_cidrs "
				     "holds 2"),
		     1);
	cr_assert_eq(file_count(log, "--map-max sc_cidrs=6"), 1);
	/* The live policy (everything intercepted) is still the one in force. */
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_cidr), 0);
	/* An edit that fits goes live. */
	tpod_write_config("outbound:\n  excludePorts: [8080]\n");
	wait_generation_above(gen);
	cr_assert_gt(tpod_generation(), gen);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 1);
}

Test(pressure, policy_too_big_at_start_is_refused_and_attaches_nothing)
{
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config, "--map-max",
			"sc_ports=2", NULL};
	char text[8192];

	tpod_write_config("outbound:\n  excludePorts: [22, 25]\n");
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, argv), 1, "%s", text);
	cr_assert_not_null(strstr(text, "the policy needs 5 port entries, one policy slot of "
					"sc_ports holds 1"),
			   "%s", text);
	cr_assert_lt(tpod_open_pinned(SC_MAP_STATE), 0, "pins were left");
}

/* --map-max names a map status counts, with a capacity. */
Test(pressure, map_max_of_an_unknown_map_is_a_usage_error)
{
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config, "--map-max",
			"sc_nothing=2", NULL};
	char text[4096];

	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, argv), 2, "%s", text);
	cr_assert_not_null(strstr(text, "--map-max sc_nothing=2: use NAME=N"), "%s", text);
}

/*
 * The node's sockhash full: the sidecar-to-sidecar hop of one more connection between two pods
 * cannot be paired and stays plain TCP, counted. The node maps take the capacity of the first pod
 * that creates them.
 */
Test(pressure, full_node_sockhash_leaves_a_pod_to_pod_hop_on_tcp)
{
	static const char *const args[] = {"--map-max", "sc_xsocks=2", NULL};
	static const char *const listeners[] = {"--inbound", "0.0.0.0:15006", NULL};
	struct tpeer *srv = tpod_add_peer("srv", P.rns);
	char line[1024];
	pid_t held;
	int i;

	t_need("netns_cookie");
	tpeer_start_server(srv, T_CGROUP, "::", "8080", echo_dual);
	tpeer_write_config(srv, "");
	tpeer_start_daemon_with(srv, args);
	tpeer_start_proxy_with(srv, listeners);
	tpod_write_config("");
	tpod_start_daemon();
	tpod_start_proxy();
	held = held_client("1500");
	for (i = 0; i < 300 && tpod_node_counter(SC_X_xpod_pair_ready) < 1; i++)
		usleep(10000);
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XSOCKS), 2);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "8M", NULL);
	t_assert_intact(line, "8388608");
	cr_assert_eq(tpod_node_counter(SC_X_errors__xpod_insert), 1);
	cr_assert_eq(tpod_node_counter(SC_X_xpod_pair_ready), 1);
	assert_held_intact(held);
}
