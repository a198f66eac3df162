/* The PostgreSQL backend of the store: one libpq session per store (a lost
 * one is replaced between transactions), statements prepared once per
 * session, values sent and received as text, transactions and savepoints as
 * on SQLite.
 *
 * How statements travel (waits, results, pipeline mode) is pg_wire.c's.
 * Inside a savepoint opened with pg_savepoint (the runtime's one per
 * execution of a batch), writes run by pg_exec_stmt are queued in libpq's
 * pipeline mode instead of waiting for each answer; their results are
 * collected at the next sync point (any statement whose result is read,
 * store_changes, a savepoint boundary, COMMIT), so a failure is reported
 * in the savepoint it happened in, at pg_release at the latest. */
#include "pg_wire.h"
#include "store/pg_sql.h"
#include "core/log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A connection attempt that gets no answer fails after this long. */
#define PG_CONNECT_TIMEOUT_MS 10000

/* Reconnecting waits this long after a failed attempt, doubling to the max. */
#define PG_RETRY_FIRST_MS 100
#define PG_RETRY_MAX_MS 5000

int pg_exec_simple(store_t *st, const char *sql, char *err, size_t errlen)
{
    pg_conn_t *c = st->pg;
    PGresult *r;
    int rc = SEND(c, PQsendQuery(c->conn, sql), &r);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "%s", c->errmsg);
        return rc;
    }
    PQclear(r);
    return 0;
}

int pg_query_int(store_t *st, const char *sql, int64_t *out, char *err, size_t errlen)
{
    pg_conn_t *c = st->pg;
    PGresult *r;
    int rc = SEND(c, PQsendQuery(c->conn, sql), &r);
    if (rc < 0) {
        snprintf(err, errlen, "%s", c->errmsg);
        return rc;
    }
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}

/* Server notices ("relation already exists, skipping") go to the debug log,
 * not to stderr as libpq's default does. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgresql: %s", message);
}

/* The URI as logs and errors may show it: without a password, neither in
 * the user info ("user:secret@") nor as a "password=" parameter. */
static void redact(const char *uri, char *out, size_t outlen)
{
    const char *scheme_end = strstr(uri, "://");
    const char *host = scheme_end ? scheme_end + 3 : uri;
    const char *at = strchr(host, '@');
    const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
    if (colon)
        snprintf(out, outlen, "%.*s%s", (int)(colon - uri), uri, at);
    else
        snprintf(out, outlen, "%s", uri);
    char *pw = strstr(out, "password=");
    if (pw) {
        char *end = strchr(pw, '&');
        memmove(pw, end ? end + 1 : "", end ? strlen(end + 1) + 1 : 1);
        size_t n = strlen(out);
        if (n && (out[n - 1] == '&' || out[n - 1] == '?'))
            out[n - 1] = '\0';
    }
}

/* Connects without libpq's blocking PQconnectdb: the same waits as a query. */
static int connect_session(pg_conn_t *c, const char *uri)
{
    c->conn = PQconnectStart(uri);
    if (!c->conn) {
        snprintf(c->errmsg, sizeof c->errmsg, "out of memory");
        return -1;
    }
    PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
    while (PQstatus(c->conn) != CONNECTION_BAD && ps != PGRES_POLLING_OK &&
           ps != PGRES_POLLING_FAILED) {
        int w = pg_wait_socket(c->conn, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                               PG_CONNECT_TIMEOUT_MS);
        if (w < 0) {
            snprintf(c->errmsg, sizeof c->errmsg, w == WAIT_TIMEOUT ? "no answer within %d s"
                                                                    : "cancelled after %d s at most",
                     PG_CONNECT_TIMEOUT_MS / 1000);
            return -1;
        }
        ps = PQconnectPoll(c->conn);
    }
    if (PQstatus(c->conn) != CONNECTION_OK) {
        pg_set_error(c, PQerrorMessage(c->conn));
        return -1;
    }
    PQsetNoticeProcessor(c->conn, on_notice, NULL);
    if (PQsetnonblocking(c->conn, 1) != 0) {
        pg_set_error(c, PQerrorMessage(c->conn));
        return -1;
    }
    return 0;
}

