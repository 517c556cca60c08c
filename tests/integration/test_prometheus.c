// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A real Prometheus server (Debian's /usr/bin/prometheus, never its packaged service) scrapes a
 * running interceptor, and its HTTP API answers with our counters under their families and
 * labels. Daemon and server run in the pod's network namespace, on its loopback; the server's
 * config and storage are in the test's directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(prometheus, .init = tpod_setup, .fini = tpod_teardown, .timeout = 120);

#define PROMETHEUS  "/usr/bin/prometheus"
#define METRICS	    "127.0.0.1:15020"
#define PROM_PORT   9090
#define CONNECTIONS 25

/* Every errors__* counter is a series of sidecap_errors_total. */
#define COUNT_ERRORS(name, family, ...) +(SC_MF_##family == SC_MF_ERRORS)
static const int n_errors = 0 SC_COUNTERS(COUNT_ERRORS) SC_NODE_COUNTERS(COUNT_ERRORS);

static const char *const echo[] = {"--mode", "echo", NULL};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* The interceptor, as tpod_start_daemon() starts it, but in the pod's network namespace. */
static void start_daemon_in_pod(void)
{
	char ready[PATH_MAX], log[PATH_MAX], text[4096];
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config,
			"--ready-file",		ready, NULL};

	snprintf(ready, sizeof(ready), "%s/daemon.ready", P.dir);
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	P.daemon = tpod_spawn_at(P.ns, NULL, 0, log, argv);
	cr_assert(tpod_wait_file(ready, 10000), "interceptor run: not ready\n%s",
		  t_read_file(log, text, sizeof(text)));
}

static void start_prometheus(void)
{
	char cfg[PATH_MAX], data[PATH_MAX], log[PATH_MAX], cfg_arg[PATH_MAX + 16],
		data_arg[PATH_MAX + 24], listen[64];
	char *argv[] = {PROMETHEUS, cfg_arg, data_arg, listen, "--log.level=warn", NULL};

	cr_assert_eq(access(PROMETHEUS, X_OK), 0, PROMETHEUS ": apt-get install prometheus");
	snprintf(cfg, sizeof(cfg), "%s/prometheus.yml", P.dir);
	snprintf(data, sizeof(data), "%s/prometheus", P.dir);
	snprintf(log, sizeof(log), "%s/prometheus.log", P.dir);
	write_text(cfg, "global:\n"
			"  scrape_interval: 1s\n"
			"scrape_configs:\n"
			"  - job_name: sidecap\n"
			"    static_configs:\n"
			"      - targets: [\"" METRICS "\"]\n");
	snprintf(cfg_arg, sizeof(cfg_arg), "--config.file=%s", cfg);
	snprintf(data_arg, sizeof(data_arg), "--storage.tsdb.path=%s", data);
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", PROM_PORT);
	tpod_spawn_at(P.ns, NULL, 0, log, argv);
}

/* EXPR as a URL query value. */
static void url_encode(const char *expr, char *out, size_t len)
{
	size_t n = 0;

	for (; *expr && n + 4 < len; expr++) {
		if ((*expr >= 'a' && *expr <= 'z') || (*expr >= 'A' && *expr <= 'Z') ||
		    (*expr >= '0' && *expr <= '9') || *expr == '_')
			out[n++] = *expr;
		else
			n += snprintf(out + n, len - n, "%%%02X", (unsigned char)*expr);
	}
	out[n] = '\0';
}

/*
 * Ask the server's HTTP API for EXPR (an instant query), from inside the pod's namespace, and
 * put each series of the answer in OUT as one line "name label=value ... = value", labels as
 * jq sorts them, the server's own job and instance labels left out.
 */
static void query(const char *expr, char *out, size_t len)
{
	char path[1024], q[768], file[PATH_MAX], cmd[PATH_MAX + 256], body[64 * 1024];
	FILE *f;
	pid_t pid;
	int st;

	url_encode(expr, q, sizeof(q));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", q);
	snprintf(file, sizeof(file), "%s/query.json", P.dir);
	pid = tpod_fork_at(P.ns, NULL, 0);
	if (pid == 0) {
		st = t_http_get(PROM_PORT, path, body, sizeof(body));
		f = fopen(file, "we");
		if (f) {
			fputs(body, f);
			fclose(f);
		}
		_exit(st == 200 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	out[0] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return;
	snprintf(cmd, sizeof(cmd),
		 "jq -r '.data.result[] | [.metric | del(.job, .instance) | to_entries[] | "
		 "\"\\(.key)=\\(.value)\"] + [\"= \" + .value[1]] | join(\" \")' %s",
		 file);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	len = fread(out, 1, len - 1, f);
	out[len] = '\0';
	pclose(f);
}

/* Query EXPR until the server answers WANT (it scrapes every second), for at most 20 s. */
static void assert_query(const char *expr, const char *want)
{
	char got[4096];
	int i;

	for (i = 0; i < 200; i++) {
		query(expr, got, sizeof(got));
		if (!strcmp(got, want))
			return;
		usleep(100000);
	}
	cr_assert_str_eq(got, want, "query %s", expr);
}

Test(prometheus, server_scrapes_the_counters_with_their_families_and_labels)
{
	char line[1024], want[256];

	tpod_write_config("metrics:\n  listen: \"" METRICS "\"\n");
	start_daemon_in_pod();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--repeat", "25", NULL);
	t_wait_proxy_lines("result=ok", CONNECTIONS);
	start_prometheus();

	assert_query("up{job=\"sidecap\"}", "__name__=up = 1\n");
	assert_query("sidecap_outbound_connections_total{action=\"redirect\",reason=\"policy\"}",
		     "__name__=sidecap_outbound_connections_total action=redirect reason=policy = "
		     "25\n");
	assert_query("sidecap_original_dst_queries_total{answer=\"answered\"}",
		     "__name__=sidecap_original_dst_queries_total answer=answered = 25\n");
	assert_query("sidecap_errors_total{reason=\"no_policy\"}",
		     "__name__=sidecap_errors_total reason=no_policy = 0\n");
	snprintf(want, sizeof(want), "= %d\n", n_errors);
	assert_query("count(sidecap_errors_total)", want);
	assert_query("sidecap_node_pairs_total{event=\"hinted\"}",
		     "__name__=sidecap_node_pairs_total event=hinted = 0\n");
	snprintf(want, sizeof(want), "__name__=sidecap_map_capacity_entries map=sc_sockhash = %d\n",
		 SC_MAX_SOCKETS);
	assert_query("sidecap_map_capacity_entries{map=\"sc_sockhash\"}", want);
}
