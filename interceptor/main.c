// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * interceptor: loads, attaches and pins the sidecap programs for one pod, and keeps its policy.
 *
 *   interceptor run --config FILE [--mode ebpf|iptables] [--keep] [--allow-root-cgroup]
 *                   [--ready-file F] [-v]
 *   interceptor validate FILE
 *   interceptor check
 *   interceptor cleanup --config FILE [--mode ebpf|iptables]
 *   interceptor status --config FILE
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
		     "[--allow-root-cgroup] [--ready-file FILE] [-v]\n"
		     "       interceptor validate FILE\n"
		     "       interceptor check\n"
		     "       interceptor cleanup --config FILE [--mode ebpf|iptables]\n"
		     "       interceptor status --config FILE [--json]\n"
		     "       interceptor iptables-rules --config FILE [--family 4|6]\n"
		     "       interceptor inject [-f FILE|-] [--image IMAGE] [--proxy-uid UID]\n"
		     "       interceptor from-istio --annotations FILE [--proxy-uid UID]\n"
		     "       interceptor from-istio -- ISTIO-IPTABLES-FLAGS...\n");
}

/* Load and validate FILE, printing every problem. 0 or -errno. */
int sc_load_config(const char *file, struct sc_config *cfg)
{
	return sc_load_config_mode(file, SC_MODE_FROM_FILE, cfg);
}

int sc_load_config_mode(const char *file, int mode, struct sc_config *cfg)
{
	struct sc_diags diags = {0};
	int err = sc_config_load_mode(file, mode, cfg, &diags);

	if (err)
		sc_diags_print(&diags, stderr);
	sc_diags_free(&diags);
	return err;
}

int sc_load_config_cached(struct sc_config_cache *cache, const char *file, int mode,
			  struct sc_config *cfg)
{
	struct sc_diags diags = {0};
	int err = sc_config_load_cached(cache, file, mode, cfg, &diags);

	if (err)
		sc_diags_print(&diags, stderr);
	sc_diags_free(&diags);
	return err;
}

int sc_parse_mode_arg(const char *cmd, const char *arg)
{
	if (!strcmp(arg, "ebpf"))
		return SC_MODE_EBPF;
	if (!strcmp(arg, "iptables"))
		return SC_MODE_IPTABLES;
	fprintf(stderr, "interceptor %s: --mode %s: use ebpf or iptables\n", cmd, arg);
	return -1;
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
