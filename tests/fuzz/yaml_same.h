/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sc_yaml_load() against libyaml's own yaml_parser_load(): on a text both accept, the same
 * documents node for node (type, tag, value, style, children, marks). Where they differ in
 * accepting it, only our bounds may be the reason (yaml_load.h).
 */
#ifndef SC_YAML_SAME_H
#define SC_YAML_SAME_H

#include <string.h>
#include <yaml.h>

#include "fuzz.h"
#include "yaml_load.h"

static inline void yaml_same_marks(yaml_mark_t a, yaml_mark_t b, const char *what, size_t i)
{
	FUZZ_CHECK(a.index == b.index && a.line == b.line && a.column == b.column,
		   "node %zu %s mark: %zu:%zu vs libyaml's %zu:%zu", i, what, a.line, a.column,
		   b.line, b.column);
}

static inline void yaml_same_doc(yaml_document_t *a, yaml_document_t *b)
{
	size_t n = (size_t)(a->nodes.top - a->nodes.start), i;

	FUZZ_CHECK(n == (size_t)(b->nodes.top - b->nodes.start), "%zu nodes vs libyaml's %zu", n,
		   (size_t)(b->nodes.top - b->nodes.start));
	FUZZ_CHECK(a->start_implicit == b->start_implicit && a->end_implicit == b->end_implicit,
		   "document implicit flags");
	for (i = 0; i < n; i++) {
		yaml_node_t *x = &a->nodes.start[i], *y = &b->nodes.start[i];

		FUZZ_CHECK(x->type == y->type, "node %zu type", i);
		FUZZ_CHECK(!strcmp((char *)x->tag, (char *)y->tag), "node %zu tag %s vs %s", i,
			   x->tag, y->tag);
		yaml_same_marks(x->start_mark, y->start_mark, "start", i);
		yaml_same_marks(x->end_mark, y->end_mark, "end", i);
		if (x->type == YAML_SCALAR_NODE) {
			FUZZ_CHECK(x->data.scalar.length == y->data.scalar.length &&
					   !memcmp(x->data.scalar.value, y->data.scalar.value,
						   x->data.scalar.length) &&
					   x->data.scalar.style == y->data.scalar.style,
				   "node %zu scalar", i);
		} else if (x->type == YAML_SEQUENCE_NODE) {
			size_t k =
				(size_t)(x->data.sequence.items.top - x->data.sequence.items.start);

			FUZZ_CHECK(k == (size_t)(y->data.sequence.items.top -
						 y->data.sequence.items.start) &&
					   !memcmp(x->data.sequence.items.start,
						   y->data.sequence.items.start,
						   k * sizeof(yaml_node_item_t)),
				   "node %zu items", i);
		} else if (x->type == YAML_MAPPING_NODE) {
			size_t k =
				(size_t)(x->data.mapping.pairs.top - x->data.mapping.pairs.start);

			FUZZ_CHECK(k == (size_t)(y->data.mapping.pairs.top -
						 y->data.mapping.pairs.start) &&
					   !memcmp(x->data.mapping.pairs.start,
						   y->data.mapping.pairs.start,
						   k * sizeof(yaml_node_pair_t)),
				   "node %zu pairs", i);
		}
	}
}

/* Every document of DATA through both loaders. */
static inline void yaml_same(const uint8_t *data, size_t size)
{
	yaml_parser_t pa, pb;
	yaml_document_t a, b;
	int oka, okb, docs;

	if (!yaml_parser_initialize(&pa))
		return;
	if (!yaml_parser_initialize(&pb)) {
		yaml_parser_delete(&pa);
		return;
	}
	yaml_parser_set_input_string(&pa, data, size);
	yaml_parser_set_input_string(&pb, data, size);
	for (docs = 0; docs < 16; docs++) {
		oka = sc_yaml_load(&pa, &a);
		okb = yaml_parser_load(&pb, &b);
		if (oka && okb) {
			bool end = !yaml_document_get_root_node(&a);

			yaml_same_doc(&a, &b);
			yaml_document_delete(&a);
			yaml_document_delete(&b);
			if (end)
				break;
			continue;
		}
		if (oka)
			yaml_document_delete(&a);
		if (okb)
			yaml_document_delete(&b);
		/* We refuse only past our bound, where libyaml may go on to another error. */
		if (!oka && pa.problem == sc_yaml_depth_problem)
			break;
		FUZZ_CHECK(oka == okb, "sc_yaml_load %s, libyaml %s: %s",
			   oka ? "loaded" : "refused", okb ? "loaded" : "refused",
			   oka ? pb.problem : pa.problem);
		if (!oka && !okb)
			FUZZ_CHECK(pa.error == pb.error &&
					   pa.problem_mark.index == pb.problem_mark.index,
				   "errors differ: %s at %zu vs libyaml's %s at %zu", pa.problem,
				   pa.problem_mark.index, pb.problem, pb.problem_mark.index);
		break;
	}
	yaml_parser_delete(&pa);
	yaml_parser_delete(&pb);
}

#endif /* SC_YAML_SAME_H */
