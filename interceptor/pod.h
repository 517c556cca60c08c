/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One pod's kernel state: the BPF object loaded with its maps pinned under <pinPath>/maps, its
 * programs attached with bpf_links pinned under <pinPath>/links. Pins outlive the daemon, so a
 * crash or restart never interrupts interception, and the next `run` adopts them.
 */
#ifndef SC_POD_H
#define SC_POD_H

#include <stdbool.h>
#include <limits.h>
#include "abi.h"
#include "config.h"
#include "kernel_features.h"
#include "pins.h"
#include "services.h"
#include "sidecap.h"

struct sidecap_bpf;

struct sc_pod {
	struct sidecap_bpf *skel;
	struct sc_features feat; /* what this kernel offers (interceptor/kernel_features.c) */
	bool full;		 /* the programs are the full level's, not the *_510 ones */
	char pin_path[PATH_MAX];
	int cgroup_fd;
	int link_fd[SC_LINK__MAX];
	int adopted;	  /* links found pinned and updated to the new programs */
	int netns_fd;	  /* the pod's network namespace, -1 when inbound steering is off */
	int node_link_fd; /* the node sk_msg link (<dirname(pinPath)>/SC_NODE_DIR/links/sk_msg);
			   * -1 without one (no pairing, or no sockmap links: links.c) */
	/* The config each policy slot holds (owned; NULL: unknown, as after adopting pins), so
	 * the next policy is written into a slot as a diff. */
	struct sc_config *slot_cfg[SC_POLICY_SLOTS];
	struct sc_svc_ids ids;
	unsigned int generation;
	unsigned int active_slot;
};

struct sc_pod_opts {
	bool allow_root_cgroup;
	const struct sc_map_max *map_max; /* capacities in place of the built-in ones */
	int n_map_max;
};

/* Check the target, load (reusing pinned maps), apply CFG, attach or adopt, pin. 0 or -errno;
 * on success the pod owns CFG. On error nothing new stays attached or pinned, what was pinned
 * before is left as it was, and CFG stays the caller's. */
int sc_pod_open(struct sc_pod *pod, struct sc_config *cfg, const struct sc_pod_opts *opts);

/*
 * Write CFG into the inactive policy slot, make it live, then wait until no BPF program still
 * runs on the slot left behind. On success the pod owns CFG; on error nothing live changed and
 * CFG stays the caller's.
 */
int sc_pod_apply(struct sc_pod *pod, struct sc_config *cfg);

/* The config live now (owned by the pod). */
const struct sc_config *sc_pod_config(const struct sc_pod *pod);

/* Close our file descriptors; pins (and so interception) stay. */
void sc_pod_close(struct sc_pod *pod);

/* The cgroup2 mount point, or NULL. */
const char *sc_cgroup2_mount(void);

#endif /* SC_POD_H */
