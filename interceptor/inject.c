// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor inject. For each workload of a YAML stream: the interceptor as a native sidecar
 * (first of the initContainers, restartPolicy: Always, a startupProbe that passes once the
 * programs are attached), its three volumes, and a ConfigMap before the workload with the policy
 * made from the pod's Istio annotations. A pod Istio has injected already loses its istio-init
 * container, whose istio-iptables arguments become the policy; istio-proxy stays: it is the
 * proxy. What is refused, and why, is in docs/kubernetes.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"
#include "istio.h"
#include "k8s.h"

#define POLICY_PATH SC_INJECT_POLICY_DIR "/" SC_INJECT_POLICY_KEY

/* The container, as in deploy/kubernetes/sidecap-example.yaml (the tests keep the two equal). */
static const char container_yaml[] =
	"name: " SC_INJECT_CONTAINER "\n"
	"image: IMAGE\n"
	"imagePullPolicy: IfNotPresent\n"
	"restartPolicy: Always\n"
	"command: [/interceptor, run, --config, " POLICY_PATH "]\n"
	"env:\n"
	"- name: SIDECAP_POD_UID\n"
	"  valueFrom:\n"
	"    fieldRef:\n"
	"      fieldPath: metadata.uid\n"
	"startupProbe:\n"
	"  exec:\n"
	"    command: [/interceptor, ready, --config, " POLICY_PATH "]\n"
	"  periodSeconds: 1\n"
	"  failureThreshold: 60\n"
	"securityContext:\n"
	"  runAsUser: 0\n"
	"  runAsNonRoot: false\n"
	"  privileged: false\n"
	"  allowPrivilegeEscalation: false\n"
	"  readOnlyRootFilesystem: true\n"
	"  capabilities:\n"
	"    drop: [ALL]\n"
	"    add: [BPF, NET_ADMIN, SYS_ADMIN]\n"
	"volumeMounts:\n"
	"- name: " SC_INJECT_VOL_POLICY "\n"
	"  mountPath: " SC_INJECT_POLICY_DIR "\n"
	"  readOnly: true\n"
	"- name: " SC_INJECT_VOL_BPFFS "\n"
	"  mountPath: /sys/fs/bpf\n"
	"  mountPropagation: HostToContainer\n"
	"- name: " SC_INJECT_VOL_CGROUP "\n"
	"  mountPath: /host/sys/fs/cgroup\n"
	"  readOnly: true\n";

static const char volumes_yaml[] = "- name: " SC_INJECT_VOL_POLICY "\n"
				   "  configMap:\n"
				   "    name: NAME\n"
				   "- name: " SC_INJECT_VOL_BPFFS "\n"
				   "  hostPath:\n"
				   "    path: /sys/fs/bpf\n"
				   "    type: Directory\n"
				   "- name: " SC_INJECT_VOL_CGROUP "\n"
				   "  hostPath:\n"
				   "    path: /sys/fs/cgroup\n"
				   "    type: Directory\n";

static const char *const our_volumes[] = {SC_INJECT_VOL_POLICY, SC_INJECT_VOL_BPFFS,
					  SC_INJECT_VOL_CGROUP};

/* One workload being injected. */
struct job {
	yaml_document_t *doc;
	struct sc_k8s_workload w;
	const char *label; /* for messages */
	int istio_init;	   /* index + 1 of istio-init in initContainers, 0 when none */
	bool skip;	   /* left as it is (inject: "false", interceptionMode: NONE) */
};

