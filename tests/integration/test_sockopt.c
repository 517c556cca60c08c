// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The cgroup/getsockopt and cgroup/getpeername programs with real sockets: SO_ORIGINAL_DST in the
 * layout nf_conntrack gives, every other option exactly as the kernel answers it, and the peer
 * each side of a redirected connection sees.
 *
 * The "proxy" of these tests is a listener forked from the test process (uid 1337, in the pod's
 * netns and cgroup) that asks the accepted socket what a proxy would ask, echoes what it reads,
 * and sends its findings back through a pipe; the assertions run in the test process.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(sockopt, .init = tpod_setup, .fini = tpod_teardown, .timeout = 180);

#define LINE_LEN   8192
#define PROBE_FILL 0x5a

static const char *const echo[] = {"--mode", "echo", NULL};

static void get_line(const char *text, const char *prefix, char *buf)
{
	cr_assert_not_null(line_with(text, prefix, buf, LINE_LEN), "no '%s' line in:\n%s", prefix,
			   text);
}

/* One getsockopt(SO_ORIGINAL_DST) as the listener saw it. */
struct od_answer {
	int ret;
	int err;
	unsigned int len;
	unsigned char buf[64];
};

/* What the listener found on the one connection it accepted. */
struct probe {
	char failed[64]; /* the setup step that failed, "" if none */
	int err;
	struct od_answer exact; /* optlen = sizeof(struct sockaddr_in/in6) */
	struct od_answer big;	/* optlen = 64 */
	struct od_answer small; /* optlen one family too short */
	struct sockaddr_storage peer, local;
	unsigned int peerlen, locallen;
	unsigned long long echoed;
};

struct listener {
	pid_t pid;
	int family;
	int rfd; /* readiness byte, then struct probe */
};

static void ask(int fd, int level, unsigned int size, struct od_answer *a)
{
	socklen_t len = size;

	memset(a->buf, PROBE_FILL, sizeof(a->buf));
	a->ret = getsockopt(fd, level, SC_SO_ORIGINAL_DST, a->buf, &len);
	a->err = a->ret ? errno : 0;
	a->len = len;
}

static bool child_ready;

static void child_fail(int wfd, struct probe *pr, const char *step)
{
	pr->err = errno;
	snprintf(pr->failed, sizeof(pr->failed), "%s", step);
	if ((!child_ready && write(wfd, "R", 1) < 0) || write(wfd, pr, sizeof(*pr)) < 0)
		_exit(2);
	_exit(1);
}

/* The child: join the pod as uid 1337 (what harness.c does for spawned programs), listen, probe
 * one connection, echo it, report. Never returns. */
static void listener_main(int family, int wfd)
{
	static struct probe pr;
	char path[PATH_MAX], buf[65536];
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a;
	int lfd, cfd, fd, one = 1, level = family == AF_INET ? SOL_IP : SOL_IPV6;
	unsigned int exact = family == AF_INET ? sizeof(a.in) : sizeof(a.in6);
	socklen_t len;
	struct pollfd pfd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", P.cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
		child_fail(wfd, &pr, "join cgroup");
	close(fd);
	snprintf(path, sizeof(path), "/run/netns/%s", P.ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		child_fail(wfd, &pr, "setns");
	close(fd);
	if (setgroups(0, NULL) || setgid(1337) || setuid(1337))
		child_fail(wfd, &pr, "setuid 1337");

	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(15001);
		a.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(15001);
		a.in6.sin6_addr = in6addr_loopback;
	}
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (family == AF_INET6 && setsockopt(lfd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(lfd, (struct sockaddr *)&a, exact) || listen(lfd, 8))
		child_fail(wfd, &pr, "listen");
	if (write(wfd, "R", 1) != 1)
		_exit(2);
	child_ready = true;

	pfd = (struct pollfd){.fd = lfd, .events = POLLIN};
	if (poll(&pfd, 1, 60000) != 1)
		child_fail(wfd, &pr, "no connection in 60 s");
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		child_fail(wfd, &pr, "accept");
	ask(cfd, level, exact, &pr.exact);
	ask(cfd, level, sizeof(pr.big.buf), &pr.big);
	ask(cfd, level, family == AF_INET ? 8 : sizeof(struct sockaddr_in), &pr.small);
	len = sizeof(pr.peer);
	if (getpeername(cfd, (struct sockaddr *)&pr.peer, &len))
		child_fail(wfd, &pr, "getpeername");
	pr.peerlen = len;
	len = sizeof(pr.local);
	if (getsockname(cfd, (struct sockaddr *)&pr.local, &len))
		child_fail(wfd, &pr, "getsockname");
	pr.locallen = len;

	while ((n = read(cfd, buf, sizeof(buf))) > 0) {
		if (write(cfd, buf, n) != n)
			child_fail(wfd, &pr, "echo");
		pr.echoed += n;
	}
	if (n < 0)
		child_fail(wfd, &pr, "read");
	close(cfd);
	if (write(wfd, &pr, sizeof(pr)) != sizeof(pr))
		_exit(2);
	_exit(0);
}

static bool read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&pfd, 1, timeout_ms) != 1)
			return false;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

