// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor: loads, attaches and pins the sidecap programs for one pod, and keeps its policy.
 *
 *   interceptor run --config FILE [--keep] [--allow-root-cgroup] [--ready-file F] [-v]
 *   interceptor validate FILE
 *   interceptor check
 *   interceptor cleanup --config FILE
 *   interceptor status --config FILE
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "interceptor.h"
#include "log.h"

static int sc_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's levels are ours; its debug output only with -v. */
	if ((int)level > sc_log_level())
		return 0;
	sc_vlog(level, fmt, ap);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: interceptor run --config FILE [--keep] [--allow-root-cgroup] "
		     "[--ready-file FILE] [-v]\n"
		     "       interceptor validate FILE\n"
		     "       interceptor check\n"
		     "       interceptor cleanup --config FILE\n"
		     "       interceptor status --config FILE [--json]\n");
}

/* Load and validate FILE, printing every problem. 0 or -errno. */
int sc_load_config(const char *file, struct sc_config *cfg)
{
	struct sc_diags diags = {0};
	int err = sc_config_load(file, cfg, &diags);

	if (err)
		sc_diags_print(&diags, stderr);
	sc_diags_free(&diags);
	return err;
}

static int cmd_validate(int argc, char **argv)
{
	struct sc_config cfg = {0};

	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	if (sc_load_config(argv[1], &cfg))
		return 1;
	printf("%s: ok\n", argv[1]);
	sc_config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	libbpf_set_print(sc_libbpf_print);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	argc--;
	argv++;
	if (!strcmp(cmd, "run"))
		return sc_cmd_run(argc, argv);
	if (!strcmp(cmd, "validate"))
		return cmd_validate(argc, argv);
	if (!strcmp(cmd, "check"))
		return sc_cmd_check(argc, argv);
	if (!strcmp(cmd, "cleanup"))
		return sc_cmd_cleanup(argc, argv);
	if (!strcmp(cmd, "status"))
		return sc_cmd_status(argc, argv);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "interceptor: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
