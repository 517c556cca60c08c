// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kubernetes manifests through libyaml's document API (k8s.h). What the user wrote is kept as
 * libyaml read it: scalar styles, flow or block collections, order of keys; comments are not
 * (libyaml's documents do not hold them).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "yaml_load.h"

static yaml_node_t *node(yaml_document_t *doc, int i)
{
	return i ? yaml_document_get_node(doc, i) : NULL;
}

int sc_k8s_read_file(const char *file, char **text, size_t *len)
{
	FILE *in = strcmp(file, "-") ? fopen(file, "re") : stdin;
	size_t cap = 0, n = 0, r;
	char *buf = NULL, *nb;
	int err = 0;

	*text = NULL;
	*len = 0;
	if (!in)
		return -errno;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, in);
		n += r;
		if (r == 0) {
			if (ferror(in))
				err = -EIO;
			break;
		}
	}
	if (in != stdin)
		fclose(in);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

void sc_k8s_free(struct sc_k8s_doc *docs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		yaml_document_delete(&docs[i].doc);
	free(docs);
}

int sc_k8s_load(const char *name, const char *text, size_t len, struct sc_k8s_doc **docs, size_t *n,
		FILE *msgs)
{
	struct sc_k8s_doc *v = NULL, *nv;
	yaml_parser_t parser;
	size_t count = 0, cap = 0;
	yaml_document_t doc;
	int err = 0;

	*docs = NULL;
	*n = 0;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		if (!sc_yaml_load(&parser, &doc)) {
			fprintf(msgs, "%s:%zu:%zu: YAML error: %s%s%s\n", name,
				parser.problem_mark.line + 1, parser.problem_mark.column + 1,
				parser.problem ? parser.problem : "cannot be read",
				parser.context ? " " : "", parser.context ? parser.context : "");
			err = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
			break;
		}
		if (!yaml_document_get_root_node(&doc)) {
			yaml_document_delete(&doc);
			break;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 4;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				yaml_document_delete(&doc);
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[count].doc = doc;
		v[count].index = count + 1;
		v[count].line = doc.start_mark.line + 1;
		count++;
	}
	yaml_parser_delete(&parser);
	if (err) {
		sc_k8s_free(v, count);
		return err;
	}
	*docs = v;
	*n = count;
	return 0;
}

int sc_k8s_dump(struct sc_k8s_doc *docs, size_t n, char **out)
{
	yaml_emitter_t emitter;
	size_t i, len = 0;
	int err = 0;
	FILE *f;

	*out = NULL;
	f = open_memstream(out, &len);
	if (!f)
		return -ENOMEM;
	if (!yaml_emitter_initialize(&emitter)) {
		fclose(f);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	yaml_emitter_set_output_file(&emitter, f);
	yaml_emitter_set_unicode(&emitter, 1);
	/* No folding of long scalars: an image name or a command line stays on its line. */
	yaml_emitter_set_width(&emitter, -1);
	yaml_emitter_set_indent(&emitter, 2);
	if (!yaml_emitter_open(&emitter))
		err = -EINVAL;
	for (i = 0; i < n && !err; i++) {
		docs[i].doc.start_implicit = 0;
		docs[i].doc.end_implicit = 1;
		if (!yaml_emitter_dump(&emitter, &docs[i].doc))
			err = emitter.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
	}
	if (!err && !yaml_emitter_close(&emitter))
		err = -EINVAL;
	if (!err && !yaml_emitter_flush(&emitter))
		err = -EIO;
	yaml_emitter_delete(&emitter);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(*out);
		*out = NULL;
	}
	return err;
}

int sc_k8s_get(yaml_document_t *doc, int map, const char *key)
{
	yaml_node_t *m = node(doc, map), *k;
	yaml_node_pair_t *p;

	if (!m || m->type != YAML_MAPPING_NODE)
		return 0;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		k = node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((char *)k->data.scalar.value, key))
			return p->value;
	}
	return 0;
}

