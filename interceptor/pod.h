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
#include "config.h"
#include "services.h"
#include "sidecap.h"

enum sc_link {
	SC_LINK_CONNECT4,
	SC_LINK_CONNECT6,
	SC_LINK_GETPEERNAME4,
	SC_LINK_GETPEERNAME6,
	SC_LINK_SOCKOPS,
	SC_LINK_GETSOCKOPT,
	SC_LINK_SK_MSG,
	SC_LINK_SK_LOOKUP, /* in the pod's network namespace; only when inbound steering is on */
	SC_LINK__MAX,
};

extern const char *const sc_link_names[SC_LINK__MAX];

struct sidecap_bpf;

struct sc_pod {
	struct sidecap_bpf *skel;
	char pin_path[PATH_MAX];
	int cgroup_fd;
	int link_fd[SC_LINK__MAX];
	int adopted;	  /* links found pinned and updated to the new programs */
	int netns_fd;	  /* the pod's network namespace, -1 when inbound steering is off */
	int node_link_fd; /* the node sk_msg link (<dirname(pinPath)>/SC_NODE_DIR/links/sk_msg) */
	/* The config each policy slot holds (owned; NULL: unknown, as after adopting pins), so
	 * the next policy is written into a slot as a diff. */
	struct sc_config *slot_cfg[SC_POLICY_SLOTS];
	struct sc_svc_ids ids;
	unsigned int generation;
	unsigned int active_slot;
};

struct sc_pod_opts {
	bool allow_root_cgroup;
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

/*
 * Remove everything pinned under PIN_PATH, whether or not a daemon holds it: detach every link,
 * then unpin the maps; the node's shared objects too when no other pod's pins are left beside
 * PIN_PATH. Open accelerated connections keep their path until they close. 0 or -errno.
 */
int sc_pins_remove(const char *pin_path);

/*
 * Remove the pins of every pod under PARENT (the directory holding the pods' pin paths) whose
 * cgroup is gone: a pod deleted while its interceptor was down. The pins of a live pod, or of a
 * pod whose links are not pinned yet (a daemon starting), are never touched. Returns the number of
 * pods removed, or -errno.
 */
int sc_pins_remove_stale(const char *parent);

/* Path helpers: <pin>/maps/<name>, <pin>/links/<name>; the node directory of a pod, where the
 * maps shared by the pods of the node are pinned: <dirname(pin)>/SC_NODE_DIR. */
int sc_node_path(char *buf, size_t len, const char *pin_path);
int sc_pin_map_path(char *buf, size_t len, const char *pin_path, const char *name);
int sc_pin_link_path(char *buf, size_t len, const char *pin_path, const char *name);

/* The cgroup2 mount point, or NULL. */
const char *sc_cgroup2_mount(void);

#endif /* SC_POD_H */
