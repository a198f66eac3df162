/* The outbox relay: publishes outbox rows (events/outbox.h) to Redis with
 * PUBLISH <channel> <payload> and, when a stream is configured, also
 * XADD <stream> MAXLEN ~ <maxlen> * event <payload> in the same pipeline (so a
 * consumer that was away can catch up), in seq order, in bounded batches, on
 * the daemon's libuv loop through hiredis' async API (no thread, no blocking
 * call). A row is deleted only after Redis answered both its PUBLISH and its
 * XADD successfully, so delivery is at least once: a refused XADD (say the key
 * is not a stream) keeps the row for a retry with back-off, and a crash between
 * the answers and the delete publishes and appends it again (same envelope id).
 * Redis down or restarting: rows wait, the relay reconnects with exponential
 * back-off (100 ms doubling to 5 s) and then sends them in order.
 *
 * Transactions: the relay shares the process' single SQLite connection. It
 * never reads the outbox while a transaction is open (it would see rows that
 * are not committed yet) and never writes into someone else's transaction; its
 * deletes are single autocommit statements, one per answered batch. So the
 * runtime calls relay_kick after each commit (cheap when there is nothing to
 * do); work that arrived while a transaction was open waits for that kick.
 *
 * PostgreSQL, several nodes: only the node whose session holds the relay's
 * advisory lock publishes (the others try every second); idle, it polls for
 * the other nodes' rows every 200 ms; rows go out in the order they become
 * visible (several writers commit out of seq order), and exactly the seqs
 * Redis acknowledged are deleted. */
#ifndef SAGAD_EVENTS_RELAY_H
#define SAGAD_EVENTS_RELAY_H

#include <stdint.h>
#include <uv.h>

#include "store/db.h"

typedef struct relay_s relay_t;

typedef struct relay_stats_s {
    int enabled;          /* 0 when the redis address is empty */
    int connected;        /* 1 while a Redis connection is up */
    int64_t backlog;      /* outbox rows waiting (negative: the count failed) */
    uint64_t published;   /* PUBLISH commands Redis accepted */
    uint64_t failures;    /* PUBLISH commands that got an error or no answer */
    uint64_t stream_appended; /* XADD commands Redis accepted */
    uint64_t stream_failures; /* XADD commands that got an error or no answer */
    int64_t stream_length;    /* XLEN after the last batch; -1 unknown or streams off */
    uint64_t connects;    /* connections established */
    uint64_t connect_failures;
} relay_stats_t;

/* Creates the relay. `stream` "" or NULL turns streams off; otherwise
 * `stream_maxlen` > 0 bounds it (approximately, MAXLEN ~). `redis` is "host:port", "[v6]:port", a unix socket path
 * starting with "/", or "" (disabled: rows stay in the outbox, kicks do
 * nothing). A hostname is resolved here, once, so that reconnecting never
 * blocks. The first connection attempt starts at once, from the loop. The
 * strings are copied. Returns 0 with *out (close with relay_close), or -1 with
 * `err` saying what is wrong with the address. */
int relay_open(uv_loop_t *loop, store_t *st, const char *redis, const char *channel,
               const char *stream, long long stream_maxlen, relay_t **out, char *err,
               size_t errlen);

/* New rows may have been committed: publish what waits, if connected and no
 * batch is in flight (otherwise the batch's end picks them up). Safe to call
 * at any time: while a transaction is open it only notes the kick, and the
 * next kick after the commit acts on it. NULL is ignored. */
void relay_kick(relay_t *r);

/* Deletes the rows Redis has acknowledged inside the caller's open
 * transaction, so they cost no commit of their own. The runtime calls it just
 * before each commit; a no-op when nothing waits or no transaction is open.
 * (Rows stay counted in the backlog until deleted.) */
void relay_flush_in_txn(relay_t *r);

/* Runs fn(ud) as one of the daemon's entry points, maybe later (core/serial's
 * serial_run has this shape). Returns 0, or a negative code and then fn never
 * runs. */
typedef int (*relay_runner_t)(void *runner, void (*fn)(void *ud), void *ud);

/* Where the relay's store work goes when a loop callback (a Redis answer, a
 * timer) asks for it: through `run` (borrowed `runner`), so that on
 * PostgreSQL it waits for its turn on a fiber instead of finding the
 * session busy with another fiber's statement. Without it (the default, and
 * SQLite's case) that work runs at once. relay_kick, relay_flush_in_txn and
 * relay_stats are called from inside entry points and always run at once.
 * relay_close's `done` comes only after the last turn handed to `run` ran. */
void relay_set_runner(relay_t *r, relay_runner_t run, void *runner);

/* Fills *out; backlog costs one COUNT query over the outbox. */
void relay_stats(relay_t *r, relay_stats_t *out);

/* Stops: waits up to 2 s for answers to PUBLISHes in flight (deleting the rows
 * answered), closes the connection and every handle, frees the relay, then
 * calls done(ud) from the loop. Rows not answered stay in the outbox for the
 * next start. `done` may be NULL. Call it once; `r` is invalid afterwards. */
void relay_close(relay_t *r, void (*done)(void *ud), void *ud);

#endif
