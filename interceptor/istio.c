// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's capture settings as a sidecap policy.
 *
 * istio-iptables (tools/istio-iptables in istio/istio) redirects a new outbound connection when
 * its port is not in -o, its address not in -x, and its port is in -q OR its address in -i; and
 * an inbound one when its port is not 15008 (-e) and is in -b, or -b is "*" and the port is not
 * in -d. The proxy's uid and gid (-u, -g) are never redirected. sidecap's policy says the same
 * with one difference: an outbound connection is captured when its address AND its port are
 * included. sc_istio_policy() writes the policy that captures the same connections, and warns
 * where no policy can (an -i list together with a -q list).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <yaml.h>

#include "istio.h"
#include "istio_int.h"

void sc_istio_capture_free(struct sc_istio_capture *cap)
{
	free(cap->owned);
	cap->owned = NULL;
}

/* A set of ports, sorted, without duplicates; ALL for "*". */
struct port_set {
	bool all;
	size_t n;
	uint16_t v[65536];
};

struct cidr {
	int family;
	uint8_t addr[16];
	int prefixlen;
};

struct cidr_set {
	bool all;
	size_t n, cap;
	struct cidr *v;
};

static bool port_set_has(const struct port_set *s, uint16_t port)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == port)
			return true;
	return false;
}

static void port_set_add(struct port_set *s, uint16_t port)
{
	size_t i;

	if (port_set_has(s, port))
		return;
	for (i = s->n; i > 0 && s->v[i - 1] > port; i--)
		s->v[i] = s->v[i - 1];
	s->v[i] = port;
	s->n++;
}

/* The items of a comma-separated list, as istio-iptables splits it (empty items dropped), with
 * the spaces around each item trimmed. Returns the next item's length, 0 at the end. */
size_t sc_istio_next_item(const char **p, const char **item)
{
	const char *s = *p, *e;

	for (;;) {
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (!*s) {
			*p = s;
			return 0;
		}
		e = s;
		while (*e && *e != ',')
			e++;
		*item = s;
		*p = e;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s)
			return e - s;
		s = *p;
	}
}

int sc_istio_parse_port(const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

static bool is_wildcard(const char *v)
{
	const char *item;
	size_t len;

	return (len = sc_istio_next_item(&v, &item)) == 1 && *item == '*' &&
	       !sc_istio_next_item(&v, &item);
}

static void error(FILE *msgs, const char *who, const struct sc_istio_opt *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void error(FILE *msgs, const char *who, const struct sc_istio_opt *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(msgs, "%s: %s: ", who, o->name);
	va_start(ap, fmt);
	vfprintf(msgs, fmt, ap);
	va_end(ap);
	fputc('\n', msgs);
}

void sc_istio_warn(FILE *msgs, const char *who, const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(msgs, "%s: warning: %s: ", who, name);
	va_start(ap, fmt);
	vfprintf(msgs, fmt, ap);
	va_end(ap);
	fputc('\n', msgs);
}

/* Ports of O into S ("*" only when ALLOW_ALL). 0 or -EINVAL. */
static int parse_ports(const struct sc_istio_opt *o, bool allow_all, struct port_set *s,
		       const char *who, FILE *msgs)
{
	const char *p = o->value, *item;
	size_t len;
	int port;

	if (!p)
		return 0;
	if (is_wildcard(p)) {
		if (!allow_all) {
			error(msgs, who, o, "\"*\" is not allowed here (list the ports)");
			return -EINVAL;
		}
		s->all = true;
		return 0;
	}
	while ((len = sc_istio_next_item(&p, &item))) {
		port = sc_istio_parse_port(item, len);
		if (port < 0) {
			error(msgs, who, o, "\"%.*s\" is not a port (use 1-65535%s)", (int)len,
			      item, allow_all ? ", or \"*\" alone for all" : "");
			return -EINVAL;
		}
		port_set_add(s, port);
	}
	return 0;
}

static bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static void cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, addr, sizeof(addr));
	snprintf(buf, size, "%s/%d", addr, c->prefixlen);
}

