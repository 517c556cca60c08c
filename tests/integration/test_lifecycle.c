// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The daemon's life cycle: state freed with the sockets, crash, adoption, cleanup, bad input. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(lifecycle, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo[] = {"--mode", "echo", NULL};

static void wait_entries_zero(const char *map)
{
	int i;

	for (i = 0; i < 300 && tpod_map_entries(map) > 0; i++)
		usleep(10000);
	cr_assert_eq(tpod_map_entries(map), 0, "%s keeps entries of closed connections", map);
}

Test(lifecycle, twenty_thousand_short_connections_leave_no_entry_behind)
{
	const unsigned int n = t_scaled(20000);
	char line[1024], v[64], want[16];

	snprintf(want, sizeof(want), "%u", n);
	/* What accelerated connections leave behind: every one of them is (adaptive would
	 * accelerate the first few only). */
	tpod_write_config("acceleration: always\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", want, NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), want, "%s", line);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), n);
	cr_assert_eq(tpod_counter(SC_C_sockops_handover_claimed), n);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2 * n);
	t_wait_proxy_lines("result=ok", n);
	wait_entries_zero(SC_MAP_SOCKHASH);
	wait_entries_zero(SC_MAP_FLOWS);
	wait_entries_zero(SC_MAP_HANDOVER);
}

/* A local connection whose other end is outside the pod's cgroup has one socket of ours: that
 * socket creates the flow entry and must delete it, whether it is the active or the passive end
 * (the close callback is asked for by the entry's creator only). */
Test(lifecycle, flow_entries_go_with_connections_with_one_end_outside_the_cgroup)
{
	char line[1024], v[64];

	/* Acceleration of a connection with one end ours, every time: a passive end whose active
	 * end is not ours accelerates only under always. */
	tpod_write_config("acceleration: always\n");
	tpod_start_daemon();
	/* Passive end ours: the server is in the cgroup, the client is not. */
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	t_client(T_POD, line, "127.0.0.1", "7070", "--repeat", "300", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "300", "%s", line);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 300);
	/* The server's echoes find no peer in the sockhash: plain TCP, every byte intact. */
	cr_assert_eq(tpod_counter(SC_C_msg_redirect), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_demote_peer_missing), 300);
	wait_entries_zero(SC_MAP_FLOWS);
	wait_entries_zero(SC_MAP_SOCKHASH);
	/* Active end ours: the client is in the cgroup, the server is not. */
	tpod_start_server(T_POD, "127.0.0.1", "7071", echo);
	t_client(T_POD | T_CGROUP, line, "127.0.0.1", "7071", "--repeat", "300", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "300", "%s", line);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 600);
	cr_assert_eq(tpod_counter(SC_C_msg_demote_peer_missing), 600);
	wait_entries_zero(SC_MAP_FLOWS);
	wait_entries_zero(SC_MAP_SOCKHASH);
	/* Nothing was redirected, so nothing was handed over. */
	cr_assert_eq(tpod_map_entries(SC_MAP_HANDOVER), 0);
}

Test(lifecycle, kill9_of_daemon_keeps_connections_and_interception_then_run_adopts)
{
	char *held[] = {T_BUILD "/tcptool",
			"client",
			T_REMOTE_ADDR4,
			"8080",
			"--hold-ms",
			"1500",
			"--send",
			"4M",
			NULL};
	char line[1024], text[4096], log[PATH_MAX];
	pid_t old, client;
	int st;

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	snprintf(log, sizeof(log), "%s/held.out", P.dir);
	client = tpod_spawn(T_POD | T_CGROUP, log, held);
	usleep(300000);

	old = P.daemon;
	st = tpod_kill(old, SIGKILL);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	P.daemon = 0;

	/* The connection opened before the crash finishes intact. */
	cr_assert_eq(waitpid(client, &st, 0), client);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	t_read_file(log, text, sizeof(text));
	t_assert_intact(line_with(text, "conn ", line, sizeof(line)), "4194304");

	/* New connections are still intercepted with no daemon. */
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 2);

	/* A new run adopts the pins: same maps (counters go on), links updated in place. */
	tpod_start_daemon();
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	cr_assert_eq(file_count(log, "adopted the pinned links"), 1);
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 3);
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 3);
}

