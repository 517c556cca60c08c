// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The socket-to-socket data path: sockhash + sk_msg, its flow control, byte order, half-close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(datapath, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo[] = {"--mode", "echo", NULL};

static unsigned long long num(const char *line, const char *key)
{
	char v[64];

	cr_assert_not_null(kv(line, key, v, sizeof(v)), "no %s in %s", key, line);
	return strtoull(v, NULL, 10);
}

Test(datapath, sk_msg_carries_64MiB_each_way_intact_through_proxy)
{
	char line[1024];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "64M", NULL);
	t_assert_intact(line, "67108864");
	/* Both sockets of the app<->proxy hop were in the sockhash and sk_msg carried bytes. */
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 2);
	cr_assert_gt(tpod_counter(SC_C_msg_redirect), 0);
	cr_assert_geq(tpod_counter(SC_C_msg_redirect_bytes), 1 << 20);
	cr_assert_eq(tpod_counter(SC_C_msg_demote_peer_missing), 0);
}

Test(datapath, slow_remote_reader_gets_every_byte_and_sender_sees_no_error)
{
	static const char *const slow[] = {"--mode", "sink", "--slow-read-us", "2000", "--chunk",
					   "65536",  NULL};
	char line[1024], rep[1024], a[128], b[128];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", slow);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "32M", NULL);
	cr_assert_str_eq(kv(line, "result", a, sizeof(a)), "ok", "%s", line);
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert_eq(num(rep, "in"), 32u << 20, "%s", rep);
	cr_assert_str_eq(kv(rep, "sha_in", a, sizeof(a)), kv(line, "sha_out", b, sizeof(b)));
	/* The proxy stopped reading while its upstream was full: the app's direction left
	 * sk_msg at the bound instead of queueing without limit. */
	cr_assert_geq(tpod_counter(SC_C_msg_demote_unanswered), 1);
}

/*
 * The case that exhausted TCP memory in the prototype: an unthrottled sender and a slow reader,
 * both in the pod, both accelerated. The sender must be paced by the reader as on plain TCP.
 */
Test(datapath, unthrottled_sender_to_slow_local_reader_is_paced_like_tcp)
{
	static const char *const slow[] = {"--mode", "sink", "--slow-read-us", "1000", "--chunk",
					   "65536",  NULL};
	char line[1024], rep[1024], a[128], b[128];
	uint64_t redirected;

	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", slow);
	t_client(T_POD | T_CGROUP, line, "127.0.0.1", "7070", "--send", "64M", NULL);
	cr_assert_str_eq(kv(line, "result", a, sizeof(a)), "ok", "%s", line);
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert_eq(num(rep, "in"), 64u << 20, "%s", rep);
	cr_assert_str_eq(kv(rep, "sha_in", a, sizeof(a)), kv(line, "sha_out", b, sizeof(b)));
	cr_assert_eq(tpod_counter(SC_C_msg_demote_unanswered), 1);
	/* At most the bound went through sk_msg before the switch to TCP. */
	redirected = tpod_counter(SC_C_msg_redirect_bytes);
	cr_assert_gt(redirected, 0);
	cr_assert_leq(redirected, SC_DEFAULT_UNANSWERED_LIMIT);
}

Test(datapath, request_response_stays_on_sk_msg)
{
	char line[1024], v[64];

	tpod_start_daemon();
	tpod_start_server(T_POD | T_CGROUP, "127.0.0.1", "7070", echo);
	t_client(T_POD | T_CGROUP, line, "127.0.0.1", "7070", "--repeat", "200", "--send", "4096",
		 NULL);
	cr_assert_str_eq(kv(line, "ok", v, sizeof(v)), "200", "%s", line);
	/* Every request and every echo went socket to socket, none demoted. */
	cr_assert_eq(tpod_counter(SC_C_msg_demote_unanswered), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_demote_peer_missing), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_pass), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect_bytes), 2 * 200 * 4096);
}

/* The server half-closes first and goes on reading; through the proxy and sk_msg both halves
 * of the connection end independently. */
Test(datapath, half_close_in_each_direction_through_proxy)
{
	static const char *const source[] = {"--mode", "source", "--bytes", "2M", NULL};
	char line[1024], rep[1024], a[128], b[128];

	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", source);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "1M", NULL);
	cr_assert_str_eq(kv(line, "result", a, sizeof(a)), "ok", "%s", line);
	cr_assert_eq(num(line, "sent"), 1u << 20);
	cr_assert_eq(num(line, "recv"), 2u << 20);
	t_server_report(0, rep, sizeof(rep), 5000);
	cr_assert_eq(num(rep, "in"), 1u << 20, "%s", rep);
	cr_assert_str_eq(kv(rep, "sha_in", a, sizeof(a)), kv(line, "sha_out", b, sizeof(b)));
	cr_assert_str_eq(kv(rep, "sha_out", a, sizeof(a)), kv(line, "sha_in", b, sizeof(b)));
	cr_assert_gt(tpod_counter(SC_C_msg_redirect), 0);
}

Test(datapath, acceleration_false_keeps_redirection_without_sk_msg)
{
	char line[1024];

	tpod_write_config("acceleration: false\n");
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", "--send", "1M", NULL);
	t_assert_intact(line, "1048576");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
	cr_assert_eq(tpod_counter(SC_C_sockops_sockhash_insert), 0);
	cr_assert_eq(tpod_counter(SC_C_msg_redirect), 0);
	cr_assert_eq(tpod_map_entries(SC_MAP_SOCKHASH), 0);
}
