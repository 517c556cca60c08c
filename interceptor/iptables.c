// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mode: iptables. The rules are those of istio-iptables in REDIRECT mode (tools/istio-iptables,
 * pkg/capture/run.go), same chains, same order, generated from sidecap's config; the daemon
 * applies them with one `iptables-restore --noflush` per family, run in a child that has entered
 * the pod's network namespace with setns(). Nothing here ever runs a rule-changing command
 * without a network namespace fd, and the host's namespace is refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "iptables.h"
#include "log.h"

/* The inode of the initial network namespace, fixed by the kernel (PROC_NET_INIT_INO). */
#define SC_NET_INIT_INO 0xEFFFFFF9u

/* An iptables-restore that takes longer than this is stuck (a held xtables lock, say). */
#define SC_IPT_TIMEOUT_MS 30000

const char *const sc_ipt_chain_names[SC_IPT__CHAINS] = {
	[SC_IPT_INBOUND] = "ISTIO_INBOUND",	    [SC_IPT_REDIRECT] = "ISTIO_REDIRECT",
	[SC_IPT_IN_REDIRECT] = "ISTIO_IN_REDIRECT", [SC_IPT_OUTPUT] = "ISTIO_OUTPUT",
	[SC_IPT_OUTPUT_DNS] = "ISTIO_OUTPUT_DNS",
};

const char *const sc_ipt_raw_chain_names[SC_IPT__RAW_CHAINS] = {
	[SC_IPT_RAW_OUTPUT_DNS] = "ISTIO_OUTPUT_DNS",
	[SC_IPT_RAW_INBOUND] = "ISTIO_INBOUND",
};

/* What differs between the IPv4 and the IPv6 rules. */
struct sc_ipt_family {
	int family;
	const char *loopback;	 /* the proxy's and the app's own loopback address */
	const char *passthrough; /* the source of the proxy's inbound hop to the app */
	unsigned int host_len;	 /* the prefix length of one address */
};

static const struct sc_ipt_family sc_ipt_v4 = {AF_INET, "127.0.0.1/32", "127.0.0.6/32", 32};
static const struct sc_ipt_family sc_ipt_v6 = {AF_INET6, "::1/128", "::6/128", 128};

/* Whether the sorted set S lists PORT. */
static bool sc_port_listed(const struct sc_port_set *s, uint16_t port)
{
	size_t lo = 0, hi = s->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->v[mid] == port)
			return true;
		if (s->v[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Inbound ports never captured: inbound.excludePorts and proxy.adminPorts. */
static bool sc_in_excluded(const struct sc_config *cfg, uint16_t port)
{
	return sc_port_listed(&cfg->inbound.exclude_ports, port) ||
	       sc_port_listed(&cfg->proxy.admin_ports, port);
}

/* Write "-A ISTIO_INBOUND -p tcp --dport P -j RETURN" for each port of the two sorted lists
 * of excluded inbound ports, in order, once each. */
static void sc_ipt_inbound_excludes(FILE *f, const struct sc_config *cfg)
{
	const struct sc_port_set *a = &cfg->inbound.exclude_ports, *b = &cfg->proxy.admin_ports;
	size_t i = 0, j = 0;
	uint16_t port;

	while (i < a->n || j < b->n) {
		if (j == b->n || (i < a->n && a->v[i] <= b->v[j]))
			port = a->v[i];
		else
			port = b->v[j];
		i += i < a->n && a->v[i] == port;
		j += j < b->n && b->v[j] == port;
		fprintf(f, "-A ISTIO_INBOUND -p tcp --dport %u -j RETURN\n", port);
	}
}

static void sc_cidr_str(const struct sc_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, c->prefixlen);
}

/* Istio's NetworkRange.HasLoopBackIP, over both families as Istio checks it: 127/8 or ::1. */
static bool sc_includes_loopback(const struct sc_config *cfg)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};
	const struct sc_cidr_set *s = &cfg->outbound.include_ranges;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i].family == AF_INET && s->v[i].addr[0] == 127)
			return true;
		if (s->v[i].family == AF_INET6 && !memcmp(s->v[i].addr, v6_loopback, 16))
			return true;
	}
	return false;
}

