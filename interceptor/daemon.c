// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `run`, `cleanup` and `status`: the daemon's life cycle around a pod's backend. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <uv.h>

#include "abi.h"
#include "backend.h"
#include "cli.h"
#include "interceptor.h"
#include "log.h"
#include "metrics.h"
#include "pins.h"
#include "report.h"
#include "target.h"
#include "watch.h"

/* Long enough to coalesce an editor's or kubelet's burst, short enough to apply in < 50 ms. */
#define SC_WATCH_DEBOUNCE_MS 20

/*
 * Config files smaller than this are parsed whole at every reload (a few ms at most); larger
 * ones only in the services items that changed (see config_cache.c).
 */
#define SC_PARSE_SPLICE_MIN (64 << 10)

struct sc_daemon {
	uv_loop_t loop;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	struct sc_watch *watch;
	struct sc_metrics *metrics;
	struct sc_backend *backend; /* the config's mode: the pod's programs, or iptables rules */
	struct sc_reloads reloads;
	struct sc_config_cache *parse_cache;
	const char *config_path;
	bool keep;
	bool ready;
	int mode; /* --mode, or SC_MODE_FROM_FILE */
};

/* What `run` was told besides the config, the mode and --keep. */
struct sc_run_opts {
	struct sc_backend_opts backend;
	const char *ready_file;
};

static double sc_unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double sc_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_close(uv_handle_t *h)
{
}

static void sc_daemon_stop(struct sc_daemon *d)
{
	d->ready = false;
	if (d->watch)
		sc_watch_stop(d->watch);
	d->watch = NULL;
	if (d->metrics)
		sc_metrics_stop(d->metrics);
	d->metrics = NULL;
	uv_close((uv_handle_t *)&d->sigterm, on_close);
	uv_close((uv_handle_t *)&d->sigint, on_close);
	uv_close((uv_handle_t *)&d->sighup, on_close);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
	struct sc_daemon *d = h->data;

	if (d->keep)
		pr_info("%s: stopping (--keep: %s)\n", strsignal(signum), d->backend->ops->kept);
	else
		pr_info("%s: stopping\n", strsignal(signum));
	sc_daemon_stop(d);
}

