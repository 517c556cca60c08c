// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "sidecap.h"
#include "lb.h"
#include "log.h"
#include "services.h"

/* Growing arrays of keys and values for one map. */
struct sc_batch {
	char *keys, *vals;
	size_t key_size, val_size, n, cap;
};

static int sc_batch_add(struct sc_batch *b, const void *key, const void *val)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		char *k = realloc(b->keys, cap * b->key_size);
		char *v;

		if (!k)
			return -ENOMEM;
		b->keys = k;
		if (b->val_size) {
			v = realloc(b->vals, cap * b->val_size);
			if (!v)
				return -ENOMEM;
			b->vals = v;
		}
		b->cap = cap;
	}
	memcpy(b->keys + b->n * b->key_size, key, b->key_size);
	if (b->val_size)
		memcpy(b->vals + b->n * b->val_size, val, b->val_size);
	b->n++;
	return 0;
}

static void sc_batch_free(struct sc_batch *b)
{
	free(b->keys);
	free(b->vals);
}

static unsigned int sc_map_capacity(int fd)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* One syscall for the lot; the kernel stops at the first failure (a full map: -ENOSPC). */
static int sc_batch_update(int fd, struct sc_batch *b)
{
	__u32 count = b->n;

	if (!b->n)
		return 0;
	if (bpf_map_update_batch(fd, b->keys, b->vals, &count, NULL))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

static int sc_batch_delete(int fd, struct sc_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (bpf_map_delete_elem(fd, b->keys + i * b->key_size) && errno != ENOENT)
			return -errno;
	return 0;
}

static void sc_to_addr(struct sc_addr *a, int family, const uint8_t *addr, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->port = htons(port);
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
}

static void sc_svc_key_of(struct sc_svc_key *k, uint32_t slot, const struct sc_service_cfg *s)
{
	memset(k, 0, sizeof(*k));
	k->slot = slot;
	k->family = s->family;
	k->port = s->port;
	memcpy(k->vip, s->vip, s->family == AF_INET ? 4 : 16);
}

/* An endpoint's identity for Maglev: its address and port, not its place in the list. */
static uint64_t sc_ep_id(int family, const void *addr, uint16_t port)
{
	return sc_fnv1a(&port, sizeof(port),
			sc_fnv1a(addr, family == AF_INET ? 4 : 16, SC_FNV1A_INIT));
}

/*
 * The Maglev table of service S as it is live in LIVE_SLOT, with the identities of its
 * endpoints; false when S is not live there as a Maglev service.
 */
static bool sc_read_live_table(const struct sc_svc_maps *maps, uint32_t live_slot,
			       const struct sc_service_cfg *s, uint16_t **table, uint32_t *m,
			       uint64_t *ids, size_t *n)
{
	struct sc_svc_key sk;
	struct sc_svc sv;
	uint32_t i;

	if (live_slot >= SC_POLICY_SLOTS)
		return false;
	sc_svc_key_of(&sk, live_slot, s);
	if (bpf_map_lookup_elem(maps->services, &sk, &sv) || sv.balance != SC_LB_MAGLEV ||
	    !sv.table_size)
		return false;
	*table = calloc((sv.table_size + SC_TABLE_CHUNK - 1) / SC_TABLE_CHUNK, SC_TABLE_CHUNK * 2);
	if (!*table)
		return false;
	for (i = 0; i < (sv.table_size + SC_TABLE_CHUNK - 1) / SC_TABLE_CHUNK; i++) {
		struct sc_table_key tk = {.slot = live_slot, .svc = sv.id, .chunk = i};

		if (bpf_map_lookup_elem(maps->lbtable, &tk, *table + i * SC_TABLE_CHUNK))
			goto out_free;
	}
	for (*n = 0; *n < SC_LB_MAX_ENDPOINTS; (*n)++) {
		struct sc_ep_key ek = {.slot = live_slot, .svc = sv.id, .index = *n};
		struct sc_addr a;

		if (bpf_map_lookup_elem(maps->endpoints, &ek, &a))
			break;
		ids[*n] = sc_ep_id(a.family, a.addr, ntohs(a.port));
	}
	for (i = 0; i < sv.table_size; i++)
		if ((*table)[i] >= *n)
			goto out_free;
	*m = sv.table_size;
	return true;
out_free:
	free(*table);
	*table = NULL;
	return false;
}

/*
 * The selection table of S (freed by the caller). A Maglev table is rebuilt from the one live
 * in LIVE_SLOT, so that a change of the endpoint set moves only the keys it must.
 */
static int sc_build_table(const struct sc_svc_maps *maps, uint32_t live_slot,
			  const struct sc_service_cfg *s, uint16_t **table, uint32_t *m)
{
	uint32_t weights[SC_LB_MAX_ENDPOINTS];
	uint64_t ids[SC_LB_MAX_ENDPOINTS], prev_ids[SC_LB_MAX_ENDPOINTS];
	uint16_t *prev = NULL;
	uint32_t prev_m = 0;
	size_t i, prev_n = 0;
	int err;

	if (s->n_endpoints > SC_LB_MAX_ENDPOINTS)
		return -EINVAL;
	for (i = 0; i < s->n_endpoints; i++) {
		const struct sc_endpoint_cfg *e = &s->endpoints[i];

		weights[i] = e->weight;
		ids[i] = sc_ep_id(e->family, e->addr, e->port);
	}
	if (s->balance != SC_LB_MAGLEV)
		return sc_lb_table(s->balance, weights, ids, s->n_endpoints, table, m);
	if (maps && !sc_read_live_table(maps, live_slot, s, &prev, &prev_m, prev_ids, &prev_n))
		prev = NULL;
	err = sc_lb_maglev_rebuild(prev, prev_m, prev_ids, prev_n, weights, ids, s->n_endpoints,
				   table, m);
	free(prev);
	return err;
}

struct sc_svc_batches {
	struct sc_batch svc, chunk, ep;
};

/* Queue the keys of S's entries in SLOT for deletion. The table size is read from the slot
 * itself: it is what was written there. */
static int sc_queue_keys(const struct sc_svc_maps *maps, struct sc_svc_batches *b, uint32_t slot,
			 uint32_t id, const struct sc_service_cfg *s)
{
	struct sc_svc_key sk;
	struct sc_svc sv = {0};
	uint32_t i;
	int err;

	sc_svc_key_of(&sk, slot, s);
	if (bpf_map_lookup_elem(maps->services, &sk, &sv))
		sv.table_size = 0;
	err = sc_batch_add(&b->svc, &sk, NULL);
	for (i = 0; !err && i < (sv.table_size + SC_TABLE_CHUNK - 1) / SC_TABLE_CHUNK; i++) {
		struct sc_table_key tk = {.slot = slot, .svc = id, .chunk = i};

		err = sc_batch_add(&b->chunk, &tk, NULL);
	}
	for (i = 0; !err && i < s->n_endpoints; i++) {
		struct sc_ep_key ek = {.slot = slot, .svc = id, .index = i};

		err = sc_batch_add(&b->ep, &ek, NULL);
	}
	return err;
}

/* Queue S's entries in SLOT for writing. */
static int sc_queue_entries(const struct sc_svc_maps *maps, struct sc_svc_batches *b, uint32_t slot,
			    uint32_t id, const struct sc_service_cfg *s)
{
	struct sc_svc sv = {.id = id, .balance = s->balance};
	struct sc_svc_key sk;
	uint16_t *table = NULL;
	uint32_t m, i;
	int err;

	err = sc_build_table(maps, slot ^ 1, s, &table, &m);
	if (err)
		return err;
	for (i = 0; !err && i < (m + SC_TABLE_CHUNK - 1) / SC_TABLE_CHUNK; i++) {
		struct sc_table_key tk = {.slot = slot, .svc = id, .chunk = i};
		struct sc_table_chunk c = {0};
		uint32_t n = m - i * SC_TABLE_CHUNK;

		memcpy(c.ep, table + i * SC_TABLE_CHUNK,
		       (n < SC_TABLE_CHUNK ? n : SC_TABLE_CHUNK) * sizeof(c.ep[0]));
		err = sc_batch_add(&b->chunk, &tk, &c);
	}
	free(table);
	for (i = 0; !err && i < s->n_endpoints; i++) {
		struct sc_ep_key ek = {.slot = slot, .svc = id, .index = i};
		struct sc_addr a;

		sc_to_addr(&a, s->endpoints[i].family, s->endpoints[i].addr, s->endpoints[i].port);
		err = sc_batch_add(&b->ep, &ek, &a);
	}
	sv.table_size = m;
	sv.flags = s->bypass ? SC_SVC_F_BYPASS : 0;
	if (s->acceleration == SC_ACCEL_ALWAYS)
		sv.flags |= SC_SVC_F_ACCEL_ALWAYS;
	else if (s->acceleration == SC_ACCEL_NEVER)
		sv.flags |= SC_SVC_F_ACCEL_NEVER;
	else if (s->acceleration == SC_ACCEL_ADAPTIVE)
		sv.flags |= SC_SVC_F_ACCEL_ADAPTIVE;
	sc_svc_key_of(&sk, slot, s);
	if (!err)
		err = sc_batch_add(&b->svc, &sk, &sv);
	return err;
}

static int sc_key_in_slot(const void *key, void *arg)
{
	/* Every services-map key starts with its slot. */
	return *(const __u32 *)key == *(const uint32_t *)arg;
}

long sc_map_delete_matching(int fd, size_t key_size, int (*match)(const void *key, void *arg),
			    void *arg)
{
	struct sc_batch b = {.key_size = key_size};
	char key[64], next[64];
	void *prev = NULL;
	long n = 0;
	int err = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (match(key, arg))
			err = sc_batch_add(&b, key, NULL);
	}
	if (!err)
		err = sc_batch_delete(fd, &b);
	n = err ? err : (long)b.n;
	sc_batch_free(&b);
	return n;
}

