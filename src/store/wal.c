/* Background WAL checkpoints: the loop thread's commit hook decides, a worker
 * thread with its own SQLite connection copies the log into the database. */
#include "store/wal.h"
#include "store/sqlite.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct store_wal_s {
    uv_work_t work;
    uv_loop_t *loop;
    store_t *st;
    char *path;
    sqlite3 *ckpt_db;      /* used only on the worker thread (and freed last) */
    int busy;              /* a uv_work_t is queued or running */
    int stopped;           /* store_wal_stop was called: free when idle */
    int rc;                /* worker's result, read after it ended */
    uint64_t n_background, n_inline;
};

static void wal_free(store_wal_t *w)
{
    if (w->ckpt_db)
        sqlite3_close(w->ckpt_db);
    free(w->path);
    free(w);
}

/* Worker thread: a PASSIVE checkpoint never waits for locks and never blocks
 * the writer; it copies every frame committed before it started. */
static void on_work(uv_work_t *req)
{
    store_wal_t *w = req->data;
    /* Copying the log can wait; the loop thread and the clients on this box
     * cannot. Linux applies a nice value to one thread (its tid); a pool
     * thread keeps it, which only ever makes other pool work yield too. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    if (!w->ckpt_db) {
        int rc = sqlite3_open_v2(w->path, &w->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
            w->rc = rc;
            sqlite3_close(w->ckpt_db);
            w->ckpt_db = NULL;
            return;
        }
        /* The copy must reach the disk before the log restarts over it. */
        sqlite3_exec(w->ckpt_db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    }
    w->rc = sqlite3_wal_checkpoint_v2(w->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

static void on_done(uv_work_t *req, int status)
{
    store_wal_t *w = req->data;
    w->busy = 0;
    if (w->stopped) {
        wal_free(w);
        return;
    }
    if (status == 0 && w->rc == SQLITE_OK) {
        w->n_background++;
    } else if (status == 0 && w->rc != SQLITE_BUSY) {
        log_warn("sqlite: background checkpoint of %s failed: %s", w->path, sqlite3_errstr(w->rc));
    }
}

/* Runs on the loop thread after every commit, with the log's size in pages.
 * SQLite restarts the log at the next write once every frame in it has been
 * copied; under a steady load commits keep landing while the worker copies,
 * so past STORE_WAL_LIMIT_PAGES the loop copies the remainder itself (the
 * worker has already done the bulk) and the log cannot grow without bound. */
static int on_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
    store_wal_t *w = ud;
    if (pages >= STORE_WAL_LIMIT_PAGES) {
        /* SQLITE_BUSY while the worker still holds the checkpoint lock: the
         * worker is copying; the next commit tries again. */
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
            w->n_inline++;
        return SQLITE_OK;
    }
    if (pages < STORE_WAL_CHECKPOINT_PAGES || w->busy)
        return SQLITE_OK;
    w->busy = 1;
    w->work.data = w;
    if (uv_queue_work(w->loop, &w->work, on_work, on_done) != 0)
        w->busy = 0;
    return SQLITE_OK;
}

int store_wal_start(store_t *st, uv_loop_t *loop, store_wal_t **out)
{
    *out = NULL;
    if (store_backend(st) != STORE_BACKEND_SQLITE)
        return 0; /* PostgreSQL checkpoints by itself */
    sqlite3 *db = store_db(st);
    const char *path = sqlite3_db_filename(db, "main");
    if (!path || !*path)
        return 0; /* :memory: or a temporary database: no log to checkpoint */
    store_wal_t *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return -1;
    }
    w->loop = loop;
    w->st = st;
    /* Replaces SQLite's automatic checkpoint, which is itself a WAL hook. */
    sqlite3_wal_hook(db, on_commit, w);
    *out = w;
    return 0;
}

void store_wal_stop(store_wal_t *w)
{
    if (!w)
        return;
    sqlite3_wal_autocheckpoint(store_db(w->st), STORE_WAL_CHECKPOINT_PAGES);
    if (w->busy)
        w->stopped = 1; /* on_done frees it */
    else
        wal_free(w);
}

void store_wal_counts(const store_wal_t *w, uint64_t *background, uint64_t *inline_tails)
{
    *background = w ? w->n_background : 0;
    *inline_tails = w ? w->n_inline : 0;
}
