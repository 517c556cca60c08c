// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "sidecap.h"

static struct sc_config cfg;
static struct sc_diags diags;

static void teardown(void)
{
	sc_config_free(&cfg);
	sc_diags_free(&diags);
}

TestSuite(config, .fini = teardown);

static int parse(const char *text)
{
	return sc_config_parse_string("t.yaml", text, strlen(text), &cfg, &diags);
}

/* Diagnostic I is at LINE:COL of t.yaml, on KEY, and its message contains MSG. */
static void assert_diag(size_t i, int line, int col, const char *key, const char *msg)
{
	cr_assert_lt(i, diags.n);
	cr_assert_str_eq(diags.v[i].file, "t.yaml");
	cr_assert_eq(diags.v[i].line, line, "diag %zu line: %d, want %d (%s)", i, diags.v[i].line,
		     line, diags.v[i].msg);
	cr_assert_eq(diags.v[i].col, col, "diag %zu col: %d, want %d (%s)", i, diags.v[i].col, col,
		     diags.v[i].msg);
	cr_assert_str_eq(diags.v[i].key, key);
	cr_assert(strstr(diags.v[i].msg, msg), "diag %zu: \"%s\" lacks \"%s\"", i, diags.v[i].msg,
		  msg);
}

static void assert_zeroed(void)
{
	static const struct sc_config zero;

	cr_assert_eq(memcmp(&cfg, &zero, sizeof(cfg)), 0);
}

/* TEXT is rejected with exactly one diagnostic, at LINE:COL on KEY, mentioning MSG. */
static void assert_one_error(const char *text, int line, int col, const char *key, const char *msg)
{
	cr_assert_eq(parse(text), -EINVAL);
	cr_assert_eq(diags.n, 1, "%zu diagnostics, first: %s", diags.n,
		     diags.n ? diags.v[0].msg : "");
	assert_diag(0, line, col, key, msg);
	assert_zeroed();
}

static void assert_cidr(const struct sc_cidr *c, int family, const char *addr, int prefixlen)
{
	uint8_t want[16] = {0};

	cr_assert_eq(inet_pton(family, addr, want), 1);
	cr_assert_eq(c->family, family);
	cr_assert_eq(c->prefixlen, prefixlen);
	cr_assert_eq(memcmp(c->addr, want, sizeof(want)), 0, "address is not %s", addr);
}

Test(config, example_file_parses_to_expected_struct)
{
	char src[] = __FILE__, path[4096];

	snprintf(path, sizeof(path), "%s/../../conf/mesh.yaml", dirname(src));
	cr_assert_eq(sc_config_load(path, &cfg, &diags), 0, "%s: %s", path,
		     diags.n ? diags.v[0].msg : "");
	cr_assert_eq(diags.n, 0);
	cr_assert_str_eq(cfg.path, path);
	cr_assert_str_eq(cfg.cgroup, "/sys/fs/cgroup/sidecap/demo");
	cr_assert_str_eq(cfg.pin_path, "/sys/fs/bpf/sidecap/demo");
	cr_assert_eq(cfg.proxy.uid, 1337);
	cr_assert_eq(cfg.proxy.gid, 1337);
	cr_assert_eq(cfg.proxy.has_gid, true);
	cr_assert_eq(cfg.proxy.outbound_port, 15001);
	cr_assert_eq(cfg.proxy.inbound_port, 15006);
	cr_assert_eq(cfg.proxy.fail_open, true);
	cr_assert_eq(cfg.outbound.include_ranges.n, 2);
	assert_cidr(&cfg.outbound.include_ranges.v[0], AF_INET, "0.0.0.0", 0);
	assert_cidr(&cfg.outbound.include_ranges.v[1], AF_INET6, "::", 0);
	cr_assert_eq(cfg.outbound.exclude_ranges.n, 2);
	assert_cidr(&cfg.outbound.exclude_ranges.v[0], AF_INET, "169.254.169.254", 32);
	assert_cidr(&cfg.outbound.exclude_ranges.v[1], AF_INET6, "fd00:ec2::254", 128);
	cr_assert_eq(cfg.outbound.include_ports.all, true);
	cr_assert_eq(cfg.outbound.include_ports.n, 0);
	cr_assert_eq(cfg.outbound.exclude_ports.all, false);
	cr_assert_eq(cfg.outbound.exclude_ports.n, 2);
	cr_assert_eq(cfg.outbound.exclude_ports.v[0], 22);
	cr_assert_eq(cfg.outbound.exclude_ports.v[1], 3306);
	cr_assert_eq(cfg.inbound.include_ports.all, true);
	cr_assert_eq(cfg.inbound.include_ports.n, 0);
	cr_assert_eq(cfg.inbound.exclude_ports.n, 3);
	cr_assert_eq(cfg.inbound.exclude_ports.v[0], 15020);
	cr_assert_eq(cfg.inbound.exclude_ports.v[1], 15021);
	cr_assert_eq(cfg.inbound.exclude_ports.v[2], 15090);
	cr_assert_eq(cfg.acceleration, SC_ACCEL_ADAPTIVE);
	cr_assert_eq(cfg.accel_min_exchanges, 4);
	cr_assert_null(cfg.netns);
	cr_assert_eq(cfg.proxy.orig_service, false);
	cr_assert_eq(cfg.proxy.admin_ports.n, 3);
	cr_assert_eq(cfg.proxy.admin_ports.v[0], 15020);
	cr_assert_eq(cfg.proxy.admin_ports.v[1], 15021);
	cr_assert_eq(cfg.proxy.admin_ports.v[2], 15090);
	cr_assert_eq(cfg.metrics.enabled, false);
	cr_assert_eq(cfg.dns.capture, false);
	cr_assert_eq(cfg.dns.port, 15053);
	cr_assert_eq(cfg.dns.servers.n, 0);
	cr_assert_eq(cfg.n_services, 0);
}

/*
 * conf/mesh.yaml shows the keys it leaves out as lines starting with "#" and no space (their
 * continuation lines with "#" and two spaces), where prose comments start with "# ".
 */
Test(config, example_file_left_out_keys_parse_once_uncommented)
{
	char src[] = __FILE__, path[4096], line[512];
	char *text = NULL;
	size_t size = 0;
	FILE *in, *out;

	snprintf(path, sizeof(path), "%s/../../conf/mesh.yaml", dirname(src));
	in = fopen(path, "r");
	cr_assert_not_null(in, "%s", path);
	out = open_memstream(&text, &size);
	cr_assert_not_null(out);
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '#' && (line[1] != ' ' || line[2] == ' ') && line[1] != '\n')
			fputs(line + 1, out);
		else
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	cr_assert_eq(parse(text), 0, "%s", diags.n ? diags.v[0].msg : "");
	free(text);
	cr_assert_str_eq(cfg.netns, "/run/netns/demo");
	cr_assert_eq(cfg.metrics.enabled, true);
	cr_assert_str_eq(cfg.metrics.listen, "127.0.0.1:15020");
	cr_assert_eq(cfg.n_services, 2);
	cr_assert_str_eq(cfg.services[0].name, "reviews");
	cr_assert_eq(cfg.services[0].balance, SC_BALANCE_MAGLEV);
	cr_assert_eq(cfg.services[0].n_endpoints, 3);
	cr_assert_eq(cfg.services[0].endpoints[0].weight, 3);
	cr_assert_eq(cfg.services[0].endpoints[1].weight, 0);
	cr_assert_eq(cfg.services[0].endpoints[2].weight, 1);
	cr_assert_str_eq(cfg.services[1].name, "ratings");
	cr_assert_eq(cfg.services[1].family, AF_INET6);
	cr_assert_eq(cfg.services[1].bypass, true);
	cr_assert_eq(cfg.dns.servers.n, 2);
	assert_cidr(&cfg.dns.servers.v[0], AF_INET, "10.96.0.10", 32);
	assert_cidr(&cfg.dns.servers.v[1], AF_INET6, "fd00::10", 128);
}

Test(config, only_cgroup_gives_every_default)
{
	cr_assert_eq(parse("cgroup: /sys/fs/cgroup/pods/a\n"), 0);
	cr_assert_eq(diags.n, 0);
	cr_assert_str_eq(cfg.path, "t.yaml");
	cr_assert_str_eq(cfg.cgroup, "/sys/fs/cgroup/pods/a");
	cr_assert_eq(cfg.proxy.uid, 1337);
	cr_assert_eq(cfg.proxy.gid, 0);
	cr_assert_eq(cfg.proxy.has_gid, false);
	cr_assert_eq(cfg.proxy.outbound_port, 15001);
	cr_assert_eq(cfg.proxy.inbound_port, 15006);
	cr_assert_eq(cfg.proxy.fail_open, true);
	cr_assert_eq(cfg.outbound.include_ranges.n, 2);
	assert_cidr(&cfg.outbound.include_ranges.v[0], AF_INET, "0.0.0.0", 0);
	assert_cidr(&cfg.outbound.include_ranges.v[1], AF_INET6, "::", 0);
	cr_assert_eq(cfg.outbound.exclude_ranges.n, 0);
	cr_assert_eq(cfg.outbound.include_ports.all, true);
	cr_assert_eq(cfg.outbound.include_ports.n, 0);
	cr_assert_eq(cfg.outbound.exclude_ports.all, false);
	cr_assert_eq(cfg.outbound.exclude_ports.n, 0);
	cr_assert_eq(cfg.inbound.include_ports.all, true);
	cr_assert_eq(cfg.inbound.include_ports.n, 0);
	cr_assert_eq(cfg.inbound.exclude_ports.n, 0);
	cr_assert_eq(cfg.acceleration, SC_ACCEL_ADAPTIVE);
	cr_assert_eq(cfg.accel_min_exchanges, SC_DEFAULT_ACCEL_MIN_EXCHANGES);
	cr_assert_eq(cfg.accel_ports.always.n, 0);
	cr_assert_eq(cfg.accel_ports.never.n, 0);
}

