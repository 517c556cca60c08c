// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "kernel_features.h"
#include "sidecap.h"

struct tpod P;

static const char *cgroup2_mount(void)
{
	static char mnt[PATH_MAX];
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "re");

	if (!f)
		return NULL;
	mnt[0] = '\0';
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(mnt, sizeof(mnt), "%s", dir);
			break;
		}
	fclose(f);
	return mnt[0] ? mnt : NULL;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Kernel tests must run in CI (REQUIRE_BPF=1) and fail there when they cannot. */
static void require(bool ok, const char *what)
{
	const char *req = getenv("REQUIRE_BPF");

	if (ok)
		return;
	if (req && !strcmp(req, "1"))
		cr_assert_fail("cannot run kernel tests: %s (REQUIRE_BPF=1)", what);
	cr_skip_test("cannot run kernel tests: %s (set REQUIRE_BPF=1 to fail instead)", what);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/*
 * Namespaces NS and RNS joined by a veth (VP in NS, VR in RNS, each suffixed with our pid):
 * NS holds the pod's addresses, RNS the remote host's.
 */
/*
 * Run the newline-separated ip(8) commands of FMT in one `ip -force -batch -`, inside network
 * namespace NS when not NULL; stderr is dropped when QUIET. One process instead of one shell and
 * one ip per command: under an emulated kernel each exec costs about half a second.
 */
static int ip_batch(const char *ns, bool quiet, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int ip_batch(const char *ns, bool quiet, const char *fmt, ...)
{
	char cmds[2048];
	int fds[2], st, null;
	size_t off = 0, len;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmds, sizeof(cmds), fmt, ap);
	va_end(ap);
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 0);
		if (quiet && (null = open("/dev/null", O_WRONLY)) >= 0)
			dup2(null, 2);
		if (ns)
			execlp("ip", "ip", "-force", "-n", ns, "-batch", "-", (char *)NULL);
		else
			execlp("ip", "ip", "-force", "-batch", "-", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	len = strlen(cmds);
	while (pid > 0 && off < len && (n = write(fds[1], cmds + off, len - off)) > 0)
		off += n;
	close(fds[1]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void make_netns_pair(const char *ns, const char *rns, const char *vp, const char *vr)
{
	int pid = getpid();

	cr_assert_eq(ip_batch(NULL, false,
			      "netns add %s\nnetns add %s\n"
			      "link add %s%d netns %s type veth peer name %s%d netns %s\n",
			      ns, rns, vp, pid, ns, vr, pid, rns),
		     0);
	cr_assert_eq(ip_batch(ns, false,
			      "link set lo up\naddr add " T_POD_ADDR4 "/24 dev %s%d\n"
			      "addr add " T_POD_ADDR6 "/64 dev %s%d nodad\nlink set %s%d up\n",
			      vp, pid, vp, pid, vp, pid),
		     0);
	cr_assert_eq(ip_batch(rns, false,
			      "link set lo up\naddr add " T_REMOTE_ADDR4 "/24 dev %s%d\n"
			      "addr add " T_REMOTE_ADDR6 "/64 dev %s%d nodad\nlink set %s%d up\n",
			      vr, pid, vr, pid, vr, pid),
		     0);
}

void tpod_setup(void)
{
	const char *cg = cgroup2_mount();
	int pid = getpid();

	require(geteuid() == 0, "not root");
	require(cg != NULL, "no cgroup2 mount");
	require(access(T_BUILD "/interceptor", X_OK) == 0, "build/interceptor not built");

	memset(&P, 0, sizeof(P));
	snprintf(P.id, sizeof(P.id), "t%d", pid);
	snprintf(P.dir, sizeof(P.dir), T_ROOT "/%s", P.id);
	snprintf(P.ns, sizeof(P.ns), "sct-%d-pod", pid);
	snprintf(P.rns, sizeof(P.rns), "sct-%d-rem", pid);
	snprintf(P.cgroup, sizeof(P.cgroup), "%s/sidecap-test/%s", cg, P.id);
	snprintf(P.bpffs, sizeof(P.bpffs), "%s/bpf", P.dir);
	snprintf(P.pin_path, sizeof(P.pin_path), "%s/pod", P.bpffs);
	snprintf(P.config, sizeof(P.config), "%s/mesh.yaml", P.dir);

	mkdir(T_ROOT, 0755);
	cr_assert_eq(mkdir(P.dir, 0755), 0, "mkdir %s: %s", P.dir, strerror(errno));
	P.up = true;
	/* proxy-stub drops to uid 1337 before it writes its ready file. */
	cr_assert_eq(sh("mkdir -m 1777 %s/run", P.dir), 0);
	make_netns_pair(P.ns, P.rns, "scp", "scr");
	{
		char parent[PATH_MAX];

		snprintf(parent, sizeof(parent), "%s/sidecap-test", cg);
		mkdir(parent, 0755);
	}
	cr_assert(mkdir(P.cgroup, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", P.cgroup,
		  strerror(errno));
	cr_assert_eq(mkdir(P.bpffs, 0700), 0);
	cr_assert_eq(mount("bpf", P.bpffs, "bpf", 0, "mode=0700"), 0, "mount bpffs: %s",
		     strerror(errno));
	tpod_write_config("");
}

int tpod_kill(pid_t pid, int sig)
{
	int st = 0, i;

	if (pid <= 0)
		return -1;
	kill(pid, sig ? sig : SIGKILL);
	for (i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return st;
}

const char *tpod_daemon_log(void)
{
	static char text[8192];
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/daemon.log", P.dir);
	return t_read_file(path, text, sizeof(text));
}

pid_t tpod_start_pausing_at(const char *stage, char *ready, size_t len)
{
	char log[PATH_MAX];
	char *argv[] = {T_BUILD "/interceptor", "run", "--config", P.config,
			"--ready-file",		ready, NULL};
	pid_t pid;

	snprintf(ready, len, "%s/daemon.ready", P.dir);
	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	cr_assert_eq(setenv("SIDECAP_TEST_PAUSE", stage, 1), 0);
	pid = tpod_spawn_at(NULL, NULL, 0, log, argv);
	unsetenv("SIDECAP_TEST_PAUSE");
	return pid;
}

void tpod_wait_stopped(pid_t pid, const char *stage)
{
	int st = 0, i;

	for (i = 0; i < 1000; i++) {
		if (waitpid(pid, &st, WNOHANG | WUNTRACED) == pid)
			break;
		usleep(10000);
	}
	cr_assert(i < 1000 && WIFSTOPPED(st), "the daemon did not stop at %s (status %d):\n%s",
		  stage, st, tpod_daemon_log());
}

pid_t tpod_start_paused(const char *stage, char *ready, size_t len)
{
	pid_t pid = tpod_start_pausing_at(stage, ready, len);

	tpod_wait_stopped(pid, stage);
	return pid;
}

int tpod_wait_exit(pid_t pid)
{
	int st = 0, i;

	for (i = 0; i < 1000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	cr_assert_fail("no exit 10 s after the signal:\n%s", tpod_daemon_log());
	return -1;
}

int tpod_signal_stopped(pid_t pid, int sig)
{
	cr_assert_eq(kill(pid, sig), 0);
	cr_assert_eq(kill(pid, SIGCONT), 0);
	return tpod_wait_exit(pid);
}

int tpod_signal_at_detach(pid_t pid, int sig)
{
	cr_assert_eq(kill(pid, SIGTERM), 0);
	tpod_wait_stopped(pid, "detach");
	return tpod_signal_stopped(pid, sig);
}

void tpod_assert_exit0(int st, int sig, const char *stage)
{
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s at %s: status %d:\n%s",
		  strsignal(sig), stage, st, tpod_daemon_log());
}

/* SIGKILL every process listed in CGROUP's cgroup.procs: cgroup.kill came in Linux 5.14. */
static void kill_cgroup_procs(const char *cgroup)
{
	char path[PATH_MAX];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 1)
			kill(pid, SIGKILL);
	fclose(f);
}

/* Kill whatever is left in CGROUP, then remove it. */
static void remove_cgroup(const char *cgroup)
{
	char path[PATH_MAX];
	bool has_kill;
	int i;

	if (access(cgroup, F_OK))
		return;
	snprintf(path, sizeof(path), "%s/cgroup.kill", cgroup);
	has_kill = access(path, F_OK) == 0;
	if (has_kill)
		write_file(path, "1");
	for (i = 0; i < 100 && rmdir(cgroup) && errno == EBUSY; i++) {
		if (!has_kill)
			kill_cgroup_procs(cgroup);
		usleep(20000);
	}
}

void tpod_teardown(void)
{
	char path[PATH_MAX];
	int i;

	if (!P.up)
		return;
	if (P.daemon > 0)
		tpod_kill(P.daemon, SIGTERM);
	for (i = 0; i < P.npeers; i++)
		if (P.peers[i].daemon > 0)
			tpod_kill(P.peers[i].daemon, SIGTERM);
	for (i = P.npids - 1; i >= 0; i--)
		if (P.pids[i] > 0 && P.pids[i] != P.daemon && kill(P.pids[i], 0) == 0)
			tpod_kill(P.pids[i], SIGKILL);
	/* Anything else a test left in the pods' cgroups. */
	for (i = 0; i < P.npeers; i++)
		remove_cgroup(P.peers[i].cgroup);
	for (i = 0; i < P.nsubcg; i++)
		remove_cgroup(P.subcg[i]);
	remove_cgroup(P.cgroup);
	/* The parent is shared by concurrent tests: the last one out removes it. */
	snprintf(path, sizeof(path), "%s", P.cgroup);
	*strrchr(path, '/') = '\0';
	rmdir(path);
	umount2(P.bpffs, MNT_DETACH);
	{
		char cmds[1024];
		size_t off;

		off = snprintf(cmds, sizeof(cmds), "netns del %s\nnetns del %s\n", P.ns, P.rns);
		for (i = 0; i < P.nxns && off < sizeof(cmds); i++)
			off += snprintf(cmds + off, sizeof(cmds) - off, "netns del %s\n", P.xns[i]);
		ip_batch(NULL, true, "%s", cmds);
	}
	sh("rm -rf %s", P.dir);
	P.up = false;
}

void tpod_write_config(const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "cgroup: %s\npinPath: %s\n%s", P.cgroup, P.pin_path, extra);
	write_file(P.config, text);
}

void tpod_write_config_inbound(const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "netns: /run/netns/%s\n%s", P.ns, extra);
	tpod_write_config(text);
}

static void enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		perror(path);
		_exit(127);
	}
	close(fd);
}

