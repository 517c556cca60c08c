// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cross-pod acceleration: two pods of one node, each with its own interceptor, share the node
 * maps (<bpffs>/SC_NODE_DIR). The hop between the client pod's sidecar (outbound) and the server pod's
 * sidecar (inbound, steered by sk_lookup) is paired through them and carried socket to socket by
 * the node's sk_msg program. Here the remote namespace of the harness is made the server pod.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(crosspod, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo_dual[] = {"--mode", "echo", "--dual", NULL};
static const char *const inbound_listeners[] = {"--inbound", "0.0.0.0:15006", "--inbound",
						"[::]:15006", NULL};

#define APP_PORT "8080"

/* A server pod in NS: the app (echo on every address) in its cgroup, its interceptor with
 * inbound steering, and proxy-stub listening inbound on 15006. */
static struct tpeer *server_pod(const char *name, const char *ns)
{
	struct tpeer *q = tpod_add_peer(name, ns);

	tpeer_start_server(q, T_CGROUP, "::", APP_PORT, echo_dual);
	tpeer_write_config(q, "");
	tpeer_start_daemon(q);
	tpeer_start_proxy_with(q, inbound_listeners);
	return q;
}

/* P as the client pod: its interceptor (outbound) and proxy-stub on 15001. */
static void client_pod(void)
{
	tpod_write_config("");
	tpod_start_daemon();
	tpod_start_proxy();
}

/* Every node counter, for the message of a failed assertion. */
static const char *node_counters(void)
{
	static const char *const names[] = {
#define X(n, ...) #n,
		SC_NODE_COUNTERS(X)
#undef X
	};
	static char text[1024];
	size_t n = 0;
	int i;

	text[0] = '\0';
	for (i = 0; i < SC_X__MAX && n < sizeof(text); i++)
		n += snprintf(text + n, sizeof(text) - n, " %s=%llu", names[i],
			      (unsigned long long)tpod_node_counter(i));
	return text;
}

static uint64_t node(int counter)
{
	return tpod_node_counter(counter);
}

static void wait_node_entries_zero(const char *map)
{
	int i;

	for (i = 0; i < 300 && tpod_node_map_entries(map) > 0; i++)
		usleep(10000);
	cr_assert_eq(tpod_node_map_entries(map), 0, "%s keeps entries of closed connections", map);
}

static void wait_peer_proxy_lines(const struct tpeer *q, const char *needle, int n)
{
	int i;

	for (i = 0; i < 500 && tpeer_proxy_lines(q, needle) < n; i++)
		usleep(10000);
	cr_assert_eq(tpeer_proxy_lines(q, needle), n, "%s proxy-stub log lines with '%s'", q->name,
		     needle);
}

/* What a request/response client saw. */
struct pingpong {
	int err;	/* 0, or the errno of the first failure */
	int exchanges;	/* requests whose echo came back whole */
	int mismatches; /* echoes that differ from their request */
	unsigned long long bytes;
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545F4914F6CDD1Dull;
}

static int read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = read(fd, buf + got, len - got);
		if (r == 0)
			return ECONNRESET;
		if (r < 0 && errno != EINTR)
			return errno;
		if (r > 0)
			got += r;
	}
	return 0;
}

/*
 * The app of a client pod, in NS and CGROUP: one connection to the remote pod's app, held
 * HOLD_MS (so that the clients of several pods overlap), then N requests of 1 to 2048 bytes of
 * the random stream of SEED, each echo read back whole and compared before the next request.
 * The result comes back through *RFD.
 */
