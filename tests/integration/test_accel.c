// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Adaptive acceleration (docs/architecture.md): which connections enter the sockhash, learned
 * per destination from the connections that closed before, and the policy's overrides per port
 * and per service. Real sockets in the pod's cgroup; every byte checked where a line says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(accel, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo[] = {"--mode", "echo", NULL};

static unsigned long long num(const char *line, const char *key)
{
	char v[64];

	cr_assert_not_null(kv(line, key, v, sizeof(v)), "no %s in %s", key, line);
	return strtoull(v, NULL, 10);
}

static uint64_t accelerated(void)
{
	return tpod_counter(SC_C_accel_learning) + tpod_counter(SC_C_accel_long_lived) +
	       tpod_counter(SC_C_accel_policy_always);
}

static uint64_t skipped(void)
{
	return tpod_counter(SC_C_accel_skip_short_lived) + tpod_counter(SC_C_accel_skip_measured) +
	       tpod_counter(SC_C_accel_skip_policy_never);
}

/* R sequential connections of K exchanges of 64 bytes each to 127.0.0.1:PORT; all must succeed. */
static void exchanges(const char *port, const char *r, const char *k)
{
	char line[1024];

	t_client(T_POD | T_CGROUP, line, "127.0.0.1", port, "--repeat", r, "--exchanges", k,
		 NULL);
	cr_assert_eq(num(line, "ok"), strtoull(r, NULL, 10), "%s", line);
}

/* One connection of K exchanges of 64 bytes to 127.0.0.1:PORT, every byte checked. */
static void intact(const char *port, const char *k, const char *bytes)
{
	char line[1024];

	t_client(T_POD | T_CGROUP, line, "127.0.0.1", port, "--exchanges", k, NULL);
	t_assert_intact(line, bytes);
}

Test(accel, short_connections_stop_entering_the_sockhash_after_learning_while_long_ones_do)
{
	char *longs[] = {T_BUILD "/tcptool", "client", "127.0.0.1", "7071", "--repeat", "60",
			 "--exchanges", "100", NULL};
	char log[PATH_MAX], text[4096], line[1024];
	uint64_t inserts, shorts;
	pid_t pid;
	int st;

	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7071", echo);
	/* Long request/response connections to 7071 while short ones go to 7070. */
	snprintf(log, sizeof(log), "%s/longs.out", P.dir);
	pid = tpod_spawn(T_POD | T_CGROUP, log, longs);
	exchanges("7070", "200", "1");
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	t_read_file(log, text, sizeof(text));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", text);
	cr_assert_eq(num(line_with(text, "summary ", line, sizeof(line)), "ok"), 60, "%s", text);

	/* Every connection was decided once, by its connecting end. */
	cr_assert_eq(accelerated() + skipped(), 260);
	/* Short ones: the learning window (a few more if a close came late), then skipped, one
	 * in SC_ACCEL_PROBE measured on plain TCP. */
	shorts = tpod_counter(SC_C_accel_skip_short_lived) + tpod_counter(SC_C_accel_skip_measured);
	cr_assert_geq(shorts, 200 - SC_ACCEL_LEARN - 4, "only %lu short ones skipped",
		      (unsigned long)shorts);
	cr_assert_geq(tpod_counter(SC_C_accel_skip_measured), shorts / SC_ACCEL_PROBE - 1);
	cr_assert_leq(tpod_counter(SC_C_accel_skip_measured), shorts / SC_ACCEL_PROBE + 1);
	/* Long ones: all of them, learning and then long-lived. */
	cr_assert_geq(tpod_counter(SC_C_accel_long_lived), 60 - SC_ACCEL_LEARN - 4);
	cr_assert_eq(tpod_counter(SC_C_accel_skip_policy_never), 0);
	/* Both ends of each accelerated connection entered, no skipped one did. */
	inserts = tpod_counter(SC_C_sockops_sockhash_insert);
	cr_assert_eq(inserts, 2 * accelerated());
	cr_assert_leq(inserts, 2 * (60 + SC_ACCEL_LEARN + 4));
	cr_assert_eq(tpod_counter(SC_C_msg_demote_peer_missing), 0);
	/* The next short connection stays out, and its bytes arrive on plain TCP. */
	intact("7070", "1", "64");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts);
	/* The next long one goes in, and sk_msg carries it exactly. */
	intact("7071", "50", "3200");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts + 2);
	cr_assert_eq(tpod_map_entries(SC_MAP_DESTS), 2);
}

Test(accel, destination_that_turns_long_lived_is_accelerated_again_within_the_probe_interval)
{
	uint64_t before, inserts;

	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	exchanges("7070", "80", "1");
	cr_assert_geq(tpod_counter(SC_C_accel_skip_short_lived), 80 - SC_ACCEL_LEARN - 16);
	/* The same destination now carries 100 exchanges per connection. */
	before = tpod_counter(SC_C_accel_skip_short_lived) + tpod_counter(SC_C_accel_skip_measured);
	inserts = tpod_counter(SC_C_sockops_sockhash_insert);
	exchanges("7070", "30", "100");
	/* At most SC_ACCEL_PROBE of them went by before one was measured; every one after that
	 * measured connection was accelerated. */
	cr_assert_leq(tpod_counter(SC_C_accel_skip_short_lived) +
			      tpod_counter(SC_C_accel_skip_measured) - before,
		      SC_ACCEL_PROBE);
	cr_assert_geq(tpod_counter(SC_C_accel_long_lived), 30 - SC_ACCEL_PROBE);
	cr_assert_geq(tpod_counter(SC_C_sockops_sockhash_insert) - inserts,
		      2 * (30 - SC_ACCEL_PROBE));
	intact("7070", "100", "6400");
	/* And back: short again, it drops out within a few connections (the average decays by a
	 * quarter per measured connection, and accelerated ones are all measured). */
	exchanges("7070", "40", "1");
	inserts = tpod_counter(SC_C_sockops_sockhash_insert);
	exchanges("7070", "10", "1");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts);
}

