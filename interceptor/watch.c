// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Following the config file. The directory is watched, not the file: editors rename a new file
 * over the old one and kubelet swaps a "..data" symlink, and either leaves a watch on the old
 * inode with nothing more to say. Events are filtered by name, and a settled burst of them
 * makes us open the file through its symlinks and compare it with what we last saw.
 *
 * The directory itself being removed, renamed or mounted over is out of scope: the inotify
 * watch follows the old directory, and nothing here notices that FILE now resolves elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "watch.h"

/* Config files are a few KiB; past this, reading the whole file on the loop costs more than an
 * occasional needless reload, so such a file is compared by identity and mtime alone. */
#define SC_WATCH_HASH_MAX (1u << 20)

/* The kernel gives up on a symlink chain at 40 links (ELOOP); so do we. */
#define SC_WATCH_MAX_LINKS 40

struct sc_watch_state {
	bool present;
	bool hashed; /* hash covers the whole content */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	uint64_t hash;
};

struct sc_watch {
	uv_fs_event_t event;
	uv_timer_t timer;
	char *file;	  /* as given, with "./" in front if it had no directory part */
	char *dir;	  /* the watched directory */
	char *prefix;	  /* dir with one trailing '/', to find the names FILE resolves through */
	const char *name; /* points into file */
	/* Names in dir that FILE's symlink chain passes through ("..data" on a ConfigMap volume);
	 * an event for one of them may change what FILE resolves to. */
	char *links[SC_WATCH_MAX_LINKS];
	unsigned int nlinks;
	unsigned int debounce_ms;
	sc_watch_cb cb;
	void *ctx;
	struct sc_watch_state last;
	int last_err; /* of the last look at FILE, so each failure is logged once */
	int open_handles;
};

static void sc_watch_free(struct sc_watch *w)
{
	unsigned int i;

	for (i = 0; i < w->nlinks; i++)
		free(w->links[i]);
	free(w->prefix);
	free(w->dir);
	free(w->file);
	free(w);
}

