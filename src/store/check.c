/* PRAGMA quick_check off the loop thread: a worker steps it on its own
 * read-only connection (a reader in WAL mode never blocks the writer), the
 * loop thread records the result in the store's health and logs it. */
#include "store/check.h"
#include "store/sqlite.h"
#include "core/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_check_s {
    uv_work_t work;
    store_t *st;                 /* NULL once stopped */
    sqlite3 *db;                 /* stepped on the worker only */
    int done;                    /* the worker finished; freed by stop */
    atomic_int stop;             /* set by the loop thread: abandon the check */
    store_integrity_t result;
    char detail[512];
    uint64_t start_ms;
};

static void append_line(store_check_t *c, const char *line)
{
    size_t n = strlen(c->detail);
    snprintf(c->detail + n, sizeof c->detail - n, "%s%s", n ? "\n" : "", line);
}

/* Polled by SQLite every few thousand instructions of the check: a
 * stopping daemon never waits for a whole file to be read. (Unlike
 * sqlite3_interrupt, this cannot be missed when the stop comes before the
 * worker started stepping.) */
static int on_progress(void *ud)
{
    store_check_t *c = ud;
    return atomic_load(&c->stop);
}

static void on_work(uv_work_t *req)
{
    store_check_t *c = req->data;
    sqlite3_stmt *s = NULL;
    /* Ten problems are enough to locate the damage. */
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check(10)", -1, &s, NULL);
    int rows = 0, ok = 0;
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(s, 0);
        ok = rows++ == 0 && line && strcmp(line, "ok") == 0;
        if (!ok)
            append_line(c, line ? line : "?");
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        /* A schema or page too damaged to read ends the check with SQLITE_CORRUPT. */
        c->result = (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB
                        ? STORE_INTEGRITY_CORRUPT : STORE_INTEGRITY_ERROR;
        append_line(c, sqlite3_errmsg(c->db));
    } else {
        c->result = ok ? STORE_INTEGRITY_OK : STORE_INTEGRITY_CORRUPT;
    }
    sqlite3_finalize(s);
}

static void check_free(store_check_t *c)
{
    sqlite3_close(c->db);
    free(c);
}

static void on_done(uv_work_t *req, int status)
{
    store_check_t *c = req->data;
    store_t *st = c->st;
    if (!st) {
        check_free(c);
        return;
    }
    c->done = 1;
    if (status < 0)
        return;
    store_set_integrity(st, c->result, c->detail);
    double secs = (double)(uv_hrtime() / 1000000 - c->start_ms) / 1000.0;
    if (c->result == STORE_INTEGRITY_OK) {
        log_info("database %s: integrity check passed (%.1f s)", store_path(st), secs);
    } else {
        /* One log line: the report's lines joined with "; ". */
        char line[sizeof c->detail * 2];
        size_t n = 0;
        for (const char *p = c->detail; *p && n + 3 < sizeof line; p++) {
            if (*p == '\n') {
                line[n++] = ';';
                line[n++] = ' ';
            } else {
                line[n++] = *p;
            }
        }
        line[n] = '\0';
        log_error(c->result == STORE_INTEGRITY_CORRUPT
                      ? "database %s is corrupt (PRAGMA quick_check): %s; restore it from a backup"
                      : "database %s: the integrity check could not run: %s",
                  store_path(st), line);
    }
}

int store_check_start(uv_loop_t *loop, store_t *st, store_check_t **out)
{
    *out = NULL;
    if (store_backend(st) != STORE_BACKEND_SQLITE)
        return 0; /* quick_check is SQLite's; PostgreSQL checks its own pages */
    store_check_t *c = calloc(1, sizeof *c);
    if (!c) {
        log_warn("database %s: no memory for the integrity check", store_path(st));
        return UV_ENOMEM;
    }
    c->st = st;
    c->work.data = c;
    c->start_ms = uv_hrtime() / 1000000;
    int rc = sqlite3_open_v2(store_path(st), &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        log_warn("database %s: cannot open it for the integrity check: %s", store_path(st),
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        check_free(c);
        return -rc;
    }
    sqlite3_progress_handler(c->db, 10000, on_progress, c);
    if ((rc = uv_queue_work(loop, &c->work, on_work, on_done)) < 0) {
        log_warn("database %s: cannot queue the integrity check: %s", store_path(st),
                 uv_strerror(rc));
        check_free(c);
        return rc;
    }
    store_set_integrity(st, STORE_INTEGRITY_CHECKING, NULL);
    *out = c;
    return 0;
}

void store_check_stop(store_check_t *c)
{
    if (!c)
        return;
    if (c->done) {
        check_free(c);
        return;
    }
    c->st = NULL;
    atomic_store(&c->stop, 1);
}