Test(lifecycle, cleanup_after_kill9_leaves_nothing_attached_or_pinned)
{
	char *cleanup[] = {T_BUILD "/interceptor", "cleanup", "--config", P.config, NULL};
	char out[4096], line[1024];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	cr_assert_eq(tpod_run(0, out, sizeof(out), 30000, cleanup), 0, "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
	cr_assert_eq(access(P.pin_path, F_OK), -1, "%s still exists", P.pin_path);
	/* The app now goes direct. */
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(t_proxy_lines("conn "), 0);
}

Test(lifecycle, sigterm_detaches_and_removes_pins)
{
	int st;

	tpod_start_daemon();
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	st = tpod_kill(P.daemon, SIGTERM);
	P.daemon = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
	cr_assert_eq(tpod_attached_programs(), 0);
	cr_assert_eq(access(P.pin_path, F_OK), -1, "%s still exists", P.pin_path);
}

/*
 * The refusal is tested inside a cgroup namespace whose root is the test's own cgroup, with
 * cgroup2 mounted afresh in a private mount namespace: the daemon sees the test cgroup as the
 * root of the hierarchy. Were the check broken, the programs would land on the test cgroup,
 * never on the machine's real root cgroup.
 */
static int run_in_cgroupns(const char *args, char *out, size_t len)
{
	char script[4096];
	const char *mnt = strrchr(P.cgroup, '/');
	char cg2[PATH_MAX];
	char *argv[] = {"/usr/bin/unshare",
			"--mount",
			"--cgroup",
			"--propagation",
			"private",
			"/bin/sh",
			"-c",
			script,
			NULL};

	snprintf(cg2, sizeof(cg2), "%.*s", (int)(mnt - P.cgroup), P.cgroup);
	*strrchr(cg2, '/') = '\0'; /* strip /sidecap-test */
	snprintf(script, sizeof(script),
		 "umount -l %s && mount -t cgroup2 none %s && "
		 "printf 'cgroup: %s\\npinPath: %s\\n' > %s/root.yaml && "
		 "exec " T_BUILD
		 "/interceptor run --config %s/root.yaml --ready-file %s/root.ready %s",
		 cg2, cg2, cg2, P.pin_path, P.dir, P.dir, P.dir, args);
	return tpod_run(T_CGROUP, out, len, 3000, argv);
}

Test(lifecycle, root_cgroup_is_refused_with_a_clear_error)
{
	char out[4096];
	int rc = run_in_cgroupns("", out, sizeof(out));

	cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
	cr_assert_not_null(strstr(out, "is the root cgroup"), "%s", out);
	cr_assert_not_null(strstr(out, "--allow-root-cgroup"), "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
}

Test(lifecycle, missing_cgroup_is_a_clear_error_and_attaches_nothing)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char out[4096], extra[PATH_MAX + 64];

	snprintf(extra, sizeof(extra), "cgroup: %s/nope\npinPath: %s\n", P.cgroup, P.pin_path);
	{
		FILE *f = fopen(P.config, "we");

		fputs(extra, f);
		fclose(f);
	}
	cr_assert_eq(tpod_run(0, out, sizeof(out), 10000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "/nope: No such file or directory"), "%s", out);
	cr_assert_not_null(strstr(out, "mkdir"), "%s", out);
	cr_assert_eq(access(P.pin_path, F_OK), -1);
}

Test(lifecycle, bad_config_is_refused_naming_file_line_and_key)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char *validate[] = {T_BUILD "/interceptor", "validate", P.config, NULL};
	char out[4096], want[PATH_MAX + 128];

	tpod_write_config("proxy:\n  outboundPort: 70000\n");
	snprintf(want, sizeof(want), "%s:4:17: proxy.outboundPort: 70000 is not a port", P.config);
	cr_assert_eq(tpod_run(0, out, sizeof(out), 10000, validate), 1, "%s", out);
	cr_assert_not_null(strstr(out, want), "want '%s' in:\n%s", want, out);
	cr_assert_eq(tpod_run(0, out, sizeof(out), 10000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, want), "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
}

Test(lifecycle, sighup_with_a_bad_file_keeps_the_running_policy)
{
	char line[1024], log[PATH_MAX];
	unsigned int gen;
	int i;

	tpod_write_config("outbound:\n  excludePorts: [8080]\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	gen = tpod_generation();
	tpod_write_config("outbound:\n  excludePorts: [808O]\n");
	kill(P.daemon, SIGHUP);
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	/* Rejected on SIGHUP, and again when the watcher sees the write. */
	for (i = 0; i < 200 && file_count(log, "rejected; policy generation") < 2; i++)
		usleep(10000);
	cr_assert_eq(file_count(log, "rejected; policy generation"), 2);
	cr_assert_eq(file_count(log, "excludePorts[0]: "), 2, "the error names the key");
	cr_assert_eq(tpod_generation(), gen);
	cr_assert_eq(kill(P.daemon, 0), 0, "daemon died on a bad file");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
}

/*
 * Bytes that sk_msg queued on a reader that has not read them yet survive the removal of the
 * pins: each socket's psock holds the sk_msg program, which holds the sockhash, so the map
 * outlives its pin until the last accelerated socket closes, and then goes away.
 */
Test(lifecycle, cleanup_while_bytes_wait_unread_loses_nothing)
{
	static const char *const sleepy[] = {
		"--mode", "sink", "--slow-read-us", "1500000", "--chunk", "131072", NULL};
	char *cleanup[] = {T_BUILD "/interceptor", "cleanup", "--config", P.config, NULL};
	char *send[] = {T_BUILD "/tcptool", "client", "127.0.0.1", "7070", "--send", "512K", NULL};
	char out[4096], rep[1024], a[128];
	int i, fd = -1;
	__u32 id;

	tpod_start_daemon();
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", sleepy);
	/* The client writes 512 KiB at once: 128 KiB are read, the rest waits in the psock queue;
	 * the client is ended after a second, its bytes still unread. */
	cr_assert_eq(tpod_run(T_POD | T_CGROUP, out, sizeof(out), 1000, send), -1,
		     "the client should still be waiting for the reader: %s", out);
	cr_assert_eq(tpod_counter(SC_C_msg_demote_unanswered), 0);
	cr_assert_geq(tpod_counter(SC_C_msg_redirect_bytes), 512 << 10);
	id = tpod_map_id(SC_MAP_SOCKHASH);
	cr_assert_eq(tpod_run(0, out, sizeof(out), 30000, cleanup), 0, "%s", out);
	cr_assert_eq(access(P.pin_path, F_OK), -1, "%s still exists", P.pin_path);

	t_server_report(0, rep, sizeof(rep), 15000);
	cr_assert_str_eq(kv(rep, "in", a, sizeof(a)), "524288", "%s", rep);
	/* Both sockets closed: the unpinned sockhash is freed, nothing of the pod stays. */
	for (i = 0; i < 200 && (fd = bpf_map_get_fd_by_id(id)) >= 0; i++) {
		close(fd);
		usleep(10000);
	}
	cr_assert_lt(fd, 0, "sc_sockhash (id %u) outlived its last socket", id);
}

Test(lifecycle, unprivileged_run_says_what_it_needs)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char out[4096];

	chmod(P.dir, 0755);
	chmod(P.config, 0644);
	cr_assert_eq(tpod_run(T_UID_PROXY, out, sizeof(out), 10000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN"),
			   "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
}

Test(lifecycle, pin_path_off_bpffs_is_refused_with_the_fix)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char out[4096], yaml[PATH_MAX * 2];
	FILE *f;

	snprintf(yaml, sizeof(yaml), "cgroup: %s\npinPath: %s/plain/pod\n", P.cgroup, P.dir);
	f = fopen(P.config, "we");
	fputs(yaml, f);
	fclose(f);
	cr_assert_eq(tpod_run(0, out, sizeof(out), 10000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "is not a bpffs; mount one (mount -t bpf bpf"), "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
}

/*
 * Pins written by a version whose maps mean something else are refused before anything is
 * loaded, written or attached, naming the pin path and the fix: the running pod's programs and
 * policy stay as they were and go on intercepting.
 */
Test(lifecycle, pins_of_another_version_are_refused_and_left_alone)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char out[8192], line[1024];
	struct sc_state st, now;
	__u32 zero = 0;
	int fd;

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	fd = tpod_open_pinned(SC_MAP_STATE);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &st), 0);
	cr_assert_eq(st.abi, SC_POD_ABI);
	st.abi = SC_POD_ABI + 1;
	cr_assert_eq(bpf_map_update_elem(fd, &zero, &st, BPF_ANY), 0);

	cr_assert_eq(tpod_run(0, out, sizeof(out), 30000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "holds the pins of another version"), "%s", out);
	cr_assert_not_null(strstr(out, P.pin_path), "%s", out);
	cr_assert_not_null(strstr(out, "interceptor cleanup --config"), "%s", out);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &now), 0);
	close(fd);
	cr_assert_eq(now.generation, st.generation, "the refused run wrote a policy");
	cr_assert_eq(now.abi, SC_POD_ABI + 1);
	cr_assert_eq(tpod_attached_programs(), T_CGROUP_PROGRAMS);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":8080", 1);
}

