/* SQLite store: schema migrations, pragmas, the prepared-statement cache and
 * transaction helpers. The orchestrator's own tables are declared here; a
 * domain's tables join the same numbered migrations (store_schema_add). */
#include "store/db.h"
#include "store/sqlite.h"
#include "core/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Migration N brings the schema from user_version N to N+1. Append only:
 * a released migration is never edited. NULL: only domains have a step there. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    /* Every version is kept: a running execution finishes on the definition
     * it started with. */
    "CREATE TABLE state_machines ("
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (name, version));"
    /* One row per execution, written at start and at the end; the progress in
     * between lives in history batches so a step writes one row, not two. */
    "CREATE TABLE executions ("
    "  seq INTEGER PRIMARY KEY,"   /* insertion order: newest first listings */
    "  id TEXT NOT NULL UNIQUE,"
    "  machine TEXT NOT NULL,"
    "  machine_version INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  input TEXT NOT NULL,"
    "  output TEXT,"
    "  error TEXT,"
    "  cause TEXT,"
    "  start_ms INTEGER NOT NULL,"
    "  stop_ms INTEGER,"
    "  final_state TEXT,"
    "  UNIQUE (machine, name));"
    "CREATE INDEX executions_running ON executions (status) WHERE status = 'RUNNING';"
    /* History in batches: one row per committed step of one frame (the
     * execution itself, frame '', or a Parallel branch / Map iteration) with
     * that step's events (ids first_id..last_id) and the frame's state to
     * resume from after a crash (NULL once the execution has ended). */
    "CREATE TABLE history ("
    "  execution_id TEXT NOT NULL,"
    "  first_id INTEGER NOT NULL,"
    "  last_id INTEGER NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  frame TEXT NOT NULL,"
    "  events TEXT NOT NULL,"
    "  state TEXT,"
    "  PRIMARY KEY (execution_id, first_id));"   /* rows of kilobytes: a rowid table */
    /* Timers (Wait states, Retry back-offs) by due time; the frame state
     * holds the same time, this table lets operators and recovery see them. */
    "CREATE TABLE timers ("
    "  execution_id TEXT NOT NULL,"
    "  frame TEXT NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (execution_id, frame)) WITHOUT ROWID;"
    "CREATE INDEX timers_due ON timers (due_ms);"
    "CREATE TABLE outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  event_id TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);",
    /* 1 -> 2 */
    /* The outbox without AUTOINCREMENT: its sqlite_sequence row cost one more
     * B-tree write per event (4% of the instructions of an order saga). The
     * relay never needs a seq above every seq ever used: it deletes what it
     * published as a prefix and then reads seq > 0 again. */
    "CREATE TABLE outbox_v2 ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "INSERT INTO outbox_v2 (seq, event_id, payload, created_ms)"
    "  SELECT seq, event_id, payload, created_ms FROM outbox ORDER BY seq;"
    "DROP TABLE outbox;"
    "ALTER TABLE outbox_v2 RENAME TO outbox;",
    /* 2 -> 3: the order domain's step only (order/schema.c). */
    NULL,
    /* 3 -> 4: activities that workers poll (engine/tasks.h). Their tasks
     * live in the waiting frames' saved state, not here. */
    "CREATE TABLE activities ("
    "  name TEXT PRIMARY KEY,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;",
};

#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])
#define STMT_CACHE 256

/* A cache slot is the statement callers hold: no allocation per use. */
struct store_stmt_s {
    const char *sql;
    sqlite3_stmt *stmt;
};

struct store_s {
    sqlite3 *db;
    int in_txn;
    int lock_fd;            /* "<path>.lock", held while open; -1 for none */
    char *path;
    store_health_t health;
    store_stmt_t cache[STMT_CACHE];
};

/* The store's codes are SQLite's, negated. */
_Static_assert(STORE_ERR_ERROR == -SQLITE_ERROR && STORE_ERR_ABORT == -SQLITE_ABORT &&
                   STORE_ERR_BUSY == -SQLITE_BUSY && STORE_ERR_NOMEM == -SQLITE_NOMEM &&
                   STORE_ERR_IOERR == -SQLITE_IOERR && STORE_ERR_FULL == -SQLITE_FULL &&
                   STORE_ERR_CONSTRAINT == -SQLITE_CONSTRAINT && STORE_ERR_MISUSE == -SQLITE_MISUSE,
               "store error codes are SQLite's result codes negated");

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec_sql(store_t *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (err)
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
        else
            log_error("sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -rc;
    }
    return 0;
}

