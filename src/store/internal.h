/* What the store's files share (db.c dispatches, sqlite.c and pg.c implement):
 * the store and statement structs, and each backend's entry points. Private
 * to src/store/; the public face is include/store/db.h. */
#ifndef SAGAD_STORE_INTERNAL_H
#define SAGAD_STORE_INTERNAL_H

#include "store/db.h"

#include <sqlite3.h>

#define STORE_STMT_CACHE 256

typedef struct pg_conn_s pg_conn_t;   /* pg.c */
typedef struct pg_stmt_s pg_stmt_t;   /* pg.c */

/* A cache slot is the statement callers hold: no allocation per use. Exactly
 * one of `lite` and `pg` is set once prepared; the backend is the store's. */
struct store_stmt_s {
    const char *sql;        /* the cache key: the literal's address */
    sqlite3_stmt *lite;
    pg_stmt_t *pg;
};

struct store_s {
    store_backend_t backend;
    int in_txn;
    char *path;             /* the path, or the URI without its password */
    store_health_t health;
    sqlite3 *db;            /* SQLite */
    int lock_fd;            /* SQLite: "<path>.lock", held while open; -1 for none */
    pg_conn_t *pg;          /* PostgreSQL */
    store_stmt_t cache[STORE_STMT_CACHE];
};

/* db.c: shared by both backends. */
int store_schema_latest(void);
/* Registered domains' parts (borrowed, process-wide), and their count. */
const store_schema_t *const *store_schemas(int *n);
/* A COMMIT's (or failed BEGIN's) result into the health counters; `msg` is
 * the backend's message for a failure. */
void store_note_commit(store_t *st, int rc, const char *msg);
/* Frees the parts every store has (after the backend closed its own). */
void store_free(store_t *st);
/* A new store of that backend for `path` (copied), or NULL (out of memory). */
store_t *store_alloc(store_backend_t backend, const char *path);

/* sqlite.c */
int lite_open(const char *path, int exclusive, store_t **out, char *err, size_t errlen);
void lite_close(store_t *st);
int lite_prepare(store_t *st, store_stmt_t *slot, const char *sql);
int lite_begin(store_t *st);
int lite_commit(store_t *st);
int lite_rollback(store_t *st);
int lite_savepoint(store_t *st);
int lite_release(store_t *st);
int lite_rollback_to(store_t *st);
/* The write of store_probe_write, inside its transaction. */
int lite_probe_write(store_t *st);

/* pg.c: the same calls on a PostgreSQL session. */
/* Exclusive: also holds an advisory lock for as long as the session lives,
 * so a second sagad on the same database fails at start (as SQLite's lock
 * file does): nodes do not fence each other yet. */
int pg_open(const char *uri, int exclusive, store_t **out, char *err, size_t errlen);
void pg_close(store_t *st);
int pg_prepare(store_t *st, store_stmt_t *slot, const char *sql);
/* The code for a store_prepare that returned NULL: LOST or ERROR. */
int pg_prepare_failure(store_t *st);
void pg_stmt_reset(pg_stmt_t *p);
void pg_stmt_clear(pg_stmt_t *p);
/* How a bound text is held: borrowed, copied now, or taken (freed by us). */
typedef enum { PG_TEXT_BORROWED, PG_TEXT_COPY, PG_TEXT_TAKEN } pg_text_t;
void pg_bind_text(pg_stmt_t *p, int i, const char *v, pg_text_t how);
void pg_bind_int64(pg_stmt_t *p, int i, int64_t v);
int pg_step(pg_stmt_t *p);
int pg_exec_stmt(pg_stmt_t *p);
const char *pg_stmt_errmsg(pg_stmt_t *p);
const char *pg_col_text(pg_stmt_t *p, int col);
int64_t pg_col_int64(pg_stmt_t *p, int col);
int pg_col_bytes(pg_stmt_t *p, int col);
int pg_col_is_null(pg_stmt_t *p, int col);
const char *pg_errmsg(store_t *st);
int64_t pg_changes(store_t *st);
int pg_begin(store_t *st);
int pg_commit(store_t *st);
int pg_rollback(store_t *st);
int pg_savepoint(store_t *st);
int pg_release(store_t *st);
int pg_rollback_to(store_t *st);
int pg_probe_write(store_t *st);
/* Runs `sql` (no parameters; several statements allowed) with the simple
 * protocol, waiting for the end. Returns 0 or a negative code, with the
 * server's message in `err` (may be NULL). */
int pg_exec_simple(store_t *st, const char *sql, char *err, size_t errlen);
int pg_session_set(store_t *st, const char *name, const char *value);
uint64_t pg_reconnects(const store_t *st);
/* The first column of the first row of `sql` (simple protocol) as an
 * integer; `*out` untouched when there is no row. Returns 0 or negative. */
int pg_query_int(store_t *st, const char *sql, int64_t *out, char *err, size_t errlen);

/* pg_schema.c: brings the database to the latest schema version, once per
 * database even when several nodes start together. Returns 0 or -1 with `err`. */
int pg_migrate(store_t *st, char *err, size_t errlen);

#endif
