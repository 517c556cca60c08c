// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy parser and validator on any bytes, as the daemon reads a file: the text is the
 * input exactly (no NUL added, so a read past its end is caught), named as a file. A text that
 * parses is compiled into map entries for both slots, as an apply would; a text that does not
 * must say why in at least one diagnostic, and never half-fill the config. The YAML documents of
 * the text are loaded by our bounded loader and by libyaml's own, which must agree
 * (yaml_same.h).
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "policy.h"
#include "yaml_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_diags diags = {0};
	struct sc_compiled c;
	struct sc_config cfg;
	int err, slot;

	yaml_same(data, size);
	err = sc_config_parse_string("fuzz.yaml", (const char *)data, size, &cfg, &diags);
	FUZZ_CHECK(err == 0 || err == -EINVAL, "parse returned %d", err);
	FUZZ_CHECK(!err == !diags.n, "parse returned %d with %zu diagnostics", err, diags.n);
	sc_diags_print(&diags, fuzz_sink());
	if (!err) {
		for (slot = 0; slot < 2; slot++) {
			err = sc_policy_compile(&cfg, slot, 1, &c);
			FUZZ_CHECK(err == 0 || err == -E2BIG, "compile returned %d", err);
			if (!err)
				sc_compiled_free(&c);
		}
	} else {
		FUZZ_CHECK(!cfg.path && !cfg.services && !cfg.n_services,
			   "a failed parse left a config");
	}
	sc_config_free(&cfg);
	sc_diags_free(&diags);
	return 0;
}