int pg_open(const char *uri, int exclusive, store_t **out, char *err, size_t errlen)
{
    char shown[1024];
    redact(uri, shown, sizeof shown);
    store_t *st = store_alloc(STORE_BACKEND_POSTGRESQL, shown);
    pg_conn_t *c = calloc(1, sizeof *c);
    if (!st || !c) {
        free(c);
        if (st)
            store_free(st);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->pg = c;
    c->st = st;
    if (!(c->uri = strdup(uri))) {
        snprintf(err, errlen, "out of memory");
        store_close(st);
        return -1;
    }
    if (connect_session(c, uri) < 0) {
        snprintf(err, errlen, "%s: cannot connect to PostgreSQL: %s", shown, c->errmsg);
        store_close(st);
        return STORE_ERR_LOST;
    }
    char e[512];
    /* Every *_ms and count is a bigint; the server's clock zone never matters. */
    if (pg_exec_simple(st, "SET TIME ZONE 'UTC'", e, sizeof e) < 0 ||
        pg_migrate(st, e, sizeof e) < 0) {
        snprintf(err, errlen, "%s: %s", shown, e);
        store_close(st);
        return -1;
    }
    /* Several daemons share one database: each is a node that fences the
     * others (cluster/node.h), so an exclusive open takes no lock here. */
    (void)exclusive;
    *out = st;
    return 0;
}

static void stmt_free(pg_stmt_t *p)
{
    pg_stmt_reset(p);
    pg_stmt_clear(p);
    free(p->text);
    free(p);
}

void pg_close(store_t *st)
{
    for (int i = 0; i < STORE_STMT_CACHE; i++)
        if (st->cache[i].pg)
            stmt_free(st->cache[i].pg);
    pg_conn_t *c = st->pg;
    if (c) {
        PQfinish(c->conn);
        free(c->uri);
        for (int i = 0; i < PG_SETTINGS_MAX; i++) {
            free(c->set_name[i]);
            free(c->set_value[i]);
        }
    }
    free(c);
}

static const char SQL_SET_CONFIG[] = "SELECT set_config($1, $2, false)";

/* Applies one session setting on the current session. */
static int apply_setting(pg_conn_t *c, int i)
{
    const char *v[2] = {c->set_name[i], c->set_value[i]};
    PGresult *r;
    int rc = SEND(c, PQsendQueryParams(c->conn, SQL_SET_CONFIG, 2, NULL, v, NULL, NULL, 0), &r);
    if (rc == 0)
        PQclear(r);
    return rc;
}

int pg_session_set(store_t *st, const char *name, const char *value)
{
    pg_conn_t *c = st->pg;
    int i = 0;
    while (i < PG_SETTINGS_MAX && c->set_name[i] && strcmp(c->set_name[i], name) != 0)
        i++;
    if (i == PG_SETTINGS_MAX)
        return STORE_ERR_MISUSE;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return STORE_ERR_NOMEM;
    }
    free(c->set_name[i]);
    free(c->set_value[i]);
    c->set_name[i] = n;
    c->set_value[i] = v;
    return apply_setting(c, i);
}

/* A lost session is replaced by a new one, but only between transactions
 * (inside one, the caller must learn that its transaction is gone), and
 * not more often than the back-off allows. Statements are prepared again
 * as they are next used. */
static int ensure_session(pg_conn_t *c)
{
    if (!c->broken && PQstatus(c->conn) == CONNECTION_OK)
        return 0;
    if (c->st->in_txn || c->in_flight)
        return STORE_ERR_LOST;
    int64_t now = store_now_ms();
    if (now < c->retry_at_ms) {
        pg_set_error(c, "the connection to PostgreSQL is lost; reconnecting shortly");
        return STORE_ERR_LOST;
    }
    PQfinish(c->conn);
    c->conn = NULL;
    c->broken = 0;
    char e[512];
    int ok = connect_session(c, c->uri) == 0 &&
             pg_exec_simple(c->st, "SET TIME ZONE 'UTC'", e, sizeof e) == 0;
    for (int i = 0; ok && i < PG_SETTINGS_MAX && c->set_name[i]; i++)
        ok = apply_setting(c, i) == 0;
    if (!ok) {
        c->retry_ms = c->retry_ms ? c->retry_ms * 2 : PG_RETRY_FIRST_MS;
        if (c->retry_ms > PG_RETRY_MAX_MS)
            c->retry_ms = PG_RETRY_MAX_MS;
        c->retry_at_ms = now + c->retry_ms;
        char why[sizeof c->errmsg + 128];
        snprintf(why, sizeof why, "cannot reconnect to PostgreSQL (next try in %lld ms): %s",
                 (long long)c->retry_ms, c->errmsg);
        pg_set_error(c, why);
        return STORE_ERR_LOST;
    }
    c->retry_ms = 0;
    c->gen++;
    c->reconnects++;
    log_warn("postgresql: reconnected (session %u)", c->gen);
    return 0;
}