static void join_cgroup(const char *cgroup)
{
	char path[PATH_MAX], buf[32];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
	fd = open(path, O_WRONLY);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
		perror(path);
		_exit(127);
	}
	close(fd);
}

/* fork(); the child joins CGROUP, then NS, sends its output to LOG, and drops to the proxy's
 * uid if FLAGS say so. The parent records the child for teardown and for tests/run. */
static pid_t fork_at(const char *ns, const char *cgroup, int flags, const char *log)
{
	char path[PATH_MAX];
	pid_t pid;

	fflush(NULL);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (cgroup)
			join_cgroup(cgroup);
		if (ns)
			enter_netns(ns);
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (fd < 0)
				_exit(127);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (flags & T_UID_PROXY) {
			if (setgroups(0, NULL) || setgid(1337) || setuid(1337))
				_exit(127);
		}
		return 0;
	}
	if (P.npids < T_MAX_PIDS)
		P.pids[P.npids++] = pid;
	snprintf(path, sizeof(path), "%s/pids", P.dir);
	{
		FILE *f = fopen(path, "ae");

		if (f) {
			fprintf(f, "%d\n", pid);
			fclose(f);
		}
	}
	return pid;
}

pid_t tpod_fork_at(const char *ns, const char *cgroup, int flags)
{
	return fork_at(ns, cgroup, flags, NULL);
}

