// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Registering the proxy's inbound listeners that sockops could not see (bpf/listeners.bpf.c says
 * why they exist and how the program registers them). Here: list the listening sockets of the
 * pod's network namespace with sock_diag, and run sc_listen_scan once for each one on the inbound
 * port.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "sidecap.h"
#include "listeners.h"
#include "log.h"

#define SC_TCP_LISTEN 10

/* One listening socket, as sock_diag reports it. */
struct sc_diag_listener {
	int family;
	__u32 addr[4]; /* network order */
	__u32 uid;
	__u32 inode;
	__u64 cgroup_id; /* 0: the kernel did not say (INET_DIAG_CGROUP_ID came in Linux 5.7) */
};

typedef int (*sc_listener_fn)(const struct sc_diag_listener *l, void *arg);

static int sc_diag_request(int fd, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh =
			{
				.nlmsg_len = sizeof(msg),
				.nlmsg_type = SOCK_DIAG_BY_FAMILY,
				.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			},
		.req =
			{
				.sdiag_family = family,
				.sdiag_protocol = IPPROTO_TCP,
				.idiag_states = 1u << SC_TCP_LISTEN,
			},
	};

	return send(fd, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg) ? 0 : -errno;
}

/* The INET_DIAG_CGROUP_ID attribute that follows M in H, or 0. */
static __u64 sc_diag_cgroup_id(const struct nlmsghdr *h, const struct inet_diag_msg *m)
{
	const char *p = (const char *)(m + 1), *end = (const char *)h + h->nlmsg_len;
	__u64 id;

	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == INET_DIAG_CGROUP_ID &&
		    a->nla_len >= NLA_HDRLEN + sizeof(id)) {
			memcpy(&id, p + NLA_HDRLEN, sizeof(id));
			return id;
		}
		p += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

/* Call FN for each TCP socket of FAMILY listening on PORT in the calling thread's network
 * namespace. 0, FN's first non-zero result, or -errno. */
static int sc_diag_listeners(int family, __u16 port, sc_listener_fn fn, void *arg)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	err = sc_diag_request(fd, family);
	while (!err) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0) {
			err = -EPROTO;
			break;
		}
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			struct sc_diag_listener l = {.family = family};

			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error ? e->error : -EPROTO;
				goto out;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) ||
			    m->idiag_state != SC_TCP_LISTEN || ntohs(m->id.idiag_sport) != port)
				continue;
			memcpy(l.addr, m->id.idiag_src, sizeof(l.addr));
			l.uid = m->idiag_uid;
			l.inode = m->idiag_inode;
			l.cgroup_id = sc_diag_cgroup_id(h, m);
			err = fn(&l, arg);
			if (err)
				goto out;
		}
	}
out:
	close(fd);
	return err;
}