static pid_t pingpong_start(const char *ns, const char *cgroup, uint64_t seed, int n, int hold_ms,
			    int *rfd)
{
	int p[2];
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = tpod_fork_at(ns, cgroup, 0);
	if (pid == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
		struct timeval tv = {.tv_sec = 10};
		static unsigned char req[2048], resp[2048];
		struct pingpong r = {0};
		uint64_t x = seed;
		int fd, one = 1, i;
		size_t len, k;

		close(p[0]);
		inet_pton(AF_INET, T_REMOTE_ADDR4, &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A lost or misdelivered echo fails the client instead of hanging the test. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, (void *)&sin, sizeof(sin))) {
			r.err = errno;
			goto out;
		}
		usleep(hold_ms * 1000);
		for (i = 0; i < n; i++) {
			len = 1 + xorshift(&x) % sizeof(req);
			for (k = 0; k < len; k++)
				req[k] = xorshift(&x) >> 56;
			if (write(fd, req, len) != (ssize_t)len) {
				r.err = errno ? errno : EIO;
				break;
			}
			r.err = read_full(fd, resp, len);
			if (r.err)
				break;
			if (memcmp(req, resp, len))
				r.mismatches++;
			r.exchanges++;
			r.bytes += len;
		}
		shutdown(fd, SHUT_WR);
		while (read(fd, resp, sizeof(resp)) > 0)
			;
		close(fd);
	out:
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static struct pingpong pingpong_wait(pid_t pid, int rfd)
{
	struct pingpong r;
	int st;

	cr_assert_eq(read(rfd, &r, sizeof(r)), sizeof(r), "the request/response client died");
	close(rfd);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return r;
}

static void assert_pingpong(const struct pingpong *r, int n, const char *who)
{
	cr_assert_eq(r->err, 0, "%s: request/response failed after %d exchanges: %s", who,
		     r->exchanges, strerror(r->err));
	cr_assert_eq(r->mismatches, 0, "%s: %d echoes differ from their request", who,
		     r->mismatches);
	cr_assert_eq(r->exchanges, n, "%s", who);
}

/* tcptool client in NS and CGROUP sending BYTES of the stream of SEED to the remote app, after
 * holding the connection HOLD_MS; its output in LOG under P.dir. */
static pid_t bulk_start(const char *ns, const char *cgroup, const char *log, const char *seed,
			const char *bytes, const char *hold_ms)
{
	char path[PATH_MAX];
	char *argv[] = {T_BUILD "/tcptool", "client",	  T_REMOTE_ADDR4,
			APP_PORT,	    "--send",	  (char *)bytes,
			"--seed",	    (char *)seed, "--hold-ms",
			(char *)hold_ms,    NULL};

	snprintf(path, sizeof(path), "%s/%s", P.dir, log);
	return tpod_spawn_at(ns, cgroup, 0, path, argv);
}

/* The "conn" line of a bulk client, once it exited 0 (at most 60 s). */
static char *bulk_wait(pid_t pid, const char *log, char *line)
{
	char path[PATH_MAX], text[8192];
	int st, i;

	snprintf(path, sizeof(path), "%s/%s", P.dir, log);
	for (i = 0; i < 6000 && waitpid(pid, &st, WNOHANG) != pid; i++)
		usleep(10000);
	if (i == 6000) {
		tpod_kill(pid, SIGKILL);
		cr_assert_fail("%s: the client did not finish in 60 s:\n%s", log,
			       t_read_file(path, text, sizeof(text)));
	}
	t_read_file(path, text, sizeof(text));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: client failed:\n%s", log, text);
	cr_assert_not_null(line_with(text, "conn ", line, 1024), "%s: no result in:\n%s", log,
			   text);
	return line;
}

Test(crosspod, sidecar_to_sidecar_hop_is_carried_socket_to_socket)
{
	struct tpeer *srv;
	struct pingpong pp;
	uint64_t ready, redirect, pass, unpaired, unanswered;
	char line[1024], v[64];
	int rfd;
	pid_t pid;

	srv = server_pod("srv", P.rns);
	/* The pairing of every hop connection, the 200 one-exchange ones below included: the
	 * offering (client) pod accelerates always (adaptive would pair the first few only). */
	tpod_write_config("acceleration: always\n");
	tpod_start_daemon();
	tpod_start_proxy();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--send", "64M", NULL);
	t_assert_intact(line, "67108864");
	/* It went app -> P's sidecar -> the server pod's sidecar (steered) -> the app. */
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":" APP_PORT " dir=out", 1);
	wait_peer_proxy_lines(srv, "orig=" T_REMOTE_ADDR4 ":" APP_PORT " dir=in", 1);
	if (!t_have("netns_cookie")) {
		/* Before 5.15 the hop's sockets cannot tell their network namespace: pairing is
		 * off, counted at each hop socket's establishment, and the hop is plain TCP. */
		cr_assert_gt(tpod_counter(SC_C_xpod_off_no_netns_cookie), 0);
		cr_assert_eq(node(SC_X_xpod_pair_created), 0);
		cr_assert_eq(node(SC_X_xpod_msg_redirect), 0);
		return;
	}
	/* The sidecar<->sidecar hop was offered by P's end, joined by the server pod's end and
	 * carried by sk_msg. */
	cr_assert_eq(node(SC_X_xpod_pair_created), 1);
	cr_assert_eq(node(SC_X_xpod_pair_ready), 1);
	cr_assert_gt(node(SC_X_xpod_msg_redirect), 0);
	cr_assert_geq(node(SC_X_xpod_msg_redirect_bytes), 1 << 20);
	cr_assert_eq(node(SC_X_errors__xpod_insert), 0);
	cr_assert_eq(node(SC_X_xpod_msg_demote_peer_missing), 0);

	/* Request/response on one held connection: every request and every answer crosses the
	 * hop by sk_msg, none falls back to TCP. */
	ready = node(SC_X_xpod_pair_ready);
	redirect = node(SC_X_xpod_msg_redirect);
	pass = node(SC_X_xpod_msg_pass);
	unpaired = node(SC_X_xpod_msg_demote_unpaired);
	unanswered = node(SC_X_xpod_msg_demote_unanswered);
	pid = pingpong_start(P.ns, P.cgroup, 7, 500, 100, &rfd);
	pp = pingpong_wait(pid, rfd);
	assert_pingpong(&pp, 500, "P");
	cr_assert_eq(node(SC_X_xpod_pair_ready) - ready, 1);
	cr_assert_geq(node(SC_X_xpod_msg_redirect) - redirect, 2 * 500);
	cr_assert_eq(node(SC_X_xpod_msg_demote_unpaired) - unpaired, 0);
	cr_assert_eq(node(SC_X_xpod_msg_demote_unanswered) - unanswered, 0);
	cr_assert_eq(node(SC_X_xpod_msg_pass) - pass, 0);

	/* Request/response as one exchange per connection: each hop connection is paired. */
	ready = node(SC_X_xpod_pair_ready);
	redirect = node(SC_X_xpod_msg_redirect);
	unpaired = node(SC_X_xpod_msg_demote_unpaired);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--repeat", "200", "--send",
		 "4096", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "200", "%s", line);
	cr_assert_eq(node(SC_X_xpod_pair_ready) - ready, 200);
	cr_assert_geq(node(SC_X_xpod_msg_redirect) - redirect, 2 * 200);
	cr_assert_leq(node(SC_X_xpod_msg_demote_unpaired) - unpaired, 20,
		      "most first sends of a new hop raced its pairing");
	cr_assert_eq(node(SC_X_xpod_msg_demote_peer_missing), 0);

	/* Entries die with the sockets. */
	wait_peer_proxy_lines(srv, "dir=in", 202);
	wait_node_entries_zero(SC_MAP_XPAIRS);
	wait_node_entries_zero(SC_MAP_XSOCKS);
	/* Both pods' addresses are known to the node: the client sidecar's, the server pod's. */
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XADDRS), 2);
}