static int fail(FILE *msgs, const struct job *j, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(FILE *msgs, const struct job *j, const char *fmt, ...)
{
	va_list ap;

	fprintf(msgs, "%s: ", j->label);
	va_start(ap, fmt);
	vfprintf(msgs, fmt, ap);
	va_end(ap);
	fputc('\n', msgs);
	return -EINVAL;
}

/* The index of the item of SEQ whose KEY is VALUE, or -1. */
static int find_named(yaml_document_t *doc, int seq, const char *value)
{
	const char *s;
	size_t i;

	for (i = 0; i < sc_k8s_seq_len(doc, seq); i++) {
		s = sc_k8s_scalar(doc, sc_k8s_get(doc, sc_k8s_seq_item(doc, seq, i), "name"));
		if (s && !strcmp(s, value))
			return i;
	}
	return -1;
}

/* Everything that makes a workload impossible to inject, each with its fix. */
static int check(struct job *j, FILE *msgs)
{
	yaml_document_t *d = j->doc;
	int spec = j->w.pod_spec, init, err = 0;
	const char *host_net;
	size_t i;

	if (!j->w.name)
		err = fail(msgs, j,
			   "metadata.name is missing: the policy ConfigMap is named after the "
			   "workload (NAME" SC_INJECT_CONFIGMAP_SFX "); give the workload a name");
	if (!spec)
		return fail(msgs, j, "has no pod spec; give a complete manifest");
	if (!sc_k8s_is_seq(d, sc_k8s_get(d, spec, "containers")))
		err = fail(msgs, j, "spec.containers is missing or not a list");
	if (find_named(d, sc_k8s_get(d, spec, "containers"), SC_INJECT_CONTAINER) >= 0 ||
	    find_named(d, sc_k8s_get(d, spec, "initContainers"), SC_INJECT_CONTAINER) >= 0)
		return fail(msgs, j,
			    "already injected: it has the container " SC_INJECT_CONTAINER
			    "; inject the manifest as it was before, or remove that container, "
			    "the volumes " SC_INJECT_VOL_POLICY ", " SC_INJECT_VOL_BPFFS
			    " and " SC_INJECT_VOL_CGROUP
			    " and the ConfigMap %s" SC_INJECT_CONFIGMAP_SFX " first",
			    j->w.name ? j->w.name : "NAME");
	/* inject adds to these lists. */
	for (i = 0; i < 2; i++) {
		const char *key = i ? "volumes" : "initContainers";
		int v = sc_k8s_get(d, spec, key);

		if (v && !sc_k8s_is_seq(d, v) && !sc_k8s_is_null(d, v))
			err = fail(msgs, j, "spec.%s is not a list; write it as one (- name: ...)",
				   key);
	}
	for (i = 0; i < sizeof(our_volumes) / sizeof(our_volumes[0]); i++)
		if (find_named(d, sc_k8s_get(d, spec, "volumes"), our_volumes[i]) >= 0)
			err = fail(
				msgs, j,
				"spec.volumes already has a volume named %s; rename it, as inject "
				"adds its own",
				our_volumes[i]);
	host_net = sc_k8s_scalar(d, sc_k8s_get(d, spec, "hostNetwork"));
	if (host_net && !strcmp(host_net, "true"))
		err = fail(msgs, j,
			   "hostNetwork: true: the pod shares the node's network namespace, where "
			   "sidecap never captures; run it in a network namespace of its own (as "
			   "Istio requires too)");
	init = sc_k8s_get(d, spec, "initContainers");
	if (find_named(d, init, "istio-validation") >= 0)
		err = fail(
			msgs, j,
			"initContainers has istio-validation: istio-cni captures this pod's "
			"connections with iptables already, and sidecap would capture them a "
			"second "
			"time; inject the manifest as it was before Istio's injection, or leave it "
			"to Istio");
	j->istio_init = find_named(d, init, "istio-init") + 1;
	return err;
}

/* The istio-iptables arguments of istio-init's command and args, as one argv. */
static int istio_init_argv(struct job *j, char ***argv, int *argc, FILE *msgs)
{
	yaml_document_t *d = j->doc;
	int c = sc_k8s_seq_item(d, sc_k8s_get(d, j->w.pod_spec, "initContainers"),
				j->istio_init - 1);
	const char *keys[] = {"command", "args"}, *s;
	size_t k, i, n = 0, start = 0;
	bool found = false;
	char **v;
	int seq;

	v = calloc(sc_k8s_seq_len(d, sc_k8s_get(d, c, "command")) +
			   sc_k8s_seq_len(d, sc_k8s_get(d, c, "args")) + 1,
		   sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < 2; k++) {
		seq = sc_k8s_get(d, c, keys[k]);
		for (i = 0; i < sc_k8s_seq_len(d, seq); i++) {
			s = sc_k8s_scalar(d, sc_k8s_seq_item(d, seq, i));
			if (!s)
				continue;
			if (!found && strstr(s, "istio-iptables")) {
				found = true;
				start = n;
			}
			v[n++] = (char *)s;
		}
	}
	if (!found) {
		free(v);
		return fail(
			msgs, j,
			"initContainers istio-init does not run istio-iptables, so its capture "
			"settings are unknown; remove it, and give the settings as annotations");
	}
	/* From istio-iptables itself (a pilot-agent command may precede it), which
	 * sc_istio_from_flags() skips as the program name. */
	memmove(v, v + start, (n - start) * sizeof(*v));
	*argv = v;
	*argc = n - start;
	return 0;
}

static bool image_ok(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "._-/:@") == strlen(s);
}