Test(accel, always_and_never_ports_override_the_history)
{
	uint64_t inserts;

	tpod_write_config("accelerationPorts:\n  always: [7070]\n  never: [7071]\n");
	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7071", echo);
	/* Short, but always: every one in, both ends. */
	exchanges("7070", "40", "1");
	cr_assert_eq(tpod_counter(SC_C_accel_policy_always), 40);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 80);
	intact("7070", "1", "64");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 82);
	/* Long, but never: none in, and sk_msg never runs for them. */
	inserts = tpod_counter(SC_C_sockops_sockhash_insert);
	exchanges("7071", "10", "100");
	intact("7071", "100", "6400");
	cr_assert_eq(tpod_counter(SC_C_accel_skip_policy_never), 11);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts);
	cr_assert_eq(tpod_counter(SC_C_accel_learning) + tpod_counter(SC_C_accel_long_lived), 0);
}

Test(accel, global_never_with_an_always_port_accelerates_that_port_only)
{
	tpod_write_config("acceleration: never\naccelerationPorts: {always: [7071]}\n");
	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7071", echo);
	intact("7070", "100", "6400");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect), 0);
	intact("7071", "100", "6400");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect_bytes), 2 * 6400);
}

static void service_config(const char *global, const char *svc_accel)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
		 "acceleration: %s\nservices:\n  - name: reviews\n    vip: 10.96.0.20\n"
		 "    port: 9080\n    acceleration: %s\n    endpoints:\n"
		 "      - {address: " T_REMOTE_ADDR4 ", port: 9001}\n",
		 global, svc_accel);
	tpod_write_config(yaml);
}

static void through_proxy_to_service(void)
{
	char line[1024];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "9001", echo);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", "--exchanges", "20", NULL);
	t_assert_intact(line, "1280");
	cr_assert_eq(tpod_counter(SC_C_lb_redirect), 1);
}

Test(accel, service_never_overrides_global_always_on_both_ends)
{
	service_config("always", "never");
	through_proxy_to_service();
	/* Neither the app's socket nor the proxy's accepted one: the proxy's side reads the
	 * service's rule from the handover, not the global always. */
	cr_assert_eq(tpod_counter(SC_C_accel_skip_policy_never), 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect), 0);
}

Test(accel, service_always_overrides_global_never)
{
	service_config("never", "always");
	through_proxy_to_service();
	cr_assert_eq(tpod_counter(SC_C_accel_policy_always), 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect_bytes), 2 * 1280);
}

/* Redirected connections are learnt under the destination the app asked for, not the proxy's
 * port they all share: short ones to one remote port stop, long ones to another go on. */
Test(accel, redirected_connections_are_learnt_per_original_destination)
{
	char line[1024];
	uint64_t inserts;

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8081", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", "60", "--exchanges",
		 "1", NULL);
	cr_assert_eq(num(line, "ok"), 60, "%s", line);
	cr_assert_geq(tpod_counter(SC_C_accel_skip_short_lived), 60 - SC_ACCEL_LEARN - 8);
	inserts = tpod_counter(SC_C_sockops_sockhash_insert);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8081", "--repeat", "10", "--exchanges",
		 "50", NULL);
	cr_assert_eq(num(line, "ok"), 10, "%s", line);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts + 20);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--exchanges", "1", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), inserts + 20);
	cr_assert_eq(tpod_counter(SC_C_sockops_handover_claimed), 71);
}

/*
 * The sidecar-to-sidecar hop between two pods of the node: the client pod's sidecar offers the
 * pair, or not, as its history says; the server pod joins only offers. Short connections stop
 * being paired after the learning window, long ones to the same destination are paired again
 * within the probe interval, every byte intact.
 */
Test(accel, pod_to_pod_hop_is_paired_for_long_lived_connections_only)
{
	static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};
	static const char *const inbound[] = {"--inbound", "0.0.0.0:15006", NULL};
	struct tpeer *srv;
	char line[1024];
	uint64_t ready;

	t_need("netns_cookie"); /* pairing; before 5.15 the hop stays TCP (test_crosspod.c) */
	srv = tpod_add_peer("srv", P.rns);
	tpeer_start_server(srv, T_CGROUP, "::", "8080", echo_dual);
	tpeer_write_config(srv, "");
	tpeer_start_daemon(srv);
	tpeer_start_proxy_with(srv, inbound);
	tpod_start_daemon();
	tpod_start_proxy();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", "100", "--exchanges",
		 "1", NULL);
	cr_assert_eq(num(line, "ok"), 100, "%s", line);
	/* Each connection is two decisions of the client pod under one destination (the app's
	 * hop and its sidecar's upstream), so the window closes after half as many. */
	ready = tpod_node_counter(SC_X_xpod_pair_ready);
	cr_assert_leq(ready, SC_ACCEL_LEARN, "%lu pairs", (unsigned long)ready);
	cr_assert_geq(tpod_counter(SC_C_accel_skip_short_lived), 100);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", "20", "--exchanges",
		 "100", NULL);
	cr_assert_eq(num(line, "ok"), 20, "%s", line);
	cr_assert_geq(tpod_node_counter(SC_X_xpod_pair_ready) - ready, 20 - SC_ACCEL_PROBE);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--exchanges", "100", NULL);
	t_assert_intact(line, "6400");
	cr_assert_eq(tpod_node_counter(SC_X_xpod_msg_demote_peer_missing), 0);
}
