// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Attaching a pod's programs, and adopting what an earlier run pinned (links.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sidecap.skel.h"
#include "links.h"
#include "log.h"
#include "pod.h"

struct bpf_program *sc_link_prog(struct sidecap_bpf *skel, enum sc_link l, bool full)
{
	switch (l) {
	case SC_LINK_CONNECT4:
		return full ? skel->progs.sc_connect4 : skel->progs.sc_connect4_510;
	case SC_LINK_CONNECT6:
		return full ? skel->progs.sc_connect6 : skel->progs.sc_connect6_510;
	case SC_LINK_GETPEERNAME4:
		return skel->progs.sc_getpeername4;
	case SC_LINK_GETPEERNAME6:
		return skel->progs.sc_getpeername6;
	case SC_LINK_SOCKOPS:
		return full ? skel->progs.sc_sockops : skel->progs.sc_sockops_510;
	case SC_LINK_GETSOCKOPT:
		return skel->progs.sc_getsockopt;
	case SC_LINK_SK_LOOKUP:
		return skel->progs.sc_sk_lookup;
	case SC_LINK_SENDMSG4:
		return skel->progs.sc_sendmsg4;
	case SC_LINK_SENDMSG6:
		return skel->progs.sc_sendmsg6;
	case SC_LINK_RECVMSG4:
		return skel->progs.sc_recvmsg4;
	case SC_LINK_RECVMSG6:
		return skel->progs.sc_recvmsg6;
	default:
		return full ? skel->progs.sc_sk_msg : skel->progs.sc_sk_msg_510;
	}
}

/* The node's sk_msg program exists at the full level only: no pairing without the netns cookie. */
void sc_set_level(struct sidecap_bpf *skel, bool full)
{
	struct bpf_program *full_only[] = {
		skel->progs.sc_connect4, skel->progs.sc_connect6, skel->progs.sc_sockops,
		skel->progs.sc_sk_msg,	 skel->progs.sc_sk_msg_node,
	};
	struct bpf_program *v510[] = {
		skel->progs.sc_connect4_510,
		skel->progs.sc_connect6_510,
		skel->progs.sc_sockops_510,
		skel->progs.sc_sk_msg_510,
	};
	size_t i;

	for (i = 0; i < sizeof(full_only) / sizeof(full_only[0]); i++)
		bpf_program__set_autoload(full_only[i], full);
	for (i = 0; i < sizeof(v510) / sizeof(v510[0]); i++)
		bpf_program__set_autoload(v510[i], !full);
}

enum bpf_attach_type sc_link_attach_type(enum sc_link l)
{
	switch (l) {
	case SC_LINK_CONNECT4:
		return BPF_CGROUP_INET4_CONNECT;
	case SC_LINK_CONNECT6:
		return BPF_CGROUP_INET6_CONNECT;
	case SC_LINK_GETPEERNAME4:
		return BPF_CGROUP_INET4_GETPEERNAME;
	case SC_LINK_GETPEERNAME6:
		return BPF_CGROUP_INET6_GETPEERNAME;
	case SC_LINK_SOCKOPS:
		return BPF_CGROUP_SOCK_OPS;
	case SC_LINK_GETSOCKOPT:
		return BPF_CGROUP_GETSOCKOPT;
	case SC_LINK_SK_LOOKUP:
		return BPF_SK_LOOKUP;
	case SC_LINK_SENDMSG4:
		return BPF_CGROUP_UDP4_SENDMSG;
	case SC_LINK_SENDMSG6:
		return BPF_CGROUP_UDP6_SENDMSG;
	case SC_LINK_RECVMSG4:
		return BPF_CGROUP_UDP4_RECVMSG;
	case SC_LINK_RECVMSG6:
		return BPF_CGROUP_UDP6_RECVMSG;
	default:
		return BPF_SK_MSG_VERDICT;
	}
}

