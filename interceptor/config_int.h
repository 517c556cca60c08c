/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Between the parser (config.c) and the parse cache (config_cache.c): what the cache needs to
 * know of a document's services sequence, and the parse of a run of its items on their own.
 */
#ifndef SC_CONFIG_INT_H
#define SC_CONFIG_INT_H

#include "config.h"

/*
 * Where the services sequence of a parsed document is, when its items can be parsed again one
 * run at a time: the document has no directives, no "---" or "...", no alias; its top level is a
 * block mapping at column 0; services is a block sequence of at least one item, with no tag, that
 * ends at the start of a line; its items hold no block scalar (| or >) and no quoted scalar that
 * spans lines. Item K begins on line cfg->services[K].line.
 */
struct sc_items_layout {
	bool usable;
	const char *why; /* when not usable */
	size_t col;	 /* column of the items' "-" */
	size_t end_line; /* 0-based line where the sequence ends (the next key's, or past the end)
			  */
};

/* sc_config_parse_string_mode(), and on success the layout of the services sequence. */
int sc_config_parse_layout(const char *name, const char *text, size_t len, int mode,
			   struct sc_config *cfg, struct sc_diags *diags,
			   struct sc_items_layout *lay);

/*
 * Parse TEXT, whole items cut out of the services sequence of a file, as a document of its own:
 * 0 with the services in *SVCS (*N of them, lines counted from 1 at TEXT's first line) when
 * TEXT is nothing but comments, or one block sequence at column COL whose items pass the checks
 * of struct sc_items_layout and have no problem of their own (sc_config_parse_string() would
 * report none in them, cross-checks between services aside); -EAGAIN for anything else, for
 * the whole file to tell what is wrong; -ENOMEM.
 */
int sc_config_parse_items(const char *name, const char *text, size_t len, size_t col,
			  struct sc_service_cfg **svcs, size_t *n);

/* Free the name and endpoints of SVC unless another config shares them. */
void sc_service_release(struct sc_service_cfg *svc);

/* sc_service_release() each of N services, then free SVCS. */
void sc_services_free(struct sc_service_cfg *svcs, size_t n);

/* Read FILE whole (at most the size limit), reporting a failure in DIAGS. 0 or -errno. */
int sc_config_read(const char *file, char **text, size_t *len, struct sc_diags *diags);

#endif /* SC_CONFIG_INT_H */