/* Fork the listener on FAMILY's loopback :15001 and wait until it listens. */
static struct listener listener_start(int family)
{
	struct listener l = {.family = family};
	struct probe pr;
	int fds[2];
	char c;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	l.pid = fork();
	cr_assert_neq(l.pid, -1);
	if (l.pid == 0) {
		close(fds[0]);
		listener_main(family, fds[1]);
	}
	close(fds[1]);
	l.rfd = fds[0];
	/* Ours to end at teardown if an assertion stops the test first. */
	if (P.npids < T_MAX_PIDS)
		P.pids[P.npids++] = l.pid;
	cr_assert(read_full(l.rfd, &c, 1, 10000), "listener did not start");
	if (read_full(l.rfd, &pr, sizeof(pr), 100))
		cr_assert_fail("listener: %s: %s", pr.failed, strerror(pr.err));
	return l;
}

static void listener_finish(struct listener *l, struct probe *pr)
{
	int st, i;

	cr_assert(read_full(l->rfd, pr, sizeof(*pr), 30000), "listener sent no report");
	close(l->rfd);
	cr_assert_eq(waitpid(l->pid, &st, 0), l->pid);
	for (i = 0; i < P.npids; i++)
		if (P.pids[i] == l->pid)
			P.pids[i] = 0;
	cr_assert_str_eq(pr->failed, "", "listener: %s: %s", pr->failed, strerror(pr->err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "listener status %#x", st);
}

static void hex(const void *buf, size_t len, char *out)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", ((const unsigned char *)buf)[i]);
}

static void assert_answer(const struct od_answer *a, const char *what, unsigned int len,
			  const char *bytes)
{
	char got[2 * sizeof(a->buf) + 1];
	size_t i;

	cr_assert_eq(a->ret, 0, "%s: getsockopt failed: %s", what, strerror(a->err));
	cr_assert_eq(a->len, len, "%s: optlen", what);
	hex(a->buf, len, got);
	cr_assert_str_eq(got, bytes, "%s: bytes", what);
	/* Nothing past optlen is written. */
	for (i = len; i < sizeof(a->buf); i++)
		cr_assert_eq(a->buf[i], PROBE_FILL, "%s: byte %zu past optlen written", what, i);
}

static void assert_refused(const struct od_answer *a, const char *what, int err)
{
	cr_assert_eq(a->ret, -1, "%s: a short buffer must fail", what);
	cr_assert_eq(a->err, err, "%s: errno %s", what, strerror(a->err));
}

/* sockaddr_in {AF_INET, 8080, 10.99.0.2}, and sockaddr_in6 {AF_INET6, 8080, flowinfo 0,
 * fd00:99::2, scope 0}, byte for byte (x86: family in host order). */
#define ORIG4_HEX "02001f900a6300020000000000000000"
#define ORIG6_HEX "0a001f9000000000fd00009900000000000000000000000200000000"

/* Loopback address of a sockaddr as "ADDR:PORT", the way tcptool prints it. */
static const char *fmt_sockaddr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(in6->sin6_port));
	}
	return out;
}

