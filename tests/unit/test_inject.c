// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor inject and from-istio against golden files: tests/golden/inject/NAME.in.yaml is
 * injected and compared byte for byte with NAME.out.yaml (absent when the input is refused) and
 * the messages with NAME.err; tests/golden/istio/NAME.args (one istio-iptables argument a line)
 * gives NAME.yaml and NAME.err. Every policy made must parse as a sidecap config. Run with
 * UPDATE_GOLDEN=1 to rewrite the files, then review the diff.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "inject.h"
#include "istio.h"
#include "k8s.h"

static bool update_golden(void)
{
	const char *u = getenv("UPDATE_GOLDEN");

	return u && !strcmp(u, "1");
}

static void golden_path(char *buf, size_t size, const char *dir, const char *name,
			const char *suffix)
{
	char src[] = __FILE__;

	snprintf(buf, size, "%s/../golden/%s/%s%s", dirname(src), dir, name, suffix);
}

/* The whole file, or NULL when it does not exist. */
static char *read_golden(const char *dir, const char *name, const char *suffix, size_t *len)
{
	char path[4096], *text;
	size_t n;

	golden_path(path, sizeof(path), dir, name, suffix);
	if (access(path, F_OK))
		return NULL;
	cr_assert_eq(sc_k8s_read_file(path, &text, &n), 0, "%s", path);
	if (len)
		*len = n;
	return text;
}

/* GOT is the content of DIR/NAME+SUFFIX; NULL GOT: the file must not exist. */
static void assert_golden(const char *dir, const char *name, const char *suffix, const char *got)
{
	char path[4096], *want;
	FILE *f;

	golden_path(path, sizeof(path), dir, name, suffix);
	if (update_golden()) {
		if (!got) {
			unlink(path);
		} else {
			f = fopen(path, "we");
			cr_assert_not_null(f, "%s: %s", path, strerror(errno));
			fputs(got, f);
			fclose(f);
		}
	}
	want = read_golden(dir, name, suffix, NULL);
	if (!got) {
		cr_assert_null(want, "%s exists, but nothing was written", path);
		return;
	}
	cr_assert_not_null(want, "%s is missing (UPDATE_GOLDEN=1 writes it)", path);
	cr_assert_str_eq(got, want, "%s differs; got:\n%s", path, got);
	free(want);
}

/*
 * POLICY parses as a sidecap config. The policy has no cgroup key (the interceptor finds the
 * pod's cgroup itself); one is put in front so that the check holds whether or not the parser
 * requires it.
 */
static void assert_policy_parses(const char *policy)
{
	static const char cgroup[] = "cgroup: /sys/fs/cgroup/sidecap-test\n";
	struct sc_config cfg = {0};
	struct sc_diags diags = {0};
	char *text;
	int err;

	cr_assert_geq(asprintf(&text, "%s%s", cgroup, policy), 0);
	err = sc_config_parse_string("policy.yaml", text, strlen(text), &cfg, &diags);
	cr_assert_eq(err, 0, "policy does not parse: %s: %s\n%s", diags.n ? diags.v[0].key : "",
		     diags.n ? diags.v[0].msg : "", policy);
	sc_config_free(&cfg);
	sc_diags_free(&diags);
	free(text);
}

/* Every ConfigMap policy in the injected stream OUT parses; returns how many there are. */
static int check_configmaps(const char *out)
{
	struct sc_k8s_doc *docs;
	const char *kind, *policy;
	size_t n, i;
	int count = 0;
	FILE *msgs = fopen("/dev/null", "we");

	cr_assert_eq(sc_k8s_load("out", out, strlen(out), &docs, &n, msgs), 0);
	fclose(msgs);
	for (i = 0; i < n; i++) {
		yaml_document_t *d = &docs[i].doc;

		kind = sc_k8s_scalar(d, sc_k8s_get(d, 1, "kind"));
		policy = sc_k8s_scalar(
			d, sc_k8s_get(d, sc_k8s_get(d, 1, "data"), SC_INJECT_POLICY_KEY));
		if (!kind || strcmp(kind, "ConfigMap") || !policy)
			continue;
		assert_policy_parses(policy);
		count++;
	}
	sc_k8s_free(docs, n);
	return count;
}

/*
 * Inject NAME.in.yaml with IMAGE and UID (NULL: the defaults); it must succeed (OK) or be
 * refused, with output and messages as the golden files say. Returns the policies made.
 */
