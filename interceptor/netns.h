/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Network namespaces: which one is the host's. */
#ifndef SC_NETNS_H
#define SC_NETNS_H

/*
 * Whether the network namespace FD is the host's (initial) one: 1, 0, or -errno when it cannot be
 * told (callers then take it as the host's). The calling thread enters FD for a moment.
 */
int sc_netns_is_host(int fd);

#endif /* SC_NETNS_H */
