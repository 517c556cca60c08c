// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Resolving `cgroup: auto` at run time (target.h); the search itself is cgroup_auto.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_auto.h"
#include "log.h"
#include "target.h"

int sc_target_resolve(struct sc_config *cfg)
{
	struct sc_cgroup_found found;
	struct sc_cgroup_env env;
	char err[1024], pin[PATH_MAX];
	int ret;

	if (!cfg->cgroup_auto)
		return 0;
	sc_cgroup_env_default(&env, cfg->node_cgroup_mount);
	ret = sc_cgroup_find_pod(&env, &found, err, sizeof(err));
	if (ret) {
		pr_warn("%s: %s\n", cfg->path, err);
		return ret;
	}
	free(cfg->cgroup);
	cfg->cgroup = strdup(found.pod);
	if (!cfg->cgroup)
		return -ENOMEM;
	pr_info("cgroup: auto: the pod's cgroup is %s (%s%s%s)\n", found.rel, found.how,
		env.pod_uid ? "; pod UID " : "", env.pod_uid ? env.pod_uid : "");
	if (cfg->pin_path)
		return 0;
	ret = sc_auto_pin_path(env.pod_uid, found.rel, pin, sizeof(pin));
	if (ret) {
		pr_warn("%s: pinPath: no default from the pod's UID \"%s\" (%s): set pinPath, or "
			"SIDECAP_POD_UID from the downward API's metadata.uid\n",
			cfg->path, env.pod_uid ? env.pod_uid : "", strerror(-ret));
		return ret;
	}
	cfg->pin_path = strdup(pin);
	return cfg->pin_path ? 0 : -ENOMEM;
}

int sc_target_carry(struct sc_config *cfg, const struct sc_config *cur)
{
	if (!cfg->cgroup_auto || !cur->cgroup_auto)
		return 0;
	cfg->cgroup = strdup(cur->cgroup);
	if (!cfg->cgroup)
		return -ENOMEM;
	if (!cfg->pin_path) {
		cfg->pin_path = strdup(cur->pin_path);
		if (!cfg->pin_path)
			return -ENOMEM;
	}
	return 0;
}
