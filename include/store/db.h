/* The SQLite database that holds everything: state machines, executions,
 * their history, timers, the event outbox, and the tables of the domains that
 * register a schema (e.g. order/schema.h). Opening applies the versioned schema
 * (PRAGMA user_version), WAL, synchronous=FULL and foreign keys. Statements are
 * prepared once and cached. */
#ifndef SAGAD_STORE_DB_H
#define SAGAD_STORE_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_s store_t;

/* The number of the store's own migrations. The version a database is
 * migrated to is the longest list among these and the registered domains'. */
#define STORE_SCHEMA_VERSION 4

/* A domain's part of the schema. migrations[v] (NULL: nothing) runs inside
 * the store's migration v -> v+1, after the store's own SQL, in the same
 * transaction: one user_version numbers the store's and every domain's steps,
 * so a domain that needs a new step appends it at the next free version.
 * Append only, like the store's own list. */
typedef struct store_schema_s {
    const char *name;                 /* for messages, e.g. "order" */
    const char *const *migrations;    /* borrowed: keep it static */
    int count;
} store_schema_t;

/* Adds a domain's schema to every store opened afterwards (process-wide; a
 * database opened before misses its tables for good, so register first).
 * Adding the same schema again does nothing. Returns 0, or -1 when the table
 * of schemas is full. */
int store_schema_add(const store_schema_t *schema);

/* Opens (creating it and its directory when missing) and migrates `path`
 * (":memory:" works). On success *out is the store: close with store_close.
 * Returns 0, or -1 with `err` saying what failed and where. */
int store_open(const char *path, store_t **out, char *err, size_t errlen);

/* As store_open, for the one process that owns the database (the daemon):
 * first takes an exclusive lock on "<path>.lock" (created next to the
 * database, holding the owner's pid) for as long as the store is open, so a
 * second daemon on the same file fails here naming the first one's pid; then,
 * after migrating, proves the database writable with a real committed write
 * (a full disk, a read-only file or a failing device is found now, not at the
 * first client's request). Returns 0, or -1 with `err` naming the path and
 * what failed. The kernel drops the lock when the process dies, however. */
int store_open_exclusive(const char *path, store_t **out, char *err, size_t errlen);

void store_close(store_t *st);

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

/* Commits one real write (rewrites PRAGMA user_version with its value) to
 * learn whether the disk takes writes again; counted in store_health like
 * any COMMIT. Must not be called inside a transaction. Returns 0 or a
 * negative SQLite result code. */
int store_probe_write(store_t *st);

/* Records the result of an integrity check (store/check.h). `detail` is
 * borrowed and copied (truncated); NULL for none. */
void store_set_integrity(store_t *st, store_integrity_t integrity, const char *detail);

/* The path the store was opened with (borrowed). */
const char *store_path(const store_t *st);

/* The raw handle, for modules that step statements from store_prepare. */
sqlite3 *store_db(store_t *st);

/* The cached prepared statement for `sql`, reset and with bindings cleared.
 * `sql` must be a string literal (the cache is keyed by its address). The
 * statement belongs to the store; never finalize it. NULL on a SQL error
 * (logged with the message). */
sqlite3_stmt *store_prepare(store_t *st, const char *sql);

/* Transactions. One write transaction is open at a time; a step inside it is
 * a savepoint so that one failing step rolls back alone. Each returns 0 or a
 * negative SQLite result code (logged). */
int store_begin(store_t *st);
int store_commit(store_t *st);
int store_rollback(store_t *st);
int store_in_txn(store_t *st);
int store_savepoint(store_t *st);
int store_release(store_t *st);
int store_rollback_to(store_t *st);

/* Runs a statement that returns no rows (after binding). Returns 0 or a
 * negative SQLite result code; the statement is reset either way. */
int store_exec_stmt(sqlite3_stmt *stmt);

/* Runs `sql` (a string literal, no bindings, no rows) as a cached prepared
 * statement. Returns 0 or a negative SQLite result code (logged). */
int store_exec_cached(store_t *st, const char *sql);

/* Milliseconds since the epoch, wall clock. */
int64_t store_now_ms(void);

#endif
