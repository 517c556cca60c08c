/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pod a config is for, where the file leaves it to run time: with `cgroup: auto` (or no
 * cgroup) the pod's cgroup, found from inside the pod, and the default pin path.
 */
#ifndef SC_TARGET_H
#define SC_TARGET_H

#include <stddef.h>

#include "config.h"

/*
 * Resolve CFG (of a file with cgroup: auto) for the pod this process runs in: its cgroup and,
 * unless the file gives one, its pin path. Logs how the cgroup was found, or why it was not, naming
 * the file and the fix. Nothing to do for a config that names its cgroup. 0 or -errno.
 */
int sc_target_resolve(struct sc_config *cfg);

/*
 * For a reload: CFG (just parsed) takes the cgroup and pin path CUR (live) resolved, when both
 * leave them to run time: the pod does not change under a running daemon. 0 or -ENOMEM.
 */
int sc_target_carry(struct sc_config *cfg, const struct sc_config *cur);

#endif /* SC_TARGET_H */
