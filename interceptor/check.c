// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `check`: what the kernel and the machine must offer, each with the fix when it is missing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <bpf/libbpf.h>

#include "sidecap.skel.h"
#include "cli.h"
#include "interceptor.h"
#include "iptables.h"
#include "log.h"
#include "pod.h"

static int failures;

static void report(bool ok, const char *what, const char *fix)
{
	printf("%-44s %s%s%s\n", what, ok ? "ok" : "MISSING", ok ? "" : ": ", ok ? "" : fix);
	if (!ok)
		failures++;
}

/*
 * What mode: iptables needs, reported apart: it matters only in that mode, so a missing tool is
 * not a failure of `check`. Each tool's backend is shown, since rules of the other backend in
 * the same netns are invisible to it.
 */
static bool check_iptables(void)
{
	static const char *const tools[] = {"iptables",	 "iptables-save",  "iptables-restore",
					    "ip6tables", "ip6tables-save", "ip6tables-restore"};
	char what[64], backend[32];
	bool all = true;
	size_t i;
	int err;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		snprintf(what, sizeof(what), "%s (mode: iptables)", tools[i]);
		err = sc_iptables_backend(tools[i], backend, sizeof(backend));
		if (err)
			printf("%-44s %s\n", what,
			       err == -ENOENT
				       ? "absent: apt-get install iptables"
				       : "present, backend unknown (neither nf_tables nor legacy)");
		else
			printf("%-44s ok (%s)\n", what, backend);
		all &= !err;
	}
	return all;
}

int sc_cmd_check(int argc, char **argv)
{
	static const struct {
		enum bpf_prog_type type;
		const char *name;
	} progs[] = {
		{BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "program type cgroup/connect, getpeername"},
		{BPF_PROG_TYPE_SOCK_OPS, "program type sockops"},
		{BPF_PROG_TYPE_SK_MSG, "program type sk_msg"},
		{BPF_PROG_TYPE_CGROUP_SOCKOPT, "program type cgroup/getsockopt"},
		{BPF_PROG_TYPE_SK_LOOKUP, "program type sk_lookup (inbound)"},
	};
	static const struct {
		enum bpf_map_type type;
		const char *name;
	} maps[] = {
		{BPF_MAP_TYPE_SOCKHASH, "map type sockhash"},
		{BPF_MAP_TYPE_SK_STORAGE, "map type sk_storage"},
		{BPF_MAP_TYPE_LPM_TRIE, "map type LPM trie"},
	};
	const char *cg = sc_cgroup2_mount();
	struct sidecap_bpf *skel;
	struct statfs sfs;
	bool priv = sc_check_privileges() == 0;
	bool iptables = check_iptables();
	int before;
	size_t i;

	report(priv, "privileges (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)", "run as root");
	report(access("/sys/kernel/btf/vmlinux", R_OK) == 0, "kernel BTF (/sys/kernel/btf/vmlinux)",
	       "use a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	report(cg != NULL, "cgroup v2 mounted", "mount -t cgroup2 none /sys/fs/cgroup");
	report(statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC,
	       "bpffs at /sys/fs/bpf",
	       "mount -t bpf bpf /sys/fs/bpf (`run` mounts it when pinPath is below it)");
	if (!priv) {
		printf("the kernel probes below need the privileges above\n");
		return 1;
	}
	before = failures;
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		report(libbpf_probe_bpf_prog_type(progs[i].type, NULL) == 1, progs[i].name,
		       "needs a newer kernel (Linux 6.10+; or use mode: iptables)");
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		report(libbpf_probe_bpf_map_type(maps[i].type, NULL) == 1, maps[i].name,
		       "needs a newer kernel (Linux 6.10+; or use mode: iptables)");
	report(libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_MSG, BPF_FUNC_get_netns_cookie, NULL) == 1,
	       "helper bpf_get_netns_cookie in sk_msg", "needs Linux 5.15 or later");
	skel = sidecap_bpf__open_and_load();
	report(skel != NULL, "sidecap programs pass the verifier",
	       "see the verifier log above (run with a newer kernel)");
	sidecap_bpf__destroy(skel);
	if (failures > before)
		printf("mode: ebpf is not supported by this kernel; mode: iptables is the "
		       "fallback%s\n",
		       iptables ? " (its tools are present)"
				: " once the iptables tools above are installed");
	printf("modes: ebpf %s, iptables %s\n", failures > before ? "MISSING" : "ok",
	       iptables ? "ok" : "MISSING");
	printf("%s\n", failures ? "check: something is missing (see above)" : "check: all ok");
	return failures ? 1 : 0;
}
