/* The database that holds everything: state machines, executions, their
 * history, timers, the event outbox, and the tables of the domains that
 * register a schema (e.g. order/schema.h). SQLite by default (a path):
 * opening applies the versioned schema (PRAGMA user_version), WAL,
 * synchronous=FULL and foreign keys. A postgresql:// URI selects PostgreSQL,
 * which several daemons may share as nodes (cluster/node.h): the same schema
 * in its own DDL, versioned in a schema_version table. Statements are prepared once and cached. Nothing above store/
 * sees the engine's own types: callers use store_stmt_t and the store_bind_*,
 * store_step and store_col_* functions below (store/sqlite.h is for the
 * store's SQLite-only modules and tests). */
#ifndef SAGAD_STORE_DB_H
#define SAGAD_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct store_s store_t;

/* A prepared statement, owned by its store's cache (never freed by callers). */
typedef struct store_stmt_s store_stmt_t;

/* Results: 0 or one of these negative codes (their values are SQLite's result
 * codes negated, so logs stay comparable). Callers that must tell failures
 * apart compare with these names, never with numbers. */
#define STORE_ERR_ERROR      (-1)   /* SQL error or missing statement */
#define STORE_ERR_ABORT      (-4)   /* the transaction was rolled back under us */
#define STORE_ERR_BUSY       (-5)   /* another writer held the database too long */
#define STORE_ERR_NOMEM      (-7)
#define STORE_ERR_IOERR      (-10)
#define STORE_ERR_FULL       (-13)  /* disk full */
#define STORE_ERR_CONSTRAINT (-19)  /* UNIQUE, NOT NULL, CHECK or foreign key */
#define STORE_ERR_MISUSE     (-21)  /* bad arguments */
/* PostgreSQL only (beyond SQLite's codes). */
#define STORE_ERR_LOST         (-1001) /* the connection to the server is gone */
#define STORE_ERR_DEADLOCK     (-1002) /* chosen as a deadlock's victim (40P01) */
#define STORE_ERR_LOCK_TIMEOUT (-1003) /* lock_timeout passed (55P03) */

/* Which database a store is. */
typedef enum {
    STORE_BACKEND_SQLITE = 0,
    STORE_BACKEND_POSTGRESQL
} store_backend_t;

/* store_step's results besides a negative code. */
#define STORE_DONE 0
#define STORE_ROW  1

/* The number of the store's own migrations. The version a database is
 * migrated to is the longest list among these and the registered domains'. */
#define STORE_SCHEMA_VERSION 8

/* A domain's part of the schema. migrations[v] (NULL: nothing) runs inside
 * the store's migration v -> v+1, after the store's own SQL, in the same
 * transaction: one user_version numbers the store's and every domain's steps,
 * so a domain that needs a new step appends it at the next free version.
 * Append only, like the store's own list. pg_migrations is the same list in
 * PostgreSQL's DDL (same indices, same resulting tables; NULL where the
 * SQLite step has nothing to do there); a domain without it cannot open a
 * PostgreSQL store. */
typedef struct store_schema_s {
    const char *name;                 /* for messages, e.g. "order" */
    const char *const *migrations;    /* borrowed: keep it static */
    int count;
    const char *const *pg_migrations; /* borrowed: keep it static */
    int pg_count;
} store_schema_t;

/* Adds a domain's schema to every store opened afterwards (process-wide; a
 * database opened before misses its tables for good, so register first).
 * Adding the same schema again does nothing. Returns 0, or -1 when the table
 * of schemas is full. */
int store_schema_add(const store_schema_t *schema);

/* Opens (creating it and its directory when missing) and migrates `path`
 * (":memory:" works; a "postgresql://" or "postgres://" URI opens a
 * PostgreSQL session instead, migrating under an advisory lock; then a
 * server that cannot be reached returns STORE_ERR_LOST instead of -1). On success *out is the store: close with store_close.
 * Returns 0, or -1 with `err` saying what failed and where. */
