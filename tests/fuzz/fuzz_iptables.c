// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mode: iptables. A policy that parses is rendered into iptables-restore input for both
 * families, from scratch and as an update over what the input also reads as `iptables-save`
 * output; the removal of that state is rendered too. Every rendering must succeed and be text
 * iptables-restore can take: tables (nat, and raw for DNS capture) each with its one COMMIT.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "fuzz.h"
#include "iptables.h"

/*
 * TEXT is one or more tables, each "*nat" or "*raw" (DNS capture's conntrack zones), each
 * closed by exactly one COMMIT before the next begins.
 */
static void check_rules(const char *text, int err, const char *what)
{
	const char *p = text, *commit, *next;

	FUZZ_CHECK(err == 0, "%s returned %d", what, err);
	if (!text || !*text)
		return;
	while (*p) {
		FUZZ_CHECK(!strncmp(p, "*nat\n", 5) || !strncmp(p, "*raw\n", 5),
			   "%s: a table other than nat or raw at byte %zu", what, (size_t)(p - text));
		commit = strstr(p, "\nCOMMIT\n");
		FUZZ_CHECK(commit, "%s: a table without its COMMIT", what);
		next = strstr(p + 1, "\n*");
		FUZZ_CHECK(!next || next > commit, "%s: a table begins before the last one's COMMIT",
			   what);
		p = commit + strlen("\nCOMMIT\n");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_diags diags = {0};
	struct sc_ipt_state have;
	struct sc_config cfg;
	char *save, *text;
	int family, err;

	/* The same bytes, NUL-terminated, as iptables-save output. */
	save = malloc(size + 1);
	if (!save)
		return 0;
	memcpy(save, data, size);
	save[size] = '\0';
	sc_iptables_parse_save(save, &have);
	free(save);

	text = NULL;
	err = sc_iptables_removal(&have, &text);
	check_rules(text, err, "removal");
	free(text);

	err = sc_config_parse_string_mode("fuzz.yaml", (const char *)data, size, SC_MODE_FROM_FILE,
					  &cfg, &diags);
	if (!err) {
		for (family = AF_INET; family <= AF_INET6; family += AF_INET6 - AF_INET) {
			text = NULL;
			err = sc_iptables_rules(&cfg, family, &text);
			check_rules(text, err, "rules");
			free(text);
			text = NULL;
			err = sc_iptables_update(&cfg, family, &have, &text);
			check_rules(text, err, "update");
			free(text);
		}
	}
	sc_config_free(&cfg);
	sc_diags_free(&diags);
	return 0;
}
