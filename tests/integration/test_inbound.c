// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Inbound steering with real sockets: a client on the remote host connects to the app's port at
 * the pod's address; sk_lookup hands the connection to proxy-stub's inbound listener, which
 * forwards it to the app over loopback from 127.0.0.6.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(inbound, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

static const char *const echo[] = {"--mode", "echo", NULL};
static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};
static const char *const inbound_listeners[] = {"--inbound", "0.0.0.0:15006", "--inbound",
						"[::]:15006", NULL};

/* The app: an echo server in the pod's cgroup on every address, v4 and v6. */
static void start_app(const char *port)
{
	tpod_start_server(T_POD | T_CGROUP, "::", port, echo_dual);
}

static void start_pod(const char *extra_yaml)
{
	tpod_write_config_inbound(extra_yaml);
	tpod_start_daemon();
	tpod_start_proxy_with(inbound_listeners);
}

static unsigned long long num(const char *line, const char *key)
{
	char v[64];

	cr_assert_not_null(kv(line, key, v, sizeof(v)), "no %s in %s", key, line);
	return strtoull(v, NULL, 10);
}

Test(inbound, v4_client_reaches_app_through_proxy_and_sk_msg)
{
	char line[1024], rep[1024], v[128];

	start_app("8080");
	start_pod("");
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", "--send", "64M", NULL);
	t_assert_intact(line, "67108864");
	/* The client talked to the app's address; the app was reached by the proxy. */
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_POD_ADDR4 ":8080");
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert(!strncmp(kv(rep, "peer", v, sizeof(v)), "[::ffff:127.0.0.6]:", 19), "%s", rep);
	t_wait_proxy_lines("orig=" T_POD_ADDR4 ":8080 dir=in", 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 1);
	/* The proxy reached the app over loopback, from 127.0.0.6: left alone. */
	cr_assert_eq(tpod_counter(SC_C_inbound_skip_local), 1);
	/* The proxy->app hop (both ends in the pod) went socket to socket. */
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2);
	cr_assert_geq(tpod_counter(SC_C_msg_redirect_bytes), 1 << 20);
	cr_assert_eq(tpod_counter(SC_C_sockops_listener_registered), 2);
}

Test(inbound, v6_client_reaches_app_through_proxy)
{
	char line[1024], rep[1024], v[128];

	start_app("8080");
	start_pod("");
	t_client(T_REMOTE, line, T_POD_ADDR6, "8080", "--send", "64M", NULL);
	t_assert_intact(line, "67108864");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[" T_POD_ADDR6 "]:8080");
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert(!strncmp(kv(rep, "peer", v, sizeof(v)), "[::1]:", 6), "%s", rep);
	t_wait_proxy_lines("orig=[" T_POD_ADDR6 "]:8080 dir=in", 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_skip_local), 1);
	/* The proxy->app hop over ::1 went socket to socket too. */
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2);
	cr_assert_geq(tpod_counter(SC_C_msg_redirect_bytes), 1 << 20);
}

Test(inbound, excluded_and_not_included_ports_go_straight_to_the_app)
{
	char line[1024], rep[1024], v[128];

	start_app("9090");
	start_app("7070");
	start_pod("inbound:\n  includePorts: [8080]\n  excludePorts: [9090]\n");
	t_client(T_REMOTE, line, T_POD_ADDR4, "9090", NULL);
	t_assert_intact(line, "64");
	t_client(T_REMOTE, line, T_POD_ADDR4, "7070", NULL);
	t_assert_intact(line, "64");
	/* The app sees the remote client itself. */
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert(strstr(kv(rep, "peer", v, sizeof(v)), T_REMOTE_ADDR4 "]:"), "%s", rep);
	cr_assert_eq(tpod_counter(SC_C_inbound_skip_excluded_port), 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_skip_port_not_included), 1);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 0);
	cr_assert_eq(t_proxy_lines("dir=in"), 0);
}

Test(inbound, proxy_down_fail_open_reaches_app_and_resumes_when_proxy_listens)
{
	char line[1024], v[64];

	start_app("8080");
	start_pod("");
	tpod_kill(P.proxy, SIGKILL);
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", "--repeat", "50", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "50", "%s", line);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 50);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 0);
	/* No daemon action: the restarted proxy registers itself at listen(). */
	tpod_start_proxy_with(inbound_listeners);
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", "--repeat", "50", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "50", "%s", line);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 50);
	cr_assert_eq(tpod_counter(SC_C_inbound_fail_open), 50);
}