uint64_t pg_reconnects(const store_t *st)
{
    return st->pg->reconnects;
}

/* A cache miss: translated and prepared on the server once per session. */
int pg_prepare(store_t *st, store_stmt_t *slot, const char *sql)
{
    pg_conn_t *c = st->pg;
    c->prepare_rc = 0;
    int n;
    char *text = store_pg_sql(sql, &n);
    if (!text) {
        log_error("postgresql: cannot translate statement: %s", sql);
        return -1;
    }
    /* One block: the statement, then its values, ownership flags and integers. */
    size_t un = (size_t)n;
    pg_stmt_t *p = calloc(1, sizeof *p + un * (sizeof(char *) + 1 + 24));
    if (!p) {
        free(text);
        log_error("postgresql: out of memory preparing a statement");
        return -1;
    }
    p->c = c;
    p->nparams = n;
    p->ints = (char(*)[24])(p + 1);
    p->values = (const char **)(p->ints + un);
    p->owned = (unsigned char *)(p->values + un);
    p->row = -1;
    p->kind = strncmp(text, "SAVEPOINT ", 10) == 0 ? PG_KIND_SP_OPEN
              : strncmp(text, "RELEASE ", 8) == 0  ? PG_KIND_SP_CLOSE
                                                   : PG_KIND_PLAIN;
    snprintf(p->name, sizeof p->name, "s%u", c->next_name++);
    PGresult *r;
    int rc = ensure_session(c);
    if (rc == 0)
        rc = SEND(c, PQsendPrepare(c->conn, p->name, text, 0, NULL), &r);
    c->prepare_rc = rc;
    if (rc < 0) {
        log_error("postgresql: cannot prepare statement: %s (%s)", c->errmsg, text);
        free(text);
        free(p);
        return -1;
    }
    PQclear(r);
    p->text = text;
    p->gen = c->gen;
    slot->pg = p;
    return 0;
}

int pg_prepare_failure(store_t *st)
{
    if (st->pg->prepare_rc < 0)
        return st->pg->prepare_rc;   /* a queued statement's failure, found first */
    return st->pg->broken || PQstatus(st->pg->conn) == CONNECTION_BAD ? STORE_ERR_LOST
                                                                       : STORE_ERR_ERROR;
}

void pg_stmt_reset(pg_stmt_t *p)
{
    PQclear(p->res);
    p->res = NULL;
    p->row = -1;
    p->ntuples = 0;
}

static void unbind(pg_stmt_t *p, int i)
{
    if (p->owned[i])
        free((char *)p->values[i]);
    p->owned[i] = 0;
    p->values[i] = NULL;
}

void pg_stmt_clear(pg_stmt_t *p)
{
    for (int i = 0; i < p->nparams; i++)
        unbind(p, i);
}

void pg_bind_text(pg_stmt_t *p, int i, const char *v, pg_text_t how)
{
    if (i < 1 || i > p->nparams) {
        if (how == PG_TEXT_TAKEN)
            free((char *)v);
        return;
    }
    unbind(p, i - 1);
    if (how == PG_TEXT_COPY && v) {
        v = strdup(v);
        if (!v)
            return;   /* NULL, as SQLite binds nothing when out of memory */
    }
    p->values[i - 1] = v;
    p->owned[i - 1] = v && how != PG_TEXT_BORROWED;
}

void pg_bind_int64(pg_stmt_t *p, int i, int64_t v)
{
    if (i < 1 || i > p->nparams)
        return;
    unbind(p, i - 1);
    snprintf(p->ints[i - 1], sizeof p->ints[i - 1], "%lld", (long long)v);
    p->values[i - 1] = p->ints[i - 1];
}

/* Whether pg_exec_stmt may queue `p` instead of waiting: inside a
 * pg_savepoint, outside savepoints opened by SQL (a RELEASE closing the
 * last of them included), on a session where it is prepared. */
static int can_queue(const pg_stmt_t *p)
{
    const pg_conn_t *c = p->c;
    if (!c->st->in_txn || c->sp_depth == 0 || p->kind == PG_KIND_SP_OPEN ||
        c->nested != (p->kind == PG_KIND_SP_CLOSE) || p->gen != c->gen || c->in_flight ||
        c->broken)
        return 0;
    return PQstatus(c->conn) == CONNECTION_OK;
}