/* The ConfigMap that holds POLICY, as a new document in *CM. */
static int make_configmap(const struct job *j, const char *cm_name, const char *policy,
			  yaml_document_t *cm)
{
	int root, meta, data;

	if (!yaml_document_initialize(cm, NULL, NULL, NULL, 0, 1))
		return -ENOMEM;
	root = sc_k8s_add_yaml(cm, "apiVersion: v1\nkind: ConfigMap\n");
	meta = root ? sc_k8s_get_or_add_map(cm, root, "metadata") : 0;
	if (!meta || !sc_k8s_put(cm, meta, "name", sc_k8s_add_str(cm, cm_name)))
		return -ENOMEM;
	if (j->w.namespace &&
	    !sc_k8s_put(cm, meta, "namespace", sc_k8s_add_str(cm, j->w.namespace)))
		return -ENOMEM;
	data = sc_k8s_get_or_add_map(cm, root, "data");
	if (!data || !sc_k8s_put(cm, data, SC_INJECT_POLICY_KEY, sc_k8s_add_literal(cm, policy)))
		return -ENOMEM;
	return 0;
}

/* Add the container and the volumes to the pod spec, and drop istio-init. */
static int edit_pod(struct job *j, const char *image, const char *cm_name)
{
	yaml_document_t *d = j->doc;
	int spec = j->w.pod_spec, init, vols, c, v, cmref, name;
	char *text, *p;
	size_t i;

	text = malloc(sizeof(container_yaml) + strlen(image));
	if (!text)
		return -ENOMEM;
	p = strstr(strcpy(text, container_yaml), "IMAGE");
	memmove(p + strlen(image), p + 5, strlen(p + 5) + 1);
	memcpy(p, image, strlen(image));
	c = sc_k8s_add_yaml(d, text);
	free(text);
	init = sc_k8s_get_or_add_seq(d, spec, "initContainers");
	if (!c || !init)
		return -ENOMEM;
	if (j->istio_init)
		sc_k8s_seq_remove(d, init, j->istio_init - 1);
	if (sc_k8s_seq_insert(d, init, 0, c))
		return -ENOMEM;

	v = sc_k8s_add_yaml(d, volumes_yaml);
	vols = sc_k8s_get_or_add_seq(d, spec, "volumes");
	if (!v || !vols)
		return -ENOMEM;
	for (i = 0; i < sc_k8s_seq_len(d, v); i++)
		if (sc_k8s_seq_insert(d, vols, (size_t)-1, sc_k8s_seq_item(d, v, i)))
			return -ENOMEM;
	/* The policy volume's ConfigMap name, as a string whatever it looks like. */
	cmref = sc_k8s_get(d, sc_k8s_seq_item(d, v, 0), "configMap");
	name = sc_k8s_add_str(d, cm_name);
	if (!cmref || !name)
		return -ENOMEM;
	yaml_document_get_node(d, cmref)->data.mapping.pairs.start[0].value = name;
	return 0;
}