static void sc_addr_str(const struct sc_diag_listener *l, __u16 port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(l->family, l->addr, a, sizeof(a));
	snprintf(buf, len, l->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

/* The ids of a cgroup and of every cgroup below it. */
struct sc_cgroup_ids {
	size_t n, cap;
	__u64 *v;
};

static int sc_cgroup_ids_add(struct sc_cgroup_ids *ids, __u64 id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 16;
		__u64 *v = realloc(ids->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
	return 0;
}

/* Add the cgroup directory DIRFD (taken over) and its descendants; a cgroup's id is its inode. */
static int sc_cgroup_ids_walk(struct sc_cgroup_ids *ids, int dirfd, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int err;

	if (fstat(dirfd, &st)) {
		close(dirfd);
		return -errno;
	}
	err = sc_cgroup_ids_add(ids, st.st_ino);
	dir = err ? NULL : fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return err ? err : -errno;
	}
	while (!err && depth < 32 && (de = readdir(dir))) {
		int fd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			err = sc_cgroup_ids_walk(ids, fd, depth + 1);
	}
	closedir(dir);
	return err;
}

static bool sc_cgroup_ids_has(const struct sc_cgroup_ids *ids, __u64 id)
{
	size_t i;

	for (i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

struct sc_scan_ctx {
	const struct sc_listen_scan *s;
	struct sc_cgroup_ids pod; /* the pod's cgroup and its descendants */
	int registered;
	int outside;
};

/* Ask sc_listen_scan to register L. 0, or -errno when the program could not be run at all. */
static int sc_register_one(const struct sc_diag_listener *l, void *arg)
{
	struct sc_scan_ctx *ctx = arg;
	const struct sc_listen_scan *s = ctx->s;
	struct {
		struct ethhdr eth;
		struct sc_listen_req req;
	} __attribute__((packed)) pkt = {
		/* IPv4 whatever the family: the program reads only the request, and a test run
		 * refuses an IPv6 frame too short for an IPv6 header (EINVAL). */
		.eth.h_proto = htons(ETH_P_IP),
		.req =
			{
				.family = l->family,
				.port = s->port,
			},
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = &pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	static const __u32 any[4];
	char where[INET6_ADDRSTRLEN + 16];
	__u32 verdict;

	memcpy(pkt.req.addr, l->addr, sizeof(pkt.req.addr));
	/* A wildcard listener is found through loopback, which it also listens on. */
	if (!memcmp(l->addr, any, l->family == AF_INET ? 4 : 16)) {
		if (l->family == AF_INET)
			pkt.req.addr[0] = htonl(INADDR_LOOPBACK);
		else
			pkt.req.addr[3] = htonl(1);
	}
	sc_addr_str(l, s->port, where, sizeof(where));
	/* What sockops would see: a socket of the pod's cgroup or of one below it (the proxy's
	 * container). Any other socket of the namespace is not the proxy. */
	if (l->cgroup_id && !sc_cgroup_ids_has(&ctx->pod, l->cgroup_id)) {
		ctx->outside++;
		pr_warn("a socket listens on %s in the pod's network namespace but is not in the "
			"pod's cgroup (uid %u, socket inode %u, cgroup id %llu): not registered; "
			"inbound steering takes only the proxy's own listener\n",
			where, l->uid, l->inode, (unsigned long long)l->cgroup_id);
		return 0;
	}
	if (bpf_prog_test_run_opts(s->prog_fd, &opts))
		return -errno;
	verdict = opts.retval;
	switch (verdict & 0xff) {
	case SC_LISTEN_REGISTERED:
		ctx->registered++;
		pr_info("inbound listener %s (uid %u, socket inode %u) was already listening: "
			"registered\n",
			where, l->uid, l->inode);
		break;
	case SC_LISTEN_NOT_FOUND:
		/* Closed between the listing and the lookup; a new listen() registers itself. */
		pr_debug("inbound listener %s: gone before it could be registered\n", where);
		break;
	default:
		pr_warn("registering inbound listener %s failed: %s; until the proxy listens "
			"again, "
			"inbound connections fail open or closed per proxy.failOpen\n",
			where,
			(verdict & 0xff) == SC_LISTEN_MAP_ERROR ? strerror(verdict >> 8)
								: "bad request");
		break;
	}
	return 0;
}

/* Drop what sc_listeners holds for ports other than PORT: sk_lookup never asks for them. */
static void sc_drop_other_ports(int map_fd, __u16 port)
{
	struct sc_listener_key key, next, *prev = NULL;

	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		key = next;
		if (key.port != port && !bpf_map_delete_elem(map_fd, &key))
			continue; /* deleted: start over from this key's successor */
		prev = &key;
	}
}

static int sc_scan_here(const struct sc_listen_scan *s)
{
	struct sc_scan_ctx ctx = {.s = s};
	int err, fd;

	fd = fcntl(s->cgroup_fd, F_DUPFD_CLOEXEC, 0);
	err = fd < 0 ? -errno : sc_cgroup_ids_walk(&ctx.pod, fd, 0);
	if (!err)
		err = sc_diag_listeners(AF_INET, s->port, sc_register_one, &ctx);
	if (!err)
		err = sc_diag_listeners(AF_INET6, s->port, sc_register_one, &ctx);
	if (err == -EAFNOSUPPORT || err == -ENOENT)
		err = 0; /* a kernel without IPv6: nothing listens there */
	free(ctx.pod.v);
	return err ? err : ctx.registered;
}

int sc_listeners_scan(const struct sc_listen_scan *s)
{
	struct stat own, pod;
	int self, err, back = 0;

	if (s->netns_fd < 0)
		return 0;
	sc_drop_other_ports(s->map_fd, s->port);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (fstat(self, &own) || fstat(s->netns_fd, &pod)) {
		err = -errno;
		goto out;
	}
	if (own.st_ino != pod.st_ino || own.st_dev != pod.st_dev) {
		if (setns(s->netns_fd, CLONE_NEWNET)) {
			err = -errno;
			goto out;
		}
		back = 1;
	}
	err = sc_scan_here(s);
	if (back && setns(self, CLONE_NEWNET)) {
		/* Every later socket of the daemon would be made in the pod: stop here. */
		pr_warn("returning to the daemon's network namespace failed: %s\n",
			strerror(errno));
		err = -errno;
	}
out:
	close(self);
	if (err < 0)
		pr_warn("looking for inbound listeners already listening on port %u: %s\n", s->port,
			strerror(-err));
	return err;
}