/* A prefix of length 0 of the family: what "*" gives, every address. */
static bool sc_includes_all(const struct sc_config *cfg, int family)
{
	const struct sc_cidr_set *s = &cfg->outbound.include_ranges;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].family == family && s->v[i].prefixlen == 0)
			return true;
	return false;
}

/*
 * The owner rules, for "--uid-owner ID" or "--gid-owner ID". With DNS capture (DNS), the app's
 * TCP queries over loopback (to a local resolver such as 127.0.0.53) are not returned early but
 * go on to ISTIO_OUTPUT_DNS; Istio then also keeps the proxy's port-53 connections over
 * loopback out of the inbound redirect, for the uid only.
 */
static void sc_ipt_owner(FILE *f, const struct sc_ipt_family *fam, const char *match,
			 unsigned int id, bool loopback_included, bool dns)
{
	/* The proxy calling a service on its own pod through the pod's address: back in, inbound.
	 */
	if (dns && !strcmp(match, "uid-owner"))
		fprintf(f,
			"-A ISTIO_OUTPUT -o lo ! -d %s -p tcp -m multiport ! --dports 53,%u "
			"-m owner --%s %u -j ISTIO_IN_REDIRECT\n",
			fam->loopback, SC_IPT_TUNNEL_PORT, match, id);
	else
		fprintf(f,
			"-A ISTIO_OUTPUT -o lo ! -d %s -p tcp ! --dport %u -m owner --%s %u "
			"-j ISTIO_IN_REDIRECT\n",
			fam->loopback, SC_IPT_TUNNEL_PORT, match, id);
	/* The app calling itself over loopback by its own address: left alone, unless loopback
	 * addresses were included on purpose. */
	if (!loopback_included && dns)
		fprintf(f,
			"-A ISTIO_OUTPUT -o lo -p tcp ! --dport 53 -m owner ! --%s %u -j RETURN\n",
			match, id);
	else if (!loopback_included)
		fprintf(f, "-A ISTIO_OUTPUT -o lo -m owner ! --%s %u -j RETURN\n", match, id);
	/* The proxy's own connections to their real destinations. */
	fprintf(f, "-A ISTIO_OUTPUT -m owner --%s %u -j RETURN\n", match, id);
}

/* The outbound capture: Istio's includeOutboundPorts and includeOutboundIPRanges, but meaning
 * what sidecap's config means, a port included AND an address included. */
static void sc_ipt_outbound_include(FILE *f, const struct sc_config *cfg, int family)
{
	const struct sc_port_set *ports = &cfg->outbound.include_ports;
	const struct sc_cidr_set *cidrs = &cfg->outbound.include_ranges;
	char cidr[INET6_ADDRSTRLEN + 8];
	size_t i, j;

	if (sc_includes_all(cfg, family)) {
		if (ports->all)
			fprintf(f, "-A ISTIO_OUTPUT -j ISTIO_REDIRECT\n");
		for (j = 0; !ports->all && j < ports->n; j++)
			fprintf(f, "-A ISTIO_OUTPUT -p tcp --dport %u -j ISTIO_REDIRECT\n",
				ports->v[j]);
		return;
	}
	for (i = 0; i < cidrs->n; i++) {
		if (cidrs->v[i].family != family)
			continue;
		sc_cidr_str(&cidrs->v[i], cidr, sizeof(cidr));
		if (ports->all)
			fprintf(f, "-A ISTIO_OUTPUT -d %s -j ISTIO_REDIRECT\n", cidr);
		for (j = 0; !ports->all && j < ports->n; j++)
			fprintf(f, "-A ISTIO_OUTPUT -d %s -p tcp --dport %u -j ISTIO_REDIRECT\n",
				cidr, ports->v[j]);
	}
}