/* A state pinned before the ABI field existed (8 bytes) is another version too. */
Test(lifecycle, pins_from_before_the_abi_field_are_refused)
{
	char *run[] = {T_BUILD "/interceptor", "run", "--config", P.config, NULL};
	char out[8192], path[PATH_MAX];
	int fd;

	tpod_write_config("");
	snprintf(path, sizeof(path), "%s/maps", P.pin_path);
	cr_assert_eq(mkdir(P.pin_path, 0700), 0);
	cr_assert_eq(mkdir(path, 0700), 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, SC_MAP_STATE, sizeof(__u32), 8, 1, NULL);
	cr_assert_geq(fd, 0);
	snprintf(path, sizeof(path), "%s/maps/" SC_MAP_STATE, P.pin_path);
	cr_assert_eq(bpf_obj_pin(fd, path), 0);
	close(fd);

	cr_assert_eq(tpod_run(0, out, sizeof(out), 30000, run), 1, "%s", out);
	cr_assert_not_null(strstr(out, "(pod ABI 0, this one is"), "%s", out);
	cr_assert_eq(tpod_attached_programs(), 0);
	/* Nothing was pinned beside it. */
	snprintf(path, sizeof(path), "%s/maps/" SC_MAP_SOCKHASH, P.pin_path);
	cr_assert_eq(access(path, F_OK), -1, "%s was pinned", path);
}