Test(config, parse_string_without_name_is_called_string)
{
	const char *text = "cgroup: /a\n";

	cr_assert_eq(sc_config_parse_string(NULL, text, strlen(text), &cfg, &diags), 0);
	cr_assert_str_eq(cfg.path, "<string>");
}

Test(config, pin_path_default_is_cgroup_path_with_underscores)
{
	cr_assert_eq(parse("cgroup: /sys/fs/cgroup/unified/pods/a\n"), 0);
	cr_assert_str_eq(cfg.pin_path, "/sys/fs/bpf/sidecap/sys_fs_cgroup_unified_pods_a");
}

Test(config, paths_lose_repeated_and_trailing_slashes)
{
	cr_assert_eq(parse("cgroup: //sys/fs//cgroup/pods/a/\n"), 0);
	cr_assert_str_eq(cfg.cgroup, "/sys/fs/cgroup/pods/a");
	cr_assert_str_eq(cfg.pin_path, "/sys/fs/bpf/sidecap/sys_fs_cgroup_pods_a");
}

Test(config, pin_path_given_is_kept)
{
	cr_assert_eq(parse("cgroup: /sys/fs/cgroup/a\npinPath: /sys/fs/bpf/mine\n"), 0);
	cr_assert_str_eq(cfg.pin_path, "/sys/fs/bpf/mine");
}

Test(config, empty_sections_keep_defaults)
{
	cr_assert_eq(parse("cgroup: /a\nproxy:\noutbound: {}\ninbound:\n"), 0);
	cr_assert_eq(cfg.proxy.uid, 1337);
	cr_assert_eq(cfg.outbound.include_ranges.n, 2);
	cr_assert_eq(cfg.inbound.include_ports.all, true);
}

Test(config, gid_sets_has_gid)
{
	cr_assert_eq(parse("cgroup: /a\nproxy:\n  gid: 0\n"), 0);
	cr_assert_eq(cfg.proxy.gid, 0);
	cr_assert_eq(cfg.proxy.has_gid, true);
}

Test(config, largest_id_is_accepted)
{
	cr_assert_eq(parse("cgroup: /a\nproxy: {uid: 4294967294, gid: 4294967294}\n"), 0);
	cr_assert_eq(cfg.proxy.uid, 4294967294u);
	cr_assert_eq(cfg.proxy.gid, 4294967294u);
}

Test(config, booleans_false_are_read)
{
	cr_assert_eq(parse("cgroup: /a\nproxy: {failOpen: false}\nacceleration: FALSE\n"), 0);
	cr_assert_eq(cfg.proxy.fail_open, false);
	cr_assert_eq(cfg.acceleration, SC_ACCEL_NEVER);
}

Test(config, port_lists_are_sorted_and_accept_quoted_numbers)
{
	cr_assert_eq(parse("cgroup: /a\noutbound:\n  includePorts: [443, \"80\", 8080]\n"), 0);
	cr_assert_eq(cfg.outbound.include_ports.all, false);
	cr_assert_eq(cfg.outbound.include_ports.n, 3);
	cr_assert_eq(cfg.outbound.include_ports.v[0], 80);
	cr_assert_eq(cfg.outbound.include_ports.v[1], 443);
	cr_assert_eq(cfg.outbound.include_ports.v[2], 8080);
}

Test(config, port_star_means_all)
{
	cr_assert_eq(parse("cgroup: /a\noutbound:\n  includePorts: [\"*\"]\n"), 0);
	cr_assert_eq(cfg.outbound.include_ports.all, true);
	cr_assert_eq(cfg.outbound.include_ports.n, 0);
}

Test(config, empty_inbound_include_is_no_port)
{
	cr_assert_eq(parse("cgroup: /a\ninbound:\n  includePorts: []\n"), 0);
	cr_assert_eq(cfg.inbound.include_ports.all, false);
	cr_assert_eq(cfg.inbound.include_ports.n, 0);
}

Test(config, bare_addresses_are_host_routes)
{
	cr_assert_eq(parse("cgroup: /a\noutbound:\n  excludeIPRanges: [10.1.2.3, \"fd00::1\"]\n"),
		     0);
	cr_assert_eq(cfg.outbound.exclude_ranges.n, 2);
	assert_cidr(&cfg.outbound.exclude_ranges.v[0], AF_INET, "10.1.2.3", 32);
	assert_cidr(&cfg.outbound.exclude_ranges.v[1], AF_INET6, "fd00::1", 128);
}

Test(config, cidrs_of_both_families_are_read)
{
	cr_assert_eq(
		parse("cgroup: /a\noutbound:\n  includeIPRanges: [10.0.0.0/8, \"fd00::/8\"]\n"), 0);
	cr_assert_eq(cfg.outbound.include_ranges.n, 2);
	assert_cidr(&cfg.outbound.include_ranges.v[0], AF_INET, "10.0.0.0", 8);
	assert_cidr(&cfg.outbound.include_ranges.v[1], AF_INET6, "fd00::", 8);
}

Test(config, excluded_port_with_star_include_is_allowed)
{
	cr_assert_eq(parse("cgroup: /a\ninbound: {includePorts: [\"*\"], excludePorts: [15020]}\n"),
		     0);
	cr_assert_eq(cfg.inbound.exclude_ports.n, 1);
}

Test(config, syntax_error_is_reported_at_libyaml_mark)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: [1, 2\n", 4, 1, "",
			 "YAML syntax error: did not find expected ',' or ']'");
}

Test(config, syntax_error_in_mapping_value)
{
	assert_one_error("cgroup: a: b\n", 1, 10, "", "mapping values are not allowed");
}

/* The policy of a pod's ConfigMap names no cgroup: the interceptor finds it from inside the pod. */
Test(config, empty_file_is_cgroup_auto_with_every_default)
{
	cr_assert_eq(parse(""), 0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert(cfg.cgroup_auto);
	cr_assert_null(cfg.cgroup);
	cr_assert_null(cfg.pin_path, "the pin path waits for the pod's cgroup or UID");
	cr_assert_str_eq(cfg.node_cgroup_mount, "/host/sys/fs/cgroup");
	cr_assert_eq(cfg.proxy.uid, 1337);
}

Test(config, comment_only_file_is_cgroup_auto)
{
	cr_assert_eq(parse("# nothing here\n"), 0);
	cr_assert(cfg.cgroup_auto);
}

Test(config, cgroup_auto_is_the_word_auto)
{
	cr_assert_eq(parse("cgroup: auto\nnodeCgroupMount: /mnt/node-cgroup/\n"), 0);
	cr_assert(cfg.cgroup_auto);
	cr_assert_null(cfg.cgroup);
	cr_assert_str_eq(cfg.node_cgroup_mount, "/mnt/node-cgroup");
}

Test(config, cgroup_auto_keeps_a_given_pin_path)
{
	cr_assert_eq(parse("cgroup: auto\npinPath: /sys/fs/bpf/x\n"), 0);
	cr_assert(cfg.cgroup_auto);
	cr_assert_str_eq(cfg.pin_path, "/sys/fs/bpf/x");
}

Test(config, a_cgroup_path_is_not_auto)
{
	cr_assert_eq(parse("cgroup: /sys/fs/cgroup/a\n"), 0);
	cr_assert(!cfg.cgroup_auto);
	cr_assert_str_eq(cfg.cgroup, "/sys/fs/cgroup/a");
}

Test(config, cgroup_neither_a_path_nor_auto_is_refused)
{
	assert_one_error("cgroup: automatic\n", 1, 9, "cgroup",
			 "\"automatic\" is not an absolute path (start it with /)");
}

Test(config, list_document_is_not_a_mapping)
{
	assert_one_error("- cgroup\n- /a\n", 1, 1, "", "the document must be a mapping");
}

Test(config, scalar_document_is_not_a_mapping)
{
	assert_one_error("hello\n", 1, 1, "", "the document must be a mapping");
}

Test(config, second_document_is_rejected)
{
	assert_one_error("cgroup: /a\n---\ncgroup: /b\n", 2, 1, "", "a second YAML document");
}

Test(config, unknown_top_level_key_lists_allowed_keys)
{
	assert_one_error("cgroup: /a\nfoo: 1\n", 2, 1, "foo",
			 "unknown key (allowed: cgroup, nodeCgroupMount, pinPath, netns, mode, "
			 "proxy, outbound, inbound, "
			 "acceleration, accelerationMinExchanges, accelerationPorts, metrics, dns, "
			 "services)");
}

Test(config, unknown_nested_key_lists_allowed_keys)
{
	assert_one_error("cgroup: /a\nproxy:\n  port: 1\n", 3, 3, "proxy.port",
			 "unknown key (allowed: uid, gid, outboundPort, inboundPort, failOpen, "
			 "originalDst, adminPorts)");
}

Test(config, unknown_key_differing_in_case_gets_a_suggestion)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeports: [1]\n", 3, 3,
			 "outbound.excludeports", "did you mean excludePorts?");
}

Test(config, mapping_where_scalar_expected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: {a: 1}\n", 3, 8, "proxy.uid",
			 "must be a number, not a mapping");
}

Test(config, scalar_where_mapping_expected)
{
	assert_one_error("cgroup: /a\nproxy: 5\n", 2, 8, "proxy", "must be a mapping");
}

