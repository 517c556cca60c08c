/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the libFuzzer targets of tests/fuzz/ share. Each target is one file with
 * LLVMFuzzerTestOneInput(); make fuzz builds it with clang -fsanitize=fuzzer,address,undefined
 * against the interceptor's sources (docs/reliability.md).
 */
#ifndef SC_FUZZ_H
#define SC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code under test broke: report it and stop, as a sanitizer would. */
#define FUZZ_CHECK(cond, ...)                                                 \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

/* Where diagnostics and messages go: printed, so that printing is fuzzed too, and dropped. */
static inline FILE *fuzz_sink(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	if (!f)
		abort();
	return f;
}

#endif /* SC_FUZZ_H */
