/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Services in the BPF maps: writing a config's services into one policy slot as a diff against
 * what that slot already holds, so an edit of one service among 10,000 costs about what it costs
 * among 10. The diff is a plan worked out without libbpf (services_plan.c, unit-tested), then
 * committed to the maps (services.c).
 */
#ifndef SC_SERVICES_H
#define SC_SERVICES_H

#include <stdbool.h>
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

/* One service whose entries a plan deletes or writes, under its id. */
struct sc_svc_op {
	uint32_t id;
	const struct sc_service_cfg *svc; /* of OLD for a deletion, of NEW for a write */
};

/* What making a slot that holds OLD hold NEW changes. */
struct sc_svc_plan {
	bool flush; /* OLD is unknown: delete every service entry of the slot first */
	size_t n_del, n_put;
	struct sc_svc_op
		*del; /* services whose entries go: changed ones first, then removed ones */
	struct sc_svc_op *put; /* services whose entries are written, in NEW's order */
};

/*
 * Plan making a slot that holds OLD (NULL: unknown) hold NEW, without touching a map: every
 * service of NEW outside the ends OLD shares with it (sc_services_common()) gets its id in IDS,
 * a new name the next one; a service equal in both needs nothing; one that changed is deleted
 * (as OLD has it) and written; one only OLD has is deleted. The plan points into OLD and NEW.
 * 0 or -ENOMEM.
 */
int sc_services_plan(struct sc_svc_ids *ids, const struct sc_config *old,
		     const struct sc_config *new, struct sc_svc_plan *plan);
void sc_svc_plan_free(struct sc_svc_plan *plan);

/*
 * The services of A and B outside A[LO, A_HI) and B[LO, B_HI) are shared and in the same order
 * at both ends: configs parsed by splicing (config_cache.c) share every service an edit left
 * alone, so what lies between is what the edit touched, and only that needs a diff by name.
 * Names are unique within a config, so no service of the middles has its name in the ends.
 */
void sc_services_common(const struct sc_config *a, const struct sc_config *b, size_t *lo,
			size_t *a_hi, size_t *b_hi);

/*
 * Make SLOT hold the services of NEW: plan it (sc_services_plan()), then commit the plan to the
 * maps. OLD is the config that SLOT holds (NULL: unknown, e.g. after adopting pins: every
 * service entry of SLOT is deleted first). Entries of services equal in OLD and NEW are left
 * alone. 0 or -errno (-ENOSPC when a map is full); on error SLOT is inconsistent and must not be
 * made live.
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
