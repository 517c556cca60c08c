// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mode: iptables: the daemon installs istio-iptables' REDIRECT rules in the test pod's network
 * namespace (never anywhere else: the config names it, and the harness deletes it at teardown),
 * and proxy-stub or HAProxy carry the traffic as they would under Istio.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"

TestSuite(iptables, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

#define MIB "1048576"

static const char *const echo[] = {"--mode", "echo", NULL};
static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};
static const char *const inbound_listeners[] = {"--inbound", "0.0.0.0:15006", "--inbound",
						"[::]:15006", NULL};

static void write_config(const char *extra)
{
	char text[4096];

	snprintf(text, sizeof(text), "mode: iptables\n%s", extra);
	tpod_write_config_inbound(text);
}

static void start_pod(const char *extra)
{
	write_config(extra);
	tpod_start_daemon();
}

/* `TOOL-save -t nat` in the pod's netns, without its comment lines (they carry a date). */
static const char *nat_save(const char *tool, char *out, size_t len)
{
	char path[64], text[16384];
	char *argv[] = {path, "-t", "nat", NULL};
	const char *line, *end;
	size_t n = 0;

	snprintf(path, sizeof(path), "/usr/sbin/%s-save", tool);
	cr_assert_eq(tpod_run(T_POD, text, sizeof(text), 10000, argv), 0, "%s: %s", path, text);
	out[0] = '\0';
	for (line = text; *line; line = end + 1) {
		end = strchrnul(line, '\n');
		if (*line != '#' && n + (end - line) + 2 < len)
			n += snprintf(out + n, len - n, "%.*s\n", (int)(end - line), line);
		if (!*end)
			break;
	}
	return out;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

/* The daemon's log has N lines with NEEDLE, waiting up to 5 s. */
static void wait_daemon_log(const char *needle, int n)
{
	char log[PATH_MAX];
	int i;

	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	for (i = 0; i < 500 && file_count(log, needle) < n; i++)
		usleep(10000);
	cr_assert_eq(file_count(log, needle), n, "daemon.log lines with '%s'", needle);
}

static void assert_ours_installed(const char *tool)
{
	char save[16384];

	nat_save(tool, save, sizeof(save));
	cr_assert_eq(count(save, "\n:ISTIO_INBOUND - "), 1, "%s", save);
	cr_assert_eq(count(save, "\n:ISTIO_REDIRECT - "), 1, "%s", save);
	cr_assert_eq(count(save, "\n:ISTIO_IN_REDIRECT - "), 1, "%s", save);
	cr_assert_eq(count(save, "\n:ISTIO_OUTPUT - "), 1, "%s", save);
	cr_assert_eq(count(save, "\n-A PREROUTING -p tcp -j ISTIO_INBOUND\n"), 1, "%s", save);
	cr_assert_eq(count(save, "\n-A OUTPUT -j ISTIO_OUTPUT\n"), 1, "%s", save);
}

static void assert_none_of_ours(const char *tool)
{
	char save[16384];

	nat_save(tool, save, sizeof(save));
	cr_assert_eq(count(save, "ISTIO_"), 0, "%s", save);
}

Test(iptables, outbound_reaches_proxy_with_the_original_destination)
{
	char line[1024], v[128];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "8080", echo);
	tpod_start_proxy();
	start_pod("");
	wait_daemon_log("iptables backend: ", 1);
	assert_ours_installed("iptables");
	assert_ours_installed("ip6tables");

	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", MIB, NULL);
	t_assert_intact(line, MIB);
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_REMOTE_ADDR4 ":8080", "%s", line);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR6, "8080", "--send", MIB, NULL);
	t_assert_intact(line, MIB);
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[" T_REMOTE_ADDR6 "]:8080", "%s", line);

	/* conntrack told proxy-stub where each connection was going. */
	t_wait_proxy_lines(" orig=" T_REMOTE_ADDR4 ":8080 dir=out up=" MIB " down=" MIB, 1);
	t_wait_proxy_lines(" orig=[" T_REMOTE_ADDR6 "]:8080 dir=out up=" MIB " down=" MIB, 1);
	cr_assert_eq(t_proxy_lines("conn client=" T_POD_ADDR4 ":"), 1);
	cr_assert_eq(t_proxy_lines("conn client=[" T_POD_ADDR6 "]:"), 1);
}