int store_open(const char *path, store_t **out, char *err, size_t errlen);

/* As store_open, for the one process that owns the database (the daemon):
 * first takes an exclusive lock on "<path>.lock" (created next to the
 * database, holding the owner's pid) for as long as the store is open, so a
 * second daemon on the same file fails here naming the first one's pid; then,
 * after migrating, proves the database writable with a real committed write
 * (a full disk, a read-only file or a failing device is found now, not at the
 * first client's request). Returns 0, or -1 with `err` naming the path and
 * what failed. The kernel drops the lock when the process dies, however.
 * On PostgreSQL there is no lock (several daemons share a database as
 * nodes that fence each other: cluster/node.h), and an unreachable server
 * is STORE_ERR_LOST. */
int store_open_exclusive(const char *path, store_t **out, char *err, size_t errlen);

void store_close(store_t *st);

/* Which backend `st` is: SQLite-only helpers (store/wal.h, store/check.h)
 * do nothing on PostgreSQL. */
store_backend_t store_backend(const store_t *st);

/* Whether `database` (a config value) names a PostgreSQL URI. */
int store_is_pg_uri(const char *database);

/* What the recent commits did, for /healthz and the logs. */
typedef enum {
    STORE_INTEGRITY_UNKNOWN = 0,   /* not checked (yet) */
    STORE_INTEGRITY_CHECKING,
    STORE_INTEGRITY_OK,
    STORE_INTEGRITY_CORRUPT,       /* PRAGMA quick_check found problems */
    STORE_INTEGRITY_ERROR          /* the check itself could not run */
} store_integrity_t;

typedef struct store_health_s {
    /* Write transactions since open: COMMITs that succeeded, and BEGINs or
     * COMMITs that failed. */
    uint64_t commits, commit_failures;
    uint64_t failing;                    /* failures since the last good COMMIT */
    int64_t failing_since_ms;            /* wall clock of the first of those */
    int64_t last_failure_ms;
    char last_error[160];                /* SQLite's message for the last failure */
    store_integrity_t integrity;
    char integrity_detail[512];          /* quick_check's first lines, or its error */
} store_health_t;

/* Borrowed; valid until store_close. */
const store_health_t *store_health(const store_t *st);

/* PostgreSQL: sets a session setting (set_config(name, value), e.g. a
 * custom "sagad.node") now and again on every new session. A lost session
 * is replaced between transactions (with back-off, 100 ms doubling to 5 s);
 * inside one the caller gets STORE_ERR_LOST and must roll back, and after a
 * failed COMMIT it cannot know whether the commit happened: it must read
 * the database to learn it, never repeat the work blindly. SQLite: does
 * nothing. Returns 0 or a negative code. */
int store_session_set(store_t *st, const char *name, const char *value);

/* New sessions opened after a lost one (PostgreSQL; 0 on SQLite). */
uint64_t store_reconnects(const store_t *st);

/* Commits one real write (rewrites PRAGMA user_version with its value; on
 * PostgreSQL the schema_version row) to
 * learn whether the disk takes writes again; counted in store_health like
 * any COMMIT. Must not be called inside a transaction. Returns 0 or a
 * negative code. */
int store_probe_write(store_t *st);

/* Records the result of an integrity check (store/check.h). `detail` is
 * borrowed and copied (truncated); NULL for none. */
void store_set_integrity(store_t *st, store_integrity_t integrity, const char *detail);

/* The path the store was opened with (borrowed); for PostgreSQL the URI
 * without its password. */
const char *store_path(const store_t *st);

/* The cached prepared statement for `sql`, reset and with bindings cleared
 * (so texts bound by store_bind_text_taken on its previous use are freed now
 * at the latest). `sql` must be a string literal (the cache is keyed by its
 * address). Parameters are numbered ?N (or plain ?, numbered in order of
 * appearance), from 1. The statement is borrowed: it belongs to the store.
 * NULL on a SQL error (logged with the message). */
