// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Live policy: the daemon follows its file, applies all or nothing, never drops a connection. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(live, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo[] = {"--mode", "echo", NULL};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The pod's config text with EXTRA appended. */
static const char *config_text(const char *extra)
{
	static char text[8192];

	snprintf(text, sizeof(text), "cgroup: %s\npinPath: %s\n%s", P.cgroup, P.pin_path, extra);
	return text;
}

/* Wait until the live generation passes GEN; returns the ms waited since T0. */
static double wait_generation_after(unsigned int gen, double t0)
{
	while (tpod_generation() <= gen && now_ms() - t0 < 2000)
		usleep(500);
	cr_assert_gt(tpod_generation(), gen, "no new policy 2 s after the write");
	return now_ms() - t0;
}

enum write_way { IN_PLACE, RENAME_OVER, CONFIGMAP };

/* Replace the config the way WAY does, starting the clock at the write. */
static double rewrite(enum write_way way, const char *text, int round)
{
	char tmp[PATH_MAX], dir[PATH_MAX], link[PATH_MAX];
	double t0;

	switch (way) {
	case IN_PLACE:
		t0 = now_ms();
		write_file(P.config, text);
		return t0;
	case RENAME_OVER:
		snprintf(tmp, sizeof(tmp), "%s.tmp", P.config);
		write_file(tmp, text);
		t0 = now_ms();
		cr_assert_eq(rename(tmp, P.config), 0);
		return t0;
	default:
		/* kubelet: a new timestamped directory, a new ..data link renamed over the old. */
		snprintf(dir, sizeof(dir), "%s/cm/..ts%d", P.dir, round);
		cr_assert_eq(mkdir(dir, 0755), 0);
		snprintf(tmp, sizeof(tmp), "%s/mesh.yaml", dir);
		write_file(tmp, text);
		snprintf(link, sizeof(link), "%s/cm/..data_tmp", P.dir);
		snprintf(tmp, sizeof(tmp), "..ts%d", round);
		cr_assert_eq(symlink(tmp, link), 0);
		snprintf(tmp, sizeof(tmp), "%s/cm/..data", P.dir);
		t0 = now_ms();
		cr_assert_eq(rename(link, tmp), 0);
		return t0;
	}
}

static void edit_applies_fast(enum write_way way)
{
	char line[1024];
	double waited;
	unsigned int gen;
	int round;

	if (way == CONFIGMAP) {
		char dir[PATH_MAX], path[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/cm/..ts0", P.dir);
		cr_assert_eq(system(strcat(strcpy((char[PATH_MAX + 16]){0}, "mkdir -p "), dir)), 0);
		snprintf(path, sizeof(path), "%s/mesh.yaml", dir);
		write_file(path, config_text("outbound:\n  excludePorts: [8080]\n"));
		snprintf(path, sizeof(path), "%s/cm/..data", P.dir);
		cr_assert_eq(symlink("..ts0", path), 0);
		snprintf(P.config, sizeof(P.config), "%s/cm/mesh.yaml", P.dir);
		cr_assert_eq(symlink("..data/mesh.yaml", P.config), 0);
	} else {
		write_file(P.config, config_text("outbound:\n  excludePorts: [8080]\n"));
	}
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 1);

	for (round = 1; round <= 3; round++) {
		const char *text =
			config_text(round % 2 ? "" : "outbound:\n  excludePorts: [8080]\n");

		gen = tpod_generation();
		waited = wait_generation_after(gen, rewrite(way, text, round));
		cr_assert_lt(waited, 100.0, "round %d: the new policy took %.1f ms", round, waited);
		t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
		t_assert_intact(line, "64");
		cr_assert_eq(tpod_counter(SC_C_connect_redirect), (round + 1) / 2, "round %d",
			     round);
	}
}

Test(live, in_place_write_applies_within_100ms)
{
	edit_applies_fast(IN_PLACE);
}

Test(live, rename_over_applies_within_100ms)
{
	edit_applies_fast(RENAME_OVER);
}

Test(live, configmap_data_swap_applies_within_100ms)
{
	edit_applies_fast(CONFIGMAP);
}

Test(live, invalid_edit_keeps_the_policy_and_shows_in_metrics)
{
	char extra[256], body[64 * 1024], err[4096], line[1024];
	unsigned int gen;
	int i;

	snprintf(extra, sizeof(extra),
		 "outbound:\n  excludePorts: [8080]\nmetrics:\n  listen: \"127.0.0.1:%d\"\n",
		 t_metrics_port());
	write_file(P.config, config_text(extra));
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	gen = tpod_generation();
	cr_assert_eq(t_http_get(t_metrics_port(), "/readyz", body, sizeof(body)), 200);

	/* A schema error, then a meaning error (a service with no endpoints). */
	write_file(P.config, config_text("outbound:\n  excludePorts: [80800]\n"));
	for (i = 0; i < 200; i++) {
		usleep(5000);
		t_http_get(t_metrics_port(), "/metrics", body, sizeof(body));
		if (t_metric(body, "sidecap_policy_reloads_total", "result=\"failure\"") == 1)
			break;
	}
	snprintf(
		extra, sizeof(extra),
		"metrics:\n  listen: \"127.0.0.1:%d\"\nservices:\n  - name: a\n    vip: 10.96.0.1\n"
		"    port: 80\n    endpoints: []\n",
		t_metrics_port());
	write_file(P.config, config_text(extra));
	for (i = 0; i < 200; i++) {
		usleep(5000);
		t_http_get(t_metrics_port(), "/metrics", body, sizeof(body));
		if (t_metric(body, "sidecap_policy_reloads_total", "result=\"failure\"") == 2)
			break;
	}
	cr_assert_eq(t_http_get(t_metrics_port(), "/metrics", body, sizeof(body)), 200);
	cr_assert_eq(t_promcheck(body, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t_metric(body, "sidecap_policy_reloads_total", "result=\"failure\""), 2);
	cr_assert_eq(t_metric(body, "sidecap_policy_reloads_total", "result=\"success\""), 0);
	cr_assert_gt(t_metric(body, "sidecap_policy_last_reload_timestamp_seconds",
			      "result=\"failure\""),
		     1.7e9);
	cr_assert_eq(t_metric(body, "sidecap_policy_generation", ""), gen);
	cr_assert_eq(tpod_generation(), gen);
	/* The old policy still rules: 8080 is still excluded. */
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 1);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
	cr_assert_eq(kill(P.daemon, 0), 0, "the daemon died on bad input");
}

