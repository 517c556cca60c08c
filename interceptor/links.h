/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching a pod's programs, at the level the kernel allows (bpf/lib/common.h): each through a
 * bpf_link pinned under <pinPath>/links (the sk_msg program with bpf_prog_attach and a pinned
 * program where sockmap links are missing), adopting what an earlier run pinned.
 */
#ifndef SC_LINKS_H
#define SC_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include "pins.h"

struct sc_pod;
struct sidecap_bpf;
struct bpf_program;

/* Load only the programs of the level (full, or the *_510 ones), so that an older verifier never
 * sees the others. Before the object is loaded. */
void sc_set_level(struct sidecap_bpf *skel, bool full);

/* The program of link L at that level, and how it attaches. */
struct bpf_program *sc_link_prog(struct sidecap_bpf *skel, enum sc_link l, bool full);
enum bpf_attach_type sc_link_attach_type(enum sc_link l);

/*
 * Attach link L of POD, or adopt the one pinned: for sk_msg through sc_attach_msg, for the others
 * a bpf_link that must belong to the pod's cgroup (or netns). *CREATED: something new was attached
 * (what a failed start must undo). 0 or -errno.
 */
int sc_link_attach(struct sc_pod *pod, enum sc_link l, bool *created);

/* Undo what sc_link_attach created for L. */
void sc_link_undo(struct sc_pod *pod, enum sc_link l);

/* The node's sk_msg program on the node sockhash, at the full level only (no pairing below). */
int sc_node_link(struct sc_pod *pod, const char *node);

/*
 * Whether link L of the pod pinned at PIN_PATH is attached (1) or not (0), or -errno; NAME gets
 * the name of the program it runs (which tells the level: *_510 for kernels before 5.15). sk_msg
 * attached without a link (before Linux 6.10) counts as attached.
 */
int sc_pod_link_program(const char *pin_path, enum sc_link l, char *name, size_t len);

#endif /* SC_LINKS_H */
