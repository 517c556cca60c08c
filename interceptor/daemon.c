// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `run`, `cleanup` and `status`: the daemon's life cycle around one pod's pins. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <uv.h>

#include "interceptor.h"
#include "iptables.h"
#include "log.h"
#include "metrics.h"
#include "pod.h"
#include "report.h"
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
	struct sc_pod pod;
	struct sc_reloads reloads;
	struct sc_config_cache *parse_cache;
	const char *config_path;
	bool keep;
	bool ready;
	int mode; /* --mode, or SC_MODE_FROM_FILE */
	/* mode: iptables: the live config (owned), the pod's netns, the policies applied. */
	struct sc_config *ipt_cfg;
	int ipt_netns_fd;
	unsigned int ipt_generation;
};

static bool sc_daemon_iptables(const struct sc_daemon *d)
{
	return d->ipt_cfg != NULL;
}

static const struct sc_config *sc_daemon_config(const struct sc_daemon *d)
{
	return sc_daemon_iptables(d) ? d->ipt_cfg : sc_pod_config(&d->pod);
}

static unsigned int sc_daemon_generation(const struct sc_daemon *d)
{
	return sc_daemon_iptables(d) ? d->ipt_generation : d->pod.generation;
}

/* mode: iptables: the backend, the pod's netns (never the host's), the first rules. */
static int sc_iptables_open(struct sc_daemon *d, struct sc_config *cfg)
{
	char backend[32];
	int err;

	err = sc_iptables_backend("iptables", backend, sizeof(backend));
	if (err) {
		pr_warn("iptables -V: %s (mode: iptables needs the iptables package)\n",
			strerror(-err));
		return err;
	}
	pr_info("iptables backend: %s\n", backend);
	err = sc_iptables_open_netns(cfg->netns, &d->ipt_netns_fd);
	if (err)
		return err;
	err = sc_iptables_apply(cfg, d->ipt_netns_fd);
	if (err) {
		pr_warn("%s: installing the iptables rules in %s failed (%s)\n", d->config_path,
			cfg->netns, strerror(-err));
		close(d->ipt_netns_fd);
		d->ipt_netns_fd = -1;
		return err;
	}
	d->ipt_cfg = cfg;
	d->ipt_generation = 1;
	return 0;
}

/* Replace the rules with CFG's in one iptables-restore per family; on success D owns CFG. */
static int sc_iptables_reapply(struct sc_daemon *d, struct sc_config *cfg)
{
	int err = sc_iptables_apply(cfg, d->ipt_netns_fd);

	if (err)
		return err;
	sc_config_free(d->ipt_cfg);
	free(d->ipt_cfg);
	d->ipt_cfg = cfg;
	d->ipt_generation++;
	return 0;
}

/* Remove our rules (unless --keep) and let go of the netns. */
static int sc_iptables_close(struct sc_daemon *d)
{
	int err = 0;

	if (!d->keep) {
		err = sc_iptables_remove(d->ipt_netns_fd);
		if (err)
			pr_warn("removing the iptables rules from %s: %s\n", d->ipt_cfg->netns,
				strerror(-err));
		else
			pr_info("removed the iptables rules from %s\n", d->ipt_cfg->netns);
	}
	close(d->ipt_netns_fd);
	sc_config_free(d->ipt_cfg);
	free(d->ipt_cfg);
	d->ipt_cfg = NULL;
	return err;
}

