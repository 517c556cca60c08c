// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor: loads, attaches and pins the sidecap programs for one pod, and keeps its policy.
 *
 *   interceptor run --config FILE [--mode ebpf|iptables] [--keep] [--allow-root-cgroup]
 *                   [--ready-file F] [-v]
 *   interceptor validate FILE
 *   interceptor check
 *   interceptor cleanup --config FILE [--mode ebpf|iptables]
 *   interceptor cleanup --stale [--pin-root DIR]
 *   interceptor status --config FILE
 *   interceptor ready --config FILE
 *   interceptor iptables-rules --config FILE [--family 4|6]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include <sys/socket.h>

#include "cli.h"
#include "config.h"
#include "inject.h"
#include "interceptor.h"
#include "iptables.h"
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
	fprintf(out, "usage: interceptor run --config FILE [--mode ebpf|iptables] [--keep] "
		     "[--allow-root-cgroup] [--ready-file FILE] [--map-max MAP=N] [-v]\n"
		     "       interceptor validate FILE\n"
		     "       interceptor check\n"
		     "       interceptor cleanup --config FILE [--mode ebpf|iptables]\n"
		     "       interceptor cleanup --stale [--pin-root DIR]\n"
		     "       interceptor status --config FILE [--json]\n"
		     "       interceptor ready --config FILE\n"
		     "       interceptor iptables-rules --config FILE [--family 4|6]\n"
		     "       interceptor inject [-f FILE|-] [--image IMAGE] [--proxy-uid UID]\n"
		     "       interceptor from-istio --annotations FILE [--proxy-uid UID]\n"
		     "       interceptor from-istio -- ISTIO-IPTABLES-FLAGS...\n");
}

/*
 * Print the iptables-restore input that mode: iptables installs for FILE's policy, whatever
 * mode the file is in: what a user inspects, and what the benchmark feeds to iptables-restore.
 */
static int cmd_iptables_rules(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"family", required_argument, NULL, 'f'},
		{0},
	};
	struct sc_config cfg = {0};
	const char *file = NULL;
	int c, i, family = 0, err = 0;
	char *text;

	while ((c = getopt_long(argc, argv, "c:f:", opts, NULL)) != -1) {
		if (c == 'c') {
			file = optarg;
		} else if (c == 'f' && (!strcmp(optarg, "4") || !strcmp(optarg, "6"))) {
			family = optarg[0] == '4' ? AF_INET : AF_INET6;
		} else {
			if (c == 'f')
				fprintf(stderr,
					"interceptor iptables-rules: --family %s: use 4 or 6\n",
					optarg);
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "interceptor iptables-rules: --config FILE is required\n");
		return 2;
	}
	if (sc_load_config(file, &cfg))
		return 1;
	if (cfg.n_services)
		fprintf(stderr,
			"%s: services are not carried by iptables rules (mode: ebpf only)\n", file);
	for (i = 0; i < 2 && !err; i++) {
		int fam = i ? AF_INET6 : AF_INET;

		if (family && family != fam)
			continue;
		err = sc_iptables_rules(&cfg, fam, &text);
		if (err)
			break;
		if (!family)
			printf("# %s-restore --noflush\n", i ? "ip6tables" : "iptables");
		fputs(text, stdout);
		free(text);
	}
	if (err)
		fprintf(stderr, "interceptor iptables-rules: %s\n", strerror(-err));
	sc_config_free(&cfg);
	return err ? 1 : 0;
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
	if (!strcmp(cmd, "ready"))
		return sc_cmd_ready(argc, argv);
	if (!strcmp(cmd, "status"))
		return sc_cmd_status(argc, argv);
	if (!strcmp(cmd, "iptables-rules"))
		return cmd_iptables_rules(argc, argv);
	if (!strcmp(cmd, "inject"))
		return sc_cmd_inject(argc, argv);
	if (!strcmp(cmd, "from-istio"))
		return sc_cmd_from_istio(argc, argv);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "interceptor: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
