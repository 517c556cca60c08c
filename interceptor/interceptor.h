/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The subcommands; each returns the process exit code. */
#ifndef SC_INTERCEPTOR_H
#define SC_INTERCEPTOR_H

#include "config.h"

int sc_load_config(const char *file, struct sc_config *cfg);
/* Exit with a message unless we may load BPF programs and attach them to cgroups. */
int sc_check_privileges(void);

int sc_cmd_run(int argc, char **argv);
int sc_cmd_check(int argc, char **argv);
int sc_cmd_cleanup(int argc, char **argv);
int sc_cmd_status(int argc, char **argv);

#endif /* SC_INTERCEPTOR_H */