/*
 * A client that is no pod of this node (here a process of P's network namespace outside its
 * cgroup, with no interceptor in P: as a client on another node) connects to the server pod
 * again and again. The server pod's listener enters its own address in sc_xaddrs but leaves no
 * hint for a client whose address is not there: the large hint map stays untouched by
 * connections from other nodes.
 */
Test(crosspod, client_from_elsewhere_leaves_no_pairing_hint)
{
	struct tpeer *srv = server_pod("srv", P.rns);
	char line[1024], v[64];

	t_client(T_POD, line, T_REMOTE_ADDR4, APP_PORT, "--repeat", "50", "--send", "64", NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "50", "%s", line);
	wait_peer_proxy_lines(srv, "orig=" T_REMOTE_ADDR4 ":" APP_PORT " dir=in", 50);
	cr_assert_eq(node(SC_X_xpod_hint), 0, "%s", node_counters());
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XHINTS), 0);
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XADDRS), 1);
	cr_assert_eq(node(SC_X_errors__xpod_addrs), 0);

	/* The same client as a pod of this node (P with its interceptor and sidecar): its sidecar's
	 * upstream socket enters P's address, and the server pod now leaves hints. */
	client_pod();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--repeat", "5", "--send", "64",
		 NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "5", "%s", line);
	cr_assert_geq(node(SC_X_xpod_hint), 1, "%s", node_counters());
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XADDRS), 2);
}

