/* The outbox relay: one hiredis async connection on the daemon's loop, one
 * uv timer for back-off and deadlines, and a pipelined batch of PUBLISHes (and
 * XADDs) in flight at a time. Rows are deleted (up to the last one whose every
 * command Redis acknowledged in order) when the batch is answered.
 * On PostgreSQL several nodes share the outbox: one of them relays, the one
 * whose session holds an advisory lock (the others retry every second, so a
 * dead node's role passes on once the server ends its session); idle, it
 * looks for other nodes' rows every POLL_MS; it reads without a cursor (see
 * pump) and deletes exactly the seqs Redis acknowledged. */
#include "events/relay.h"
#include "core/config.h"
#include "core/log.h"
#include "events/outbox.h"
#include "redis_uv.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis.h>
#include <async.h>

#define BATCH              256
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000
/* hiredis 0.14's libuv adapter ignores poll errors (a refused connect or a
 * reset socket is never reported), so every wait on Redis has a deadline. */
#define CONNECT_TIMEOUT_MS 2000
#define REPLY_TIMEOUT_MS   5000
#define CLOSE_TIMEOUT_MS   2000
/* A stream that keeps refusing XADD is reported at most this often. */
#define STREAM_LOG_EVERY_MS 60000
/* PostgreSQL: how often a node that does not relay tries to take over. */
#define STANDBY_RETRY_MS   1000
/* PostgreSQL: how often the relaying node, idle, looks for rows that other
 * nodes committed (its own commits kick it at once). */
#define POLL_MS            200
/* The relay role on PostgreSQL: a session-level advisory lock (the server
 * releases it when the holder's session ends). Taking it again while held
 * only counts it once more; the session's end releases every count. */
#define SQL_TAKE_RELAY_ROLE "SELECT CAST(pg_try_advisory_lock(495555404112) AS integer)"

typedef enum {
    ST_DISABLED,
    ST_WAITING,    /* disconnected; the timer starts the next attempt */
    ST_CONNECTING,
    ST_CONNECTED,
} relay_state_t;

typedef enum {
    T_NONE,
    T_CONNECT,          /* back-off over: connect */
    T_CONNECT_DEADLINE, /* connect took too long */
    T_REPLY_DEADLINE,   /* a batch got no answer in time */
    T_RETRY,            /* Redis refused a PUBLISH or a delete failed: try again */
    T_CLOSE_DEADLINE,   /* graceful close took too long */
    T_POLL,             /* PostgreSQL, idle: look for other nodes' rows */
} timer_purpose_t;

struct relay_s {
    uv_loop_t *loop;
    store_t *st;
    char *channel;
    char *stream;         /* "" when streams are off */
    long long stream_maxlen;
    char *addr;           /* as configured, for messages */
    char host[256];       /* numeric when resolution worked */
    int port;
    int is_unix;
    relay_state_t state;
    redisAsyncContext *ac;
    uv_timer_t timer;
    timer_purpose_t purpose;
    unsigned backoff_ms;
    unsigned fail_streak;
    int in_flight;        /* PUBLISHes sent, not answered */
    int batch_full;       /* the last batch hit BATCH rows: more may wait */
    int batch_failed;     /* an answer in this batch was an error */
    int batch_lost;       /* the connection went away under this batch */
    int kicked;           /* work arrived while we could not act on it */
    int64_t acked;        /* the last row published, not yet deleted */
    int64_t refused_seq;  /* the last row a command of which Redis refused */
    int acked_gap;        /* SQLite: a refused row lies below `acked`, not deleted */
    int pg;               /* the store is PostgreSQL: several nodes may relay */
    int standby;          /* PostgreSQL: another session holds the relay role */
    int64_t *acked_seqs;  /* the seqs behind `acked`, for the DELETE */
    size_t n_acked, cap_acked;
    uint64_t stream_logged_at;   /* loop time of the last XADD failure logged */
    uint64_t stream_unlogged;    /* XADD failures since then, not logged */
    int stream_failing;          /* the last XADD answered was refused */
    int closing, closed;
    relay_runner_t run;   /* NULL: store work runs at once (relay_set_runner) */
    void *runner;
    unsigned jobs;        /* job_t bits waiting for the runner's turn */
    int turn_queued;      /* a turn was handed to the runner, not run yet */
    int close_after_turn; /* finish_close waits for that turn */
    void (*done)(void *ud);
    void *done_ud;
    relay_stats_t stats;
};

