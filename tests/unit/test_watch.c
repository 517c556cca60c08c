// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The config watch against real files in a throwaway directory, changed the ways editors, config
 * management and kubelet change them. The loop runs in bounded slices (a timer stops it), so
 * each test reads as: change the file, run the loop a while, count the callbacks.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "watch.h"

#define DEBOUNCE_MS 20
/* Long enough for a debounced callback, short enough to keep the suite quick. */
#define SETTLE_MS      150
#define MAX_LATENCY_MS 100
#define MAX_CALLS      8

static struct {
	uv_loop_t loop;
	uv_timer_t stopper;
	struct sc_watch *w;
	char dir[64];
	char file[PATH_MAX];
	uint64_t changed_at; /* uv_hrtime() right after the last write */
	int calls;
	double latency_ms[MAX_CALLS];
	char seen[MAX_CALLS][64]; /* FILE's content as the callback read it */
	bool stop_in_cb;
} t;

static void path_in_dir(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", t.dir, name);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* open(O_TRUNC) and the content in pieces, as a program rewriting its file in place does. */
static void write_in_place(const char *path, const char *content)
{
	size_t half = strlen(content) / 2;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, content, half), (ssize_t)half);
	cr_assert_eq(write(fd, content + half, strlen(content) - half),
		     (ssize_t)(strlen(content) - half));
	cr_assert_eq(close(fd), 0);
}

/* What vim (backupcopy=no), sed -i and most config tools do. */
static void write_rename_over(const char *path, const char *content)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s.tmp~", path);
	write_in_place(tmp, content);
	cr_assert_eq(rename(tmp, path), 0, "rename: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * A ConfigMap volume update as kubelet's AtomicWriter does it: the new payload in a new
 * "..<timestamp>" directory, a "..data_tmp" symlink to it renamed over "..data", the
 * user-visible "mesh.yaml -> ..data/mesh.yaml" created only the first time, the old payload
 * removed last. Other keys of the ConfigMap come along as other files.
 */
static void write_k8s(const char *mesh, const char *other)
{
	static int generation;
	char ts[64], path[PATH_MAX], data[PATH_MAX], data_tmp[PATH_MAX], old[PATH_MAX];
	char old_ts[64];
	ssize_t n;

	snprintf(ts, sizeof(ts), "..2026_11_22_03_00_%02d.%09d", generation,
		 123456789 + generation);
	generation++;
	path_in_dir(path, ts);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s/mesh.yaml", t.dir, ts);
	write_in_place(path, mesh);
	snprintf(path, sizeof(path), "%s/%s/other.yaml", t.dir, ts);
	write_in_place(path, other);

	path_in_dir(data, "..data");
	path_in_dir(data_tmp, "..data_tmp");
	n = readlink(data, old_ts, sizeof(old_ts) - 1);
	old_ts[n > 0 ? n : 0] = '\0';
	cr_assert_eq(symlink(ts, data_tmp), 0);
	cr_assert_eq(rename(data_tmp, data), 0);
	path_in_dir(path, "mesh.yaml");
	if (symlink("..data/mesh.yaml", path))
		cr_assert_eq(errno, EEXIST);
	path_in_dir(path, "other.yaml");
	if (symlink("..data/other.yaml", path))
		cr_assert_eq(errno, EEXIST);
	if (n > 0) {
		path_in_dir(old, old_ts);
		rm_rf(old);
	}
	t.changed_at = uv_hrtime();
}

static void on_change(struct sc_watch *w, void *ctx)
{
	cr_assert_eq(w, t.w);
	cr_assert_eq(ctx, &t);
	if (t.calls < MAX_CALLS) {
		t.latency_ms[t.calls] = (uv_hrtime() - t.changed_at) / 1e6;
		read_file(t.file, t.seen[t.calls], sizeof(t.seen[0]));
		cr_log_info("callback %d: %.2f ms after the change\n", t.calls + 1,
			    t.latency_ms[t.calls]);
	}
	t.calls++;
	if (t.stop_in_cb) {
		sc_watch_stop(w);
		t.w = NULL;
	}
}

static void on_stopper(uv_timer_t *h)
{
	uv_stop(h->loop);
}

/* Runs the loop for MS, whatever the watch's handles want. */
static void run_for(unsigned int ms)
{
	/* The loop's clock stood still while the test wrote files; the stopper counts from now. */
	uv_update_time(&t.loop);
	uv_timer_start(&t.stopper, on_stopper, ms, 0);
	uv_run(&t.loop, UV_RUN_DEFAULT);
}

static void changed(void)
{
	t.changed_at = uv_hrtime();
}

static void start_watch_debounce(unsigned int ms)
{
	cr_assert_eq(sc_watch_start(&t.loop, t.file, ms, on_change, &t, &t.w), 0);
	cr_assert_not_null(t.w);
}

static void start_watch(void)
{
	start_watch_debounce(DEBOUNCE_MS);
}

/* One callback since the last check, soon enough, with CONTENT readable from FILE. */
static void assert_one_call(int before, const char *content)
{
	cr_assert_eq(t.calls, before + 1, "callbacks: %d, expected %d", t.calls, before + 1);
	cr_assert_str_eq(t.seen[before], content);
	cr_assert_lt(t.latency_ms[before], MAX_LATENCY_MS, "callback %.2f ms after the change",
		     t.latency_ms[before]);
	/* Not DEBOUNCE_MS: libuv times its timers by a coarse clock that may lag by a tick. */
	cr_assert_geq(t.latency_ms[before], DEBOUNCE_MS / 2,
		      "callback before the debounce: %.2f ms", t.latency_ms[before]);
}

/* Stops the watch and checks that nothing of it is left on the loop. */
static void stop_and_close(void)
{
	sc_watch_stop(t.w);
	t.w = NULL;
	uv_close((uv_handle_t *)&t.stopper, NULL);
	cr_assert_eq(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&t.loop), 0);
}

