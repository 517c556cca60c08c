// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sk_lookup decisions through BPF_PROG_TEST_RUN: the program gets a lookup context and answers
 * with a verdict and the cookie of the socket it selected. The proxy's listeners are real
 * listening sockets put in sc_listeners; the policy is written as the daemon writes it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "sidecap.h"

#define SK_DROP 0
#define SK_PASS 1

static struct bpf_object *obj;
static int listen4 = -1, listen6 = -1;
static __u64 cookie4, cookie6;

static int map_fd(const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	cr_assert_not_null(m, "no map %s", name);
	return bpf_map__fd(m);
}

static int listener(int family, __u64 *cookie)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(*cookie);
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	cr_assert_geq(fd, 0);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(15006);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(15006);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	cr_assert_eq(bind(fd, (void *)&ss, sizeof(ss)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len), 0);
	return fd;
}

static void write_policy(__u32 flags)
{
	struct sc_policy p = {
		.proxy_uid = 1337,
		.proxy_gid = SC_ID_NONE,
		.outbound_port = 15001,
		.inbound_port = 15006,
		.flags = SC_F_VALID | SC_F_INBOUND | flags,
		.generation = 1,
	};
	struct sc_state st = {.active_slot = 0, .generation = 1};
	__u32 zero = 0, key;
	__u8 one = 1;

	cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_POLICY), &zero, &p, BPF_ANY), 0);
	cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_STATE), &zero, &st, BPF_ANY), 0);
	key = sc_port_key(0, SC_PORT_IN_EXCLUDE, 9090);
	cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_PORTS), &key, &one, BPF_ANY), 0);
	key = sc_port_key(0, SC_PORT_IN_EXCLUDE, 15020); /* an admin port */
	cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_PORTS), &key, &one, BPF_ANY), 0);
	key = sc_port_key(0, SC_PORT_IN_INCLUDE, 8080);
	cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_PORTS), &key, &one, BPF_ANY), 0);
}

static void register_listeners(bool v4, bool v6)
{
	struct sc_listener_key k4 = {AF_INET, 15006}, k6 = {AF_INET6, 15006};
	__u64 fd;

	if (v4) {
		fd = listen4;
		cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_LISTENERS), &k4, &fd, BPF_ANY), 0,
			     "%s", strerror(errno));
	}
	if (v6) {
		fd = listen6;
		cr_assert_eq(bpf_map_update_elem(map_fd(SC_MAP_LISTENERS), &k6, &fd, BPF_ANY), 0);
	}
}

static void setup(void)
{
	const char *req = getenv("REQUIRE_BPF");
	struct bpf_program *prog;
	int err;

	if (geteuid() != 0) {
		if (req && !strcmp(req, "1"))
			cr_assert_fail("not root (REQUIRE_BPF=1)");
		cr_skip_test("not root");
	}
	/* A private network namespace: the listeners bind port 15006 there only. */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link set lo up"), 0);
	obj = bpf_object__open_file(T_BUILD "/sidecap.bpf.o", NULL);
	cr_assert_not_null(obj);
	/* Only the program under test: the others have twins per kernel level. */
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), "sc_sk_lookup"));
	err = bpf_object__load(obj);
	cr_assert_eq(err, 0, "load: %s", strerror(-err));
	listen4 = listener(AF_INET, &cookie4);
	listen6 = listener(AF_INET6, &cookie6);
}

static void teardown(void)
{
	bpf_object__close(obj);
	close(listen4);
	close(listen6);
}

TestSuite(sklookup, .init = setup, .fini = teardown, .timeout = 30);

struct lookup_case {
	const char *desc;
	int family;
	int protocol;
	__u32 port;
	__u32 policy_flags;
	bool v4_listener, v6_listener;
	__u32 verdict;
	int selected; /* 0 none, 4 the v4 listener, 6 the v6 listener */
	int counter;  /* which counter the decision adds to */
	int origin;   /* where the connection comes from */
};

/* A test run cannot set ingress_ifindex: connections over loopback are tested with real
 * traffic (test_inbound.c, the proxy reaching the app). */
enum {
	FROM_REMOTE = 0, /* 10.99.0.2 / fd00:99::2 */
	FROM_SCAN = 1,	 /* sc_listen_scan's own lookup: source port 0 */
};