pid_t tpod_spawn_at(const char *ns, const char *cgroup, int flags, const char *log,
		    char *const argv[])
{
	pid_t pid = fork_at(ns, cgroup, flags, log);

	if (pid == 0) {
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return pid;
}

pid_t tpod_spawn(int flags, const char *log, char *const argv[])
{
	const char *ns = (flags & T_POD) ? P.ns : (flags & T_REMOTE) ? P.rns : NULL;

	return tpod_spawn_at(ns, (flags & T_CGROUP) ? P.cgroup : NULL, flags, log, argv);
}

static char *slurp(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;

	out[0] = '\0';
	if (!f)
		return out;
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

int tpod_run(int flags, char *out, size_t outlen, int timeout_ms, char *const argv[])
{
	static int seq;
	char log[PATH_MAX];
	pid_t pid;
	int st, waited;

	snprintf(log, sizeof(log), "%s/run-%d.out", P.dir, seq++);
	pid = tpod_spawn(flags, log, argv);
	for (waited = 0; waited < timeout_ms; waited += 5) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			slurp(log, out, outlen);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(5000);
	}
	tpod_kill(pid, SIGKILL);
	slurp(log, out, outlen);
	return -1;
}

bool tpod_wait_file(const char *file, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (access(file, F_OK) == 0)
			return true;
		usleep(10000);
	}
	return false;
}

static void assert_ready(pid_t pid, const char *ready, const char *log, const char *what)
{
	char text[4096];
	int st;

	if (tpod_wait_file(ready, 10000))
		return;
	if (waitpid(pid, &st, WNOHANG) == pid)
		cr_assert_fail("%s exited before it was ready:\n%s", what,
			       slurp(log, text, sizeof(text)));
	cr_assert_fail("%s not ready after 10 s:\n%s", what, slurp(log, text, sizeof(text)));
}

/* interceptor run on CONFIG with EXTRA arguments, in the host namespace; files named after NAME
 * in P.dir. */
