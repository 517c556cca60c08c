// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Connect-time load balancing over service endpoints, through the proxy or straight. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(services, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const sink[] = {"--mode", "echo", NULL};

/* Endpoints: echo servers on the remote host, ports 9001.. (server N logs to server-N.log). */
static void start_endpoints(const char *addr, int n)
{
	char port[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(port, sizeof(port), "%d", 9001 + i);
		tpod_start_server(T_REMOTE, addr, strdup(port), sink);
	}
}

/* Connections server N has served so far (its report lines). */
static int served(int n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/server-%d.log", P.dir, n);
	return file_count(path, "conn ");
}

static void wait_served_total(int n_servers, int total)
{
	int i, j, sum = 0;

	for (j = 0; j < 500; j++) {
		for (sum = 0, i = 0; i < n_servers; i++)
			sum += served(i);
		if (sum >= total)
			break;
		usleep(10000);
	}
	cr_assert_eq(sum, total, "servers saw %d connections, want %d", sum, total);
}

static void service_config(const char *balance, const char *sidecar, const char *eps,
			   const char *extra)
{
	char yaml[4096];

	snprintf(yaml, sizeof(yaml),
		 "%sservices:\n  - name: reviews\n    vip: 10.96.0.20\n    port: 9080\n"
		 "    balance: %s\n    sidecar: %s\n    endpoints:\n%s",
		 extra, balance, sidecar, eps);
	tpod_write_config(yaml);
}

static const char *const eps_3_1 = "      - {address: 10.99.0.2, port: 9001, weight: 3}\n"
				   "      - {address: 10.99.0.2, port: 9002, weight: 1}\n";

static void weights_hold(const char *balance)
{
	const unsigned int n = t_scaled(10000);
	char line[1024], v[64], want[16];
	double share;

	snprintf(want, sizeof(want), "%u", n);
	service_config(balance, "bypass", eps_3_1, "");
	tpod_start_daemon();
	start_endpoints(T_REMOTE_ADDR4, 2);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", "--repeat", want, NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), want, "%s", line);
	wait_served_total(2, n);
	share = served(0) / (double)n;
	/* Three standard deviations of a 3:1 random choice at 2,500 connects are 0.026. */
	cr_assert(share > 0.72 && share < 0.78, "%s: weight 3 of 4 got %.3f of %u connects", balance,
		  share, n);
	cr_assert_eq(tpod_counter(SC_C_lb_bypass), n);
}

Test(services, round_robin_honours_weights_over_10000_connects)
{
	weights_hold("round_robin");
}

Test(services, random_honours_weights_over_10000_connects)
{
	weights_hold("random");
}

Test(services, bypass_reaches_the_endpoint_without_proxy_and_app_sees_the_vip)
{
	char line[1024], v[128];

	service_config("random", "bypass", "      - {address: 10.99.0.2, port: 9001}\n", "");
	tpod_start_daemon();
	start_endpoints(T_REMOTE_ADDR4, 1);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", "--send", "100000", NULL);
	t_assert_intact(line, "100000");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "10.96.0.20:9080");
	cr_assert_eq(tpod_counter(SC_C_lb_bypass), 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_handover_stored), 0);
	cr_assert_eq(tpod_map_entries(SC_MAP_HANDOVER), 0);
}

Test(services, ipv6_vip_balances_to_ipv6_endpoints)
{
	char line[1024], v[128];

	tpod_write_config("services:\n  - name: v6\n    vip: fd00:96::20\n    port: 9080\n"
			  "    sidecar: bypass\n    endpoints:\n"
			  "      - {address: \"fd00:99::2\", port: 9001}\n");
	tpod_start_daemon();
	start_endpoints(T_REMOTE_ADDR6, 1);
	t_client(T_POD | T_CGROUP, line, "fd00:96::20", "9080", "--send", "5000", NULL);
	t_assert_intact(line, "5000");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[fd00:96::20]:9080");
	cr_assert_eq(served(0), 1);
}

Test(services, redirect_tells_the_proxy_the_endpoint)
{
	char line[1024], v[128];

	service_config("round_robin", "redirect",
		       "      - {address: 10.99.0.2, port: 9001}\n"
		       "      - {address: 10.99.0.2, port: 9002}\n",
		       "");
	tpod_start_daemon();
	tpod_start_proxy();
	start_endpoints(T_REMOTE_ADDR4, 2);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", NULL);
	t_assert_intact(line, "64");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "10.96.0.20:9080");
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", NULL);
	t_assert_intact(line, "64");
	/* proxy-stub balanced nothing: SO_ORIGINAL_DST named each chosen endpoint. */
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":9001", 1);
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":9002", 1);
	cr_assert_eq(tpod_counter(SC_C_lb_redirect), 2);
	cr_assert_eq(served(0), 1);
	cr_assert_eq(served(1), 1);
}

