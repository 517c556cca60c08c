// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Feature probes. Each one asks the kernel the question itself (loads a tiny program, creates a
 * link) rather than reading a version number: distributions backport features, and RHEL's 5.14 is
 * not Debian's.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "log.h"

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* A fetching atomic add on the stack: "BPF_STX uses reserved fields" before Linux 5.12. */
static bool sc_probe_fetch_atomics(void)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, -8, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, BPF_REG_10, BPF_REG_1, -8, BPF_ADD | BPF_FETCH),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sc_probe_atomic", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* An sk_msg program attached to a sockhash through a bpf_link: EINVAL before Linux 6.10. */
static bool sc_probe_sockmap_link(void)
{
	const struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1 /* SK_PASS */),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_SK_MSG_VERDICT);
	int map, prog, link = -1;

	map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, "sc_probe_sh", 4, 8, 1, NULL);
	prog = bpf_prog_load(BPF_PROG_TYPE_SK_MSG, "sc_probe_msg", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), &opts);
	if (map >= 0 && prog >= 0)
		link = bpf_link_create(prog, map, BPF_SK_MSG_VERDICT, NULL);
	if (link >= 0)
		close(link);
	if (prog >= 0)
		close(prog);
	if (map >= 0)
		close(map);
	return link >= 0;
}

/* The kernel's struct bpf_sk_lookup has ingress_ifindex (what CO-RE tests at load time). */
static bool sc_probe_sk_lookup_ifindex(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	bool found = false;
	int id, i;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "bpf_sk_lookup", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	for (i = 0, m = t ? btf_members(t) : NULL; t && i < btf_vlen(t); i++, m++)
		found |= !strcmp(btf__name_by_offset(btf, m->name_off), "ingress_ifindex");
	btf__free(btf);
	return found;
}

int sc_features_probe(struct sc_features *f)
{
	memset(f, 0, sizeof(*f));
	f->fetch_atomics = sc_probe_fetch_atomics();
	f->netns_cookie =
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_netns_cookie, NULL) ==
			1 &&
		libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_get_netns_cookie, NULL) == 1;
	f->sockmap_link = sc_probe_sockmap_link();
	f->sk_lookup_ifindex = sc_probe_sk_lookup_ifindex();
	return 0;
}

bool sc_features_full(const struct sc_features *f)
{
	return f->fetch_atomics && f->netns_cookie;
}

void sc_features_print(const struct sc_features *f, FILE *out)
{
#define SC_FEATURE_PRINT(field, name, version, without)                                       \
	fprintf(out, "  %-44s %-3s (Linux %s)%s%s\n", name, f->field ? "yes" : "no", version, \
		f->field ? "" : ": ", f->field ? "" : without);
	SC_FEATURES(SC_FEATURE_PRINT)
#undef SC_FEATURE_PRINT
}

void sc_features_log(const struct sc_features *f)
{
	char missing[512] = "";
	size_t n = 0;

#define SC_FEATURE_MISSING(field, name, version, without)                              \
	if (!f->field && n < sizeof(missing))                                          \
		n += snprintf(missing + n, sizeof(missing) - n, "%s%s (Linux %s: %s)", \
			      n ? "; " : "", name, version, without);
	SC_FEATURES(SC_FEATURE_MISSING)
#undef SC_FEATURE_MISSING
	if (!n)
		pr_info("kernel features: all that sidecap uses are here\n");
	else
		pr_warn("kernel features missing: %s\n", missing);
}
