/* How a statement travels on a PostgreSQL session: libpq's asynchronous
 * calls on a nonblocking connection, every wait on the fiber's loop (or in
 * poll(2) off fibers), one result at a time or a pipeline of queued
 * statements collected at a sync point; server errors as the store's codes. */
#include "pg_wire.h"
#include "core/fiber.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Waits until the socket is ready for `events` (POLLIN/POLLOUT), at most
 * `timeout_ms` (-1: no limit). On a fiber it yields to the loop. Off fibers
 * it blocks the thread in poll(2): acceptable at startup, for migrations
 * and in tests, never on the serving loop (the daemon must call the store
 * from fibers on PostgreSQL). */
int pg_wait_socket(PGconn *conn, int events, int timeout_ms)
{
    int fd = PQsocket(conn);
    if (fd < 0)
        return 0;
    if (fiber_in()) {
        int want = (events & POLLIN ? FIBER_READABLE : 0) | (events & POLLOUT ? FIBER_WRITABLE : 0);
        int rc = fiber_wait_fd(fd, want, timeout_ms);
        if (rc > 0 || rc == UV_EBADF)
            return 0;
        return rc == FIBER_ETIMEDOUT ? WAIT_TIMEOUT : WAIT_ABORTED;
    }
    struct pollfd p = {.fd = fd, .events = (short)events};
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n > 0)
            return 0;
        if (n == 0)
            return WAIT_TIMEOUT;
        if (errno != EINTR)
            return 0;
    }
}

/* libpq's messages end with a newline; ours are one line. */
void pg_set_error(pg_conn_t *c, const char *msg)
{
    snprintf(c->errmsg, sizeof c->errmsg, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(c->errmsg);
    while (n && (c->errmsg[n - 1] == '\n' || c->errmsg[n - 1] == ' '))
        c->errmsg[--n] = '\0';
}

/* The code for a failure without a result: the connection's state decides. */
int pg_conn_failure(pg_conn_t *c)
{
    if (c->broken) {
        pg_set_error(c, "the session was abandoned in the middle of a statement (fiber cancelled)");
        return STORE_ERR_LOST;
    }
    pg_set_error(c, PQerrorMessage(c->conn));
    return PQstatus(c->conn) == CONNECTION_BAD ? STORE_ERR_LOST : STORE_ERR_ERROR;
}

/* After a PQsend*: flushes the query, waits for every result and keeps the
 * last one (the first error if there is one). NULL when the connection
 * failed (errmsg set). */
/* Sends what libpq holds: 0, or -1 when the connection failed (or the
 * wait was cancelled: broken). */
static int flush_all(pg_conn_t *c)
{
    int f;
    while ((f = PQflush(c->conn)) == 1) {
        /* Reading too: the server may block on a full output buffer. */
        if (pg_wait_socket(c->conn, POLLIN | POLLOUT, -1) == WAIT_ABORTED)
            c->broken = 1;
        if (c->broken || !PQconsumeInput(c->conn))
            return -1;
    }
    return f < 0 ? -1 : 0;
}

/* Waits until PQgetResult would not block: 0, or -1 as flush_all. */
static int wait_result(pg_conn_t *c)
{
    while (PQisBusy(c->conn)) {
        if (pg_wait_socket(c->conn, POLLIN, -1) == WAIT_ABORTED)
            c->broken = 1;
        if (c->broken || !PQconsumeInput(c->conn))
            return -1;
    }
    return 0;
}

static PGresult *finish(pg_conn_t *c)
{
    PGconn *conn = c->conn;
    if (flush_all(c) < 0)
        return NULL;
    PGresult *keep = NULL;
    for (;;) {
        if (wait_result(c) < 0) {
            PQclear(keep);
            return NULL;
        }
        PGresult *r = PQgetResult(conn);
        if (!r)
            break;
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    return keep;
}

/* 0 for a good result, else the store's code for the server's SQLSTATE. */
static int result_code(pg_conn_t *c, const PGresult *r)
{
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK || rs == PGRES_EMPTY_QUERY)
        return 0;
    pg_set_error(c, PQresultErrorMessage(r));
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (!s || strlen(s) != 5)
        return PQstatus(c->conn) == CONNECTION_BAD ? STORE_ERR_LOST : STORE_ERR_ERROR;
    if (strncmp(s, "23", 2) == 0)
        return STORE_ERR_CONSTRAINT;
    if (strcmp(s, "40P01") == 0)
        return STORE_ERR_DEADLOCK;
    if (strcmp(s, "55P03") == 0)
        return STORE_ERR_LOCK_TIMEOUT;
    if (strcmp(s, "40001") == 0 || strcmp(s, "57014") == 0 || strcmp(s, "53300") == 0)
        return STORE_ERR_BUSY;        /* serialization failure, cancelled, too many clients */
    if (strcmp(s, "25P02") == 0 || strcmp(s, "40000") == 0)
        return STORE_ERR_ABORT;       /* the transaction is already lost */
    if (strcmp(s, "53100") == 0)
        return STORE_ERR_FULL;
    if (strcmp(s, "53200") == 0)
        return STORE_ERR_NOMEM;
    if (strncmp(s, "58", 2) == 0 || strncmp(s, "XX", 2) == 0)
        return STORE_ERR_IOERR;
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0)
        return STORE_ERR_LOST;        /* connection failures, server shutting down */
    return STORE_ERR_ERROR;
}

