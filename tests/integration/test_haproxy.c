// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unmodified proxies behind the interceptor and behind iptables REDIRECT, the baseline it
 * replaces: the same client gets the same answer either way. The iptables rules go into the
 * test pod's network namespace only, and die with it at teardown.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(haproxy, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

#define MIB "1048576"

static const char *const echo[] = {"--mode", "echo", NULL};

static void assert_intact(const char *line, const char *bytes, const char *peer)
{
	char a[128];

	t_assert_intact(line, bytes);
	cr_assert_str_eq(kv(line, "peer", a, sizeof(a)), peer, "%s", line);
}

/* What the app saw is the same in both modes (its own address is not: under REDIRECT the app
 * keeps its pod address, under the interceptor it is on loopback). */
static void assert_same_result(const char *redirect, const char *ebpf)
{
	static const char *const keys[] = {"peer", "sent", "recv", "sha_out", "sha_in", "result"};
	char a[128], b[128];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_str_eq(
			kv(ebpf, keys[i], b, sizeof(b)), kv(redirect, keys[i], a, sizeof(a)),
			"%s differs:\niptables: %s\neBPF:     %s", keys[i], redirect, ebpf);
}

/* Istio's capture in its smallest form: the app's connections to the remote host, but not the
 * proxy's (uid 1337), go to the outbound port. */
static void redirect_on(void)
{
	tpod_nat("iptables", "-A OUTPUT -p tcp -d " T_REMOTE_ADDR4
			     " -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15001");
	tpod_nat("ip6tables", "-A OUTPUT -p tcp -d " T_REMOTE_ADDR6
			      "/128 -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15001");
}

static void redirect_off(void)
{
	tpod_nat("iptables", "-F OUTPUT");
	tpod_nat("ip6tables", "-F OUTPUT");
}

/* Lines with all of NEEDLES in the tcptool servers' reports. */
static int server_lines(const char *n1, const char *n2)
{
	char pattern[PATH_MAX], line[4096];
	glob_t g;
	size_t i;
	int n = 0;

	snprintf(pattern, sizeof(pattern), "%s/server-*.log", P.dir);
	if (glob(pattern, 0, NULL, &g))
		return 0;
	for (i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");

		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, n1) && strstr(line, n2))
				n++;
		if (f)
			fclose(f);
	}
	globfree(&g);
	return n;
}

/*
 * IPv4 only: HAProxy 2.6 asks for the original destination with SOL_IP/SO_ORIGINAL_DST alone
 * (src/sock_inet.c, sock_inet_get_dst), so an IPv6 connection is forwarded to the address it
 * arrived on, HAProxy itself, under iptables REDIRECT and the interceptor alike.
 */
Test(haproxy, haproxy_forwards_to_original_destination_like_under_iptables_redirect)
{
	char redirect[1024], ebpf[1024];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_haproxy();

	redirect_on();
	t_client(T_POD | T_CGROUP, redirect, T_REMOTE_ADDR4, "8080", "--send", MIB, NULL);
	assert_intact(redirect, MIB, T_REMOTE_ADDR4 ":8080");
	redirect_off();

	tpod_start_daemon();
	t_client(T_POD | T_CGROUP, ebpf, T_REMOTE_ADDR4, "8080", "--send", MIB, NULL);
	assert_intact(ebpf, MIB, T_REMOTE_ADDR4 ":8080");

	assert_same_result(redirect, ebpf);
	/* HAProxy carried both, from the app's own address to the original destination. */
	t_assert_haproxy_logged(redirect);
	t_assert_haproxy_logged(ebpf);
	/* The connection was redirected, and HAProxy learnt where it was going from the program. */
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 1);
	/* The remote host saw both of HAProxy's connections from the pod, the whole MiB each way.
	 */
	cr_assert_eq(server_lines("peer=" T_POD_ADDR4 ":", " in=" MIB " out=" MIB " "), 2);
}

Test(haproxy, proxy_stub_works_under_iptables_redirect_too)
{
	char line[1024], log[PATH_MAX];
	int i;

	snprintf(log, sizeof(log), "%s/proxy.log", P.dir);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "8080", echo);
	tpod_start_proxy();
	redirect_on();

	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", MIB, NULL);
	assert_intact(line, MIB, T_REMOTE_ADDR4 ":8080");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR6, "8080", "--send", MIB, NULL);
	assert_intact(line, MIB, "[" T_REMOTE_ADDR6 "]:8080");

	/* proxy-stub logs a connection once both sides have ended; conntrack told it the original
	 * destination, and the app reached it from its pod address. */
	for (i = 0; i < 300 && file_count(log, "conn ") < 2; i++)
		usleep(10000);
	cr_assert_eq(file_count(log, "conn "), 2);
	cr_assert_eq(file_count(log, "conn client=" T_POD_ADDR4 ":"), 1);
	cr_assert_eq(file_count(log, " orig=" T_REMOTE_ADDR4 ":8080 dir=out up=" MIB " down=" MIB),
		     1);
	cr_assert_eq(file_count(log, "conn client=[" T_POD_ADDR6 "]:"), 1);
	cr_assert_eq(
		file_count(log, " orig=[" T_REMOTE_ADDR6 "]:8080 dir=out up=" MIB " down=" MIB), 1);
	cr_assert_eq(server_lines("peer=" T_POD_ADDR4 ":", " in=" MIB " out=" MIB " "), 1);
	cr_assert_eq(server_lines("peer=[" T_POD_ADDR6 "]:", " in=" MIB " out=" MIB " "), 1);
}
