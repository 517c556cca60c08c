// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * capprobe: what a container's capabilities and seccomp profile let the interceptor do. It
 * loads sidecap's BPF object, pins one map, and attaches each program where the interceptor
 * does (cgroup programs to CGROUP, sk_lookup to its own network namespace, sk_msg to a sockhash,
 * iterators as iterator links),
 * detaching each at once, and prints one line per step: "STEP ok" or "STEP ERRNAME". Nothing is
 * left attached or pinned. tests/pod/run.sh runs it in containers with different privileges.
 *
 *   capprobe OBJECT CGROUP_DIR BPFFS_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int failures;

static void step(const char *what, const char *name, int err)
{
	printf("%s%s%s %s\n", what, name ? " " : "", name ? name : "",
	       err ? strerrorname_np(-err) : "ok");
	if (err)
		failures++;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map, *sockhash = NULL;
	struct bpf_link *link;
	char pin[4096];
	int cg, ns, err;

	if (argc != 4) {
		fprintf(stderr, "usage: capprobe OBJECT CGROUP_DIR BPFFS_DIR\n");
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		step("open", argv[1], -errno);
		return 1;
	}
	err = bpf_object__load(obj);
	step("load", NULL, err);
	if (err)
		goto out;
	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__type(map) == BPF_MAP_TYPE_SOCKHASH && !sockhash)
			sockhash = map;
	}
	map = bpf_object__next_map(obj, NULL);
	snprintf(pin, sizeof(pin), "%s/capprobe_%d", argv[3], getpid());
	err = bpf_map__pin(map, pin);
	step("pin", bpf_map__name(map), err);
	if (!err)
		bpf_map__unpin(map, pin);

	cg = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (cg < 0 || ns < 0) {
		step("open", cg < 0 ? argv[2] : "/proc/self/ns/net", -errno);
		goto out;
	}
	bpf_object__for_each_program(prog, obj)
	{
		switch (bpf_program__type(prog)) {
		case BPF_PROG_TYPE_SK_LOOKUP:
			link = bpf_program__attach_netns(prog, ns);
			err = link ? 0 : -errno;
			bpf_link__destroy(link);
			break;
		case BPF_PROG_TYPE_SK_MSG:
			if (!sockhash)
				continue;
			err = bpf_prog_attach(bpf_program__fd(prog), bpf_map__fd(sockhash),
					      BPF_SK_MSG_VERDICT, 0);
			if (!err)
				bpf_prog_detach2(bpf_program__fd(prog), bpf_map__fd(sockhash),
						 BPF_SK_MSG_VERDICT);
			err = err ? -errno : 0;
			break;
		case BPF_PROG_TYPE_TRACING:
			/* A BPF iterator: a link made, and destroyed, without reading it. */
			link = bpf_program__attach_iter(prog, NULL);
			err = link ? 0 : -errno;
			bpf_link__destroy(link);
			break;
		case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
		case BPF_PROG_TYPE_CGROUP_SOCK:
		case BPF_PROG_TYPE_CGROUP_SOCKOPT:
		case BPF_PROG_TYPE_SOCK_OPS:
			link = bpf_program__attach_cgroup(prog, cg);
			err = link ? 0 : -errno;
			bpf_link__destroy(link);
			break;
		default:
			printf("attach %s skipped (program type %d)\n", bpf_program__name(prog),
			       bpf_program__type(prog));
			continue;
		}
		step("attach", bpf_program__name(prog), err);
	}
	close(cg);
	close(ns);
out:
	bpf_object__close(obj);
	return failures ? 1 : 0;
}
