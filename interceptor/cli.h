/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the subcommands share: reading the config with its problems printed, --mode, privileges. */
#ifndef SC_CLI_H
#define SC_CLI_H

#include "config.h"

/* Load and validate FILE, printing every problem to stderr. 0 or -errno. */
int sc_load_config(const char *file, struct sc_config *cfg);
/* The same with MODE (enum sc_mode, or SC_MODE_FROM_FILE) in place of the file's mode. */
int sc_load_config_mode(const char *file, int mode, struct sc_config *cfg);
/* The same through CACHE, so that a file edited in a few services is parsed only in those. */
int sc_load_config_cached(struct sc_config_cache *cache, const char *file, int mode,
			  struct sc_config *cfg);
/* "ebpf" or "iptables" as enum sc_mode; -1 (with a message) for anything else. */
int sc_parse_mode_arg(const char *cmd, const char *arg);
/* 0 if we may load BPF programs and attach them to cgroups; else -errno, with a message. */
int sc_check_privileges(void);

#endif /* SC_CLI_H */