Test(config, scalar_where_list_expected)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludePorts: 80\n", 3, 17,
			 "outbound.excludePorts", "must be a list (write [80])");
}

Test(config, list_where_path_expected)
{
	assert_one_error("cgroup: [/a]\n", 1, 9, "cgroup", "must be an absolute path, not a list");
}

Test(config, string_where_integer_expected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: abc\n", 3, 8, "proxy.uid",
			 "\"abc\" is not a uid (use 0-4294967294)");
}

Test(config, quoted_integer_is_a_string)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: \"1337\"\n", 3, 8, "proxy.uid",
			 "is a string; write a uid without quotes");
}

Test(config, negative_integer_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  gid: -1\n", 3, 8, "proxy.gid",
			 "-1 is not a gid (use 0-4294967294)");
}

Test(config, overflowing_integer_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: 99999999999999999999999\n", 3, 8, "proxy.uid",
			 "99999999999999999999999 is not a uid");
}

Test(config, id_of_minus_one_as_unsigned_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: 4294967295\n", 3, 8, "proxy.uid",
			 "4294967295 is not a uid");
}

Test(config, hex_integer_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: 0x10\n", 3, 8, "proxy.uid",
			 "\"0x10\" is not a uid");
}

Test(config, leading_zero_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 08080\n", 3, 17, "proxy.outboundPort",
			 "08080 has a leading zero (write 8080)");
}

Test(config, port_zero_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 0\n", 3, 17, "proxy.outboundPort",
			 "0 is not a port (use 1-65535)");
}

Test(config, port_70000_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 70000\n", 3, 17, "proxy.outboundPort",
			 "70000 is not a port (use 1-65535)");
}

Test(config, port_list_item_70000_is_rejected)
{
	assert_one_error("cgroup: /a\ninbound:\n  excludePorts: [80, 70000]\n", 3, 22,
			 "inbound.excludePorts[1]", "70000 is not a port");
}

Test(config, port_list_item_word_is_rejected)
{
	assert_one_error("cgroup: /a\ninbound:\n  excludePorts:\n    - http\n", 4, 7,
			 "inbound.excludePorts[0]", "\"http\" is not a port");
}

Test(config, port_list_item_mapping_is_rejected)
{
	assert_one_error("cgroup: /a\ninbound:\n  excludePorts: [{a: 1}]\n", 3, 18,
			 "inbound.excludePorts[0]", "must be a port or \"*\", not a mapping");
}

Test(config, yes_is_not_a_boolean)
{
	assert_one_error("cgroup: /a\nproxy:\n  failOpen: yes\n", 3, 13, "proxy.failOpen",
			 "yes is a YAML 1.1 boolean (use true or false)");
}

Test(config, off_is_not_a_boolean)
{
	assert_one_error("cgroup: /a\nproxy:\n  failOpen: off\n", 3, 13, "proxy.failOpen",
			 "use true or false");
}

Test(config, quoted_true_is_a_string)
{
	assert_one_error("cgroup: /a\nproxy:\n  failOpen: \"true\"\n", 3, 13, "proxy.failOpen",
			 "is a string (write true or false without quotes)");
}

Test(config, word_is_not_a_boolean)
{
	assert_one_error("cgroup: /a\nproxy:\n  failOpen: maybe\n", 3, 13, "proxy.failOpen",
			 "maybe is not a boolean (use true or false)");
}

Test(config, no_value_for_scalar_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid:\n  gid: 5\n", 3, 7, "proxy.uid",
			 "no value (remove the key for the default 1337)");
}

Test(config, bad_address_is_rejected)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges: [10.0.0.256/32]\n", 3, 21,
			 "outbound.excludeIPRanges[0]", "is not an IPv4 address or CIDR");
}

Test(config, bad_prefix_length_is_rejected)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges: [10.0.0.0/x]\n", 3, 21,
			 "outbound.excludeIPRanges[0]",
			 "has a bad prefix length (use a number 0-32)");
}

Test(config, host_bits_set_suggests_the_network)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges: [10.0.0.0/8, 10.0.0.1/8]\n", 3,
			 33, "outbound.excludeIPRanges[1]",
			 "\"10.0.0.1/8\" has host bits set; did you mean 10.0.0.0/8?");
}

Test(config, v6_host_bits_set_suggests_the_network)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges: [\"fd00::1/64\"]\n", 3, 21,
			 "outbound.excludeIPRanges[0]", "did you mean fd00::/64?");
}

Test(config, v6_prefix_129_is_out_of_range)
{
	assert_one_error("cgroup: /a\noutbound:\n  includeIPRanges: [\"fd00::/129\"]\n", 3, 21,
			 "outbound.includeIPRanges[0]",
			 "prefix length 129 is out of range for IPv6 (use 0-128)");
}

Test(config, v4_prefix_33_is_out_of_range)
{
	assert_one_error("cgroup: /a\noutbound:\n  includeIPRanges: [10.0.0.0/33]\n", 3, 21,
			 "outbound.includeIPRanges[0]",
			 "prefix length 33 is out of range for IPv4 (use 0-32)");
}

Test(config, duplicate_key_is_rejected)
{
	assert_one_error("cgroup: /a\ncgroup: /b\n", 2, 1, "cgroup",
			 "duplicate key (first at line 1)");
}

Test(config, duplicate_nested_key_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  uid: 1\n  uid: 2\n", 4, 3, "proxy.uid",
			 "duplicate key (first at line 3)");
}

Test(config, duplicate_port_item_is_rejected_even_when_quoted)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludePorts: [80, \"80\"]\n", 3, 22,
			 "outbound.excludePorts[1]", "duplicate of [0] (line 3)");
}

Test(config, duplicate_cidr_item_is_rejected)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges:\n    - 10.0.0.0/8\n"
			 "    - 10.0.0.0/8\n",
			 5, 7, "outbound.excludeIPRanges[1]", "duplicate of [0] (line 4)");
}

Test(config, bare_address_duplicates_its_host_route)
{
	assert_one_error("cgroup: /a\noutbound:\n  excludeIPRanges: [10.0.0.1/32, 10.0.0.1]\n", 3,
			 34, "outbound.excludeIPRanges[1]", "duplicate of [0] (line 3)");
}

Test(config, star_mixed_with_ports_is_rejected)
{
	assert_one_error("cgroup: /a\ninbound:\n  includePorts: [80, \"*\"]\n", 3, 22,
			 "inbound.includePorts[1]", "\"*\" cannot be combined with other entries");
}

Test(config, star_mixed_with_cidrs_is_rejected)
{
	assert_one_error("cgroup: /a\noutbound:\n  includeIPRanges: [\"*\", 10.0.0.0/8]\n", 3, 21,
			 "outbound.includeIPRanges[0]",
			 "\"*\" cannot be combined with other entries");
}

Test(config, star_given_twice_is_a_duplicate)
{
	assert_one_error("cgroup: /a\ninbound:\n  includePorts: [\"*\", \"*\"]\n", 3, 23,
			 "inbound.includePorts[1]", "duplicate of [0] (line 3)");
}

Test(config, relative_cgroup_is_rejected)
{
	assert_one_error("cgroup: sys/fs/cgroup/a\n", 1, 9, "cgroup",
			 "is not an absolute path (start it with /)");
}

Test(config, relative_pin_path_is_rejected)
{
	assert_one_error("cgroup: /a\npinPath: bpf/x\n", 2, 10, "pinPath",
			 "is not an absolute path (start it with /)");
}

Test(config, dot_dot_in_cgroup_is_rejected)
{
	assert_one_error("cgroup: /sys/fs/cgroup/../a\n", 1, 9, "cgroup",
			 "has a . or .. component");
}

Test(config, root_cgroup_is_rejected)
{
	assert_one_error("cgroup: /\n", 1, 9, "cgroup", "/ is the root directory");
}

Test(config, nul_in_path_is_rejected)
{
	static const char text[] = "cgroup: \"/a\\0b\"\n";

	cr_assert_eq(sc_config_parse_string("t.yaml", text, strlen(text), &cfg, &diags), -EINVAL);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 1, 9, "cgroup", "contains a NUL character");
}

Test(config, outbound_port_equal_to_default_inbound_port_is_rejected)
{
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 15006\n", 3, 17, "proxy.outboundPort",
			 "15006 is also proxy.inboundPort; use two different ports");
}

Test(config, equal_proxy_ports_are_reported_at_inbound_port)
{
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 9000\n  inboundPort: 9000\n", 4, 16,
			 "proxy.inboundPort", "9000 is also proxy.outboundPort");
}

Test(config, rejected_port_does_not_also_clash_with_the_other)
{
	/* 70000 leaves outboundPort at 15001, which must not be reported as equal to 15001. */
	assert_one_error("cgroup: /a\nproxy:\n  outboundPort: 70000\n  inboundPort: 15001\n", 3, 17,
			 "proxy.outboundPort", "70000 is not a port");
}

Test(config, outbound_port_included_and_excluded_is_rejected)
{
	assert_one_error("cgroup: /a\noutbound:\n  includePorts: [80, 443]\n"
			 "  excludePorts: [22, 443]\n",
			 4, 22, "outbound.excludePorts[1]",
			 "port 443 is also in outbound.includePorts[1] (line 3)");
}

Test(config, inbound_port_included_and_excluded_is_rejected)
{
	assert_one_error("cgroup: /a\ninbound:\n  excludePorts: [8080]\n  includePorts: [8080]\n",
			 3, 18, "inbound.excludePorts[0]",
			 "port 8080 is also in inbound.includePorts[0] (line 4)");
}

