/* The SQLite backend of the store: schema migrations, pragmas, the lock
 * file, statements and transaction control. The orchestrator's own tables
 * are declared here; a domain's tables join the same numbered migrations
 * (store_schema_add). db.c dispatches to it. */
#include "internal.h"
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
    /* 4 -> 5: the definition lifecycle (engine/machines.h). Where each
     * version came from ('api' or 'file:PATH'; NULL before this step), when
     * its name was deleted (the rows stay: running executions finish on
     * them, and a re-created name numbers on), and aliases naming a version. */
    "ALTER TABLE state_machines ADD COLUMN source TEXT;"
    "ALTER TABLE state_machines ADD COLUMN deleted_ms INTEGER;"
    "CREATE TABLE state_machine_aliases ("
    "  name TEXT NOT NULL,"
    "  alias TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (name, alias)) WITHOUT ROWID;",
    /* 5 -> 6: redrives (engine/runtime.h runtime_redrive): how often an
     * execution that ended was run again from the state that failed, and
     * when last (its TimeoutSeconds count from then). */
    "ALTER TABLE executions ADD COLUMN redrive_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE executions ADD COLUMN redrive_ms INTEGER;",
    /* 6 -> 7: PostgreSQL's nodes and owners (cluster/node.h); one node here. */
    NULL,
    /* 7 -> 8: what a start named besides the machine (engine/runtime.h
     * runtime_start_named): the alias of NAME:ALIAS, and the version of
     * NAME:N or NAME:ALIAS. NULL for plain NAME and for rows from before.
     * The order domain adds its refunds in the same step (order/schema.c). */
    "ALTER TABLE executions ADD COLUMN start_alias TEXT;"
    "ALTER TABLE executions ADD COLUMN start_version INTEGER;",
};

#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "STORE_SCHEMA_VERSION counts the migrations");

/* The store's codes are SQLite's, negated. */
_Static_assert(STORE_ERR_ERROR == -SQLITE_ERROR && STORE_ERR_ABORT == -SQLITE_ABORT &&
                   STORE_ERR_BUSY == -SQLITE_BUSY && STORE_ERR_NOMEM == -SQLITE_NOMEM &&
                   STORE_ERR_IOERR == -SQLITE_IOERR && STORE_ERR_FULL == -SQLITE_FULL &&
                   STORE_ERR_CONSTRAINT == -SQLITE_CONSTRAINT && STORE_ERR_MISUSE == -SQLITE_MISUSE,
               "store error codes are SQLite's result codes negated");

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

/* Step v -> v+1: the store's own SQL first, then each domain's, so that a
 * fresh database gets its tables in the order the single list had. */
static int migrate_step(store_t *st, int v, char *e, size_t elen)
{
    if (v < N_MIGRATIONS && migrations[v] && exec_sql(st, migrations[v], e, elen) < 0)
        return -1;
    int n_schemas;
    const store_schema_t *const *schemas = store_schemas(&n_schemas);
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
    int latest = store_schema_latest();
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
    store_t *st = store_alloc(STORE_BACKEND_SQLITE, path);
    if (!st) {
        if (lock_fd >= 0)
            close(lock_fd);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->lock_fd = lock_fd;
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

/* Exclusive: the daemon's open (store_open_exclusive); the write probe is db.c's. */
int lite_open(const char *path, int exclusive, store_t **out, char *err, size_t errlen)
{
    int fd = -1;
    if (exclusive && strcmp(path, ":memory:") != 0 && take_lock(path, &fd, err, errlen) < 0)
        return -1;
    return open_store(path, fd, out, err, errlen);
}

void lite_close(store_t *st)
{
    for (int i = 0; i < STORE_STMT_CACHE; i++)
        if (st->cache[i].lite)
            sqlite3_finalize(st->cache[i].lite);
    sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
}

sqlite3 *store_db(store_t *st)
{
    return st->db;   /* NULL on a PostgreSQL store */
}

/* A cache miss: prepared once for the store's lifetime. */
int lite_prepare(store_t *st, store_stmt_t *slot, const char *sql)
{
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->lite, NULL) !=
        SQLITE_OK) {
        log_error("sqlite: cannot prepare statement: %s", sqlite3_errmsg(st->db));
        slot->lite = NULL;
        return -1;
    }
    return 0;
}

/* Transaction control runs as cached statements: they run several times per
 * step, and parsing them each time shows in profiles. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT step";
static const char SQL_RELEASE[] = "RELEASE step";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO step";

int lite_begin(store_t *st)
{
    int rc = store_exec_cached(st, SQL_BEGIN);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    /* No write transaction (a foreign writer past busy_timeout, an I/O
     * error) means nothing commits either. */
    if (rc < 0)
        store_note_commit(st, rc, sqlite3_errmsg(st->db));
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

int lite_commit(store_t *st)
{
    int rc = txn_lost(st) ? -SQLITE_ABORT : store_exec_cached(st, SQL_COMMIT);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    store_note_commit(st, rc, sqlite3_errmsg(st->db));
    return rc;
}

int lite_rollback(store_t *st)
{
    int rc = sqlite3_get_autocommit(st->db) ? 0 : store_exec_cached(st, SQL_ROLLBACK);
    st->in_txn = !sqlite3_get_autocommit(st->db);
    return rc;
}

int lite_savepoint(store_t *st)
{
    if (txn_lost(st))
        return -SQLITE_ABORT;
    return store_exec_cached(st, SQL_SAVEPOINT);
}

int lite_release(store_t *st)
{
    if (txn_lost(st))
        return -SQLITE_ABORT;
    return store_exec_cached(st, SQL_RELEASE);
}

int lite_rollback_to(store_t *st)
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

/* Inside store_probe_write's transaction. */
int lite_probe_write(store_t *st)
{
    /* Rewriting the value dirties the header page: a real write and fsync.
     * A pragma's value cannot be bound; it is our own integer. */
    store_stmt_t *s = store_prepare(st, SQL_USER_VERSION);
    int version = s && store_step(s) == STORE_ROW ? store_col_int(s, 0) : -1;
    if (s)
        store_reset(s);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    return version < 0 ? -SQLITE_ERROR : exec_sql(st, sql, NULL, 0);
}
