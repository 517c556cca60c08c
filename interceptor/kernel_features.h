/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the running kernel offers of what sidecap uses beyond its floor (Linux 5.10), probed at
 * start, and what each missing feature costs. docs/kernels.md has the table per kernel.
 */
#ifndef SC_KERNEL_FEATURES_H
#define SC_KERNEL_FEATURES_H

#include <stdbool.h>
#include <stdio.h>

/* X(field, name, kernel version, what is lost without it) */
#define SC_FEATURES(X)                                                                     \
	X(fetch_atomics, "fetching atomics", "5.12",                                       \
	  "5.10-level programs: a demoted socket stays in its sockhash, round robin is "   \
	  "approximate")                                                                   \
	X(netns_cookie, "bpf_get_netns_cookie in sockops and sk_msg", "5.15",              \
	  "5.10-level programs: no pairing of two pods of the node (counted as "           \
	  "xpod_off_no_netns_cookie), and the losses of fetching atomics")                 \
	X(sockmap_link, "sk_msg attached through a bpf_link", "6.10",                      \
	  "sk_msg attached with bpf_prog_attach and the program pinned instead of a link") \
	X(sk_lookup_ifindex, "sk_lookup ingress_ifindex", "5.17",                          \
	  "inbound steering tells connections over loopback by their addresses")

struct sc_features {
#define SC_FEATURE_FIELD(field, name, version, without) bool field;
	SC_FEATURES(SC_FEATURE_FIELD)
#undef SC_FEATURE_FIELD
};

/* Probe the running kernel. Needs the privileges of `run`. 0 or -errno. */
int sc_features_probe(struct sc_features *f);

/* Whether the full-level programs load here (else the *_510 ones: bpf/lib/common.h). */
bool sc_features_full(const struct sc_features *f);

/* One line per feature: have it or not, the version that brought it, what is lost without it. */
void sc_features_print(const struct sc_features *f, FILE *out);

/* The same as one log line of what this kernel lacks ("all" when nothing is missing). */
void sc_features_log(const struct sc_features *f);

#endif /* SC_KERNEL_FEATURES_H */
