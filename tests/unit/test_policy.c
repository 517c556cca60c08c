// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "config.h"
#include "policy.h"

static struct sc_config cfg;
static struct sc_diags diags;
static struct sc_compiled out;

static void teardown(void)
{
	sc_compiled_free(&out);
	sc_config_free(&cfg);
	sc_diags_free(&diags);
}

TestSuite(policy, .fini = teardown);

/* The flags that follow from outbound.includeIPRanges / excludeIPRanges. */
#define CIDR_DEFAULT_FLAGS                                                                 \
	(SC_F_OUT_INCL_ALL4 | SC_F_OUT_INCL_ALL6 | SC_F_OUT_EXCL_NONE4 | SC_F_OUT_EXCL_NONE6)

static void parse(const char *text)
{
	cr_assert_eq(sc_config_parse_string("t.yaml", text, strlen(text), &cfg, &diags), 0, "%s",
		     diags.n ? diags.v[0].msg : "");
}

/* The key a correct compiler would produce for one CIDR, built field by field. */
static struct sc_cidr_key cidr_key(__u8 slot, __u8 kind, int family, const char *addr,
				   __u32 prefixlen)
{
	struct sc_cidr_key k;

	memset(&k, 0, sizeof(k));
	k.prefixlen = SC_CIDR_PREFIX_BASE + prefixlen;
	k.slot = slot;
	k.kind = kind;
	cr_assert_eq(inet_pton(family, addr, k.addr), 1);
	return k;
}

static void assert_cidr_key(size_t i, struct sc_cidr_key want)
{
	cr_assert_lt(i, out.n_cidrs);
	cr_assert_eq(out.cidrs[i].prefixlen, want.prefixlen);
	cr_assert_eq(out.cidrs[i].slot, want.slot);
	cr_assert_eq(out.cidrs[i].kind, want.kind);
	cr_assert_eq(memcmp(&out.cidrs[i], &want, sizeof(want)), 0, "cidr key %zu bytes differ", i);
}

Test(policy, slot_past_the_last_is_einval)
{
	parse("cgroup: /a\n");
	cr_assert_eq(sc_policy_compile(&cfg, SC_POLICY_SLOTS, 1, &out), -EINVAL);
	cr_assert_eq(out.n_ports, 0);
	cr_assert_null(out.ports);
	cr_assert_null(out.cidrs);
}

