/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Logging to stderr. The levels have the values of libbpf's enum libbpf_print_level, so the
 * libbpf print callback can hand its level straight to sc_vlog(); this header does not include
 * libbpf because the unit tests build without it.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>

enum sc_log_level {
	SC_LOG_WARN = 0,
	SC_LOG_INFO = 1,
	SC_LOG_DEBUG = 2,
};

/* Messages above LEVEL are dropped. The default is SC_LOG_INFO. FMT ends with a newline, as
 * libbpf's messages do, so both kinds of message can share one stream. */
void sc_log_set_level(int level);
int sc_log_level(void);

void sc_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Test-only: when the environment has SIDECAP_TEST_PAUSE=STAGE, stop the process (SIGSTOP) as it
 * reaches STAGE ("load", "apply", "attach" of interceptor run, "detach" as it takes the pod
 * down), so that a test can deliver a signal exactly there and then SIGCONT it
 * (tests/integration/test_signals.c). Nothing else reads the variable; unset, this costs one
 * getenv().
 */
void sc_test_pause(const char *stage);

#define pr_warn(fmt, ...)  sc_log(SC_LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  sc_log(SC_LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) sc_log(SC_LOG_DEBUG, fmt, ##__VA_ARGS__)

#endif /* SC_LOG_H */
