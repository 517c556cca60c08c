/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Kubernetes manifests through libyaml's document API: a multi-document stream loaded into
 * documents, the workload and pod template of each, and small node helpers to read and add to
 * them. Nodes are named by their index in the document (pointers move as nodes are added).
 */
#ifndef SC_K8S_H
#define SC_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#include "istio.h"

/* Read FILE ("-" for standard input) whole into *TEXT (malloc'ed, NUL-terminated). 0 or -errno. */
int sc_k8s_read_file(const char *file, char **text, size_t *len);

struct sc_k8s_doc {
	yaml_document_t doc;
	int index; /* 1-based position in the stream */
	int line;  /* 1-based line where it starts */
};

/*
 * Load every document of TEXT (named NAME in messages). *DOCS is malloc'ed; free it with
 * sc_k8s_free(). 0, or -EINVAL after "NAME:LINE:COL: YAML error: ..." on MSGS, or -ENOMEM.
 */
int sc_k8s_load(const char *name, const char *text, size_t len, struct sc_k8s_doc **docs, size_t *n,
		FILE *msgs);
void sc_k8s_free(struct sc_k8s_doc *docs, size_t n);

/*
 * Write the documents in order, each after a "---" line, into *OUT (malloc'ed). The documents
 * are consumed (libyaml's emitter empties them). 0 or -EINVAL/-ENOMEM.
 */
int sc_k8s_dump(struct sc_k8s_doc *docs, size_t n, char **out);

/* A Pod, or a workload with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * Job, CronJob), in one document. */
struct sc_k8s_workload {
	const char *kind;
	const char *name;      /* metadata.name; NULL when missing */
	const char *namespace; /* metadata.namespace; NULL when missing */
	int pod_meta;	       /* the pod's metadata mapping, 0 when missing */
	int pod_spec;	       /* the pod's spec mapping, 0 when missing */
	int pod_template;      /* the mapping holding pod_meta and pod_spec (the root for a Pod) */
};

/* 1 and *W filled when DOC is a workload, 0 for any other document. */
int sc_k8s_workload(yaml_document_t *doc, struct sc_k8s_workload *w);

/*
 * "NAME: document I (KIND NAMESPACE/NAME)" for messages about the document; *OUT malloc'ed, or
 * NULL when out of memory.
 */
char *sc_k8s_doc_label(const char *name, const struct sc_k8s_doc *d,
		       const struct sc_k8s_workload *w);

/*
 * The annotations of the mapping META (the pod's metadata) as key/value pairs pointing into the
 * document; scalar values only (others are skipped). *KV malloc'ed (NULL when none).
 */
int sc_k8s_annotations(yaml_document_t *doc, int meta, struct sc_istio_kv **kv, size_t *n);

/* The value node of KEY in the mapping MAP, or 0. */
int sc_k8s_get(yaml_document_t *doc, int map, const char *key);
/* The text of a scalar node, or NULL for any other node. */
const char *sc_k8s_scalar(yaml_document_t *doc, int node);
/* Whether NODE is a mapping, a sequence. */
bool sc_k8s_is_map(yaml_document_t *doc, int node);
bool sc_k8s_is_seq(yaml_document_t *doc, int node);
/* The 1-based line of NODE. */
int sc_k8s_line(yaml_document_t *doc, int node);

/* A string scalar, quoted when a YAML reader could take it for a number, boolean or null. */
int sc_k8s_add_str(yaml_document_t *doc, const char *s);
/* A multi-line string as a literal block (|). */
int sc_k8s_add_literal(yaml_document_t *doc, const char *s);
/* KEY: VALUE appended to MAP; returns VALUE, or 0 when out of memory. */
int sc_k8s_put(yaml_document_t *doc, int map, const char *key, int value);
/* Whether node I is a YAML null: a plain "", "~" or "null". */
bool sc_k8s_is_null(yaml_document_t *doc, int i);
/*
 * The value of KEY in MAP, made an empty block mapping or sequence when missing (or, for a
 * sequence, null); 0 when it is there but of another kind, or on -ENOMEM.
 */
int sc_k8s_get_or_add_map(yaml_document_t *doc, int map, const char *key);
int sc_k8s_get_or_add_seq(yaml_document_t *doc, int map, const char *key);
/* Add ITEM at position AT (0 for first) of SEQ, or remove the item at AT. 0 or -ENOMEM. */
int sc_k8s_seq_insert(yaml_document_t *doc, int seq, size_t at, int item);
void sc_k8s_seq_remove(yaml_document_t *doc, int seq, size_t at);
size_t sc_k8s_seq_len(yaml_document_t *doc, int seq);
int sc_k8s_seq_item(yaml_document_t *doc, int seq, size_t at);

/*
 * Parse TEXT, one YAML document, and copy its root into DOC: the way to add a block of YAML
 * written as text (a container, a volume). Returns the new node, 0 on error (TEXT is ours, so
 * an error is a bug or -ENOMEM).
 */
int sc_k8s_add_yaml(yaml_document_t *doc, const char *text);

#endif /* SC_K8S_H */
