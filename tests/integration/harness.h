/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Integration test harness. Each test gets its own pod: a network namespace with lo and a veth
 * to a second namespace (the "remote" host, 10.99.0.2 and fd00:99::2), a child cgroup, a private
 * bpffs for the pins (unmounting it frees whatever a crashed test left pinned), and a directory
 * for the config and the logs. Processes are started by PID into the pod's namespace and cgroup
 * with setns() + cgroup.procs, and ended by PID.
 */
#ifndef SC_HARNESS_H
#define SC_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <criterion/criterion.h>

#define T_ROOT	       "/run/sidecap-test"
#define T_POD_ADDR4    "10.99.0.1"
#define T_REMOTE_ADDR4 "10.99.0.2"
#define T_POD_ADDR6    "fd00:99::1"
#define T_REMOTE_ADDR6 "fd00:99::2"
#define T_MAX_PIDS     64
#define T_MAX_PEERS    4
#define T_MAX_NETNS    8

/* Where a spawned process runs. */
enum {
	T_POD = 1 << 0,	      /* the pod's network namespace */
	T_REMOTE = 1 << 1,    /* the remote host's network namespace */
	T_CGROUP = 1 << 2,    /* the pod's cgroup (intercepted) */
	T_UID_PROXY = 1 << 3, /* uid and gid 1337 */
};

/*
 * Another pod of the node beside P: its own child cgroup (a sibling of P's, under the same
 * parent), a network namespace of this test (P.rns, or one from tpod_add_netns_pair), its own
 * config and daemon, and pins in P's bpffs (pinPath <bpffs>/<name>) so that it shares the node
 * maps (<bpffs>/SC_NODE_DIR) with P.
 */
struct tpeer {
	char name[16];
	char ns[64];
	char cgroup[PATH_MAX];
	char pin_path[PATH_MAX];
	char config[PATH_MAX];
	pid_t daemon;
	pid_t proxy;
};

struct tpod {
	char id[32];
	char dir[PATH_MAX];
	char ns[64];
	char rns[64];
	char cgroup[PATH_MAX];
	char bpffs[PATH_MAX];
	char pin_path[PATH_MAX];
	char config[PATH_MAX];
	pid_t daemon;
	pid_t proxy;
	pid_t pids[T_MAX_PIDS];
	int npids;
	struct tpeer peers[T_MAX_PEERS];
	int npeers;
	char xns[T_MAX_NETNS][64]; /* namespaces made by tpod_add_netns_pair */
	int nxns;
	char subcg[4][PATH_MAX]; /* cgroups made below P.cgroup by tpod_container_cgroup */
	int nsubcg;
	bool up;
};

extern struct tpod P;

/* Criterion .init/.fini: build and tear down P. Fails (REQUIRE_BPF=1) or skips otherwise when
 * the machine cannot run kernel tests. */
void tpod_setup(void);
void tpod_teardown(void);

/* Write P.config: cgroup and pinPath of P, then EXTRA (YAML, may be ""). */
void tpod_write_config(const char *extra);
/* The same, adding `netns:` of the pod (inbound steering on). */
void tpod_write_config_inbound(const char *extra);

/* Start ARGV where FLAGS say, stdout+stderr to LOG (a file under P.dir, or NULL). */
pid_t tpod_spawn(int flags, const char *log, char *const argv[]);
/* The same in network namespace NS (NULL: the host's) and CGROUP (NULL: none); of FLAGS only
 * T_UID_PROXY counts. */
pid_t tpod_spawn_at(const char *ns, const char *cgroup, int flags, const char *log,
		    char *const argv[]);
/* fork() into NS and CGROUP as tpod_spawn_at does: 0 in the child, its PID (ended at teardown)
 * in the parent. */
pid_t tpod_fork_at(const char *ns, const char *cgroup, int flags);

/* Run ARGV to completion (at most TIMEOUT_MS); its stdout in OUT. Returns the exit status, or -1
 * on timeout (the process is killed). */
int tpod_run(int flags, char *out, size_t outlen, int timeout_ms, char *const argv[]);

/* Wait for FILE to exist (ready files), at most TIMEOUT_MS. */
bool tpod_wait_file(const char *file, int timeout_ms);

/* Kill one process we started, and reap it. SIG 0 means SIGKILL. Returns its wait status. */
int tpod_kill(pid_t pid, int sig);