static bool cidr_is_loopback(const struct cidr *c)
{
	static const uint8_t v6_lo[16] = {[15] = 1};

	if (c->family == AF_INET)
		return c->addr[0] == 127 && c->prefixlen >= 8;
	return c->prefixlen == 128 && !memcmp(c->addr, v6_lo, 16);
}

/* CIDRs (or bare addresses) of O into S; "*" only when ALLOW_ALL. 0 or -EINVAL/-ENOMEM. */
static int parse_cidrs(const struct sc_istio_opt *o, bool allow_all, struct cidr_set *s,
		       const char *who, FILE *msgs)
{
	const char *p = o->value, *item;
	char text[INET6_ADDRSTRLEN + 8], fixed[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct cidr c, *v;
	size_t len, i;
	long plen;
	int bits, max;

	if (!p)
		return 0;
	if (is_wildcard(p)) {
		if (!allow_all) {
			error(msgs, who, o, "\"*\" is not allowed here (list the ranges)");
			return -EINVAL;
		}
		s->all = true;
		return 0;
	}
	while ((len = sc_istio_next_item(&p, &item))) {
		if (len >= sizeof(text))
			goto bad;
		memcpy(text, item, len);
		text[len] = '\0';
		memset(&c, 0, sizeof(c));
		slash = strchr(text, '/');
		if (slash)
			*slash = '\0';
		c.family = strchr(text, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(c.family, text, c.addr) != 1)
			goto bad;
		max = c.family == AF_INET ? 32 : 128;
		c.prefixlen = max;
		if (slash) {
			errno = 0;
			plen = strtol(slash + 1, &end, 10);
			if (errno || end == slash + 1 || *end || plen < 0 || plen > max ||
			    !isdigit((unsigned char)slash[1]))
				goto bad;
			c.prefixlen = plen;
			*slash = '/';
		}
		/* iptables matches 10.0.0.1/8 as 10.0.0.0/8; sidecap's parser wants it written so.
		 */
		for (bits = c.prefixlen, i = 0; i < 16; i++, bits -= 8) {
			if (bits >= 8)
				continue;
			c.addr[i] &= bits > 0 ? (uint8_t)(0xff << (8 - bits)) : 0;
		}
		cidr_format(&c, fixed, sizeof(fixed));
		if (slash && strcmp(fixed, text))
			sc_istio_warn(msgs, who, o->name,
				      "\"%s\" has host bits set: read as %s, as iptables does",
				      text, fixed);
		for (i = 0; i < s->n && !cidr_equal(&s->v[i], &c); i++)
			;
		if (i < s->n)
			continue;
		if (s->n == s->cap) {
			v = realloc(s->v, (s->cap ? s->cap * 2 : 8) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = s->cap ? s->cap * 2 : 8;
		}
		s->v[s->n++] = c;
	}
	return 0;
bad:
	error(msgs, who, o, "\"%.*s\" is not an IP range (use ADDRESS/PREFIX, e.g. 10.0.0.0/8%s)",
	      (int)len, item, allow_all ? ", or \"*\" alone for all" : "");
	return -EINVAL;
}

/* A single numeric id from O (a list keeps its first, with a warning); DEF when not given. */
static int parse_id(const struct sc_istio_opt *o, const char *def, unsigned long *id,
		    const char *who, FILE *msgs)
{
	const char *p = o->value ? o->value : def, *item;
	char *end;
	size_t len;

	len = sc_istio_next_item(&p, &item);
	if (!len) {
		error(msgs, who, o, "no id given (give the proxy's numeric uid or gid)");
		return -EINVAL;
	}
	errno = 0;
	*id = strtoul(item, &end, 10);
	if (errno || end != item + len || !isdigit((unsigned char)*item) || *id > 4294967294ul) {
		error(msgs, who, o,
		      "\"%.*s\" is not a numeric id (sidecap compares ids, not names)", (int)len,
		      item);
		return -EINVAL;
	}
	if (sc_istio_next_item(&p, &item))
		sc_istio_warn(
			msgs, who, o->name,
			"sidecap exempts one proxy id: only %lu is exempt, the others are captured",
			*id);
	return 0;
}

static int parse_single_port(const struct sc_istio_opt *o, int def, int *port, const char *who,
			     FILE *msgs)
{
	const char *p = o->value, *item;
	size_t len;

	*port = def;
	if (!p)
		return 0;
	len = sc_istio_next_item(&p, &item);
	*port = sc_istio_parse_port(item, len);
	if (!len || *port < 0 || sc_istio_next_item(&p, &item)) {
		error(msgs, who, o, "\"%s\" is not a port (use 1-65535)", o->value);
		return -EINVAL;
	}
	return 0;
}

static void print_ports(FILE *f, const char *key, const struct port_set *s)
{
	size_t i;

	fprintf(f, "  %s: [", key);
	if (s->all)
		fputs("\"*\"", f);
	for (i = 0; i < s->n; i++)
		fprintf(f, "%s%u", i ? ", " : "", s->v[i]);
	fputs("]\n", f);
}

static void print_cidrs(FILE *f, const char *key, const struct cidr_set *s)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t i;

	fprintf(f, "  %s: [", key);
	if (s->all)
		fputs("\"*\"", f);
	for (i = 0; i < s->n; i++) {
		cidr_format(&s->v[i], buf, sizeof(buf));
		fprintf(f, "%s\"%s\"", i ? ", " : "", buf);
	}
	fputs("]\n", f);
}

static void ports_text(const struct port_set *s, char *buf, size_t size)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n && off < size; i++)
		off += snprintf(buf + off, size - off, "%s%u", i ? "," : "", s->v[i]);
}