const char *sc_k8s_scalar(yaml_document_t *doc, int i)
{
	yaml_node_t *n = node(doc, i);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool sc_k8s_is_map(yaml_document_t *doc, int i)
{
	yaml_node_t *n = node(doc, i);

	return n && n->type == YAML_MAPPING_NODE;
}

bool sc_k8s_is_seq(yaml_document_t *doc, int i)
{
	yaml_node_t *n = node(doc, i);

	return n && n->type == YAML_SEQUENCE_NODE;
}

int sc_k8s_line(yaml_document_t *doc, int i)
{
	yaml_node_t *n = node(doc, i);

	return n ? (int)n->start_mark.line + 1 : 0;
}

/* Where each kind keeps its pod template, below the root mapping. */
static const struct {
	const char *kind;
	const char *path[4];
} workload_kinds[] = {
	{"Pod", {NULL}},
	{"Deployment", {"spec", "template", NULL}},
	{"StatefulSet", {"spec", "template", NULL}},
	{"DaemonSet", {"spec", "template", NULL}},
	{"ReplicaSet", {"spec", "template", NULL}},
	{"Job", {"spec", "template", NULL}},
	{"CronJob", {"spec", "jobTemplate", "spec", "template"}},
};

int sc_k8s_workload(yaml_document_t *doc, struct sc_k8s_workload *w)
{
	int root = 1, meta, t;
	const char *kind;
	size_t i, j;

	memset(w, 0, sizeof(*w));
	kind = sc_k8s_scalar(doc, sc_k8s_get(doc, root, "kind"));
	if (!kind)
		return 0;
	for (i = 0; i < sizeof(workload_kinds) / sizeof(workload_kinds[0]); i++)
		if (!strcmp(kind, workload_kinds[i].kind))
			break;
	if (i == sizeof(workload_kinds) / sizeof(workload_kinds[0]))
		return 0;
	w->kind = kind;
	meta = sc_k8s_get(doc, root, "metadata");
	w->name = sc_k8s_scalar(doc, sc_k8s_get(doc, meta, "name"));
	w->namespace = sc_k8s_scalar(doc, sc_k8s_get(doc, meta, "namespace"));
	t = root;
	for (j = 0; j < 4 && workload_kinds[i].path[j] && t; j++)
		t = sc_k8s_get(doc, t, workload_kinds[i].path[j]);
	if (!sc_k8s_is_map(doc, t))
		return 1;
	w->pod_template = t;
	w->pod_meta = sc_k8s_get(doc, t, "metadata");
	w->pod_spec = sc_k8s_get(doc, t, "spec");
	if (!sc_k8s_is_map(doc, w->pod_meta))
		w->pod_meta = 0;
	if (!sc_k8s_is_map(doc, w->pod_spec))
		w->pod_spec = 0;
	return 1;
}

char *sc_k8s_doc_label(const char *name, const struct sc_k8s_doc *d,
		       const struct sc_k8s_workload *w)
{
	char *s = NULL;
	int r;

	if (w && w->kind)
		r = asprintf(&s, "%s: document %d (%s %s%s%s)", name, d->index, w->kind,
			     w->namespace ? w->namespace : "", w->namespace ? "/" : "",
			     w->name ? w->name : "without a name");
	else
		r = asprintf(&s, "%s: document %d", name, d->index);
	return r < 0 ? NULL : s;
}

int sc_k8s_annotations(yaml_document_t *doc, int meta, struct sc_istio_kv **kv, size_t *n)
{
	yaml_node_t *m = node(doc, sc_k8s_get(doc, meta, "annotations"));
	yaml_node_pair_t *p;
	const char *k, *v;
	size_t count = 0;

	*kv = NULL;
	*n = 0;
	if (!m || m->type != YAML_MAPPING_NODE)
		return 0;
	*kv = calloc(m->data.mapping.pairs.top - m->data.mapping.pairs.start + 1, sizeof(**kv));
	if (!*kv)
		return -ENOMEM;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		k = sc_k8s_scalar(doc, p->key);
		v = sc_k8s_scalar(doc, p->value);
		if (!k || !v)
			continue;
		(*kv)[count].key = k;
		(*kv)[count].value = v;
		count++;
	}
	*n = count;
	return 0;
}

/* Whether a plain S would be read as something other than a string (YAML 1.1 and 1.2). */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = {
		"y",	"Y",	"yes",	 "Yes",	 "YES",	  "n",	   "N",	    "no", "No",
		"NO",	"true", "True",	 "TRUE", "false", "False", "FALSE", "on", "On",
		"ON",	"off",	"Off",	 "OFF",	 "null",  "Null",  "NULL",  "~",  ".inf",
		".Inf", ".INF", "-.inf", ".nan", ".NaN",  ".NAN",
	};
	bool digit = false;
	const char *p;
	size_t i;

	if (!*s)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	/* Anything made only of what numbers are made of, with a digit, may be a number. */
	for (p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digit = true;
		else if (!strchr("+-._:eExXoObBaAcCdDfF", *p))
			return false;
	}
	return digit;
}

int sc_k8s_add_str(yaml_document_t *doc, const char *s)
{
	return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)s, strlen(s),
					needs_quotes(s) ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
							: YAML_ANY_SCALAR_STYLE);
}

int sc_k8s_add_literal(yaml_document_t *doc, const char *s)
{
	return yaml_document_add_scalar(doc, NULL, (yaml_char_t *)s, strlen(s),
					YAML_LITERAL_SCALAR_STYLE);
}

int sc_k8s_put(yaml_document_t *doc, int map, const char *key, int value)
{
	int k;

	if (!value)
		return 0;
	k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)key, strlen(key),
				     YAML_ANY_SCALAR_STYLE);
	if (!k || !yaml_document_append_mapping_pair(doc, map, k, value))
		return 0;
	return value;
}