static void pump(relay_t *r);
static void batch_done(relay_t *r);
static void on_timer(uv_timer_t *t);

/* Store work that loop callbacks (hiredis answers, timers) ask for. */
typedef enum {
    JOB_FLUSH = 1,       /* delete what Redis acknowledged */
    JOB_BATCH_DONE = 2,  /* a batch is answered: delete, retry or go on */
    JOB_PUMP = 4,        /* send the next batch */
} job_t;

static void arm(relay_t *r, timer_purpose_t purpose, uint64_t ms)
{
    if (r->closed)
        return;
    r->purpose = purpose;
    uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void disarm(relay_t *r, timer_purpose_t purpose)
{
    if (r->purpose == purpose) {
        uv_timer_stop(&r->timer);
        r->purpose = T_NONE;
    }
}

static void on_closed(uv_handle_t *h)
{
    relay_t *r = h->data;
    void (*done)(void *) = r->done;
    void *ud = r->done_ud;
    free(r->channel);
    free(r->stream);
    free(r->addr);
    free(r->acked_seqs);
    free(r);
    if (done)
        done(ud);
}

/* Last step of relay_close, once no connection is left (and no turn is
 * pending: the runner would call into freed memory). */
static void finish_close(relay_t *r)
{
    if (r->turn_queued) {
        r->close_after_turn = 1;
        return;
    }
    if (r->closed)
        return;
    r->closed = 1;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_closed);
}

