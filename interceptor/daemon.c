// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `run`, `cleanup` and `status`: the daemon's life cycle around one pod's pins. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <uv.h>

#include "interceptor.h"
#include "log.h"
#include "pod.h"
#include "sidecap.h"

struct sc_daemon {
	uv_loop_t loop;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	struct sc_pod pod;
	const char *config_path;
	bool keep;
	int exit_code;
};

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

static void on_close(uv_handle_t *h)
{
}

static void sc_daemon_stop(struct sc_daemon *d)
{
	uv_close((uv_handle_t *)&d->sigterm, on_close);
	uv_close((uv_handle_t *)&d->sigint, on_close);
	uv_close((uv_handle_t *)&d->sighup, on_close);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
	struct sc_daemon *d = h->data;

	pr_info("%s: stopping%s\n", strsignal(signum),
		d->keep ? " (--keep: programs stay attached and pinned)" : "");
	sc_daemon_stop(d);
}

/* SIGHUP: read the config again; a bad file never replaces the running policy. */
static void on_sighup(uv_signal_t *h, int signum)
{
	struct sc_daemon *d = h->data;
	struct sc_config cfg = {0};
	int err;

	if (sc_load_config(d->config_path, &cfg)) {
		pr_warn("%s: rejected; the running policy stays\n", d->config_path);
		return;
	}
	if (strcmp(cfg.pin_path, d->pod.pin_path)) {
		pr_warn("%s: pinPath changed; restart the daemon to move the pins; the running "
			"policy stays\n",
			d->config_path);
		goto out;
	}
	err = sc_pod_apply(&d->pod, &cfg);
	if (err)
		pr_warn("%s: applying failed (%s); the running policy stays\n", d->config_path,
			strerror(-err));
out:
	sc_config_free(&cfg);
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
		{0},
	};
	struct sc_pod_opts pod_opts = {0};
	struct sc_config cfg = {0};
	const char *ready = NULL;
	struct sc_daemon d = {0};
	int c, err;

	while ((c = getopt_long(argc, argv, "c:v", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
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
	if (sc_load_config(d.config_path, &cfg))
		return 1;
	err = sc_pod_open(&d.pod, &cfg, &pod_opts);
	if (err)
		goto out_cfg;
	pr_info("attached to %s, pinned under %s (%s)\n", cfg.cgroup, d.pod.pin_path,
		d.pod.adopted ? "adopted the pinned links" : "new links");

	uv_loop_init(&d.loop);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	if (ready && (err = sc_write_pidfile(ready)))
		pr_warn("--ready-file %s: %s\n", ready, strerror(-err));
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);

	sc_pod_close(&d.pod);
	if (!d.keep) {
		err = sc_pins_remove(cfg.pin_path);
		if (err)
			pr_warn("removing %s: %s\n", cfg.pin_path, strerror(-err));
		else
			pr_info("detached and unpinned %s\n", cfg.pin_path);
	}
out_cfg:
	sc_config_free(&cfg);
	return err ? 1 : 0;
}

int sc_cmd_cleanup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{0},
	};
	struct sc_config cfg = {0};
	const char *file = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			file = optarg;
		else
			return 2;
	}
	if (!file) {
		fprintf(stderr, "interceptor cleanup: --config FILE is required\n");
		return 2;
	}
	if (sc_check_privileges() || sc_load_config(file, &cfg))
		return 1;
	err = sc_pins_remove(cfg.pin_path);
	if (err)
		pr_warn("cleanup %s: %s\n", cfg.pin_path, strerror(-err));
	else
		printf("removed %s\n", cfg.pin_path);
	sc_config_free(&cfg);
	return err ? 1 : 0;
}

static int sc_open_pinned_map(const char *pin_path, const char *name)
{
	char path[PATH_MAX];

	if (sc_pin_map_path(path, sizeof(path), pin_path, name))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

static long sc_count_keys(int fd, size_t key_size)
{
	char k[64], next[64];
	void *prev = NULL;
	long n = 0;

	if (key_size > sizeof(k))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(k, next, key_size);
		prev = k;
		n++;
	}
	return n;
}

/* From the pins alone: works while the daemon is down. */
int sc_cmd_status(int argc, char **argv)
{
	static const char *const names[] = {
#define SC_COUNTER_NAME(n) #n,
		SC_COUNTERS(SC_COUNTER_NAME)
#undef SC_COUNTER_NAME
	};
	struct sc_config cfg = {0};
	struct sc_state st;
	char path[PATH_MAX];
	int ncpu = libbpf_num_possible_cpus();
	int fd, l, i, c;
	const char *file = NULL;
	__u32 zero = 0;
	__u64 *vals;
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'}, {0}};

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c')
			return 2;
		file = optarg;
	}
	if (!file) {
		fprintf(stderr, "interceptor status: --config FILE is required\n");
		return 2;
	}
	if (sc_load_config(file, &cfg))
		return 1;
	printf("pod      %s\npins     %s\n", cfg.cgroup, cfg.pin_path);
	for (l = 0; l < SC_LINK__MAX; l++) {
		sc_pin_link_path(path, sizeof(path), cfg.pin_path, sc_link_names[l]);
		printf("link     %-13s %s\n", sc_link_names[l],
		       access(path, F_OK) ? "not pinned" : "attached");
	}
	fd = sc_open_pinned_map(cfg.pin_path, SC_MAP_STATE);
	if (fd < 0) {
		printf("policy   none (%s)\n", strerror(errno));
		sc_config_free(&cfg);
		return 1;
	}
	if (!bpf_map_lookup_elem(fd, &zero, &st))
		printf("policy   generation %u in slot %u\n", st.generation, st.active_slot);
	close(fd);

	fd = sc_open_pinned_map(cfg.pin_path, SC_MAP_STATS);
	vals = calloc(ncpu > 0 ? ncpu : 1, sizeof(*vals));
	for (i = 0; fd >= 0 && vals && i < SC_C__MAX; i++) {
		__u32 key = i;
		__u64 sum = 0;
		int cpu;

		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			sum += vals[cpu];
		printf("counter  %-32s %llu\n", names[i], (unsigned long long)sum);
	}
	free(vals);
	if (fd >= 0)
		close(fd);

	{
		static const struct {
			const char *map;
			size_t key_size;
			long cap;
		} occ[] = {
			{SC_MAP_SOCKHASH, sizeof(struct sc_tuple), SC_MAX_SOCKETS},
			{SC_MAP_FLOWS, sizeof(struct sc_tuple), SC_MAX_FLOWS},
			{SC_MAP_HANDOVER, sizeof(struct sc_tuple), SC_MAX_HANDOVER},
			{SC_MAP_PORTS, sizeof(__u32), SC_MAX_PORTS},
			{SC_MAP_CIDRS, sizeof(struct sc_cidr_key), SC_MAX_CIDRS},
		};
		size_t j;

		for (j = 0; j < sizeof(occ) / sizeof(occ[0]); j++) {
			fd = sc_open_pinned_map(cfg.pin_path, occ[j].map);
			if (fd < 0)
				continue;
			printf("map      %-13s %ld / %ld\n", occ[j].map,
			       sc_count_keys(fd, occ[j].key_size), occ[j].cap);
			close(fd);
		}
	}
	sc_config_free(&cfg);
	return 0;
}
