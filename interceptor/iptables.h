/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * mode: iptables, the baseline sidecap replaces: the nat REDIRECT rules of istio-iptables,
 * generated from the same config, applied atomically with iptables-restore --noflush inside the
 * pod's network namespace (never the host's), and removed chain by chain. No libbpf here.
 */
#ifndef SC_IPTABLES_H
#define SC_IPTABLES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Istio's HBONE tunnel port: never captured, inbound or back to the proxy over loopback. */
#define SC_IPT_TUNNEL_PORT 15008

/* Our chains of the nat table, in the order Istio creates them; ISTIO_OUTPUT_DNS only with
 * dns.capture. */
enum sc_ipt_chain {
	SC_IPT_INBOUND,
	SC_IPT_REDIRECT,
	SC_IPT_IN_REDIRECT,
	SC_IPT_OUTPUT,
	SC_IPT_OUTPUT_DNS,
	SC_IPT__CHAINS,
};

/* Our chains of the raw table (dns.capture: the conntrack zones of DNS). */
enum sc_ipt_raw_chain {
	SC_IPT_RAW_OUTPUT_DNS,
	SC_IPT_RAW_INBOUND,
	SC_IPT__RAW_CHAINS,
};

extern const char *const sc_ipt_raw_chain_names[SC_IPT__RAW_CHAINS];

extern const char *const sc_ipt_chain_names[SC_IPT__CHAINS];

/* The jumps from the built-in chains into ours, exactly as iptables-save prints them: two in
 * nat, and two in raw with dns.capture. */
#define SC_IPT_JUMP_PREROUTING	   "-A PREROUTING -p tcp -j ISTIO_INBOUND"
#define SC_IPT_JUMP_OUTPUT	   "-A OUTPUT -j ISTIO_OUTPUT"
#define SC_IPT_JUMP_RAW_OUTPUT	   "-A OUTPUT -j ISTIO_OUTPUT_DNS"
#define SC_IPT_JUMP_RAW_PREROUTING "-A PREROUTING -j ISTIO_INBOUND"

/* The proxy's DNS traffic and the app's are kept in two conntrack zones (Istio's numbers). */
#define SC_IPT_ZONE_UPSTREAM 1 /* the proxy's queries to the servers, and their answers */
#define SC_IPT_ZONE_APP	     2 /* the app's queries, and the proxy's answers to them */

/* What of ours the nat and raw tables hold, read from `iptables-save`. */
struct sc_ipt_state {
	bool chain[SC_IPT__CHAINS];
	int prerouting_jumps; /* lines equal to SC_IPT_JUMP_PREROUTING */
	int output_jumps;     /* lines equal to SC_IPT_JUMP_OUTPUT */
	bool raw_chain[SC_IPT__RAW_CHAINS];
	int raw_output_jumps;	  /* SC_IPT_JUMP_RAW_OUTPUT in raw */
	int raw_prerouting_jumps; /* SC_IPT_JUMP_RAW_PREROUTING in raw */
};

/*
 * The iptables-restore input (table nat, and raw with dns.capture: chain declarations, rules,
 * COMMIT) that installs CFG's
 * policy for FAMILY (AF_INET for iptables, AF_INET6 for ip6tables) in a table holding nothing of
 * ours. *TEXT is malloc'ed. 0 or -errno.
 */
int sc_iptables_rules(const struct sc_config *cfg, int family, char **text);

/*
 * The input for `iptables-restore --noflush` that takes a table holding HAVE to CFG's rules in
 * one transaction: declaring a chain creates it, or flushes it when it exists; the jumps are
 * added when missing and the inbound one deleted when CFG captures no inbound port.
 */
int sc_iptables_update(const struct sc_config *cfg, int family, const struct sc_ipt_state *have,
		       char **text);

/*
 * The input that removes what HAVE shows of ours (our jumps, then our chains) and nothing else;
 * *TEXT is NULL when there is nothing to remove.
 */
int sc_iptables_removal(const struct sc_ipt_state *have, char **text);

/* Read `iptables-save` output (the nat and raw tables; others are ignored). */
void sc_iptables_parse_save(const char *save, struct sc_ipt_state *st);

/*
 * Open PATH as a network namespace for iptables mode: 0 and *FD, or -errno with the reason
 * logged. The host's namespace (inode PROC_NET_INIT_INO) is refused with -EPERM.
 */
int sc_iptables_open_netns(const char *path, int *fd);

/* Whether FD is a network namespace other than the host's. */
bool sc_iptables_netns_ok(int fd);

/* The backend of the default `iptables`, from `iptables -V`: "nf_tables", "legacy" (copied to
 * BUF), or -errno when the command is missing (-ENOENT) or says neither. */
int sc_iptables_backend(const char *tool, char *buf, size_t len);

/*
 * Install or replace CFG's rules in the netns NETNS_FD, IPv4 then IPv6 (IPv6 skipped when the
 * kernel has none). Each family's input is first checked with --test, so a rule the kernel
 * refuses changes nothing. 0 or -errno, the tool's own message logged.
 */
int sc_iptables_apply(const struct sc_config *cfg, int netns_fd);

/* Remove our chains and jumps from the netns NETNS_FD, both families. 0 or -errno. */
int sc_iptables_remove(int netns_fd);

#endif /* SC_IPTABLES_H */