/* Creates the parent directory of a database path (one level, like `make run`'s var/). */
static void make_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return;
    char dir[4096];
    size_t n = (size_t)(slash - path);
    if (n >= sizeof dir)
        return;
    memcpy(dir, path, n);
    dir[n] = '\0';
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        log_warn("cannot create directory %s: %s", dir, strerror(errno));
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

/* The schema version this build writes: the longest list of migrations. */
static int schema_version(void)
{
    int n = N_MIGRATIONS;
    for (int i = 0; i < n_schemas; i++)
        if (schemas[i]->count > n)
            n = schemas[i]->count;
    return n;
}

/* Step v -> v+1: the store's own SQL first, then each domain's, so that a
 * fresh database gets its tables in the order the single list had. */
static int migrate_step(store_t *st, int v, char *e, size_t elen)
{
    if (v < N_MIGRATIONS && migrations[v] && exec_sql(st, migrations[v], e, elen) < 0)
        return -1;
    for (int i = 0; i < n_schemas; i++)
        if (v < schemas[i]->count && schemas[i]->migrations[v] &&
            exec_sql(st, schemas[i]->migrations[v], e, elen) < 0)
            return -1;
    return 0;
}

static int migrate(store_t *st, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            version = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    int latest = schema_version();
    if (version > latest) {
        snprintf(err, errlen, "%s: schema version %d is newer than this sagad (%d); upgrade sagad",
                 path, version, latest);
        return -1;
    }
    for (int v = version; v < latest; v++) {
        char e[512], pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec_sql(st, "BEGIN IMMEDIATE", e, sizeof e) < 0 ||
            migrate_step(st, v, e, sizeof e) < 0 ||
            exec_sql(st, pragma, e, sizeof e) < 0 ||
            exec_sql(st, "COMMIT", e, sizeof e) < 0) {
            if (!sqlite3_get_autocommit(st->db))
                exec_sql(st, "ROLLBACK", NULL, 0);
            snprintf(err, errlen, "%s: migration to schema version %d failed: %s", path, v + 1, e);
            return -1;
        }
        log_info("database %s: schema migrated to version %d", path, v + 1);
    }
    return 0;
}

