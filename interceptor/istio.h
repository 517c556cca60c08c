/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Istio's capture settings (istio-iptables' flags, or the pod annotations Istio's injector turns
 * into them) translated into a sidecap policy. Pure text in, text out: no libbpf, no YAML
 * documents, so the unit tests drive it directly. docs/kubernetes.md describes every mapping.
 */
#ifndef SC_ISTIO_H
#define SC_ISTIO_H

#include <stddef.h>
#include <stdio.h>

/* One setting in istio-iptables' own syntax, and the flag or annotation it came from. */
struct sc_istio_opt {
	const char *value; /* NULL: not given, istio-iptables' default applies */
	const char *name;  /* "-i" or "traffic.sidecar.istio.io/includeOutboundIPRanges" */
};

/* The settings of istio-iptables that decide which connections reach the proxy. */
struct sc_istio_capture {
	struct sc_istio_opt proxy_port;	      /* -p: outbound listener, default 15001 */
	struct sc_istio_opt inbound_port;     /* -z: inbound listener, default 15006 */
	struct sc_istio_opt tunnel_port;      /* -e: HBONE port, never captured, default 15008 */
	struct sc_istio_opt uid;	      /* -u: the proxy's uid(s), default 1337 */
	struct sc_istio_opt gid;	      /* -g: the proxy's gid(s), default the uid */
	struct sc_istio_opt mode;	      /* -m: REDIRECT (default) or TPROXY */
	struct sc_istio_opt include_ranges;   /* -i: "*", "" (none) or CIDRs, default "" */
	struct sc_istio_opt exclude_ranges;   /* -x: CIDRs */
	struct sc_istio_opt include_inbound;  /* -b: "*", "" (none) or ports, default "" */
	struct sc_istio_opt exclude_inbound;  /* -d: ports, used only when -b is "*" */
	struct sc_istio_opt include_outbound; /* -q: ports captured whatever the address */
	struct sc_istio_opt exclude_outbound; /* -o: ports never captured */
	/* --redirect-dns, or ISTIO_META_DNS_CAPTURE "true" in the proxy's metadata: the app's
	 * DNS to the proxy's DNS port (dns.capture); DNS_NAME says which one asked. */
	bool redirect_dns;
	bool capture_all_dns; /* --capture-all-dns: every server, not resolv.conf's */
	const char *dns_name;
	char *owned; /* storage a value was built in, or NULL */
};

void sc_istio_capture_free(struct sc_istio_capture *cap);

/* One pod annotation. */
struct sc_istio_kv {
	const char *key;
	const char *value;
};

/*
 * Fill CAP from a pod's annotations as Istio's sidecar injector does for its istio-init
 * container (-i, -x, -b, -d with 15090, 15021 and the status port, -q, -o, -m), UID standing for
 * the injector's -u and -g ("1337"). Every Istio annotation that cannot be honoured is named in
 * a line "WHO: warning: KEY: why" on MSGS. CAP's values point into KV, UID and CAP->owned.
 * 0, or -EINVAL after a line on MSGS.
 */
int sc_istio_from_annotations(const struct sc_istio_kv *kv, size_t n, const char *uid,
			      struct sc_istio_capture *cap, const char *who, FILE *msgs);

/*
 * Fill CAP from istio-iptables' command line (ARGV[0] may be the program name), with its short
 * and long flags, "--flag=value" and "-fvalue" forms. Flags that decide nothing sidecap does are
 * named on MSGS with a warning; unknown flags are an error. Values point into ARGV.
 * 0, or -EINVAL after a line on MSGS.
 */
int sc_istio_from_flags(int argc, char *const *argv, struct sc_istio_capture *cap, const char *who,
			FILE *msgs);

/*
 * The sidecap policy (YAML, no cgroup key) that captures what CAP captures, with ORIGIN in its
 * first comment line. Where sidecap cannot do exactly what istio-iptables would, a warning on
 * MSGS says what it does instead. *POLICY is malloc'ed. 0, or -EINVAL after a line on MSGS that
 * names the bad setting, or -ENOMEM.
 */
int sc_istio_policy(const struct sc_istio_capture *cap, const char *origin, char **policy,
		    const char *who, FILE *msgs);

#endif /* SC_ISTIO_H */