Test(sockopt, other_options_are_byte_identical_with_and_without_the_program)
{
	static const struct {
		const char *addr, *port;
	} dst[] = {
		{T_REMOTE_ADDR4, "9090"},
		{T_REMOTE_ADDR6, "9090"},
		{"127.0.0.1", "7070"},
		{"::1", "7070"},
	};
	static char before[4][LINE_LEN], after[LINE_LEN], conn[LINE_LEN];
	size_t i;

	tpod_write_config("outbound:\n  excludePorts: [9090]\n");
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "9090", echo);
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR6, "9090", echo);
	/* In the cgroup, so that after the daemon starts both ends are in the sockhash. */
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	tpod_start_server(T_POD | T_CGROUP, "::1", "7070", echo);

	for (i = 0; i < 4; i++) {
		const char *out = t_client_text(T_POD | T_CGROUP, dst[i].addr, dst[i].port,
						"--getsockopt-dump", NULL);

		get_line(out, "sockopts ", before[i]);
		get_line(out, "conn ", conn);
		t_assert_intact(conn, "64");
	}
	/* The dump is real: a connected TCP socket, its peer, no original destination. */
	cr_assert(strstr(before[0], " SO_TYPE=4:01000000 "), "%s", before[0]);
	cr_assert(strstr(before[0], " SO_PEERNAME/16=16:020023820a6300020000000000000000 "), "%s",
		  before[0]);
	cr_assert(strstr(before[0], " SO_ORIGINAL_DST/2=err:"), "%s", before[0]);
	cr_assert(strstr(before[1], " IP6T_SO_ORIGINAL_DST=err:"), "%s", before[1]);

	tpod_start_daemon();
	for (i = 0; i < 4; i++) {
		const char *out = t_client_text(T_POD | T_CGROUP, dst[i].addr, dst[i].port,
						"--getsockopt-dump", NULL);

		get_line(out, "sockopts ", after);
		get_line(out, "conn ", conn);
		t_assert_intact(conn, "64");
		cr_assert_str_eq(after, before[i],
				 "%s:%s: the dump changed with the programs attached", dst[i].addr,
				 dst[i].port);
	}
	/* The programs did see these sockets: every connect was judged, and each SO_ORIGINAL_DST
	 * question (SOL_IP twice per socket, SOL_IPV6 twice more per v6 socket) reached the
	 * getsockopt program, which found no original destination and left the kernel's answer. */
	cr_assert_eq(tpod_counter(SC_C_connect_skip_excluded_port), 2);
	cr_assert_eq(tpod_counter(SC_C_connect_skip_loopback), 2);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst_unknown), 2 + 4 + 2 + 4);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 0);
}

static void assert_conntrack_answer(const struct od_answer *a, const char *what, const char *bytes)
{
	char got[2 * sizeof(a->buf) + 1];
	size_t n = strlen(bytes) / 2, i;

	cr_assert_eq(a->ret, 0, "%s: getsockopt failed: %s", what, strerror(a->err));
	cr_assert_eq(a->len, sizeof(a->buf), "%s: optlen", what);
	hex(a->buf, n, got);
	cr_assert_str_eq(got, bytes, "%s: bytes", what);
	for (i = n; i < sizeof(a->buf); i++)
		cr_assert_eq(a->buf[i], PROBE_FILL, "%s: byte %zu past the address written", what,
			     i);
}

Test(sockopt, original_dst_of_redirected_connection_matches_conntrack_format)
{
	char line[LINE_LEN];
	struct listener l;
	struct probe pr;

	tpod_start_daemon();

	l = listener_start(AF_INET);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR4, "8080", NULL), "conn ", line);
	t_assert_intact(line, "64");
	listener_finish(&l, &pr);
	assert_answer(&pr.exact, "v4, 16-byte buffer", 16, ORIG4_HEX);
	/* Unlike conntrack, which leaves a longer optlen as passed
	 * (conntrack_gives_the_same_bytes_...), the program reports the address size and writes
	 * nothing past it (see bpf/sockopt.bpf.c for why). */
	assert_answer(&pr.big, "v4, 64-byte buffer", 16, ORIG4_HEX);
	/* conntrack refuses a buffer shorter than sockaddr_in, and so does the program. */
	assert_refused(&pr.small, "v4, 8-byte buffer", EINVAL);

	l = listener_start(AF_INET6);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR6, "8080", NULL), "conn ", line);
	t_assert_intact(line, "64");
	listener_finish(&l, &pr);
	assert_answer(&pr.exact, "v6, 28-byte buffer", 28, ORIG6_HEX);
	assert_answer(&pr.big, "v6, 64-byte buffer", 28, ORIG6_HEX);
	assert_refused(&pr.small, "v6, 16-byte buffer", EINVAL);

	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 2);
	cr_assert_eq(tpod_counter(SC_C_sockopt_original_dst), 4);
}

/*
 * The reference the program is measured against, with no program attached: iptables REDIRECT in
 * the pod. conntrack writes the same bytes, refuses the same short buffers, and (unlike the
 * program, which sets optlen to the address size) leaves a longer optlen as the caller passed it.
 */