int sc_check_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	static const int need[] = {CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN};
	size_t i;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!(data[need[i] / 32].effective & (1u << (need[i] % 32)))) {
			pr_warn("not permitted: loading and attaching BPF programs needs root, or "
				"CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (run with sudo)\n");
			return -EPERM;
		}
	}
	return 0;
}

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

	pr_info("%s: stopping%s\n", strsignal(signum),
		!d->keep		? ""
		: sc_daemon_iptables(d) ? " (--keep: the iptables rules stay)"
					: " (--keep: programs stay attached and pinned)");
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
	const struct sc_config *cur = sc_daemon_config(d);
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
	if (strcmp(cfg->cgroup, cur->cgroup) || strcmp(cfg->pin_path, cur->pin_path) ||
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
	err = sc_daemon_iptables(d) ? sc_iptables_reapply(d, cfg) : sc_pod_apply(&d->pod, cfg);
	if (err) {
		pr_warn("%s: applying failed (%s)\n", d->config_path, strerror(-err));
		goto out_reject;
	}
	d->reloads.ok++;
	d->reloads.last_ok = sc_unix_now();
	pr_info("%s (%s): policy generation %u applied in %.1f ms (parse %.1f ms, %s %zu of %zu "
		"services%s%s)\n",
		d->config_path, why, sc_daemon_generation(d), sc_mono_ms() - t0, t_parse,
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
		sc_daemon_generation(d));
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
	struct sc_report_src src = {
		.pin_path = d->pod.pin_path,
		.cfg = sc_pod_config(&d->pod),
		.ids = &d->pod.ids,
		.reloads = &d->reloads,
	};

	return sc_report_metrics(&src, body, len);
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

int sc_cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"keep", no_argument, NULL, 'k'},
		{"allow-root-cgroup", no_argument, NULL, 'R'},
		{"ready-file", required_argument, NULL, 'r'},
		{"verbose", no_argument, NULL, 'v'},
		{"mode", required_argument, NULL, 'm'},
		{0},
	};
	struct sc_pod_opts pod_opts = {0};
	struct sc_config *cfg = NULL;
	char pin_path[PATH_MAX];
	const char *ready = NULL;
	struct sc_daemon d = {.mode = SC_MODE_FROM_FILE, .ipt_netns_fd = -1};
	int c, err;

	while ((c = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'm':
			d.mode = sc_parse_mode_arg("run", optarg);
			if (d.mode < 0)
				return 2;
			break;
		case 'k':
			d.keep = true;
			break;
		case 'R':
			pod_opts.allow_root_cgroup = true;
			break;
		case 'r':
			ready = optarg;
			break;
		case 'v':
			sc_log_set_level(SC_LOG_DEBUG);
			break;
		default:
			return 2;
		}
	}
	if (!d.config_path) {
		fprintf(stderr, "interceptor run: --config FILE is required\n");
		return 2;
	}
	if (sc_check_privileges())
		return 1;
	d.parse_cache = sc_config_cache_new(SC_PARSE_SPLICE_MIN);
	if (!d.parse_cache)
		return 1;
	uv_loop_init(&d.loop);
	/* Watch before the first read, so that a change in between is not lost. */
	err = sc_watch_start(&d.loop, d.config_path, SC_WATCH_DEBOUNCE_MS, on_config_change, &d,
			     &d.watch);
	cfg = calloc(1, sizeof(*cfg));
	if (err || !cfg || sc_load_config_cached(d.parse_cache, d.config_path, d.mode, cfg)) {
		err = err ? err : -EINVAL;
		goto out_loop;
	}
	if (cfg->mode == SC_MODE_IPTABLES) {
		err = sc_iptables_open(&d, cfg);
		if (err)
			goto out_loop;
		cfg = NULL; /* the daemon's now */
		pr_info("mode: iptables: rules installed in %s\n", d.ipt_cfg->netns);
		if (d.ipt_cfg->metrics.enabled)
			pr_warn("metrics: not served in mode: iptables (the counters are BPF "
				"maps)\n");
		goto out_signals;
	}
	err = sc_pod_open(&d.pod, cfg, &pod_opts);
	if (err)
		goto out_loop;
	cfg = NULL; /* the pod's now */
	snprintf(pin_path, sizeof(pin_path), "%s", d.pod.pin_path);
	pr_info("attached to %s, pinned under %s (%s)\n", sc_pod_config(&d.pod)->cgroup, pin_path,
		d.pod.adopted ? "adopted the pinned links" : "new links");

	if (sc_pod_config(&d.pod)->metrics.enabled) {
		err = sc_metrics_start(&d.loop, sc_pod_config(&d.pod)->metrics.listen,
				       sc_render_metrics, sc_is_ready, &d, &d.metrics);
		if (err)
			/* Interception is up and stays up: only the metrics are missing. */
			pr_warn("metrics: not served (interception goes on)\n");
	}
out_signals:
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	d.ready = true;
	if (ready && (err = sc_write_pidfile(ready)))
		pr_warn("--ready-file %s: %s\n", ready, strerror(-err));
	err = 0;
	uv_run(&d.loop, UV_RUN_DEFAULT);

	sc_config_cache_free(d.parse_cache);
	if (sc_daemon_iptables(&d)) {
		err = sc_iptables_close(&d);
		uv_loop_close(&d.loop);
		return err ? 1 : 0;
	}
	sc_pod_close(&d.pod);
	if (!d.keep) {
		err = sc_pins_remove(pin_path);
		if (err)
			pr_warn("removing %s: %s\n", pin_path, strerror(-err));
		else
			pr_info("detached and unpinned %s\n", pin_path);
	}
	uv_loop_close(&d.loop);
	return err ? 1 : 0;

out_loop:
	if (cfg) {
		sc_config_free(cfg);
		free(cfg);
	}
	if (d.watch)
		sc_watch_stop(d.watch);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);
	sc_config_cache_free(d.parse_cache);
	return 1;
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
	int c, err, fd, mode = SC_MODE_FROM_FILE;
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
		fprintf(stderr, "interceptor cleanup: --stale removes other pods' pins; run it "
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
	if (cfg.mode == SC_MODE_IPTABLES) {
		err = sc_iptables_open_netns(cfg.netns, &fd);
		if (!err) {
			err = sc_iptables_remove(fd);
			close(fd);
		}
		if (err)
			pr_warn("cleanup: iptables rules in %s: %s\n", cfg.netns, strerror(-err));
		else
			printf("removed the iptables rules from %s\n", cfg.netns);
		sc_config_free(&cfg);
		return err ? 1 : 0;
	}
	err = sc_pins_remove(cfg.pin_path);
	if (err)
		pr_warn("cleanup %s: %s\n", cfg.pin_path, strerror(-err));
	else
		printf("removed %s\n", cfg.pin_path);
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