/* What the settings mean, parsed. */
struct capture {
	unsigned long uid, gid;
	int proxy_port, inbound_port, tunnel_port;
	bool tproxy;
	struct cidr_set inc_ranges, exc_ranges;
	struct port_set inc_in, exc_in, inc_out, exc_out;
};

static void capture_free(struct capture *c)
{
	free(c->inc_ranges.v);
	free(c->exc_ranges.v);
	free(c);
}

static int parse_capture(const struct sc_istio_capture *cap, struct capture *c, const char *who,
			 FILE *msgs)
{
	const struct sc_istio_opt *m = &cap->mode;
	int err;

	err = parse_id(&cap->uid, "1337", &c->uid, who, msgs);
	/* istio-iptables' -g defaults to -u. */
	c->gid = c->uid;
	if (!err && cap->gid.value)
		err = parse_id(&cap->gid, NULL, &c->gid, who, msgs);
	if (!err)
		err = parse_single_port(&cap->proxy_port, 15001, &c->proxy_port, who, msgs);
	if (!err)
		err = parse_single_port(&cap->inbound_port, 15006, &c->inbound_port, who, msgs);
	if (!err)
		err = parse_single_port(&cap->tunnel_port, 15008, &c->tunnel_port, who, msgs);
	if (!err && c->proxy_port == c->inbound_port) {
		error(msgs, who, &cap->inbound_port,
		      "%d is also the outbound port (%s); give the proxy two ports",
		      c->inbound_port, cap->proxy_port.name);
		err = -EINVAL;
	}
	if (!err && m->value && *m->value && strcmp(m->value, "REDIRECT")) {
		if (strcmp(m->value, "TPROXY")) {
			error(msgs, who, m,
			      "\"%s\" is not an interception mode (REDIRECT or TPROXY)", m->value);
			err = -EINVAL;
		} else {
			c->tproxy = true;
		}
	}
	if (!err)
		err = parse_cidrs(&cap->include_ranges, true, &c->inc_ranges, who, msgs);
	if (!err)
		err = parse_cidrs(&cap->exclude_ranges, false, &c->exc_ranges, who, msgs);
	if (!err)
		err = parse_ports(&cap->include_inbound, true, &c->inc_in, who, msgs);
	if (!err)
		err = parse_ports(&cap->exclude_inbound, false, &c->exc_in, who, msgs);
	if (!err)
		err = parse_ports(&cap->include_outbound, false, &c->inc_out, who, msgs);
	if (!err)
		err = parse_ports(&cap->exclude_outbound, false, &c->exc_out, who, msgs);
	return err;
}

