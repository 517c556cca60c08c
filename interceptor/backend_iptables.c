// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mode: iptables as a backend: istio-iptables' nat rules (iptables.c) in the pod's network
 * namespace, never the host's. It has no counters of its own to serve: those are BPF maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "iptables.h"
#include "log.h"

struct sc_ipt {
	struct sc_backend base;
	struct sc_config *cfg; /* the live config (owned) */
	int netns_fd;	       /* the pod's network namespace */
	unsigned int generation;
};

static struct sc_ipt *sc_ipt_of(const struct sc_backend *b)
{
	return (struct sc_ipt *)((char *)b - offsetof(struct sc_ipt, base));
}

static void sc_config_destroy(struct sc_config *cfg)
{
	sc_config_free(cfg);
	free(cfg);
}

/* The tools' backend, the pod's netns (never the host's), the first rules. */
static int sc_ipt_open(struct sc_config *cfg, const struct sc_backend_opts *opts,
		       struct sc_backend **out)
{
	struct sc_ipt *t;
	char backend[32];
	int err;

	err = sc_iptables_backend("iptables", backend, sizeof(backend));
	if (err) {
		pr_warn("iptables -V: %s (mode: iptables needs the iptables package)\n",
			strerror(-err));
		return err;
	}
	pr_info("iptables backend: %s\n", backend);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = sc_iptables_open_netns(cfg->netns, &t->netns_fd);
	if (err)
		goto out_free;
	err = sc_iptables_apply(cfg, t->netns_fd);
	if (err) {
		pr_warn("%s: installing the iptables rules in %s failed (%s)\n", opts->config_path,
			cfg->netns, strerror(-err));
		close(t->netns_fd);
		goto out_free;
	}
	t->cfg = cfg;
	t->generation = 1;
	pr_info("mode: iptables: rules installed in %s\n", cfg->netns);
	/* The daemon's stop signals wait until its loop runs (interceptor/daemon.c), and so do
	 * those of iptables-restore, which inherits the mask: a Ctrl-C during the start-up lets
	 * the restore finish, and the loop then takes the rules away whole. */
	sc_test_pause("apply");
	if (cfg->metrics.enabled)
		pr_warn("metrics: not served in mode: iptables (the counters are BPF maps)\n");
	t->base.ops = &sc_backend_iptables;
	*out = &t->base;
	return 0;

out_free:
	free(t);
	return err;
}

/* Replace the rules with CFG's in one iptables-restore per family. */
static int sc_ipt_apply(struct sc_backend *b, struct sc_config *cfg)
{
	struct sc_ipt *t = sc_ipt_of(b);
	int err = sc_iptables_apply(cfg, t->netns_fd);

	if (err)
		return err;
	sc_config_destroy(t->cfg);
	t->cfg = cfg;
	t->generation++;
	return 0;
}

static const struct sc_config *sc_ipt_config(const struct sc_backend *b)
{
	return sc_ipt_of(b)->cfg;
}

static unsigned int sc_ipt_generation(const struct sc_backend *b)
{
	return sc_ipt_of(b)->generation;
}

/* Remove our rules (unless KEEP) and let go of the netns. */
static int sc_ipt_close(struct sc_backend *b, bool keep)
{
	struct sc_ipt *t = sc_ipt_of(b);
	int err = 0;

	if (!keep) {
		err = sc_iptables_remove(t->netns_fd);
		if (err)
			pr_warn("removing the iptables rules from %s: %s\n", t->cfg->netns,
				strerror(-err));
		else
			pr_info("removed the iptables rules from %s\n", t->cfg->netns);
	}
	close(t->netns_fd);
	sc_config_destroy(t->cfg);
	free(t);
	return err;
}

static int sc_ipt_cleanup(struct sc_config *cfg)
{
	int err, fd;

	err = sc_iptables_open_netns(cfg->netns, &fd);
	if (!err) {
		err = sc_iptables_remove(fd);
		close(fd);
	}
	if (err)
		pr_warn("cleanup: iptables rules in %s: %s\n", cfg->netns, strerror(-err));
	else
		printf("removed the iptables rules from %s\n", cfg->netns);
	return err;
}

const struct sc_backend_ops sc_backend_iptables = {
	.mode = "iptables",
	.kept = "the iptables rules stay",
	.open = sc_ipt_open,
	.apply = sc_ipt_apply,
	.config = sc_ipt_config,
	.generation = sc_ipt_generation,
	.close = sc_ipt_close,
	.cleanup = sc_ipt_cleanup,
};