static pid_t start_daemon_with(const char *config, const char *name, const char *const extra[])
{
	char ready[PATH_MAX], log[PATH_MAX];
	char *argv[32] = {T_BUILD "/interceptor", "run",	  "--config",
			  (char *)config,	  "--ready-file", ready};
	int n = 6;
	pid_t pid;

	while (extra && *extra && n < 30)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	snprintf(ready, sizeof(ready), "%s/%s.ready", P.dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", P.dir, name);
	unlink(ready);
	pid = tpod_spawn_at(NULL, NULL, 0, log, argv);
	assert_ready(pid, ready, log, "interceptor run");
	return pid;
}

static pid_t start_daemon(const char *config, const char *name)
{
	return start_daemon_with(config, name, NULL);
}

pid_t tpod_start_daemon(void)
{
	P.daemon = start_daemon(P.config, "daemon");
	return P.daemon;
}

pid_t tpod_start_daemon_with(const char *const extra[])
{
	P.daemon = start_daemon_with(P.config, "daemon", extra);
	return P.daemon;
}

/* proxy-stub as uid 1337 in NS and CGROUP; its files named after NAME. */
static pid_t start_proxy(const char *ns, const char *cgroup, const char *name,
			 const char *const extra[])
{
	char ready[PATH_MAX], log[PATH_MAX];
	char *argv[32] = {T_BUILD "/proxy-stub", "--user", "1337", "--log", "--ready-file", ready};
	int n = 6;
	pid_t pid;

	while (extra && *extra && n < 30)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	snprintf(ready, sizeof(ready), "%s/run/%s.ready", P.dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", P.dir, name);
	unlink(ready);
	pid = tpod_spawn_at(ns, cgroup, 0, log, argv);
	assert_ready(pid, ready, log, "proxy-stub");
	return pid;
}

pid_t tpod_start_proxy_with(const char *const extra[])
{
	P.proxy = start_proxy(P.ns, P.cgroup, "proxy", extra);
	return P.proxy;
}

pid_t tpod_start_proxy(void)
{
	return tpod_start_proxy_with(NULL);
}

static pid_t start_server_at(const char *ns, const char *cgroup, const char *addr, const char *port,
			     const char *const extra[])
{
	static int seq;
	char ready[PATH_MAX], log[PATH_MAX];
	char *argv[32] = {T_BUILD "/tcptool", "server", (char *)addr, (char *)port,
			  "--ready-file",     ready,	"--report"};
	int n = 7;
	pid_t pid;

	while (extra && *extra && n < 30)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	snprintf(ready, sizeof(ready), "%s/run/server-%d.ready", P.dir, seq);
	snprintf(log, sizeof(log), "%s/server-%d.log", P.dir, seq++);
	pid = tpod_spawn_at(ns, cgroup, 0, log, argv);
	assert_ready(pid, ready, log, "tcptool server");
	return pid;
}

pid_t tpod_start_server(int flags, const char *addr, const char *port, const char *const extra[])
{
	const char *ns = (flags & T_POD) ? P.ns : (flags & T_REMOTE) ? P.rns : NULL;

	return start_server_at(ns, (flags & T_CGROUP) ? P.cgroup : NULL, addr, port, extra);
}

static bool our_netns(const char *ns)
{
	int i;

	if (!strcmp(ns, P.ns) || !strcmp(ns, P.rns))
		return true;
	for (i = 0; i < P.nxns; i++)
		if (!strcmp(ns, P.xns[i]))
			return true;
	return false;
}

void tpod_add_netns_pair(char *ns, char *rns)
{
	int n = 2 + P.nxns / 2;
	char vp[16], vr[16];

	cr_assert_leq(P.nxns + 2, T_MAX_NETNS, "too many namespaces");
	snprintf(ns, 64, "sct-%d-pod%d", getpid(), n);
	snprintf(rns, 64, "sct-%d-rem%d", getpid(), n);
	snprintf(vp, sizeof(vp), "sc%dp", n);
	snprintf(vr, sizeof(vr), "sc%dr", n);
	/* Recorded first, so that teardown removes whatever part of them was made. */
	snprintf(P.xns[P.nxns++], sizeof(P.xns[0]), "%s", ns);
	snprintf(P.xns[P.nxns++], sizeof(P.xns[0]), "%s", rns);
	make_netns_pair(ns, rns, vp, vr);
}

void tpod_netns_sysctl(const char *ns, const char *key, const char *value)
{
	char path[PATH_MAX], *p;
	pid_t pid;
	int st;

	cr_assert(our_netns(ns), "%s is not a namespace of this test", ns);
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	pid = tpod_fork_at(ns, NULL, 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CLOEXEC);

		_exit(fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sysctl %s=%s in %s failed", key, value,
		  ns);
}

const char *tpod_container_cgroup(const char *name)
{
	char *cg;

	cr_assert_lt(P.nsubcg, 4, "too many container cgroups");
	cg = P.subcg[P.nsubcg];
	snprintf(cg, PATH_MAX, "%s/%s", P.cgroup, name);
	cr_assert(mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg, strerror(errno));
	P.nsubcg++;
	return cg;
}

struct tpeer *tpod_add_peer(const char *name, const char *ns)
{
	struct tpeer *q;
	char parent[PATH_MAX], id[sizeof(P.id)];

	cr_assert_lt(P.npeers, T_MAX_PEERS, "too many pods");
	cr_assert(our_netns(ns), "%s is not a namespace of this test", ns);
	q = &P.peers[P.npeers];
	memset(q, 0, sizeof(*q));
	snprintf(q->name, sizeof(q->name), "%s", name);
	snprintf(q->ns, sizeof(q->ns), "%s", ns);
	/* A sibling of P's cgroup, so that tests/run removes it after a crash. */
	snprintf(parent, sizeof(parent), "%s", P.cgroup);
	*strrchr(parent, '/') = '\0';
	memcpy(id, P.id, sizeof(id));
	snprintf(q->cgroup, sizeof(q->cgroup), "%s/%s-%s", parent, id, name);
	snprintf(q->pin_path, sizeof(q->pin_path), "%s/%s", P.bpffs, name);
	snprintf(q->config, sizeof(q->config), "%s/%s.yaml", P.dir, name);
	cr_assert(mkdir(q->cgroup, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", q->cgroup,
		  strerror(errno));
	P.npeers++;
	return q;
}

void tpeer_write_config(struct tpeer *q, const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "cgroup: %s\npinPath: %s\nnetns: /run/netns/%s\n%s", q->cgroup,
		 q->pin_path, q->ns, extra);
	write_file(q->config, text);
}

void tpeer_remove_cgroup(struct tpeer *q)
{
	remove_cgroup(q->cgroup);
	cr_assert_neq(access(q->cgroup, F_OK), 0, "%s is still there", q->cgroup);
}

pid_t tpeer_start_daemon(struct tpeer *q)
{
	return tpeer_start_daemon_with(q, NULL);
}

pid_t tpeer_start_daemon_with(struct tpeer *q, const char *const extra[])
{
	char name[64];

	snprintf(name, sizeof(name), "%s-daemon", q->name);
	q->daemon = start_daemon_with(q->config, name, extra);
	return q->daemon;
}

pid_t tpeer_start_proxy_with(struct tpeer *q, const char *const extra[])
{
	char name[64];

	snprintf(name, sizeof(name), "%s-proxy", q->name);
	q->proxy = start_proxy(q->ns, q->cgroup, name, extra);
	return q->proxy;
}

pid_t tpeer_start_server(struct tpeer *q, int flags, const char *addr, const char *port,
			 const char *const extra[])
{
	return start_server_at(q->ns, (flags & T_CGROUP) ? q->cgroup : NULL, addr, port, extra);
}

int tpeer_proxy_lines(const struct tpeer *q, const char *needle)
{
	char log[PATH_MAX];

	snprintf(log, sizeof(log), "%s/%s-proxy.log", P.dir, q->name);
	return file_count(log, needle);
}

static int open_pinned_at(const char *pin_path, const char *map)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/maps/%s", pin_path, map);
	return bpf_obj_get(path);
}

int tpod_open_pinned(const char *map)
{
	return open_pinned_at(P.pin_path, map);
}

const char *tpod_node_dir(void)
{
	static char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/" SC_NODE_DIR, P.bpffs);
	return dir;
}

static int open_node(const char *map)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/maps/%s", tpod_node_dir(), map);
	return bpf_obj_get(path);
}