static const struct lookup_case cases[] = {
	{"v4 included port goes to the v4 listener", AF_INET, IPPROTO_TCP, 8080, SC_F_FAIL_OPEN,
	 true, true, SK_PASS, 4, SC_C_inbound_redirect},
	{"v6 included port goes to the v6 listener", AF_INET6, IPPROTO_TCP, 8080, SC_F_FAIL_OPEN,
	 true, true, SK_PASS, 6, SC_C_inbound_redirect},
	{"port not included passes", AF_INET, IPPROTO_TCP, 8081, SC_F_FAIL_OPEN, true, true,
	 SK_PASS, 0, SC_C_inbound_skip_port_not_included},
	{"all ports included steers any port", AF_INET, IPPROTO_TCP, 8081,
	 SC_F_FAIL_OPEN | SC_F_IN_ALL_PORTS, true, true, SK_PASS, 4, SC_C_inbound_redirect},
	{"excluded port passes even when all are included", AF_INET, IPPROTO_TCP, 9090,
	 SC_F_FAIL_OPEN | SC_F_IN_ALL_PORTS, true, true, SK_PASS, 0,
	 SC_C_inbound_skip_excluded_port},
	{"admin port passes", AF_INET6, IPPROTO_TCP, 15020, SC_F_FAIL_OPEN | SC_F_IN_ALL_PORTS,
	 true, true, SK_PASS, 0, SC_C_inbound_skip_excluded_port},
	{"proxy inbound port passes", AF_INET, IPPROTO_TCP, 15006,
	 SC_F_FAIL_OPEN | SC_F_IN_ALL_PORTS, true, true, SK_PASS, 0, SC_C_inbound_skip_proxy_port},
	{"proxy outbound port passes", AF_INET, IPPROTO_TCP, 15001,
	 SC_F_FAIL_OPEN | SC_F_IN_ALL_PORTS, true, true, SK_PASS, 0, SC_C_inbound_skip_proxy_port},
	{"udp passes", AF_INET, IPPROTO_UDP, 8080, SC_F_FAIL_OPEN, true, true, SK_PASS, 0, -1},
	{"no listener, fail open: passes to the app", AF_INET, IPPROTO_TCP, 8080, SC_F_FAIL_OPEN,
	 false, false, SK_PASS, 0, SC_C_inbound_fail_open},
	{"no listener, fail closed: dropped", AF_INET6, IPPROTO_TCP, 8080, 0, false, false, SK_DROP,
	 0, SC_C_inbound_fail_closed},
	{"v4 with only a v6-only listener: fail open", AF_INET, IPPROTO_TCP, 8080, SC_F_FAIL_OPEN,
	 false, true, SK_PASS, 0, SC_C_errors__sk_assign},
	{"the listener scan's lookup passes uncounted", AF_INET, IPPROTO_TCP, 15006, 0, true, true,
	 SK_PASS, 0, -1, FROM_SCAN},
};

static __u64 counter(int c)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	__u64 vals[ncpu], sum = 0;
	__u32 key = c;

	cr_assert_eq(bpf_map_lookup_elem(map_fd(SC_MAP_STATS), &key, vals), 0);
	for (cpu = 0; cpu < ncpu; cpu++)
		sum += vals[cpu];
	return sum;
}

Test(sklookup, decision_table)
{
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "sc_sk_lookup"));
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lookup_case *c = &cases[i];
		struct sc_listener_key k4 = {AF_INET, 15006}, k6 = {AF_INET6, 15006};
		struct bpf_sk_lookup ctx = {
			.family = c->family,
			.protocol = c->protocol,
			.local_port = c->port,
			.remote_port = htons(40000),
		};
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));
		__u64 before = c->counter >= 0 ? counter(c->counter) : 0, want;

		if (c->family == AF_INET) {
			ctx.remote_ip4 = inet_addr("10.99.0.2");
			ctx.local_ip4 = inet_addr("10.99.0.1");
		} else {
			inet_pton(AF_INET6, "fd00:99::2", ctx.remote_ip6);
			inet_pton(AF_INET6, "fd00:99::1", ctx.local_ip6);
		}
		if (c->origin == FROM_SCAN)
			ctx.remote_port = 0;
		bpf_map_delete_elem(map_fd(SC_MAP_LISTENERS), &k4);
		bpf_map_delete_elem(map_fd(SC_MAP_LISTENERS), &k6);
		write_policy(c->policy_flags);
		register_listeners(c->v4_listener, c->v6_listener);

		cr_assert_eq(bpf_prog_test_run_opts(prog, &opts), 0, "%s: test run: %s", c->desc,
			     strerror(errno));
		cr_assert_eq(opts.retval, c->verdict, "%s: verdict", c->desc);
		want = c->selected == 4 ? cookie4 : c->selected == 6 ? cookie6 : 0;
		cr_assert_eq(ctx.cookie, want, "%s: selected socket", c->desc);
		if (c->counter >= 0)
			cr_assert_eq(counter(c->counter), before + 1, "%s: counter", c->desc);
	}
}