static int sc_cgroup_id(int cgroup_fd, __u64 *id)
{
	struct stat st;

	if (fstat(cgroup_fd, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

/*
 * A link pinned by an earlier run: swap in the new program atomically (interception never
 * pauses). The link must belong to the same cgroup, or the pins are another pod's.
 */
static int sc_adopt_link(struct sc_pod *pod, enum sc_link l, const char *path, int prog_fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	__u64 cgid = 0;
	int fd, err;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		goto out_close;
	}
	if (info.type == BPF_LINK_TYPE_CGROUP && !sc_cgroup_id(pod->cgroup_fd, &cgid) &&
	    info.cgroup.cgroup_id != cgid) {
		pr_warn("%s: attached to cgroup id %llu, not to this config's cgroup (id %llu); "
			"run `interceptor cleanup` for the old pin path first\n",
			path, (unsigned long long)info.cgroup.cgroup_id, (unsigned long long)cgid);
		err = -EEXIST;
		goto out_close;
	}
	if (info.type == BPF_LINK_TYPE_NETNS && pod->netns_fd >= 0) {
		struct stat st;

		if (!fstat(pod->netns_fd, &st) && st.st_ino != info.netns.netns_ino) {
			pr_warn("%s: linked into another network namespace (inode %u, not %lu); "
				"run `interceptor cleanup` for the old pin path first\n",
				path, info.netns.netns_ino, (unsigned long)st.st_ino);
			err = -EEXIST;
			goto out_close;
		}
	}
	if (bpf_link_update(fd, prog_fd, NULL)) {
		err = -errno;
		pr_warn("%s: replacing the program failed: %s\n", path, strerror(-err));
		goto out_close;
	}
	pod->link_fd[l] = fd;
	pod->adopted++;
	return 0;
out_close:
	close(fd);
	return err;
}

static int sc_new_link(struct sc_pod *pod, enum sc_link l, const char *path, int prog_fd)
{
	int target = l == SC_LINK_SK_LOOKUP ? pod->netns_fd : pod->cgroup_fd;
	int fd = bpf_link_create(prog_fd, target, sc_link_attach_type(l), NULL);

	if (fd < 0) {
		int err = -errno;

		pr_warn("attaching %s: %s\n", sc_link_names[l], strerror(-err));
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		pr_warn("pinning %s at %s: %s\n", sc_link_names[l], path, strerror(-err));
		close(fd);
		return err;
	}
	pod->link_fd[l] = fd;
	return 0;
}

/*
 * Attach PROG_FD as the sk_msg verdict of the sockhash MAP_FD, kept under DIR (a pod's pin path,
 * or the node directory) so that it outlives the daemon: through a bpf_link pinned at
 * links/sk_msg where the kernel has sockmap links (6.10), else with bpf_prog_attach and the program
 * pinned at progs/sk_msg, which is what cleanup detaches (sc_detach_msg). What is pinned already is
 * adopted: the link is updated, or the new program attached over the old one (a sockhash has one
 * verdict program: attaching replaces it) and pinned in its place. Sockets already in the sockhash
 * keep the program they were inserted with. Returns the link's fd (-1 without a link), or -errno;
 * *ADOPTED tells whether something was pinned.
 */
static int sc_attach_msg(const char *dir, int prog_fd, int map_fd, bool have_link, bool *adopted)
{
	char lpath[PATH_MAX], ppath[PATH_MAX];
	int fd, err;

	*adopted = false;
	if (sc_pin_link_path(lpath, sizeof(lpath), dir, "sk_msg") ||
	    sc_pin_prog_path(ppath, sizeof(ppath), dir, "sk_msg"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(lpath);
	if (fd >= 0) {
		*adopted = true;
		if (bpf_link_update(fd, prog_fd, NULL)) {
			err = -errno;
			close(fd);
			return err;
		}
		return fd;
	}
	if (have_link) {
		fd = bpf_link_create(prog_fd, map_fd, BPF_SK_MSG_VERDICT, NULL);
		if (fd < 0)
			return -errno;
		if (bpf_obj_pin(fd, lpath)) {
			err = -errno;
			bpf_link_detach(fd);
			close(fd);
			return err;
		}
		return fd;
	}
	snprintf(lpath, sizeof(lpath), "%s/progs", dir);
	err = sc_mkdir_p(lpath, 0700);
	if (err)
		return err;
	if (bpf_prog_attach(prog_fd, map_fd, BPF_SK_MSG_VERDICT, 0))
		return -errno;
	*adopted = !access(ppath, F_OK);
	if ((*adopted && unlink(ppath)) || bpf_obj_pin(prog_fd, ppath)) {
		err = -errno;
		bpf_prog_detach2(prog_fd, map_fd, BPF_SK_MSG_VERDICT);
		return err;
	}
	return -1;
}

int sc_link_attach(struct sc_pod *pod, enum sc_link l, bool *created)
{
	int prog_fd = bpf_program__fd(sc_link_prog(pod->skel, l, pod->full));
	char path[PATH_MAX];
	bool adopted;
	int err;

	*created = false;
	if (l == SC_LINK_SK_MSG) {
		err = sc_attach_msg(pod->pin_path, prog_fd, bpf_map__fd(pod->skel->maps.sc_sockhash),
				    pod->feat.sockmap_link, &adopted);
		if (err < -1) {
			pr_warn("attaching sk_msg: %s\n", strerror(-err));
			return err;
		}
		pod->link_fd[l] = err;
		pod->adopted += adopted;
		*created = !adopted;
		return 0;
	}
	err = sc_pin_link_path(path, sizeof(path), pod->pin_path, sc_link_names[l]);
	if (err)
		return err;
	if (access(path, F_OK) == 0)
		return sc_adopt_link(pod, l, path, prog_fd);
	err = sc_new_link(pod, l, path, prog_fd);
	*created = !err;
	return err;
}

void sc_link_undo(struct sc_pod *pod, enum sc_link l)
{
	char path[PATH_MAX];

	if (pod->link_fd[l] < 0) {
		/* sk_msg attached without a link */
		sc_detach_msg(pod->pin_path, SC_MAP_SOCKHASH);
		return;
	}
	if (!sc_pin_link_path(path, sizeof(path), pod->pin_path, sc_link_names[l])) {
		bpf_link_detach(pod->link_fd[l]);
		unlink(path);
	}
}

/*
 * The node's sk_msg program on the node sockhash: one per node, pinned with the node maps. Each
 * pod attaches its own copy of the same program: the first attaches it, the next ones swap their
 * copy in, so it outlives any one pod's daemon.
 */
int sc_node_link(struct sc_pod *pod, const char *node)
{
	int prog_fd, map_fd, fd;
	bool adopted;

	if (!pod->full)
		return 0;
	prog_fd = bpf_program__fd(pod->skel->progs.sc_sk_msg_node);
	map_fd = bpf_map__fd(pod->skel->maps.sc_xsocks);
	fd = sc_attach_msg(node, prog_fd, map_fd, pod->feat.sockmap_link, &adopted);
	if (fd < -1) {
		pr_warn("%s: %s the node sk_msg program: %s (run `interceptor cleanup` for every pod "
			"of the node)\n",
			node, adopted ? "replacing" : "attaching", strerror(-fd));
		return fd;
	}
	pod->node_link_fd = fd;
	return 0;
}

int sc_pod_link_program(const char *pin_path, enum sc_link l, char *name, size_t len)
{
	struct bpf_link_info info = {};
	struct bpf_prog_info prog = {};
	__u32 ilen = sizeof(info), plen = sizeof(prog);
	char path[PATH_MAX];
	int fd, pfd;

	name[0] = '\0';
	if (sc_pin_link_path(path, sizeof(path), pin_path, sc_link_names[l]))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			close(fd);
			return -errno;
		}
		close(fd);
		pfd = bpf_prog_get_fd_by_id(info.prog_id);
	} else if (l == SC_LINK_SK_MSG && !sc_pin_prog_path(path, sizeof(path), pin_path, "sk_msg")) {
		pfd = bpf_obj_get(path);
		if (pfd < 0)
			return errno == ENOENT ? 0 : -errno;
	} else {
		return errno == ENOENT ? 0 : -errno;
	}
	if (pfd >= 0) {
		if (!bpf_obj_get_info_by_fd(pfd, &prog, &plen))
			snprintf(name, len, "%s", prog.name);
		close(pfd);
	}
	return 1;
}