/* Delete every service entry of SLOT: what it holds is not known. */
static int sc_services_flush(const struct sc_svc_maps *maps, uint32_t slot)
{
	long n1 = sc_map_delete_matching(maps->services, sizeof(struct sc_svc_key), sc_key_in_slot,
					 &slot);
	long n2 = sc_map_delete_matching(maps->lbtable, sizeof(struct sc_table_key), sc_key_in_slot,
					 &slot);
	long n3 = sc_map_delete_matching(maps->endpoints, sizeof(struct sc_ep_key), sc_key_in_slot,
					 &slot);

	return n1 < 0 ? n1 : n2 < 0 ? n2 : n3 < 0 ? n3 : 0;
}

/* Queue the entries PLAN deletes into DEL and those it writes into PUT. */
static int sc_services_queue(const struct sc_svc_maps *maps, uint32_t slot,
			     const struct sc_svc_plan *plan, struct sc_svc_batches *del,
			     struct sc_svc_batches *put)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < plan->n_del; i++)
		err = sc_queue_keys(maps, del, slot, plan->del[i].id, plan->del[i].svc);
	for (i = 0; !err && i < plan->n_put; i++)
		err = sc_queue_entries(maps, put, slot, plan->put[i].id, plan->put[i].svc);
	return err;
}