static void setup(void)
{
	cr_redirect_stderr();
	memset(&t, 0, sizeof(t));
	strcpy(t.dir, "/tmp/sc-watch-XXXXXX");
	cr_assert_not_null(mkdtemp(t.dir));
	path_in_dir(t.file, "mesh.yaml");
	cr_assert_eq(uv_loop_init(&t.loop), 0);
	uv_timer_init(&t.loop, &t.stopper);
}

static void teardown(void)
{
	rm_rf(t.dir);
}

TestSuite(watch, .init = setup, .fini = teardown, .timeout = 10);

Test(watch, in_place_write_fires_once_with_new_content)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0, "the content at start is not a change");

	write_in_place(t.file, "a: 2\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 2\n");

	write_in_place(t.file, "a: 333\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(1, "a: 333\n");
	stop_and_close();
}

Test(watch, rename_over_fires_once_with_new_content)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	write_rename_over(t.file, "a: 2\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 2\n");

	/* The watch must not have stayed on the first inode. */
	write_rename_over(t.file, "a: 3\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(1, "a: 3\n");
	stop_and_close();
}

Test(watch, k8s_data_swap_fires_once_with_new_content)
{
	write_k8s("a: 1\n", "x: 1\n");
	start_watch();

	write_k8s("a: 2\n", "x: 1\n");
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 2\n");

	write_k8s("a: 3\n", "x: 1\n");
	run_for(SETTLE_MS);
	assert_one_call(1, "a: 3\n");
	stop_and_close();
}

Test(watch, k8s_swap_that_changes_only_another_key_does_not_fire)
{
	write_k8s("a: 1\n", "x: 1\n");
	start_watch();

	write_k8s("a: 1\n", "x: 2\n");
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	stop_and_close();
}

Test(watch, delete_then_recreate_fires_once_when_back)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	cr_assert_eq(unlink(t.file), 0);
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0, "a missing file is not reported");

	write_in_place(t.file, "a: 2\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 2\n");
	stop_and_close();
}

Test(watch, recreated_with_the_same_content_does_not_fire)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	cr_assert_eq(unlink(t.file), 0);
	run_for(SETTLE_MS);
	write_in_place(t.file, "a: 1\n");
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	stop_and_close();
}

Test(watch, missing_at_start_fires_once_when_created)
{
	start_watch();
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);

	write_in_place(t.file, "a: 1\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 1\n");
	stop_and_close();
}

Test(watch, touch_does_not_fire)
{
	struct timespec times[2] = {{.tv_nsec = UTIME_NOW}, {.tv_sec = 1000000000}};

	write_in_place(t.file, "a: 1\n");
	start_watch();

	cr_assert_eq(utimensat(AT_FDCWD, t.file, times, 0), 0);
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	stop_and_close();
}

Test(watch, rename_over_with_the_same_content_does_not_fire)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	write_rename_over(t.file, "a: 1\n");
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	stop_and_close();
}

