// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Bad input under a running daemon (issue 17): the policy file is edited into each kind of bad
 * input in turn. For each, the daemon logs an error naming the file and the fix, the running
 * policy stays (same generation, and its exclusion still holds for a real connection), and the
 * daemon lives; a good edit afterwards applies.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sidecap.h"

TestSuite(badinput, .init = tpod_setup, .fini = tpod_teardown, .timeout = 240);

static const char *const echo[] = {"--mode", "echo", NULL};

static void write_bytes(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* The pod's policy with EXTRA after cgroup and pinPath, in BUF. */
static size_t policy(char *buf, size_t size, const char *extra)
{
	return (size_t)snprintf(buf, size, "cgroup: %s\npinPath: %s\n%s", P.cgroup, P.pin_path,
				extra);
}

/* Wait until the daemon's log has NEEDLE N times (at most 3 s). */
static bool wait_log(const char *needle, int n)
{
	char log[PATH_MAX];
	int i;

	snprintf(log, sizeof(log), "%s/daemon.log", P.dir);
	for (i = 0; i < 600; i++) {
		if (file_count(log, needle) >= n)
			return true;
		usleep(5000);
	}
	return false;
}

static int rejections;

/* After an edit: the daemon said WANT about the file, rejected it, kept GEN, and lives. */
static void assert_kept(const char *what, const char *want, unsigned int gen)
{
	char line[1024], needle[PATH_MAX + 256];

	rejections++;
	snprintf(needle, sizeof(needle), "%s: %s", P.config, want);
	cr_assert(wait_log(needle, 1), "%s: the log has no \"%s\"", what, needle);
	cr_assert(wait_log("rejected; policy generation", rejections), "%s: no rejection %d logged",
		  what, rejections);
	cr_assert_eq(tpod_generation(), gen, "%s: the policy changed", what);
	cr_assert_eq(kill(P.daemon, 0), 0, "%s: the daemon died", what);
	/* The old policy still rules: 8080 is excluded, so no redirect. */
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0, "%s", what);
}

/* The watch logged WATCH about the file; after a SIGHUP the reload refused it with WANT. */
static void assert_watch_then_hup(const char *what, const char *watch, const char *want,
				  unsigned int gen)
{
	char needle[PATH_MAX + 256];

	snprintf(needle, sizeof(needle), "%s: %s", P.config, watch);
	cr_assert(wait_log(needle, 1), "%s: the log has no \"%s\"", what, needle);
	cr_assert_eq(kill(P.daemon, SIGHUP), 0);
	assert_kept(what, want, gen);
}

/* Remove the file and put something else at its name. */
static void replace_with(const char *what)
{
	char other[PATH_MAX];

	cr_assert_eq(unlink(P.config), 0);
	if (!strcmp(what, "directory")) {
		cr_assert_eq(mkdir(P.config, 0755), 0);
	} else if (!strcmp(what, "fifo")) {
		cr_assert_eq(mkfifo(P.config, 0600), 0);
	} else if (!strcmp(what, "loop")) {
		snprintf(other, sizeof(other), "%s/loop.yaml", P.dir);
		cr_assert_eq(symlink(P.config, other), 0);
		cr_assert_eq(symlink(other, P.config), 0);
	}
}

/*
 * Put the file back: a directory, FIFO or link at its name goes first. The daemon reads it
 * again (the same policy may make a new generation), so *GEN is the live one after a pause.
 */
static void restore(const char *text, size_t len, unsigned int *gen)
{
	char other[PATH_MAX];
	struct stat st;

	if (!lstat(P.config, &st)) {
		if (S_ISDIR(st.st_mode))
			cr_assert_eq(rmdir(P.config), 0);
		else
			cr_assert_eq(unlink(P.config), 0);
	}
	snprintf(other, sizeof(other), "%s/loop.yaml", P.dir);
	unlink(other);
	write_bytes(P.config, text, len);
	if (gen) {
		usleep(500 * 1000);
		*gen = tpod_generation();
	}
}

Test(badinput, every_bad_edit_keeps_the_policy_and_the_daemon)
{
	static char text[256 * 1024];
	char good[1024], line[1024];
	unsigned int gen;
	size_t n, len;

	len = policy(good, sizeof(good), "outbound:\n  excludePorts: [8080]\n");
	write_bytes(P.config, good, len);
	tpod_start_daemon();
	tpod_start_proxy();
	tpod_start_server(T_REMOTE, T_REMOTE_ADDR4, "8080", echo);
	gen = tpod_generation();
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 0);

	n = policy(text, sizeof(text), "outbound:\n  excludePorts: [9090]\nacc\0eleration: x\n");
	n += strlen(text + n + 1) + 1; /* the part after the NUL */
	write_bytes(P.config, text, n);
	assert_kept("NUL byte", "control character U+0000 at byte", gen);

	n = policy(text, sizeof(text), "outbound:\n  excludePorts: [9090]\n# \xff\xfe\n");
	write_bytes(P.config, text, n);
	assert_kept("invalid UTF-8", "not valid UTF-8 or UTF-16", gen);

	n = policy(text, sizeof(text), "outbound:\n  excludePorts: [9090]\nfoo: ");
	memset(text + n, '[', 200000);
	text[n + 200000] = '\n';
	write_bytes(P.config, text, n + 200001);
	assert_kept("200 KB of nested [", "", gen);
	cr_assert(wait_log("collections nested more than 64 deep", 1));

	n = policy(text, sizeof(text),
		   "a0: &a [1, 1, 1, 1, 1, 1, 1, 1]\n"
		   "a1: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
		   "a2: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
		   "outbound:\n  excludePorts: *c\n");
	write_bytes(P.config, text, n);
	assert_kept("alias bomb", "", gen);
	cr_assert(wait_log("a0: unknown key", 1));

	/*
	 * Something other than a file at its name: the watch says so and does not reload; a
	 * SIGHUP then makes the daemon read it, and refuse it.
	 */
	replace_with("directory");
	assert_watch_then_hup("directory", "is a directory, not the policy file",
			      "is a directory, not a regular file; point --config at", gen);
	restore(good, len, &gen);

	replace_with("fifo");
	assert_watch_then_hup("FIFO", "is not a regular file (a FIFO",
			      "is a FIFO, not a regular file", gen);
	restore(good, len, &gen);

	replace_with("loop");
	assert_watch_then_hup("symlink loop", "cannot read it (Too many levels of symbolic links)",
			      "cannot open: Too many levels of symbolic links", gen);
	restore(good, len, &gen);

	replace_with("vanish");
	assert_watch_then_hup("vanished file", "missing; waiting for it to be created",
			      "cannot open: No such file or directory; create it", gen);

	/* Alive and listening: a good edit applies. */
	len = policy(good, sizeof(good), "outbound:\n  excludePorts: [9090]\n");
	restore(good, len, NULL);
	for (n = 0; n < 400 && tpod_generation() == gen; n++)
		usleep(5000);
	cr_assert_gt(tpod_generation(), gen, "the good edit did not apply");
	t_client(T_POD | T_CGROUP, line, T_REMOTE_ADDR4, "8080", NULL);
	t_assert_intact(line, "64");
	cr_assert_eq(tpod_counter(SC_C_connect_redirect), 1);
}