static void sc_svc_batches_free(struct sc_svc_batches *b)
{
	sc_batch_free(&b->svc);
	sc_batch_free(&b->chunk);
	sc_batch_free(&b->ep);
}

/* Write PLAN into SLOT of the maps: deletions first, as two services may trade VIPs. */
static int sc_services_commit(const struct sc_svc_maps *maps, uint32_t slot,
			      const struct sc_svc_plan *plan)
{
	struct sc_svc_batches del = {
		.svc = {.key_size = sizeof(struct sc_svc_key)},
		.chunk = {.key_size = sizeof(struct sc_table_key)},
		.ep = {.key_size = sizeof(struct sc_ep_key)},
	};
	struct sc_svc_batches put = {
		.svc = {.key_size = sizeof(struct sc_svc_key), .val_size = sizeof(struct sc_svc)},
		.chunk = {.key_size = sizeof(struct sc_table_key),
			  .val_size = sizeof(struct sc_table_chunk)},
		.ep = {.key_size = sizeof(struct sc_ep_key), .val_size = sizeof(struct sc_addr)},
	};
	int err;

	if (plan->flush) {
		err = sc_services_flush(maps, slot);
		if (err)
			return err;
	}
	err = sc_services_queue(maps, slot, plan, &del, &put);
	if (!err)
		err = sc_batch_delete(maps->services, &del.svc);
	if (!err)
		err = sc_batch_delete(maps->lbtable, &del.chunk);
	if (!err)
		err = sc_batch_delete(maps->endpoints, &del.ep);
	if (!err)
		err = sc_batch_update(maps->endpoints, &put.ep);
	if (!err)
		err = sc_batch_update(maps->lbtable, &put.chunk);
	if (!err)
		err = sc_batch_update(maps->services, &put.svc);
	if (err)
		pr_warn("writing services into policy slot %u: %s (%zu services, %zu selection-table "
			"chunks, %zu endpoints queued; sc_services, sc_lbtable and sc_endpoints hold "
			"%u, %u and %u for both slots): the policy is refused and the live one stays; "
			"fewer services or endpoints per service, or --map-max\n",
			slot, strerror(-err), put.svc.n, put.chunk.n, put.ep.n,
			sc_map_capacity(maps->services), sc_map_capacity(maps->lbtable),
			sc_map_capacity(maps->endpoints));
	else
		pr_debug("slot %u: %zu services written, %zu removed\n", slot, put.svc.n,
			 del.svc.n);
	sc_svc_batches_free(&del);
	sc_svc_batches_free(&put);
	return err;
}