static bool sc_str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* Whether PATH is no longer the file BEFORE describes: another size, mtime or inode. */
static bool sc_file_changed(const char *path, const struct stat *before)
{
	struct stat now;

	if (stat(path, &now))
		return true;
	return now.st_ino != before->st_ino || now.st_size != before->st_size ||
	       now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	       now.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

/*
 * Read the config again and apply it. A file that does not parse, validate or apply never
 * replaces the running policy; the daemon logs why and stays up.
 */
static void sc_reload(struct sc_daemon *d, const char *why)
{
	const struct sc_backend_ops *ops = d->backend->ops;
	const struct sc_config *cur = ops->config(d->backend);
	struct sc_config_cache_stats st;
	double t0 = sc_mono_ms(), t_parse;
	struct sc_config *cfg;
	struct stat before;
	bool stat_ok;
	int err = -ENOMEM;

	stat_ok = !stat(d->config_path, &before);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		goto out_reject;
	if (sc_load_config_cached(d->parse_cache, d->config_path, d->mode, cfg)) {
		/*
		 * A writer that pauses longer than the debounce mid-file shows us half a file. If
		 * the file changed while we read it, its writer is still at work and will make the
		 * watch fire again: that is not a failed reload, and the policy stays anyway.
		 */
		if (stat_ok && sc_file_changed(d->config_path, &before)) {
			pr_info("%s: changed while it was read; waiting for the writer to finish\n",
				d->config_path);
			free(cfg);
			return;
		}
		goto out_reject;
	}
	t_parse = sc_mono_ms() - t0;
	sc_config_cache_stats(d->parse_cache, &st);
	/* The pod does not change under a running daemon: what it found is what the file means. */
	if (sc_target_carry(cfg, cur))
		goto out_reject;
	if (cfg->cgroup_auto != cur->cgroup_auto || sc_str_differs(cfg->cgroup, cur->cgroup) ||
	    sc_str_differs(cfg->pin_path, cur->pin_path) ||
	    sc_str_differs(cfg->netns, cur->netns) || cfg->mode != cur->mode) {
		pr_warn("%s: cgroup, pinPath, netns and mode are fixed for the life of the daemon; "
			"restart it to change them\n",
			d->config_path);
		goto out_reject;
	}
	if (cfg->metrics.enabled != cur->metrics.enabled ||
	    sc_str_differs(cfg->metrics.listen, cur->metrics.listen))
		pr_warn("%s: metrics.listen takes effect when the daemon restarts\n",
			d->config_path);
	err = ops->apply(d->backend, cfg);
	if (err) {
		pr_warn("%s: applying failed (%s)\n", d->config_path, strerror(-err));
		goto out_reject;
	}
	d->reloads.ok++;
	d->reloads.last_ok = sc_unix_now();
	pr_info("%s (%s): policy generation %u applied in %.1f ms (parse %.1f ms, %s %zu of %zu "
		"services%s%s)\n",
		d->config_path, why, ops->generation(d->backend), sc_mono_ms() - t0, t_parse,
		st.last_spliced ? "spliced" : "whole:", st.last_items, cfg->n_services,
		st.last_spliced ? "" : "; ", st.last_spliced ? "" : st.last_why);
	return;

out_reject:
	if (cfg) {
		sc_config_free(cfg);
		free(cfg);
	}
	d->reloads.failed++;
	d->reloads.last_failed = sc_unix_now();
	pr_warn("%s: rejected; policy generation %u stays\n", d->config_path,
		ops->generation(d->backend));
}

static void on_sighup(uv_signal_t *h, int signum)
{
	sc_reload(h->data, "SIGHUP");
}

static void on_config_change(struct sc_watch *w, void *ctx)
{
	sc_reload(ctx, "file changed");
}

static int sc_render_metrics(void *ctx, char **body, size_t *len)
{
	struct sc_daemon *d = ctx;

	return d->backend->ops->metrics(d->backend, &d->reloads, body, len);
}

static bool sc_is_ready(void *ctx)
{
	return ((struct sc_daemon *)ctx)->ready;
}

static int sc_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}

/*
 * --map-max NAME=N: a counted map of the pod or the node (SC_MAPS) at capacity N. For tests that
 * fill a map on purpose, and for pods that need fewer (or more) entries than the built-in sizes.
 * Pins of another capacity are refused by libbpf's reuse check, so it holds for the pod's life.
 */
static int sc_parse_map_max(const char *arg, struct sc_backend_opts *o)
{
	const char *eq = strchr(arg, '=');
	unsigned long n;
	char *end;
	size_t i;

	for (i = 0; eq && i < SC_MAPID__MAX; i++)
		if (sc_maps[i].counted && strlen(sc_maps[i].name) == (size_t)(eq - arg) &&
		    !strncmp(arg, sc_maps[i].name, eq - arg))
			break;
	if (!eq || i == SC_MAPID__MAX) {
		fprintf(stderr,
			"interceptor run: --map-max %s: use NAME=N with NAME one of the "
			"maps `status` lists (sc_sockhash, sc_flows, ...)\n",
			arg);
		return -EINVAL;
	}
	errno = 0;
	n = strtoul(eq + 1, &end, 10);
	if (errno || *end || !n || n > (1ul << 24) || o->n_map_max == SC_MAP_MAX_OVERRIDES) {
		fprintf(stderr, "interceptor run: --map-max %s: N is 1-16777216, at most %d maps\n",
			arg, SC_MAP_MAX_OVERRIDES);
		return -EINVAL;
	}
	o->map_max[o->n_map_max].name = sc_maps[i].name;
	o->map_max[o->n_map_max++].max_entries = n;
	return 0;
}

