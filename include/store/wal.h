/* WAL checkpoints off the event loop. SQLite's automatic checkpoint copies the
 * write-ahead log into the database file inside the COMMIT that crosses the
 * threshold, on the loop thread (~12% of the daemon's CPU under load). This
 * module moves the bulk of that copy to libuv's thread pool, on a connection
 * of its own. */
#ifndef SAGAD_STORE_WAL_H
#define SAGAD_STORE_WAL_H
#include "store/db.h"

#include <uv.h>

typedef struct store_wal_s store_wal_t;

/* Pages in the WAL before a checkpoint starts (SQLite's own default). */
#define STORE_WAL_CHECKPOINT_PAGES 1000
/* Pages past which the loop thread finishes a checkpoint itself. */
#define STORE_WAL_LIMIT_PAGES 8000

/* Takes over checkpointing of `st` (a file database; for ":memory:" and a
 * PostgreSQL store it does nothing and sets *out to NULL). From then on a commit that leaves at least
 * STORE_WAL_CHECKPOINT_PAGES in the log queues a PASSIVE checkpoint on the
 * thread pool (one at a time); past STORE_WAL_LIMIT_PAGES the loop thread
 * copies what is left itself, so that SQLite can restart the log from its
 * beginning. Returns 0 or -1 (out of memory). Stop with
 * store_wal_stop before store_close. */
int store_wal_start(store_t *st, uv_loop_t *loop, store_wal_t **out);

/* Gives checkpointing back to SQLite. A checkpoint still running on the
 * thread pool finishes on its own and then frees everything; the loop keeps
 * running until it has (it is a uv_work_t). NULL is a no-op. */
void store_wal_stop(store_wal_t *w);

/* Checkpoints run so far: on the thread pool, and on the loop thread. */
void store_wal_counts(const store_wal_t *w, uint64_t *background, uint64_t *inline_tails);
#endif