int sc_k8s_get_or_add_map(yaml_document_t *doc, int map, const char *key)
{
	int v = sc_k8s_get(doc, map, key);

	if (v)
		return v;
	return sc_k8s_put(doc, map, key,
			  yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE));
}

bool sc_k8s_is_null(yaml_document_t *doc, int i)
{
	yaml_node_t *n = node(doc, i);
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

int sc_k8s_get_or_add_seq(yaml_document_t *doc, int map, const char *key)
{
	yaml_node_t *m = node(doc, map), *k;
	yaml_node_pair_t *p;
	size_t at;
	int seq;

	if (!m || m->type != YAML_MAPPING_NODE)
		return 0;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		k = node(doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE || strcmp((char *)k->data.scalar.value, key))
			continue;
		if (sc_k8s_is_seq(doc, p->value))
			return p->value;
		/* "key:" with no value is no list yet; anything else is no list at all. */
		if (!sc_k8s_is_null(doc, p->value))
			return 0;
		at = (size_t)(p - m->data.mapping.pairs.start);
		seq = yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE);
		/* Adding a node may move the nodes, and M with them. */
		if (seq)
			node(doc, map)->data.mapping.pairs.start[at].value = seq;
		return seq;
	}
	return sc_k8s_put(doc, map, key,
			  yaml_document_add_sequence(doc, NULL, YAML_BLOCK_SEQUENCE_STYLE));
}

size_t sc_k8s_seq_len(yaml_document_t *doc, int seq)
{
	yaml_node_t *s = node(doc, seq);

	if (!s || s->type != YAML_SEQUENCE_NODE)
		return 0;
	return s->data.sequence.items.top - s->data.sequence.items.start;
}

int sc_k8s_seq_item(yaml_document_t *doc, int seq, size_t at)
{
	if (at >= sc_k8s_seq_len(doc, seq))
		return 0;
	return node(doc, seq)->data.sequence.items.start[at];
}

int sc_k8s_seq_insert(yaml_document_t *doc, int seq, size_t at, int item)
{
	yaml_node_item_t *items;
	size_t len = sc_k8s_seq_len(doc, seq);

	if (!yaml_document_append_sequence_item(doc, seq, item))
		return -ENOMEM;
	if (at >= len)
		return 0;
	/* Appended last; move it to AT. */
	items = node(doc, seq)->data.sequence.items.start;
	memmove(items + at + 1, items + at, (len - at) * sizeof(*items));
	items[at] = item;
	return 0;
}

void sc_k8s_seq_remove(yaml_document_t *doc, int seq, size_t at)
{
	size_t len = sc_k8s_seq_len(doc, seq);
	yaml_node_t *s = node(doc, seq);
	yaml_node_item_t *items;

	if (at >= len)
		return;
	/* The node stays in the document, unreachable: the emitter starts from the root. */
	items = s->data.sequence.items.start;
	memmove(items + at, items + at + 1, (len - at - 1) * sizeof(*items));
	s->data.sequence.items.top--;
}

/* Copy node I of SRC, and everything below it, into DST. Returns the new index, 0 on error. */
static int copy_node(yaml_document_t *dst, yaml_document_t *src, int i)
{
	yaml_node_t *n = node(src, i);
	int copy, k, v;
	size_t j, len;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		return yaml_document_add_scalar(dst, n->tag, n->data.scalar.value,
						n->data.scalar.length, n->data.scalar.style);
	case YAML_SEQUENCE_NODE:
		copy = yaml_document_add_sequence(dst, n->tag, n->data.sequence.style);
		len = n->data.sequence.items.top - n->data.sequence.items.start;
		for (j = 0; copy && j < len; j++) {
			v = copy_node(dst, src, node(src, i)->data.sequence.items.start[j]);
			if (!v || !yaml_document_append_sequence_item(dst, copy, v))
				return 0;
		}
		return copy;
	case YAML_MAPPING_NODE:
		copy = yaml_document_add_mapping(dst, n->tag, n->data.mapping.style);
		len = n->data.mapping.pairs.top - n->data.mapping.pairs.start;
		for (j = 0; copy && j < len; j++) {
			k = copy_node(dst, src, node(src, i)->data.mapping.pairs.start[j].key);
			v = copy_node(dst, src, node(src, i)->data.mapping.pairs.start[j].value);
			if (!k || !v || !yaml_document_append_mapping_pair(dst, copy, k, v))
				return 0;
		}
		return copy;
	default:
		return 0;
	}
}

int sc_k8s_add_yaml(yaml_document_t *doc, const char *text)
{
	yaml_document_t src;
	yaml_parser_t parser;
	int copy = 0;

	if (!yaml_parser_initialize(&parser))
		return 0;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (sc_yaml_load(&parser, &src)) {
		if (yaml_document_get_root_node(&src))
			copy = copy_node(doc, &src, 1);
		yaml_document_delete(&src);
	}
	yaml_parser_delete(&parser);
	return copy;
}