/*
 * An upload across two pods: the app streams to the server pod's app and nothing comes back.
 * Each hop is demoted at the bound, and on each the sending socket, never sent a byte through
 * sk_msg, leaves its sockhash: the app's (P's sockhash), the client sidecar's upstream (the
 * node's), the server sidecar's socket to its app (the server pod's). Every byte arrives.
 */
Test(crosspod, demoted_upload_leaves_the_sockhash_of_every_hop)
{
	static const char *const sink_dual[] = {"--mode", "sink", "--dual", NULL};
	struct tpeer *srv = tpod_add_peer("srv", P.rns);
	char line[1024], rep[1024], a[128], b[128];

	t_need("netns_cookie");
	tpeer_start_server(srv, T_CGROUP, "::", APP_PORT, sink_dual);
	tpeer_write_config(srv, "");
	tpeer_start_daemon(srv);
	tpeer_start_proxy_with(srv, inbound_listeners);
	client_pod();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--send", "64M", NULL);
	cr_assert_str_eq(kv(line, "result", a, sizeof(a)), "ok", "%s", line);
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert_str_eq(kv(rep, "in", a, sizeof(a)), "67108864", "%s", rep);
	cr_assert_str_eq(kv(rep, "sha_in", a, sizeof(a)), kv(line, "sha_out", b, sizeof(b)));
	cr_assert_eq(node(SC_X_xpod_pair_ready), 1, "%s", node_counters());
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_left), 1);
	cr_assert_eq(node(SC_X_xpod_msg_leave_marked), 1, "%s", node_counters());
	cr_assert_eq(node(SC_X_xpod_sockhash_left), 1, "%s", node_counters());
	cr_assert_eq(node(SC_X_errors__xpod_sockhash_leave), 0);
	cr_assert_eq(tpeer_counter(srv, SC_C_sockops_sockhash_left), 1);
	cr_assert_eq(tpeer_counter(srv, SC_C_errors__sockhash_leave), 0);
	/* What the hops left behind dies with the sockets, as ever. */
	wait_node_entries_zero(SC_MAP_XPAIRS);
	wait_node_entries_zero(SC_MAP_XSOCKS);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the node has paired N connections in all (at most 5 s). */
static void wait_pairs_ready(uint64_t n)
{
	int i;

	for (i = 0; i < 500 && node(SC_X_xpod_pair_ready) < n; i++)
		usleep(10000);
	cr_assert_eq(node(SC_X_xpod_pair_ready), n, "node counters:%s", node_counters());
}

/*
 * The second pair's client holds its connection for what is left of HOLD_MS since T0, so that
 * both pairs start sending at about the same time.
 */
static const char *hold_left(long t0, long hold_ms, char *buf, size_t len)
{
	long left = hold_ms - (now_ms() - t0);

	cr_assert_gt(left, 100, "pair B's hop took %ld ms to pair: the pairs would not overlap",
		     hold_ms - left);
	snprintf(buf, len, "%ld", left);
	return buf;
}