Test(config, port_in_both_directions_is_allowed)
{
	cr_assert_eq(parse("cgroup: /a\noutbound: {includePorts: [80]}\n"
			   "inbound: {excludePorts: [80]}\n"),
		     0);
}

Test(config, too_many_ports_in_one_list_is_rejected)
{
	char *text, *w;
	int port;

	text = malloc(2049 * 7 + 64);
	cr_assert_not_null(text);
	w = text + sprintf(text, "cgroup: /a\ninbound:\n  excludePorts: [");
	for (port = 1; port <= 2049; port++)
		w += sprintf(w, "%d,", port);
	strcpy(w - 1, "]\n");
	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 3, 17, "inbound.excludePorts", "2049 entries; a policy holds at most 2048");
}

Test(config, every_error_is_reported_in_file_order)
{
	cr_assert_eq(parse("foo: 1\n"
			   "proxy:\n"
			   "  uid: abc\n"
			   "  outboundPort: 0\n"
			   "  failOpen: no\n"
			   "outbound:\n"
			   "  includeIPRanges: [\"*\", 10.0.0.1/8]\n"
			   "  excludePorts: [1, 1]\n"
			   "inbound: []\n"),
		     -EINVAL);
	cr_assert_eq(diags.n, 8);
	assert_diag(0, 1, 1, "foo", "unknown key");
	assert_diag(1, 3, 8, "proxy.uid", "\"abc\" is not a uid");
	assert_diag(2, 4, 17, "proxy.outboundPort", "0 is not a port");
	assert_diag(3, 5, 13, "proxy.failOpen", "no is a YAML 1.1 boolean");
	assert_diag(4, 7, 21, "outbound.includeIPRanges[0]", "cannot be combined");
	assert_diag(5, 7, 26, "outbound.includeIPRanges[1]", "host bits set");
	assert_diag(6, 8, 21, "outbound.excludePorts[1]", "duplicate of [0]");
	assert_diag(7, 9, 10, "inbound", "must be a mapping");
	assert_zeroed();
}

Test(config, diagnostics_are_appended_to_existing_ones)
{
	cr_assert_eq(parse("foo: 1\n"), -EINVAL);
	cr_assert_eq(parse("cgroup: /a\nbar: 1\n"), -EINVAL);
	cr_assert_eq(diags.n, 2);
	assert_diag(1, 2, 1, "bar", "unknown key");
}

Test(config, diagnostics_print_as_file_line_col_key_message)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out;

	cr_assert_eq(parse("cgroup: /a\nproxy:\n  outboundPort: 70000\n"), -EINVAL);
	out = open_memstream(&buf, &size);
	cr_assert_not_null(out);
	sc_diags_print(&diags, out);
	fclose(out);
	cr_assert_str_eq(buf,
			 "t.yaml:3:17: proxy.outboundPort: 70000 is not a port (use 1-65535)\n");
	free(buf);
}

Test(config, load_of_missing_file_reports_errno)
{
	cr_assert_eq(sc_config_load("/nonexistent/mesh.yaml", &cfg, &diags), -ENOENT);
	cr_assert_eq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, "/nonexistent/mesh.yaml");
	cr_assert_eq(diags.v[0].line, 0);
	cr_assert_str_eq(diags.v[0].key, "");
	cr_assert(strstr(diags.v[0].msg, "cannot open"));
	assert_zeroed();
}

Test(config, parse_without_diags_still_fails)
{
	const char *text = "cgroup: a\n";

	cr_assert_eq(sc_config_parse_string("t.yaml", text, strlen(text), &cfg, NULL), -EINVAL);
	assert_zeroed();
}

Test(config, new_keys_default_to_todays_behaviour)
{
	cr_assert_eq(parse("cgroup: /a\n"), 0);
	cr_assert_null(cfg.netns);
	cr_assert_eq(cfg.proxy.orig_service, false);
	cr_assert_eq(cfg.proxy.admin_ports.all, false);
	cr_assert_eq(cfg.proxy.admin_ports.n, 3);
	cr_assert_eq(cfg.proxy.admin_ports.v[0], 15020);
	cr_assert_eq(cfg.proxy.admin_ports.v[1], 15021);
	cr_assert_eq(cfg.proxy.admin_ports.v[2], 15090);
	cr_assert_eq(cfg.metrics.enabled, false);
	cr_assert_null(cfg.metrics.listen);
	cr_assert_eq(cfg.n_services, 0);
	cr_assert_null(cfg.services);
}

Test(config, netns_is_read_as_a_path)
{
	cr_assert_eq(parse("cgroup: /a\nnetns: //run/netns//pod-a/\n"), 0);
	cr_assert_str_eq(cfg.netns, "/run/netns/pod-a");
}

Test(config, original_dst_service_and_endpoint_are_read)
{
	cr_assert_eq(parse("cgroup: /a\nproxy:\n  originalDst: service\n"), 0);
	cr_assert_eq(cfg.proxy.orig_service, true);
	sc_config_free(&cfg);
	cr_assert_eq(parse("cgroup: /a\nproxy: {originalDst: \"endpoint\"}\n"), 0);
	cr_assert_eq(cfg.proxy.orig_service, false);
}

Test(config, admin_ports_are_sorted_and_accept_quoted_numbers)
{
	cr_assert_eq(parse("cgroup: /a\nproxy:\n  adminPorts: [15090, \"9901\"]\n"), 0);
	cr_assert_eq(cfg.proxy.admin_ports.n, 2);
	cr_assert_eq(cfg.proxy.admin_ports.v[0], 9901);
	cr_assert_eq(cfg.proxy.admin_ports.v[1], 15090);
}

Test(config, admin_ports_may_be_empty)
{
	cr_assert_eq(parse("cgroup: /a\nproxy:\n  adminPorts: []\n"), 0);
	cr_assert_eq(cfg.proxy.admin_ports.all, false);
	cr_assert_eq(cfg.proxy.admin_ports.n, 0);
}

Test(config, admin_ports_may_repeat_inbound_excluded_ports)
{
	cr_assert_eq(parse("cgroup: /a\ninbound: {excludePorts: [15020, 15090]}\n"), 0);
	cr_assert_eq(cfg.inbound.exclude_ports.n, 2);
	cr_assert_eq(cfg.proxy.admin_ports.n, 3);
}

Test(config, admin_ports_count_toward_the_ports_a_policy_holds)
{
	char *text, *w;
	int port;

	/* 2046 excluded ports and the 3 default admin ports: one more than a slot holds. */
	text = malloc(2046 * 7 + 64);
	cr_assert_not_null(text);
	w = text + sprintf(text, "cgroup: /a\ninbound:\n  excludePorts: [");
	for (port = 1; port <= 2046; port++)
		w += sprintf(w, "%d,", port);
	strcpy(w - 1, "]\n");
	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 1, 1, "",
		    "2049 ports in the port lists together; a policy holds at most 2048");
}

Test(config, metrics_section_absent_is_off)
{
	cr_assert_eq(parse("cgroup: /a\n"), 0);
	cr_assert_eq(cfg.metrics.enabled, false);
	cr_assert_null(cfg.metrics.listen);
}

Test(config, metrics_section_without_value_is_on_at_the_default_address)
{
	cr_assert_eq(parse("cgroup: /a\nmetrics:\n"), 0);
	cr_assert_eq(cfg.metrics.enabled, true);
	cr_assert_str_eq(cfg.metrics.listen, "127.0.0.1:15020");
}

Test(config, metrics_empty_mapping_is_on_at_the_default_address)
{
	cr_assert_eq(parse("cgroup: /a\nmetrics: {}\n"), 0);
	cr_assert_eq(cfg.metrics.enabled, true);
	cr_assert_str_eq(cfg.metrics.listen, "127.0.0.1:15020");
}

Test(config, metrics_listen_v4_is_kept_as_written)
{
	cr_assert_eq(parse("cgroup: /a\nmetrics:\n  listen: 0.0.0.0:9100\n"), 0);
	cr_assert_eq(cfg.metrics.enabled, true);
	cr_assert_str_eq(cfg.metrics.listen, "0.0.0.0:9100");
}

Test(config, metrics_listen_v6_in_brackets_is_kept_as_written)
{
	cr_assert_eq(parse("cgroup: /a\nmetrics:\n  listen: \"[fd00::1]:15020\"\n"), 0);
	cr_assert_str_eq(cfg.metrics.listen, "[fd00::1]:15020");
}

Test(config, metrics_listen_v6_unquoted_is_a_yaml_syntax_error)
{
	/* A plain [ starts a flow list: the docs say to quote an IPv6 listen address. */
	cr_assert_eq(parse("cgroup: /a\nmetrics:\n  listen: [::1]:15020\n"), -EINVAL);
	cr_assert_eq(diags.n, 1);
	cr_assert(strstr(diags.v[0].msg, "YAML syntax error"));
}

static const struct sc_endpoint_cfg *endpoint(size_t svc, size_t ep)
{
	cr_assert_lt(svc, cfg.n_services);
	cr_assert_lt(ep, cfg.services[svc].n_endpoints);
	return &cfg.services[svc].endpoints[ep];
}

static void assert_addr(int family, const uint8_t *addr, int want_family, const char *want)
{
	uint8_t buf[16] = {0};

	cr_assert_eq(family, want_family);
	cr_assert_eq(inet_pton(want_family, want, buf), 1);
	cr_assert_eq(memcmp(addr, buf, sizeof(buf)), 0, "address is not %s", want);
}

