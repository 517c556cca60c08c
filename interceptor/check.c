// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `check`: what the kernel and the machine offer, told by trying it. Beside the static checks
 * (privileges, BTF, cgroup2, bpffs) it does what `run` does in a throwaway child cgroup and
 * network namespace, in a child process, and removes both after: load the programs at this
 * kernel's level, attach each kind of program the way `run` would, and register a listening
 * socket the way the start-order scan does. Then each kernel feature beyond the floor, with the
 * version that brought it and what is lost without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.skel.h"
#include "cli.h"
#include "interceptor.h"
#include "iptables.h"
#include "kernel_features.h"
#include "links.h"
#include "listeners.h"
#include "log.h"
#include "netns.h"
#include "pod.h"

static int failures;

static void report(bool ok, const char *what, const char *fix)
{
	printf("%-52s %s%s%s\n", what, ok ? "ok" : "MISSING", ok ? "" : ": ", ok ? "" : fix);
	fflush(stdout);
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
			printf("%-52s %s\n", what,
			       err == -ENOENT
				       ? "absent: apt-get install iptables"
				       : "present, backend unknown (neither nf_tables nor legacy)");
		else
			printf("%-52s ok (%s)\n", what, backend);
		all &= !err;
	}
	return all;
}

/* Attach every program of SKEL the way `run` would, to CGROUP_FD and the current netns. */
static void trial_attach(struct sidecap_bpf *skel, const struct sc_features *f, int cgroup_fd)
{
	bool full = sc_features_full(f);
	int netns_fd, fd, l, map;
	char what[96];

	netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (l = 0; l < SC_LINK__MAX; l++) {
		int prog = bpf_program__fd(sc_link_prog(skel, l, full));
		const char *how = "bpf_link";

		if (l == SC_LINK_SK_MSG) {
			map = bpf_map__fd(skel->maps.sc_sockhash);
			if (f->sockmap_link) {
				fd = bpf_link_create(prog, map, BPF_SK_MSG_VERDICT, NULL);
			} else {
				how = "bpf_prog_attach";
				fd = bpf_prog_attach(prog, map, BPF_SK_MSG_VERDICT, 0) ? -1 : 0;
			}
		} else if (l == SC_LINK_SK_LOOKUP) {
			/* Never the host's: a throwaway namespace of this child. */
			fd = netns_fd >= 0 && sc_netns_is_host(netns_fd) == 0
				     ? bpf_link_create(prog, netns_fd, BPF_SK_LOOKUP, NULL)
				     : -1;
		} else {
			fd = bpf_link_create(prog, cgroup_fd, sc_link_attach_type(l), NULL);
		}
		snprintf(what, sizeof(what), "attach %s (%s, %s)", sc_link_names[l],
			 bpf_program__name(sc_link_prog(skel, l, full)), how);
		report(fd >= 0, what, strerror(errno));
		if (fd > 0)
			close(fd);
	}
	if (full) {
		int prog = bpf_program__fd(skel->progs.sc_sk_msg_node);

		map = bpf_map__fd(skel->maps.sc_xsocks);
		fd = f->sockmap_link ? bpf_link_create(prog, map, BPF_SK_MSG_VERDICT, NULL)
				     : (bpf_prog_attach(prog, map, BPF_SK_MSG_VERDICT, 0) ? -1 : 0);
		report(fd >= 0, "attach the node's sk_msg (pairing of two pods)", strerror(errno));
		if (fd > 0)
			close(fd);
	}
	if (netns_fd >= 0)
		close(netns_fd);
}

/* A socket of this child listening on 127.0.0.1:PORT is found and registered. */
static void trial_scan(struct sidecap_bpf *skel, int cgroup_fd, __u16 port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sc_listen_scan s = {
		.prog_fd = bpf_program__fd(skel->progs.sc_listen_scan),
		.map_fd = bpf_map__fd(skel->maps.sc_listeners),
		.netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC),
		.cgroup_fd = cgroup_fd,
		.port = port,
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && s.netns_fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !listen(fd, 1))
		n = sc_listeners_scan(&s);
	report(n == 1, "register an already-listening proxy (tc test run, 5.10)",
	       "inbound steering cannot recover a proxy that started first");
	if (fd >= 0)
		close(fd);
	if (s.netns_fd >= 0)
		close(s.netns_fd);
}

/* In a child process: a new netns, join CGROUP, load and attach everything. Exit code: failures. */
static int trial_child(const struct sc_features *f, const char *cgroup)
{
	char procs[PATH_MAX + 16], pid[32];
	struct sidecap_bpf *skel;
	int cgroup_fd, fd;

	report(!unshare(CLONE_NEWNET), "a throwaway network namespace", strerror(errno));
	if (failures)
		return failures;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	report(fd >= 0 && write(fd, pid, strlen(pid)) > 0, "join a throwaway child cgroup",
	       strerror(errno));
	if (fd >= 0)
		close(fd);
	cgroup_fd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	skel = sidecap_bpf__open();
	if (skel)
		sc_set_level(skel, sc_features_full(f));
	report(skel && !sidecap_bpf__load(skel),
	       sc_features_full(f) ? "programs pass the verifier (full level)"
				   : "programs pass the verifier (5.10 level)",
	       "see the verifier log above");
	if (!failures && cgroup_fd >= 0) {
		trial_attach(skel, f, cgroup_fd);
		trial_scan(skel, cgroup_fd, 15006);
	}
	sidecap_bpf__destroy(skel);
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	return failures;
}

/* Fork the trial into a throwaway child cgroup (never the root) and remove it after. */
static void check_trial(const struct sc_features *f, const char *cg)
{
	char cgroup[PATH_MAX];
	int st, i;
	pid_t pid;

	snprintf(cgroup, sizeof(cgroup), "%s/sidecap-check-%d", cg, (int)getpid());
	if (mkdir(cgroup, 0755)) {
		printf("%-52s not tried: %s (cgroup2 read-only here? run check where `run` "
		       "runs)\n",
		       "load and attach in a throwaway cgroup", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(trial_child(f, cgroup) ? 1 : 0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
	/* The child is gone, and with it its netns, links and programs. */
	for (i = 0; i < 100 && rmdir(cgroup) && errno == EBUSY; i++)
		usleep(10000);
}

int sc_cmd_check(int argc, char **argv)
{
	const char *cg = sc_cgroup2_mount();
	struct sc_features f;
	struct statfs sfs;
	bool priv = sc_check_privileges() == 0;
	bool iptables = check_iptables();
	int before;

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
	sc_features_probe(&f);
	before = failures;
	if (cg)
		check_trial(&f, cg);
	printf("kernel features beyond Linux 5.10 (the floor):\n");
	sc_features_print(&f, stdout);
	if (failures > before)
		printf("mode: ebpf does not work on this kernel as tried above; mode: iptables is "
		       "the fallback%s\n",
		       iptables ? " (its tools are present)"
				: " once the iptables tools above are installed");
	printf("modes: ebpf %s, iptables %s\n", failures > before ? "MISSING" : "ok",
	       iptables ? "ok" : "MISSING");
	printf("%s\n", failures ? "check: something is missing (see above)" : "check: all ok");
	return failures ? 1 : 0;
}