static void schedule_reconnect(relay_t *r)
{
    r->state = ST_WAITING;
    arm(r, T_CONNECT, r->backoff_ms);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/* The acknowledged seqs as a PostgreSQL array literal, "{1,2,3}", or (json)
 * a JSON array, "[1,2,3]"; malloc'd (caller frees), NULL on no memory. */
static char *acked_array(const relay_t *r, int json)
{
    size_t cap = 3 + r->n_acked * 21, len = 0;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    text[len++] = json ? '[' : '{';
    for (size_t i = 0; i < r->n_acked; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s%lld", i ? "," : "",
                                (long long)r->acked_seqs[i]);
    snprintf(text + len, cap - len, "%s", json ? "]" : "}");
    return text;
}

/* Deletes the acknowledged rows in whatever transaction is open (or its own):
 * on SQLite, one writer, every seq up to `acked` unless Redis refused a row
 * among them; otherwise (and always on PostgreSQL, where a row some other
 * writer committed late below them must not go unpublished) exactly the seqs
 * Redis answered. 0 or -1. */
static int delete_acked(relay_t *r)
{
    store_stmt_t *s;
    if (r->pg || r->acked_gap) {
        char *list = acked_array(r, !r->pg);
        s = !list ? NULL
            : r->pg ? store_prepare(r->st, "DELETE FROM outbox WHERE seq = ANY(CAST(?1 AS bigint[]))")
                    : store_prepare(r->st, "DELETE FROM outbox WHERE seq IN "
                                           "(SELECT value FROM json_each(?1))");
        if (!s) {
            free(list);
            return -1;
        }
        store_bind_text_taken(s, 1, list);
    } else {
        s = store_prepare(r->st, "DELETE FROM outbox WHERE seq <= ?1");
        if (!s)
            return -1;
        store_bind_int64(s, 1, r->acked);
    }
    int rc = store_exec_stmt(s);
    store_clear_bindings(s);
    if (rc < 0)
        return -1;
    r->acked = 0;
    r->n_acked = 0;
    r->acked_gap = 0;
    return 0;
}

/* Records that Redis has row `seq`; 0, or -1 on no memory (then the row
 * counts as unanswered and is sent again). */
static int note_acked(relay_t *r, int64_t seq)
{
    if (r->n_acked == r->cap_acked) {
        size_t cap = r->cap_acked ? r->cap_acked * 2 : BATCH;
        int64_t *grown = realloc(r->acked_seqs, cap * sizeof *grown);
        if (!grown)
            return -1;
        r->acked_seqs = grown;
        r->cap_acked = cap;
    }
    r->acked_seqs[r->n_acked++] = seq;
    if (r->batch_failed)
        r->acked_gap = 1;
    r->acked = seq;
    return 0;
}

/* Deletes the rows Redis acknowledged. 0 when done or deferred (a transaction
 * is open: the next kick does it), -1 when the delete failed. */
static int flush_deletes(relay_t *r)
{
    if (r->acked == 0)
        return 0;
    if (store_in_txn(r->st)) {
        r->kicked = 1;
        return 0;
    }
    return delete_acked(r);
}

static int flush_deletes(relay_t *r);

/* The runner's turn: the jobs asked for since it was queued, in order. */
static void turn(void *ud)
{
    relay_t *r = ud;
    r->turn_queued = 0;
    unsigned jobs = r->jobs;
    r->jobs = 0;
    if ((jobs & JOB_FLUSH) && flush_deletes(r) < 0)
        log_warn("outbox: cannot delete published events: %s; they will be published again",
                 store_errmsg(r->st));
    if (jobs & JOB_BATCH_DONE)
        batch_done(r);
    if (jobs & JOB_PUMP)
        pump(r);
    if (r->close_after_turn && !r->turn_queued) {
        r->close_after_turn = 0;
        finish_close(r);
    }
}

/* Runs `job` now when there is no runner (or it refuses: out of memory),
 * else in the runner's next turn. */
static void later(relay_t *r, job_t job)
{
    r->jobs |= (unsigned)job;
    if (r->turn_queued)
        return;
    r->turn_queued = 1;
    if (!r->run || r->run(r->runner, turn, r) < 0)
        turn(r);
}

/* PostgreSQL: whether this node relays (takes the role when it is free).
 * Logs the changes of role. 1, 0 (another node relays), or -1. */
static int relay_role(relay_t *r)
{
    store_stmt_t *s = store_prepare(r->st, SQL_TAKE_RELAY_ROLE);
    if (!s)
        return -1;
    int rc = store_step(s);
    int held = rc == STORE_ROW ? store_col_int(s, 0) == 1 : -1;
    store_reset(s);
    if (held == 0 && !r->standby)
        log_info("outbox: another node relays the outbox; this one takes over if it stops");
    else if (held == 1 && r->standby)
        log_info("outbox: this node relays the outbox now");
    if (held >= 0)
        r->standby = !held;
    return held;
}

/* Frees the connection from outside hiredis' callbacks; pending PUBLISHes are
 * answered with NULL (not acknowledged, so they are sent again later). */
static void drop_connection(relay_t *r)
{
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    r->batch_lost = 1;
    if (ac)
        redisAsyncFree(ac);
    r->in_flight = 0;
    r->batch_failed = r->batch_lost = 0;
    later(r, JOB_FLUSH);
    r->stats.connected = 0;
    if (r->closing)
        finish_close(r);
    else
        schedule_reconnect(r);
}

static void batch_done(relay_t *r)
{
    disarm(r, T_REPLY_DEADLINE);
    /* More to send: the delete waits for the runtime's next commit (one
     * fsync instead of two). Idle, stopping or broken: delete now. */
    int more = (r->batch_full || r->kicked) && !r->batch_failed && !r->batch_lost &&
               r->state == ST_CONNECTED && !r->closing;
    int del = more ? 0 : flush_deletes(r);
    if (r->batch_lost || r->state != ST_CONNECTED || r->closing)
        return; /* the disconnect path takes over */
    if (r->batch_failed || del < 0) {
        if (del < 0)
            log_warn("outbox: cannot delete published events: %s; retrying",
                     store_errmsg(r->st));
        r->batch_failed = 0;
        arm(r, T_RETRY, r->backoff_ms);
        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
        return;
    }
    r->backoff_ms = BACKOFF_MIN_MS;
    if (r->batch_full || r->kicked)
        pump(r);
    else if (r->pg)
        arm(r, T_POLL, POLL_MS);
}

/* What a reply answers: the row's PUBLISH, its XADD (the row's last command
 * when streams are on), or the batch's closing XLEN. */
typedef enum {
    CMD_PUBLISH,
    CMD_XADD,
    CMD_XLEN,
} cmd_kind_t;

static void *cmd_tag(int64_t seq, cmd_kind_t kind)
{
    return (void *)(uintptr_t)(((uint64_t)seq << 2) | (uint64_t)kind);
}

/* XADD refusals (a key that is not a stream, an OOM Redis) can last: the
 * first is logged, then one line per STREAM_LOG_EVERY_MS with the count. */
static void log_stream_failure(relay_t *r, int64_t seq, const char *why)
{
    uint64_t now = uv_now(r->loop);
    if (r->stream_logged_at && now - r->stream_logged_at < STREAM_LOG_EVERY_MS) {
        r->stream_unlogged++;
        return;
    }
    if (r->stream_unlogged)
        log_warn("redis %s refused XADD to stream '%s' for outbox row %lld: %s "
                 "(%llu more refusals since the last report); the events stay in the outbox",
                 r->addr, r->stream, (long long)seq, why, (unsigned long long)r->stream_unlogged);
    else
        log_warn("redis %s refused XADD to stream '%s' for outbox row %lld: %s; "
                 "the events stay in the outbox", r->addr, r->stream, (long long)seq, why);
    r->stream_logged_at = now ? now : 1;
    r->stream_unlogged = 0;
}

static void stream_recovered(relay_t *r)
{
    log_info("redis %s: XADD to stream '%s' succeeds again; sending the outbox", r->addr,
             r->stream);
    r->stream_failing = 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    relay_t *r = ac->data;
    redisReply *rep = reply;
    uint64_t tag = (uint64_t)(uintptr_t)privdata;
    cmd_kind_t kind = (cmd_kind_t)(tag & 3);
    int64_t seq = (int64_t)(tag >> 2);
    /* The row is done when its last command is answered. */
    int last = kind == CMD_XADD || (kind == CMD_PUBLISH && !r->stream[0]);
    r->in_flight--;
    if (kind == CMD_XLEN) {
        /* Informational: a refusal (the key is not a stream) fails no row. */
        r->stats.stream_length = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    } else if (!rep) {
        if (kind == CMD_XADD)
            r->stats.stream_failures++;
        else
            r->stats.failures++;
        r->batch_lost = 1;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        if (kind == CMD_XADD) {
            log_stream_failure(r, seq, rep->str);
            r->stats.stream_failures++;
            r->stream_failing = 1;
        } else {
            if (!r->batch_failed)
                log_warn("redis %s refused PUBLISH of outbox row %lld: %s", r->addr,
                         (long long)seq, rep->str);
            r->stats.failures++;
        }
        r->batch_failed = 1;
        r->refused_seq = seq;
    } else {
        if (kind == CMD_PUBLISH)
            r->stats.published++;
        else
            r->stats.stream_appended++;
        if (kind == CMD_XADD && r->stream_failing)
            stream_recovered(r);
        /* A row counts when each of its commands was answered OK. Rows after
         * a refused one count too: sending them again would repeat events
         * already out, while the refused row goes out again either way. */
        if (last && !r->batch_lost && r->refused_seq != seq && note_acked(r, seq) < 0) {
            r->batch_failed = 1;
            r->refused_seq = seq;
        }
    }
    if (r->in_flight == 0)
        later(r, JOB_BATCH_DONE);
}

/* Queues one command; 0, or -1 when hiredis refused it (out of memory). */
static int send_row(relay_t *r, int64_t seq, const void *payload, size_t len)
{
    if (redisAsyncCommand(r->ac, on_reply, cmd_tag(seq, CMD_PUBLISH), "PUBLISH %s %b",
                          r->channel, payload, len) != REDIS_OK)
        return -1;
    r->in_flight++;
    if (!r->stream[0])
        return 0;
    char maxlen[24];
    snprintf(maxlen, sizeof maxlen, "%lld", r->stream_maxlen);
    if (redisAsyncCommand(r->ac, on_reply, cmd_tag(seq, CMD_XADD),
                          "XADD %s MAXLEN ~ %s * event %b", r->stream, maxlen, payload,
                          len) != REDIS_OK)
        return -1; /* the PUBLISH alone never acknowledges the row */
    r->in_flight++;
    return 0;
}

/* Sends the next batch: the oldest BATCH rows, in seq order, pipelined. */
static void pump(relay_t *r)
{
    if (r->state != ST_CONNECTED || r->closing || r->in_flight > 0 || r->purpose == T_RETRY)
        return;
    if (store_in_txn(r->st)) {
        /* Our own connection would see rows that are not committed yet. */
        r->kicked = 1;
        return;
    }
    r->kicked = 0;
    if (r->pg) {
        int role = relay_role(r);
        if (role <= 0) {
            if (role < 0)
                log_error("outbox: cannot learn whether this node relays: %s",
                          store_errmsg(r->st));
            arm(r, T_RETRY, role < 0 ? BACKOFF_MAX_MS : STANDBY_RETRY_MS);
            return;
        }
    }
    /* Several writers draw seqs at INSERT and may commit out of seq order,
     * so a cursor past the last seq published could skip a row that commits
     * later below it. No cursor here: the published rows are deleted first,
     * then the smallest committed seqs are read, the late row among them.
     * Rows thus go out in the order they become visible, and by seq among
     * those visible together (a row inserted after another's commit always
     * has the larger seq). SQLite does the same when Redis refused a row
     * below the last one published. */
    if (r->pg || r->acked_gap) {
        if (flush_deletes(r) < 0) {
            log_warn("outbox: cannot delete published events: %s; retrying",
                     store_errmsg(r->st));
            arm(r, T_RETRY, BACKOFF_MAX_MS);
            return;
        }
    }
    /* SQLite, one writer: rows published but not deleted yet are skipped;
     * their delete rides the runtime's next commit (relay_flush_in_txn) or
     * runs once the relay idles. */
    store_stmt_t *s = store_prepare(r->st,
        "SELECT seq, payload FROM outbox WHERE seq > ?2 ORDER BY seq LIMIT ?1");
    if (!s) {
        arm(r, T_RETRY, BACKOFF_MAX_MS);
        return;
    }
    store_bind_int(s, 1, BATCH);
    store_bind_int64(s, 2, r->acked);
    int n = 0, rc;
    r->batch_failed = r->batch_lost = 0;
    r->refused_seq = 0;
    while ((rc = store_step(s)) == STORE_ROW) {
        int64_t seq = store_col_int64(s, 0);
        const char *payload = store_col_text(s, 1);
        size_t len = (size_t)store_col_bytes(s, 1);
        if (send_row(r, seq, payload ? payload : "", len) < 0)
            break;
        n++;
    }
    if (rc != STORE_ROW && rc != STORE_DONE)
        log_error("outbox: cannot read: %s", store_errmsg(r->st));
    store_reset(s);
    r->batch_full = n == BATCH;
    /* The stream's length for /healthz, as of this batch: one cheap command. */
    if (n > 0 && r->stream[0] &&
        redisAsyncCommand(r->ac, on_reply, cmd_tag(0, CMD_XLEN), "XLEN %s", r->stream) == REDIS_OK)
        r->in_flight++;
    if (r->in_flight > 0)
        arm(r, T_REPLY_DEADLINE, REPLY_TIMEOUT_MS);
    else if (r->pg)
        arm(r, T_POLL, POLL_MS);
}

static void connect_failed(relay_t *r, const char *why)
{
    r->stats.connect_failures++;
    if (r->fail_streak++ == 0)
        log_warn("redis %s: %s; events wait in the outbox, retrying", r->addr, why);
    else
        log_debug("redis %s: %s (attempt %u)", r->addr, why, r->fail_streak);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    relay_t *r = ac->data;
    if (r->ac != ac)
        return;
    disarm(r, T_CONNECT_DEADLINE);
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        r->ac = NULL;
        connect_failed(r, ac->errstr ? ac->errstr : "cannot connect");
        if (r->closing)
            finish_close(r);
        else
            schedule_reconnect(r);
        return;
    }
    r->state = ST_CONNECTED;
    r->stats.connected = 1;
    r->stats.connects++;
    r->backoff_ms = BACKOFF_MIN_MS;
    if (r->fail_streak > 0 || r->stats.connects > 1)
        log_info("redis %s: connected; publishing the outbox", r->addr);
    r->fail_streak = 0;
    later(r, JOB_PUMP);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    relay_t *r = ac->data;
    if (r->ac != ac)
        return; /* we dropped it ourselves, or the connect had failed */
    r->ac = NULL;
    r->in_flight = 0;
    r->batch_failed = r->batch_lost = 0;
    r->stats.connected = 0;
    later(r, JOB_FLUSH);
    if (r->closing) {
        finish_close(r);
        return;
    }
    log_warn("redis %s: connection lost%s%s; reconnecting", r->addr,
             status == REDIS_OK ? "" : ": ", status == REDIS_OK ? "" : ac->errstr);
    schedule_reconnect(r);
}