store_stmt_t *store_prepare(store_t *st, const char *sql);

/* Binding parameter i (from 1). A NULL text binds SQL NULL. Bindings hold
 * until the statement's next store_prepare or store_clear_bindings.
 * store_bind_text: `v` is borrowed and must stay valid and unchanged until
 * the statement is reset (store_reset, store_exec_stmt);
 * store_bind_text_copy: `v` is copied now;
 * store_bind_text_taken: `v` (malloc'd) is taken and freed with free() when
 * the binding is cleared, even when binding fails. */
void store_bind_text(store_stmt_t *s, int i, const char *v);
void store_bind_text_copy(store_stmt_t *s, int i, const char *v);
void store_bind_text_taken(store_stmt_t *s, int i, char *v);
void store_bind_int64(store_stmt_t *s, int i, int64_t v);
void store_bind_int(store_stmt_t *s, int i, int v);
void store_bind_null(store_stmt_t *s, int i);

/* Drops every binding now (freeing taken texts). */
void store_clear_bindings(store_stmt_t *s);

/* Runs the statement to its next row: STORE_ROW (the store_col_* getters
 * read it), STORE_DONE, or a negative code (the statement must be reset). */
int store_step(store_stmt_t *s);

/* Ends a run of store_step so the statement can run again; the rows' texts
 * become invalid. */
void store_reset(store_stmt_t *s);

/* Column `col` (from 0) of the current row. Texts are borrowed: valid until
 * the next store_step or store_reset; NULL for SQL NULL. store_col_bytes is
 * the length of store_col_text's value (call it after store_col_text). A NULL
 * reads as 0 from the integer getters. */
const char *store_col_text(store_stmt_t *s, int col);
int64_t store_col_int64(store_stmt_t *s, int col);
int store_col_int(store_stmt_t *s, int col);
int store_col_bytes(store_stmt_t *s, int col);
int store_col_is_null(store_stmt_t *s, int col);

/* The message of the last failure on this connection (borrowed: valid until
 * the next statement runs). */
const char *store_errmsg(store_t *st);
const char *store_stmt_errmsg(store_stmt_t *s);

/* Rows changed by the last INSERT, UPDATE or DELETE that ran. On
 * PostgreSQL every text binding is sent as text and the server infers the
 * parameter's type from the SQL (write CAST(?1 AS text) where it cannot);
 * integer columns come back as text and store_col_int64 parses them. */
int64_t store_changes(store_t *st);

/* Transactions. One write transaction is open at a time; a step inside it is
 * a savepoint so that one failing step rolls back alone. Each returns 0 or a
 * negative code (logged). On PostgreSQL, inside a store_savepoint (and
 * outside savepoints opened by SQL within it), store_exec_stmt only sends
 * the statement: its failure is returned by the next call that waits for
 * the server (a statement whose result is read, a savepoint statement,
 * store_release, store_commit; store_changes counts 0 then and leaves the
 * failure to the next of those), so the caller must check store_release. */
int store_begin(store_t *st);
int store_commit(store_t *st);
int store_rollback(store_t *st);
int store_in_txn(store_t *st);
int store_savepoint(store_t *st);
int store_release(store_t *st);
int store_rollback_to(store_t *st);

/* Runs a statement that returns no rows (after binding). Returns 0 or a
 * negative code (logged); the statement is reset either way. */
int store_exec_stmt(store_stmt_t *stmt);

/* 1 when `sql` (a string literal with one parameter, ?1 = `key`) returns a
 * row, 0 when none, -1 on error (store_errmsg says why). */
int store_exists(store_t *st, const char *sql, const char *key);

/* Runs `sql` (a string literal, no bindings, no rows) as a cached prepared
 * statement. Returns 0 or a negative code (logged). */
int store_exec_cached(store_t *st, const char *sql);

/* Milliseconds since the epoch, wall clock. */
int64_t store_now_ms(void);

#endif