/* KEY of per-CPU array FD, summed over CPUs; closes FD. */
static uint64_t percpu_sum(int fd, __u32 key)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	__u64 vals[ncpu > 0 ? ncpu : 1], sum = 0;

	cr_assert_eq(bpf_map_lookup_elem(fd, &key, vals), 0);
	close(fd);
	for (cpu = 0; cpu < ncpu; cpu++)
		sum += vals[cpu];
	return sum;
}

/* Number of keys in map FD; closes FD. */
static long count_keys(int fd)
{
	char key[128], next[128];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	void *prev = NULL;
	long n = 0;

	memset(&info, 0, sizeof(info));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	cr_assert_leq(info.key_size, sizeof(key));
	while (bpf_map_get_next_key(fd, prev, next) == 0 && n < 10000000) {
		memcpy(key, next, info.key_size);
		prev = key;
		n++;
	}
	close(fd);
	return n;
}

uint64_t tpod_counter(int counter)
{
	int fd = tpod_open_pinned(SC_MAP_STATS);

	cr_assert_geq(fd, 0, "sc_stats not pinned under %s", P.pin_path);
	return percpu_sum(fd, counter);
}

uint64_t tpeer_counter(const struct tpeer *q, int counter)
{
	int fd = open_pinned_at(q->pin_path, SC_MAP_STATS);

	cr_assert_geq(fd, 0, "sc_stats not pinned under %s", q->pin_path);
	return percpu_sum(fd, counter);
}