/* Opens and migrates; `lock_fd` (taken, -1 for none) is closed with the store. */
static int open_store(const char *path, int lock_fd, store_t **out, char *err, size_t errlen)
{
    store_t *st = calloc(1, sizeof *st);
    char *copy = strdup(path);
    if (!st || !copy) {
        free(st);
        free(copy);
        if (lock_fd >= 0)
            close(lock_fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->lock_fd = lock_fd;
    st->path = copy;
    static int configured;
    if (!configured) {
        /* One connection, one thread: SQLite's allocation statistics would
         * only add a mutex round trip per allocation. Must precede the
         * library's initialization; harmless if it already happened. */
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        configured = 1;
    }
    if (strcmp(path, ":memory:") != 0)
        make_parent_dir(path);
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        store_close(st);
        return -1;
    }
    char e[512];
    /* temp_store=MEMORY keeps the savepoints' statement journals off the disk. */
    if (exec_sql(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; "
                     "PRAGMA temp_store=MEMORY;",
                 e, sizeof e) < 0) {
        snprintf(err, errlen, "%s: %s", path, e);
        store_close(st);
        return -1;
    }
    if (migrate(st, path, err, errlen) < 0) {
        store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int store_open(const char *path, store_t **out, char *err, size_t errlen)
{
    return open_store(path, -1, out, err, errlen);
}

/* An open file description lock (F_OFD_SETLK) on "<path>.lock": it belongs
 * to this descriptor, not to the process, so SQLite closing its own
 * descriptors never drops it, and a second open in the same process
 * conflicts too. The file stays after exit: removing it would race with a
 * starting daemon that has it open; the kernel lock is what counts. */
static int take_lock(const char *path, int *out_fd, char *err, size_t errlen)
{
    char lock[4096];
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    make_parent_dir(path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the lock file %s: %s", path, lock, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
        int e = errno;
        char buf[32] = {0};
        ssize_t n = (e == EAGAIN || e == EACCES) ? pread(fd, buf, sizeof buf - 1, 0) : -1;
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid > 0)
            snprintf(err, errlen, "database %s is in use by another sagad (pid %ld, lock file %s)",
                     path, pid, lock);
        else if (e == EAGAIN || e == EACCES)
            snprintf(err, errlen, "database %s is in use by another process (lock file %s)", path,
                     lock);
        else
            snprintf(err, errlen, "%s: cannot lock %s: %s", path, lock, strerror(e));
        close(fd);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        log_warn("cannot write the pid into %s: %s", lock, strerror(errno));
    *out_fd = fd;
    return 0;
}

int store_open_exclusive(const char *path, store_t **out, char *err, size_t errlen)
{
    int fd = -1;
    if (strcmp(path, ":memory:") != 0 && take_lock(path, &fd, err, errlen) < 0)
        return -1;
    store_t *st;
    if (open_store(path, fd, &st, err, errlen) < 0)
        return -1;
    if (store_probe_write(st) < 0) {
        snprintf(err, errlen, "%s: cannot write to the database: %s", path, st->health.last_error);
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
    for (int i = 0; i < STMT_CACHE; i++)
        if (st->cache[i].stmt)
            sqlite3_finalize(st->cache[i].stmt);
    sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st->path);
    free(st);
}

const char *store_path(const store_t *st)
{
    return st->path;
}

const store_health_t *store_health(const store_t *st)
{
    return &st->health;
}

void store_set_integrity(store_t *st, store_integrity_t integrity, const char *detail)
{
    st->health.integrity = integrity;
    snprintf(st->health.integrity_detail, sizeof st->health.integrity_detail, "%s",
             detail ? detail : "");
}

/* A COMMIT's result into the health counters (rc 0 or negative). */
static void note_commit(store_t *st, int rc)
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
    snprintf(h->last_error, sizeof h->last_error, "%s", sqlite3_errmsg(st->db));
}

sqlite3 *store_db(store_t *st)
{
    return st->db;
}

store_stmt_t *store_prepare(store_t *st, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 32) % STMT_CACHE;
    for (size_t n = 0; n < STMT_CACHE; n++, i = (i + 1) % STMT_CACHE) {
        store_stmt_t *slot = &st->cache[i];
        if (slot->sql == sql) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot;
        }
        if (!slot->sql) {
            if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt,
                                   NULL) != SQLITE_OK) {
                log_error("sqlite: cannot prepare statement: %s", sqlite3_errmsg(st->db));
                slot->stmt = NULL;
                return NULL;
            }
            slot->sql = sql;
            return slot;
        }
    }
    log_error("sqlite: prepared statement cache is full (%d)", STMT_CACHE);
    return NULL;
}

/* The statement wrappers stay out of line and thin: one call into SQLite
 * each, nothing allocated (a PostgreSQL store implements the same calls). */

void store_bind_text(store_stmt_t *s, int i, const char *v)
{
    sqlite3_bind_text(s->stmt, i, v, -1, SQLITE_STATIC);
}

void store_bind_text_copy(store_stmt_t *s, int i, const char *v)
{
    sqlite3_bind_text(s->stmt, i, v, -1, SQLITE_TRANSIENT);
}

void store_bind_text_taken(store_stmt_t *s, int i, char *v)
{
    sqlite3_bind_text(s->stmt, i, v, -1, free);
}

void store_bind_int64(store_stmt_t *s, int i, int64_t v)
{
    sqlite3_bind_int64(s->stmt, i, v);
}

void store_bind_int(store_stmt_t *s, int i, int v)
{
    sqlite3_bind_int(s->stmt, i, v);
}

void store_bind_null(store_stmt_t *s, int i)
{
    sqlite3_bind_null(s->stmt, i);
}

void store_clear_bindings(store_stmt_t *s)
{
    sqlite3_clear_bindings(s->stmt);
}

int store_step(store_stmt_t *s)
{
    int rc = sqlite3_step(s->stmt);
    return rc == SQLITE_ROW ? STORE_ROW : rc == SQLITE_DONE ? STORE_DONE : -rc;
}

void store_reset(store_stmt_t *s)
{
    sqlite3_reset(s->stmt);
}

const char *store_col_text(store_stmt_t *s, int col)
{
    return (const char *)sqlite3_column_text(s->stmt, col);
}