Test(watch, two_writes_within_the_debounce_fire_once)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	write_in_place(t.file, "a: 2\n");
	run_for(DEBOUNCE_MS / 2);
	cr_assert_eq(t.calls, 0);
	write_in_place(t.file, "a: 3\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 3\n");
	stop_and_close();
}

Test(watch, a_burst_longer_than_the_debounce_fires_once_after_it)
{
	char content[16];
	int i;

	write_in_place(t.file, "a: 1\n");
	/* A debounce ten times the gaps: a loaded machine stretches a gap, and a gap longer than
	 * the debounce would rightly fire. */
	start_watch_debounce(10 * DEBOUNCE_MS);

	/* Each gap is shorter than the debounce, so each event restarts the timer. */
	for (i = 0; i < 6; i++) {
		snprintf(content, sizeof(content), "a: %d\n", 10 + i);
		write_in_place(t.file, content);
		changed();
		run_for(DEBOUNCE_MS);
	}
	cr_assert_eq(t.calls, 0);
	run_for(10 * DEBOUNCE_MS + SETTLE_MS);
	cr_assert_eq(t.calls, 1, "callbacks: %d, expected 1", t.calls);
	cr_assert_str_eq(t.seen[0], "a: 15\n");
	cr_assert_geq(t.latency_ms[0], 10 * DEBOUNCE_MS / 2, "callback before the debounce: %.2f ms",
		      t.latency_ms[0]);
	stop_and_close();
}

Test(watch, other_files_in_the_directory_do_not_fire)
{
	char other[PATH_MAX], other2[PATH_MAX];

	write_in_place(t.file, "a: 1\n");
	start_watch();

	path_in_dir(other, "other.yaml");
	path_in_dir(other2, "mesh.yaml.bak");
	write_in_place(other, "x: 1\n");
	write_rename_over(other, "x: 2\n");
	write_in_place(other2, "a: 0\n");
	cr_assert_eq(unlink(other2), 0);
	cr_assert_eq(mkdir(other2, 0755), 0);
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	stop_and_close();
}

Test(watch, stop_before_the_debounce_ends_never_calls_back)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();

	write_in_place(t.file, "a: 2\n");
	run_for(DEBOUNCE_MS / 2);
	sc_watch_stop(t.w);
	t.w = NULL;
	run_for(SETTLE_MS);
	cr_assert_eq(t.calls, 0);
	uv_close((uv_handle_t *)&t.stopper, NULL);
	cr_assert_eq(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&t.loop), 0);
}

Test(watch, stop_from_the_callback_closes_clean)
{
	write_in_place(t.file, "a: 1\n");
	start_watch();
	t.stop_in_cb = true;

	write_in_place(t.file, "a: 2\n");
	changed();
	uv_close((uv_handle_t *)&t.stopper, NULL);
	/* With the stopper closed, only the watch keeps the loop alive until the callback. */
	cr_assert_eq(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(t.calls, 1);
	cr_assert_str_eq(t.seen[0], "a: 2\n");
	cr_assert_eq(uv_loop_close(&t.loop), 0);
}

Test(watch, missing_directory_fails_with_enoent_and_names_it)
{
	char want[2 * PATH_MAX + 64];
	struct sc_watch *w = (void *)1;

	snprintf(t.file, sizeof(t.file), "%s/nope/mesh.yaml", t.dir);
	cr_assert_eq(sc_watch_start(&t.loop, t.file, DEBOUNCE_MS, on_change, &t, &w), -ENOENT);
	cr_assert_null(w);
	fflush(stderr);
	snprintf(want, sizeof(want), "%s/nope: cannot watch the directory of %s: %s\n", t.dir,
		 t.file, strerror(ENOENT));
	cr_assert_stderr_eq_str(want);
	uv_close((uv_handle_t *)&t.stopper, NULL);
	cr_assert_eq(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&t.loop), 0);
}

Test(watch, a_file_name_without_a_directory_watches_the_current_one)
{
	char cwd[PATH_MAX];

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(t.dir), 0);
	write_in_place("mesh.yaml", "a: 1\n");
	cr_assert_eq(sc_watch_start(&t.loop, "mesh.yaml", DEBOUNCE_MS, on_change, &t, &t.w), 0);

	write_rename_over("mesh.yaml", "a: 2\n");
	changed();
	run_for(SETTLE_MS);
	assert_one_call(0, "a: 2\n");
	stop_and_close();
	cr_assert_eq(chdir(cwd), 0);
}
