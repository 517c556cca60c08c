// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor inject and from-istio. The input's first line picks the entry:
 *
 *	#flags        one istio-iptables argument per line (from-istio -- FLAGS)
 *	#annotations  one pod annotation per line, KEY=VALUE (from-istio --annotations)
 *	anything else the whole input is a YAML stream of workloads (inject)
 *
 * A policy from-istio writes must itself be a policy the daemon accepts (sc_config_parse_string
 * finds nothing wrong in it); an injected stream must be YAML that loads again.
 */
#include <errno.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "fuzz.h"
#include "inject.h"
#include "istio.h"

#define MAX_LINES 64

/* Split TEXT (NUL-terminated, writable) at newlines into at most MAX_LINES pieces. */
static size_t split_lines(char *text, char **v)
{
	size_t n = 0;
	char *nl;

	while (n < MAX_LINES && text) {
		v[n++] = text;
		nl = strchr(text, '\n');
		if (nl)
			*nl++ = '\0';
		text = nl;
	}
	return n;
}

/* A policy from-istio wrote: it must parse and validate. */
static void check_policy(const char *policy)
{
	struct sc_diags diags = {0};
	struct sc_config cfg;
	int err;

	err = sc_config_parse_string("from-istio.yaml", policy, strlen(policy), &cfg, &diags);
	if (err) {
		sc_diags_print(&diags, stderr);
		FUZZ_CHECK(0, "from-istio wrote a policy that does not validate:\n%s", policy);
	}
	sc_config_free(&cfg);
	sc_diags_free(&diags);
}

static void from_capture(struct sc_istio_capture *cap, int err)
{
	char *policy = NULL;

	FUZZ_CHECK(err == 0 || err == -EINVAL, "from-istio returned %d", err);
	if (!err) {
		err = sc_istio_policy(cap, "fuzz", &policy, "fuzz", fuzz_sink());
		FUZZ_CHECK(err == 0 || err == -EINVAL, "sc_istio_policy returned %d", err);
		if (!err)
			check_policy(policy);
		free(policy);
	}
	sc_istio_capture_free(cap);
}

static void from_flags(char *text)
{
	struct sc_istio_capture cap = {0};
	char *argv[MAX_LINES + 1];
	int argc;

	/* argv[0] is the program name, as in istio-iptables' own command line. */
	argv[0] = "istio-iptables";
	argc = 1 + (int)split_lines(text, argv + 1);
	from_capture(&cap, sc_istio_from_flags(argc, argv, &cap, "fuzz", fuzz_sink()));
}

static void from_annotations(char *text)
{
	struct sc_istio_capture cap = {0};
	struct sc_istio_kv kv[MAX_LINES];
	char *lines[MAX_LINES], *eq;
	size_t i, n;

	n = split_lines(text, lines);
	for (i = 0; i < n; i++) {
		eq = strchr(lines[i], '=');
		if (eq)
			*eq++ = '\0';
		kv[i].key = lines[i];
		kv[i].value = eq ? eq : "";
	}
	from_capture(&cap, sc_istio_from_annotations(kv, n, "1337", &cap, "fuzz", fuzz_sink()));
}

static void inject(const uint8_t *data, size_t size)
{
	struct sc_inject_opts opts = {.name = "fuzz.yaml"};
	yaml_parser_t parser;
	yaml_document_t doc;
	char *out = NULL;
	int err, ok;

	err = sc_inject((const char *)data, size, &opts, &out, fuzz_sink());
	FUZZ_CHECK(err == 0 || err == -EINVAL, "inject returned %d", err);
	FUZZ_CHECK(!err == !!out, "inject returned %d with%s output", err, out ? "" : "out");
	if (!out)
		return;
	/* Every document of the stream inject wrote loads again. */
	FUZZ_CHECK(yaml_parser_initialize(&parser), "yaml_parser_initialize");
	yaml_parser_set_input_string(&parser, (const unsigned char *)out, strlen(out));
	for (;;) {
		ok = yaml_parser_load(&parser, &doc);
		FUZZ_CHECK(ok, "inject wrote YAML that does not load: %s", parser.problem);
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char flags[] = "#flags\n", annotations[] = "#annotations\n";
	char *text;

	if (size >= sizeof(flags) - 1 && !memcmp(data, flags, sizeof(flags) - 1)) {
		text = strndup((const char *)data + sizeof(flags) - 1, size - (sizeof(flags) - 1));
		if (text)
			from_flags(text);
		free(text);
	} else if (size >= sizeof(annotations) - 1 &&
		   !memcmp(data, annotations, sizeof(annotations) - 1)) {
		text = strndup((const char *)data + sizeof(annotations) - 1,
			       size - (sizeof(annotations) - 1));
		if (text)
			from_annotations(text);
		free(text);
	} else {
		inject(data, size);
	}
	return 0;
}