/*
 * Outbound. istio-iptables captures (port in -q) OR (address in -i), less -o and -x; sidecap
 * captures (port included) AND (address included), less the exclusions. Equal when -i is "*"
 * (ports all), when -q is empty (ports all, ranges -i), and when -i is empty (ranges all, ports
 * -q); with both lists given no policy is equal, and this one keeps -i with every port.
 */
static void map_outbound(const struct sc_istio_capture *cap, struct capture *c,
			 struct port_set *inc_ports, bool *none, const char *who, FILE *msgs)
{
	char ports[256];
	size_t i;

	*none = false;
	*inc_ports = (struct port_set){.all = true};
	if (c->inc_ranges.all || !c->inc_out.n)
		return;
	/* The -q ports that can be captured at all: an -o port never is. */
	inc_ports->all = false;
	for (i = 0; i < c->inc_out.n; i++)
		if (!port_set_has(&c->exc_out, c->inc_out.v[i]))
			port_set_add(inc_ports, c->inc_out.v[i]);
	if (c->inc_ranges.n) {
		if (inc_ports->n) {
			ports_text(inc_ports, ports, sizeof(ports));
			sc_istio_warn(
				msgs, who, cap->include_outbound.name,
				"%s %s %s captured only to the addresses of %s: sidecap captures a "
				"connection when both its address and its port are included, "
				"istio-iptables when either is; to capture them to every address, "
				"add "
				"their destinations to %s or use \"*\"",
				inc_ports->n > 1 ? "ports" : "port", ports,
				inc_ports->n > 1 ? "are" : "is", cap->include_ranges.name,
				cap->include_ranges.name);
		}
		*inc_ports = (struct port_set){.all = true};
		return;
	}
	/* -i empty: the ports alone decide. */
	c->inc_ranges.all = inc_ports->n > 0;
	*none = !inc_ports->n;
}

/*
 * Inbound. -b "*" captures every port but 15008 (-e) and -d; a -b list captures its ports but
 * 15008, and -d is not read; -b "" captures none.
 */
static void map_inbound(const struct sc_istio_capture *cap, struct capture *c, struct port_set *inc,
			struct port_set *exc, const char *who, FILE *msgs)
{
	size_t i;
	bool extra = false;

	*inc = (struct port_set){.all = c->inc_in.all};
	exc->n = 0;
	exc->all = false;
	if (c->inc_in.all) {
		for (i = 0; i < c->exc_in.n; i++)
			port_set_add(exc, c->exc_in.v[i]);
		port_set_add(exc, c->tunnel_port);
		return;
	}
	for (i = 0; i < c->inc_in.n; i++)
		if (c->inc_in.v[i] != c->tunnel_port)
			port_set_add(inc, c->inc_in.v[i]);
	for (i = 0; i < c->exc_in.n; i++)
		if (c->exc_in.v[i] != ISTIO_ADMIN_PROM && c->exc_in.v[i] != ISTIO_ADMIN_HEALTH &&
		    c->exc_in.v[i] != ISTIO_STATUS_PORT)
			extra = true;
	if (extra && c->inc_in.n)
		sc_istio_warn(msgs, who, cap->exclude_inbound.name,
			      "not read, as istio-iptables does not read it when %s lists ports",
			      cap->include_inbound.name);
}