/* Whether FAMILY's DNS is captured: dns.capture, and every server or some of FAMILY listed. */
static bool sc_ipt_dns_family(const struct sc_config *cfg, int family)
{
	size_t i;

	if (!cfg->dns.capture)
		return false;
	if (!cfg->dns.servers.n)
		return true;
	for (i = 0; i < cfg->dns.servers.n; i++)
		if (cfg->dns.servers.v[i].family == family)
			return true;
	return false;
}

/*
 * Write "-A CHAIN" HEAD " -d S/len" TAIL for each listed server of FAM's family ("-s" for
 * SOURCE), or once without an address when every server is captured (dns.servers empty).
 */
static void sc_ipt_per_server(FILE *f, const struct sc_config *cfg, const struct sc_ipt_family *fam,
			      const char *chain, const char *head, bool source, const char *tail)
{
	char addr[INET6_ADDRSTRLEN];
	size_t i;

	if (!cfg->dns.servers.n) {
		fprintf(f, "-A %s %s %s\n", chain, head, tail);
		return;
	}
	for (i = 0; i < cfg->dns.servers.n; i++) {
		if (cfg->dns.servers.v[i].family != fam->family)
			continue;
		inet_ntop(fam->family, cfg->dns.servers.v[i].addr, addr, sizeof(addr));
		fprintf(f, "-A %s %s %s %s/%u %s\n", chain, head, source ? "-s" : "-d", addr,
			fam->host_len, tail);
	}
}

/* The owner matches of the proxy's uid and (when set) gid, in that order, into MATCH[2]. */
static int sc_ipt_owners(const struct sc_config *cfg, char match[2][48])
{
	snprintf(match[0], sizeof(match[0]), "--uid-owner %u", cfg->proxy.uid);
	if (!cfg->proxy.has_gid)
		return 1;
	snprintf(match[1], sizeof(match[1]), "--gid-owner %u", cfg->proxy.gid);
	return 2;
}

/* istio-iptables' SetupDNSRedir, nat part: TCP and UDP port 53 to dns.port, the proxy's own
 * UDP queries returned first. */
static void sc_ipt_dns_nat(FILE *f, const struct sc_config *cfg, const struct sc_ipt_family *fam)
{
	char match[2][48], tail[48];
	int n = sc_ipt_owners(cfg, match), i;

	fprintf(f, "-A ISTIO_OUTPUT -j ISTIO_OUTPUT_DNS\n");
	snprintf(tail, sizeof(tail), "-j REDIRECT --to-ports %u", cfg->dns.port);
	sc_ipt_per_server(f, cfg, fam, "ISTIO_OUTPUT_DNS", "-p tcp --dport 53", false, tail);
	for (i = 0; i < n; i++)
		fprintf(f, "-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner %s -j RETURN\n",
			match[i]);
	snprintf(tail, sizeof(tail), "-j REDIRECT --to-port %u", cfg->dns.port);
	sc_ipt_per_server(f, cfg, fam, "ISTIO_OUTPUT_DNS", "-p udp --dport 53", false, tail);
}

/*
 * istio-iptables' addDNSConntrackZones: the proxy's upstream queries (and its answers to the
 * app) and the app's queries (and the servers' answers) in two conntrack zones, so that the two
 * UDP flows of one captured query never share a conntrack entry.
 */
