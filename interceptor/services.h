/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Services in the BPF maps: writing a config's services into one policy slot as a diff against
 * what that slot already holds, so an edit of one service among 10,000 costs about what it costs
 * among 10.
 */
#ifndef SC_SERVICES_H
#define SC_SERVICES_H

#include <stdint.h>
#include "config.h"
#include "htab.h"

/* Service ids by name, stable for the life of the daemon. */
struct sc_svc_ids {
	struct sc_htab by_name; /* name -> id, names copied */
	uint32_t next;
	struct sc_config *pruned; /* the config picks were last pruned against (shares services) */
};

/* The maps of one pod (file descriptors), as the services code needs them. */
struct sc_svc_maps {
	int services;
	int lbtable;
	int endpoints;
	int picks;
};

/*
 * Make SLOT hold the services of NEW. OLD is the config that SLOT holds (NULL: unknown, e.g.
 * after adopting pins: every service entry of SLOT is deleted first). Entries of services equal
 * in OLD and NEW are left alone. 0 or -errno (-ENOSPC when a map is full); on error SLOT is
 * inconsistent and must not be made live.
 */
int sc_services_write(const struct sc_svc_maps *maps, struct sc_svc_ids *ids, uint32_t slot,
		      const struct sc_config *old, const struct sc_config *new);

/*
 * Delete pick counters of endpoints that are not in CFG any more, CFG having just gone live: the
 * first time by a walk of the whole map, then by a diff against the config of the last call
 * (kept, sharing CFG's services: sc_config_share() marks them shared, hence CFG is not const).
 */
void sc_services_prune_picks(const struct sc_svc_maps *maps, struct sc_svc_ids *ids,
			     struct sc_config *cfg);

/* The id of service NAME, or UINT32_MAX. */
uint32_t sc_svc_id_find(const struct sc_svc_ids *ids, const char *name);

void sc_svc_ids_free(struct sc_svc_ids *ids);

/* Delete every key of the map FD (keys of KEY_SIZE bytes) for which MATCH returns true. Keys
 * are collected first, then deleted, so the iteration is never restarted. Returns the number
 * deleted or -errno. */
long sc_map_delete_matching(int fd, size_t key_size, int (*match)(const void *key, void *arg),
			    void *arg);

#endif /* SC_SERVICES_H */
