// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The host's network namespace, recognised on every kernel. Its inode number is no help: a fixed
 * 0xEFFFFFF9 on recent kernels, the first number handed out (4026531840) on 6.12 and older. Nor is
 * /proc/1, which is another pid namespace's init in a container. What every kernel does alike: the
 * global part of net.core (netdev_max_backlog among it) is registered in the initial namespace
 * only, while somaxconn is in every namespace, and /proc/sys/net shows the namespace of the thread
 * that reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "netns.h"

int sc_netns_is_host(int fd)
{
	int self, ret, err = 0;

	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		return err;
	}
	if (access("/proc/sys/net/core/somaxconn", F_OK))
		ret = -ENOENT; /* no /proc/sys to ask */
	else
		ret = !access("/proc/sys/net/core/netdev_max_backlog", F_OK);
	if (setns(self, CLONE_NEWNET))
		err = -errno;
	close(self);
	return err ? err : ret;
}