/*
 * The daemon's test hook SIDECAP_TEST_PAUSE=STAGE stops it at STAGE (SIGSTOP): load, apply or
 * attach in the eBPF mode, apply (rules installed) in mode: iptables, detach in both (the
 * take-down). tpod_start_pausing_at starts `interceptor run` on P.config (written by the caller)
 * with the hook and --ready-file READY; tpod_start_paused also waits until it stopped there
 * (at most 10 s, or the test fails). tpod_wait_exit waits for PID's exit (at most 10 s) and
 * returns its wait status; tpod_daemon_log is the daemon's log, for failure messages.
 */
pid_t tpod_start_pausing_at(const char *stage, char *ready, size_t len);
pid_t tpod_start_paused(const char *stage, char *ready, size_t len);
void tpod_wait_stopped(pid_t pid, const char *stage);
int tpod_wait_exit(pid_t pid);
const char *tpod_daemon_log(void);
/* SIG to PID, stopped by the hook, then SIGCONT; PID's wait status once it exited. */
int tpod_signal_stopped(pid_t pid, int sig);
/* SIGTERM to PID, running and started to pause at detach; SIG once it stopped there, then
 * SIGCONT; its wait status once it exited. */
int tpod_signal_at_detach(pid_t pid, int sig);
/* ST, the wait status of a daemon that got SIG at STAGE, is a clean exit (0). */
void tpod_assert_exit0(int st, int sig, const char *stage);

/* The interceptor daemon on P.config, waited for until attached. */
pid_t tpod_start_daemon(void);
/* The same with more arguments to `interceptor run` (up to a NULL), e.g. --map-max. */
pid_t tpod_start_daemon_with(const char *const extra[]);
/* proxy-stub as uid 1337 in the pod (outbound 127.0.0.1:15001 and [::1]:15001, --log). */
pid_t tpod_start_proxy(void);
/* The same with more arguments (e.g. --inbound 0.0.0.0:15006). */
pid_t tpod_start_proxy_with(const char *const extra[]);
/* Unmodified HAProxy as the sidecar: uid 1337 in the pod, listening on 127.0.0.1:15001 and
 * [::1]:15001, "server s 0.0.0.0:0" (forwards to SO_ORIGINAL_DST); logs to P.dir/haproxy.log. */
pid_t tpod_start_haproxy(void);
/* HAProxy logged the 1 MiB echo of the client whose "conn" line is CONN, to the remote host. */
void t_assert_haproxy_logged(const char *conn);
/* tcptool server in the remote namespace (or the pod with T_POD|T_CGROUP) with extra args. */
pid_t tpod_start_server(int flags, const char *addr, const char *port, const char *const extra[]);

/* Run `TOOL -w -t nat ARGS` (iptables or ip6tables) in the pod's network namespace, never
 * anywhere else; it must succeed. */
void tpod_nat(const char *tool, const char *args);

/*
 * A second node-local pair of namespaces with P's addressing: NS (T_POD_ADDR4/6) and RNS
 * (T_REMOTE_ADDR4/6) on a veth of their own, removed at teardown. Names go into NS and RNS
 * (64 bytes each).
 */
void tpod_add_netns_pair(char *ns, char *rns);
/* Write VALUE to net sysctl KEY (e.g. "net.ipv4.ip_local_port_range") inside NS, one of this
 * test's namespaces (never anywhere else); it must succeed. */
void tpod_netns_sysctl(const char *ns, const char *key, const char *value);

/* A cgroup NAME below the pod's, as a container's is below its pod's; removed at teardown. */
const char *tpod_container_cgroup(const char *name);

/* Make a pod of NAME in namespace NS (see struct tpeer); torn down with P. */
struct tpeer *tpod_add_peer(const char *name, const char *ns);
/* Write Q's config: its cgroup, pinPath and `netns:` (inbound steering on), then EXTRA. */
void tpeer_write_config(struct tpeer *q, const char *extra);
/* As tpod_start_daemon, tpod_start_proxy_with and tpod_start_server, for Q: processes in Q's
 * namespace; the proxy as uid 1337 in Q's cgroup; the server in Q's cgroup with T_CGROUP. Logs
 * are P.dir/<name>-daemon.log and <name>-proxy.log; servers share P's numbering
 * (t_server_report). */
pid_t tpeer_start_daemon(struct tpeer *q);
pid_t tpeer_start_daemon_with(struct tpeer *q, const char *const extra[]);
/* Kill whatever runs in Q's cgroup and remove the cgroup: the pod is deleted. */
void tpeer_remove_cgroup(struct tpeer *q);
pid_t tpeer_start_proxy_with(struct tpeer *q, const char *const extra[]);
pid_t tpeer_start_server(struct tpeer *q, int flags, const char *addr, const char *port,
			 const char *const extra[]);
