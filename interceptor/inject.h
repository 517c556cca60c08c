/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * interceptor inject and from-istio. inject adds the interceptor sidecar to Kubernetes workloads,
 * as istioctl kube-inject adds Istio's, with the policy in a ConfigMap made from the pod's Istio
 * annotations (or from the istio-init container it replaces). docs/kubernetes.md describes it.
 */
#ifndef SC_INJECT_H
#define SC_INJECT_H

#include <stddef.h>
#include <stdio.h>

/* What inject adds: one container, three volumes, one ConfigMap per workload. */
#define SC_INJECT_CONTAINER	"sidecap-interceptor"
#define SC_INJECT_VOL_POLICY	"sidecap-policy"
#define SC_INJECT_VOL_BPFFS	"sidecap-bpffs"
#define SC_INJECT_VOL_CGROUP	"sidecap-cgroup"
#define SC_INJECT_IMAGE		"localhost/sidecap:latest"
#define SC_INJECT_POLICY_DIR	"/etc/sidecap"
#define SC_INJECT_POLICY_KEY	"policy.yaml"
#define SC_INJECT_CONFIGMAP_SFX "-sidecap"

struct sc_inject_opts {
	const char *name;      /* the input's name in messages: a file name or "<stdin>" */
	const char *image;     /* the interceptor's image; NULL: SC_INJECT_IMAGE */
	const char *proxy_uid; /* the proxy's uid (and gid), as digits; NULL: Istio's 1337 */
};

/*
 * Inject into every workload of the YAML stream TEXT; other documents pass through unchanged.
 * On success *OUT (malloc'ed) holds the whole stream, each injected workload preceded by its
 * policy ConfigMap, and MSGS has a line for each warning. On any error nothing is written to
 * *OUT (NULL), and MSGS names each document that failed and the fix; -EINVAL, or -ENOMEM.
 */
int sc_inject(const char *text, size_t len, const struct sc_inject_opts *opts, char **out,
	      FILE *msgs);

/* interceptor inject [-f FILE|-] [--image IMAGE] [--proxy-uid UID] */
int sc_cmd_inject(int argc, char **argv);

/*
 * interceptor from-istio --annotations FILE | -- FLAGS...: prints the policy for a workload's
 * Istio annotations, or for istio-iptables' flags.
 */
int sc_cmd_from_istio(int argc, char **argv);

#endif /* SC_INJECT_H */
