/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A builder for the Prometheus text exposition format, version 0.0.4. The caller appends
 * families and samples in order; the builder escapes HELP text and label values and prints
 * values the way Prometheus parses them. It does not check the order of what it is given (a
 * family's samples must follow its header, and each series must appear once); the promcheck
 * tool checks that on real output.
 *
 * Errors are sticky: once an append fails, later appends do nothing and return the same error,
 * and sc_prom_take() returns it, so a renderer may check only the last call.
 */
#ifndef SC_PROM_H
#define SC_PROM_H

#include <stddef.h>
#include <stdint.h>

enum sc_prom_type {
	SC_PROM_COUNTER,
	SC_PROM_GAUGE,
};

struct sc_prom_label {
	const char *name;
	const char *value;
};

struct sc_prom {
	char *buf;
	size_t len;
	size_t cap;
	int err;
};

#define SC_PROM_INIT \
	{            \
		0    \
	}

/*
 * "# HELP NAME HELP" (when HELP is not NULL) and "# TYPE NAME TYPE". Returns 0, -ENOMEM, or
 * -EINVAL when NAME is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
 */
int sc_prom_family(struct sc_prom *p, const char *name, enum sc_prom_type type, const char *help);

/*
 * One sample line: NAME, then the N label pairs in the order given (none when N is 0), then the
 * value. Returns 0, -ENOMEM, or -EINVAL when NAME or a label name is not valid (label names match
 * [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__").
 */
int sc_prom_u64(struct sc_prom *p, const char *name, const struct sc_prom_label *labels, size_t n,
		uint64_t value);
int sc_prom_double(struct sc_prom *p, const char *name, const struct sc_prom_label *labels,
		   size_t n, double value);

/*
 * Hand the text over: *BODY is malloc'd (and NUL-terminated, not counted in *LEN) and belongs to
 * the caller. Returns the sticky error, if any, and then frees the text instead. Either way the
 * builder is empty afterwards and may be used again.
 */
int sc_prom_take(struct sc_prom *p, char **body, size_t *len);

/* Drop whatever was built and forget the sticky error. */
void sc_prom_reset(struct sc_prom *p);

#endif /* SC_PROM_H */