Test(live, metrics_match_the_traffic)
{
	char extra[256], body[64 * 1024], err[4096], line[1024];

	snprintf(extra, sizeof(extra), "metrics:\n  listen: \"127.0.0.1:%d\"\n", t_metrics_port());
	write_file(P.config, config_text(extra));
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", "25", "--send", "1000",
		 NULL);
	t_client(T_POD | T_CGROUP | T_UID_PROXY, line, T_REMOTE_ADDR4, "8080", NULL);
	t_wait_proxy_lines("result=ok", 25);
	cr_assert_eq(t_http_get(t_metrics_port(), "/metrics", body, sizeof(body)), 200);
	cr_assert_eq(t_promcheck(body, err, sizeof(err)), 0, "%s\n%s", err, body);
	cr_assert_eq(t_metric(body, "sidecap_outbound_connections_total",
			      "action=\"redirect\",reason=\"policy\""),
		     25, "%s", body);
	/* The proxy's own 25 upstream connects, and the uid-1337 client. */
	cr_assert_eq(t_metric(body, "sidecap_outbound_connections_total",
			      "action=\"direct\",reason=\"proxy_uid\""),
		     26, "%s", body);
	cr_assert_eq(t_metric(body, "sidecap_original_dst_queries_total", "answer=\"answered\""),
		     25);
	/* 1000 bytes each way per connection went socket to socket. */
	cr_assert_geq(t_metric(body, "sidecap_skmsg_bytes_total", "path=\"socket\""), 50000);
	cr_assert_eq(t_metric(body, "sidecap_map_capacity_entries", "map=\"sc_sockhash\""),
		     SC_MAX_SOCKETS);
	cr_assert_eq(t_http_get(t_metrics_port(), "/healthz", body, sizeof(body)), 200);
}

/*
 * Two settings flip together: A excludes the destination's address and includes only its port;
 * B includes the address and only another port. Under A or B the connect goes direct; only a
 * connect that mixed A's ports with B's addresses would be redirected.
 */
Test(live, no_connect_sees_a_mix_of_two_policies_over_1000_changes)
{
	char *load[] = {T_BUILD "/tcptool", "client",	     T_REMOTE_ADDR4, "8080", "--repeat",
			"100000",	    "--max-seconds", "60",	     NULL};
	char *held[] = {T_BUILD "/tcptool", "client", T_REMOTE_ADDR4,  "9999", "--hold-ms", "25000",
			"--send",	    "1M",     "--max-seconds", "120",  NULL};
	const char *a = config_text("outbound:\n  includePorts: [8080, 9999]\n"
				    "  excludeIPRanges: [\"10.99.0.2/32\"]\n");
	char a_text[8192], b_text[8192], log[PATH_MAX], heldlog[PATH_MAX], text[4096], line[1024];
	const int changes = (int)t_scaled(1000);
	pid_t lp, hp;
	int i, st;
	unsigned int gen;
	double t0;

	snprintf(a_text, sizeof(a_text), "%s", a);
	snprintf(b_text, sizeof(b_text), "%s",
		 config_text("outbound:\n  includePorts: [8081, 9999]\n"));
	write_file(P.config, b_text);
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "9999", echo);
	/* A connection through the proxy (port 9999 is redirected under both policies) stays
	 * open across every change, then carries 1 MiB each way. */
	snprintf(heldlog, sizeof(heldlog), "%s/held.out", P.dir);
	hp = tpod_spawn(T_POD | T_CGROUP, heldlog, held);
	for (i = 0; i < 200 && tpod_counter(SC_C_connect_redirect) < 1; i++)
		usleep(5000);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1, "the held connection is not up");
	snprintf(log, sizeof(log), "%s/load.out", P.dir);
	lp = tpod_spawn(T_POD | T_CGROUP, log, load);
	t0 = now_ms();
	for (i = 0; i < changes; i++) {
		gen = tpod_generation();
		write_file(P.config, i % 2 ? b_text : a_text);
		kill(P.daemon, SIGHUP);
		while (tpod_generation() == gen)
			usleep(200);
	}
	cr_log_info("%d policy changes applied in %.0f ms", changes, now_ms() - t0);
	kill(lp, SIGINT);
	waitpid(lp, &st, 0);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1, "a connect saw a mixed policy");
	cr_assert_gt(tpod_counter(SC_C_connect_skip_excluded_cidr), 0);
	cr_assert_gt(tpod_counter(SC_C_connect_skip_port_not_included), 0);
	cr_assert_eq(tpod_counter(SC_C_errors__no_policy), 0);
	cr_assert_eq(kill(hp, 0), 0, "the held connection ended before the changes did");
	cr_assert_eq(waitpid(hp, &st, 0), hp);
	t_read_file(heldlog, text, sizeof(text));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", text);
	cr_assert_not_null(line_with(text, "conn ", line, sizeof(line)), "%s", text);
	t_assert_intact(line, "1048576");
	cr_assert_eq(t_proxy_lines("result=reset"), 0);
}
