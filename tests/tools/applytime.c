// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * applytime: how long from writing a policy file until the interceptor has made it live.
 *
 *   applytime PIN_PATH CONFIG NEW_CONTENT_FILE
 *
 * Writes NEW_CONTENT_FILE's bytes over CONFIG in place (the way a control plane's agent would),
 * then polls the pinned sc_state for the next generation. Prints "apply_ms=X generation=G".
 * Exits 1 if no new generation is live within 10 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "sidecap.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int generation(int fd, unsigned int *gen)
{
	struct sc_state st;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &st))
		return -errno;
	*gen = st.generation;
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], *buf;
	unsigned int before, now;
	struct stat st;
	double t0;
	int fd, in, out;

	if (argc != 4) {
		fprintf(stderr, "usage: applytime PIN_PATH CONFIG NEW_CONTENT_FILE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/maps/" SC_MAP_STATE, argv[1]);
	fd = bpf_obj_get(path);
	in = open(argv[3], O_RDONLY);
	if (fd < 0 || in < 0 || fstat(in, &st)) {
		fprintf(stderr, "applytime: %s: %s\n", fd < 0 ? path : argv[3], strerror(errno));
		return 1;
	}
	buf = malloc(st.st_size + 1);
	if (!buf || read(in, buf, st.st_size) != st.st_size || generation(fd, &before)) {
		fprintf(stderr, "applytime: reading: %s\n", strerror(errno));
		return 1;
	}
	t0 = now_ms();
	out = open(argv[2], O_WRONLY | O_TRUNC);
	if (out < 0 || write(out, buf, st.st_size) != st.st_size || close(out)) {
		fprintf(stderr, "applytime: writing %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	while (!generation(fd, &now) && now == before && now_ms() - t0 < 10000)
		usleep(100);
	if (now == before) {
		fprintf(stderr, "applytime: no new policy 10 s after the write\n");
		return 1;
	}
	printf("apply_ms=%.1f generation=%u\n", now_ms() - t0, now);
	return 0;
}