int pg_step(pg_stmt_t *p)
{
    if (p->res)
        return ++p->row < p->ntuples ? STORE_ROW : STORE_DONE;
    pg_conn_t *c = p->c;
    PGresult *r;
    int rc = ensure_session(c);
    if (rc == 0 && p->gen != c->gen) {
        rc = SEND(c, PQsendPrepare(c->conn, p->name, p->text, 0, NULL), &r);
        if (rc == 0) {
            PQclear(r);
            p->gen = c->gen;
        }
    }
    if (rc == 0 && c->queued && !c->queued_rc && !c->in_flight) {
        /* Behind the queued statements, in the same round trip: a failure
         * among them is this statement's (the server skips it). */
        rc = pg_queue(p);
        if (rc == 0)
            rc = pg_collect(c, &r);
        if (rc == 0 && !r)
            rc = pg_conn_failure(c);
    } else if (rc == 0) {
        rc = SEND(c, PQsendQueryPrepared(c->conn, p->name, p->nparams, p->values, NULL, NULL, 0),
                  &r);
    }
    if (rc < 0)
        return rc;
    if (PQresultStatus(r) == PGRES_COMMAND_OK && pg_is_row_write(PQcmdStatus(r)))
        c->changes = strtoll(PQcmdTuples(r), NULL, 10);
    p->res = r;
    p->ntuples = PQntuples(r);
    p->row = 0;
    return p->ntuples > 0 ? STORE_ROW : STORE_DONE;
}

int pg_exec_stmt(pg_stmt_t *p)
{
    pg_conn_t *c = p->c;
    if (can_queue(p)) {
        /* A failure already seen in this savepoint is reported first. */
        int rc = c->queued_rc ? pg_sync_point(c) : pg_queue(p);
        if (rc < 0) {
            log_error("postgresql: %s", c->errmsg);
            return rc;
        }
        if (p->kind == PG_KIND_SP_CLOSE)
            c->nested--;
        return 0;
    }
    int rc = pg_step(p);
    pg_stmt_reset(p);
    if (rc >= 0 && p->kind == PG_KIND_SP_OPEN)
        c->nested++;
    else if (rc >= 0 && p->kind == PG_KIND_SP_CLOSE && c->nested > 0)
        c->nested--;
    if (rc >= 0)
        return 0;
    log_error("postgresql: %s", c->errmsg);
    return rc;
}

static int has_value(const pg_stmt_t *p, int col)
{
    return p->res && p->row >= 0 && p->row < p->ntuples && col >= 0 && col < PQnfields(p->res) &&
           !PQgetisnull(p->res, p->row, col);
}

const char *pg_col_text(pg_stmt_t *p, int col)
{
    return has_value(p, col) ? PQgetvalue(p->res, p->row, col) : NULL;
}

