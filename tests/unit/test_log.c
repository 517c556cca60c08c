// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "log.h"

static void setup(void)
{
	cr_redirect_stderr();
	sc_log_set_level(SC_LOG_INFO);
}

TestSuite(log, .init = setup);

Test(log, default_level_prints_info_and_drops_debug)
{
	pr_warn("w %d\n", 1);
	pr_info("i %s\n", "x");
	pr_debug("d\n");
	fflush(stderr);
	cr_assert_stderr_eq_str("w 1\ni x\n");
}

Test(log, warn_level_drops_info)
{
	sc_log_set_level(SC_LOG_WARN);
	pr_info("i\n");
	pr_warn("w\n");
	fflush(stderr);
	cr_assert_eq(sc_log_level(), SC_LOG_WARN);
	cr_assert_stderr_eq_str("w\n");
}

Test(log, debug_level_prints_debug)
{
	sc_log_set_level(SC_LOG_DEBUG);
	pr_debug("d %u\n", 2u);
	fflush(stderr);
	cr_assert_stderr_eq_str("d 2\n");
}