static int sc_watch_paths(struct sc_watch *w, const char *file)
{
	const char *slash;
	size_t len;

	if (!*file)
		return -EINVAL;
	if (strchr(file, '/'))
		w->file = strdup(file);
	else if (asprintf(&w->file, "./%s", file) < 0)
		w->file = NULL;
	if (!w->file)
		return -ENOMEM;
	slash = strrchr(w->file, '/');
	w->name = slash + 1;
	/* "dir/" names no file in dir, and "." or ".." name the directory, not a child of it. */
	if (!*w->name || !strcmp(w->name, ".") || !strcmp(w->name, ".."))
		return -EINVAL;
	len = slash == w->file ? 1 : (size_t)(slash - w->file);
	w->dir = strndup(w->file, len);
	if (!w->dir)
		return -ENOMEM;
	if (asprintf(&w->prefix, "%s%s", w->dir, len == 1 && *w->dir == '/' ? "" : "/") < 0) {
		/* asprintf() leaves the pointer undefined on failure; sc_watch_free() frees it. */
		w->prefix = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void sc_watch_add_link(struct sc_watch *w, const char *path)
{
	size_t plen = strlen(w->prefix), len;
	const char *name;
	unsigned int i;

	if (strncmp(path, w->prefix, plen))
		return;
	name = path + plen;
	len = strcspn(name, "/");
	if (!len || (len == strlen(w->name) && !strncmp(name, w->name, len)))
		return;
	for (i = 0; i < w->nlinks; i++) {
		if (strlen(w->links[i]) == len && !strncmp(w->links[i], name, len))
			return;
	}
	if (w->nlinks < SC_WATCH_MAX_LINKS) {
		/* Out of memory only narrows the filter; FILE's own name is always watched. */
		w->links[w->nlinks] = strndup(name, len);
		if (w->links[w->nlinks])
			w->nlinks++;
	}
}

/*
 * Walks FILE's symlink chain by hand, because stat() hides it, and records each name directly in
 * dir that a step passes through: "mesh.yaml -> ..data/mesh.yaml" yields "..data". Relative
 * targets are joined textually, like the kernel does, so they keep the prefix we look for.
 */
static void sc_watch_find_links(struct sc_watch *w)
{
	char target[PATH_MAX], *path, *next;
	unsigned int i;
	struct stat st;
	ssize_t n;
	int dlen;

	for (i = 0; i < w->nlinks; i++)
		free(w->links[i]);
	w->nlinks = 0;

	path = strdup(w->file);
	for (i = 0; path && i < SC_WATCH_MAX_LINKS; i++) {
		sc_watch_add_link(w, path);
		if (lstat(path, &st) || !S_ISLNK(st.st_mode))
			break;
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			break;
		target[n] = '\0';
		dlen = (int)(strrchr(path, '/') - path);
		if (*target == '/')
			next = strdup(target);
		else if (asprintf(&next, "%.*s/%s", dlen, path, target) < 0)
			next = NULL;
		free(path);
		path = next;
	}
	free(path);
}

static bool sc_watch_relevant(const struct sc_watch *w, const char *filename)
{
	unsigned int i;

	/* No name means libuv could not tell which entry changed; assume ours. */
	if (!filename || !strcmp(filename, w->name))
		return true;
	for (i = 0; i < w->nlinks; i++) {
		if (!strcmp(filename, w->links[i]))
			return true;
	}
	return false;
}

/* FNV-1a: not cryptographic, and it need not be; it only spares a reload when nothing changed. */
static uint64_t sc_watch_hash(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Opens FILE through its symlinks and takes identity and content from the one open file, so
 * that a rename between a stat() and a read cannot pair one file's inode with another's bytes.
 * O_NONBLOCK keeps a FIFO put in FILE's place from stalling the loop in open().
 */
static int sc_watch_snapshot(const struct sc_watch *w, struct sc_watch_state *s)
{
	unsigned char buf[4096];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t total = 0;
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(w->file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out_close;
	}
	*s = (struct sc_watch_state){
		.present = true,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.size = st.st_size,
		.mtim = st.st_mtim,
	};
	if (st.st_size > SC_WATCH_HASH_MAX)
		goto out_close;
	/* Read to EOF rather than st_size: a writer may still be appending. */
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_close;
		}
		total += n;
		if (total > SC_WATCH_HASH_MAX)
			goto out_close;
		h = sc_watch_hash(h, buf, n);
	}
	s->hashed = true;
	s->hash = h;
	s->size = total;
out_close:
	close(fd);
	return err;
}

static bool sc_watch_differs(const struct sc_watch_state *a, const struct sc_watch_state *b)
{
	if (a->present != b->present)
		return true;
	if (a->hashed && b->hashed)
		return a->size != b->size || a->hash != b->hash;
	return a->dev != b->dev || a->ino != b->ino || a->size != b->size ||
	       a->mtim.tv_sec != b->mtim.tv_sec || a->mtim.tv_nsec != b->mtim.tv_nsec;
}

/* Returns whether FILE changed since the last look; a file we cannot read has not. */
static bool sc_watch_look(struct sc_watch *w)
{
	struct sc_watch_state now = {0};
	bool changed;
	int err;

	sc_watch_find_links(w);
	err = sc_watch_snapshot(w, &now);
	if (err != w->last_err) {
		if (err == -ENOENT)
			pr_info("%s: missing; waiting for it to be created\n", w->file);
		else if (err == -EISDIR)
			pr_warn("%s: is a directory, not the policy file; the running policy stays "
				"until a file is put back\n",
				w->file);
		else if (err == -EINVAL)
			pr_warn("%s: is not a regular file (a FIFO, socket or device); the running "
				"policy stays until a file is put back\n",
				w->file);
		else if (err)
			pr_warn("%s: cannot read it (%s); the running policy stays until it "
				"changes\n",
				w->file, strerror(-err));
		else if (w->last_err)
			pr_info("%s: readable again\n", w->file);
		w->last_err = err;
	}
	if (err)
		return false;
	changed = sc_watch_differs(&w->last, &now);
	/* Taken even when the content is the same, so that a file too large to hash, compared by
	 * its metadata, reports a touch once rather than at every later look. */
	w->last = now;
	return changed;
}

static void sc_watch_on_timer(uv_timer_t *t)
{
	struct sc_watch *w = t->data;

	/* Last: the callback may stop, and so free, the watch. */
	if (sc_watch_look(w))
		w->cb(w, w->ctx);
}

/*
 * Each relevant event restarts the timer, so a burst (O_TRUNC then several writes, or kubelet's
 * mkdir, symlink, rename, rmdir) is looked at once, debounce_ms after its last event. A writer
 * that pauses longer than that mid-file gets one callback for the half-written file and one
 * more for the rest; its content is what the reader must validate anyway.
 */
static void sc_watch_on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	struct sc_watch *w = h->data;

	if (status < 0) {
		pr_warn("%s: watching the directory failed: %s\n", w->dir, strerror(-status));
		return;
	}
	if (sc_watch_relevant(w, filename))
		uv_timer_start(&w->timer, sc_watch_on_timer, w->debounce_ms, 0);
}

static void sc_watch_on_close(uv_handle_t *h)
{
	struct sc_watch *w = h->data;

	if (--w->open_handles == 0)
		sc_watch_free(w);
}

void sc_watch_stop(struct sc_watch *w)
{
	if (!w)
		return;
	uv_close((uv_handle_t *)&w->event, sc_watch_on_close);
	uv_close((uv_handle_t *)&w->timer, sc_watch_on_close);
}

int sc_watch_start(uv_loop_t *loop, const char *file, unsigned int debounce_ms, sc_watch_cb cb,
		   void *ctx, struct sc_watch **out)
{
	struct sc_watch *w;
	int err;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	err = sc_watch_paths(w, file);
	if (err) {
		pr_warn("%s: cannot watch it: %s\n", file, strerror(-err));
		sc_watch_free(w);
		return err;
	}
	w->debounce_ms = debounce_ms;
	w->cb = cb;
	w->ctx = ctx;

	uv_fs_event_init(loop, &w->event);
	uv_timer_init(loop, &w->timer);
	w->event.data = w->timer.data = w;
	w->open_handles = 2;
	err = uv_fs_event_start(&w->event, sc_watch_on_event, w->dir, 0);
	if (err) {
		pr_warn("%s: cannot watch the directory of %s: %s\n", w->dir, file, strerror(-err));
		sc_watch_stop(w);
		return err;
	}
	/* After the watch is in place, so that a change from here on is either in this first
	 * look or reported as an event. */
	sc_watch_look(w);
	*out = w;
	return 0;
}