Test(iptables, inbound_reaches_the_app_through_the_proxy)
{
	char line[1024], rep[1024], v[128];

	tpod_start_server(T_POD | T_CGROUP, "::", "8080", echo_dual);
	tpod_start_proxy_with(inbound_listeners);
	start_pod("");

	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", "--send", MIB, NULL);
	t_assert_intact(line, MIB);
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_POD_ADDR4 ":8080", "%s", line);
	t_wait_proxy_lines("orig=" T_POD_ADDR4 ":8080 dir=in up=" MIB " down=" MIB, 1);
	/* The proxy reached the app from 127.0.0.6, which ISTIO_OUTPUT lets through. */
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert(!strncmp(kv(rep, "peer", v, sizeof(v)), "[::ffff:127.0.0.6]:", 19), "%s", rep);

	t_client(T_REMOTE, line, T_POD_ADDR6, "8080", "--send", MIB, NULL);
	t_assert_intact(line, MIB);
	t_wait_proxy_lines("orig=[" T_POD_ADDR6 "]:8080 dir=in up=" MIB " down=" MIB, 1);
}

Test(iptables, excluded_inbound_and_admin_ports_reach_the_app_directly)
{
	char line[1024];

	tpod_start_server(T_POD | T_CGROUP, "::", "9090", echo_dual);
	tpod_start_server(T_POD | T_CGROUP, "::", "15021", echo_dual);
	tpod_start_proxy_with(inbound_listeners);
	start_pod("inbound:\n  excludePorts: [9090]\n");
	t_client(T_REMOTE, line, T_POD_ADDR4, "9090", NULL);
	t_assert_intact(line, "64");
	t_client(T_REMOTE, line, T_POD_ADDR4, "15021", NULL);
	t_assert_intact(line, "64");
	usleep(200000);
	cr_assert_eq(t_proxy_lines("dir=in"), 0);
}

Test(iptables, haproxy_works_as_the_sidecar)
{
	char line[1024];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_haproxy();
	start_pod("");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", MIB, NULL);
	t_assert_intact(line, MIB);
	t_assert_haproxy_logged(line);
}

Test(iptables, sigterm_removes_our_rules_and_keeps_everyone_elses)
{
	char save[16384];
	int st;

	tpod_nat("iptables", "-A OUTPUT -d 10.55.0.0/16 -j RETURN");
	tpod_nat("ip6tables", "-A OUTPUT -d fd55::/16 -j RETURN");
	start_pod("");
	assert_ours_installed("iptables");
	assert_ours_installed("ip6tables");

	st = tpod_kill(P.daemon, SIGTERM);
	P.daemon = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "daemon status %d", st);
	wait_daemon_log("removed the iptables rules from ", 1);
	assert_none_of_ours("iptables");
	assert_none_of_ours("ip6tables");
	nat_save("iptables", save, sizeof(save));
	cr_assert_eq(count(save, "\n-A OUTPUT -d 10.55.0.0/16 -j RETURN\n"), 1, "%s", save);
	nat_save("ip6tables", save, sizeof(save));
	cr_assert_eq(count(save, "\n-A OUTPUT -d fd55::/16 -j RETURN\n"), 1, "%s", save);
}

/*
 * Signals at the wrong moment of mode: iptables, as test_signals.c does for the eBPF mode. At
 * apply the rules are in place and the daemon's loop does not run yet: SIGTERM or SIGINT there
 * ends clean (exit 0, none of our rules left), SIGHUP leaves a running daemon with its rules.
 * During the take-down (detach, after a first SIGTERM) a second signal changes nothing.
 */
static void stop_signal_at_apply(int sig)
{
	char ready[PATH_MAX];
	pid_t pid;

	write_config("");
	pid = tpod_start_paused("apply", ready, sizeof(ready));
	assert_ours_installed("iptables");
	tpod_assert_exit0(tpod_signal_stopped(pid, sig), sig, "apply");
	assert_none_of_ours("iptables");
	assert_none_of_ours("ip6tables");
}

Test(iptables, sigterm_at_apply_ends_clean)
{
	stop_signal_at_apply(SIGTERM);
}

Test(iptables, sigint_at_apply_ends_clean)
{
	stop_signal_at_apply(SIGINT);
}