static int inject_golden(const char *name, const char *image, const char *uid, bool ok)
{
	struct sc_inject_opts opts = {.image = image, .proxy_uid = uid};
	char in_name[256], *in, *out = NULL, *msgs = NULL;
	size_t len, mlen = 0;
	int err, policies = 0;
	FILE *m;

	snprintf(in_name, sizeof(in_name), "%s.in.yaml", name);
	opts.name = in_name;
	in = read_golden("inject", name, ".in.yaml", &len);
	cr_assert_not_null(in, "tests/golden/inject/%s is missing", in_name);
	m = open_memstream(&msgs, &mlen);
	err = sc_inject(in, len, &opts, &out, m);
	fclose(m);
	if (ok) {
		cr_assert_eq(err, 0, "%s: %s", name, msgs);
		cr_assert_not_null(out);
		policies = check_configmaps(out);
	} else {
		cr_assert_eq(err, -EINVAL, "%s was not refused", name);
		cr_assert_null(out);
	}
	assert_golden("inject", name, ".out.yaml", out);
	assert_golden("inject", name, ".err", msgs);
	free(in);
	free(out);
	free(msgs);
	return policies;
}

TestSuite(inject);

Test(inject, deployment_with_every_supported_annotation)
{
	cr_assert_eq(inject_golden("deployment-annotations", NULL, NULL, true), 1);
}

Test(inject, pod_without_annotations_gets_istio_defaults)
{
	cr_assert_eq(inject_golden("pod-plain", NULL, NULL, true), 1);
}

Test(inject, tproxy_is_warned_and_captured_as_redirect)
{
	cr_assert_eq(inject_golden("pod-tproxy", NULL, NULL, true), 1);
}

Test(inject, unhonoured_and_misspelt_annotations_are_named)
{
	cr_assert_eq(inject_golden("pod-unknown-annotations", NULL, NULL, true), 1);
}

Test(inject, proxy_metadata_dns_capture_turns_dns_capture_on)
{
	cr_assert_eq(inject_golden("pod-dns-capture", NULL, NULL, true), 1);
}

Test(inject, multi_document_injects_workloads_and_passes_others_through)
{
	/* StatefulSet and CronJob; the DaemonSet says sidecar.istio.io/inject: "false". */
	cr_assert_eq(inject_golden("multi-doc", NULL, NULL, true), 2);
}

Test(inject, already_injected_workload_is_refused)
{
	inject_golden("already-injected", NULL, NULL, false);
}

Test(inject, istio_init_is_replaced_and_its_arguments_are_the_policy)
{
	cr_assert_eq(inject_golden("istio-init", NULL, NULL, true), 1);
}

Test(inject, pod_captured_by_istio_cni_is_refused)
{
	inject_golden("istio-cni", NULL, NULL, false);
}

Test(inject, host_network_pod_is_refused)
{
	inject_golden("host-network", NULL, NULL, false);
}

Test(inject, proxy_uid_and_image_options_are_used)
{
	cr_assert_eq(inject_golden("proxy-uid", "registry.example/sidecap:0.4", "101", true), 1);
}

Test(inject, bad_annotation_value_is_refused_by_name)
{
	inject_golden("bad-annotation", NULL, NULL, false);
}

Test(inject, output_of_inject_is_refused_as_already_injected)
{
	struct sc_inject_opts opts = {.name = "again.yaml"};
	char *in, *out = NULL, *again = NULL, *msgs = NULL;
	size_t len, mlen = 0;
	FILE *m;

	in = read_golden("inject", "deployment-annotations", ".in.yaml", &len);
	m = fopen("/dev/null", "we");
	cr_assert_eq(sc_inject(in, len, &opts, &out, m), 0);
	fclose(m);
	m = open_memstream(&msgs, &mlen);
	cr_assert_eq(sc_inject(out, strlen(out), &opts, &again, m), -EINVAL);
	fclose(m);
	cr_assert_null(again);
	cr_assert_not_null(strstr(msgs, "again.yaml: document 2 (Deployment shop/reviews): already "
					"injected: it has the container sidecap-interceptor"),
			   "%s", msgs);
	free(in);
	free(out);
	free(msgs);
}

Test(inject, bad_image_name_is_refused)
{
	struct sc_inject_opts opts = {.name = "x.yaml", .image = "evil\nimage"};
	char *out = NULL, *msgs = NULL;
	size_t mlen = 0;
	FILE *m = open_memstream(&msgs, &mlen);

	cr_assert_eq(sc_inject("kind: Pod\n", 10, &opts, &out, m), -EINVAL);
	fclose(m);
	cr_assert_null(out);
	cr_assert_not_null(strstr(msgs, "not an image reference"), "%s", msgs);
	free(msgs);
}

Test(inject, yaml_syntax_error_names_file_line_and_column)
{
	static const char text[] = "kind: Pod\nmetadata:\n  name: [x\n";
	struct sc_inject_opts opts = {.name = "bad.yaml"};
	char *out = NULL, *msgs = NULL;
	size_t mlen = 0;
	FILE *m = open_memstream(&msgs, &mlen);

	cr_assert_eq(sc_inject(text, strlen(text), &opts, &out, m), -EINVAL);
	fclose(m);
	cr_assert_null(out);
	cr_assert_eq(strncmp(msgs, "bad.yaml:4:1: YAML error: ", 26), 0, "%s", msgs);
	free(msgs);
}

