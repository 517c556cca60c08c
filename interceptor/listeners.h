/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The proxy's inbound listeners that were listening before sockops could see their listen():
 * found with sock_diag and registered in sc_listeners by the sc_listen_scan program
 * (bpf/listeners.bpf.c).
 */
#ifndef SC_LISTENERS_H
#define SC_LISTENERS_H

#include <linux/types.h>

struct sc_listen_scan {
	int prog_fd;   /* sc_listen_scan */
	int map_fd;    /* sc_listeners */
	int netns_fd;  /* the pod's network namespace */
	int cgroup_fd; /* the pod's cgroup */
	__u16 port;    /* the inbound port */
};

/*
 * Register every TCP socket of the pod's cgroup (or a cgroup below it) that listens on S->port in
 * the pod's network namespace, and drop the entries of any other port (an inbound port the policy
 * left). The calling thread enters that namespace for the time of the call. Returns the number of
 * sockets registered, or -errno; each problem is logged with what it means for inbound connections.
 */
int sc_listeners_scan(const struct sc_listen_scan *s);

#endif /* SC_LISTENERS_H */
