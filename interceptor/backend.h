/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One way of sending a pod's connections to its proxy, behind one interface: the BPF programs
 * of mode: ebpf (backend_ebpf.c, over pod.c) or the nat rules of mode: iptables
 * (backend_iptables.c, over iptables.c). The daemon holds one backend, chosen by the config's
 * mode, and knows nothing else of the mode.
 */
#ifndef SC_BACKEND_H
#define SC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "abi.h"
#include "config.h"

struct sc_reloads;

struct sc_backend_opts {
	const char *config_path; /* for messages */
	bool allow_root_cgroup;	 /* --allow-root-cgroup */
	struct sc_map_max map_max[SC_MAP_MAX_OVERRIDES];
	int n_map_max;
};

struct sc_backend {
	const struct sc_backend_ops *ops;
};

struct sc_backend_ops {
	const char *mode; /* as the config names it */
	const char *kept; /* what stays in place when the daemon stops with --keep */
	/*
	 * Put CFG's policy in place, adopting what an earlier run left. 0 with *OUT, which owns
	 * CFG; or -errno, having logged why, with nothing new left in place and CFG the caller's.
	 */
	int (*open)(struct sc_config *cfg, const struct sc_backend_opts *opts,
		    struct sc_backend **out);
	/* Make CFG's policy live; on success B owns CFG, on error the running policy stays. */
	int (*apply)(struct sc_backend *b, struct sc_config *cfg);
	/* The config live now, and its generation (1 for the first policy, +1 per change). */
	const struct sc_config *(*config)(const struct sc_backend *b);
	unsigned int (*generation)(const struct sc_backend *b);
	/* The /metrics body; NULL when the backend has no counters to serve. */
	int (*metrics)(struct sc_backend *b, const struct sc_reloads *reloads, char **body,
		       size_t *len);
	/* Let go of B; unless KEEP, take away what it put in place first. 0 or -errno. */
	int (*close)(struct sc_backend *b, bool keep);
	/* Take away what a daemon of CFG left in place, from the config alone (resolving what the
	 * file leaves to run time: target.h). 0 or -errno. */
	int (*cleanup)(struct sc_config *cfg);
};

extern const struct sc_backend_ops sc_backend_ebpf;
extern const struct sc_backend_ops sc_backend_iptables;

/* The backend of MODE (enum sc_mode, as a parsed config holds it). */
static inline const struct sc_backend_ops *sc_backend_of(int mode)
{
	return mode == SC_MODE_IPTABLES ? &sc_backend_iptables : &sc_backend_ebpf;
}

#endif /* SC_BACKEND_H */