/*
 * The isolation KERNEL-NOTES asks for: two pod pairs with the same addresses, and each client
 * pod's ephemeral range cut to one port, so the sidecar<->sidecar hops of both pairs have the
 * same 4-tuple (10.99.0.1:40000 -> 10.99.0.2:8080) at the same time. Each pair sends its own
 * random bytes; every client must get back exactly its own.
 *
 * Pair B connects once pair A's hop is paired (both stay open while both pairs send): the
 * pairing hint is keyed by the 4-tuple alone, so two handshakes of the same 4-tuple at the same
 * instant can leave one pair unaccelerated, which would make this test prove nothing for it.
 */
Test(crosspod, pods_with_identical_addresses_never_exchange_bytes)
{
	struct tpeer *srv, *cli2, *srv2;
	struct pingpong pa, pb;
	char ns2[64], rns2[64], la[1024], lb[1024], a[128], b[128], hold[32];
	uint64_t redirect;
	long t0;
	int ra, rb, st;
	pid_t pida, pidb;

	t_need("netns_cookie");
	tpod_add_netns_pair(ns2, rns2);
	tpod_netns_sysctl(P.ns, "net.ipv4.ip_local_port_range", "40000 40000");
	tpod_netns_sysctl(ns2, "net.ipv4.ip_local_port_range", "40000 40000");
	/* One port makes each next connection reuse the last one's TIME_WAIT tuple. */
	tpod_netns_sysctl(P.ns, "net.ipv4.tcp_tw_reuse", "1");
	tpod_netns_sysctl(ns2, "net.ipv4.tcp_tw_reuse", "1");
	srv = server_pod("srv", P.rns);
	client_pod();
	srv2 = server_pod("srv2", rns2);
	cli2 = tpod_add_peer("cli2", ns2);
	tpeer_write_config(cli2, "");
	tpeer_start_daemon(cli2);
	tpeer_start_proxy_with(cli2, NULL);

	/* 16 MiB echoed in each pair at once, held open together first. */
	t0 = now_ms();
	pida = bulk_start(P.ns, P.cgroup, "bulk-a.out", "11", "16M", "1000");
	wait_pairs_ready(1);
	pidb = bulk_start(cli2->ns, cli2->cgroup, "bulk-b.out", "22", "16M",
			  hold_left(t0, 1000, hold, sizeof(hold)));
	wait_pairs_ready(2);
	bulk_wait(pida, "bulk-a.out", la);
	bulk_wait(pidb, "bulk-b.out", lb);
	t_assert_intact(la, "16777216");
	t_assert_intact(lb, "16777216");
	cr_assert_str_neq(kv(la, "sha_out", a, sizeof(a)), kv(lb, "sha_out", b, sizeof(b)),
			  "both pairs sent the same bytes: the test proves nothing");
	/* The two hops had the same 4-tuple, each in its own pair of namespaces. */
	wait_peer_proxy_lines(
		srv, "client=" T_POD_ADDR4 ":40000 orig=" T_REMOTE_ADDR4 ":8080 dir=in", 1);
	wait_peer_proxy_lines(
		srv2, "client=" T_POD_ADDR4 ":40000 orig=" T_REMOTE_ADDR4 ":8080 dir=in", 1);
	cr_assert_eq(node(SC_X_xpod_pair_ready), 2, "node counters:%s", node_counters());
	cr_assert_geq(node(SC_X_xpod_msg_redirect_bytes), 2u << 20);

	/* Many small exchanges in each pair at once, on the same 4-tuple again. */
	if (access("/proc/sys/net/ipv4/tcp_tw_reuse_delay", F_OK) == 0) {
		tpod_netns_sysctl(P.ns, "net.ipv4.tcp_tw_reuse_delay", "1");
		tpod_netns_sysctl(ns2, "net.ipv4.tcp_tw_reuse_delay", "1");
	} else {
		/* Older kernels reuse a TIME_WAIT tuple only once a second has passed. */
		sleep(2);
	}
	redirect = node(SC_X_xpod_msg_redirect);
	/* Pair B's hop is set up while pair A's carries exchanges. */
	pida = pingpong_start(P.ns, P.cgroup, 0x1111, 4000, 0, &ra);
	wait_pairs_ready(3);
	pidb = pingpong_start(cli2->ns, cli2->cgroup, 0x2222, 1000, 0, &rb);
	wait_pairs_ready(4);
	cr_assert_eq(waitpid(pida, &st, WNOHANG), 0,
		     "pair A was done before pair B's hop was up: the pairs did not overlap");
	pa = pingpong_wait(pida, ra);
	pb = pingpong_wait(pidb, rb);
	assert_pingpong(&pa, 4000, "pair A");
	assert_pingpong(&pb, 1000, "pair B");
	wait_peer_proxy_lines(
		srv, "client=" T_POD_ADDR4 ":40000 orig=" T_REMOTE_ADDR4 ":8080 dir=in", 2);
	wait_peer_proxy_lines(
		srv2, "client=" T_POD_ADDR4 ":40000 orig=" T_REMOTE_ADDR4 ":8080 dir=in", 2);
	/* Both pairs were carried socket to socket, each request and each answer. */
	cr_assert_eq(node(SC_X_xpod_pair_ready), 4, "node counters:%s", node_counters());
	cr_assert_geq(node(SC_X_xpod_msg_redirect) - redirect, 2 * (4000 + 1000));
	cr_assert_eq(node(SC_X_xpod_msg_demote_peer_missing), 0);
	wait_node_entries_zero(SC_MAP_XPAIRS);
}

