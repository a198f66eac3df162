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
#define STORE_SCHEMA_VERSION 3

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

void store_close(store_t *st);

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