uint64_t tpod_node_counter(int counter)
{
	int fd = open_node(SC_MAP_XSTATS);

	cr_assert_geq(fd, 0, SC_MAP_XSTATS " not pinned under %s", tpod_node_dir());
	return percpu_sum(fd, counter);
}

uint32_t tpod_map_id(const char *map)
{
	int fd = tpod_open_pinned(map);
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	cr_assert_geq(fd, 0, "%s not pinned under %s", map, P.pin_path);
	memset(&info, 0, sizeof(info));
	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

long tpod_map_entries(const char *map)
{
	int fd = tpod_open_pinned(map);

	cr_assert_geq(fd, 0, "%s not pinned under %s", map, P.pin_path);
	return count_keys(fd);
}

long tpod_node_map_entries(const char *map)
{
	int fd = open_node(map);

	cr_assert_geq(fd, 0, "%s not pinned under %s", map, tpod_node_dir());
	return count_keys(fd);
}

const char *kv(const char *line, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	const char *p = line;

	while (p && *p) {
		if ((p == line || p[-1] == ' ') && !strncmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;
			size_t n = strcspn(v, " \n");

			if (n >= len)
				n = len - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = strpbrk(p + 1, " ");
		if (p)
			p++;
	}
	return NULL;
}

const char *line_with(const char *text, const char *prefix, char *buf, size_t len)
{
	const char *p = text;
	size_t plen = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, plen)) {
			size_t n = strcspn(p, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return buf;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

const char *t_read_file(const char *path, char *buf, size_t len)
{
	return slurp(path, buf, len);
}

int file_count(const char *path, const char *needle)
{
	char line[4096];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static const char *t_vclient_text(int flags, const char *addr, const char *port, va_list ap)
{
	char *argv[32] = {T_BUILD "/tcptool", "client", (char *)addr, (char *)port};
	static char text[64 * 1024];
	const char *a;
	int n = 4, rc;

	while ((a = va_arg(ap, const char *)) && n < 30)
		argv[n++] = (char *)a;
	argv[n] = NULL;
	rc = tpod_run(flags, text, sizeof(text), 150000, argv);
	cr_assert_eq(rc, 0, "tcptool client %s %s exited %d:\n%s", addr, port, rc, text);
	return text;
}

const char *t_client_text(int flags, const char *addr, const char *port, ...)
{
	const char *text;
	va_list ap;

	va_start(ap, port);
	text = t_vclient_text(flags, addr, port, ap);
	va_end(ap);
	return text;
}

char *t_client(int flags, char *out, const char *addr, const char *port, ...)
{
	const char *text;
	va_list ap;

	va_start(ap, port);
	text = t_vclient_text(flags, addr, port, ap);
	va_end(ap);
	if (!line_with(text, "conn ", out, 1024))
		cr_assert_not_null(line_with(text, "summary ", out, 1024), "no result in:\n%s",
				   text);
	return out;
}

void t_assert_intact(const char *line, const char *bytes)
{
	char a[128], b[128];

	cr_assert_str_eq(kv(line, "result", a, sizeof(a)), "ok", "%s", line);
	cr_assert_str_eq(kv(line, "sent", a, sizeof(a)), bytes, "%s", line);
	cr_assert_str_eq(kv(line, "recv", b, sizeof(b)), bytes, "%s", line);
	cr_assert_str_eq(kv(line, "sha_out", a, sizeof(a)), kv(line, "sha_in", b, sizeof(b)),
			 "echoed bytes differ: %s", line);
}

int t_proxy_lines(const char *needle)
{
	char log[PATH_MAX];

	snprintf(log, sizeof(log), "%s/proxy.log", P.dir);
	return file_count(log, needle);
}

void t_wait_proxy_lines(const char *needle, int n)
{
	int i;

	for (i = 0; i < 500 && t_proxy_lines(needle) < n; i++)
		usleep(10000);
	cr_assert_eq(t_proxy_lines(needle), n, "proxy-stub log lines with '%s'", needle);
}

const char *t_server_report(int n, char *buf, size_t len, int timeout_ms)
{
	char path[PATH_MAX], line[1024];
	FILE *f;
	int waited;

	snprintf(path, sizeof(path), "%s/server-%d.log", P.dir, n);
	buf[0] = '\0';
	for (waited = 0; waited < timeout_ms && !buf[0]; waited += 10) {
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "conn ", 5))
				snprintf(buf, len, "%s", line);
		if (f)
			fclose(f);
		if (!buf[0])
			usleep(10000);
	}
	cr_assert(buf[0], "no report from server %d after %d ms", n, timeout_ms);
	return buf;
}

void tpod_nat(const char *tool, const char *args)
{
	cr_assert(P.up && P.ns[0], "no pod netns");
	cr_assert_eq(sh("ip netns exec %s %s -w -t nat %s", P.ns, tool, args), 0,
		     "%s -t nat %s failed in %s", tool, args, P.ns);
}

/* Below the ephemeral ports (32768 up, Linux's default), which a connection of this or another
 * test may hold on loopback when the daemon binds; and above the proxy's 15xxx ports. */
int t_metrics_port(void)
{
	return 16000 + getpid() % 16000;
}

int t_http_get(int port, const char *path, char *out, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	char req[256];
	size_t n = 0;
	ssize_t r;
	int fd, status = -1;
	char *body;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (void *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return -1;
	}
	while (n + 1 < len && (r = read(fd, out + n, len - 1 - n)) > 0)
		n += r;
	out[n] = '\0';
	close(fd);
	sscanf(out, "HTTP/1.%*d %d", &status);
	body = strstr(out, "\r\n\r\n");
	if (body)
		memmove(out, body + 4, strlen(body + 4) + 1);
	return status;
}

int t_promcheck(const char *text, char *err, size_t len)
{
	char in[PATH_MAX], cmd[PATH_MAX * 2 + 64];
	FILE *f;
	int st;

	snprintf(in, sizeof(in), "%s/metrics.txt", P.dir);
	f = fopen(in, "we");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), T_BUILD "/promcheck < %s 2>&1", in);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	len = fread(err, 1, len - 1, f);
	err[len] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double t_metric(const char *text, const char *name, const char *labels)
{
	char want[512];
	const char *p = text;
	size_t wl;

	if (labels && *labels)
		snprintf(want, sizeof(want), "%s{%s} ", name, labels);
	else
		snprintf(want, sizeof(want), "%s ", name);
	wl = strlen(want);
	while (p && *p) {
		if (!strncmp(p, want, wl))
			return strtod(p + wl, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

unsigned int tpod_generation(void)
{
	struct sc_state st = {0};
	__u32 zero = 0;
	int fd = tpod_open_pinned(SC_MAP_STATE);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bpf_map_lookup_elem(fd, &zero, &st), 0);
	close(fd);
	return st.generation;
}

/* A listener of PID on port 15001 at ADDR_HEX, as /proc/<pid>/net/tcp{,6} shows it (state 0A). */
static bool listens(pid_t pid, const char *file, const char *addr_hex)
{
	char path[PATH_MAX], want[80], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, file);
	snprintf(want, sizeof(want), "%s:3A99 %s:0000 0A", addr_hex,
		 strlen(addr_hex) == 8 ? "00000000" : "00000000000000000000000000000000");
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	if (f)
		fclose(f);
	return found;
}

/*
 * HAProxy as the sidecar: uid 1337 in the pod's netns and cgroup, in the foreground (-db) so it
 * is ended by PID. "server s 0.0.0.0:0" forwards to the connection's original destination, which
 * HAProxy reads with SO_ORIGINAL_DST. Ready when both listeners show in its netns: a probe
 * connection would not do, as HAProxy would forward it to itself.
 */
pid_t tpod_start_haproxy(void)
{
	char cfg[PATH_MAX], log[PATH_MAX], text[4096];
	char *argv[] = {"/usr/sbin/haproxy", "-f", cfg, "-db", NULL};
	FILE *f;
	pid_t pid;
	int i, st;

	snprintf(cfg, sizeof(cfg), "%s/haproxy.cfg", P.dir);
	snprintf(log, sizeof(log), "%s/haproxy.log", P.dir);
	f = fopen(cfg, "we");
	cr_assert_not_null(f);
	fputs("global\n"
	      "\tmaxconn 256\n"
	      "\tlog stdout format raw local0\n"
	      "defaults\n"
	      "\tmode tcp\n"
	      "\tlog global\n"
	      "\tlog-format \"hap client=%ci:%cp server=%si:%sp up=%U down=%B\"\n"
	      "\ttimeout connect 5s\n"
	      "\ttimeout client 60s\n"
	      "\ttimeout server 60s\n"
	      "listen out\n"
	      "\tbind 127.0.0.1:15001\n"
	      "\tbind [::1]:15001\n"
	      "\tserver s 0.0.0.0:0\n",
	      f);
	fclose(f);
	pid = tpod_spawn(T_POD | T_CGROUP | T_UID_PROXY, log, argv);
	for (i = 0; i < 1000; i++) {
		if (listens(pid, "tcp", "0100007F") &&
		    listens(pid, "tcp6", "00000000000000000000000001000000"))
			return pid;
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(10000);
	}
	f = fopen(log, "re");
	text[0] = '\0';
	if (f) {
		text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
		fclose(f);
	}
	cr_assert_fail("haproxy is not listening on 15001:\n%s", text);
	return -1;
}

/* HAProxy logs a connection (to its stdout, our log file) once it has ended. */
void t_assert_haproxy_logged(const char *conn)
{
	char log[PATH_MAX], want[256], local[128];
	int i;

	snprintf(log, sizeof(log), "%s/haproxy.log", P.dir);
	cr_assert_not_null(kv(conn, "local", local, sizeof(local)), "%s", conn);
	snprintf(want, sizeof(want),
		 "hap client=%s server=" T_REMOTE_ADDR4 ":8080 up=1048576 down=1048576\n", local);
	for (i = 0; i < 300 && file_count(log, want) < 1; i++)
		usleep(10000);
	cr_assert_eq(file_count(log, want), 1, "no '%s' in %s", want, log);
}

unsigned int t_scaled(unsigned int n)
{
	const char *env = getenv("SIDECAP_TEST_SCALE");
	unsigned long pct = 100, r;
	char *end;

	if (env && *env) {
		pct = strtoul(env, &end, 10);
		cr_assert(*end == 0 && pct >= 1 && pct <= 100,
			  "SIDECAP_TEST_SCALE=%s: give a percentage from 1 to 100", env);
	}
	r = (unsigned long)n * pct / 100;
	return r ? r : 1;
}

const char *t_scaled_str(unsigned int n)
{
	static char bufs[4][16];
	static unsigned int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%u", t_scaled(n));
	return b;
}

static const struct {
	const char *field, *name, *version;
	size_t offset;
} t_features[] = {
#define T_FEATURE(field, name, version, without) {#field, name, version, offsetof(struct sc_features, field)},
	SC_FEATURES(T_FEATURE)
#undef T_FEATURE
};

bool t_have(const char *feature)
{
	struct sc_features f;
	size_t i;

	for (i = 0; i < sizeof(t_features) / sizeof(t_features[0]); i++)
		if (!strcmp(t_features[i].field, feature))
			break;
	cr_assert_lt(i, sizeof(t_features) / sizeof(t_features[0]), "no kernel feature %s",
		     feature);
	cr_assert_eq(sc_features_probe(&f), 0, "probing the kernel's features");
	return *(bool *)((char *)&f + t_features[i].offset);
}

void t_need(const char *feature)
{
	size_t i;

	if (t_have(feature))
		return;
	for (i = 0; strcmp(t_features[i].field, feature); i++)
		;
	cr_skip_test("needs Linux %s (%s)", t_features[i].version, t_features[i].name);
}

/*
 * Our programs attached to the pod's cgroup (0 when none), asked of the kernel for each attach
 * type the daemon uses. Not parsed from `bpftool cgroup show`: under Debian 11's 5.10 this
 * machine's bpftool listed none of them while they were attached and intercepting.
 */
int tpod_attached_programs(void)
{
	static const enum bpf_attach_type types[] = {
		BPF_CGROUP_INET4_CONNECT,     BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_INET4_GETPEERNAME,
		BPF_CGROUP_INET6_GETPEERNAME, BPF_CGROUP_SOCK_OPS,	BPF_CGROUP_GETSOCKOPT,
		BPF_CGROUP_UDP4_SENDMSG,      BPF_CGROUP_UDP6_SENDMSG,	BPF_CGROUP_UDP4_RECVMSG,
		BPF_CGROUP_UDP6_RECVMSG,
	};
	struct bpf_prog_info info;
	__u32 ids[16], cnt, len, i, t;
	int cg, fd, n = 0;

	cg = open(P.cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(cg, 0, "%s: %s", P.cgroup, strerror(errno));
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		cnt = sizeof(ids) / sizeof(ids[0]);
		cr_assert_eq(bpf_prog_query(cg, types[t], 0, NULL, ids, &cnt), 0,
			     "querying attach type %d: %s", types[t], strerror(errno));
		for (i = 0; i < cnt; i++) {
			fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd < 0)
				continue;
			memset(&info, 0, sizeof(info));
			len = sizeof(info);
			if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "sc_", 3))
				n++;
			close(fd);
		}
	}
	close(cg);
	return n;
}
