// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The document of a libyaml event stream, built node by node with libyaml's own document API, so
 * that the result is freed with yaml_document_delete() like any other. yaml_load.h says why.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "htab.h"
#include "yaml_load.h"

const char sc_yaml_depth_problem[] = "collections nested more than 64 deep; a policy needs 5 "
				     "(close the extra [ or {, or indent less)";

/* An open collection, and for a mapping its key waiting for a value (0: none yet). */
struct sc_open {
	int node;
	int key;
};

struct sc_loader {
	yaml_parser_t *parser;
	yaml_document_t *doc;
	struct sc_open open[SC_YAML_MAX_DEPTH];
	int depth;
	int root;
	struct sc_htab anchors; /* anchor name -> node id */
};

static int sc_fail(struct sc_loader *l, const char *problem, yaml_mark_t mark)
{
	l->parser->error = YAML_COMPOSER_ERROR;
	l->parser->context = NULL;
	l->parser->problem = problem;
	l->parser->problem_mark = mark;
	return 0;
}

static int sc_nomem(struct sc_loader *l)
{
	l->parser->error = YAML_MEMORY_ERROR;
	l->parser->problem = NULL;
	return 0;
}

/* Put node ID into the open collection, or make it the root. */
static int sc_attach(struct sc_loader *l, int id)
{
	struct sc_open *o;
	yaml_node_t *parent;

	if (!l->depth) {
		l->root = id;
		return 1;
	}
	o = &l->open[l->depth - 1];
	parent = yaml_document_get_node(l->doc, o->node);
	if (parent->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(l->doc, o->node, id) ? 1 : sc_nomem(l);
	if (!o->key) {
		o->key = id;
		return 1;
	}
	if (!yaml_document_append_mapping_pair(l->doc, o->node, o->key, id))
		return sc_nomem(l);
	o->key = 0;
	return 1;
}

/* The node ID made for an event with ANCHOR (or none), at START..END. */
static int sc_placed(struct sc_loader *l, int id, yaml_char_t *anchor, yaml_mark_t start,
		     yaml_mark_t end)
{
	yaml_node_t *node;
	size_t first;
	int err;

	if (!id)
		return sc_nomem(l);
	node = yaml_document_get_node(l->doc, id);
	node->start_mark = start;
	node->end_mark = end;
	/* An anchor given twice is an error, as libyaml's loader has it. */
	err = anchor ? sc_htab_add(&l->anchors, anchor, strlen((char *)anchor), (size_t)id) : 0;
	if (err == -EEXIST) {
		sc_htab_find(&l->anchors, anchor, strlen((char *)anchor), &first);
		sc_fail(l, "second occurrence", start);
		l->parser->context = "found duplicate anchor; first occurrence";
		l->parser->context_mark = yaml_document_get_node(l->doc, (int)first)->start_mark;
		return 0;
	}
	if (err)
		return sc_nomem(l);
	return sc_attach(l, id);
}

/* A tag the document API can take: libyaml's loader gives untagged and "!" nodes the default. */
static yaml_char_t *sc_tag(yaml_char_t *tag)
{
	return tag && strcmp((char *)tag, "!") ? tag : NULL;
}

static int sc_event(struct sc_loader *l, yaml_event_t *ev)
{
	yaml_node_t *node;
	size_t id;
	int n;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = yaml_document_add_scalar(l->doc, sc_tag(ev->data.scalar.tag),
					     ev->data.scalar.value, (int)ev->data.scalar.length,
					     ev->data.scalar.style);
		return sc_placed(l, n, ev->data.scalar.anchor, ev->start_mark, ev->end_mark);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (l->depth == SC_YAML_MAX_DEPTH)
			return sc_fail(l, sc_yaml_depth_problem, ev->start_mark);
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			n = yaml_document_add_sequence(l->doc, sc_tag(ev->data.sequence_start.tag),
						       ev->data.sequence_start.style);
		else
			n = yaml_document_add_mapping(l->doc, sc_tag(ev->data.mapping_start.tag),
						      ev->data.mapping_start.style);
		if (!sc_placed(l, n,
			       ev->type == YAML_SEQUENCE_START_EVENT
				       ? ev->data.sequence_start.anchor
				       : ev->data.mapping_start.anchor,
			       ev->start_mark, ev->end_mark))
			return 0;
		l->open[l->depth++] = (struct sc_open){.node = n};
		return 1;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		node = yaml_document_get_node(l->doc, l->open[--l->depth].node);
		node->end_mark = ev->end_mark;
		return 1;
	case YAML_ALIAS_EVENT:
		if (!sc_htab_find(&l->anchors, ev->data.alias.anchor,
				  strlen((char *)ev->data.alias.anchor), &id))
			return sc_fail(l, "found undefined alias", ev->start_mark);
		return sc_attach(l, (int)id);
	default:
		return 1;
	}
}

/* The events of one document, from DOCUMENT-START (in EV) to DOCUMENT-END. */
static int sc_load_document(struct sc_loader *l, yaml_event_t *ev)
{
	yaml_parser_t *parser = l->parser;
	yaml_document_t *doc = l->doc;
	bool done = false;
	int ok;

	if (!yaml_document_initialize(doc, ev->data.document_start.version_directive,
				      ev->data.document_start.tag_directives.start,
				      ev->data.document_start.tag_directives.end,
				      ev->data.document_start.implicit, 1))
		return sc_nomem(l);
	doc->start_mark = ev->start_mark;
	while (!done) {
		yaml_event_t next;

		if (!yaml_parser_parse(parser, &next))
			return 0;
		if (next.type == YAML_DOCUMENT_END_EVENT) {
			doc->end_implicit = next.data.document_end.implicit;
			doc->end_mark = next.end_mark;
			done = true;
			ok = 1;
		} else {
			ok = sc_event(l, &next);
		}
		yaml_event_delete(&next);
		if (!ok)
			return 0;
	}
	/*
	 * The document API numbers nodes in the order they are added, parents before their
	 * children: the root is node 1, which yaml_document_get_root_node() returns.
	 */
	return l->root == 1 || !l->root ? 1
					: sc_fail(l, "root is not the first node", doc->start_mark);
}

int sc_yaml_load(yaml_parser_t *parser, yaml_document_t *doc)
{
	struct sc_loader l = {.parser = parser, .doc = doc};
	yaml_event_t ev;
	int ok;

	memset(doc, 0, sizeof(*doc));
	if (!parser->stream_start_produced) {
		if (!yaml_parser_parse(parser, &ev))
			return 0;
		yaml_event_delete(&ev);
	}
	/* Past the end of the stream: an empty document, as yaml_parser_load() gives. */
	if (parser->stream_end_produced)
		return yaml_document_initialize(doc, NULL, NULL, NULL, 0, 0) ? 1 : sc_nomem(&l);
	if (!yaml_parser_parse(parser, &ev))
		return 0;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return yaml_document_initialize(doc, NULL, NULL, NULL, 0, 0) ? 1 : sc_nomem(&l);
	}
	ok = sc_load_document(&l, &ev);
	yaml_event_delete(&ev);
	sc_htab_free(&l.anchors);
	if (!ok)
		yaml_document_delete(doc);
	return ok;
}