static bool annotation_is(const struct sc_istio_kv *kv, size_t n, const char *key,
			  const char *value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return !strcmp(kv[i].value, value);
	return false;
}

/*
 * Make the policy of J and edit its pod; *CM gets the ConfigMap document, and J->skip is set
 * for a workload left as it is.
 */
static int inject_one(struct job *j, const struct sc_inject_opts *opts, yaml_document_t *cm,
		      FILE *msgs)
{
	const char *uid = opts->proxy_uid ? opts->proxy_uid : "1337";
	struct sc_istio_capture cap = {0};
	struct sc_istio_kv *kv = NULL;
	char *policy = NULL, *origin = NULL, *cm_name = NULL, **argv = NULL;
	size_t n = 0;
	int argc = 0, err;

	err = sc_k8s_annotations(j->doc, j->w.pod_meta, &kv, &n);
	if (err)
		return err;
	if (annotation_is(kv, n, "sidecar.istio.io/inject", "false") ||
	    annotation_is(kv, n, "sidecar.istio.io/interceptionMode", "NONE")) {
		fprintf(msgs, "%s: warning: %s: left as it is\n", j->label,
			annotation_is(kv, n, "sidecar.istio.io/inject", "false")
				? "sidecar.istio.io/inject is \"false\""
				: "sidecar.istio.io/interceptionMode is NONE (no capture)");
		j->skip = true;
		goto out;
	}
	if (j->istio_init) {
		err = istio_init_argv(j, &argv, &argc, msgs);
		if (!err)
			err = sc_istio_from_flags(argc, argv, &cap, j->label, msgs);
		if (err)
			goto out;
		if (opts->proxy_uid) {
			cap.uid = (struct sc_istio_opt){opts->proxy_uid, "--proxy-uid"};
			cap.gid = (struct sc_istio_opt){opts->proxy_uid, "--proxy-uid"};
		}
		fprintf(msgs,
			"%s: warning: initContainers istio-init: replaced by " SC_INJECT_CONTAINER
			"; the policy is made from its istio-iptables arguments\n",
			j->label);
	} else {
		err = sc_istio_from_annotations(kv, n, uid, &cap, j->label, msgs);
		if (err)
			goto out;
	}
	if (asprintf(&origin, "the %s of %s %s%s%s",
		     j->istio_init ? "istio-init arguments" : "Istio annotations", j->w.kind,
		     j->w.namespace ? j->w.namespace : "", j->w.namespace ? "/" : "",
		     j->w.name) < 0 ||
	    asprintf(&cm_name, "%s" SC_INJECT_CONFIGMAP_SFX, j->w.name) < 0) {
		origin = cm_name = NULL;
		err = -ENOMEM;
		goto out;
	}
	err = sc_istio_policy(&cap, origin, &policy, j->label, msgs);
	if (!err)
		err = make_configmap(j, cm_name, policy, cm);
	if (!err)
		err = edit_pod(j, opts->image ? opts->image : SC_INJECT_IMAGE, cm_name);
out:
	sc_istio_capture_free(&cap);
	free(argv);
	free(kv);
	free(policy);
	free(origin);
	free(cm_name);
	return err;
}