int sc_istio_policy(const struct sc_istio_capture *cap, const char *origin, char **policy,
		    const char *who, FILE *msgs)
{
	struct port_set *out_ports = NULL, *in_inc = NULL, *in_exc = NULL;
	struct capture *c;
	size_t i, len = 0;
	bool no_outbound;
	FILE *f = NULL;
	int err;

	*policy = NULL;
	c = calloc(1, sizeof(*c));
	out_ports = malloc(sizeof(*out_ports));
	in_inc = malloc(sizeof(*in_inc));
	in_exc = malloc(sizeof(*in_exc));
	if (!c || !out_ports || !in_inc || !in_exc) {
		err = -ENOMEM;
		goto out;
	}
	err = parse_capture(cap, c, who, msgs);
	if (err)
		goto out;

	if (c->tproxy)
		sc_istio_warn(
			msgs, who, cap->mode.name,
			"TPROXY cannot be honoured: sidecap captures in eBPF as REDIRECT does. The "
			"proxy "
			"gets inbound connections with their original source and destination, as "
			"under "
			"TPROXY, but nothing routes the proxy's own connections to the app from "
			"the "
			"client's address, so the app sees the proxy's address as the source, as "
			"under "
			"REDIRECT");
	for (i = 0; i < c->inc_ranges.n; i++)
		if (cidr_is_loopback(&c->inc_ranges.v[i]))
			sc_istio_warn(
				msgs, who, cap->include_ranges.name,
				"loopback is never captured by sidecap: connections to it stay on "
				"loopback");
	map_outbound(cap, c, out_ports, &no_outbound, who, msgs);
	map_inbound(cap, c, in_inc, in_exc, who, msgs);
	if (cap->capture_all_dns && !cap->redirect_dns)
		sc_istio_warn(msgs, who, "istio-iptables --capture-all-dns",
			      "no effect without --redirect-dns, as in istio-iptables: DNS is not "
			      "captured");
	if (!c->inc_ranges.all && !c->inc_ranges.n && !in_inc->all && !in_inc->n)
		sc_istio_warn(msgs, who, "policy",
			      "captures no connection: neither outbound (%s, %s) nor inbound (%s) "
			      "capture "
			      "anything",
			      cap->include_ranges.name, cap->include_outbound.name,
			      cap->include_inbound.name);

	f = open_memstream(policy, &len);
	if (!f) {
		err = -ENOMEM;
		goto out;
	}
	fprintf(f, "# sidecap policy from %s.\n", origin);
	fputs("# No cgroup key: inside its pod the interceptor finds the pod's cgroup itself.\n",
	      f);
	fputs("proxy:\n", f);
	fprintf(f, "  uid: %lu\n  gid: %lu\n", c->uid, c->gid);
	fprintf(f, "  outboundPort: %d\n  inboundPort: %d\n", c->proxy_port, c->inbound_port);
	fputs("  # As under istio-iptables, a connection is refused while the proxy is not "
	      "listening.\n",
	      f);
	fputs("  failOpen: false\n", f);
	fputs("  # Istio's own ports are in inbound.excludePorts, where istio-iptables has them.\n",
	      f);
	fputs("  adminPorts: []\n", f);
	fputs("outbound:\n", f);
	print_cidrs(f, "includeIPRanges", &c->inc_ranges);
	print_cidrs(f, "excludeIPRanges", &c->exc_ranges);
	if (no_outbound || out_ports->all) {
		fputs("  includePorts: []\n", f);
	} else {
		print_ports(f, "includePorts", out_ports);
	}
	print_ports(f, "excludePorts", &c->exc_out);
	fputs("inbound:\n", f);
	print_ports(f, "includePorts", in_inc);
	print_ports(f, "excludePorts", in_exc);
	if (cap->redirect_dns) {
		fprintf(f,
			"# %s: the app's DNS goes to the proxy's DNS port, as under Istio's DNS "
			"capture.\n",
			cap->dns_name);
		fputs("dns:\n  capture: true\n  port: 15053\n", f);
		if (!cap->capture_all_dns)
			fputs("  # Every server on port 53. istio-iptables without "
			      "--capture-all-dns captures\n  # only the nameservers of the pod's "
			      "resolv.conf: list them here for that.\n",
			      f);
		fputs("  servers: []\n", f);
	}
	if (fclose(f)) {
		err = -ENOMEM;
		f = NULL;
		goto out;
	}
	f = NULL;
out:
	if (err) {
		if (f)
			fclose(f);
		free(*policy);
		*policy = NULL;
	}
	if (c)
		capture_free(c);
	free(out_ports);
	free(in_inc);
	free(in_exc);
	return err;
}