/* The options of `run`: 0, or the exit code of a usage error. */
static int sc_run_args(int argc, char **argv, struct sc_daemon *d, struct sc_run_opts *opts)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"keep", no_argument, NULL, 'k'},
		{"allow-root-cgroup", no_argument, NULL, 'R'},
		{"ready-file", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"mode", required_argument, NULL, 'm'},
		{"map-max", required_argument, NULL, 'M'},
		{0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'm':
			d->mode = sc_parse_mode_arg("run", optarg);
			if (d->mode < 0)
				return 2;
			break;
		case 'k':
			d->keep = true;
			break;
		case 'R':
			opts->backend.allow_root_cgroup = true;
			break;
		case 'r':
			opts->ready_file = optarg;
			break;
		case 'v':
			sc_log_set_level(SC_LOG_DEBUG);
			break;
		case 'M':
			if (sc_parse_map_max(optarg, &opts->backend))
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (!d->config_path) {
		fprintf(stderr, "interceptor run: --config FILE is required\n");
		return 2;
	}
	opts->backend.config_path = d->config_path;
	return 0;
}

/*
 * Watch the config, read it, put its policy in place with the backend of its mode, serve the
 * metrics and take the signals. 0, or -errno with nothing left running or in place.
 */
static int sc_daemon_start(struct sc_daemon *d, const struct sc_run_opts *opts)
{
	const struct sc_config *live;
	struct sc_config *cfg;
	int err;

	d->parse_cache = sc_config_cache_new(SC_PARSE_SPLICE_MIN);
	if (!d->parse_cache)
		return -ENOMEM;
	uv_loop_init(&d->loop);
	/* Watch before the first read, so that a change in between is not lost. */
	err = sc_watch_start(&d->loop, d->config_path, SC_WATCH_DEBOUNCE_MS, on_config_change, d,
			     &d->watch);
	cfg = calloc(1, sizeof(*cfg));
	if (err || !cfg || sc_load_config_cached(d->parse_cache, d->config_path, d->mode, cfg)) {
		err = err ? err : -EINVAL;
		goto out_loop;
	}
	err = sc_backend_of(cfg->mode)->open(cfg, &opts->backend, &d->backend);
	if (err)
		goto out_loop;
	/* CFG is the backend's now; what is live is read from it. */
	live = d->backend->ops->config(d->backend);
	if (live->metrics.enabled && d->backend->ops->metrics &&
	    sc_metrics_start(&d->loop, live->metrics.listen, sc_render_metrics, sc_is_ready, d,
			     &d->metrics))
		/* Interception is up and stays up: only the metrics are missing. */
		pr_warn("metrics: not served (interception goes on)\n");
	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->sigterm.data = d->sigint.data = d->sighup.data = d;
	uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d->sighup, on_sighup, SIGHUP);
	d->ready = true;
	if (opts->ready_file && (err = sc_write_pidfile(opts->ready_file)))
		pr_warn("--ready-file %s: %s\n", opts->ready_file, strerror(-err));
	return 0;

out_loop:
	if (cfg) {
		sc_config_free(cfg);
		free(cfg);
	}
	if (d->watch)
		sc_watch_stop(d->watch);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	uv_loop_close(&d->loop);
	sc_config_cache_free(d->parse_cache);
	return err;
}

/* Once the loop has ended: the backend goes (taking its policy away unless --keep). */
static int sc_daemon_finish(struct sc_daemon *d)
{
	int err;

	sc_test_pause("detach");
	sc_config_cache_free(d->parse_cache);
	err = d->backend->ops->close(d->backend, d->keep);
	uv_loop_close(&d->loop);
	return err;
}