int sc_inject(const char *text, size_t len, const struct sc_inject_opts *opts, char **out,
	      FILE *msgs)
{
	const char *name = opts->name ? opts->name : "<stdin>";
	struct sc_k8s_doc *docs = NULL, *outv = NULL;
	yaml_document_t *cms = NULL;
	struct job *jobs = NULL;
	size_t n = 0, i, k = 0;
	int err, failed = 0;
	bool *made = NULL;
	const char *kind;

	*out = NULL;
	if (opts->image && !image_ok(opts->image)) {
		fprintf(msgs,
			"%s: --image %s: not an image reference (letters, digits and ._-/:@)\n",
			name, opts->image);
		return -EINVAL;
	}
	err = sc_k8s_load(name, text, len, &docs, &n, msgs);
	if (err)
		return err;
	jobs = calloc(n + 1, sizeof(*jobs));
	cms = calloc(n + 1, sizeof(*cms));
	made = calloc(n + 1, sizeof(*made));
	outv = calloc(2 * n + 1, sizeof(*outv));
	if (!jobs || !cms || !made || !outv) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && err != -ENOMEM; i++) {
		jobs[i].doc = &docs[i].doc;
		if (!sc_k8s_workload(&docs[i].doc, &jobs[i].w)) {
			kind = sc_k8s_scalar(&docs[i].doc, sc_k8s_get(&docs[i].doc, 1, "kind"));
			if (kind && !strcmp(kind, "List"))
				fprintf(msgs,
					"%s: document %d: warning: kind List: its items are not "
					"injected; give them as documents of their own\n",
					name, docs[i].index);
			continue;
		}
		jobs[i].label = sc_k8s_doc_label(name, &docs[i], &jobs[i].w);
		if (!jobs[i].label) {
			err = -ENOMEM;
			break;
		}
		err = check(&jobs[i], msgs);
		if (!err) {
			err = inject_one(&jobs[i], opts, &cms[i], msgs);
			made[i] = !err && !jobs[i].skip;
		}
		if (err)
			failed++;
	}
	if (err != -ENOMEM)
		err = failed ? -EINVAL : 0;
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		if (made[i]) {
			outv[k++].doc = cms[i];
			memset(&cms[i], 0, sizeof(cms[i]));
		}
		outv[k++].doc = docs[i].doc;
		memset(&docs[i].doc, 0, sizeof(docs[i].doc));
	}
	err = sc_k8s_dump(outv, k, out);
out:
	for (i = 0; cms && i < n; i++)
		yaml_document_delete(&cms[i]);
	for (i = 0; jobs && i < n; i++)
		free((char *)jobs[i].label);
	sc_k8s_free(outv, k);
	sc_k8s_free(docs, n);
	free(jobs);
	free(cms);
	free(made);
	return err;
}

static void inject_usage(FILE *f)
{
	fprintf(f, "usage: interceptor inject [-f FILE|-] [--image IMAGE] [--proxy-uid UID]\n");
}

int sc_cmd_inject(int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"image", required_argument, NULL, 'i'},
		{"proxy-uid", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sc_inject_opts o = {0};
	const char *file = "-";
	char *text = NULL, *out = NULL;
	size_t len;
	int c, err;

	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 'i':
			o.image = optarg;
			break;
		case 'u':
			if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg) ||
			    strlen(optarg) > 10) {
				fprintf(stderr,
					"interceptor inject: --proxy-uid %s: give a numeric "
					"uid\n",
					optarg);
				return 2;
			}
			o.proxy_uid = optarg;
			break;
		case 'h':
			inject_usage(stdout);
			return 0;
		default:
			inject_usage(stderr);
			return 2;
		}
	}
	/* The file may also be given alone, as "inject web.yaml" or "inject -". */
	if (optind + 1 == argc)
		file = argv[optind++];
	if (optind != argc) {
		inject_usage(stderr);
		return 2;
	}
	o.name = strcmp(file, "-") ? file : "<stdin>";
	err = sc_k8s_read_file(file, &text, &len);
	if (err) {
		fprintf(stderr, "interceptor inject: %s: %s\n", o.name, strerror(-err));
		return 1;
	}
	err = sc_inject(text, len, &o, &out, stderr);
	free(text);
	if (err) {
		if (err == -ENOMEM)
			fprintf(stderr, "interceptor inject: %s\n", strerror(-err));
		return 1;
	}
	fputs(out, stdout);
	free(out);
	return fflush(stdout) ? 1 : 0;
}

