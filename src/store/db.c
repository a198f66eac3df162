/* The store's public face: picks the backend at open (a postgresql:// URI or
 * a SQLite path), keeps what both share (the registry of domain schemas, the
 * prepared-statement cache, health counters) and dispatches each statement
 * and transaction call. SQLite's calls are made here directly: one branch on
 * the hot path, no extra call (the order saga benchmark watches it). */
#include "internal.h"
#include "core/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The store's codes are SQLite's, negated. */
_Static_assert(STORE_ERR_ERROR == -SQLITE_ERROR && STORE_ERR_ABORT == -SQLITE_ABORT &&
                   STORE_ERR_BUSY == -SQLITE_BUSY && STORE_ERR_NOMEM == -SQLITE_NOMEM &&
                   STORE_ERR_IOERR == -SQLITE_IOERR && STORE_ERR_FULL == -SQLITE_FULL &&
                   STORE_ERR_CONSTRAINT == -SQLITE_CONSTRAINT && STORE_ERR_MISUSE == -SQLITE_MISUSE,
               "store error codes are SQLite's result codes negated");

#define IS_PG(st) ((st)->backend == STORE_BACKEND_POSTGRESQL)

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define MAX_SCHEMAS 8

/* Domains' parts of the schema, in registration order; process-wide like the
 * handler registry, because the set of domains is fixed when the daemon starts. */
static const store_schema_t *schemas[MAX_SCHEMAS];
static int n_schemas;

int store_schema_add(const store_schema_t *schema)
{
    for (int i = 0; i < n_schemas; i++)
        if (schemas[i] == schema)
            return 0;
    if (n_schemas == MAX_SCHEMAS)
        return -1;
    schemas[n_schemas++] = schema;
    return 0;
}

const store_schema_t *const *store_schemas(int *n)
{
    *n = n_schemas;
    return schemas;
}

/* The schema version this build writes: the longest list of migrations. */
int store_schema_latest(void)
{
    int n = STORE_SCHEMA_VERSION;
    for (int i = 0; i < n_schemas; i++)
        if (schemas[i]->count > n)
            n = schemas[i]->count;
    return n;
}

int store_is_pg_uri(const char *database)
{
    return strncmp(database, "postgresql://", 13) == 0 || strncmp(database, "postgres://", 11) == 0;
}

store_t *store_alloc(store_backend_t backend, const char *path)
{
    store_t *st = calloc(1, sizeof *st);
    char *copy = strdup(path);
    if (!st || !copy) {
        free(st);
        free(copy);
        return NULL;
    }
    st->backend = backend;
    st->path = copy;
    st->lock_fd = -1;
    return st;
}

void store_free(store_t *st)
{
    free(st->path);
    free(st);
}

static int open_any(const char *path, int exclusive, store_t **out, char *err, size_t errlen)
{
    if (store_is_pg_uri(path))
        return pg_open(path, exclusive, out, err, errlen);
    return lite_open(path, exclusive, out, err, errlen);
}

int store_open(const char *path, store_t **out, char *err, size_t errlen)
{
    return open_any(path, 0, out, err, errlen);
}

