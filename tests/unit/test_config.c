// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "config.h"

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
	cr_assert_eq(cfg.acceleration, true);
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
	cr_assert_eq(cfg.acceleration, true);
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
	cr_assert_eq(cfg.acceleration, false);
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

Test(config, empty_file_misses_cgroup)
{
	assert_one_error("", 1, 1, "cgroup", "required key missing");
}

Test(config, comment_only_file_misses_cgroup)
{
	assert_one_error("# nothing here\n", 1, 1, "cgroup", "required key missing");
}

Test(config, missing_cgroup_is_reported_at_document_start)
{
	assert_one_error("proxy:\n  uid: 1\n", 1, 1, "cgroup", "required key missing");
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
	assert_one_error(
		"cgroup: /a\nfoo: 1\n", 2, 1, "foo",
		"unknown key (allowed: cgroup, pinPath, proxy, outbound, inbound, acceleration)");
}

Test(config, unknown_nested_key_lists_allowed_keys)
{
	assert_one_error("cgroup: /a\nproxy:\n  port: 1\n", 3, 3, "proxy.port",
			 "unknown key (allowed: uid, gid, outboundPort, inboundPort, failOpen)");
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
	assert_one_error("cgroup: /a\nacceleration: off\n", 2, 15, "acceleration",
			 "use true or false");
}

Test(config, quoted_true_is_a_string)
{
	assert_one_error("cgroup: /a\nacceleration: \"true\"\n", 2, 15, "acceleration",
			 "is a string (write true or false without quotes)");
}

Test(config, word_is_not_a_boolean)
{
	assert_one_error("cgroup: /a\nacceleration: maybe\n", 2, 15, "acceleration",
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
	cr_assert_eq(diags.n, 9);
	/* Both at 1:1: the parse pass found the unknown key before the missing one. */
	assert_diag(0, 1, 1, "foo", "unknown key");
	assert_diag(1, 1, 1, "cgroup", "required key missing");
	assert_diag(2, 3, 8, "proxy.uid", "\"abc\" is not a uid");
	assert_diag(3, 4, 17, "proxy.outboundPort", "0 is not a port");
	assert_diag(4, 5, 13, "proxy.failOpen", "no is a YAML 1.1 boolean");
	assert_diag(5, 7, 21, "outbound.includeIPRanges[0]", "cannot be combined");
	assert_diag(6, 7, 26, "outbound.includeIPRanges[1]", "host bits set");
	assert_diag(7, 8, 21, "outbound.excludePorts[1]", "duplicate of [0]");
	assert_diag(8, 9, 10, "inbound", "must be a mapping");
	assert_zeroed();
}

Test(config, diagnostics_are_appended_to_existing_ones)
{
	cr_assert_eq(parse("foo: 1\n"), -EINVAL);
	cr_assert_eq(parse("cgroup: /a\nbar: 1\n"), -EINVAL);
	cr_assert_eq(diags.n, 3);
	assert_diag(2, 2, 1, "bar", "unknown key");
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