static void sc_ipt_dns_raw(FILE *f, const struct sc_config *cfg, const struct sc_ipt_family *fam,
			   const struct sc_ipt_state *have)
{
	char match[2][48], zone[24];
	int n = sc_ipt_owners(cfg, match), i;
	bool dns = sc_ipt_dns_family(cfg, fam->family);

	fprintf(f, "*raw\n");
	for (i = 0; i < SC_IPT__RAW_CHAINS; i++)
		fprintf(f, ":%s - [0:0]\n", sc_ipt_raw_chain_names[i]);
	if (!have || !have->raw_output_jumps)
		fprintf(f, "%s\n", SC_IPT_JUMP_RAW_OUTPUT);
	for (i = 0; i < n; i++) {
		fprintf(f, "-A ISTIO_OUTPUT_DNS -p udp --dport 53 -m owner %s -j CT --zone %d\n",
			match[i], SC_IPT_ZONE_UPSTREAM);
		fprintf(f, "-A ISTIO_OUTPUT_DNS -p udp --sport %u -m owner %s -j CT --zone %d\n",
			cfg->dns.port, match[i], SC_IPT_ZONE_APP);
	}
	/* The inbound jump only where it has rules to jump to, as Istio does. */
	if (dns && (!have || !have->raw_prerouting_jumps))
		fprintf(f, "%s\n", SC_IPT_JUMP_RAW_PREROUTING);
	for (i = 0; !dns && have && i < have->raw_prerouting_jumps; i++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_RAW_PREROUTING[2]);
	if (dns) {
		snprintf(zone, sizeof(zone), "-j CT --zone %d", SC_IPT_ZONE_APP);
		sc_ipt_per_server(f, cfg, fam, "ISTIO_OUTPUT_DNS", "-p udp --dport 53", false,
				  zone);
		snprintf(zone, sizeof(zone), "-j CT --zone %d", SC_IPT_ZONE_UPSTREAM);
		sc_ipt_per_server(f, cfg, fam, "ISTIO_INBOUND", "-p udp --sport 53", true, zone);
	}
	fprintf(f, "COMMIT\n");
}

/* The raw table's part of sc_iptables_removal(): our jumps, then our chains. */
static void sc_ipt_raw_removal(FILE *f, const struct sc_ipt_state *have)
{
	size_t i;
	int n;

	fprintf(f, "*raw\n");
	for (n = 0; n < have->raw_output_jumps; n++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_RAW_OUTPUT[2]);
	for (n = 0; n < have->raw_prerouting_jumps; n++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_RAW_PREROUTING[2]);
	for (i = 0; i < SC_IPT__RAW_CHAINS; i++)
		if (have->raw_chain[i])
			fprintf(f, "-F %s\n", sc_ipt_raw_chain_names[i]);
	for (i = 0; i < SC_IPT__RAW_CHAINS; i++)
		if (have->raw_chain[i])
			fprintf(f, "-X %s\n", sc_ipt_raw_chain_names[i]);
	fprintf(f, "COMMIT\n");
}

static bool sc_ipt_has_raw(const struct sc_ipt_state *have)
{
	return have->raw_chain[SC_IPT_RAW_OUTPUT_DNS] || have->raw_chain[SC_IPT_RAW_INBOUND] ||
	       have->raw_output_jumps || have->raw_prerouting_jumps;
}

/*
 * Write the restore input for FAMILY. HAVE is NULL for a table holding nothing of ours;
 * otherwise the jumps it already holds are not added again, and a stale inbound jump is deleted.
 */