Test(policy, defaults_compile_to_all_ports_both_families_and_no_gid)
{
	parse("cgroup: /a\nproxy: {adminPorts: []}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 7, &out), 0);
	cr_assert_eq(out.policy.proxy_uid, 1337);
	cr_assert_eq(out.policy.proxy_gid, SC_ID_NONE);
	cr_assert_eq(out.policy.outbound_port, 15001);
	cr_assert_eq(out.policy.inbound_port, 15006);
	cr_assert_eq(out.policy.flags, SC_F_VALID | SC_F_ACCEL | SC_F_OUT_ALL_PORTS |
					       SC_F_IN_ALL_PORTS | SC_F_FAIL_OPEN | CIDR_DEFAULT_FLAGS |
					       SC_F_DNS_ALL_SERVERS);
	cr_assert_eq(out.policy.dns_port, 15053);
	cr_assert_eq(out.policy.msg_unanswered_limit, SC_DEFAULT_UNANSWERED_LIMIT);
	cr_assert_eq(out.policy.generation, 7);
	cr_assert_eq(out.n_ports, 0);
	cr_assert_eq(out.n_cidrs, 2);
	assert_cidr_key(0, cidr_key(0, SC_CIDR_OUT_INCLUDE4, AF_INET, "0.0.0.0", 0));
	assert_cidr_key(1, cidr_key(0, SC_CIDR_OUT_INCLUDE6, AF_INET6, "::", 0));
	cr_assert_eq(out.cidrs[0].prefixlen, SC_CIDR_PREFIX_BASE);
	cr_assert_eq(out.cidrs[1].prefixlen, SC_CIDR_PREFIX_BASE);
}

Test(policy, gid_is_copied_when_set)
{
	parse("cgroup: /a\nproxy: {uid: 1000, gid: 2000}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.proxy_uid, 1000);
	cr_assert_eq(out.policy.proxy_gid, 2000);
}

Test(policy, accel_and_fail_open_off_leave_only_valid_and_port_flags)
{
	parse("cgroup: /a\nproxy: {failOpen: false}\nacceleration: false\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags,
		     SC_F_VALID | SC_F_ACCEL_NEVER | SC_F_OUT_ALL_PORTS | SC_F_IN_ALL_PORTS |
			     CIDR_DEFAULT_FLAGS | SC_F_DNS_ALL_SERVERS);
}

Test(policy, port_lists_become_keys_of_their_kind_and_slot)
{
	parse("cgroup: /a\nproxy: {adminPorts: []}\n"
	      "outbound: {includePorts: [443, 80], excludePorts: [22]}\n"
	      "inbound: {includePorts: [8080], excludePorts: [15020, 9090]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_OUT_ALL_PORTS | SC_F_IN_ALL_PORTS), 0);
	cr_assert_eq(out.n_ports, 6);
	cr_assert_eq(out.ports[0], sc_port_key(1, SC_PORT_OUT_INCLUDE, 80));
	cr_assert_eq(out.ports[1], sc_port_key(1, SC_PORT_OUT_INCLUDE, 443));
	cr_assert_eq(out.ports[2], sc_port_key(1, SC_PORT_OUT_EXCLUDE, 22));
	cr_assert_eq(out.ports[3], sc_port_key(1, SC_PORT_IN_INCLUDE, 8080));
	cr_assert_eq(out.ports[4], sc_port_key(1, SC_PORT_IN_EXCLUDE, 9090));
	cr_assert_eq(out.ports[5], sc_port_key(1, SC_PORT_IN_EXCLUDE, 15020));
	cr_assert_eq(out.ports[0], 0x01010050u);
}

Test(policy, star_include_ports_set_flags_and_emit_no_include_keys)
{
	parse("cgroup: /a\nproxy: {adminPorts: []}\n"
	      "outbound: {includePorts: [\"*\"], excludePorts: [25]}\n"
	      "inbound: {includePorts: [\"*\"], excludePorts: [15021]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_OUT_ALL_PORTS | SC_F_IN_ALL_PORTS),
		     SC_F_OUT_ALL_PORTS | SC_F_IN_ALL_PORTS);
	cr_assert_eq(out.n_ports, 2);
	cr_assert_eq(out.ports[0], sc_port_key(0, SC_PORT_OUT_EXCLUDE, 25));
	cr_assert_eq(out.ports[1], sc_port_key(0, SC_PORT_IN_EXCLUDE, 15021));
}

Test(policy, empty_inbound_include_sets_no_flag_and_no_key)
{
	parse("cgroup: /a\nproxy: {adminPorts: []}\ninbound: {includePorts: []}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & SC_F_IN_ALL_PORTS, 0);
	cr_assert_eq(out.policy.flags & SC_F_OUT_ALL_PORTS, SC_F_OUT_ALL_PORTS);
	cr_assert_eq(out.n_ports, 0);
}

Test(policy, cidrs_get_kind_by_family_and_direction)
{
	parse("cgroup: /a\noutbound:\n"
	      "  includeIPRanges: [10.0.0.0/8, \"fd00::/8\"]\n"
	      "  excludeIPRanges: [10.1.2.3, \"fd00::1\"]\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.n_cidrs, 4);
	assert_cidr_key(0, cidr_key(1, SC_CIDR_OUT_INCLUDE4, AF_INET, "10.0.0.0", 8));
	assert_cidr_key(1, cidr_key(1, SC_CIDR_OUT_INCLUDE6, AF_INET6, "fd00::", 8));
	assert_cidr_key(2, cidr_key(1, SC_CIDR_OUT_EXCLUDE4, AF_INET, "10.1.2.3", 32));
	assert_cidr_key(3, cidr_key(1, SC_CIDR_OUT_EXCLUDE6, AF_INET6, "fd00::1", 128));
	/* Both families have exclusions and no /0 inclusion: every lookup is made. */
	cr_assert_eq(out.policy.flags & CIDR_DEFAULT_FLAGS, 0);
}

/* The connect program skips a CIDR lookup only where the policy already gives its answer. */
Test(policy, cidr_flags_say_which_lookups_cannot_change_the_answer)
{
	parse("cgroup: /a\noutbound:\n  excludeIPRanges: [10.1.2.3]\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & CIDR_DEFAULT_FLAGS,
		     SC_F_OUT_INCL_ALL4 | SC_F_OUT_INCL_ALL6 | SC_F_OUT_EXCL_NONE6);
	sc_compiled_free(&out);
	sc_config_free(&cfg);
	sc_diags_free(&diags);
	parse("cgroup: /a\noutbound:\n  includeIPRanges: [\"::/0\", 10.0.0.0/8]\n"
	      "  excludeIPRanges: [\"fd00::/8\"]\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & CIDR_DEFAULT_FLAGS, SC_F_OUT_INCL_ALL6 | SC_F_OUT_EXCL_NONE4);
	sc_compiled_free(&out);
	sc_config_free(&cfg);
	sc_diags_free(&diags);
	/* Nothing included: the include lookups are made, and miss. */
	parse("cgroup: /a\noutbound:\n  includeIPRanges: []\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & CIDR_DEFAULT_FLAGS, SC_F_OUT_EXCL_NONE4 | SC_F_OUT_EXCL_NONE6);
}

Test(policy, cidr_key_bytes_match_the_abi_layout)
{
	const __u8 *b;
	__u32 prefixlen;
	int i;

	parse("cgroup: /a\noutbound: {includeIPRanges: [192.168.0.0/16]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.n_cidrs, 1);
	b = (const __u8 *)&out.cidrs[0];
	memcpy(&prefixlen, b, sizeof(prefixlen));
	cr_assert_eq(prefixlen, SC_CIDR_PREFIX_BASE + 16);
	cr_assert_eq(b[4], 1);
	cr_assert_eq(b[5], SC_CIDR_OUT_INCLUDE4);
	cr_assert_eq(b[6], 192);
	cr_assert_eq(b[7], 168);
	for (i = 8; i < 24; i++)
		cr_assert_eq(b[i], 0, "byte %d is %u", i, b[i]);
}

Test(policy, too_many_ports_for_a_slot_is_e2big)
{
	uint16_t ports[SC_MAX_PORTS / SC_POLICY_SLOTS + 1];
	size_t i;

	parse("cgroup: /a\n");
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		ports[i] = i + 1;
	cfg.inbound.exclude_ports.n = sizeof(ports) / sizeof(ports[0]);
	cfg.inbound.exclude_ports.v = ports;
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), -E2BIG);
	cfg.inbound.exclude_ports.n = 0;
	cfg.inbound.exclude_ports.v = NULL;
	cr_assert_null(out.ports);
}

Test(policy, admin_ports_join_inbound_excludes_once)
{
	parse("cgroup: /a\ninbound: {excludePorts: [15021, 9090]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.n_ports, 4);
	cr_assert_eq(out.ports[0], sc_port_key(1, SC_PORT_IN_EXCLUDE, 9090));
	cr_assert_eq(out.ports[1], sc_port_key(1, SC_PORT_IN_EXCLUDE, 15021));
	cr_assert_eq(out.ports[2], sc_port_key(1, SC_PORT_IN_EXCLUDE, 15020));
	cr_assert_eq(out.ports[3], sc_port_key(1, SC_PORT_IN_EXCLUDE, 15090));
}

Test(policy, original_dst_service_sets_its_flag)
{
	parse("cgroup: /a\nproxy: {originalDst: service}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & SC_F_ORIG_SERVICE, SC_F_ORIG_SERVICE);
}

Test(policy, original_dst_endpoint_is_the_default)
{
	parse("cgroup: /a\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & SC_F_ORIG_SERVICE, 0);
}

Test(policy, acceleration_modes_set_their_flags)
{
	parse("cgroup: /a\nacceleration: always\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_ACCEL | SC_F_ACCEL_ALWAYS | SC_F_ACCEL_NEVER),
		     SC_F_ACCEL | SC_F_ACCEL_ALWAYS);
	cr_assert_eq(out.policy.accel_min_exchanges, SC_DEFAULT_ACCEL_MIN_EXCHANGES);
	sc_compiled_free(&out);
	sc_config_free(&cfg);
	parse("cgroup: /a\naccelerationMinExchanges: 7\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_ACCEL | SC_F_ACCEL_ALWAYS | SC_F_ACCEL_NEVER),
		     SC_F_ACCEL);
	cr_assert_eq(out.policy.accel_min_exchanges, 7);
}

Test(policy, never_with_an_always_port_keeps_acceleration_on_for_that_port)
{
	parse("cgroup: /a\nproxy: {adminPorts: []}\nacceleration: never\n"
	      "outbound: {includePorts: [], excludePorts: []}\ninbound: {includePorts: [\"*\"]}\n"
	      "accelerationPorts: {always: [9090], never: [22]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_ACCEL | SC_F_ACCEL_NEVER | SC_F_ACCEL_ALWAYS_PORTS |
					 SC_F_ACCEL_NEVER_PORTS),
		     SC_F_ACCEL | SC_F_ACCEL_NEVER | SC_F_ACCEL_ALWAYS_PORTS |
			     SC_F_ACCEL_NEVER_PORTS);
	cr_assert_eq(out.n_ports, 2);
	cr_assert_eq(out.ports[0], sc_port_key(1, SC_PORT_ACCEL_ALWAYS, 9090));
	cr_assert_eq(out.ports[1], sc_port_key(1, SC_PORT_ACCEL_NEVER, 22));
}

Test(policy, dns_capture_sets_its_flag_and_port)
{
	parse("cgroup: /a\ndns: {capture: true, port: 5353}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 0, 1, &out), 0);
	cr_assert_eq(out.policy.flags & (SC_F_DNS_CAPTURE | SC_F_DNS_ALL_SERVERS),
		     SC_F_DNS_CAPTURE | SC_F_DNS_ALL_SERVERS);
	cr_assert_eq(out.policy.dns_port, 5353);
}

Test(policy, dns_servers_become_host_routes_of_their_kind)
{
	parse("cgroup: /a\noutbound: {includeIPRanges: []}\n"
	      "dns: {capture: true, servers: [10.96.0.10, \"fd00::10\", \"::ffff:10.0.0.3\"]}\n");
	cr_assert_eq(sc_policy_compile(&cfg, 1, 1, &out), 0);
	cr_assert_eq(out.policy.flags & SC_F_DNS_ALL_SERVERS, 0);
	cr_assert_eq(out.n_cidrs, 3);
	assert_cidr_key(0, cidr_key(1, SC_CIDR_DNS_SERVER4, AF_INET, "10.96.0.10", 32));
	assert_cidr_key(1, cidr_key(1, SC_CIDR_DNS_SERVER6, AF_INET6, "fd00::10", 128));
	assert_cidr_key(2, cidr_key(1, SC_CIDR_DNS_SERVER4, AF_INET, "10.0.0.3", 32));
}