Test(services, original_dst_service_tells_the_proxy_the_vip)
{
	char line[1024];

	service_config("random", "redirect", "      - {address: 10.99.0.2, port: 9001}\n",
		       "proxy:\n  originalDst: service\n");
	tpod_start_daemon();
	tpod_start_proxy();
	start_endpoints(T_REMOTE_ADDR4, 1);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", NULL);
	t_assert_intact(line, "64");
	/* The proxy is told the VIP and connects to it; its own connect is balanced straight to
	 * the endpoint. */
	t_wait_proxy_lines("orig=10.96.0.20:9080", 1);
	cr_assert_eq(tpod_counter(SC_C_lb_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_lb_proxy_direct), 1);
	cr_assert_eq(served(0), 1);
}

/* Each client process keeps its endpoint while the set is stable. */
Test(services, maglev_keeps_each_client_on_one_endpoint)
{
	char line[1024], v[64];
	int c, i, before[4], hit;

	service_config("maglev", "bypass",
		       "      - {address: 10.99.0.2, port: 9001}\n"
		       "      - {address: 10.99.0.2, port: 9002}\n"
		       "      - {address: 10.99.0.2, port: 9003}\n"
		       "      - {address: 10.99.0.2, port: 9004}\n",
		       "");
	tpod_start_daemon();
	start_endpoints(T_REMOTE_ADDR4, 4);
	for (c = 0; c < 20; c++) {
		for (i = 0; i < 4; i++)
			before[i] = served(i);
		t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", "--repeat", "10", NULL);
		cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "10", "%s", line);
		wait_served_total(4, 10 * (c + 1));
		for (hit = 0, i = 0; i < 4; i++)
			if (served(i) != before[i]) {
				hit++;
				cr_assert_eq(served(i) - before[i], 10, "client %d split", c);
			}
		cr_assert_eq(hit, 1, "client %d used %d endpoints", c, hit);
	}
}

/* After an endpoint leaves, no new connection reaches it; one open to it is not moved. */
Test(services, removed_endpoint_gets_no_new_connection_and_open_ones_stay)
{
	char *held[] = {T_BUILD "/tcptool", "client", "10.96.0.20", "9080", "--hold-ms", "1500",
			"--send",	    "1M",     NULL};
	char line[1024], v[64], heldlog[PATH_MAX], text[4096];
	unsigned int gen;
	pid_t hp;
	int st, i, n2;

	service_config("round_robin", "bypass",
		       "      - {address: 10.99.0.2, port: 9001}\n"
		       "      - {address: 10.99.0.2, port: 9002}\n",
		       "");
	tpod_start_daemon();
	start_endpoints(T_REMOTE_ADDR4, 2);
	snprintf(heldlog, sizeof(heldlog), "%s/held.out", P.dir);
	/* Two held connections: round robin puts one on each endpoint. Both are up before the
	 * endpoint goes (waited for, not slept on: emulated kernels are slow to connect). */
	hp = tpod_spawn(T_POD | T_CGROUP, heldlog, held);
	tpod_spawn(T_POD | T_CGROUP, heldlog, held);
	for (i = 0; i < 1000 && tpod_counter(SC_C_lb_bypass) < 2; i++)
		usleep(10000);
	cr_assert_eq(tpod_counter(SC_C_lb_bypass), 2, "the held connections are not up");
	gen = tpod_generation();
	service_config("round_robin", "bypass", "      - {address: 10.99.0.2, port: 9001}\n", "");
	kill(P.daemon, SIGHUP);
	for (i = 0; i < 200 && tpod_generation() == gen; i++)
		usleep(5000);
	cr_assert_gt(tpod_generation(), gen);
	n2 = served(1);
	t_client(T_POD | T_CGROUP, line, "10.96.0.20", "9080", "--repeat", "1000", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "1000", "%s", line);
	cr_assert_eq(waitpid(hp, &st, 0), hp);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < 200 && (served(0) < 1001 || served(1) < 1); i++)
		usleep(10000);
	/* The held connection on the removed endpoint finished there, intact. */
	cr_assert_eq(served(1), n2 + 1, "the removed endpoint got new connections");
	cr_assert_eq(served(0), 1001);
	t_read_file(heldlog, text, sizeof(text));
	cr_assert_not_null(line_with(text, "conn ", line, sizeof(line)), "%s", text);
	t_assert_intact(line, "1048576");
}