Test(config, services_in_block_style_are_read)
{
	cr_assert_eq(parse("cgroup: /a\n"
			   "services:\n"
			   "  - name: reviews\n"
			   "    vip: 10.96.0.20\n"
			   "    port: 9080\n"
			   "    balance: maglev\n"
			   "    sidecar: bypass\n"
			   "    endpoints:\n"
			   "      - address: 10.99.0.2\n"
			   "        port: 9080\n"
			   "        weight: 3\n"
			   "      - address: 10.99.0.3\n"
			   "        port: 9081\n"),
		     0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.n_services, 1);
	cr_assert_str_eq(cfg.services[0].name, "reviews");
	assert_addr(cfg.services[0].family, cfg.services[0].vip, AF_INET, "10.96.0.20");
	cr_assert_eq(cfg.services[0].port, 9080);
	cr_assert_eq(cfg.services[0].balance, SC_BALANCE_MAGLEV);
	cr_assert_eq(cfg.services[0].bypass, true);
	cr_assert_eq(cfg.services[0].line, 3);
	cr_assert_eq(cfg.services[0].n_endpoints, 2);
	assert_addr(endpoint(0, 0)->family, endpoint(0, 0)->addr, AF_INET, "10.99.0.2");
	cr_assert_eq(endpoint(0, 0)->port, 9080);
	cr_assert_eq(endpoint(0, 0)->weight, 3);
	assert_addr(endpoint(0, 1)->family, endpoint(0, 1)->addr, AF_INET, "10.99.0.3");
	cr_assert_eq(endpoint(0, 1)->port, 9081);
	cr_assert_eq(endpoint(0, 1)->weight, 1);
}

Test(config, services_in_flow_style_are_read_with_defaults)
{
	cr_assert_eq(
		parse("cgroup: /a\n"
		      "services:\n"
		      "  - {name: a, vip: 10.96.0.1, port: 80, endpoints: [{address: 10.0.0.1, "
		      "port: 8080}]}\n"
		      "  - name: ratings.v2\n"
		      "    vip: \"fd00::20\"\n"
		      "    port: 443\n"
		      "    balance: round_robin\n"
		      "    sidecar: redirect\n"
		      "    endpoints: [{address: \"fd00::99:2\", port: 8443, weight: 0},\n"
		      "                {address: fd00::99:3, port: 8443, weight: 65535}]\n"),
		0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.n_services, 2);
	cr_assert_str_eq(cfg.services[0].name, "a");
	cr_assert_eq(cfg.services[0].balance, SC_BALANCE_RANDOM);
	cr_assert_eq(cfg.services[0].bypass, false);
	cr_assert_eq(cfg.services[0].line, 3);
	cr_assert_eq(endpoint(0, 0)->weight, 1);
	cr_assert_str_eq(cfg.services[1].name, "ratings.v2");
	assert_addr(cfg.services[1].family, cfg.services[1].vip, AF_INET6, "fd00::20");
	cr_assert_eq(cfg.services[1].port, 443);
	cr_assert_eq(cfg.services[1].balance, SC_BALANCE_ROUND_ROBIN);
	cr_assert_eq(cfg.services[1].bypass, false);
	cr_assert_eq(cfg.services[1].line, 4);
	assert_addr(endpoint(1, 0)->family, endpoint(1, 0)->addr, AF_INET6, "fd00::99:2");
	cr_assert_eq(endpoint(1, 0)->port, 8443);
	cr_assert_eq(endpoint(1, 0)->weight, 0);
	assert_addr(endpoint(1, 1)->family, endpoint(1, 1)->addr, AF_INET6, "fd00::99:3");
	cr_assert_eq(endpoint(1, 1)->weight, 65535);
}

Test(config, empty_service_list_is_no_service)
{
	cr_assert_eq(parse("cgroup: /a\nservices: []\n"), 0);
	cr_assert_eq(cfg.n_services, 0);
	cr_assert_null(cfg.services);
}

Test(config, balance_random_is_read)
{
	cr_assert_eq(parse("cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			   "balance: random, endpoints: [{address: 10.0.0.1, port: 80}]}\n"),
		     0);
	cr_assert_eq(cfg.services[0].balance, SC_BALANCE_RANDOM);
}

Test(config, service_may_use_a_proxy_port)
{
	cr_assert_eq(parse("cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 15001, "
			   "endpoints: [{address: 10.0.0.1, port: 15006}]}\n"),
		     0);
}

Test(config, same_address_on_other_port_is_not_a_duplicate)
{
	cr_assert_eq(
		parse("cgroup: /a\nservices:\n"
		      "  - {name: a, vip: 10.96.0.1, port: 80, endpoints: [{address: 10.0.0.1, "
		      "port: 80}, {address: 10.0.0.1, port: 81}]}\n"
		      "  - {name: b, vip: 10.96.0.1, port: 81, endpoints: [{address: 10.0.0.1, "
		      "port: 80}]}\n"),
		0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.n_services, 2);
}

Test(config, one_drained_endpoint_among_others_is_allowed)
{
	cr_assert_eq(parse("cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			   "endpoints: [{address: 10.0.0.1, port: 80, weight: 0}, "
			   "{address: 10.0.0.2, port: 80}]}\n"),
		     0);
}

Test(config, rejected_weight_does_not_also_count_as_zero)
{
	assert_one_error("cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			 "endpoints: [{address: 10.0.0.1, port: 80, weight: x}]}\n",
			 3, 91, "services[0].endpoints[0].weight", "\"x\" is not a weight");
}

Test(config, rejected_vip_does_not_also_clash_with_endpoints)
{
	/* The bad vip must not be compared with the endpoint's family nor with other vips. */
	assert_one_error("cgroup: /a\nservices:\n"
			 "  - {name: a, vip: 10.96.0.1/32, port: 80, endpoints: [{address: "
			 "\"fd00::1\", port: 80}]}\n",
			 3, 20, "services[0].vip", "is a CIDR");
}

/*
 * N services of COUNT endpoints each, the Ith named svc-I, or NAME when given, with vip
 * 10.96.I/256.I%256 and port 80; each endpoint a flow mapping on its own line. Service I
 * starts at line 3 + I * (4 + COUNT).
 */
static char *services_text(int n, int count, const char *name)
{
	size_t size = 32 + (size_t)n * (80 + count * 48);
	char *text = malloc(size), *w;
	int i, j;

	cr_assert_not_null(text);
	w = text + sprintf(text, "cgroup: /a\nservices:\n");
	for (i = 0; i < n; i++) {
		if (name)
			w += sprintf(w, "  - name: %s\n", name);
		else
			w += sprintf(w, "  - name: svc-%d\n", i);
		w += sprintf(w, "    vip: 10.96.%d.%d\n    port: 80\n    endpoints:\n", i / 256,
			     i % 256);
		for (j = 0; j < count; j++)
			w += sprintf(w, "      - {address: 10.%d.%d.%d, port: 8080}\n",
				     100 + j / 256, i % 256, j % 256);
	}
	cr_assert_lt((size_t)(w - text), size);
	return text;
}

Test(config, service_of_257_endpoints_is_rejected)
{
	char *text = services_text(1, 257, NULL);

	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 7, 7, "services[0].endpoints", "257 endpoints; a service holds at most 256");
}

Test(config, service_of_256_endpoints_is_allowed)
{
	char *text = services_text(1, 256, NULL);

	cr_assert_eq(parse(text), 0);
	free(text);
	cr_assert_eq(cfg.services[0].n_endpoints, 256);
}

Test(config, more_than_16384_services_is_rejected)
{
	char *text = services_text(16385, 1, NULL);

	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 3, 3, "services", "16385 services; a policy holds at most 16384");
}

Test(config, more_endpoints_than_a_policy_holds_is_rejected)
{
	/* 513 services of 256 endpoints: 131328, 256 more than a slot's 131072. */
	char *text = services_text(513, 256, NULL);

	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1);
	assert_diag(0, 3, 3, "services",
		    "131328 endpoints in the services together; a policy holds at most 131072");
}

Test(config, every_service_error_is_reported_in_file_order)
{
	cr_assert_eq(parse("cgroup: /a\n"
			   "services:\n"
			   "  - name: a\n"
			   "    vip: 10.96.0.1\n"
			   "    port: 80\n"
			   "    endpoints: [{address: 10.0.0.1, port: 80, weight: 0}]\n"
			   "  - name: a\n"
			   "    vip: 10.96.0.1\n"
			   "    port: 80\n"
			   "    balance: fastest\n"
			   "    endpoints: [{address: 10.0.0.1, port: 0}, {address: \"fd00::1\", "
			   "port: 1}]\n"
			   "  - {vip: 10.96.0.2, port: 80, endpoints: []}\n"),
		     -EINVAL);
	cr_assert_eq(diags.n, 8, "%zu diagnostics", diags.n);
	assert_diag(0, 6, 16, "services[0].endpoints", "every endpoint has weight 0");
	assert_diag(1, 7, 11, "services[1].name", "also the name of services[0] (line 3)");
	assert_diag(2, 8, 10, "services[1].vip",
		    "10.96.0.1:80 is also the vip and port of services[0]");
	assert_diag(3, 10, 14, "services[1].balance", "\"fastest\" is not a balancing method");
	assert_diag(4, 11, 43, "services[1].endpoints[0].port", "0 is not a port");
	assert_diag(5, 11, 57, "services[1].endpoints[1].address", "fd00::1 is IPv6 but");
	assert_diag(6, 12, 5, "services[2].name", "required key missing");
	assert_diag(7, 12, 43, "services[2].endpoints", "no endpoints");
	assert_zeroed();
}