int64_t pg_col_int64(pg_stmt_t *p, int col)
{
    const char *v = pg_col_text(p, col);
    if (!v)
        return 0;
    /* A boolean expression comes back as t/f where SQLite gives 1/0. */
    if (v[0] == 't' || v[0] == 'f')
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

int pg_col_bytes(pg_stmt_t *p, int col)
{
    return has_value(p, col) ? PQgetlength(p->res, p->row, col) : 0;
}

int pg_col_is_null(pg_stmt_t *p, int col)
{
    return !has_value(p, col);
}

const char *pg_errmsg(store_t *st)
{
    return st->pg->errmsg;
}

const char *pg_stmt_errmsg(pg_stmt_t *p)
{
    return p->c->errmsg;
}

int64_t pg_changes(store_t *st)
{
    /* A failure stays for the next sync point to report. */
    int rc = pg_collect(st->pg, NULL);
    if (rc < 0 && !st->pg->queued_rc)
        st->pg->queued_rc = rc;
    return st->pg->changes;
}

/* Transactions: READ COMMITTED (each statement sees what committed before
 * it), savepoints named as on SQLite. Unlike SQLite, a failed statement
 * leaves the whole transaction unusable until ROLLBACK TO (or ROLLBACK). */
static const char SQL_BEGIN[] = "BEGIN ISOLATION LEVEL READ COMMITTED";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT step";
static const char SQL_RELEASE[] = "RELEASE step";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO step";

static void track_txn(store_t *st)
{
    PGTransactionStatusType ts = PQtransactionStatus(st->pg->conn);
    st->in_txn = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR || ts == PQTRANS_ACTIVE;
    if (!st->in_txn)
        st->pg->sp_depth = st->pg->nested = 0;
}

/* Ends a savepoint's queue: what failed in it is undone with it. */
static void drop_queued(pg_conn_t *c)
{
    pg_collect(c, NULL);
    c->queued_rc = 0;
}

/* The transaction the caller believes in is gone: the connection dropped
 * (the server rolled it back) or it ended under us. 0 when it is there. */
static int txn_gone(store_t *st)
{
    pg_conn_t *c = st->pg;
    if (c->broken || PQstatus(c->conn) == CONNECTION_BAD) {
        pg_set_error(c, "the connection to PostgreSQL was lost");
        return STORE_ERR_LOST;
    }
    if (st->in_txn && PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
        pg_set_error(c, "the transaction ended under us");
        return STORE_ERR_ABORT;
    }
    return 0;
}

/* Runs transaction control; *rolled_back (may be NULL) says whether the
 * server answered ROLLBACK (a COMMIT of an aborted transaction does). */
static int tx_exec(store_t *st, const char *sql, int *rolled_back)
{
    store_stmt_t *s = store_prepare(st, sql);
    if (!s)
        return pg_prepare_failure(st);
    int rc = pg_step(s->pg);
    if (rc >= 0 && rolled_back)
        *rolled_back = strcmp(PQcmdStatus(s->pg->res), "ROLLBACK") == 0;
    pg_stmt_reset(s->pg);
    if (rc < 0)
        log_error("postgresql: %s: %s", sql, st->pg->errmsg);
    track_txn(st);
    return rc < 0 ? rc : 0;
}

int pg_begin(store_t *st)
{
    st->pg->sp_depth = st->pg->nested = 0;
    int rc = tx_exec(st, SQL_BEGIN, NULL);
    if (rc < 0)
        store_note_commit(st, rc, st->pg->errmsg);
    return rc;
}

int pg_commit(store_t *st)
{
    int rolled_back = 0;
    int rc = txn_gone(st);
    if (rc == 0)
        rc = tx_exec(st, SQL_COMMIT, &rolled_back);
    /* COMMIT of a transaction an error aborted answers ROLLBACK, no error. */
    if (rc == 0 && rolled_back) {
        pg_set_error(st->pg, "COMMIT rolled back: an earlier statement failed");
        rc = STORE_ERR_ABORT;
    }
    track_txn(st);
    store_note_commit(st, rc, st->pg->errmsg);
    return rc;
}

int pg_rollback(store_t *st)
{
    pg_conn_t *c = st->pg;
    if (c->broken || PQstatus(c->conn) == CONNECTION_BAD) {
        c->queued = c->queued_rc = 0;   /* the session is replaced before the next use */
        c->sp_depth = c->nested = 0;
        st->in_txn = 0;
        return 0;
    }
    drop_queued(c);
    if (PQtransactionStatus(c->conn) == PQTRANS_IDLE) {
        track_txn(st);
        return 0;
    }
    return tx_exec(st, SQL_ROLLBACK, NULL);
}

int pg_savepoint(store_t *st)
{
    int rc = txn_gone(st);
    if (rc == 0)
        rc = tx_exec(st, SQL_SAVEPOINT, NULL);
    if (rc == 0)
        st->pg->sp_depth++;
    return rc;
}

/* A failure queued in the savepoint is reported here, before the RELEASE
 * is sent: the caller then rolls the savepoint back. */
int pg_release(store_t *st)
{
    int rc = txn_gone(st);
    if (rc == 0)
        rc = tx_exec(st, SQL_RELEASE, NULL);
    if (rc == 0) {
        st->pg->sp_depth--;
        st->pg->nested = 0;
    }
    return rc;
}

int pg_rollback_to(store_t *st)
{
    drop_queued(st->pg);
    int rc = txn_gone(st);
    if (rc == 0)
        rc = tx_exec(st, SQL_ROLLBACK_TO, NULL);
    /* ROLLBACK TO keeps the savepoint open; release it so the next step starts clean. */
    if (rc == 0)
        rc = tx_exec(st, SQL_RELEASE, NULL);
    if (st->pg->sp_depth > 0)
        st->pg->sp_depth--;
    st->pg->nested = 0;
    return rc;
}

static const char SQL_PROBE[] = "UPDATE schema_version SET version = version";

/* Inside store_probe_write's transaction. */
int pg_probe_write(store_t *st)
{
    /* A new row version, WAL and the commit's flush: a real write. */
    return store_exec_cached(st, SQL_PROBE);
}
