/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the pod's pinned state says, for /metrics and `interceptor status`: counters by reason,
 * policy generation, map occupancy, endpoint picks. Read from map file descriptors only, so it
 * works from the pins while the daemon is down.
 */
#ifndef SC_REPORT_H
#define SC_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "config.h"
#include "services.h"

/* Reload bookkeeping of the daemon (zero for `status`). */
struct sc_reloads {
	uint64_t ok, failed;
	double last_ok, last_failed; /* unix time, seconds; 0 when never */
};

struct sc_report_src {
	const char *pin_path;
	const struct sc_config *cfg;	  /* names of services (may be NULL) */
	const struct sc_svc_ids *ids;	  /* service ids (may be NULL: picks unlabelled by name) */
	const struct sc_reloads *reloads; /* NULL for `status` */
};

/* The Prometheus text of /metrics, malloc'd. 0 or -errno. */
int sc_report_metrics(const struct sc_report_src *src, char **body, size_t *len);

/* The status table (or JSON) to OUT. 0, or -errno when nothing is pinned there. */
int sc_report_status(const struct sc_report_src *src, bool json, FILE *out);

/*
 * Whether the pod pinned at PIN_PATH intercepts: a policy of this version is live and every
 * program it needs is attached (sk_lookup when the live policy steers inbound). 0, or -errno with
 * what is missing in WHY.
 */
int sc_report_ready(const char *pin_path, char *why, size_t len);

#endif /* SC_REPORT_H */
