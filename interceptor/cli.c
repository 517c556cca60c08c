// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "cli.h"
#include "log.h"

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

int sc_check_privileges(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	/* Zeroed: valgrind sees capget() fill only the first (version 1) struct. */
	struct __user_cap_data_struct data[2] = {0};
	static const int need[] = {CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN};
	size_t i;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (!(data[need[i] / 32].effective & (1u << (need[i] % 32)))) {
			pr_warn("not permitted: loading and attaching BPF programs needs root, or "
				"CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN (run with sudo)\n");
			return -EPERM;
		}
	}
	return 0;
}