static int sc_ipt_render(const struct sc_config *cfg, int family, const struct sc_ipt_state *have,
			 char **text)
{
	const struct sc_ipt_family *fam = family == AF_INET6 ? &sc_ipt_v6 : &sc_ipt_v4;
	const struct sc_port_set *in = &cfg->inbound.include_ports;
	bool want_inbound = in->all || in->n;
	char cidr[INET6_ADDRSTRLEN + 8];
	size_t len, i;
	FILE *f;
	int n;

	*text = NULL;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	f = open_memstream(text, &len);
	if (!f)
		return -errno;

	fprintf(f, "*nat\n");
	for (i = 0; i < SC_IPT__CHAINS; i++)
		if (i != SC_IPT_OUTPUT_DNS || cfg->dns.capture)
			fprintf(f, ":%s - [0:0]\n", sc_ipt_chain_names[i]);
	fprintf(f, "-A ISTIO_INBOUND -p tcp --dport %u -j RETURN\n", SC_IPT_TUNNEL_PORT);
	fprintf(f, "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports %u\n",
		cfg->proxy.outbound_port);
	fprintf(f, "-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports %u\n",
		cfg->proxy.inbound_port);

	/* Inbound: istio-iptables' handleInboundPortsInclude(), REDIRECT mode. */
	if (want_inbound && (!have || !have->prerouting_jumps))
		fprintf(f, "%s\n", SC_IPT_JUMP_PREROUTING);
	for (n = 0; !want_inbound && have && n < have->prerouting_jumps; n++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_PREROUTING[2]);
	if (in->all) {
		/* Istio gets the proxy's own ports (15020, 15021, 15090) in its exclude list
		 * from the injector; here they are proxy.adminPorts. */
		sc_ipt_inbound_excludes(f, cfg);
		fprintf(f, "-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT\n");
	} else {
		/* Istio ignores the exclusions when ports are listed; an admin port is never
		 * captured here, as in mode: ebpf. */
		for (i = 0; i < in->n; i++)
			if (!sc_in_excluded(cfg, in->v[i]))
				fprintf(f,
					"-A ISTIO_INBOUND -p tcp --dport %u -j ISTIO_IN_REDIRECT\n",
					in->v[i]);
	}

	/* Outbound: the rest of Run(), in its order; exclusions before anything else. */
	if (!have || !have->output_jumps)
		fprintf(f, "%s\n", SC_IPT_JUMP_OUTPUT);
	for (i = 0; i < cfg->outbound.exclude_ports.n; i++)
		fprintf(f, "-A ISTIO_OUTPUT -p tcp --dport %u -j RETURN\n",
			cfg->outbound.exclude_ports.v[i]);
	fprintf(f, "-A ISTIO_OUTPUT -o lo -s %s -j RETURN\n", fam->passthrough);
	sc_ipt_owner(f, fam, "uid-owner", cfg->proxy.uid, sc_includes_loopback(cfg),
		     cfg->dns.capture);
	if (cfg->proxy.has_gid)
		sc_ipt_owner(f, fam, "gid-owner", cfg->proxy.gid, sc_includes_loopback(cfg),
			     cfg->dns.capture);
	if (sc_ipt_dns_family(cfg, family))
		sc_ipt_dns_nat(f, cfg, fam);
	fprintf(f, "-A ISTIO_OUTPUT -d %s -j RETURN\n", fam->loopback);
	for (i = 0; i < cfg->outbound.exclude_ranges.n; i++) {
		if (cfg->outbound.exclude_ranges.v[i].family != family)
			continue;
		sc_cidr_str(&cfg->outbound.exclude_ranges.v[i], cidr, sizeof(cidr));
		fprintf(f, "-A ISTIO_OUTPUT -d %s -j RETURN\n", cidr);
	}
	sc_ipt_outbound_include(f, cfg, family);
	/* DNS capture turned off: its chain, now unreferenced (ISTIO_OUTPUT was flushed above). */
	if (!cfg->dns.capture && have && have->chain[SC_IPT_OUTPUT_DNS])
		fprintf(f, "-F ISTIO_OUTPUT_DNS\n-X ISTIO_OUTPUT_DNS\n");
	fprintf(f, "COMMIT\n");
	if (cfg->dns.capture)
		sc_ipt_dns_raw(f, cfg, fam, have);
	else if (have && sc_ipt_has_raw(have))
		sc_ipt_raw_removal(f, have);

	if (ferror(f)) {
		fclose(f);
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int sc_iptables_rules(const struct sc_config *cfg, int family, char **text)
{
	return sc_ipt_render(cfg, family, NULL, text);
}

int sc_iptables_update(const struct sc_config *cfg, int family, const struct sc_ipt_state *have,
		       char **text)
{
	return sc_ipt_render(cfg, family, have, text);
}

int sc_iptables_removal(const struct sc_ipt_state *have, char **text)
{
	size_t len, i;
	bool any = have->prerouting_jumps || have->output_jumps;
	FILE *f;
	int n;

	*text = NULL;
	for (i = 0; i < SC_IPT__CHAINS; i++)
		any |= have->chain[i];
	if (!any && !sc_ipt_has_raw(have))
		return 0;
	f = open_memstream(text, &len);
	if (!f)
		return -errno;
	fprintf(f, "*nat\n");
	/* The jumps first: a chain still referenced cannot be deleted. */
	for (n = 0; n < have->prerouting_jumps; n++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_PREROUTING[2]);
	for (n = 0; n < have->output_jumps; n++)
		fprintf(f, "-D%s\n", &SC_IPT_JUMP_OUTPUT[2]);
	/* Flush all before deleting any: our chains jump to each other. */
	for (i = 0; i < SC_IPT__CHAINS; i++)
		if (have->chain[i])
			fprintf(f, "-F %s\n", sc_ipt_chain_names[i]);
	for (i = 0; i < SC_IPT__CHAINS; i++)
		if (have->chain[i])
			fprintf(f, "-X %s\n", sc_ipt_chain_names[i]);
	fprintf(f, "COMMIT\n");
	if (sc_ipt_has_raw(have))
		sc_ipt_raw_removal(f, have);
	if (ferror(f) | fclose(f)) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Whether LINE (LEN bytes) declares chain NAME (":NAME POLICY [..]"). */
static bool sc_ipt_declares(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return line[0] == ':' && len > n + 1 && !strncmp(line + 1, name, n) && line[n + 1] == ' ';
}

static bool sc_ipt_line_is(const char *line, size_t len, const char *want)
{
	return len == strlen(want) && !strncmp(line, want, len);
}

void sc_iptables_parse_save(const char *save, struct sc_ipt_state *st)
{
	const char *line = save, *end;
	enum { T_OTHER, T_NAT, T_RAW } table = T_NAT; /* a dump of one table may lack "*nat" */
	size_t len, i;

	memset(st, 0, sizeof(*st));
	for (; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (len && line[len - 1] == '\r')
			len--;
		if (line[0] == '*') {
			table = sc_ipt_line_is(line, len, "*nat")   ? T_NAT
				: sc_ipt_line_is(line, len, "*raw") ? T_RAW
								    : T_OTHER;
		} else if (table == T_NAT && line[0] == ':') {
			for (i = 0; i < SC_IPT__CHAINS; i++)
				st->chain[i] |= sc_ipt_declares(line, len, sc_ipt_chain_names[i]);
		} else if (table == T_NAT) {
			st->prerouting_jumps += sc_ipt_line_is(line, len, SC_IPT_JUMP_PREROUTING);
			st->output_jumps += sc_ipt_line_is(line, len, SC_IPT_JUMP_OUTPUT);
		} else if (table == T_RAW && line[0] == ':') {
			for (i = 0; i < SC_IPT__RAW_CHAINS; i++)
				st->raw_chain[i] |=
					sc_ipt_declares(line, len, sc_ipt_raw_chain_names[i]);
		} else if (table == T_RAW) {
			st->raw_output_jumps += sc_ipt_line_is(line, len, SC_IPT_JUMP_RAW_OUTPUT);
			st->raw_prerouting_jumps +=
				sc_ipt_line_is(line, len, SC_IPT_JUMP_RAW_PREROUTING);
		}
	}
}

bool sc_iptables_netns_ok(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return false;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return false;
	return st.st_ino != SC_NET_INIT_INO;
}

int sc_iptables_open_netns(const char *path, int *fd)
{
	int err;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		err = -errno;
		pr_warn("netns %s: %s (mode: iptables needs the pod's network namespace file)\n",
			path, strerror(-err));
		return err;
	}
	if (ioctl(*fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		pr_warn("netns %s: not a network namespace (give e.g. /run/netns/NAME or "
			"/proc/PID/ns/net)\n",
			path);
		err = -EINVAL;
		goto out_close;
	}
	if (!sc_iptables_netns_ok(*fd)) {
		pr_warn("netns %s: the host's network namespace; mode: iptables installs rules "
			"only in a pod's own namespace\n",
			path);
		err = -EPERM;
		goto out_close;
	}
	return 0;

out_close:
	close(*fd);
	*fd = -1;
	return err;
}

/* NAME in PATH, or in the sbin directories a daemon's PATH may lack. */
static int sc_ipt_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *dir, *end;
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
	for (dir = dirs; dir; dir = end ? end + 1 : NULL) {
		end = strchr(dir, ':');
		if (end == dir || !*dir)
			continue;
		snprintf(buf, len, "%.*s/%s", end ? (int)(end - dir) : (int)strlen(dir), dir, name);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static char *sc_memfd_read(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *s;

	if (size < 0)
		return NULL;
	s = malloc(size + 1);
	if (!s)
		return NULL;
	if (pread(fd, s, size, 0) != size) {
		free(s);
		return NULL;
	}
	s[size] = '\0';
	return s;
}

static double sc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Run TOOL ARGS (a NULL-ended list) with IN on stdin; stdout in *OUT and stderr in *ERRS (both
 * malloc'ed, either may be NULL). With NETNS_FD >= 0 the child enters that namespace first; only
 * `TOOL -V` may run without one. Returns the exit status, or -errno.
 */
static int sc_ipt_run(int netns_fd, const char *tool, const char *const args[], const char *in,
		      char **out, char **errs)
{
	const char *argv[16] = {tool};
	int fds[3] = {-1, -1, -1}, st, err, n, i;
	char path[4096];
	double t0;
	pid_t pid;

	if (out)
		*out = NULL;
	if (errs)
		*errs = NULL;
	if (netns_fd < 0 ? !(args[0] && !strcmp(args[0], "-V") && !args[1])
			 : !sc_iptables_netns_ok(netns_fd))
		return -EPERM;
	if (sc_ipt_which(tool, path, sizeof(path)))
		return -ENOENT;
	for (n = 1; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	for (i = 0; i < 3; i++) {
		fds[i] = memfd_create("sc-iptables", MFD_CLOEXEC);
		if (fds[i] < 0) {
			err = -errno;
			goto out_close;
		}
	}
	if (in && write(fds[0], in, strlen(in)) != (ssize_t)strlen(in)) {
		err = -EIO;
		goto out_close;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto out_close;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
			_exit(126);
		if (lseek(fds[0], 0, SEEK_SET) || dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 ||
		    dup2(fds[2], 2) < 0)
			_exit(126);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	t0 = sc_now_ms();
	while ((err = waitpid(pid, &st, WNOHANG)) == 0 && sc_now_ms() - t0 < SC_IPT_TIMEOUT_MS)
		usleep(1000);
	if (err == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		pr_warn("%s: no answer after %d ms; killed\n", tool, SC_IPT_TIMEOUT_MS);
		err = -ETIMEDOUT;
		goto out_close;
	}
	if (err < 0) {
		err = -errno;
		goto out_close;
	}
	if (out)
		*out = sc_memfd_read(fds[1]);
	if (errs)
		*errs = sc_memfd_read(fds[2]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 126)
		err = -EPERM; /* setns() refused, or stdio could not be set up */
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		err = -ENOEXEC;
	else
		err = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

out_close:
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

int sc_iptables_backend(const char *tool, char *buf, size_t len)
{
	static const char *const version[] = {"-V", NULL};
	char *out = NULL;
	int err;

	err = sc_ipt_run(-1, tool, version, NULL, &out, NULL);
	if (err > 0)
		err = -EIO;
	if (!err && out && strstr(out, "(nf_tables)"))
		snprintf(buf, len, "nf_tables");
	else if (!err && out && strstr(out, "(legacy)"))
		snprintf(buf, len, "legacy");
	else if (!err)
		err = -EPROTO;
	free(out);
	return err;
}

/* The tools of one family. */
struct sc_ipt_tools {
	int family;
	const char *name; /* for messages */
	const char *save;
	const char *restore;
};

static const struct sc_ipt_tools sc_ipt_tools[] = {
	{AF_INET, "IPv4", "iptables-save", "iptables-restore"},
	{AF_INET6, "IPv6", "ip6tables-save", "ip6tables-restore"},
};

static bool sc_have_ipv6(void)
{
	return access("/proc/sys/net/ipv6", F_OK) == 0;
}

/* Log a tool's failure with its own words. */
static int sc_ipt_failed(const char *what, const char *tool, int err, const char *errs)
{
	if (err < 0)
		pr_warn("%s: %s: %s\n", what, tool, strerror(-err));
	else
		pr_warn("%s: %s exited %d: %s", what, tool, err, errs && *errs ? errs : "\n");
	return err < 0 ? err : -EIO;
}

static int sc_ipt_state(int netns_fd, const struct sc_ipt_tools *t, struct sc_ipt_state *st)
{
	static const char *const save_args[] = {NULL};
	char *out = NULL, *errs = NULL;
	int err;

	err = sc_ipt_run(netns_fd, t->save, save_args, NULL, &out, &errs);
	if (err)
		err = sc_ipt_failed("reading the nat and raw tables", t->save, err, errs);
	else
		sc_iptables_parse_save(out ? out : "", st);
	free(out);
	free(errs);
	return err;
}

static int sc_ipt_restore(int netns_fd, const struct sc_ipt_tools *t, const char *text, bool test,
			  const char *what)
{
	static const char *const commit[] = {"--noflush", NULL};
	static const char *const dry[] = {"--noflush", "--test", NULL};
	char *errs = NULL;
	int err;

	err = sc_ipt_run(netns_fd, t->restore, test ? dry : commit, text, NULL, &errs);
	if (err)
		err = sc_ipt_failed(what, t->restore, err, errs);
	free(errs);
	return err;
}

int sc_iptables_apply(const struct sc_config *cfg, int netns_fd)
{
	char *text[2] = {NULL, NULL};
	struct sc_ipt_state st;
	size_t i, n = sc_have_ipv6() ? 2 : 1;
	int err = 0;

	if (!sc_iptables_netns_ok(netns_fd))
		return -EPERM;
	/* Check every family's input before changing any, so that a refusal changes nothing. */
	for (i = 0; i < n && !err; i++) {
		err = sc_ipt_state(netns_fd, &sc_ipt_tools[i], &st);
		if (!err)
			err = sc_iptables_update(cfg, sc_ipt_tools[i].family, &st, &text[i]);
		if (!err)
			err = sc_ipt_restore(netns_fd, &sc_ipt_tools[i], text[i], true,
					     "checking the rules");
	}
	for (i = 0; i < n && !err; i++) {
		err = sc_ipt_restore(netns_fd, &sc_ipt_tools[i], text[i], false,
				     "installing the rules");
		if (!err)
			pr_debug("%s rules:\n%s", sc_ipt_tools[i].name, text[i]);
	}
	for (i = 0; i < 2; i++)
		free(text[i]);
	return err;
}

int sc_iptables_remove(int netns_fd)
{
	struct sc_ipt_state st;
	size_t i, n = sc_have_ipv6() ? 2 : 1;
	char *text;
	int err, ret = 0;

	if (!sc_iptables_netns_ok(netns_fd))
		return -EPERM;
	/* Each family on its own: a failure in one still leaves the other clean. */
	for (i = 0; i < n; i++) {
		text = NULL;
		err = sc_ipt_state(netns_fd, &sc_ipt_tools[i], &st);
		if (!err)
			err = sc_iptables_removal(&st, &text);
		if (!err && text)
			err = sc_ipt_restore(netns_fd, &sc_ipt_tools[i], text, false,
					     "removing the rules");
		free(text);
		if (err && !ret)
			ret = err;
	}
	return ret;
}