static void assert_private_dir(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", dir, sub);
	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(S_ISDIR(st.st_mode), "%s", path);
	cr_assert_eq(st.st_mode & 07777, 0700, "%s has mode %o", path, st.st_mode & 07777);
}

static bool exists(const char *dir, const char *sub)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s", dir, sub);
	return access(path, F_OK) == 0;
}

/*
 * The node's sk_msg program is attached to its sockhash through a link pinned in links/, or, on
 * kernels without sockmap links (before 6.10), pinned as a program in progs/ and attached with
 * bpf_prog_attach: exactly one of the two.
 */
static bool node_msg_attached(const char *nd)
{
	return exists(nd, "/links/sk_msg") != exists(nd, "/progs/sk_msg");
}

static int cleanup_pod(const char *config, char *out, size_t len)
{
	char *argv[] = {T_BUILD "/interceptor", "cleanup", "--config", (char *)config, NULL};

	return tpod_run(0, out, len, 30000, argv);
}

/*
 * The node objects are created by the first pod's daemon and go with the last pod's cleanup.
 * A third pod ("spare", in a namespace of its own) creates them and leaves first; P and the
 * server pod go on pairing new connections without it.
 */
Test(crosspod, node_objects_go_with_the_last_pod)
{
	const char *nd = tpod_node_dir();
	struct tpeer *srv, *spare;
	char ns3[64], rns3[64], out[4096], line[1024], old[PATH_MAX], oldmaps[PATH_MAX + 8];
	uint64_t ready;

	t_need("netns_cookie");
	tpod_add_netns_pair(ns3, rns3);
	spare = tpod_add_peer("spare", ns3);
	tpeer_write_config(spare, "");
	cr_assert(!exists(nd, ""));
	tpeer_start_daemon(spare);
	/* Root-only pins, as the pod's own. */
	assert_private_dir(nd, "");
	assert_private_dir(nd, "/maps");
	assert_private_dir(nd, "/links");
	cr_assert(node_msg_attached(nd));
	srv = server_pod("srv", P.rns);
	client_pod();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--send", "1M", NULL);
	t_assert_intact(line, "1048576");
	cr_assert_eq(node(SC_X_xpod_pair_ready), 1);

	/* The pod that made the node objects leaves: they stay, and keep working. */
	tpod_kill(spare->daemon, SIGKILL);
	spare->daemon = 0;
	cr_assert_eq(cleanup_pod(spare->config, out, sizeof(out)), 0, "%s", out);
	cr_assert(!exists(spare->pin_path, ""), "%s left pinned", spare->pin_path);
	cr_assert(node_msg_attached(nd));
	cr_assert(exists(nd, "/maps/" SC_MAP_XSOCKS));
	cr_assert(exists(nd, "/maps/" SC_MAP_XPAIRS));
	ready = node(SC_X_xpod_pair_ready);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--send", "4M", NULL);
	t_assert_intact(line, "4194304");
	cr_assert_eq(node(SC_X_xpod_pair_ready) - ready, 1);
	cr_assert_geq(node(SC_X_xpod_msg_redirect_bytes), 1 << 20);

	/* One of two pods left: still there. */
	tpod_kill(P.daemon, SIGKILL);
	P.daemon = 0;
	cr_assert_eq(cleanup_pod(P.config, out, sizeof(out)), 0, "%s", out);
	cr_assert(!exists(P.pin_path, ""), "%s left pinned", P.pin_path);
	cr_assert(node_msg_attached(nd));
	cr_assert(exists(nd, "/maps/" SC_MAP_XSTATS));

	/* Pods of an older version left their own node directory: it is no pod, and not ours. */
	snprintf(old, sizeof(old), "%s/" SC_NODE_PREFIX "-v1", P.bpffs);
	cr_assert_eq(mkdir(old, 0700), 0);
	snprintf(oldmaps, sizeof(oldmaps), "%s/maps", old);
	cr_assert_eq(mkdir(oldmaps, 0700), 0);

	/* The last one: the node directory goes entirely. */
	tpod_kill(srv->daemon, SIGKILL);
	srv->daemon = 0;
	cr_assert_eq(cleanup_pod(srv->config, out, sizeof(out)), 0, "%s", out);
	cr_assert(!exists(srv->pin_path, ""), "%s left pinned", srv->pin_path);
	cr_assert(!exists(nd, ""), "%s is left after the last pod's cleanup", nd);
	cr_assert(exists(old, "/maps"), "another version's node directory was touched");
	rmdir(oldmaps);
	rmdir(old);
}

