/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libyaml's yaml_parser_load(), with bounds. A document nested SC_YAML_MAX_DEPTH collections deep
 * is refused at that depth, before the scanner has read much further: libyaml's scanner checks
 * every open flow level at every token, so a file of N nested '[' costs it N^2 steps (100,000 of
 * them took 46 s), during which the daemon sees no other edit. Anchors are found by hash, not by
 * libyaml's linear search. Everything else is as yaml_parser_load() builds it: the same nodes,
 * marks, tags, styles and document directives.
 */
#ifndef SC_YAML_LOAD_H
#define SC_YAML_LOAD_H

#include <yaml.h>

/* No policy or Kubernetes manifest we read comes near it: a policy is 5 levels deep. */
#define SC_YAML_MAX_DEPTH 64

/* The problem set when a document goes deeper. */
extern const char sc_yaml_depth_problem[];

/*
 * yaml_parser_load(PARSER, DOC) with the bounds above: 1 with the next document in DOC (no root
 * node at the end of the stream), or 0 with PARSER's error, problem and problem_mark set, as
 * libyaml sets them (a bound exceeded is a YAML_COMPOSER_ERROR whose problem says how to fix it).
 */
int sc_yaml_load(yaml_parser_t *parser, yaml_document_t *doc);

#endif /* SC_YAML_LOAD_H */
