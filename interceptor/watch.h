/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Following a config file through every way it is really replaced: written in place, renamed
 * over by an editor, swapped under a Kubernetes ConfigMap volume's "..data" symlink, deleted and
 * created again. The directory is watched rather than the file, because a watch on the file's
 * inode goes stale as soon as a rename replaces it.
 */
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include <uv.h>

struct sc_watch;

/*
 * Called once per settled burst of changes: after no relevant event for debounce_ms, when FILE
 * (symlinks followed) exists and its content differs from what it was at the last call, or at
 * sc_watch_start() when there was none. A file too large to hash (over 1 MiB) is compared by
 * (st_dev, st_ino, st_size, st_mtim) instead. A missing file is not reported; it is reported
 * when it is back with content that differs. The callback may call sc_watch_stop().
 */
typedef void (*sc_watch_cb)(struct sc_watch *w, void *ctx);

/*
 * Watches FILE's directory on LOOP. Start the watch before reading FILE for the first time, so
 * that a change between the two is reported rather than lost. Returns 0 and sets *OUT, or
 * -errno (with a warning naming the directory) if the directory cannot be watched; on an error
 * the loop must still run once before uv_loop_close() to release the handles.
 */
int sc_watch_start(uv_loop_t *loop, const char *file, unsigned int debounce_ms, sc_watch_cb cb,
		   void *ctx, struct sc_watch **out);

/* No callback runs after this; the memory is freed once the loop has closed the handles. */
void sc_watch_stop(struct sc_watch *w);

#endif /* SC_WATCH_H */
