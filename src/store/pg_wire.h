/* What pg.c (sessions, statements, transactions) and pg_wire.c (how a
 * statement travels) share: the session and statement structs and the
 * calls that send, wait and collect. Private to src/store/. */
#ifndef SAGAD_STORE_PG_WIRE_H
#define SAGAD_STORE_PG_WIRE_H

#include "internal.h"

#include <libpq-fe.h>

/* Session settings re-applied after every reconnect (store_session_set). */
#define PG_SETTINGS_MAX 4

struct pg_conn_s {
    PGconn *conn;
    store_t *st;
    char *uri;              /* for reconnecting */
    unsigned gen;           /* sessions so far: statements prepared in an older one
                               are prepared again before they run */
    int64_t retry_at_ms;    /* no reconnect attempt before this (back-off) */
    int64_t retry_ms;
    uint64_t reconnects;
    char *set_name[PG_SETTINGS_MAX], *set_value[PG_SETTINGS_MAX];
    int broken;             /* a wait was cancelled mid-query: the session is unusable */
    int in_flight;          /* a statement waits for its result (on some fiber) */
    int64_t changes;        /* rows changed by the last INSERT/UPDATE/DELETE */
    int sp_depth;           /* savepoints open from pg_savepoint */
    int nested;             /* savepoints opened inside them by SQL (SAVEPOINT ...):
                               their callers judge each statement, so none is queued */
    int queued;             /* statements sent in pipeline mode, results not collected */
    int queued_rc;          /* the first failure collected from them, not reported yet */
    int send_rc;            /* SEND's check */
    int prepare_rc;         /* why the last pg_prepare failed */
    unsigned next_name;     /* prepared statements are named s0, s1, ... */
    char errmsg[512];       /* the last failure's message */
};

/* Savepoint statements run through the statement API (the engine's task
 * savepoint) are seen by their text. */
typedef enum { PG_KIND_PLAIN, PG_KIND_SP_OPEN, PG_KIND_SP_CLOSE } pg_kind_t;

struct pg_stmt_s {
    pg_conn_t *c;
    pg_kind_t kind;
    char name[16];
    char *text;             /* the translated SQL, to prepare it again */
    unsigned gen;           /* the session it is prepared in */
    int nparams;
    const char **values;    /* nparams texts; NULL is SQL NULL */
    unsigned char *owned;   /* values[i] was malloc'd here (copied or taken) */
    char (*ints)[24];       /* where bound integers are written as text */
    PGresult *res;          /* the result being stepped through, or NULL */
    int row, ntuples;
};

/* pg_wait_socket's results besides 0 (ready, or the socket failed: libpq
 * then says how when it reads). */
#define WAIT_TIMEOUT (-1)
#define WAIT_ABORTED (-2)   /* the fiber was cancelled (or could not wait) */

/* Waits until the socket is ready for `events` (POLLIN/POLLOUT), at most
 * `timeout_ms` (-1: no limit); yields on a fiber, else blocks in poll(2). */
int pg_wait_socket(PGconn *conn, int events, int timeout_ms);
/* Sets errmsg from `msg` (one line). */
void pg_set_error(pg_conn_t *c, const char *msg);
/* The code for a failure without a result (LOST or ERROR), errmsg set. */
int pg_conn_failure(pg_conn_t *c);
/* Waits for a sent query's result: 0 with *out (caller clears) or a code. */
int pg_await(pg_conn_t *c, PGresult **out);
/* Before a statement is sent and waited for: 0 (a sync point passed), or
 * the code to return (BUSY, or a queued statement's failure). */
int pg_send_check(pg_conn_t *c);
/* Whether a command tag counts as SQLite's changes(): a write of rows. */
int pg_is_row_write(const char *tag);
/* Sends `p` in pipeline mode, its result to be collected by pg_collect. */
int pg_queue(pg_stmt_t *p);
/* Collects the queued statements' results: 0 or the first failure. With
 * `last`, the last one's result is the caller's there (caller clears). */
int pg_collect(pg_conn_t *c, PGresult **last);
/* A sync point: 0, or the queued statements' failure (reported once). */
int pg_sync_point(pg_conn_t *c);

/* Sends with `call` (a PQsend* call, made only on a usable session that is
 * not busy, after a sync point) and waits for the result. */
#define SEND(c, call, out)                                                                        \
    (((c)->send_rc = pg_send_check(c)) < 0 ? (c)->send_rc                                        \
     : !(c)->broken && (call)              ? pg_await((c), (out))                                 \
                                           : pg_conn_failure(c))

#endif