Test(config, ten_thousand_services_of_ten_endpoints_are_read)
{
	char *text = services_text(10000, 10, NULL);
	const struct sc_service_cfg *s;
	size_t i;

	cr_assert_eq(parse(text), 0, "%s", diags.n ? diags.v[0].msg : "");
	free(text);
	cr_assert_eq(diags.n, 0);
	cr_assert_eq(cfg.n_services, 10000);
	for (i = 0; i < cfg.n_services; i++) {
		s = &cfg.services[i];
		cr_assert_eq(s->n_endpoints, 10);
		cr_assert_eq(s->line, 3 + 14 * (int)i);
		cr_assert_eq(s->vip[2], i / 256);
		cr_assert_eq(s->vip[3], i % 256);
	}
	s = &cfg.services[9999];
	cr_assert_str_eq(s->name, "svc-9999");
	assert_addr(s->endpoints[9].family, s->endpoints[9].addr, AF_INET, "10.100.15.9");
	cr_assert_eq(s->endpoints[9].port, 8080);
	cr_assert_eq(s->endpoints[9].weight, 1);
}

Test(config, ten_thousand_services_fit_in_a_config_file)
{
	char path[] = "/tmp/sidecap-test-XXXXXX";
	char *text = services_text(10000, 10, NULL);
	size_t len = strlen(text);
	int fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(text);
	cr_assert_eq(sc_config_load(path, &cfg, &diags), 0, "%s", diags.n ? diags.v[0].msg : "");
	unlink(path);
	cr_assert_eq(cfg.n_services, 10000);
}

Test(config, ten_thousand_duplicate_names_are_each_reported)
{
	char *text = services_text(10000, 1, "svc");
	size_t i;

	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 9999);
	for (i = 0; i < diags.n; i++) {
		cr_assert_eq(diags.v[i].line, 3 + 5 * (int)(i + 1));
		cr_assert(strstr(diags.v[i].msg, "is also the name of services[0] (line 3)"));
	}
}

Test(config, many_diagnostics_of_both_passes_are_sorted_into_file_order)
{
	char *text = services_text(1000, 1, "svc"), *c;
	char key[64];
	size_t i;

	/* Each endpoint's port becomes 0000: a parse error after each validation error's line. */
	for (c = text; (c = strstr(c, "port: 8080")); c += 10)
		memcpy(c, "port: 0000", 10);
	cr_assert_eq(parse(text), -EINVAL);
	free(text);
	cr_assert_eq(diags.n, 1000 + 999);
	for (i = 0; i < diags.n; i++) {
		if (i % 2) {
			snprintf(key, sizeof(key), "services[%zu].name", i / 2 + 1);
			assert_diag(i, 3 + 5 * (int)(i / 2 + 1), 11, key,
				    "is also the name of services[0] (line 3)");
		} else {
			snprintf(key, sizeof(key), "services[%zu].endpoints[0].port", i / 2);
			cr_assert_eq(diags.v[i].line, 7 + 5 * (int)(i / 2));
			cr_assert_str_eq(diags.v[i].key, key);
			cr_assert(strstr(diags.v[i].msg, "0000 has a leading zero"));
		}
	}
}

static void parse_service(struct sc_config *c, const char *text)
{
	struct sc_diags d = {0};

	cr_assert_eq(sc_config_parse_string("t.yaml", text, strlen(text), c, &d), 0, "%s",
		     d.n ? d.v[0].msg : "");
	sc_diags_free(&d);
}

Test(config, service_equal_ignores_the_line_only)
{
	/* Service a below with one field changed. */
	static const char *const variants[] = {
		"{name: b, vip: 10.96.0.1, port: 80, endpoints: [{address: 10.0.0.1, port: 80}]}",
		"{name: a, vip: 10.96.0.2, port: 80, endpoints: [{address: 10.0.0.1, port: 80}]}",
		"{name: a, vip: \"::a60:1\", port: 80,"
		" endpoints: [{address: \"::a00:1\", port: 80}]}",
		"{name: a, vip: 10.96.0.1, port: 81, endpoints: [{address: 10.0.0.1, port: 80}]}",
		"{name: a, vip: 10.96.0.1, port: 80, balance: maglev,"
		" endpoints: [{address: 10.0.0.1, port: 80}]}",
		"{name: a, vip: 10.96.0.1, port: 80, sidecar: bypass,"
		" endpoints: [{address: 10.0.0.1, port: 80}]}",
		"{name: a, vip: 10.96.0.1, port: 80, endpoints: [{address: 10.0.0.2, port: 80}]}",
		"{name: a, vip: 10.96.0.1, port: 80, endpoints: [{address: 10.0.0.1, port: 81}]}",
		"{name: a, vip: 10.96.0.1, port: 80,"
		" endpoints: [{address: 10.0.0.1, port: 80, weight: 2}]}",
		"{name: a, vip: 10.96.0.1, port: 80,"
		" endpoints: [{address: 10.0.0.1, port: 80}, {address: 10.0.0.2, port: 80}]}",
	};
	struct sc_config a, b;
	char text[256];
	size_t i;

	parse_service(&a, "cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			  "endpoints: [{address: 10.0.0.1, port: 80, weight: 1}]}\n");
	parse_service(&b, "cgroup: /a\n\n\nservices:\n  - name: a\n    vip: 10.96.0.1\n"
			  "    port: 80\n    balance: random\n    sidecar: redirect\n"
			  "    endpoints:\n      - address: 10.0.0.1\n        port: 80\n");
	cr_assert_neq(a.services[0].line, b.services[0].line);
	cr_assert(sc_service_equal(&a.services[0], &b.services[0]));
	cr_assert(sc_service_equal(&b.services[0], &a.services[0]));
	sc_config_free(&b);
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		snprintf(text, sizeof(text), "cgroup: /a\nservices:\n  - %s\n", variants[i]);
		parse_service(&b, text);
		cr_assert_not(sc_service_equal(&a.services[0], &b.services[0]), "variant %zu", i);
		cr_assert_not(sc_service_equal(&b.services[0], &a.services[0]), "variant %zu", i);
		sc_config_free(&b);
	}
	sc_config_free(&a);
}

Test(config, service_equal_compares_endpoints_in_order)
{
	struct sc_config a, b;

	parse_service(&a, "cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			  "endpoints: [{address: 10.0.0.1, port: 80}, {address: 10.0.0.2, port: "
			  "80}]}\n");
	parse_service(&b, "cgroup: /a\nservices:\n  - {name: a, vip: 10.96.0.1, port: 80, "
			  "endpoints: [{address: 10.0.0.2, port: 80}, {address: 10.0.0.1, port: "
			  "80}]}\n");
	cr_assert_not(sc_service_equal(&a.services[0], &b.services[0]));
	sc_config_free(&a);
	sc_config_free(&b);
}

Test(config, netns_relative_path_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "netns: pod-a\n",
			 2, 8, "netns", "is not an absolute path (start it with /)");
}

Test(config, original_dst_unknown_word_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  originalDst: vip\n",
			 3, 16, "proxy.originalDst",
			 "\"vip\" is not an originalDst mode (use endpoint or service)");
}

Test(config, original_dst_in_other_case_gets_a_suggestion)
{
	assert_one_error("cgroup: /a\n"
			 "proxy: {originalDst: Service}\n",
			 2, 22, "proxy.originalDst",
			 "\"Service\" is not an originalDst mode; did you mean service?");
}

Test(config, original_dst_list_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy: {originalDst: [service]}\n",
			 2, 22, "proxy.originalDst", "must be endpoint or service, not a list");
}

Test(config, original_dst_without_value_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  originalDst:\n",
			 3, 15, "proxy.originalDst",
			 "no value (remove the key for the default endpoint)");
}

Test(config, admin_ports_star_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  adminPorts: [\"*\"]\n",
			 3, 16, "proxy.adminPorts[0]",
			 "\"*\" is not allowed here (list the ports, or write [] for none)");
}

Test(config, admin_port_zero_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  adminPorts: [15020, 0]\n",
			 3, 23, "proxy.adminPorts[1]", "0 is not a port (use 1-65535)");
}

Test(config, admin_port_duplicate_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  adminPorts: [15020, \"15020\"]\n",
			 3, 23, "proxy.adminPorts[1]", "duplicate of [0] (line 3); remove one");
}

Test(config, admin_ports_scalar_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "proxy:\n"
			 "  adminPorts: 15020\n",
			 3, 15, "proxy.adminPorts", "must be a list (write [15020])");
}

Test(config, metrics_listen_without_port_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics:\n"
			 "  listen: 127.0.0.1\n",
			 3, 11, "metrics.listen",
			 "\"127.0.0.1\" has no port (write e.g. 127.0.0.1:15020)");
}

Test(config, metrics_listen_v6_without_brackets_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics:\n"
			 "  listen: \"::1:15020\"\n",
			 3, 11, "metrics.listen",
			 "an IPv6 address goes in brackets (write e.g. \"[::1]:15020\")");
}

Test(config, metrics_listen_host_name_is_rejected)
{
	assert_one_error(
		"cgroup: /a\n"
		"metrics:\n"
		"  listen: localhost:15020\n",
		3, 11, "metrics.listen",
		"\"localhost\" is not an IPv4 address (write an IP address, e.g. 127.0.0.1:15020)");
}

Test(config, metrics_listen_bad_v6_address_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics: {listen: \"[fd00::g]:9100\"}\n",
			 2, 19, "metrics.listen", "\"fd00::g\" is not an IPv6 address");
}

Test(config, metrics_listen_bracket_without_port_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics: {listen: \"[::1]15020\"}\n",
			 2, 19, "metrics.listen", "\"[::1]15020\" is not [ADDR]:PORT");
}

