/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The subcommands; each returns the process exit code. */
#ifndef SC_INTERCEPTOR_H
#define SC_INTERCEPTOR_H

#include "config.h"

int sc_load_config(const char *file, struct sc_config *cfg);
/* The same with MODE (enum sc_mode, or SC_MODE_FROM_FILE) in place of the file's mode. */
int sc_load_config_mode(const char *file, int mode, struct sc_config *cfg);
/* The same through CACHE, so that a file edited in a few services is parsed only in those. */
int sc_load_config_cached(struct sc_config_cache *cache, const char *file, int mode,
			  struct sc_config *cfg);
/* "ebpf" or "iptables" as enum sc_mode; -1 (with a message) for anything else. */
int sc_parse_mode_arg(const char *cmd, const char *arg);
/* Exit with a message unless we may load BPF programs and attach them to cgroups. */
int sc_check_privileges(void);

int sc_cmd_run(int argc, char **argv);
int sc_cmd_check(int argc, char **argv);
int sc_cmd_cleanup(int argc, char **argv);
int sc_cmd_status(int argc, char **argv);

#endif /* SC_INTERCEPTOR_H */