int store_open_exclusive(const char *path, store_t **out, char *err, size_t errlen)
{
    store_t *st;
    int rc = open_any(path, 1, &st, err, errlen);
    if (rc < 0)
        return rc;
    if (store_probe_write(st) < 0) {
        snprintf(err, errlen, "%s: cannot write to the database: %s", st->path,
                 st->health.last_error);
        store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void store_close(store_t *st)
{
    if (!st)
        return;
    if (IS_PG(st))
        pg_close(st);
    else
        lite_close(st);
    store_free(st);
}

store_backend_t store_backend(const store_t *st)
{
    return st->backend;
}

const char *store_path(const store_t *st)
{
    return st->path;
}

const store_health_t *store_health(const store_t *st)
{
    return &st->health;
}

int store_session_set(store_t *st, const char *name, const char *value)
{
    return IS_PG(st) ? pg_session_set(st, name, value) : 0;
}

uint64_t store_reconnects(const store_t *st)
{
    return IS_PG(st) ? pg_reconnects(st) : 0;
}

void store_set_integrity(store_t *st, store_integrity_t integrity, const char *detail)
{
    st->health.integrity = integrity;
    snprintf(st->health.integrity_detail, sizeof st->health.integrity_detail, "%s",
             detail ? detail : "");
}

void store_note_commit(store_t *st, int rc, const char *msg)
{
    store_health_t *h = &st->health;
    if (rc == 0) {
        if (h->failing)
            log_info("database %s: commits succeed again after %llu failed", st->path,
                     (unsigned long long)h->failing);
        h->commits++;
        h->failing = 0;
        return;
    }
    int64_t now = store_now_ms();
    h->commit_failures++;
    if (h->failing++ == 0)
        h->failing_since_ms = now;
    h->last_failure_ms = now;
    snprintf(h->last_error, sizeof h->last_error, "%s", msg ? msg : "unknown error");
}

store_stmt_t *store_prepare(store_t *st, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) % STORE_STMT_CACHE;
    for (size_t n = 0; n < STORE_STMT_CACHE; n++, i = (i + 1) % STORE_STMT_CACHE) {
        store_stmt_t *slot = &st->cache[i];
        if (slot->sql == sql) {
            if (slot->pg) {
                pg_stmt_reset(slot->pg);
                pg_stmt_clear(slot->pg);
            } else {
                sqlite3_reset(slot->lite);
                sqlite3_clear_bindings(slot->lite);
            }
            return slot;
        }
        if (!slot->sql) {
            if ((IS_PG(st) ? pg_prepare(st, slot, sql) : lite_prepare(st, slot, sql)) < 0)
                return NULL;
            slot->sql = sql;
            return slot;
        }
    }
    log_error("database %s: prepared statement cache is full (%d)", st->path, STORE_STMT_CACHE);
    return NULL;
}

/* The statement wrappers stay out of line and thin: for SQLite one call each,
 * nothing allocated. */

void store_bind_text(store_stmt_t *s, int i, const char *v)
{
    if (s->pg)
        pg_bind_text(s->pg, i, v, PG_TEXT_BORROWED);
    else
        sqlite3_bind_text(s->lite, i, v, -1, SQLITE_STATIC);
}

void store_bind_text_copy(store_stmt_t *s, int i, const char *v)
{
    if (s->pg)
        pg_bind_text(s->pg, i, v, PG_TEXT_COPY);
    else
        sqlite3_bind_text(s->lite, i, v, -1, SQLITE_TRANSIENT);
}

void store_bind_text_taken(store_stmt_t *s, int i, char *v)
{
    if (s->pg)
        pg_bind_text(s->pg, i, v, PG_TEXT_TAKEN);
    else
        sqlite3_bind_text(s->lite, i, v, -1, free);
}

void store_bind_int64(store_stmt_t *s, int i, int64_t v)
{
    if (s->pg)
        pg_bind_int64(s->pg, i, v);
    else
        sqlite3_bind_int64(s->lite, i, v);
}

void store_bind_int(store_stmt_t *s, int i, int v)
{
    if (s->pg)
        pg_bind_int64(s->pg, i, v);
    else
        sqlite3_bind_int(s->lite, i, v);
}

void store_bind_null(store_stmt_t *s, int i)
{
    if (s->pg)
        pg_bind_text(s->pg, i, NULL, PG_TEXT_BORROWED);
    else
        sqlite3_bind_null(s->lite, i);
}

void store_clear_bindings(store_stmt_t *s)
{
    if (s->pg)
        pg_stmt_clear(s->pg);
    else
        sqlite3_clear_bindings(s->lite);
}

int store_step(store_stmt_t *s)
{
    if (s->pg)
        return pg_step(s->pg);
    int rc = sqlite3_step(s->lite);
    return rc == SQLITE_ROW ? STORE_ROW : rc == SQLITE_DONE ? STORE_DONE : -rc;
}

void store_reset(store_stmt_t *s)
{
    if (s->pg)
        pg_stmt_reset(s->pg);
    else
        sqlite3_reset(s->lite);
}

const char *store_col_text(store_stmt_t *s, int col)
{
    return s->pg ? pg_col_text(s->pg, col) : (const char *)sqlite3_column_text(s->lite, col);
}

int64_t store_col_int64(store_stmt_t *s, int col)
{
    return s->pg ? pg_col_int64(s->pg, col) : sqlite3_column_int64(s->lite, col);
}

int store_col_int(store_stmt_t *s, int col)
{
    return s->pg ? (int)pg_col_int64(s->pg, col) : sqlite3_column_int(s->lite, col);
}

int store_col_bytes(store_stmt_t *s, int col)
{
    return s->pg ? pg_col_bytes(s->pg, col) : sqlite3_column_bytes(s->lite, col);
}

int store_col_is_null(store_stmt_t *s, int col)
{
    return s->pg ? pg_col_is_null(s->pg, col) : sqlite3_column_type(s->lite, col) == SQLITE_NULL;
}

const char *store_errmsg(store_t *st)
{
    return IS_PG(st) ? pg_errmsg(st) : sqlite3_errmsg(st->db);
}

const char *store_stmt_errmsg(store_stmt_t *s)
{
    return s->pg ? pg_stmt_errmsg(s->pg) : sqlite3_errmsg(sqlite3_db_handle(s->lite));
}

int64_t store_changes(store_t *st)
{
    return IS_PG(st) ? pg_changes(st) : sqlite3_changes64(st->db);
}

int store_exec_stmt(store_stmt_t *s)
{
    if (s->pg)
        return pg_exec_stmt(s->pg);
    int rc = sqlite3_step(s->lite);
    sqlite3_reset(s->lite);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    log_error("sqlite: %s", sqlite3_errmsg(sqlite3_db_handle(s->lite)));
    return -rc;
}

int store_exists(store_t *st, const char *sql, const char *key)
{
    store_stmt_t *s = store_prepare(st, sql);
    if (!s)
        return -1;
    store_bind_text(s, 1, key);
    int rc = store_step(s);
    store_reset(s);
    return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

int store_exec_cached(store_t *st, const char *sql)
{
    store_stmt_t *s = store_prepare(st, sql);
    if (!s)
        return IS_PG(st) ? pg_prepare_failure(st) : STORE_ERR_ERROR;
    return store_exec_stmt(s);
}

/* Transaction control: each backend knows how its server loses a transaction. */

int store_begin(store_t *st)
{
    return IS_PG(st) ? pg_begin(st) : lite_begin(st);
}

int store_commit(store_t *st)
{
    return IS_PG(st) ? pg_commit(st) : lite_commit(st);
}

int store_rollback(store_t *st)
{
    return IS_PG(st) ? pg_rollback(st) : lite_rollback(st);
}

int store_in_txn(store_t *st)
{
    return st->in_txn;
}

int store_savepoint(store_t *st)
{
    return IS_PG(st) ? pg_savepoint(st) : lite_savepoint(st);
}

int store_release(store_t *st)
{
    return IS_PG(st) ? pg_release(st) : lite_release(st);
}

int store_rollback_to(store_t *st)
{
    return IS_PG(st) ? pg_rollback_to(st) : lite_rollback_to(st);
}

int store_probe_write(store_t *st)
{
    assert(!st->in_txn);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    rc = IS_PG(st) ? pg_probe_write(st) : lite_probe_write(st);
    if (rc < 0) {
        store_note_commit(st, rc, store_errmsg(st));
        store_rollback(st);
        return rc;
    }
    rc = store_commit(st);
    if (rc < 0)
        store_rollback(st);
    return rc;
}
