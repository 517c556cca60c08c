/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What istio.c (capture -> policy) and istio_inputs.c (annotations, flags) share. */
#ifndef SC_ISTIO_INT_H
#define SC_ISTIO_INT_H

#include <stddef.h>
#include <stdio.h>

/* The ports of Istio's sidecar that are never captured inbound: Prometheus, health, status. */
#define ISTIO_ADMIN_PROM   15090
#define ISTIO_ADMIN_HEALTH 15021
#define ISTIO_STATUS_PORT  15020

#define ANN_TRAFFIC "traffic.sidecar.istio.io/"
#define ANN_SIDECAR "sidecar.istio.io/"

/* The next item of a comma-separated list (istio.c). */
size_t sc_istio_next_item(const char **p, const char **item);
/* A port of LEN characters at S (1 to 65535), or -1. */
int sc_istio_parse_port(const char *s, size_t len);
/* "WHO: warning: NAME: ..." on MSGS. */
void sc_istio_warn(FILE *msgs, const char *who, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