/*
 * A server that runs no interceptor (no sockops there): nothing asks the client sidecar's
 * upstream socket to pair, so it never enters the node sockhash and the connection is plain TCP
 * from its first byte to its last.
 */
Test(crosspod, passive_end_without_our_programs_is_plain_tcp)
{
	char line[1024];

	tpod_start_server(T_REMOTE, "::", APP_PORT, echo_dual);
	client_pod();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, APP_PORT, "--send", "8M", NULL);
	t_assert_intact(line, "8388608");
	t_wait_proxy_lines("orig=" T_REMOTE_ADDR4 ":" APP_PORT " dir=out", 1);
	cr_assert_eq(node(SC_X_xpod_pair_ready), 0);
	cr_assert_eq(node(SC_X_xpod_msg_redirect), 0);
	cr_assert_eq(node(SC_X_xpod_msg_redirect_bytes), 0);
	/* Not even offered: no hint came from a pod of this node. */
	cr_assert_eq(node(SC_X_xpod_hint), 0);
	cr_assert_eq(node(SC_X_xpod_pair_created), 0);
	cr_assert_eq(node(SC_X_xpod_msg_pass), 0);
	cr_assert_eq(node(SC_X_xpod_msg_demote_unpaired), 0);
	/* The app<->sidecar hop inside P is still accelerated. */
	cr_assert_geq(tpod_counter(SC_C_msg_redirect_bytes), 1 << 20);
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XPAIRS), 0);
	cr_assert_eq(tpod_node_map_entries(SC_MAP_XSOCKS), 0);
}