/* Waits for a sent query's result: 0 with *out (caller clears) or a code. */
int pg_await(pg_conn_t *c, PGresult **out)
{
    c->in_flight = 1;
    PGresult *r = finish(c);
    c->in_flight = 0;
    if (!r)
        return pg_conn_failure(c);
    int rc = result_code(c, r);
    if (rc < 0) {
        PQclear(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* One session runs one statement at a time: a second fiber calling while
 * the first waits gets BUSY (the caller must serialize, e.g. one writer
 * fiber and a pool of read sessions), not libpq's "another command is
 * already in progress". */
static int session_busy(pg_conn_t *c)
{
    if (!c->in_flight)
        return 0;
    pg_set_error(c, "the PostgreSQL session is waiting for another fiber's statement");
    return 1;
}

/* Whether a command tag counts as SQLite's changes(): a write of rows. */
int pg_is_row_write(const char *tag)
{
    return strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
           strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0;
}

/* Collects the results of the queued statements (a sync point): flushes,
 * then reads each statement's results and the sync's. Returns the first
 * failure (errmsg set); the statements after it were skipped by the
 * server. With `last`, the last statement's result is the caller's there
 * (NULL when it failed or was skipped). */
int pg_collect(pg_conn_t *c, PGresult **last)
{
    if (last)
        *last = NULL;
    if (!c->queued)
        return 0;
    PGconn *conn = c->conn;
    int rc = 0, n = c->queued, i = 0, first = 0;
    c->queued = 0;
    c->in_flight = 1;
    if (c->broken || !PQpipelineSync(conn) || flush_all(c) < 0)
        rc = pg_conn_failure(c);
    /* Each statement's results end with a NULL; then comes the sync's. */
    while (rc == 0) {
        if (wait_result(c) < 0)
            rc = pg_conn_failure(c);
        PGresult *r = rc ? NULL : PQgetResult(conn);
        if (!r) {
            if (rc == 0 && ++i > n)
                rc = pg_conn_failure(c);   /* no sync result: the connection ended */
            continue;
        }
        ExecStatusType rs = PQresultStatus(r);
        if (rs == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (rs == PGRES_PIPELINE_ABORTED) {
            PQclear(r);
            continue;
        }
        int code = result_code(c, r);
        if (code < 0 && !first)
            first = code;
        if (last && i == n - 1 && code == 0) {
            PQclear(*last);
            *last = r;
            continue;
        }
        if (code == 0 && rs == PGRES_COMMAND_OK && pg_is_row_write(PQcmdStatus(r)))
            c->changes = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    c->in_flight = 0;
    if (rc == 0 && !PQexitPipelineMode(conn))
        rc = pg_conn_failure(c);
    if (rc == 0)
        rc = first;
    if (rc < 0) {
        c->changes = 0;   /* the failed statement changed nothing */
        if (last) {
            PQclear(*last);
            *last = NULL;
        }
    }
    return rc;
}

/* A sync point: 0, or the queued statements' failure (reported once). */
int pg_sync_point(pg_conn_t *c)
{
    int rc = pg_collect(c, NULL);
    if (c->queued_rc)
        rc = c->queued_rc;   /* the earlier failure: what followed it was skipped */
    c->queued_rc = 0;
    return rc;
}

/* Before a statement is sent and waited for: 0, or the code to return. */
int pg_send_check(pg_conn_t *c)
{
    return session_busy(c) ? STORE_ERR_BUSY : pg_sync_point(c);
}

/* Sends `p` in pipeline mode; its result is collected at the next sync point. */
int pg_queue(pg_stmt_t *p)
{
    pg_conn_t *c = p->c;
    if (!c->queued && !PQenterPipelineMode(c->conn))
        return pg_conn_failure(c);
    if (!PQsendQueryPrepared(c->conn, p->name, p->nparams, p->values, NULL, NULL, 0)) {
        int rc = pg_conn_failure(c);
        if (!c->queued)
            PQexitPipelineMode(c->conn);
        return rc;
    }
    c->queued++;
    return 0;
}