Test(config, metrics_listen_port_0_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics: {listen: \"0.0.0.0:0\"}\n",
			 2, 19, "metrics.listen",
			 "\"0.0.0.0:0\": \"0\" is not a port (use 1-65535)");
}

Test(config, metrics_listen_port_70000_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics: {listen: \"[::]:70000\"}\n",
			 2, 19, "metrics.listen", "\"70000\" is not a port (use 1-65535)");
}

Test(config, metrics_listen_list_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "metrics: {listen: [a]}\n",
			 2, 19, "metrics.listen",
			 "must be a string \"ADDR:PORT\" or \"[ADDR]:PORT\", not a list");
}

Test(config, metrics_unknown_key_lists_allowed_keys)
{
	assert_one_error("cgroup: /a\n"
			 "metrics:\n"
			 "  port: 15020\n",
			 3, 3, "metrics.port", "unknown key (allowed: listen)");
}

Test(config, services_mapping_gets_a_list_hint)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  reviews: {vip: 10.96.0.20}\n",
			 3, 3, "services",
			 "must be a list, not a mapping (start each service with - name:)");
}

Test(config, services_scalar_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services: reviews\n",
			 2, 11, "services", "must be a list (write [reviews])");
}

Test(config, services_without_value_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n",
			 2, 10, "services", "no value (write [] for none)");
}

Test(config, service_item_scalar_is_rejected)
{
	assert_one_error(
		"cgroup: /a\n"
		"services:\n"
		"  - reviews\n",
		3, 5, "services[0]",
		"must be a mapping (keys: name, vip, port, balance, sidecar, acceleration, "
		"endpoints), "
		"not \"reviews\"");
}

Test(config, service_unknown_key_gets_a_suggestion)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    VIP: 10.96.0.21\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 6, 5, "services[0].VIP",
			 "unknown key; did you mean vip? (allowed: name, vip, port, balance, "
			 "sidecar, acceleration, endpoints)");
}

Test(config, service_duplicate_key_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    port: 9081\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 6, 5, "services[0].port", "duplicate key (first at line 5); remove one");
}

Test(config, service_without_name_is_reported_at_the_item)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 5, "services[0].name",
			 "required key missing (name the service, e.g. name: reviews)");
}

Test(config, flow_service_without_vip_is_reported_at_the_brace)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - {name: a, port: 1, endpoints: [{address: 10.0.0.1, port: 1}]}\n",
			 3, 5, "services[0].vip",
			 "required key missing (set the service's virtual IP address, e.g. vip: "
			 "10.96.0.20)");
}

Test(config, service_without_port_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: a\n"
			 "    vip: 10.96.0.20\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 5, "services[0].port",
			 "required key missing (set the service's port, e.g. port: 9080)");
}

Test(config, service_without_endpoints_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n",
			 3, 5, "services[0].endpoints", "required key missing (list the endpoints");
}

Test(config, service_name_with_capitals_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: Reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 11, "services[0].name",
			 "\"Reviews\" is not a name (use lowercase letters, digits, - and ., "
			 "starting and ending with a letter or digit)");
}

Test(config, service_name_ending_in_dash_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews-\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 11, "services[0].name", "\"reviews-\" is not a name");
}

Test(config, service_name_of_64_characters_is_rejected)
{
	assert_one_error(
		"cgroup: /a\n"
		"services:\n"
		"  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		"    vip: 10.96.0.20\n"
		"    port: 9080\n"
		"    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
		3, 11, "services[0].name", "is 64 characters; a name has at most 63");
}

Test(config, service_name_list_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: [a]\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 11, "services[0].name", "must be a name, not a list");
}

Test(config, service_name_without_value_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: ~\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 3, 11, "services[0].name",
			 "no value (name the service, e.g. name: reviews)");
}

Test(config, service_vip_bad_address_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.256\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 4, 10, "services[0].vip",
			 "\"10.96.0.256\" is not an IPv4 address (write e.g. 10.96.0.20)");
}

Test(config, service_vip_cidr_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.0/16\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 4, 10, "services[0].vip",
			 "\"10.96.0.0/16\" is a CIDR; write a single IPv4 address, without the "
			 "prefix length");
}

Test(config, service_vip_v4_mapped_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: \"::ffff:10.96.0.20\"\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 4, 10, "services[0].vip",
			 "\"::ffff:10.96.0.20\" is an IPv4-mapped IPv6 address; write the IPv4 "
			 "address (10.96.0.20)");
}

Test(config, service_vip_bad_v6_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: \"fd00::1::2\"\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 4, 10, "services[0].vip",
			 "\"fd00::1::2\" is not an IPv6 address (write e.g. fd00::20)");
}

Test(config, service_port_0_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 0\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 5, 11, "services[0].port", "0 is not a port (use 1-65535)");
}

Test(config, service_port_quoted_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: \"9080\"\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 5, 11, "services[0].port",
			 "\"9080\" is a string; write a port without quotes");
}

Test(config, service_balance_unknown_is_rejected)
{
	assert_one_error(
		"cgroup: /a\n"
		"services:\n"
		"  - name: reviews\n"
		"    vip: 10.96.0.20\n"
		"    port: 9080\n"
		"    balance: least_conn\n"
		"    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
		6, 14, "services[0].balance",
		"\"least_conn\" is not a balancing method (use random, round_robin or maglev)");
}

Test(config, service_balance_in_other_case_gets_a_suggestion)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    balance: Maglev\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 6, 14, "services[0].balance", "did you mean maglev?");
}

Test(config, service_sidecar_unknown_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    sidecar: proxy\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 6, 14, "services[0].sidecar",
			 "\"proxy\" is not a sidecar mode (use redirect or bypass)");
}

Test(config, service_sidecar_boolean_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    sidecar: true\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 6, 14, "services[0].sidecar",
			 "\"true\" is not a sidecar mode (use redirect or bypass)");
}

Test(config, endpoints_scalar_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: 10.99.0.2\n",
			 6, 16, "services[0].endpoints",
			 "must be a list of endpoints, not \"10.99.0.2\" (write e.g. [{address: "
			 "10.99.0.2, port: 9080}])");
}

Test(config, endpoint_item_scalar_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [10.99.0.2]\n",
			 6, 17, "services[0].endpoints[0]",
			 "must be a mapping (keys: address, port, weight), not \"10.99.0.2\"");
}

Test(config, endpoint_unknown_key_in_flow_mapping_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 1, wieght: 2}]\n",
			 6, 47, "services[0].endpoints[0].wieght",
			 "unknown key (allowed: address, port, weight)");
}

Test(config, endpoint_without_address_is_reported_at_the_brace)
{
	assert_one_error(
		"cgroup: /a\n"
		"services:\n"
		"  - name: reviews\n"
		"    vip: 10.96.0.20\n"
		"    port: 9080\n"
		"    endpoints:\n"
		"      - {port: 1}\n",
		7, 9, "services[0].endpoints[0].address",
		"required key missing (set the endpoint's IP address, e.g. address: 10.99.0.2)");
}

Test(config, endpoint_without_port_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints:\n"
			 "      - address: 10.99.0.2\n",
			 7, 9, "services[0].endpoints[0].port",
			 "required key missing (set the endpoint's port, e.g. port: 9080)");
}

Test(config, endpoint_bad_address_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0, port: 1}]\n",
			 6, 27, "services[0].endpoints[0].address",
			 "\"10.99.0\" is not an IPv4 address");
}

Test(config, endpoint_v4_mapped_address_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: \"::ffff:10.99.0.2\", port: 1}]\n",
			 6, 27, "services[0].endpoints[0].address",
			 "write the IPv4 address (10.99.0.2)");
}

Test(config, endpoint_port_70000_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints:\n"
			 "      - address: 10.99.0.2\n"
			 "        port: 70000\n",
			 8, 15, "services[0].endpoints[0].port",
			 "70000 is not a port (use 1-65535)");
}

Test(config, endpoint_weight_70000_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 1, weight: 70000}]\n",
			 6, 55, "services[0].endpoints[0].weight",
			 "70000 is not a weight (use 0-65535; 0 drains the endpoint)");
}

Test(config, endpoint_negative_weight_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 1, weight: -1}]\n",
			 6, 55, "services[0].endpoints[0].weight", "-1 is not a weight");
}

Test(config, endpoint_weight_without_value_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints:\n"
			 "      - address: 10.99.0.2\n"
			 "        port: 1\n"
			 "        weight:\n",
			 9, 16, "services[0].endpoints[0].weight",
			 "no value (remove the key for the default 1)");
}

Test(config, duplicate_service_name_is_reported_at_the_later_one)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.21\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 7, 11, "services[1].name",
			 "\"reviews\" is also the name of services[0] (line 3); give each service "
			 "its own name");
}

Test(config, duplicate_vip_and_port_is_reported_at_the_later_vip)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n"
			 "  - name: ratings\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: 10.99.0.2, port: 9080}]\n",
			 8, 10, "services[1].vip",
			 "10.96.0.20:9080 is also the vip and port of services[0] (line 4); give "
			 "each service a vip and port of its own");
}

Test(config, duplicate_v6_vip_and_port_is_found_whatever_the_spelling)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: \"fd00::20\"\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: \"fd00::2\", port: 1}]\n"
			 "  - name: b\n"
			 "    vip: \"fd00:0::0:20\"\n"
			 "    port: 9080\n"
			 "    endpoints: [{address: \"fd00::2\", port: 1}]\n",
			 8, 10, "services[1].vip",
			 "[fd00::20]:9080 is also the vip and port of services[0] (line 4)");
}

Test(config, empty_endpoint_list_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints: []\n",
			 6, 16, "services[0].endpoints", "no endpoints; list at least one");
}