int sc_cmd_run(int argc, char **argv)
{
	struct sc_daemon d = {.mode = SC_MODE_FROM_FILE};
	struct sc_run_opts opts = {0};
	int err;

	sigset_t stop, old;

	err = sc_run_args(argc, argv, &d, &opts);
	if (err)
		return err;
	/*
	 * SIGTERM, SIGINT and SIGHUP wait while the pod is set up (load, apply, attach) and while
	 * it is taken down: their default action would end the daemon half way, leaving some of
	 * its pins and links. Held back, a stop signal that came during the set-up is taken by the
	 * loop as soon as it runs, and the pod is taken down whole; one during the take-down has
	 * nothing left to do.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if (sc_check_privileges() || sc_daemon_start(&d, &opts))
		return 1;
	sigprocmask(SIG_SETMASK, &old, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	return sc_daemon_finish(&d) ? 1 : 0;
}

/* `cleanup --stale [--pin-root DIR]`: the pins of pods whose cgroup is gone, under DIR. */
static int sc_cleanup_stale(const char *root)
{
	int n;

	if (sc_check_privileges())
		return 1;
	n = sc_pins_remove_stale(root);
	if (n < 0) {
		pr_warn("cleanup --stale %s: %s\n", root, strerror(-n));
		return 1;
	}
	printf("removed the pins of %d pod%s whose cgroup is gone, under %s\n", n,
	       n == 1 ? "" : "s", root);
	return 0;
}

int sc_cmd_cleanup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"stale", no_argument, NULL, 's'},
		{"pin-root", required_argument, NULL, 'p'},
		{0},
	};
	struct sc_config cfg = {0};
	const char *file = NULL, *root = SC_PIN_ROOT;
	int c, err, mode = SC_MODE_FROM_FILE;
	bool stale = false;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 's')
			stale = true;
		else if (c == 'p')
			root = optarg;
		else if (c == 'm' && (mode = sc_parse_mode_arg("cleanup", optarg)) >= 0)
			continue;
		else
			return 2;
	}
	if (stale && file) {
		fprintf(stderr,
			"interceptor cleanup: --stale removes other pods' pins; run it "
			"without --config (and with --pin-root DIR when pins are not under "
			"%s)\n",
			SC_PIN_ROOT);
		return 2;
	}
	if (stale)
		return sc_cleanup_stale(root);
	if (!file) {
		fprintf(stderr, "interceptor cleanup: --config FILE is required\n");
		return 2;
	}
	if (sc_check_privileges() || sc_load_config_mode(file, mode, &cfg))
		return 1;
	err = sc_backend_of(cfg.mode)->cleanup(&cfg);
	sc_config_free(&cfg);
	return err ? 1 : 0;
}

/* From the pins alone: works while the daemon is down. */
int sc_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{0},
	};
	struct sc_config cfg = {0};
	struct sc_report_src src = {0};
	const char *file = NULL;
	bool json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else if (c == 'j')
			json = true;
		else
			return 2;
	}
	if (!file) {
		fprintf(stderr, "interceptor status: --config FILE is required\n");
		return 2;
	}
	if (sc_load_config(file, &cfg))
		return 1;
	if (sc_target_resolve(&cfg)) {
		sc_config_free(&cfg);
		return 1;
	}
	src.pin_path = cfg.pin_path;
	src.cfg = &cfg;
	err = sc_report_status(&src, json, stdout);
	if (err)
		fprintf(stderr,
			"status: nothing pinned under %s (%s): is the interceptor running?\n",
			cfg.pin_path, strerror(-err));
	sc_config_free(&cfg);
	return err ? 1 : 0;
}

/*
 * `ready --config FILE`: exit 0 once the pod intercepts (a policy live, every program attached),
 * else 1 with what is missing. From the pins alone, as a Kubernetes startupProbe runs it (exec:
 * a FROM scratch image has no shell).
 */
int sc_cmd_ready(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{0},
	};
	struct sc_config cfg = {0};
	const char *file = NULL;
	char why[512];
	int c, err;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c')
			return 2;
		file = optarg;
	}
	if (!file) {
		fprintf(stderr, "interceptor ready: --config FILE is required\n");
		return 2;
	}
	if (sc_load_config(file, &cfg))
		return 1;
	err = sc_target_resolve(&cfg);
	if (!err) {
		err = sc_report_ready(cfg.pin_path, why, sizeof(why));
		printf("%s: %s\n", err ? "not ready" : "ready", why);
	}
	sc_config_free(&cfg);
	return err ? 1 : 0;
}