static void from_istio_usage(FILE *f)
{
	fprintf(f, "usage: interceptor from-istio --annotations FILE [--proxy-uid UID]\n"
		   "       interceptor from-istio -- ISTIO-IPTABLES-FLAGS...\n");
}

/* The capture settings of the first workload's annotations in FILE. */
static int from_annotations(const char *file, const char *uid, char **policy)
{
	struct sc_k8s_doc *docs = NULL;
	struct sc_istio_capture cap = {0};
	struct sc_k8s_workload w;
	struct sc_istio_kv *kv = NULL;
	char *text = NULL, *label = NULL, *origin = NULL;
	size_t len, n = 0, i, nkv = 0;
	int err;

	err = sc_k8s_read_file(file, &text, &len);
	if (err) {
		fprintf(stderr, "interceptor from-istio: %s: %s\n", file, strerror(-err));
		return err;
	}
	err = sc_k8s_load(file, text, len, &docs, &n, stderr);
	for (i = 0; !err && i < n && !sc_k8s_workload(&docs[i].doc, &w); i++)
		;
	if (!err && i == n) {
		fprintf(stderr,
			"interceptor from-istio: %s: no Pod or workload with a pod template\n",
			file);
		err = -EINVAL;
	}
	if (!err) {
		label = sc_k8s_doc_label(file, &docs[i], &w);
		err = label ? sc_k8s_annotations(&docs[i].doc, w.pod_meta, &kv, &nkv) : -ENOMEM;
	}
	if (!err)
		err = sc_istio_from_annotations(kv, nkv, uid, &cap, label, stderr);
	if (!err && asprintf(&origin, "the Istio annotations of %s %s%s%s", w.kind,
			     w.namespace ? w.namespace : "", w.namespace ? "/" : "",
			     w.name ? w.name : "without a name") < 0) {
		origin = NULL;
		err = -ENOMEM;
	}
	if (!err)
		err = sc_istio_policy(&cap, origin, policy, label, stderr);
	sc_istio_capture_free(&cap);
	sc_k8s_free(docs, n);
	free(kv);
	free(label);
	free(origin);
	free(text);
	return err;
}

int sc_cmd_from_istio(int argc, char **argv)
{
	static const struct option opts[] = {
		{"annotations", required_argument, NULL, 'a'},
		{"proxy-uid", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct sc_istio_capture cap = {0};
	const char *file = NULL, *uid = NULL;
	char *policy = NULL;
	int c, err;

	/* "+": stop at the first non-option, so that istio-iptables' flags after "--" are kept. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			file = optarg;
			break;
		case 'u':
			if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg)) {
				fprintf(stderr,
					"interceptor from-istio: --proxy-uid %s: give a "
					"numeric uid\n",
					optarg);
				return 2;
			}
			uid = optarg;
			break;
		case 'h':
			from_istio_usage(stdout);
			return 0;
		default:
			from_istio_usage(stderr);
			return 2;
		}
	}
	if (file ? optind != argc : optind == argc || uid) {
		from_istio_usage(stderr);
		return 2;
	}
	if (file) {
		err = from_annotations(file, uid ? uid : "1337", &policy);
	} else {
		err = sc_istio_from_flags(argc - optind, argv + optind, &cap,
					  "interceptor from-istio", stderr);
		if (!err)
			err = sc_istio_policy(&cap, "istio-iptables flags", &policy,
					      "interceptor from-istio", stderr);
		sc_istio_capture_free(&cap);
	}
	if (err) {
		if (err == -ENOMEM)
			fprintf(stderr, "interceptor from-istio: %s\n", strerror(-err));
		return 1;
	}
	fputs(policy, stdout);
	free(policy);
	return fflush(stdout) ? 1 : 0;
}