Test(iptables, sighup_at_apply_keeps_running_with_the_rules)
{
	char ready[PATH_MAX];
	pid_t pid;
	int st;

	write_config("");
	pid = tpod_start_paused("apply", ready, sizeof(ready));
	cr_assert_eq(kill(pid, SIGHUP), 0);
	cr_assert_eq(kill(pid, SIGCONT), 0);
	cr_assert(tpod_wait_file(ready, 10000), "not ready after SIGHUP at apply:\n%s",
		  tpod_daemon_log());
	cr_assert_eq(kill(pid, 0), 0, "SIGHUP at apply ended the daemon");
	assert_ours_installed("iptables");
	assert_ours_installed("ip6tables");
	st = tpod_kill(pid, SIGTERM);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	assert_none_of_ours("iptables");
	assert_none_of_ours("ip6tables");
}

static void signal_at_detach(int sig)
{
	char ready[PATH_MAX];
	pid_t pid;

	write_config("");
	pid = tpod_start_pausing_at("detach", ready, sizeof(ready));
	cr_assert(tpod_wait_file(ready, 10000), "not ready:\n%s", tpod_daemon_log());
	assert_ours_installed("iptables");
	tpod_assert_exit0(tpod_signal_at_detach(pid, sig), sig, "detach");
	assert_none_of_ours("iptables");
	assert_none_of_ours("ip6tables");
}

Test(iptables, sigterm_at_detach_ends_clean)
{
	signal_at_detach(SIGTERM);
}

Test(iptables, sigint_at_detach_ends_clean)
{
	signal_at_detach(SIGINT);
}

Test(iptables, sighup_at_detach_ends_clean)
{
	signal_at_detach(SIGHUP);
}

Test(iptables, bad_edit_keeps_the_rules_and_a_good_one_replaces_them_atomically)
{
	char before[16384], after[16384], line[1024];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_proxy();
	start_pod("");
	nat_save("iptables", before, sizeof(before));

	write_config("outbound:\n  excludePorts: [99999]\n");
	wait_daemon_log("rejected; policy generation 1 stays", 1);
	nat_save("iptables", after, sizeof(after));
	cr_assert_str_eq(after, before);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_wait_proxy_lines("dir=out", 1);

	/* A good edit: port 8080 now goes direct, and nothing is duplicated. */
	write_config("outbound:\n  excludePorts: [8080]\n");
	wait_daemon_log("policy generation 2 applied", 1);
	nat_save("iptables", after, sizeof(after));
	cr_assert_eq(count(after, "\n-A ISTIO_OUTPUT -p tcp -m tcp --dport 8080 -j RETURN\n"), 1,
		     "%s", after);
	assert_ours_installed("iptables");
	assert_ours_installed("ip6tables");
	cr_assert_eq(count(after, "-j REDIRECT --to-ports 15001"), 1, "%s", after);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	usleep(200000);
	cr_assert_eq(t_proxy_lines("dir=out"), 1);
}

Test(iptables, a_killed_daemon_leaves_the_rules_for_the_next_run_or_cleanup)
{
	char out[4096];
	char *cleanup[] = {T_BUILD "/interceptor", "cleanup", "--config", P.config, NULL};

	start_pod("");
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	assert_ours_installed("iptables");
	/* The next run takes the chains over without a second jump. */
	tpod_start_daemon();
	assert_ours_installed("iptables");
	assert_ours_installed("ip6tables");
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	cr_assert_eq(tpod_run(0, out, sizeof(out), 20000, cleanup), 0, "%s", out);
	cr_assert_not_null(strstr(out, "removed the iptables rules from /run/netns/"), "%s", out);
	assert_none_of_ours("iptables");
	assert_none_of_ours("ip6tables");
}

Test(iptables, run_mode_flag_overrides_the_file_and_needs_netns)
{
	char out[4096];
	char *run[] = {
		T_BUILD "/interceptor", "run", "--mode", "iptables", "--config", P.config, NULL};

	/* The harness's config names no netns: refused before anything is installed. */
	tpod_write_config("");
	cr_assert_eq(tpod_run(0, out, sizeof(out), 20000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "netns: required with mode: iptables, given by --mode"),
			   "%s", out);
	assert_none_of_ours("iptables");
}
