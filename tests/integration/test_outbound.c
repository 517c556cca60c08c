// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Outbound interception with real sockets: an app in the pod's cgroup connects to the remote
 * host; proxy-stub (uid 1337) is the sidecar. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(outbound, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

static const char *const echo[] = {"--mode", "echo", NULL};

Test(outbound, v4_connect_reaches_proxy_with_original_destination)
{
	char line[1024], v[128];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "100000", NULL);
	t_assert_intact(line, "100000");
	/* The app sees its original destination as its peer, as under iptables REDIRECT. */
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_REMOTE_ADDR4 ":8080");
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_handover_claimed), 1);
}

Test(outbound, v6_connect_reaches_proxy_with_original_destination)
{
	char line[1024], v[128];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR6, "8080", "--send", "100000", NULL);
	t_assert_intact(line, "100000");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[" T_REMOTE_ADDR6 "]:8080");
	t_wait_proxy_lines("orig=[" T_REMOTE_ADDR6 "]:8080", 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 1);
}

Test(outbound, v4_mapped_connect_on_v6_socket_is_handled_as_ipv4)
{
	char line[1024], v[128];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, "::ffff:" T_REMOTE_ADDR4, "8080", "--send", "5000", NULL);
	t_assert_intact(line, "5000");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[::ffff:" T_REMOTE_ADDR4 "]:8080");
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
}

Test(outbound, proxy_uid_is_never_redirected)
{
	char line[1024];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP | T_UID_PROXY, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_skip_proxy_uid), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
	cr_assert_eq(t_proxy_lines("conn "), 0);
}

Test(outbound, excluded_port_cidr_and_loopback_go_direct)
{
	static const char *const extra[] = {"--mode", "echo", NULL};
	char line[1024];

	tpod_write_config("outbound:\n"
			  "  excludePorts: [9090]\n"
			  "  excludeIPRanges: [\"10.99.0.0/30\", \"fd00:99::/126\"]\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "9090", extra);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "8080", extra);
	tpod_start_server(T_POD, "127.0.0.1", "7070", extra);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "9090", NULL);
	t_assert_intact(line, "64");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR6, "8080", NULL);
	t_assert_intact(line, "64");
	t_client(T_POD | T_CGROUP, line, "127.0.0.1", "7070", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_cidr), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_loopback), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
	cr_assert_eq(t_proxy_lines("conn "), 0);
}

Test(outbound, included_ports_limit_interception)
{
	char line[1024];

	tpod_write_config("outbound:\n  includePorts: [8080]\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8081", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8081", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_port_not_included), 1);
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
}

/* Only the included ranges are intercepted, per family: with an IPv6 range alone, IPv4 has
 * nothing included (the connect program must look it up and miss, not take "all" for granted)
 * and IPv6 inside the range is redirected. */
Test(outbound, included_ip_ranges_limit_interception_per_family)
{
	char line[1024];

	tpod_write_config("outbound:\n  includeIPRanges: [\"fd00:99::/64\"]\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_skip_cidr_not_included), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR6, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	t_wait_proxy_lines("orig=[" T_REMOTE_ADDR6 "]:8080", 1);
}