Test(sockopt, conntrack_gives_the_same_bytes_and_leaves_a_long_optlen_as_passed)
{
	char line[LINE_LEN], v[128], peer[128];
	struct listener l;
	struct probe pr;

	tpod_nat("iptables", "-A OUTPUT -p tcp -d " T_REMOTE_ADDR4
			     " -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15001");
	tpod_nat("ip6tables", "-A OUTPUT -p tcp -d " T_REMOTE_ADDR6
			      "/128 -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15001");

	l = listener_start(AF_INET);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR4, "8080", NULL), "conn ", line);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_REMOTE_ADDR4 ":8080", "%s", line);
	assert_answer(&pr.exact, "v4, 16-byte buffer", 16, ORIG4_HEX);
	assert_conntrack_answer(&pr.big, "v4, 64-byte buffer", ORIG4_HEX);
	assert_refused(&pr.small, "v4, 8-byte buffer", EINVAL);
	/* Under REDIRECT the proxy sees the app's pod address. */
	cr_assert_str_eq(fmt_sockaddr(&pr.peer, peer, sizeof(peer)),
			 kv(line, "local", v, sizeof(v)), "%s", line);
	cr_assert(!strncmp(peer, T_POD_ADDR4 ":", strlen(T_POD_ADDR4) + 1), "%s", peer);

	l = listener_start(AF_INET6);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR6, "8080", NULL), "conn ", line);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[" T_REMOTE_ADDR6 "]:8080", "%s", line);
	assert_answer(&pr.exact, "v6, 28-byte buffer", 28, ORIG6_HEX);
	assert_conntrack_answer(&pr.big, "v6, 64-byte buffer", ORIG6_HEX);
	assert_refused(&pr.small, "v6, 16-byte buffer", EINVAL);
	cr_assert_str_eq(fmt_sockaddr(&pr.peer, peer, sizeof(peer)),
			 kv(line, "local", v, sizeof(v)), "%s", line);
	cr_assert(!strncmp(peer, "[" T_POD_ADDR6 "]:", strlen(T_POD_ADDR6) + 3), "%s", peer);
}

Test(sockopt, getpeername_of_redirected_app_socket_is_the_original_destination)
{
	char line[LINE_LEN], dump[LINE_LEN], v[128];
	struct listener l;
	struct probe pr;
	const char *out;

	tpod_start_daemon();

	l = listener_start(AF_INET);
	out = t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR4, "8080", "--getsockopt-dump", NULL);
	get_line(out, "conn ", line);
	get_line(out, "sockopts ", dump);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), T_REMOTE_ADDR4 ":8080", "%s", line);
	/* SO_PEERNAME goes through the same hook as getpeername(). */
	cr_assert(strstr(dump, " SO_PEERNAME/16=16:" ORIG4_HEX " "), "%s", dump);

	l = listener_start(AF_INET6);
	out = t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR6, "8080", "--getsockopt-dump", NULL);
	get_line(out, "conn ", line);
	get_line(out, "sockopts ", dump);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	cr_assert_str_eq(kv(line, "peer", v, sizeof(v)), "[" T_REMOTE_ADDR6 "]:8080", "%s", line);
	cr_assert(strstr(dump, " SO_PEERNAME/28=28:" ORIG6_HEX " "), "%s", dump);

	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 2);
}

Test(sockopt, getpeername_of_proxy_accepted_socket_is_the_app)
{
	char line[LINE_LEN], v[128], peer[128];
	struct listener l;
	struct probe pr;

	tpod_start_daemon();

	l = listener_start(AF_INET);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR4, "8080", NULL), "conn ", line);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	/* The proxy sees the app's own socket (the connect was rewritten to loopback), and its
	 * own address is the listener's, not the original destination. */
	cr_assert_eq(pr.peerlen, sizeof(struct sockaddr_in));
	cr_assert_str_eq(fmt_sockaddr(&pr.peer, peer, sizeof(peer)),
			 kv(line, "local", v, sizeof(v)), "%s", line);
	cr_assert(!strncmp(peer, "127.0.0.1:", 10), "proxy's peer %s", peer);
	cr_assert_str_eq(fmt_sockaddr(&pr.local, v, sizeof(v)), "127.0.0.1:15001");
	cr_assert_eq(pr.echoed, 64);

	l = listener_start(AF_INET6);
	get_line(t_client_text(T_POD | T_CGROUP, T_REMOTE_ADDR6, "8080", NULL), "conn ", line);
	listener_finish(&l, &pr);
	t_assert_intact(line, "64");
	cr_assert_eq(pr.peerlen, sizeof(struct sockaddr_in6));
	cr_assert_str_eq(fmt_sockaddr(&pr.peer, peer, sizeof(peer)),
			 kv(line, "local", v, sizeof(v)), "%s", line);
	cr_assert(!strncmp(peer, "[::1]:", 6), "proxy's peer %s", peer);
	cr_assert_str_eq(fmt_sockaddr(&pr.local, v, sizeof(v)), "[::1]:15001");
	cr_assert_eq(pr.echoed, 64);

	/* getpeername on the proxy's side is never rewritten. */
	cr_assert_eq(tpod_counter(SC_C_getpeername_rewrite), 2);
}