static void start_connect(relay_t *r)
{
    redisAsyncContext *ac = r->is_unix ? redisAsyncConnectUnix(r->host)
                                       : redisAsyncConnect(r->host, r->port);
    if (!ac || ac->err) {
        connect_failed(r, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    ac->data = r;
    if (redis_uv_attach(ac, r->loop) < 0) {
        connect_failed(r, "cannot watch the socket");
        redisAsyncFree(ac);
        schedule_reconnect(r);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->state = ST_CONNECTING;
    arm(r, T_CONNECT_DEADLINE, CONNECT_TIMEOUT_MS);
}

static void on_timer(uv_timer_t *t)
{
    relay_t *r = t->data;
    timer_purpose_t p = r->purpose;
    r->purpose = T_NONE;
    switch (p) {
    case T_CONNECT:
        start_connect(r);
        break;
    case T_CONNECT_DEADLINE:
        connect_failed(r, "connect timed out");
        drop_connection(r);
        break;
    case T_REPLY_DEADLINE:
        log_warn("redis %s: no answer for %d ms; reconnecting", r->addr, REPLY_TIMEOUT_MS);
        drop_connection(r);
        break;
    case T_RETRY:
    case T_POLL:
        later(r, JOB_PUMP);
        break;
    case T_CLOSE_DEADLINE:
        log_warn("redis %s: no answer while closing; unanswered events stay in the outbox",
                 r->addr);
        drop_connection(r);
        break;
    case T_NONE:
        break;
    }
}

/* Fills host/port (a numeric address when the name resolves) or the socket path. */
static int parse_address(relay_t *r, const char *redis, char *err, size_t errlen)
{
    if (redis[0] == '/') {
        if (strlen(redis) >= sizeof r->host) {
            snprintf(err, errlen, "redis socket path '%s' is too long", redis);
            return -1;
        }
        r->is_unix = 1;
        snprintf(r->host, sizeof r->host, "%s", redis);
        return 0;
    }
    if (config_parse_hostport(redis, r->host, sizeof r->host, &r->port) < 0 || r->port == 0) {
        snprintf(err, errlen,
                 "redis address '%s': expected HOST:PORT, a unix socket path starting with /, "
                 "or empty", redis);
        return -1;
    }
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, r->host, buf) == 1 || inet_pton(AF_INET6, r->host, buf) == 1)
        return 0;
    /* Resolve once now (at start, before the loop runs) so that reconnects
     * never block; IPv4 first, as hiredis itself does. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(r->host, NULL, &hints, &res);
    if (rc != 0) {
        hints.ai_family = AF_INET6;
        rc = getaddrinfo(r->host, NULL, &hints, &res);
    }
    if (rc != 0 || !res) {
        log_warn("redis %s: cannot resolve '%s' (%s); will resolve on every connect", redis,
                 r->host, gai_strerror(rc));
        return 0;
    }
    const void *a = res->ai_family == AF_INET
                        ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                        : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    char numeric[INET6_ADDRSTRLEN];
    if (inet_ntop(res->ai_family, a, numeric, sizeof numeric))
        snprintf(r->host, sizeof r->host, "%s", numeric);
    freeaddrinfo(res);
    return 0;
}

int relay_open(uv_loop_t *loop, store_t *st, const char *redis, const char *channel,
               const char *stream, long long stream_maxlen, relay_t **out, char *err,
               size_t errlen)
{
    *out = NULL;
    assert(!stream || !stream[0] || stream_maxlen > 0);
    relay_t *r = calloc(1, sizeof *r);
    if (!r || !(r->channel = strdup(channel)) || !(r->addr = strdup(redis ? redis : "")) ||
        !(r->stream = strdup(stream ? stream : ""))) {
        if (r) {
            free(r->channel);
            free(r->addr);
        }
        free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->loop = loop;
    r->st = st;
    r->pg = store_backend(st) == STORE_BACKEND_POSTGRESQL;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->stream_maxlen = stream_maxlen;
    r->stats.stream_length = -1;
    if (r->addr[0] && parse_address(r, r->addr, err, errlen) < 0) {
        free(r->channel);
        free(r->stream);
        free(r->addr);
        free(r);
        return -1;
    }
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    if (!r->addr[0]) {
        r->state = ST_DISABLED;
        log_info("redis is not configured: events stay in the outbox");
    } else {
        r->stats.enabled = 1;
        r->state = ST_WAITING;
        arm(r, T_CONNECT, 0);
    }
    *out = r;
    return 0;
}

void relay_kick(relay_t *r)
{
    if (!r || r->closing)
        return;
    if (r->state != ST_CONNECTED || r->in_flight > 0) {
        /* Rows Redis answered before the connection went away are deleted
         * now rather than published again after a restart. */
        if (flush_deletes(r) < 0)
            log_warn("outbox: cannot delete published events: %s",
                     store_errmsg(r->st));
        r->kicked = 1;
        return;
    }
    pump(r);
}

void relay_set_runner(relay_t *r, relay_runner_t run, void *runner)
{
    r->run = run;
    r->runner = runner;
}

void relay_stats(relay_t *r, relay_stats_t *out)
{
    *out = r->stats;
    out->backlog = outbox_backlog(r->st);
}

void relay_flush_in_txn(relay_t *r)
{
    if (!r || r->acked == 0 || !store_in_txn(r->st))
        return;
    /* If the transaction rolls back, the rows come back and, acked being
     * reset, are published again: at least once either way. */
    delete_acked(r);
}

void relay_close(relay_t *r, void (*done)(void *ud), void *ud)
{
    r->closing = 1;
    r->done = done;
    r->done_ud = ud;
    uv_timer_stop(&r->timer);
    r->purpose = T_NONE;
    if (r->state == ST_CONNECTED && r->ac) {
        /* Lets the answers in flight arrive (and their rows be deleted) first. */
        redisAsyncDisconnect(r->ac);
        if (r->ac)
            arm(r, T_CLOSE_DEADLINE, CLOSE_TIMEOUT_MS);
    } else if (r->ac) {
        drop_connection(r);
    } else {
        finish_close(r);
    }
}