Test(inbound, proxy_down_fail_closed_refuses_inbound_and_outbound)
{
	char *in[] = {T_BUILD "/tcptool",     "client", T_POD_ADDR4, "8080",
		      "--connect-timeout-ms", "500",	NULL};
	char *out[] = {T_BUILD "/tcptool", "client", T_REMOTE_ADDR4, "8080", NULL};
	char text[4096], line[1024];

	start_app("8080");
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	start_pod("proxy:\n  failOpen: false\n");
	tpod_kill(P.proxy, SIGKILL);
	cr_assert_neq(tpod_run(T_REMOTE, text, sizeof(text), 10000, in), 0, "%s", text);
	/* The lookup fails: the client is refused at once, as if nothing listened. */
	cr_assert_not_null(strstr(text, "error:ECONNREFUSED"), "%s", text);
	cr_assert_geq(tpod_counter(SC_C_inbound_fail_closed), 1);
	cr_assert_neq(tpod_run(T_POD | T_CGROUP, text, sizeof(text), 10000, out), 0, "%s", text);
	cr_assert_not_null(strstr(text, "error:EPERM"), "%s", text);
	cr_assert_eq(tpod_counter(SC_C_connect_fail_closed), 1);
	/* Back up: both directions work again at once. */
	tpod_start_proxy_with(inbound_listeners);
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
}

Test(inbound, outbound_fail_open_goes_direct_while_the_proxy_is_down)
{
	char line[1024];

	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	start_pod("");
	tpod_kill(P.proxy, SIGKILL);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_fail_open), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
}

/* The failed connections of tcptool output TEXT ("failed conn=N ..." lines): how many, and
 * whether their numbers follow each other (one stretch). */
static int failed_stretch(const char *text, bool *one_stretch)
{
	const char *p = text;
	long prev = -1, n;
	int count = 0;

	*one_stretch = true;
	while ((p = strstr(p, "failed conn="))) {
		n = strtol(p + strlen("failed conn="), NULL, 10);
		if (prev >= 0 && n != prev + 1)
			*one_stretch = false;
		prev = n;
		count++;
		p++;
	}
	return count;
}

/*
 * Connections that do not go through the proxy survive its restart; new ones during the gap
 * reach the app directly (fail open). The proxy's own connections at the kill are lost, as they
 * are under iptables: the one it was relaying, and one or two whose handshake completed on its
 * listener while the killed process was still exiting (the listener stays registered until its
 * files are closed; a slow guest widens that). Those are consecutive connections of the client,
 * one stretch around the kill; a loss elsewhere would not be.
 */
Test(inbound, proxy_restart_under_load_loses_only_its_own_connections)
{
	char *load[] = {T_BUILD "/tcptool", "client", T_POD_ADDR4, "8080",
			"--repeat",	    "3000",   NULL};
	char *held[] = {T_BUILD "/tcptool", "client", T_POD_ADDR4, "9090", "--hold-ms", "1500",
			"--send",	    "1M",     NULL};
	char log[PATH_MAX], heldlog[PATH_MAX], text[4096], line[1024];
	bool one_stretch;
	pid_t lp, hp;
	int st, failed;

	start_app("8080");
	start_app("9090");
	start_pod("inbound:\n  excludePorts: [9090]\n");
	snprintf(log, sizeof(log), "%s/load.out", P.dir);
	snprintf(heldlog, sizeof(heldlog), "%s/held.out", P.dir);
	hp = tpod_spawn(T_REMOTE, heldlog, held);
	lp = tpod_spawn(T_REMOTE, log, load);
	usleep(200000);
	tpod_kill(P.proxy, SIGKILL);
	usleep(100000);
	tpod_start_proxy_with(inbound_listeners);
	cr_assert_eq(waitpid(lp, &st, 0), lp);
	cr_assert_eq(waitpid(hp, &st, 0), hp);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the direct connection broke");
	t_read_file(log, text, sizeof(text));
	cr_assert_not_null(line_with(text, "summary ", line, sizeof(line)), "%s", text);
	failed = failed_stretch(text, &one_stretch);
	cr_assert_eq(num(line, "ok") + failed, 3000, "%s", text);
	cr_assert_leq(failed, 3, "%s", text);
	cr_assert(one_stretch, "connections failed apart from the kill:\n%s", text);
	cr_assert_geq(tpod_counter(SC_C_inbound_fail_open), 1);
	cr_assert_geq(tpod_counter(SC_C_inbound_redirect), 1);
}