int64_t store_col_int64(store_stmt_t *s, int col)
{
    return sqlite3_column_int64(s->stmt, col);
}

int store_col_int(store_stmt_t *s, int col)
{
    return sqlite3_column_int(s->stmt, col);
}

int store_col_bytes(store_stmt_t *s, int col)
{
    return sqlite3_column_bytes(s->stmt, col);
}

int store_col_is_null(store_stmt_t *s, int col)
{
    return sqlite3_column_type(s->stmt, col) == SQLITE_NULL;
}

const char *store_errmsg(store_t *st)
{
    return sqlite3_errmsg(st->db);
}

const char *store_stmt_errmsg(store_stmt_t *s)
{
    return sqlite3_errmsg(sqlite3_db_handle(s->stmt));
}

int64_t store_changes(store_t *st)
{
    return sqlite3_changes64(st->db);
}

int store_exec_stmt(store_stmt_t *s)
{
    int rc = sqlite3_step(s->stmt);
    sqlite3_reset(s->stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    log_error("sqlite: %s", sqlite3_errmsg(sqlite3_db_handle(s->stmt)));
    return -rc;
}

int store_exec_cached(store_t *st, const char *sql)
{
    store_stmt_t *s = store_prepare(st, sql);
    if (!s)
        return -SQLITE_ERROR;
    return store_exec_stmt(s);
}

/* Transaction control runs as cached statements: they run several times per
 * step, and parsing them each time shows in profiles. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT step";
static const char SQL_RELEASE[] = "RELEASE step";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO step";

int store_begin(store_t *st)
{
    int rc = store_exec_cached(st, SQL_BEGIN);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    /* No write transaction (a foreign writer past busy_timeout, an I/O
     * error) means nothing commits either. */
    if (rc < 0)
        note_commit(st, rc);
    return rc;
}

/* After a full disk or an I/O error SQLite may roll the whole transaction
 * back by itself. Then a COMMIT, ROLLBACK or ROLLBACK TO would only fail
 * with "no transaction is active" noise, and a SAVEPOINT would silently open
 * a new transaction whose RELEASE commits a lone step outside its batch. */
static int txn_lost(store_t *st)
{
    return st->in_txn && sqlite3_get_autocommit(st->db);
}

int store_commit(store_t *st)
{
    int rc = txn_lost(st) ? -SQLITE_ABORT : store_exec_cached(st, SQL_COMMIT);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    note_commit(st, rc);
    return rc;
}

int store_rollback(store_t *st)
{
    int rc = sqlite3_get_autocommit(st->db) ? 0 : store_exec_cached(st, SQL_ROLLBACK);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    return rc;
}

int store_in_txn(store_t *st)
{
    return st->in_txn;
}

int store_savepoint(store_t *st)
{
    if (txn_lost(st))
        return -SQLITE_ABORT;
    return store_exec_cached(st, SQL_SAVEPOINT);
}

int store_release(store_t *st)
{
    if (txn_lost(st))
        return -SQLITE_ABORT;
    return store_exec_cached(st, SQL_RELEASE);
}

int store_rollback_to(store_t *st)
{
    if (txn_lost(st))
        return -SQLITE_ABORT;
    /* ROLLBACK TO keeps the savepoint open; release it so the next step starts clean. */
    int rc = store_exec_cached(st, SQL_ROLLBACK_TO);
    if (rc == 0)
        rc = store_exec_cached(st, SQL_RELEASE);
    return rc;
}

static const char SQL_USER_VERSION[] = "PRAGMA user_version";

int store_probe_write(store_t *st)
{
    assert(!st->in_txn);
    int rc = store_begin(st);
    if (rc < 0)
        return rc;
    /* Rewriting the value dirties the header page: a real write and fsync.
     * A pragma's value cannot be bound; it is our own integer. */
    store_stmt_t *s = store_prepare(st, SQL_USER_VERSION);
    int version = s && store_step(s) == STORE_ROW ? store_col_int(s, 0) : -1;
    if (s)
        store_reset(s);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    rc = version < 0 ? -SQLITE_ERROR : exec_sql(st, sql, NULL, 0);
    if (rc < 0) {
        note_commit(st, rc);
        store_rollback(st);
        return rc;
    }
    rc = store_commit(st);
    if (rc < 0)
        store_rollback(st);
    return rc;
}
