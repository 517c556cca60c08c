// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bad input everywhere the policy enters (issue 17): each case is a file that sc_config_load()
 * (what `interceptor validate` and the daemon read) must reject quickly, naming the file and the
 * fix, or, for a byte-order mark, accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"

static char dir[64];
static struct sc_config cfg;
static struct sc_diags diags;

static void setup(void)
{
	strcpy(dir, "/tmp/sc-badinput-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	sc_config_free(&cfg);
	sc_diags_free(&diags);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(badinput, .init = setup, .fini = teardown);

static char *path_of(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static const char *write_file(const char *name, const void *text, size_t len)
{
	const char *path = path_of(name);
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * FILE is rejected with ERR within MAX_MS, and its first diagnostic names the file and says MSG.
 */
static void assert_rejected(const char *file, int err, const char *msg, double max_ms)
{
	double t0 = now_ms(), took;
	int got;

	got = sc_config_load(file, &cfg, &diags);
	took = now_ms() - t0;
	cr_assert_eq(got, err, "%s: %d (%s), want %d", file, got, diags.n ? diags.v[0].msg : "",
		     err);
	cr_assert_geq(diags.n, 1);
	cr_assert_str_eq(diags.v[0].file, file);
	cr_assert(strstr(diags.v[0].msg, msg), "\"%s\" lacks \"%s\"", diags.v[0].msg, msg);
	cr_assert_lt(took, max_ms, "%s took %.1f ms", file, took);
}

Test(badinput, nul_byte_is_named_with_its_offset)
{
	static const char text[] = "cgroup: /a\nacc\0eleration: true\n";

	assert_rejected(write_file("p.yaml", text, sizeof(text) - 1), -EINVAL,
			"control character U+0000 at byte 14; YAML allows only tab, CR and LF "
			"(remove it)",
			100);
}

Test(badinput, utf8_byte_order_mark_is_accepted)
{
	static const char text[] = "\xef\xbb\xbf"
				   "cgroup: /a\n";

	cr_assert_eq(sc_config_load(write_file("p.yaml", text, sizeof(text) - 1), &cfg, &diags), 0);
	cr_assert_str_eq(cfg.cgroup, "/a");
}

Test(badinput, invalid_utf8_says_to_save_as_utf8)
{
	static const char text[] = "cgroup: /a\xff\xfe\n";

	assert_rejected(write_file("p.yaml", text, sizeof(text) - 1), -EINVAL,
			"not valid UTF-8 or UTF-16: invalid leading UTF-8 octet at byte 10 (save "
			"the file as UTF-8)",
			100);
}

Test(badinput, ten_megabyte_key_is_rejected_in_a_second)
{
	size_t n = 10 << 20;
	char *text = malloc(n + 32);

	cr_assert_not_null(text);
	strcpy(text, "cgroup: /a\n");
	memset(text + 11, 'k', n);
	strcpy(text + 11 + n, ": 1\n");
	assert_rejected(write_file("p.yaml", text, strlen(text)), -EINVAL,
			"a key is longer than 1024 characters or has no ':' after it", 1000);
	free(text);
}

/* Issue 17: 100,000 nested [ under an unknown key took 46 s of CPU to reject. */
Test(badinput, hundred_thousand_nested_flow_levels_rejected_in_milliseconds)
{
	size_t n = 100000;
	char *text = malloc(n + 32);

	cr_assert_not_null(text);
	strcpy(text, "cgroup: /a\nfoo: ");
	memset(text + 16, '[', n);
	strcpy(text + 16 + n, "\n");
	assert_rejected(write_file("p.yaml", text, strlen(text)), -EINVAL,
			"collections nested more than 64 deep", 50);
	free(text);
}

Test(badinput, deep_block_nesting_is_rejected)
{
	char *text = malloc(200 * 210 + 32), *p;
	int i;

	cr_assert_not_null(text);
	p = text + sprintf(text, "cgroup: /a\nfoo:");
	for (i = 0; i < 200; i++)
		p += sprintf(p, "\n%*s- ", i * 2, "");
	strcpy(p, "x\n");
	assert_rejected(write_file("p.yaml", text, strlen(text)), -EINVAL,
			"collections nested more than 64 deep", 50);
	free(text);
}

/* A billion laughs: libyaml shares aliased nodes and the parser walks no value twice. */
Test(badinput, alias_bomb_costs_nothing)
{
	char text[4096], *p = text;
	int i;

	p += sprintf(p, "cgroup: /a\nx0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n");
	for (i = 1; i < 30; i++)
		p += sprintf(p, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i,
			     i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	p += sprintf(p, "outbound:\n  excludePorts: *a29\n");
	assert_rejected(write_file("p.yaml", text, strlen(text)), -EINVAL, "unknown key", 100);
}

Test(badinput, directory_says_to_point_at_the_file)
{
	const char *path = path_of("p.yaml");

	cr_assert_eq(mkdir(path, 0700), 0);
	assert_rejected(path, -EISDIR, "is a directory, not a regular file; point --config at",
			100);
}

/* fopen() of a FIFO blocks until a writer comes: the daemon would hang in its loop. */
Test(badinput, fifo_is_refused_without_blocking, .timeout = 5)
{
	const char *path = path_of("p.yaml");

	cr_assert_eq(mkfifo(path, 0600), 0);
	assert_rejected(path, -EINVAL, "is a FIFO, not a regular file", 100);
}

Test(badinput, missing_file_says_to_create_it)
{
	assert_rejected(path_of("gone.yaml"), -ENOENT,
			"cannot open: No such file or directory; create it", 100);
}

Test(badinput, symlink_loop_is_named)
{
	char a[128], b[128];

	snprintf(a, sizeof(a), "%s/a.yaml", dir);
	snprintf(b, sizeof(b), "%s/b.yaml", dir);
	cr_assert_eq(symlink(b, a), 0);
	cr_assert_eq(symlink(a, b), 0);
	assert_rejected(a, -ELOOP, "a symbolic link loop", 100);
}

/*
 * Root reads any file, so the unreadable case drops to nobody in a child: the file is root's,
 * mode 0600, and the child reports what it got through its exit status.
 */
Test(badinput, unreadable_file_says_to_fix_permissions)
{
	const char *path = write_file("p.yaml", "cgroup: /a\n", 11);
	int status;
	pid_t pid;

	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(chmod(dir, 0755), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		if (sc_config_load(path, &cfg, &diags) != -EACCES || !diags.n ||
		    !strstr(diags.v[0].msg, "cannot open: Permission denied; let the daemon's user "
					    "read it"))
			_exit(1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %d", status);
}

Test(badinput, file_past_the_size_limit_is_refused)
{
	const char *path = path_of("p.yaml");
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (17 << 20)), 0);
	close(fd);
	assert_rejected(path, -EFBIG, "is this the config file?", 1000);
}