/* What a bare inbound listener (the proxy's place) saw of one accepted connection. */
struct inbound_view {
	int ret, err;
	socklen_t len;
	struct sockaddr_in orig, local;
};

/* Listen on 0.0.0.0:15006 as the proxy (uid 1337, in the pod), accept one connection, ask
 * SO_ORIGINAL_DST and getsockname, report through a pipe, then drain it. */
static pid_t bare_listener(int *rfd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(15006)};
		struct inbound_view v = {0};
		char path[PATH_MAX], buf[4096];
		int fd, c, one = 1, nsfd;
		socklen_t sl = sizeof(v.local);
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs", P.cgroup);
		f = fopen(path, "w");
		if (!f || fprintf(f, "%d", getpid()) < 0 || fclose(f))
			_exit(2);
		snprintf(path, sizeof(path), "/run/netns/%s", P.ns);
		nsfd = open(path, O_RDONLY);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) || setgroups(0, NULL) || setgid(1337) ||
		    setuid(1337))
			_exit(3);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 4))
			_exit(4);
		if (write(p[1], "L", 1) != 1)
			_exit(5);
		c = accept(fd, NULL, NULL);
		v.len = sizeof(v.orig);
		v.ret = getsockopt(c, SOL_IP, 80 /* SO_ORIGINAL_DST */, &v.orig, &v.len);
		v.err = errno;
		getsockname(c, (void *)&v.local, &sl);
		if (write(p[1], &v, sizeof(v)) != sizeof(v))
			_exit(6);
		while (read(c, buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	if (P.npids < T_MAX_PIDS)
		P.pids[P.npids++] = pid;
	return pid;
}

Test(inbound, original_dst_of_a_steered_connection_is_its_local_address)
{
	struct inbound_view v;
	char line[1024], ready;
	int rfd, st;
	pid_t pid;

	start_app("8080");
	tpod_write_config_inbound("");
	tpod_start_daemon();
	pid = bare_listener(&rfd);
	cr_assert_eq(read(rfd, &ready, 1), 1, "the listener did not start");
	t_client(T_REMOTE, line, T_POD_ADDR4, "8080", "--send", "0", NULL);
	cr_assert_eq(read(rfd, &v, sizeof(v)), sizeof(v));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(tpod_counter(SC_C_inbound_redirect), 1);
	cr_assert_eq(v.ret, 0, "SO_ORIGINAL_DST failed: %s", strerror(v.err));
	cr_assert_eq(v.len, sizeof(struct sockaddr_in));
	cr_assert_eq(v.local.sin_port, htons(8080));
	cr_assert_eq(memcmp(&v.orig, &v.local, sizeof(v.orig)), 0,
		     "SO_ORIGINAL_DST differs from getsockname");
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 1);
	close(rfd);
}

/*
 * Inbound steering is never linked into the host's network namespace, whatever inode number the
 * kernel gives it (a fixed one on recent kernels, a dynamic one on 6.12 and older).
 */
Test(inbound, netns_naming_the_host_namespace_is_refused)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char text[8192];

	tpod_write_config("netns: /proc/self/ns/net\n");
	cr_assert_eq(tpod_run(0, text, sizeof(text), 10000, run), 1, "%s", text);
	cr_assert_not_null(strstr(text, "netns /proc/self/ns/net: is the host's network namespace"),
			   "%s", text);
	cr_assert_lt(tpod_open_pinned(SC_MAP_STATE), 0, "something was pinned");
}

Test(inbound, daemon_in_the_host_namespace_without_netns_leaves_steering_off)
{
	char path[PATH_MAX];

	tpod_write_config("");
	tpod_start_daemon();
	snprintf(path, sizeof(path), "%s/daemon.log", P.dir);
	cr_assert_eq(file_count(path, "inbound steering off: the daemon runs in the host's network "
				      "namespace"),
		     1);
	snprintf(path, sizeof(path), "%s/links/sk_lookup", P.pin_path);
	cr_assert_neq(access(path, F_OK), 0, "sk_lookup was linked into the host's namespace");
}