/* istio-iptables flags of tests/golden/istio/NAME.args to a policy; OK: accepted. */
static void istio_golden(const char *name, bool ok)
{
	char *text, *p, *nl, *policy = NULL, *msgs = NULL;
	struct sc_istio_capture cap;
	char *argv[128];
	size_t len, mlen = 0;
	int argc = 0, err;
	FILE *m;

	text = read_golden("istio", name, ".args", &len);
	cr_assert_not_null(text, "tests/golden/istio/%s.args is missing", name);
	for (p = text; *p && argc < 128; p = nl + 1) {
		nl = strchr(p, '\n');
		cr_assert_not_null(nl, "%s.args: the last line has no newline", name);
		*nl = '\0';
		argv[argc++] = p;
	}
	m = open_memstream(&msgs, &mlen);
	err = sc_istio_from_flags(argc, argv, &cap, "from-istio", m);
	if (!err)
		err = sc_istio_policy(&cap, "istio-iptables flags", &policy, "from-istio", m);
	sc_istio_capture_free(&cap);
	fclose(m);
	if (ok) {
		cr_assert_eq(err, 0, "%s: %s", name, msgs);
		assert_policy_parses(policy);
	} else {
		cr_assert_eq(err, -EINVAL, "%s was not refused", name);
	}
	assert_golden("istio", name, ".yaml", policy);
	assert_golden("istio", name, ".err", msgs);
	free(text);
	free(policy);
	free(msgs);
}

TestSuite(istio);

Test(istio, injector_default_flags_capture_everything_but_istio_ports)
{
	istio_golden("defaults", true);
}

Test(istio, range_list_with_port_list_keeps_ranges_and_warns)
{
	istio_golden("ranges-and-ports", true);
}

Test(istio, flags_that_cannot_be_honoured_are_named)
{
	istio_golden("unhonoured", true);
}

Test(istio, redirect_dns_captures_dns)
{
	istio_golden("redirect-dns", true);
}

Test(istio, capture_all_dns_alone_is_warned)
{
	istio_golden("capture-all-dns-alone", true);
}

Test(istio, long_flags_and_equals_forms_are_read)
{
	istio_golden("long-flags", true);
}

Test(istio, same_outbound_and_inbound_port_is_refused)
{
	istio_golden("same-ports", false);
}

Test(istio, unknown_flag_is_refused)
{
	istio_golden("unknown-flag", false);
}

/* Inject the Pod whose spec has SPEC_EXTRA before its containers; the messages in *MSGS. */
static int inject_pod(const char *spec_extra, char **out, char **msgs)
{
	struct sc_inject_opts opts = {.name = "pod.yaml"};
	char in[1024];
	size_t mlen = 0;
	FILE *m;
	int err;

	snprintf(in, sizeof(in),
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n%s  containers:\n"
		 "  - name: app\n    image: i\n",
		 spec_extra);
	m = open_memstream(msgs, &mlen);
	cr_assert_not_null(m);
	err = sc_inject(in, strlen(in), &opts, out, m);
	fclose(m);
	return err;
}

/*
 * Found by fuzz_inject: an initContainers or volumes that is not a list reached libyaml's
 * append, whose assertion aborted `interceptor inject`; "initContainers:" with no value did too.
 */
Test(inject, init_containers_or_volumes_not_a_list_is_refused_by_name)
{
	static const char *const bad[][2] = {
		{"  initContainers: x\n", "spec.initContainers is not a list"},
		{"  initContainers: {a: 1}\n", "spec.initContainers is not a list"},
		{"  volumes: x\n", "spec.volumes is not a list"},
		{"  volumes: {a: 1}\n", "spec.volumes is not a list"},
	};
	char *out = NULL, *msgs = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(inject_pod(bad[i][0], &out, &msgs), -EINVAL, "%s", bad[i][0]);
		cr_assert_null(out);
		cr_assert(strstr(msgs, bad[i][1]), "%s: %s", bad[i][0], msgs);
		free(msgs);
		msgs = NULL;
	}
}

Test(inject, init_containers_and_volumes_with_no_value_are_filled)
{
	char *out = NULL, *msgs = NULL;

	cr_assert_eq(inject_pod("  initContainers:\n  volumes: ~\n", &out, &msgs), 0, "%s", msgs);
	cr_assert(strstr(out, "  initContainers:\n  - name: sidecap-interceptor\n"), "%s", out);
	cr_assert(strstr(out, "- name: sidecap-policy"), "%s", out);
	free(out);
	free(msgs);
}
