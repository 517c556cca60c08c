// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* mode: ebpf as a backend: the pod's programs, maps and pins (pod.c), its counters (report.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "pod.h"
#include "report.h"
#include "target.h"

struct sc_ebpf {
	struct sc_backend base;
	struct sc_pod pod;
	char pin_path[PATH_MAX];
};

static struct sc_ebpf *sc_ebpf_of(const struct sc_backend *b)
{
	return (struct sc_ebpf *)((char *)b - offsetof(struct sc_ebpf, base));
}

static int sc_ebpf_open(struct sc_config *cfg, const struct sc_backend_opts *opts,
			struct sc_backend **out)
{
	struct sc_pod_opts pod_opts = {
		.allow_root_cgroup = opts->allow_root_cgroup,
		.map_max = opts->map_max,
		.n_map_max = opts->n_map_max,
	};
	struct sc_ebpf *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	err = sc_target_resolve(cfg);
	if (!err)
		err = sc_pod_open(&e->pod, cfg, &pod_opts);
	if (err) {
		free(e);
		return err;
	}
	snprintf(e->pin_path, sizeof(e->pin_path), "%s", e->pod.pin_path);
	pr_info("attached to %s, pinned under %s (%s)\n", sc_pod_config(&e->pod)->cgroup,
		e->pin_path, e->pod.adopted ? "adopted the pinned links" : "new links");
	e->base.ops = &sc_backend_ebpf;
	*out = &e->base;
	return 0;
}

static int sc_ebpf_apply(struct sc_backend *b, struct sc_config *cfg)
{
	return sc_pod_apply(&sc_ebpf_of(b)->pod, cfg);
}

static const struct sc_config *sc_ebpf_config(const struct sc_backend *b)
{
	return sc_pod_config(&sc_ebpf_of(b)->pod);
}

static unsigned int sc_ebpf_generation(const struct sc_backend *b)
{
	return sc_ebpf_of(b)->pod.generation;
}

static int sc_ebpf_metrics(struct sc_backend *b, const struct sc_reloads *reloads, char **body,
			   size_t *len)
{
	struct sc_pod *pod = &sc_ebpf_of(b)->pod;
	struct sc_report_src src = {
		.pin_path = pod->pin_path,
		.cfg = sc_pod_config(pod),
		.ids = &pod->ids,
		.reloads = reloads,
	};

	return sc_report_metrics(&src, body, len);
}

/* Our descriptors go; the pins (and so interception) stay unless they are removed too. */
static int sc_ebpf_close(struct sc_backend *b, bool keep)
{
	struct sc_ebpf *e = sc_ebpf_of(b);
	int err = 0;

	sc_pod_close(&e->pod);
	if (!keep) {
		err = sc_pins_remove(e->pin_path);
		if (err)
			pr_warn("removing %s: %s\n", e->pin_path, strerror(-err));
		else
			pr_info("detached and unpinned %s\n", e->pin_path);
	}
	free(e);
	return err;
}

static int sc_ebpf_cleanup(struct sc_config *cfg)
{
	int err = sc_target_resolve(cfg);

	if (err)
		return err;
	err = sc_pins_remove(cfg->pin_path);

	if (err)
		pr_warn("cleanup %s: %s\n", cfg->pin_path, strerror(-err));
	else
		printf("removed %s\n", cfg->pin_path);
	return err;
}

const struct sc_backend_ops sc_backend_ebpf = {
	.mode = "ebpf",
	.kept = "programs stay attached and pinned",
	.open = sc_ebpf_open,
	.apply = sc_ebpf_apply,
	.config = sc_ebpf_config,
	.generation = sc_ebpf_generation,
	.metrics = sc_ebpf_metrics,
	.close = sc_ebpf_close,
	.cleanup = sc_ebpf_cleanup,
};