/* Lines of Q's proxy log containing NEEDLE. */
int tpeer_proxy_lines(const struct tpeer *q, const char *needle);
/* A new fd of P's map NAME pinned under its pinPath, or -1 with errno set. */
int tpod_open_pinned(const char *map);
/* Counter COUNTER (SC_C_*) of pod Q, summed over CPUs. */
uint64_t tpeer_counter(const struct tpeer *q, int counter);

/* The node directory shared by P and its peers: <bpffs>/SC_NODE_DIR. */
const char *tpod_node_dir(void);
/* Sum over CPUs of a node counter (enum sc_node_counter), read from the pinned sc_xstats. */
uint64_t tpod_node_counter(int counter);
/* Number of keys in a pinned node map. */
long tpod_node_map_entries(const char *map);

/* Sum of a counter over CPUs, read from the pinned sc_stats. */
uint64_t tpod_counter(int counter);
/* Kernel id of a pinned map. */
uint32_t tpod_map_id(const char *map);
/* Number of keys in a pinned map. */
long tpod_map_entries(const char *map);
/* Our programs (sc_*) attached to the pod's cgroup, asked of the kernel (0 when none). */
int tpod_attached_programs(void);
/* The programs on the pod's cgroup: connect4/6, getpeername4/6, sendmsg4/6, recvmsg4/6,
 * sockops, getsockopt. */
#define T_CGROUP_PROGRAMS 10

/* Value of KEY in a "k=v k=v" line, copied into BUF; NULL when absent. */
const char *kv(const char *line, const char *key, char *buf, size_t len);
/* The first line of TEXT starting with PREFIX, copied into BUF. */
const char *line_with(const char *text, const char *prefix, char *buf, size_t len);
/* The content of file PATH in BUF (empty when it cannot be read). */
const char *t_read_file(const char *path, char *buf, size_t len);
/* Count of lines in file PATH containing NEEDLE. */
int file_count(const char *path, const char *needle);

/* Where the programs under test are: build, or build/asan (make test SANITIZE=1). */
#ifndef T_BUILD
#define T_BUILD "build"
#endif

/* GET PATH from 127.0.0.1:PORT (the daemon's metrics, in the host namespace); the body in OUT.
 * Returns the HTTP status, or -1. */
int t_http_get(int port, const char *path, char *out, size_t len);
/* A metrics port of this test's own. */
int t_metrics_port(void);
/* Check TEXT with build/promcheck (strict Prometheus text format); returns its exit status and
 * leaves its output in ERR. */
int t_promcheck(const char *text, char *err, size_t len);
/* The value of the sample NAME{LABELS} (LABELS as printed, e.g. `result="failure"`, or "" for
 * none) in TEXT; -1 when absent. */
double t_metric(const char *text, const char *name, const char *labels);
/* The live policy generation, read from the pins. */
unsigned int tpod_generation(void);

/* Run `tcptool client ADDR PORT ...` (arguments up to a NULL) where FLAGS say; it must exit 0.
 * Its "conn" or "summary" line goes to OUT (1024 bytes). */
char *t_client(int flags, char *out, const char *addr, const char *port, ...);
/* The same, returning the client's whole output. */
const char *t_client_text(int flags, const char *addr, const char *port, ...);
/* The client's line says every byte sent came back unchanged. */
void t_assert_intact(const char *line, const char *bytes);
/* The report line of the N-th server started, waiting up to TIMEOUT_MS for it. */
const char *t_server_report(int n, char *buf, size_t len, int timeout_ms);
/* Lines of proxy-stub's log containing NEEDLE; waiting until there are N. */
int t_proxy_lines(const char *needle);
void t_wait_proxy_lines(const char *needle, int n);

/*
 * N scaled by SIDECAP_TEST_SCALE, a percentage (default 100), never below 1: the load counts of
 * the heavy tests (connections, policy changes). The kernel guests run under emulation, about
 * twenty times slower than this machine, and tests/kernels/run.sh scales them down there; what
 * each test asserts does not change, only how many times. t_scaled_str gives it as text, in
 * one of a few rotating buffers.
 */
unsigned int t_scaled(unsigned int n);
const char *t_scaled_str(unsigned int n);

/*
 * The calling test needs FEATURE of the kernel (a field of struct sc_features, e.g.
 * "netns_cookie": interceptor/kernel_features.h). Without it the test is skipped with the
 * reason "needs Linux V (name)", which tests/run lists by name and counts apart from the passed
 * ones, even with REQUIRE_BPF=1: the kernel lacks what the test is about, and what the product
 * does instead is tested elsewhere.
 */
void t_need(const char *feature);
/* Whether the kernel has FEATURE: for a test that checks what the product does without it. */
bool t_have(const char *feature);

#endif /* SC_HARNESS_H */
