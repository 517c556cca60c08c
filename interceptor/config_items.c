// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * For the parse cache (config_cache.c): where the items of a document's services sequence are,
 * and a run of items cut out of a file parsed on its own, with the same functions as in the whole
 * file. A run of items reads as it does in place as long as nothing around it changes how its
 * text is scanned; the checks here and in config_cache.c make sure of that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "yaml_load.h"

/*
 * Whether the document is a tree: an alias makes a node the child of a second parent, so a
 * document with one has more child references than nodes below the root.
 */
static bool sc_doc_is_tree(yaml_document_t *doc)
{
	size_t nodes = doc->nodes.top - doc->nodes.start, refs = 0;
	const yaml_node_t *n;

	if (!nodes)
		return true;
	for (n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (n->type == YAML_SEQUENCE_NODE)
			refs += n->data.sequence.items.top - n->data.sequence.items.start;
		else if (n->type == YAML_MAPPING_NODE)
			refs += 2 * (n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	return refs + 1 == nodes;
}

/*
 * Whether the nodes FIRST..LAST (ids, inclusive) read the same wherever their text stands: no
 * block scalar (a line added after one could become part of it), no quoted scalar over several
 * lines. (A tag reads the same anywhere in a document without %TAG directives, and the parse
 * does not look at tags.)
 */
static const char *sc_nodes_local(yaml_document_t *doc, int first, int last)
{
	const yaml_node_t *n;
	int id;

	for (id = first; id <= last; id++) {
		n = yaml_document_get_node(doc, id);
		if (n->type != YAML_SCALAR_NODE)
			continue;
		switch (n->data.scalar.style) {
		case YAML_LITERAL_SCALAR_STYLE:
		case YAML_FOLDED_SCALAR_STYLE:
			return "a block scalar in services";
		case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
			if (n->start_mark.line != n->end_mark.line)
				return "a quoted scalar over several lines in services";
			break;
		default:
			break;
		}
	}
	return NULL;
}

static bool sc_doc_plain(const yaml_document_t *doc)
{
	return doc->start_implicit && doc->end_implicit && !doc->version_directive &&
	       doc->tag_directives.start == doc->tag_directives.end;
}

/* See struct sc_items_layout. DOC parsed without a problem. */
const char *sc_layout_of(yaml_document_t *doc, struct sc_items_layout *lay)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *k, *seq = NULL;
	yaml_node_pair_t *pair;
	int last;

	if (!sc_doc_plain(doc))
		return "directives or document markers";
	if (!root || root->type != YAML_MAPPING_NODE ||
	    root->data.mapping.style != YAML_BLOCK_MAPPING_STYLE || root->start_mark.column)
		return "the top level is not a block mapping at column 1";
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(doc, pair->key);
		if (!strcmp(sc_value(k), "services")) {
			seq = yaml_document_get_node(doc, pair->value);
			break;
		}
	}
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    seq->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE ||
	    seq->data.sequence.items.start == seq->data.sequence.items.top)
		return "services is not a block sequence";
	if (seq->end_mark.column)
		return "services does not end at the start of a line";
	if (!sc_doc_is_tree(doc))
		return "an alias";
	/* Nodes are numbered in document order: the sequence's are up to the next key's. */
	last = pair + 1 < root->data.mapping.pairs.top ? pair[1].key - 1
						       : (int)(doc->nodes.top - doc->nodes.start);
	lay->why = sc_nodes_local(doc, pair->value, last);
	if (lay->why)
		return lay->why;
	lay->col = seq->start_mark.column;
	lay->end_line = seq->end_mark.line;
	return NULL;
}

/*
 * Whether DOC, loaded by PARSER, is one block sequence at column COL that reads the same
 * wherever its text stands, with nothing after it in the stream: 0, -EAGAIN, or -ENOMEM.
 */
static int sc_items_doc_ok(yaml_parser_t *parser, yaml_document_t *doc, size_t col)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_document_t next;

	if (!sc_doc_plain(doc) || !sc_doc_is_tree(doc) || root->type != YAML_SEQUENCE_NODE ||
	    root->data.sequence.style != YAML_BLOCK_SEQUENCE_STYLE ||
	    root->start_mark.column != col ||
	    sc_nodes_local(doc, 1, (int)(doc->nodes.top - doc->nodes.start)))
		return -EAGAIN;
	/* Nothing may follow: a second document, even an empty one, is the whole file's problem. */
	if (!sc_yaml_load(parser, &next))
		return parser->error == YAML_MEMORY_ERROR ? -ENOMEM : -EAGAIN;
	root = yaml_document_get_root_node(&next);
	yaml_document_delete(&next);
	return root ? -EAGAIN : 0;
}

/*
 * Read the items of the sequence ROOT into P's config, with the checks of each on its own:
 * 0, -EAGAIN when one has a problem, or -ENOMEM.
 */
static int sc_items_read(struct sc_parser *p, const yaml_node_t *root)
{
	size_t i, items = root->data.sequence.items.top - root->data.sequence.items.start;
	struct sc_config *cfg = p->cfg;
	struct sc_addr_ref *refs;

	cfg->services = calloc(items, sizeof(*cfg->services));
	p->svcs = calloc(items, sizeof(*p->svcs));
	refs = malloc((SC_SVC_MAX_ENDPOINTS + 1) * sizeof(*refs));
	if (!cfg->services || !p->svcs || !refs) {
		free(refs);
		return -ENOMEM;
	}
	cfg->n_services = items;
	p->n_svcs = items;
	for (i = 0; i < items; i++)
		sc_parse_service(p, i, sc_item(p, root, i), &cfg->services[i], &p->svcs[i]);
	for (i = 0; !p->errors && !p->err && i < items; i++) {
		/* More endpoints than that is an error, reported by the whole parse. */
		if (cfg->services[i].n_endpoints > SC_SVC_MAX_ENDPOINTS)
			p->errors++;
		else
			sc_validate_endpoints(p, i, refs);
	}
	free(refs);
	return p->err ? p->err : p->errors ? -EAGAIN : 0;
}

int sc_config_parse_items(const char *name, const char *text, size_t len, size_t col,
			  struct sc_service_cfg **svcs, size_t *n)
{
	struct sc_config cfg = {0};
	struct sc_diags scratch = {0};
	struct sc_parser p = {.file = name, .cfg = &cfg, .diags = &scratch};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t i;
	int err;

	*svcs = NULL;
	*n = 0;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!sc_yaml_load(&parser, &doc)) {
		err = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EAGAIN;
		goto out_parser;
	}
	p.doc = &doc;
	/* No root: the text held nothing but comments and blank lines, and the stream has ended. */
	root = yaml_document_get_root_node(&doc);
	err = root ? sc_items_doc_ok(&parser, &doc, col) : 0;
	if (root && !err)
		err = sc_items_read(&p, root);
	if (root && !err) {
		*svcs = cfg.services;
		*n = cfg.n_services;
		cfg.services = NULL;
		cfg.n_services = 0;
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	for (i = 0; i < p.n_svcs; i++)
		free(p.svcs[i].eps);
	free(p.svcs);
	sc_services_free(cfg.services, cfg.n_services);
	sc_diags_free(&scratch);
	return err;
}
