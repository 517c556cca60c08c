// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "log.h"

static int sc_log_max = SC_LOG_INFO;

void sc_log_set_level(int level)
{
	sc_log_max = level;
}

int sc_log_level(void)
{
	return sc_log_max;
}

void sc_vlog(int level, const char *fmt, va_list ap)
{
	if (level > sc_log_max)
		return;
	vfprintf(stderr, fmt, ap);
}

void sc_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc_vlog(level, fmt, ap);
	va_end(ap);
}

void sc_test_pause(const char *stage)
{
	const char *want = getenv("SIDECAP_TEST_PAUSE");

	if (want && !strcmp(want, stage)) {
		pr_info("SIDECAP_TEST_PAUSE: stopped at %s\n", stage);
		raise(SIGSTOP);
	}
}