Test(config, all_weights_zero_is_rejected)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints:\n"
			 "      - {address: 10.99.0.2, port: 1, weight: 0}\n"
			 "      - {address: 10.99.0.3, port: 1, weight: 0}\n",
			 7, 7, "services[0].endpoints",
			 "every endpoint has weight 0; give at least one a weight above 0");
}

Test(config, endpoint_of_other_family_than_vip_is_rejected)
{
	assert_one_error(
		"cgroup: /a\n"
		"services:\n"
		"  - name: reviews\n"
		"    vip: 10.96.0.20\n"
		"    port: 9080\n"
		"    endpoints: [{address: 10.99.0.2, port: 1}, {address: \"fd00::2\", port: 1}]\n",
		6, 58, "services[0].endpoints[1].address",
		"fd00::2 is IPv6 but services[0].vip 10.96.0.20 is IPv4; give a service endpoints "
		"of its vip's family");
}

Test(config, duplicate_endpoint_is_reported_at_the_later_one)
{
	assert_one_error("cgroup: /a\n"
			 "services:\n"
			 "  - name: reviews\n"
			 "    vip: 10.96.0.20\n"
			 "    port: 9080\n"
			 "    endpoints:\n"
			 "      - {address: 10.99.0.2, port: 1}\n"
			 "      - {address: 10.99.0.3, port: 1}\n"
			 "      - {address: 10.99.0.2, port: 1, weight: 5}\n",
			 9, 19, "services[0].endpoints[2].address",
			 "10.99.0.2:1 is also endpoints[0] (line 7); remove one");
}

Test(config, acceleration_words_and_booleans_are_read)
{
	static const struct {
		const char *text;
		int mode;
	} cases[] = {
		{"cgroup: /a\nacceleration: adaptive\n", SC_ACCEL_ADAPTIVE},
		{"cgroup: /a\nacceleration: always\n", SC_ACCEL_ALWAYS},
		{"cgroup: /a\nacceleration: never\n", SC_ACCEL_NEVER},
		{"cgroup: /a\nacceleration: true\n", SC_ACCEL_ALWAYS},
		{"cgroup: /a\nacceleration: False\n", SC_ACCEL_NEVER},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].text), 0, "%s", cases[i].text);
		cr_assert_eq(cfg.acceleration, cases[i].mode, "%s", cases[i].text);
		sc_config_free(&cfg);
	}
}

Test(config, acceleration_other_word_is_rejected_with_the_modes)
{
	assert_one_error(
		"cgroup: /a\nacceleration: sometimes\n", 2, 15, "acceleration",
		"\"sometimes\" is not an acceleration mode (use adaptive, always or never; "
		"true and false, unquoted, still mean always and never)");
}

Test(config, acceleration_word_in_other_case_gets_a_suggestion)
{
	assert_one_error("cgroup: /a\nacceleration: Adaptive\n", 2, 15, "acceleration",
			 "\"Adaptive\" is not an acceleration mode; did you mean adaptive?");
}

Test(config, acceleration_ports_and_min_exchanges_are_read)
{
	cr_assert_eq(parse("cgroup: /a\naccelerationMinExchanges: 10\n"
			   "accelerationPorts:\n  always: [9090, 80]\n  never: [5432]\n"),
		     0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.accel_min_exchanges, 10);
	cr_assert_eq(cfg.accel_ports.always.n, 2);
	cr_assert_eq(cfg.accel_ports.always.v[0], 80);
	cr_assert_eq(cfg.accel_ports.always.v[1], 9090);
	cr_assert_eq(cfg.accel_ports.never.n, 1);
	cr_assert_eq(cfg.accel_ports.never.v[0], 5432);
}

Test(config, acceleration_port_in_both_lists_is_rejected_at_the_never_one)
{
	assert_one_error(
		"cgroup: /a\naccelerationPorts:\n  always: [80, 9090]\n"
		"  never: [22, 9090]\n",
		4, 15, "accelerationPorts.never[1]",
		"port 9090 is also in accelerationPorts.always[1] (line 3); remove it from "
		"one of the lists");
}

Test(config, acceleration_ports_refuse_star)
{
	assert_one_error("cgroup: /a\naccelerationPorts: {always: [\"*\"]}\n", 2, 30,
			 "accelerationPorts.always[0]", "\"*\" is not allowed here");
}

Test(config, acceleration_min_exchanges_out_of_range_is_rejected)
{
	assert_one_error("cgroup: /a\naccelerationMinExchanges: 0\n", 2, 27,
			 "accelerationMinExchanges", "1-1000000");
}

Test(config, service_acceleration_is_read_and_defaults_to_the_pod_rules)
{
	cr_assert_eq(parse("cgroup: /a\nservices:\n"
			   "  - {name: a, vip: 10.96.0.1, port: 80, acceleration: never,\n"
			   "     endpoints: [{address: 10.0.0.1, port: 80}]}\n"
			   "  - {name: b, vip: 10.96.0.2, port: 80, acceleration: true,\n"
			   "     endpoints: [{address: 10.0.0.1, port: 80}]}\n"
			   "  - {name: c, vip: 10.96.0.3, port: 80,\n"
			   "     endpoints: [{address: 10.0.0.1, port: 80}]}\n"),
		     0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.services[0].acceleration, SC_ACCEL_NEVER);
	cr_assert_eq(cfg.services[1].acceleration, SC_ACCEL_ALWAYS);
	cr_assert_eq(cfg.services[2].acceleration, SC_ACCEL_INHERIT);
}

Test(config, service_acceleration_bad_word_names_the_item)
{
	assert_one_error("cgroup: /a\nservices:\n"
			 "  - name: a\n    vip: 10.96.0.1\n    port: 80\n    acceleration: fast\n"
			 "    endpoints: [{address: 10.0.0.1, port: 80}]\n",
			 6, 19, "services[0].acceleration", "\"fast\" is not an acceleration mode");
}

Test(config, dns_defaults_are_off_15053_every_server)
{
	cr_assert_eq(parse("cgroup: /a\n"), 0);
	cr_assert_eq(cfg.dns.capture, false);
	cr_assert_eq(cfg.dns.port, 15053);
	cr_assert_eq(cfg.dns.servers.n, 0);
}

Test(config, dns_keys_are_read)
{
	cr_assert_eq(parse("cgroup: /a\ndns:\n  capture: true\n  port: 5353\n"
			   "  servers: [10.96.0.10, \"fd00::10\"]\n"),
		     0, "%s", diags.n ? diags.v[0].msg : "");
	cr_assert_eq(cfg.dns.capture, true);
	cr_assert_eq(cfg.dns.port, 5353);
	cr_assert_eq(cfg.dns.servers.n, 2);
	assert_cidr(&cfg.dns.servers.v[0], AF_INET, "10.96.0.10", 32);
	assert_cidr(&cfg.dns.servers.v[1], AF_INET6, "fd00::10", 128);
}

Test(config, dns_v4_mapped_server_is_stored_as_ipv4)
{
	cr_assert_eq(parse("cgroup: /a\ndns:\n  servers: [\"::ffff:10.96.0.10\"]\n"), 0);
	cr_assert_eq(cfg.dns.servers.n, 1);
	assert_cidr(&cfg.dns.servers.v[0], AF_INET, "10.96.0.10", 32);
}

Test(config, dns_v4_mapped_server_duplicates_its_ipv4)
{
	assert_one_error("cgroup: /a\ndns:\n  servers: [10.96.0.10, \"::ffff:10.96.0.10\"]\n", 3,
			 25, "dns.servers[1]", "duplicate of [0] (line 3)");
}

Test(config, dns_bad_port_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  port: 70000\n", 3, 9, "dns.port",
			 "70000 is not a port (use 1-65535)");
}

Test(config, dns_port_53_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  port: 53\n", 3, 9, "dns.port",
			 "53 is the port queries are captured from");
}

Test(config, dns_port_equal_to_outbound_port_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  port: 15001\n", 3, 9, "dns.port",
			 "15001 is also proxy.outboundPort");
}

Test(config, dns_bad_server_address_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  servers: [10.96.0.256]\n", 3, 13, "dns.servers[0]",
			 "\"10.96.0.256\" is not an IPv4 address (write e.g. 10.96.0.10");
}

Test(config, dns_server_cidr_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  servers: [10.96.0.0/16]\n", 3, 13, "dns.servers[0]",
			 "with no prefix length");
}

Test(config, dns_server_star_is_rejected)
{
	assert_one_error("cgroup: /a\ndns:\n  servers: [\"*\"]\n", 3, 13, "dns.servers[0]",
			 "is not an IPv4 address");
}

Test(config, dns_too_many_servers_is_rejected)
{
	char text[1024];
	int n, i;

	n = snprintf(text, sizeof(text), "cgroup: /a\ndns:\n  servers: [");
	for (i = 0; i <= SC_DNS_MAX_SERVERS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s10.0.0.%d", i ? ", " : "", i + 1);
	snprintf(text + n, sizeof(text) - n, "]\n");
	assert_one_error(text, 3, 12, "dns.servers", "17 entries; a policy holds at most 16");
}

Test(config, dns_unknown_key_lists_allowed_keys)
{
	assert_one_error("cgroup: /a\ndns:\n  enabled: true\n", 3, 3, "dns.enabled",
			 "unknown key (allowed: capture, port, servers)");
}

Test(config, dns_capture_word_is_not_a_boolean)
{
	assert_one_error("cgroup: /a\ndns:\n  capture: yes\n", 3, 12, "dns.capture",
			 "yes is a YAML 1.1 boolean (use true or false)");
}