int sc_services_write(const struct sc_svc_maps *maps, struct sc_svc_ids *ids, uint32_t slot,
		      const struct sc_config *old, const struct sc_config *new)
{
	struct sc_svc_plan plan;
	int err;

	err = sc_services_plan(ids, old, new, &plan);
	if (err)
		return err;
	err = sc_services_commit(maps, slot, &plan);
	sc_svc_plan_free(&plan);
	return err;
}

static int sc_pick_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sc_pick_key));
}

struct sc_live_picks {
	struct sc_pick_key *v;
	size_t n;
};

static int sc_pick_is_stale(const void *key, void *arg)
{
	const struct sc_live_picks *live = arg;

	return !bsearch(key, live->v, live->n, sizeof(*live->v), sc_pick_cmp);
}

/* Delete the pick counters of the endpoints of WAS (service ID) that NOW (or NULL) lacks. */
static void sc_prune_service_picks(const struct sc_svc_maps *maps, uint32_t id,
				   const struct sc_service_cfg *was,
				   const struct sc_service_cfg *now)
{
	const struct sc_endpoint_cfg *e, *f;
	size_t i, j, n = now ? now->n_endpoints : 0;

	for (i = 0; i < was->n_endpoints; i++) {
		struct sc_pick_key k = {.svc = id};

		e = &was->endpoints[i];
		for (j = 0; j < n; j++) {
			f = &now->endpoints[j];
			if (f->family == e->family && f->port == e->port &&
			    !memcmp(f->addr, e->addr, sizeof(e->addr)))
				break;
		}
		if (j < n)
			continue;
		k.family = e->family;
		k.port = e->port;
		memcpy(k.addr, e->addr, e->family == AF_INET ? 4 : 16);
		bpf_map_delete_elem(maps->picks, &k);
	}
}

/*
 * Counters exist only for endpoints of a policy that was live, and the last pruned against is
 * the only one live since: what to delete is what left between it and CFG.
 */
static int sc_prune_picks_diff(const struct sc_svc_maps *maps, struct sc_svc_ids *ids,
			       const struct sc_config *prev, const struct sc_config *cfg)
{
	struct sc_htab by_name = {.borrow = true}; /* name -> index in CFG */
	const struct sc_service_cfg *now;
	size_t i, k, lo, prev_hi, cfg_hi;
	const char *name;
	int err = 0;

	sc_services_common(prev, cfg, &lo, &prev_hi, &cfg_hi);
	for (i = lo; !err && i < cfg_hi; i++)
		err = sc_htab_set(&by_name, cfg->services[i].name, strlen(cfg->services[i].name),
				  i);
	for (i = lo; !err && i < prev_hi; i++) {
		name = prev->services[i].name;
		now = sc_htab_find(&by_name, name, strlen(name), &k) ? &cfg->services[k] : NULL;
		sc_prune_service_picks(maps, sc_svc_id_find(ids, name), &prev->services[i], now);
	}
	sc_htab_free(&by_name);
	return err;
}

void sc_services_prune_picks(const struct sc_svc_maps *maps, struct sc_svc_ids *ids,
			     struct sc_config *cfg)
{
	struct sc_live_picks live = {0};
	size_t i, j, total = 0;

	if (ids->pruned && !sc_prune_picks_diff(maps, ids, ids->pruned, cfg))
		goto out_remember;
	for (i = 0; i < cfg->n_services; i++)
		total += cfg->services[i].n_endpoints;
	live.v = calloc(total ? total : 1, sizeof(*live.v));
	if (!live.v) {
		/* Not pruned: the next call walks the whole map again. */
		if (ids->pruned) {
			sc_config_free(ids->pruned);
			free(ids->pruned);
			ids->pruned = NULL;
		}
		return;
	}
	for (i = 0; i < cfg->n_services; i++) {
		const struct sc_service_cfg *s = &cfg->services[i];

		for (j = 0; j < s->n_endpoints; j++) {
			struct sc_pick_key *k = &live.v[live.n++];

			k->svc = sc_svc_id_find(ids, s->name);
			k->family = s->endpoints[j].family;
			k->port = s->endpoints[j].port;
			memcpy(k->addr, s->endpoints[j].addr, k->family == AF_INET ? 4 : 16);
		}
	}
	qsort(live.v, live.n, sizeof(*live.v), sc_pick_cmp);
	sc_map_delete_matching(maps->picks, sizeof(struct sc_pick_key), sc_pick_is_stale, &live);
	free(live.v);

out_remember:
	/* A copy that shares the services: no cost per service after the first time. */
	if (ids->pruned) {
		sc_config_free(ids->pruned);
		free(ids->pruned);
	}
	ids->pruned = malloc(sizeof(*ids->pruned));
	if (ids->pruned && sc_config_share(cfg, ids->pruned)) {
		free(ids->pruned);
		ids->pruned = NULL;
	}
}
