// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What writing a config's services into a policy slot must change, worked out without touching
 * a map: the ids of the services, the services whose entries go and those whose entries are
 * written. services.c commits such a plan to the maps. Kept apart, and free of libbpf, so that
 * the diff is unit-tested on its own (tests/unit/test_services_plan.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "services.h"

uint32_t sc_svc_id_find(const struct sc_svc_ids *ids, const char *name)
{
	size_t id;

	return sc_htab_find(&ids->by_name, name, strlen(name), &id) ? (uint32_t)id : UINT32_MAX;
}

/* The id of NAME, assigning the next one to a new name (the table keeps its own copy). */
static int sc_svc_id(struct sc_svc_ids *ids, const char *name, uint32_t *id)
{
	size_t found;
	int err;

	if (sc_htab_find(&ids->by_name, name, strlen(name), &found)) {
		*id = found;
		return 0;
	}
	err = sc_htab_add(&ids->by_name, name, strlen(name), ids->next);
	if (err)
		return err;
	*id = ids->next++;
	return 0;
}

void sc_svc_ids_free(struct sc_svc_ids *ids)
{
	if (ids->pruned) {
		sc_config_free(ids->pruned);
		free(ids->pruned);
	}
	sc_htab_free(&ids->by_name);
	memset(ids, 0, sizeof(*ids));
}

/* The same service at the same place: shared by the two configs, so compared without a lookup. */
static bool sc_service_shared(const struct sc_service_cfg *a, const struct sc_service_cfg *b)
{
	return a->name == b->name && a->endpoints == b->endpoints && sc_service_equal(a, b);
}

void sc_services_common(const struct sc_config *a, const struct sc_config *b, size_t *lo,
			size_t *a_hi, size_t *b_hi)
{
	size_t n = a->n_services < b->n_services ? a->n_services : b->n_services, i = 0, k = 0;

	while (i < n && sc_service_shared(&a->services[i], &b->services[i]))
		i++;
	while (k < n - i && sc_service_shared(&a->services[a->n_services - 1 - k],
					      &b->services[b->n_services - 1 - k]))
		k++;
	*lo = i;
	*a_hi = a->n_services - k;
	*b_hi = b->n_services - k;
}

static int sc_plan_add(struct sc_svc_op **ops, size_t *n, uint32_t id,
		       const struct sc_service_cfg *svc)
{
	struct sc_svc_op *v;

	/* The array holds a power of two: full when N is 0 or one. */
	if (!(*n & (*n - 1))) {
		v = realloc(*ops, (*n ? 2 * *n : 1) * sizeof(**ops));
		if (!v)
			return -ENOMEM;
		*ops = v;
	}
	(*ops)[*n].id = id;
	(*ops)[*n].svc = svc;
	++*n;
	return 0;
}

/*
 * The services of NEW in [LO, NEW_HI): each gets its id; one that OLD holds unchanged needs
 * nothing, one that changed goes first (its old entries) and is written again, a new one is
 * written. KEPT marks the services of OLD that NEW still has; OLD_BY_NAME maps OLD's names in
 * the middle to their index.
 */
static int sc_plan_new(struct sc_svc_ids *ids, const struct sc_config *old,
		       const struct sc_config *new, size_t lo, size_t new_hi,
		       const struct sc_htab *old_by_name, unsigned char *kept,
		       struct sc_svc_plan *plan)
{
	const struct sc_service_cfg *s;
	size_t i, o;
	uint32_t id;
	int err = 0;

	for (i = lo; !err && i < new_hi; i++) {
		s = &new->services[i];
		err = sc_svc_id(ids, s->name, &id);
		if (err)
			break;
		if (old && sc_htab_find(old_by_name, s->name, strlen(s->name), &o)) {
			kept[o] = 1;
			if (sc_service_equal(&old->services[o], s))
				continue;
			err = sc_plan_add(&plan->del, &plan->n_del, id, &old->services[o]);
		}
		if (!err)
			err = sc_plan_add(&plan->put, &plan->n_put, id, s);
	}
	return err;
}

int sc_services_plan(struct sc_svc_ids *ids, const struct sc_config *old,
		     const struct sc_config *new, struct sc_svc_plan *plan)
{
	struct sc_htab old_by_name = {.borrow = true}; /* name -> index in OLD */
	size_t i, lo = 0, old_hi = 0, new_hi = new->n_services;
	unsigned char *kept = NULL;
	int err = 0;

	memset(plan, 0, sizeof(*plan));
	/* Unknown content (adopted pins): the slot starts from empty. */
	plan->flush = !old;
	if (old) {
		sc_services_common(old, new, &lo, &old_hi, &new_hi);
		kept = calloc(old->n_services ? old->n_services : 1, 1);
		if (!kept)
			return -ENOMEM;
		for (i = lo; !err && i < old_hi; i++)
			err = sc_htab_set(&old_by_name, old->services[i].name,
					  strlen(old->services[i].name), i);
	}
	if (!err)
		err = sc_plan_new(ids, old, new, lo, new_hi, &old_by_name, kept, plan);
	/* The services NEW no longer has go. */
	for (i = lo; !err && old && i < old_hi; i++)
		if (!kept[i])
			err = sc_plan_add(&plan->del, &plan->n_del,
					  sc_svc_id_find(ids, old->services[i].name),
					  &old->services[i]);
	sc_htab_free(&old_by_name);
	free(kept);
	if (err)
		sc_svc_plan_free(plan);
	return err;
}

void sc_svc_plan_free(struct sc_svc_plan *plan)
{
	free(plan->del);
	free(plan->put);
	memset(plan, 0, sizeof(*plan));
}
