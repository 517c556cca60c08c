// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The services plan (interceptor/services_plan.c): what writing a config's services into a slot
 * that holds another config deletes and writes, and the ids it gives, before any map is touched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "config.h"
#include "services.h"

static struct sc_svc_ids ids;
static struct sc_svc_plan plan;
static struct sc_config a, b;

static void teardown(void)
{
	sc_svc_plan_free(&plan);
	sc_svc_ids_free(&ids);
	sc_config_free(&a);
	sc_config_free(&b);
}

TestSuite(services_plan, .fini = teardown);

/* A config of the services SVCS: "name vip port endpoint-port ...", one per line of SVCS. */
static void config(struct sc_config *cfg, const char *const *svcs, size_t n)
{
	char text[8192], name[32], vip[32];
	size_t len, i;
	int port, ep, used;

	len = snprintf(text, sizeof(text), "cgroup: /sys/fs/cgroup/t\nservices:\n");
	for (i = 0; i < n; i++) {
		cr_assert_eq(sscanf(svcs[i], "%31s %31s %d%n", name, vip, &port, &used), 3);
		len += snprintf(text + len, sizeof(text) - len,
				"  - {name: %s, vip: %s, port: %d, endpoints: [", name, vip, port);
		for (ep = 0; sscanf(svcs[i] + used, "%d%n", &port, &ep) == 1; used += ep)
			len += snprintf(text + len, sizeof(text) - len,
					"{address: 10.99.0.1, port: %d}, ", port);
		len += snprintf(text + len, sizeof(text) - len, "]}\n");
	}
	cr_assert_eq(sc_config_parse_string("t.yaml", text, len, cfg, NULL), 0, "%s", text);
}

/* Op I of OPS (N of them) is service NAME under ID. */
static void assert_op(const struct sc_svc_op *ops, size_t n, size_t i, const char *name,
		      uint32_t id)
{
	cr_assert_lt(i, n);
	cr_assert_str_eq(ops[i].svc->name, name);
	cr_assert_eq(ops[i].id, id, "%s: id %u, want %u", name, ops[i].id, id);
}

/*
 * Plan the change from a slot holding OLD (N_OLD services, given their ids by a first plan into
 * an unknown slot) to NEW.
 */
static void plan_change(const char *const *old, size_t n_old, const char *const *new, size_t n_new)
{
	config(&a, old, n_old);
	config(&b, new, n_new);
	cr_assert_eq(sc_services_plan(&ids, NULL, &a, &plan), 0);
	sc_svc_plan_free(&plan);
	cr_assert_eq(sc_services_plan(&ids, &a, &b, &plan), 0);
	cr_assert_not(plan.flush);
}

static const char *const three[] = {"a 10.96.0.1 80 8080", "b 10.96.0.2 80 8080",
				    "c 10.96.0.3 80 8080"};

Test(services_plan, unknown_slot_is_flushed_and_every_service_written_with_new_ids)
{
	config(&b, three, 3);
	cr_assert_eq(sc_services_plan(&ids, NULL, &b, &plan), 0);
	cr_assert(plan.flush);
	cr_assert_eq(plan.n_del, 0);
	cr_assert_eq(plan.n_put, 3);
	assert_op(plan.put, plan.n_put, 0, "a", 0);
	assert_op(plan.put, plan.n_put, 1, "b", 1);
	assert_op(plan.put, plan.n_put, 2, "c", 2);
}

Test(services_plan, same_services_change_nothing)
{
	plan_change(three, 3, three, 3);
	cr_assert_eq(plan.n_del, 0);
	cr_assert_eq(plan.n_put, 0);
}

Test(services_plan, reordered_services_change_nothing)
{
	static const char *const reordered[] = {"c 10.96.0.3 80 8080", "a 10.96.0.1 80 8080",
						"b 10.96.0.2 80 8080"};

	plan_change(three, 3, reordered, 3);
	cr_assert_eq(plan.n_del, 0);
	cr_assert_eq(plan.n_put, 0);
}

Test(services_plan, changed_service_is_deleted_as_it_was_and_written_under_its_id)
{
	static const char *const changed[] = {"a 10.96.0.1 80 8080", "b 10.96.0.2 80 8080 8081",
					      "c 10.96.0.3 80 8080"};

	plan_change(three, 3, changed, 3);
	cr_assert_eq(plan.n_del, 1);
	cr_assert_eq(plan.n_put, 1);
	assert_op(plan.del, plan.n_del, 0, "b", 1);
	cr_assert_eq(plan.del[0].svc, &a.services[1]);
	assert_op(plan.put, plan.n_put, 0, "b", 1);
	cr_assert_eq(plan.put[0].svc, &b.services[1]);
}

Test(services_plan, removed_service_is_deleted_and_its_id_never_reused)
{
	static const char *const removed[] = {"a 10.96.0.1 80 8080", "c 10.96.0.3 80 8080"};
	static const char *const added[] = {"a 10.96.0.1 80 8080", "c 10.96.0.3 80 8080",
					    "d 10.96.0.4 80 8080"};

	plan_change(three, 3, removed, 2);
	cr_assert_eq(plan.n_put, 0);
	cr_assert_eq(plan.n_del, 1);
	assert_op(plan.del, plan.n_del, 0, "b", 1);
	sc_svc_plan_free(&plan);
	sc_config_free(&a);
	config(&a, added, 3);
	cr_assert_eq(sc_services_plan(&ids, &b, &a, &plan), 0);
	cr_assert_eq(plan.n_del, 0);
	cr_assert_eq(plan.n_put, 1);
	assert_op(plan.put, plan.n_put, 0, "d", 3);
}

Test(services_plan, renamed_service_goes_under_its_old_id_and_comes_under_a_new_one)
{
	static const char *const renamed[] = {"a 10.96.0.1 80 8080", "x 10.96.0.2 80 8080",
					      "c 10.96.0.3 80 8080"};

	plan_change(three, 3, renamed, 3);
	cr_assert_eq(plan.n_del, 1);
	assert_op(plan.del, plan.n_del, 0, "b", 1);
	cr_assert_eq(plan.n_put, 1);
	assert_op(plan.put, plan.n_put, 0, "x", 3);
	cr_assert_eq(sc_svc_id_find(&ids, "b"), 1);
	cr_assert_eq(sc_svc_id_find(&ids, "x"), 3);
}

Test(services_plan, services_that_trade_vips_are_both_deleted_and_written)
{
	static const char *const traded[] = {"a 10.96.0.2 80 8080", "b 10.96.0.1 80 8080",
					     "c 10.96.0.3 80 8080"};

	plan_change(three, 3, traded, 3);
	cr_assert_eq(plan.n_del, 2);
	assert_op(plan.del, plan.n_del, 0, "a", 0);
	assert_op(plan.del, plan.n_del, 1, "b", 1);
	cr_assert_eq(plan.n_put, 2);
	assert_op(plan.put, plan.n_put, 0, "a", 0);
	assert_op(plan.put, plan.n_put, 1, "b", 1);
}

/* A config that shares its services with the old one differs only where the edit was. */
Test(services_plan, shared_ends_are_left_out_of_the_diff)
{
	static const char *const changed[] = {"a 10.96.0.1 80 8080", "b 10.96.0.2 80 9090",
					      "c 10.96.0.3 80 8080"};
	struct sc_config edited;
	size_t lo, a_hi, b_hi;

	config(&a, three, 3);
	config(&b, changed, 3);
	cr_assert_eq(sc_config_share(&a, &edited), 0);
	/* The edit replaced the middle service, as a splice does. */
	edited.services[1] = b.services[1];
	sc_services_common(&a, &edited, &lo, &a_hi, &b_hi);
	cr_assert_eq(lo, 1);
	cr_assert_eq(a_hi, 2);
	cr_assert_eq(b_hi, 2);
	/* Give the middle back to A's refs before freeing: EDITED does not own B's service. */
	edited.services[1] = a.services[1];
	sc_config_free(&edited);
}
