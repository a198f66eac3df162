/* The durable runtime. Executions are trees of frames (the execution itself
 * and its Parallel branches / Map iterations); a ready queue of frames is
 * drained once per loop turn inside one SQLite transaction (group commit),
 * each frame advance in its own savepoint. Every advance writes one history
 * row with its events and the frame's state to resume from; that row is also
 * what crash recovery reads. If a step or the commit fails, the touched
 * executions are rebuilt from the database, so memory never runs ahead of
 * what is durable. */
#include "engine/runtime.h"
#include "asl/exec.h"
#include "asl/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "engine/handler.h"
#include "engine/replay.h"
#include "store/wal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BATCH 256     /* frame advances per transaction (per loop turn) */
#define MAX_CHAIN 64      /* engine steps per frame advance */
/* frame_advance: the execution must end with ex->control set (history
 * limit, engine refusal); the advance itself is not committed. */
#define ADVANCE_END_EXEC (-2)
/* The fewest events a child frame records (a Map iteration: started and
 * ended; a Parallel branch: its first state), for refusing early a fan-out
 * that cannot fit the history limit. */
#define MIN_EVENTS_ITERATION 2
#define MIN_EVENTS_BRANCH 1

const double runtime_latency_bounds_ms[11] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};

typedef struct exec_s exec_t;
typedef struct frame_s frame_t;

/* A scheduled wake-up. The heap owns it; an owner cancels by clearing target. */
typedef enum {
    TMR_FRAME,
    TMR_TASK_TIMEOUT,
    TMR_TASK_HEARTBEAT,
    TMR_EXEC_TIMEOUT,
    TMR_WAITER
} tmr_kind_t;
typedef struct tmr_s {
    int64_t due;
    tmr_kind_t kind;
    void *target;
} tmr_t;

typedef struct waiter_s {
    struct waiter_s *next;
    void (*cb)(void *ud);
    void *ud;
    tmr_t *tmr;
    exec_t *ex;
} waiter_t;

typedef struct reply_s {
    struct reply_s *next;
    runtime_start_cb cb;
    void *ud;
    runtime_status_t status;
} reply_t;

typedef enum {
    CTL_NONE,
    CTL_ABORT,         /* runtime_stop */
    CTL_TIMEOUT,       /* the machine's TimeoutSeconds */
    CTL_FAIL           /* history limit, unrecoverable state, engine refusal */
} exec_control_t;

/* Where an execution's row is: a start is acknowledged exactly when its row
 * is durable, and a durable RUNNING row always has an execution in memory. */
typedef enum {
    ROW_NONE,          /* not written (a new execution, or rolled back) */
    ROW_PENDING,       /* to be inserted by the current frame advance */
    ROW_WRITTEN,       /* in the open transaction */
    ROW_DURABLE        /* committed */
} exec_row_t;

typedef enum { PEND_NONE, PEND_TASK, PEND_TIMER, PEND_CHILDREN, PEND_CONTINUE, PEND_DONE } pend_t;

struct frame_s {
    exec_t *ex;
    frame_t *parent;
    size_t index;
    char *id;                     /* "" for the execution itself */
    const asl_machine_t *m;
    asl_child_t child;            /* children: what to start (input owned) */
    cJSON *cursor;
    int started;
    int dead;                     /* ended or cancelled: ignore */
    pend_t pend;
    /* PEND_TASK */
    const handler_def_t *h;
    char *resource, *handler, *token;
    cJSON *task_input;
    uint32_t attempt;
    int64_t timeout_ms;
    int64_t heartbeat_ms;         /* HeartbeatSeconds * 1000; 0 = none */
    handler_call_t *call;         /* asynchronous call in flight */
    tmr_t *timeout_tmr;
    tmr_t *heartbeat_tmr;
    /* PEND_TIMER */
    int64_t wake_ms;
    tmr_t *tmr;
    /* PEND_CHILDREN */
    frame_t **kids;
    size_t n_kids, next_kid, running, failures;
    uint32_t max_conc;
    size_t tolerated;
    int64_t kids_base;
    cJSON *results;
    /* PEND_DONE for children: {"output": v} or {"error": e, "cause": c} */
    cJSON *done;
    /* the outcome to feed on the next advance */
    int has_outcome;
    asl_outcome_t out;
    char *out_error, *out_cause;
    /* the ready queue (doubly linked, so a destroyed frame leaves it) */
    frame_t *qprev, *qnext;
    int queued;
    uint64_t ready_ns;
    size_t post_slot;             /* 1 + its index in rt->post; 0 = not posted */
    int reserved;                 /* its share of ex->reserved until it starts */
    frame_t *all_next;            /* every frame of the execution, for freeing */
};

struct exec_s {
    char *id, *name;
    const machine_ver_t *mv;
    cJSON *input;
    int64_t start_ms;
    asl_exec_info_t info;
    frame_t *root;
    frame_t *frames;              /* all frames */
    int64_t next_event;
    int is_new, ended, broken, touched;
    int carry_control;            /* broken: rebuild, then end with `control` */
    int64_t reserved;             /* fewest events its unstarted children will add */
    int had_timer;                /* a timers row may exist: delete at the end */
    exec_row_t row;
    int history_events;           /* its own frame's rows hold events, not replay logs */
    exec_control_t control;       /* ending it from outside the engine */
    char *ctl_error, *ctl_cause;
    reply_t *starters, *stoppers;
    waiter_t *waiters;
    tmr_t *timeout_tmr;
    exec_t *hnext;                /* chain by id */
    exec_t *nnext;                /* chain by (machine, name) */
    int linked;                   /* on both hash chains */
};

struct runtime_s {
    uv_loop_t *loop;
    store_t *st;
    store_wal_t *wal; /* checkpoints on the thread pool */
    machines_t *machines;
    const config_t *cfg;
    void (*after_commit)(void *ud);
    void *after_commit_ud;
    void (*before_commit)(void *ud);
    void *before_commit_ud;
    void (*on_count)(void *ud, const char *machine, const char *status);
    void *on_count_ud;
    runtime_stats_t stats;

    exec_t **buckets;             /* by id */
    exec_t **nbuckets_by_name;    /* by (machine, name); same size as buckets */
    size_t nbuckets, nexecs;

    frame_t *ready_head, *ready_tail;
    uv_idle_t pump;
    int pump_on;

    tmr_t **heap;
    size_t nheap, capheap;
    uv_timer_t wheel;

    exec_t **touched;
    size_t ntouched, captouched;
    frame_t **post;
    size_t npost, cappost;

    /* Recovery runs a chunk per loop turn until every RUNNING row is back. */
    int recovering;
    int64_t recover_seq;          /* rows up to this seq are done */
    int recovered, unrecoverable;

    int closing;
    int handles_open;
    void (*on_closed)(void *ud);
    void *on_closed_ud;
};

static const char SQL_INSERT_EXEC[] =
    "INSERT INTO executions (id, machine, machine_version, name, input, start_ms, status) "
    "VALUES (?, ?, ?, ?, ?, ?, 'RUNNING')";
static const char SQL_INSERT_ENDED[] =
    "INSERT INTO executions (id, machine, machine_version, name, input, start_ms, status, "
    "output, error, cause, stop_ms, final_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_END_EXEC[] =
    "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stop_ms = ?, "
    "final_state = ? WHERE id = ?";
static const char SQL_INSERT_HISTORY[] =
    "INSERT INTO history (execution_id, first_id, last_id, ts_ms, frame, events, state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PUT_TIMER[] =
    "INSERT OR REPLACE INTO timers (execution_id, frame, due_ms) VALUES (?, ?, ?)";
static const char SQL_DEL_TIMER[] = "DELETE FROM timers WHERE execution_id = ? AND frame = ?";
static const char SQL_DEL_TIMERS[] = "DELETE FROM timers WHERE execution_id = ?";
static const char SQL_BY_NAME[] =
    "SELECT id, input FROM executions WHERE machine = ? AND name = ?";
static const char SQL_RUNNING_AFTER[] =
    "SELECT id, seq FROM executions WHERE status = 'RUNNING' AND seq > ? ORDER BY seq LIMIT ?";
static const char SQL_LAST_EVENT[] =
    "SELECT coalesce(max(last_id), 0) FROM history WHERE execution_id = ?";
static const char SQL_FAIL_STORED[] =
    "UPDATE executions SET status = 'FAILED', error = ?, cause = ?, stop_ms = ? "
    "WHERE id = ? AND status = 'RUNNING'";
static const char SQL_ONE_RUNNING[] =
    "SELECT id, machine, machine_version, name, input, start_ms FROM executions "
    "WHERE id = ? AND status = 'RUNNING'";
static const char SQL_FRAMES[] =
    "SELECT last_id, frame, state FROM history WHERE execution_id = ? ORDER BY first_id";
static const char SQL_DESCRIBE[] =
    "SELECT id, machine, name, status, start_ms, stop_ms, input, output, error, cause, "
    "final_state, machine_version FROM executions WHERE id = ?";
static const char SQL_HISTORY[] =
    "SELECT first_id, ts_ms, events, frame, last_id FROM history WHERE execution_id = ? "
    "ORDER BY first_id";
static const char SQL_PRUNE_SELECT[] =
    "SELECT id FROM executions WHERE status != 'RUNNING' AND stop_ms < ? ORDER BY seq LIMIT ?";
static const char SQL_PRUNE_EXEC[] = "DELETE FROM executions WHERE id = ?";
static const char SQL_TASK_SAVEPOINT[] = "SAVEPOINT task";
static const char SQL_TASK_RELEASE[] = "RELEASE task";
static const char SQL_TASK_ROLLBACK[] = "ROLLBACK TO task";
static const char SQL_PRUNE_HISTORY[] = "DELETE FROM history WHERE execution_id = ?";
static const char SQL_FIRST_ROOT_ROW[] =
    "SELECT substr(events, 1, 1) FROM history WHERE execution_id = ? AND frame = '' "
    "ORDER BY first_id LIMIT 1";

static void schedule_pump(runtime_t *rt);
static int write_exec_row(runtime_t *rt, exec_t *ex);
static void exec_destroy(runtime_t *rt, exec_t *ex);
static exec_t *recover_id(runtime_t *rt, const char *id);
static void recover_chunk(runtime_t *rt);

static void count(runtime_t *rt, const exec_t *ex, const char *status)
{
    if (rt->on_count)
        rt->on_count(rt->on_count_ud, ex->mv->name, status);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *print_json(const cJSON *v)
{
    char *s = asl_json_print(v);
    return s ? s : cJSON_PrintUnformatted(v);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* ---- execution table (id -> exec) -------------------------------------- */

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static size_t hash_name(const char *machine, const char *name)
{
    return hash_str(machine) * 31 + hash_str(name);
}

static exec_t *exec_find(runtime_t *rt, const char *id)
{
    for (exec_t *e = rt->buckets[hash_str(id) & (rt->nbuckets - 1)]; e; e = e->hnext)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

/* A running execution of `machine` named `name`, if in memory. */
static exec_t *find_by_name(runtime_t *rt, const char *machine, const char *name)
{
    size_t k = hash_name(machine, name) & (rt->nbuckets - 1);
    for (exec_t *e = rt->nbuckets_by_name[k]; e; e = e->nnext)
        if (strcmp(e->name, name) == 0 && strcmp(e->mv->name, machine) == 0)
            return e;
    return NULL;
}

static void link_exec(runtime_t *rt, exec_t *ex)
{
    ex->linked = 1;
    size_t k = hash_str(ex->id) & (rt->nbuckets - 1);
    ex->hnext = rt->buckets[k];
    rt->buckets[k] = ex;
    k = hash_name(ex->mv->name, ex->name) & (rt->nbuckets - 1);
    ex->nnext = rt->nbuckets_by_name[k];
    rt->nbuckets_by_name[k] = ex;
}

static void exec_insert(runtime_t *rt, exec_t *ex)
{
    if (rt->nexecs + 1 > rt->nbuckets) {
        size_t nb = rt->nbuckets * 2;
        exec_t **b = calloc(nb, sizeof *b), **bn = calloc(nb, sizeof *bn);
        if (b && bn) {
            exec_t **old = rt->buckets;
            size_t on = rt->nbuckets;
            free(rt->nbuckets_by_name);
            rt->buckets = b;
            rt->nbuckets_by_name = bn;
            rt->nbuckets = nb;
            for (size_t i = 0; i < on; i++) {
                for (exec_t *e = old[i], *n; e; e = n) {
                    n = e->hnext;
                    link_exec(rt, e);
                }
            }
            free(old);
        } else {
            free(b);
            free(bn);
        }
    }
    link_exec(rt, ex);
    rt->nexecs++;
    rt->stats.open_executions = rt->nexecs;
}

static void exec_remove(runtime_t *rt, exec_t *ex)
{
    if (!ex->linked)
        return;
    ex->linked = 0;
    exec_t **pp = &rt->buckets[hash_str(ex->id) & (rt->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == ex) {
            *pp = ex->hnext;
            rt->nexecs--;
            break;
        }
    }
    pp = &rt->nbuckets_by_name[hash_name(ex->mv->name, ex->name) & (rt->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->nnext) {
        if (*pp == ex) {
            *pp = ex->nnext;
            break;
        }
    }
    rt->stats.open_executions = rt->nexecs;
}

/* ---- timer heap ---------------------------------------------------------- */

static void heap_swap(runtime_t *rt, size_t a, size_t b)
{
    tmr_t *t = rt->heap[a];
    rt->heap[a] = rt->heap[b];
    rt->heap[b] = t;
}

static void heap_up(runtime_t *rt, size_t i)
{
    while (i > 0 && rt->heap[(i - 1) / 2]->due > rt->heap[i]->due) {
        heap_swap(rt, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(runtime_t *rt, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < rt->nheap && rt->heap[l]->due < rt->heap[m]->due)
            m = l;
        if (r < rt->nheap && rt->heap[r]->due < rt->heap[m]->due)
            m = r;
        if (m == i)
            return;
        heap_swap(rt, i, m);
        i = m;
    }
}

static void wheel_rearm(runtime_t *rt);

static tmr_t *tmr_add(runtime_t *rt, int64_t due, tmr_kind_t kind, void *target)
{
    if (rt->nheap == rt->capheap) {
        size_t cap = rt->capheap ? rt->capheap * 2 : 64;
        tmr_t **h = realloc(rt->heap, cap * sizeof *h);
        if (!h)
            return NULL;
        rt->heap = h;
        rt->capheap = cap;
    }
    tmr_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->due = due;
    t->kind = kind;
    t->target = target;
    rt->heap[rt->nheap++] = t;
    heap_up(rt, rt->nheap - 1);
    if (rt->heap[0] == t)
        wheel_rearm(rt);
    return t;
}

static void tmr_cancel(tmr_t **t)
{
    if (*t)
        (*t)->target = NULL;
    *t = NULL;
}

static void on_wheel(uv_timer_t *h);

static void wheel_rearm(runtime_t *rt)
{
    while (rt->nheap && !rt->heap[0]->target) {
        free(rt->heap[0]);
        rt->heap[0] = rt->heap[--rt->nheap];
        heap_down(rt, 0);
    }
    if (!rt->nheap || rt->closing) {
        uv_timer_stop(&rt->wheel);
        return;
    }
    int64_t delay = rt->heap[0]->due - store_now_ms();
    uv_timer_start(&rt->wheel, on_wheel, delay > 0 ? (uint64_t)delay : 0, 0);
}

/* ---- ready queue ------------------------------------------------------- */

static void enqueue(runtime_t *rt, frame_t *fr)
{
    if (fr->queued || fr->dead)
        return;
    fr->queued = 1;
    fr->qnext = NULL;
    fr->qprev = rt->ready_tail;
    fr->ready_ns = mono_ns();
    if (rt->ready_tail)
        rt->ready_tail->qnext = fr;
    else
        rt->ready_head = fr;
    rt->ready_tail = fr;
    schedule_pump(rt);
}

static void ready_unlink(runtime_t *rt, frame_t *fr)
{
    if (!fr->queued)
        return;
    if (fr->qprev)
        fr->qprev->qnext = fr->qnext;
    else
        rt->ready_head = fr->qnext;
    if (fr->qnext)
        fr->qnext->qprev = fr->qprev;
    else
        rt->ready_tail = fr->qprev;
    fr->qprev = fr->qnext = NULL;
    fr->queued = 0;
}

static frame_t *dequeue(runtime_t *rt)
{
    frame_t *fr = rt->ready_head;
    if (fr)
        ready_unlink(rt, fr);
    return fr;
}

/* Room for element `n` of an array of `cap` elements of `size` bytes: the
 * array (perhaps moved), or NULL when out of memory (the old one is kept). */
static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    size_t c = *cap ? *cap * 2 : 64;
    void *a = realloc(arr, c * size);
    if (a)
        *cap = c;
    return a;
}

/* Puts the execution on the list after_batch settles. 0 or -1 (out of
 * memory: not listed, not flagged). */
static int touch(runtime_t *rt, exec_t *ex)
{
    if (ex->touched)
        return 0;
    exec_t **a = grow(rt->touched, rt->ntouched, &rt->captouched, sizeof *a);
    if (!a)
        return -1;
    rt->touched = a;
    a[rt->ntouched++] = ex;
    ex->touched = 1;
    return 0;
}

/* Asks after_batch to start what the frame waits for once its state is
 * durable. 0 or -1 (out of memory). */
static int post(runtime_t *rt, frame_t *fr)
{
    if (fr->post_slot)
        return 0;
    frame_t **a = grow(rt->post, rt->npost, &rt->cappost, sizeof *a);
    if (!a)
        return -1;
    rt->post = a;
    a[rt->npost++] = fr;
    fr->post_slot = rt->npost;
    return 0;
}

/* Takes the frame off the post list (its slot stays, empty). */
static void post_unlink(runtime_t *rt, frame_t *fr)
{
    if (!fr->post_slot)
        return;
    assert(fr->post_slot <= rt->npost && rt->post[fr->post_slot - 1] == fr);
    rt->post[fr->post_slot - 1] = NULL;
    fr->post_slot = 0;
}

/* ---- frames ------------------------------------------------------------- */

static frame_t *frame_new(runtime_t *rt, exec_t *ex, frame_t *parent, size_t index,
                          const char *id, const asl_machine_t *m)
{
    frame_t *fr = calloc(1, sizeof *fr);
    if (!fr)
        return NULL;
    fr->id = strdup(id);
    if (!fr->id) {
        free(fr);
        return NULL;
    }
    fr->ex = ex;
    fr->parent = parent;
    fr->index = index;
    fr->m = m;
    fr->all_next = ex->frames;
    ex->frames = fr;
    rt->stats.frames_created++;
    return fr;
}

static void clear_outcome(frame_t *fr)
{
    cJSON_Delete(fr->out.result);
    cJSON_Delete(fr->out.children);
    free(fr->out_error);
    free(fr->out_cause);
    memset(&fr->out, 0, sizeof fr->out);
    fr->out_error = fr->out_cause = NULL;
    fr->has_outcome = 0;
}

static void set_failure(frame_t *fr, const char *error, const char *cause)
{
    clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_TASK_FAILED;
    fr->out_error = xstrdup(error);
    fr->out_cause = xstrdup(cause);
    fr->out.error = fr->out_error;
    fr->out.cause = fr->out_cause;
    fr->has_outcome = 1;
}

static void set_result(frame_t *fr, cJSON *result)
{
    clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_TASK_SUCCEEDED;
    fr->out.result = result;
    fr->has_outcome = 1;
}

static void free_call(frame_t *fr, int cancel)
{
    if (!fr->call)
        return;
    if (cancel && fr->h && fr->h->cancel)
        fr->h->cancel(fr->call);
    free(fr->call);
    fr->call = NULL;
}

static void clear_task(frame_t *fr, int cancel)
{
    free_call(fr, cancel);
    tmr_cancel(&fr->timeout_tmr);
    tmr_cancel(&fr->heartbeat_tmr);
    free(fr->resource);
    free(fr->handler);
    free(fr->token);
    cJSON_Delete(fr->task_input);
    fr->resource = fr->handler = fr->token = NULL;
    fr->task_input = NULL;
    fr->h = NULL;
}

/* The frame has started (or will never start): its reservation is over. */
static void unreserve(frame_t *fr)
{
    fr->ex->reserved -= fr->reserved;
    fr->reserved = 0;
    assert(fr->ex->reserved >= 0);
}

/* Drops whatever the frame waits for (timers, asynchronous calls). */
static void frame_quiesce(frame_t *fr)
{
    unreserve(fr);
    clear_task(fr, 1);
    tmr_cancel(&fr->tmr);
    fr->dead = 1;
}

/* Unlinks the frame from the ready queue, the post list and its timers, and
 * frees it. */
static void frame_destroy(runtime_t *rt, frame_t *fr)
{
    frame_quiesce(fr);
    ready_unlink(rt, fr);
    post_unlink(rt, fr);
    assert(!fr->queued && !fr->post_slot && !fr->call);
    assert(!fr->tmr && !fr->timeout_tmr && !fr->heartbeat_tmr);
    clear_outcome(fr);
    cJSON_Delete(fr->cursor);
    cJSON_Delete(fr->child.input);
    cJSON_Delete(fr->results);
    cJSON_Delete(fr->done);
    free(fr->kids);
    free(fr->id);
    free(fr);
}

/* ---- executions ---------------------------------------------------------- */

static exec_t *exec_new(runtime_t *rt, const machine_ver_t *mv, const char *id, const char *name,
                        cJSON *input_taken, int64_t start_ms)
{
    exec_t *ex = calloc(1, sizeof *ex);
    if (!ex) {
        cJSON_Delete(input_taken);
        return NULL;
    }
    ex->id = strdup(id);
    ex->name = strdup(name ? name : id);
    ex->mv = mv;
    ex->input = input_taken;
    ex->start_ms = start_ms;
    ex->next_event = 1;
    if (!ex->id || !ex->name || !(ex->root = frame_new(rt, ex, NULL, 0, "", mv->machine))) {
        free(ex->id);
        free(ex->name);
        cJSON_Delete(ex->input);
        free(ex);
        return NULL;
    }
    replay_info_init(&ex->info, ex->id, ex->name, ex->input, start_ms, mv->name);
    return ex;
}

static void replies_fire(reply_t **list, const char *id, runtime_status_t override, int use)
{
    reply_t *r = *list;
    *list = NULL;
    while (r) {
        reply_t *n = r->next;
        r->cb(r->ud, use ? override : r->status, id);
        free(r);
        r = n;
    }
}

static void waiters_fire(exec_t *ex)
{
    waiter_t *w = ex->waiters;
    ex->waiters = NULL;
    while (w) {
        waiter_t *n = w->next;
        tmr_cancel(&w->tmr);
        w->cb(w->ud);
        free(w);
        w = n;
    }
}

/* Unlinks the execution from the id and name tables, destroys its frames
 * and frees it. Whoever waits for it has been answered or moved: its
 * replies and waiters are empty, and it is not on the touched list. */
static void exec_destroy(runtime_t *rt, exec_t *ex)
{
    assert(!ex->touched && !ex->starters && !ex->stoppers && !ex->waiters);
    exec_remove(rt, ex);
    for (frame_t *fr = ex->frames, *n; fr; fr = n) {
        n = fr->all_next;
        frame_destroy(rt, fr);
    }
    tmr_cancel(&ex->timeout_tmr);
    free(ex->ctl_error);
    free(ex->ctl_cause);
    free(ex->id);
    free(ex->name);
    cJSON_Delete(ex->input);
    free(ex);
}

static void arm_exec_timeout(runtime_t *rt, exec_t *ex)
{
    uint32_t secs = asl_machine_timeout_seconds(ex->mv->machine);
    if (secs && !ex->timeout_tmr)
        ex->timeout_tmr = tmr_add(rt, ex->start_ms + (int64_t)secs * 1000, TMR_EXEC_TIMEOUT, ex);
}

/* ---- persistence of one advance ----------------------------------------- */

/* The frame's resume state as stored in history.state. */
static cJSON *frame_record(frame_t *fr)
{
    cJSON *rec = cJSON_CreateObject();
    if (!rec)
        return NULL;
    if (fr->pend == PEND_DONE) {
        cJSON_AddItemReferenceToObject(rec, "d", fr->done);
        return rec;
    }
    cJSON_AddItemReferenceToObject(rec, "c", fr->cursor);
    switch (fr->pend) {
    case PEND_TASK:
        cJSON_AddStringToObject(rec, "p", "task");
        cJSON_AddStringToObject(rec, "r", fr->resource);
        cJSON_AddStringToObject(rec, "h", fr->handler);
        cJSON_AddItemReferenceToObject(rec, "i", fr->task_input);
        cJSON_AddStringToObject(rec, "t", fr->token ? fr->token : "");
        cJSON_AddNumberToObject(rec, "a", fr->attempt);
        cJSON_AddNumberToObject(rec, "to", (double)fr->timeout_ms);
        if (fr->heartbeat_ms > 0)
            cJSON_AddNumberToObject(rec, "hb", (double)fr->heartbeat_ms);
        break;
    case PEND_TIMER:
        cJSON_AddStringToObject(rec, "p", "timer");
        cJSON_AddNumberToObject(rec, "w", (double)fr->wake_ms);
        break;
    case PEND_CHILDREN: {
        cJSON_AddStringToObject(rec, "p", "children");
        cJSON_AddNumberToObject(rec, "b", (double)fr->kids_base);
        cJSON_AddNumberToObject(rec, "mc", fr->max_conc);
        cJSON_AddNumberToObject(rec, "tol", (double)fr->tolerated);
        cJSON *ch = cJSON_AddArrayToObject(rec, "ch");
        for (size_t i = 0; i < fr->n_kids; i++) {
            frame_t *k = fr->kids[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "k", k->child.kind);
            cJSON_AddStringToObject(o, "s", k->child.parent_state);
            cJSON_AddNumberToObject(o, "x", (double)k->child.index);
            cJSON_AddItemReferenceToObject(o, "i", k->child.input);
            cJSON_AddItemToArray(ch, o);
        }
        break;
    }
    default:
        cJSON_AddStringToObject(rec, "p", "continue");
        break;
    }
    return rec;
}

/* Payload keys an event may repeat from the event before it. */
static const char *const payload_keys[] = {"input", "output"};

/* A state's input is usually the output of the event just before it (the
 * previous state's exit, or the execution's start). Such a repeated payload
 * is stored as "<key>$": "<key of the previous event>" and restored by
 * expand_events on read; the stored row shrinks by about a third. Works on
 * the raw payloads the engine prints for the runtime. */
static void compact_events(cJSON *events)
{
    cJSON *repeats[2 * 64], *parents[2 * 64];
    const char *from[2 * 64];
    size_t n = 0;
    const cJSON *pd = NULL;
    for (cJSON *ev = events->child; ev && n + 2 <= 2 * 64; ev = ev->next) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "details");
        for (int k = 0; d && pd && k < 2; k++) {
            cJSON *p = cJSON_GetObjectItemCaseSensitive(d, payload_keys[k]);
            if (!cJSON_IsRaw(p))
                continue;
            for (int j = 1; j >= 0; j--) {
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(pd, payload_keys[j]);
                if (cJSON_IsRaw(q) && strcmp(p->valuestring, q->valuestring) == 0) {
                    repeats[n] = p;
                    parents[n] = d;
                    from[n++] = payload_keys[j];
                    break;
                }
            }
        }
        pd = d;
    }
    /* Replace after the scan: a replaced payload may be the next one's source. */
    for (size_t i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%s$", repeats[i]->string);
        cJSON_Delete(cJSON_DetachItemViaPointer(parents[i], repeats[i]));
        cJSON_AddStringToObject(parents[i], key, from[i]);
    }
}

/* Restores the payloads compact_events replaced, in one row's events. */
static void expand_events(cJSON *events)
{
    const cJSON *pd = NULL;
    for (cJSON *ev = events->child; ev; ev = ev->next) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "details");
        for (int k = 0; d && k < 2; k++) {
            char key[16];
            snprintf(key, sizeof key, "%s$", payload_keys[k]);
            cJSON *ref = cJSON_GetObjectItemCaseSensitive(d, key);
            if (!cJSON_IsString(ref))
                continue;
            const cJSON *src = pd ? cJSON_GetObjectItemCaseSensitive(pd, ref->valuestring) : NULL;
            cJSON_DeleteItemFromObjectCaseSensitive(d, key);
            cJSON_AddItemToObject(d, payload_keys[k], src ? cJSON_Duplicate(src, 1) : cJSON_CreateNull());
        }
        pd = d;
    }
}

/* One history row: `text` (taken) holds either the events themselves (a JSON
 * array) or, for the execution's own frame, the replay log of the advance
 * (a JSON object, engine/replay.h); `n` events either way. */
static int write_history_text(runtime_t *rt, frame_t *fr, char *text, int64_t n,
                              int64_t first_id, int with_state)
{
    exec_t *ex = fr->ex;
    if (write_exec_row(rt, ex) < 0 || (n == 0 && !with_state)) {
        int rc = n == 0 && !with_state && text ? 0 : -1;
        free(text);
        return rc;
    }
    char *state = NULL;
    if (with_state) {
        cJSON *rec = frame_record(fr);
        state = rec ? print_json(rec) : NULL;
        cJSON_Delete(rec);
        if (!state) {
            free(text);
            return -1;
        }
    }
    sqlite3_stmt *s = store_prepare(rt->st, SQL_INSERT_HISTORY);
    if (!s || !text) {
        free(text);
        free(state);
        return -1;
    }
    sqlite3_bind_text(s, 1, ex->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, first_id);
    sqlite3_bind_int64(s, 3, first_id + n - 1);
    sqlite3_bind_int64(s, 4, store_now_ms());
    sqlite3_bind_text(s, 5, fr->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, text, -1, free);
    if (state)
        sqlite3_bind_text(s, 7, state, -1, free);
    else
        sqlite3_bind_null(s, 7);
    return store_exec_stmt(s);
}

static int write_history(runtime_t *rt, frame_t *fr, cJSON *events, int64_t first_id,
                         int with_state)
{
    compact_events(events);
    return write_history_text(rt, fr, print_json(events), cJSON_GetArraySize(events), first_id,
                              with_state);
}

static int timer_row(runtime_t *rt, frame_t *fr, int put)
{
    if (put)
        fr->ex->had_timer = 1;
    sqlite3_stmt *s = store_prepare(rt->st, put ? SQL_PUT_TIMER : SQL_DEL_TIMER);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, fr->ex->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, fr->id, -1, SQLITE_STATIC);
    if (put)
        sqlite3_bind_int64(s, 3, fr->wake_ms);
    return store_exec_stmt(s);
}

/* Binds parameters 1-6 of SQL_INSERT_EXEC and SQL_INSERT_ENDED: the columns
 * an executions row has from its start. */
static void bind_exec_start(sqlite3_stmt *s, exec_t *ex)
{
    sqlite3_bind_text(s, 1, ex->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, ex->mv->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, ex->mv->version);
    sqlite3_bind_text(s, 4, ex->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, print_json(ex->input), -1, free);
    sqlite3_bind_int64(s, 6, ex->start_ms);
}

/* Writes the end of an execution to its row; when the row is still pending
 * (it started in this same frame advance) it is inserted once, already
 * ended, instead of an INSERT and an UPDATE. */
static int end_row(runtime_t *rt, exec_t *ex, const char *status, const cJSON *output,
                   const char *error, const char *cause, const char *final_state)
{
    int insert = ex->row == ROW_PENDING;
    sqlite3_stmt *s = store_prepare(rt->st, insert ? SQL_INSERT_ENDED : SQL_END_EXEC);
    if (!s)
        return -1;
    /* status, then output..final_state from `col` on */
    int col = insert ? 8 : 2;
    if (insert)
        bind_exec_start(s, ex);
    else
        sqlite3_bind_text(s, 7, ex->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, col - 1, status, -1, SQLITE_STATIC);
    if (output)
        sqlite3_bind_text(s, col, print_json(output), -1, free);
    else
        sqlite3_bind_null(s, col);
    bind_text_or_null(s, col + 1, error);
    bind_text_or_null(s, col + 2, cause);
    sqlite3_bind_int64(s, col + 3, store_now_ms());
    bind_text_or_null(s, col + 4, final_state);
    int rc = store_exec_stmt(s);
    if (rc == 0 && insert)
        ex->row = ROW_WRITTEN;
    if (rc == 0 && ex->had_timer && (s = store_prepare(rt->st, SQL_DEL_TIMERS))) {
        sqlite3_bind_text(s, 1, ex->id, -1, SQLITE_STATIC);
        rc = store_exec_stmt(s);
    }
    return rc;
}

/* A new execution's row. Deferred to the first history row or end_row of
 * the same frame advance, which run in the same savepoint and transaction:
 * the row is durable exactly when it was before (at that commit, ahead of
 * any reply or asynchronous start), and an execution that ends within its
 * first advance is written once. */
static int insert_exec_row(runtime_t *rt, exec_t *ex)
{
    (void)rt;
    assert(ex->row == ROW_NONE);
    ex->row = ROW_PENDING;
    return 0;
}

/* Writes a pending executions row as RUNNING. */
static int write_exec_row(runtime_t *rt, exec_t *ex)
{
    if (ex->row != ROW_PENDING)
        return 0;
    sqlite3_stmt *s = store_prepare(rt->st, SQL_INSERT_EXEC);
    if (!s)
        return -1;
    bind_exec_start(s, ex);
    if (store_exec_stmt(s) < 0)
        return -1;
    ex->row = ROW_WRITTEN;
    return 0;
}

/* Ends every frame of the execution: nothing more will run. */
static void exec_quiesce(exec_t *ex)
{
    for (frame_t *fr = ex->frames; fr; fr = fr->all_next)
        frame_quiesce(fr);
    tmr_cancel(&ex->timeout_tmr);
}

/* Asks for the execution to end from outside the engine; the first request
 * wins. The strings are borrowed (copied). */
static void set_control(exec_t *ex, exec_control_t kind, const char *error, const char *cause)
{
    if (ex->control != CTL_NONE)
        return;
    ex->control = kind;
    ex->ctl_error = xstrdup(error);
    ex->ctl_cause = xstrdup(cause);
}

static void set_history_full(runtime_t *rt, exec_t *ex)
{
    char cause[128];
    snprintf(cause, sizeof cause,
             "the execution history would exceed its limit of %d events (history_limit)",
             rt->cfg->history_limit);
    set_control(ex, CTL_FAIL, ASL_E_RUNTIME, cause);
}

static cJSON *control_event(const char *type, const char *error, const char *cause)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", type);
    cJSON *d = cJSON_AddObjectToObject(ev, "details");
    if (error)
        cJSON_AddStringToObject(d, "error", error);
    if (cause)
        cJSON_AddStringToObject(d, "cause", cause);
    return ev;
}

/* Ends the execution from outside the engine (abort, timeout, history limit). */
static int exec_end_control(runtime_t *rt, exec_t *ex)
{
    const char *status, *type, *error = ex->ctl_error, *cause = ex->ctl_cause;
    assert(ex->control != CTL_NONE);
    switch (ex->control) {
    case CTL_ABORT: status = "ABORTED"; type = "ExecutionAborted"; break;
    case CTL_TIMEOUT: status = "TIMED_OUT"; type = "ExecutionTimedOut"; break;
    default: status = "FAILED"; type = "ExecutionFailed"; break;
    }
    cJSON *events = cJSON_CreateArray();
    cJSON_AddItemToArray(events, control_event(type, error, cause));
    int64_t first = ex->next_event++;
    const char *state = ex->root->cursor ? asl_cursor_state(ex->root->cursor) : NULL;
    char *final_state = xstrdup(state);
    int rc = write_history(rt, ex->root, events, first, 0);
    cJSON_Delete(events);
    if (rc == 0)
        rc = end_row(rt, ex, status, NULL, error, cause, final_state);
    free(final_state);
    if (rc < 0)
        return -1;
    exec_quiesce(ex);
    ex->ended = 1;
    if (ex->control == CTL_ABORT)
        rt->stats.aborted++;
    else if (ex->control == CTL_TIMEOUT)
        rt->stats.timed_out++;
    else
        rt->stats.failed++;
    count(rt, ex, status);
    return 0;
}

/* ---- children ------------------------------------------------------------ */

static void launch_kids(runtime_t *rt, frame_t *fr)
{
    while (fr->next_kid < fr->n_kids && (fr->max_conc == 0 || fr->running < fr->max_conc)) {
        frame_t *k = fr->kids[fr->next_kid++];
        if (k->pend == PEND_DONE)
            continue;
        fr->running++;
        enqueue(rt, k);
    }
}

static void kids_result(runtime_t *rt, frame_t *fr)
{
    int fail_fast = fr->failures > fr->tolerated;
    size_t ended = 0;
    for (size_t i = 0; i < fr->n_kids; i++)
        ended += fr->kids[i]->pend == PEND_DONE;
    if (!fail_fast && ended < fr->n_kids) {
        launch_kids(rt, fr);
        return;
    }
    cJSON *res = cJSON_CreateArray();
    for (size_t i = 0; i < fr->n_kids; i++) {
        frame_t *k = fr->kids[i];
        if (k->pend == PEND_DONE) {
            cJSON_AddItemToArray(res, cJSON_Duplicate(k->done, 1));
        } else {
            cJSON_AddItemToArray(res, cJSON_CreateNull());
            frame_quiesce(k);
        }
    }
    clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_CHILDREN;
    fr->out.children = res;
    fr->has_outcome = 1;
    fr->running = 0;
    enqueue(rt, fr);
}

static void child_ended(runtime_t *rt, frame_t *k)
{
    frame_t *p = k->parent;
    if (!p || p->dead || p->pend != PEND_CHILDREN)
        return;
    if (p->running)
        p->running--;
    if (cJSON_GetObjectItemCaseSensitive(k->done, "error"))
        p->failures++;
    kids_result(rt, p);
}

static frame_t *make_kid(runtime_t *rt, frame_t *p, size_t i, asl_child_kind_t kind, const char *parent_state,
                         size_t index, cJSON *input_taken)
{
    char id[512];
    snprintf(id, sizeof id, "%s/%" PRId64 "/%zu", p->id, p->kids_base, i);
    long si = asl_machine_find_state(p->m, parent_state);
    const asl_machine_t *m = si < 0 ? NULL
        : asl_machine_state_branch(p->m, (size_t)si, kind == ASL_CHILD_BRANCH ? index : 0);
    if (!m) {
        cJSON_Delete(input_taken);
        return NULL;
    }
    frame_t *k = frame_new(rt, p->ex, p, i, id, m);
    if (!k) {
        cJSON_Delete(input_taken);
        return NULL;
    }
    k->reserved = kind == ASL_CHILD_ITERATION ? MIN_EVENTS_ITERATION : MIN_EVENTS_BRANCH;
    p->ex->reserved += k->reserved;
    k->child.kind = kind;
    k->child.machine = m;
    k->child.parent_state = asl_machine_state_name(p->m, (size_t)si);
    k->child.index = index;
    k->child.input = input_taken;
    return k;
}

/* ---- advancing a frame --------------------------------------------------- */

static void run_sync(runtime_t *rt, frame_t *fr)
{
    handler_call_t call = {
        .store = rt->st,
        .cfg = rt->cfg,
        .execution_id = fr->ex->id,
        .state_name = asl_cursor_state(fr->cursor),
        .attempt = (int)fr->attempt,
        .token = fr->token,
        .now_ms = store_now_ms(),
        .loop = rt->loop,
    };
    cJSON *result = NULL;
    asl_error_t err = {0};
    /* The handler's effects roll back alone when it fails; the failure is
     * still recorded as a TaskFailed transition. */
    int sp = !fr->h->atomic;
    if (sp && store_exec_cached(rt->st, SQL_TASK_SAVEPOINT) < 0) {
        set_failure(fr, ASL_E_TASK_FAILED, "database error before running the handler");
        return;
    }
    int rc = fr->h->run(&call, fr->task_input, &result, &err);
    if (rc == 0) {
        if (sp)
            store_exec_cached(rt->st, SQL_TASK_RELEASE);
        set_result(fr, result);
    } else {
        if (sp) {
            store_exec_cached(rt->st, SQL_TASK_ROLLBACK);
            store_exec_cached(rt->st, SQL_TASK_RELEASE);
        }
        cJSON_Delete(result);
        set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED,
                    err.cause ? err.cause : "the handler failed");
    }
    asl_error_clear(&err);
}

/* Applies one engine step to the frame; `used` events are recorded or in
 * this advance. Returns 1 to keep going (a synchronous task is pending), 0
 * to stop, ADVANCE_END_EXEC or -1 on error. */
static int apply_step(runtime_t *rt, frame_t *fr, asl_step_t *step, int64_t used)
{
    exec_t *ex = fr->ex;
    switch (step->kind) {
    case ASL_STEP_RUN_TASK:
        fr->pend = PEND_TASK;
        fr->cursor = asl_step_take_cursor(step);
        fr->resource = xstrdup(step->resource);
        fr->handler = xstrdup(step->handler);
        fr->task_input = step->task_input;
        step->task_input = NULL;
        fr->token = step->task_token;
        step->task_token = NULL;
        fr->attempt = step->attempt;
        fr->timeout_ms = step->timeout_ms;
        fr->heartbeat_ms = step->heartbeat_ms;
        fr->h = handler_lookup(fr->handler ? fr->handler : "");
        if (!fr->h || fr->h->run)
            return 1;
        return post(rt, fr);
    case ASL_STEP_WAIT:
    case ASL_STEP_RETRY:
        fr->pend = PEND_TIMER;
        fr->cursor = asl_step_take_cursor(step);
        fr->wake_ms = step->wake_at_ms;
        if (timer_row(rt, fr, 1) < 0)
            return -1;
        return post(rt, fr);
    case ASL_STEP_RUN_CHILDREN: {
        /* Refused before building anything when even the fewest events of
         * these and the already started children cannot fit. */
        int64_t need = used + ex->reserved + 1;
        for (size_t i = 0; i < step->n_children; i++)
            need += step->children[i].kind == ASL_CHILD_ITERATION ? MIN_EVENTS_ITERATION
                                                                  : MIN_EVENTS_BRANCH;
        if (need > rt->cfg->history_limit) {
            set_history_full(rt, ex);
            return ADVANCE_END_EXEC;
        }
        fr->pend = PEND_CHILDREN;
        fr->cursor = asl_step_take_cursor(step);
        fr->kids_base = ex->next_event;
        fr->max_conc = step->max_concurrency;
        fr->tolerated = step->tolerated_failures;
        fr->failures = fr->running = fr->next_kid = 0;
        free(fr->kids);
        fr->kids = calloc(step->n_children ? step->n_children : 1, sizeof *fr->kids);
        fr->n_kids = 0;
        if (!fr->kids)
            return -1;
        for (size_t i = 0; i < step->n_children; i++) {
            asl_child_t *c = &step->children[i];
            frame_t *k = make_kid(rt, fr, i, c->kind, c->parent_state, c->index, c->input);
            c->input = NULL;
            if (!k)
                return -1;
            fr->kids[fr->n_kids++] = k;
        }
        if (fr->n_kids == 0) {
            clear_outcome(fr);
            fr->out.kind = ASL_OUTCOME_CHILDREN;
            fr->out.children = cJSON_CreateArray();
            fr->has_outcome = 1;
            enqueue(rt, fr);
        } else {
            launch_kids(rt, fr);
        }
        return 0;
    }
    case ASL_STEP_CONTINUE:
        fr->pend = PEND_CONTINUE;
        fr->cursor = asl_step_take_cursor(step);
        clear_outcome(fr);
        fr->has_outcome = 1;   /* ASL_OUTCOME_NONE */
        return post(rt, fr);   /* re-queued after the commit, for fairness */
    case ASL_STEP_SUCCEEDED:
    case ASL_STEP_FAILED: {
        int ok = step->kind == ASL_STEP_SUCCEEDED;
        fr->pend = PEND_DONE;
        fr->done = cJSON_CreateObject();
        if (ok) {
            cJSON_AddItemToObject(fr->done, "output", step->output ? step->output : cJSON_CreateNull());
            step->output = NULL;
        } else {
            cJSON_AddStringToObject(fr->done, "error", step->error.error ? step->error.error : "States.Runtime");
            cJSON_AddStringToObject(fr->done, "cause", step->error.cause ? step->error.cause : "");
        }
        if (fr->parent)
            return 0;   /* the parent learns after the history row is written */
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(fr->done, "output");
        if (end_row(rt, ex, ok ? "SUCCEEDED" : "FAILED", ok ? o : NULL,
                    ok ? NULL : step->error.error, ok ? NULL : step->error.cause, step->state) < 0)
            return -1;
        ex->ended = 1;
        if (ok)
            rt->stats.succeeded++;
        else
            rt->stats.failed++;
        count(rt, ex, ok ? "SUCCEEDED" : "FAILED");
        return 0;
    }
    }
    return -1;
}

/* One frame advance: feeds the pending outcome (running synchronous handlers
 * inline), steps the engine until it waits for the outside, and writes one
 * history row. Runs inside the frame's savepoint. */
static int frame_advance(runtime_t *rt, frame_t *fr)
{
    exec_t *ex = fr->ex;
    asl_env_t env = {.now_ms = store_now_ms(), .random64 = rand_u64_ud, .raw_payloads = 1};
    asl_exec_info_t info = ex->info;
    info.instance_id = fr->parent ? fr->id : ex->id;
    /* The execution's own frame stores a replay log, children their events
     * (and every frame with history_format=events). */
    replay_log_t lg = {0};
    cJSON *events = NULL;
    if (!fr->parent && !ex->history_events) {
        if (replay_log_begin(&lg, env.now_ms) < 0)
            return -1;
        env.count_events = 1;
        env.raw_payloads = 0;
        env.random64 = replay_log_rand;
        env.random_ud = &lg;
    } else if (!(events = cJSON_CreateArray())) {
        return -1;
    }
    int64_t first = ex->next_event, n = 0;
    int rc = 0, chain = 0;
    pend_t was = fr->pend;

    if (was == PEND_TIMER && fr->started && timer_row(rt, fr, 0) < 0) {
        cJSON_Delete(events);
        replay_log_discard(&lg);
        return -1;
    }
    for (;;) {
        if (fr->pend == PEND_TASK && !fr->has_outcome) {
            if (!fr->h)
                set_failure(fr, ASL_E_TASK_FAILED, "no handler is registered for this Resource");
            else if (fr->h->run)
                run_sync(rt, fr);
            else
                break;   /* asynchronous: waits for completion */
        }
        if (fr->pend == PEND_TASK && fr->call && fr->h && fr->h->finish &&
            fr->out.kind == ASL_OUTCOME_TASK_SUCCEEDED) {
            asl_error_t err = {0};
            cJSON *res = fr->out.result;
            fr->out.result = NULL;
            if (fr->h->finish(fr->call, &res, &err) < 0) {
                cJSON_Delete(res);
                set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED, err.cause);
            } else {
                fr->out.result = res;
            }
            asl_error_clear(&err);
        }
        if (lg.log && replay_log_note(&lg, fr->started ? &fr->out : NULL) < 0) {
            rc = -1;
            break;
        }
        asl_step_t step;
        memset(&step, 0, sizeof step);
        if (!fr->started) {
            fr->started = 1;
            unreserve(fr);
            rc = fr->parent ? asl_exec_start_child(&fr->child, &info, &env, &step)
                            : asl_exec_start(fr->m, ex->input, &info, &env, &step);
        } else {
            cJSON *cur = fr->cursor;
            fr->cursor = NULL;
            asl_error_t err = {0};
            rc = asl_exec_resume(fr->m, cur, &fr->out, &info, &env, &step, &err);
            if (rc < 0) {
                /* Retrying cannot help: the execution fails, the rest runs on. */
                char cause[512];
                snprintf(cause, sizeof cause, "the engine cannot resume frame '%s': %s",
                         fr->id, err.cause ? err.cause : "unreadable saved state");
                log_error("execution %s: %s", ex->id, cause);
                set_control(ex, CTL_FAIL, ASL_E_RUNTIME, cause);
                rc = ADVANCE_END_EXEC;
            }
            asl_error_clear(&err);
            fr->out.result = NULL;
            fr->out.children = NULL;
        }
        clear_outcome(fr);
        clear_task(fr, 0);
        if (rc < 0) {
            asl_step_clear(&step);
            break;
        }
        rt->stats.transitions += step.n_transitions;
        n += (int64_t)step.n_events;
        cJSON *ev;
        while (events && step.events && (ev = cJSON_DetachItemFromArray(step.events, 0)))
            cJSON_AddItemToArray(events, ev);
        rc = apply_step(rt, fr, &step, first - 1 + n);
        asl_step_clear(&step);
        if (rc <= 0)
            break;
        if (++chain >= MAX_CHAIN) {
            rc = post(rt, fr);   /* bounded work per turn: continue next turn */
            break;
        }
    }
    /* The history cap is exact: an advance that would pass it (leaving room
     * for the final ExecutionFailed) is not committed at all. */
    if (rc == 0 && first - 1 + n + 1 > rt->cfg->history_limit) {
        set_history_full(rt, ex);
        rc = ADVANCE_END_EXEC;
    }
    if (rc < 0) {
        cJSON_Delete(events);
        replay_log_discard(&lg);
        return rc == ADVANCE_END_EXEC ? rc : -1;
    }
    ex->next_event += n;
    int with_state = !(fr->pend == PEND_DONE && !fr->parent);
    if (events) {
        rc = write_history(rt, fr, events, first, with_state);
        cJSON_Delete(events);
    } else {
        rc = write_history_text(rt, fr, replay_log_finish(&lg), n, first, with_state);
    }
    if (rc < 0)
        return -1;
    if (fr->pend == PEND_DONE && fr->parent) {
        fr->dead = 1;
        child_ended(rt, fr);
    }
    return 0;
}


/* A new execution that must end (ex->control) in its very first advance,
 * which is not committed: it is recorded as started and ended, nothing
 * else. */
static int fail_new_execution(runtime_t *rt, exec_t *ex)
{
    exec_quiesce(ex);
    cJSON *events = cJSON_CreateArray();
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "ExecutionStarted");
    cJSON *d = cJSON_AddObjectToObject(ev, "details");
    cJSON_AddItemToObject(d, "input", cJSON_Duplicate(ex->input, 1));
    cJSON_AddItemToArray(events, ev);
    ex->next_event = 1;
    int rc = insert_exec_row(rt, ex);
    if (rc == 0)
        rc = write_history(rt, ex->root, events, ex->next_event++, 0);
    cJSON_Delete(events);
    if (rc == 0)
        rc = exec_end_control(rt, ex);
    return rc;
}

/* ---- asynchronous handlers ------------------------------------------------ */

/* An asynchronous call and the runtime it reports to; `call` comes first so
 * that freeing the call frees the box. */
typedef struct call_box_s {
    handler_call_t call;
    runtime_t *rt;
} call_box_t;

static void on_task_complete(handler_call_t *call, cJSON *result, const asl_error_t *err)
{
    runtime_t *rt = ((call_box_t *)call)->rt;
    frame_t *fr = call->runtime_data;
    if (!fr || fr->call != call || fr->has_outcome || fr->dead) {
        cJSON_Delete(result);
        return;
    }
    tmr_cancel(&fr->timeout_tmr);
    tmr_cancel(&fr->heartbeat_tmr);
    if (err && err->error) {
        cJSON_Delete(result);
        set_failure(fr, err->error, err->cause);
    } else {
        set_result(fr, result);
    }
    enqueue(rt, fr);
}

/* The handler is alive: its HeartbeatSeconds clock starts again. */
static void on_task_heartbeat(handler_call_t *call)
{
    runtime_t *rt = ((call_box_t *)call)->rt;
    frame_t *fr = call->runtime_data;
    if (!fr || fr->call != call || fr->has_outcome || fr->dead || fr->heartbeat_ms <= 0)
        return;
    tmr_cancel(&fr->heartbeat_tmr);
    fr->heartbeat_tmr = tmr_add(rt, store_now_ms() + fr->heartbeat_ms, TMR_TASK_HEARTBEAT, fr);
}

static void start_async(runtime_t *rt, frame_t *fr)
{
    if (fr->call || fr->has_outcome || !fr->h || !fr->h->start)
        return;
    call_box_t *box = calloc(1, sizeof *box);
    if (!box) {
        set_failure(fr, ASL_E_TASK_FAILED, "out of memory starting the handler");
        enqueue(rt, fr);
        return;
    }
    box->rt = rt;
    handler_call_t *call = &box->call;
    call->store = rt->st;
    call->cfg = rt->cfg;
    call->execution_id = fr->ex->id;
    call->state_name = asl_cursor_state(fr->cursor);
    call->attempt = (int)fr->attempt;
    call->token = fr->token;
    call->now_ms = store_now_ms();
    call->loop = rt->loop;
    call->complete = on_task_complete;
    call->runtime_data = fr;
    fr->call = call;
    call->heartbeat = on_task_heartbeat;
    if (fr->timeout_ms > 0)
        fr->timeout_tmr = tmr_add(rt, store_now_ms() + fr->timeout_ms, TMR_TASK_TIMEOUT, fr);
    if (fr->heartbeat_ms > 0)
        fr->heartbeat_tmr = tmr_add(rt, store_now_ms() + fr->heartbeat_ms, TMR_TASK_HEARTBEAT, fr);
    asl_error_t err = {0};
    if (fr->h->start(call, fr->task_input, &err) < 0) {
        /* Never started: nothing to cancel. */
        tmr_cancel(&fr->timeout_tmr);
        tmr_cancel(&fr->heartbeat_tmr);
        set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED, err.cause);
        asl_error_clear(&err);
        enqueue(rt, fr);
    }
}

/* ---- the pump: one transaction per loop turn ---------------------------- */

static void latency_observe(runtime_t *rt, uint64_t ns)
{
    double ms = (double)ns / 1e6;
    size_t b = 0;
    while (b < 11 && ms > runtime_latency_bounds_ms[b])
        b++;
    rt->stats.step_latency_buckets[b]++;
    rt->stats.step_latency_sum_ms += ms;
    rt->stats.step_latency_count++;
}

/* Starts what the posted frames wait for, now that the wait is durable (or
 * drops the list when it is not), and empties the list. */
static void run_posts(runtime_t *rt, int durable)
{
    for (size_t i = 0; i < rt->npost; i++) {
        frame_t *fr = rt->post[i];
        if (!fr)
            continue;   /* destroyed meanwhile */
        fr->post_slot = 0;
        exec_t *ex = fr->ex;
        if (!durable || ex->broken || ex->ended || fr->dead)
            continue;
        if (fr->pend == PEND_TASK)
            start_async(rt, fr);
        else if (fr->pend == PEND_TIMER && !fr->tmr)
            fr->tmr = tmr_add(rt, fr->wake_ms, TMR_FRAME, fr);
        else if (fr->pend == PEND_CONTINUE)
            enqueue(rt, fr);
    }
    rt->npost = 0;
}

/* Replaces a broken execution (or one whose batch did not commit) by what
 * is durable: answers its starters and stoppers, destroys it, recovers its
 * row if that committed and moves its waiters over. */
static void rebuild(runtime_t *rt, exec_t *ex, int committed)
{
    char *id = strdup(ex->id);
    int durable = ex->row == ROW_DURABLE;
    /* A start whose row committed happened, even if a later step of the
     * batch broke: the rebuilt execution carries on. */
    if (durable && ex->is_new) {
        rt->stats.started++;
        count(rt, ex, "RUNNING");
    }
    replies_fire(&ex->starters, ex->id, RUNTIME_ERR_STORAGE, !durable);
    replies_fire(&ex->stoppers, ex->id, RUNTIME_ERR_STORAGE, 1);
    exec_control_t ctl = committed && ex->carry_control ? ex->control : CTL_NONE;
    char *ctl_error = ex->ctl_error, *ctl_cause = ex->ctl_cause;
    ex->ctl_error = ex->ctl_cause = NULL;
    waiter_t *ws = ex->waiters;
    ex->waiters = NULL;
    exec_destroy(rt, ex);
    exec_t *again = durable && id ? recover_id(rt, id) : NULL;
    if (again && ctl != CTL_NONE) {
        set_control(again, ctl, ctl_error, ctl_cause);
        enqueue(rt, again->root);
    }
    free(ctl_error);
    free(ctl_cause);
    while (ws) {
        waiter_t *nw = ws->next;
        if (again) {
            ws->ex = again;
            ws->next = again->waiters;
            again->waiters = ws;
        } else {
            tmr_cancel(&ws->tmr);
            ws->cb(ws->ud);
            free(ws);
        }
        ws = nw;
    }
    free(id);
}

static void after_batch(runtime_t *rt, int committed)
{
    run_posts(rt, committed);
    size_t n = rt->ntouched;
    rt->ntouched = 0;
    for (size_t i = 0; i < n; i++) {
        exec_t *ex = rt->touched[i];
        ex->touched = 0;
        if (ex->row == ROW_WRITTEN)
            ex->row = committed ? ROW_DURABLE : ROW_NONE;
        if (!committed || ex->broken) {
            rebuild(rt, ex, committed);
            continue;
        }
        if (ex->is_new) {
            ex->is_new = 0;
            rt->stats.started++;
            count(rt, ex, "RUNNING");
        }
        replies_fire(&ex->starters, ex->id, RUNTIME_OK, 0);
        replies_fire(&ex->stoppers, ex->id, RUNTIME_OK, 0);
        if (ex->ended) {
            waiters_fire(ex);
            exec_destroy(rt, ex);
        }
    }
    /* Rebuilt executions' asynchronous tasks: their state is durable. */
    run_posts(rt, 1);
    if (committed && rt->after_commit)
        rt->after_commit(rt->after_commit_ud);
}

static void pump(runtime_t *rt)
{
    if (!rt->ready_head)
        return;
    if (store_begin(rt->st) < 0) {
        log_error("cannot begin a transaction; retrying next turn");
        return;
    }
    uint64_t lat[MAX_BATCH];
    size_t nlat = 0;
    for (int n = 0; n < MAX_BATCH && rt->ready_head; n++) {
        frame_t *fr = dequeue(rt);
        exec_t *ex = fr->ex;
        if (fr->dead || ex->ended || ex->broken)
            continue;
        if (touch(rt, ex) < 0) {
            enqueue(rt, fr);   /* out of memory: nothing done, next turn */
            break;
        }
        if (store_savepoint(rt->st) < 0) {
            ex->broken = 1;
            continue;
        }
        int rc = 0;
        exec_row_t row = ex->row;
        if (row == ROW_NONE && !fr->parent)
            rc = insert_exec_row(rt, ex);
        if (rc == 0)
            rc = ex->control ? exec_end_control(rt, ex) : frame_advance(rt, fr);
        if (rc == ADVANCE_END_EXEC) {
            assert(ex->control != CTL_NONE);
            store_rollback_to(rt->st);
            ex->row = row;
            if (row != ROW_DURABLE) {
                /* Not committed yet, so nothing to rebuild from: ended here,
                 * as started (row written) and ended, in one savepoint. */
                int ok = store_savepoint(rt->st) == 0;
                if (ok && row == ROW_NONE)
                    ok = fail_new_execution(rt, ex) == 0;
                else if (ok)
                    ok = exec_end_control(rt, ex) == 0;
                if (ok) {
                    store_release(rt->st);
                } else {
                    store_rollback_to(rt->st);
                    ex->row = row;
                    ex->broken = 1;
                    ex->carry_control = 1;
                }
            } else {
                /* Memory ran ahead of the rolled-back advance: rebuild from
                 * the database after the commit, then end it. */
                ex->broken = 1;
                ex->carry_control = 1;
            }
        } else if (rc < 0) {
            log_error("execution %s: step failed (%s); rolled back, reloading from the database",
                      ex->id, sqlite3_errmsg(store_db(rt->st)));
            store_rollback_to(rt->st);
            ex->row = row;
            ex->broken = 1;
        } else {
            store_release(rt->st);
        }
        lat[nlat++] = fr->ready_ns;
    }
    if (rt->before_commit)
        rt->before_commit(rt->before_commit_ud);
    uint64_t tc = mono_ns();
    int committed = store_commit(rt->st) == 0;
    if (!committed) {
        log_error("commit failed: %s; the batch is rolled back", sqlite3_errmsg(store_db(rt->st)));
        store_rollback(rt->st);
        rt->stats.commit_failures++;
    } else {
        rt->stats.commits++;
    }
    uint64_t t1 = mono_ns();
    rt->stats.commit_latency_sum_ms += (double)(t1 - tc) / 1e6;
    for (size_t i = 0; i < nlat; i++)
        latency_observe(rt, t1 - lat[i]);
    after_batch(rt, committed);
}

static void on_pump(uv_idle_t *h)
{
    runtime_t *rt = h->data;
    if (rt->recovering)
        recover_chunk(rt);
    pump(rt);
    if (!rt->ready_head && !rt->recovering) {
        uv_idle_stop(&rt->pump);
        rt->pump_on = 0;
    }
}

static void schedule_pump(runtime_t *rt)
{
    if (!rt->pump_on && !rt->closing) {
        uv_idle_start(&rt->pump, on_pump);
        rt->pump_on = 1;
    }
}

/* ---- timers firing --------------------------------------------------------- */

static void fire(runtime_t *rt, tmr_t *t)
{
    switch (t->kind) {
    case TMR_FRAME: {
        frame_t *fr = t->target;
        fr->tmr = NULL;
        clear_outcome(fr);
        fr->out.kind = ASL_OUTCOME_TIMER;
        fr->has_outcome = 1;
        enqueue(rt, fr);
        break;
    }
    case TMR_TASK_TIMEOUT: {
        frame_t *fr = t->target;
        fr->timeout_tmr = NULL;
        free_call(fr, 1);
        tmr_cancel(&fr->heartbeat_tmr);
        set_failure(fr, ASL_E_TIMEOUT, "the task did not finish within TimeoutSeconds");
        enqueue(rt, fr);
        break;
    }
    case TMR_TASK_HEARTBEAT: {
        frame_t *fr = t->target;
        fr->heartbeat_tmr = NULL;
        free_call(fr, 1);
        tmr_cancel(&fr->timeout_tmr);
        set_failure(fr, ASL_E_HEARTBEAT_TIMEOUT,
                    "the task sent no heartbeat within HeartbeatSeconds");
        enqueue(rt, fr);
        break;
    }
    case TMR_EXEC_TIMEOUT: {
        exec_t *ex = t->target;
        ex->timeout_tmr = NULL;
        set_control(ex, CTL_TIMEOUT, ASL_E_TIMEOUT,
                    "the execution did not finish within the state machine's TimeoutSeconds");
        enqueue(rt, ex->root);
        break;
    }
    case TMR_WAITER: {
        waiter_t *w = t->target;
        waiter_t **pp = &w->ex->waiters;
        while (*pp && *pp != w)
            pp = &(*pp)->next;
        if (*pp)
            *pp = w->next;
        w->tmr = NULL;
        w->cb(w->ud);
        free(w);
        break;
    }
    }
}

static void on_wheel(uv_timer_t *h)
{
    runtime_t *rt = h->data;
    int64_t now = store_now_ms();
    while (rt->nheap && rt->heap[0]->due <= now) {
        tmr_t *t = rt->heap[0];
        rt->heap[0] = rt->heap[--rt->nheap];
        heap_down(rt, 0);
        if (t->target)
            fire(rt, t);
        free(t);
    }
    wheel_rearm(rt);
}

/* ---- recovery --------------------------------------------------------------- */

/* Executions recovered per loop turn after the first: restarting on a large
 * database leaves the loop free for requests meanwhile. */
#define RECOVER_CHUNK 16

/* One saved frame state; `seq` orders the rows of one frame. */
typedef struct saved_s {
    char *frame;
    cJSON *rec;
    size_t seq;
} saved_t;

/* What restoring one execution reads, and why it cannot be restored (for its
 * ExecutionFailed cause). */
typedef struct restore_s {
    saved_t *saved;               /* latest state per frame, sorted by frame id */
    size_t nsaved, capsaved;
    char why[256];
} restore_t;

static int saved_cmp(const void *a, const void *b)
{
    const saved_t *x = a, *y = b;
    int c = strcmp(x->frame, y->frame);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The latest saved state of `frame`, or NULL (then it had not started). */
static const cJSON *saved_find(const restore_t *r, const char *frame)
{
    size_t lo = 0, hi = r->nsaved;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->saved[mid].frame, frame);
        if (c == 0)
            return r->saved[mid].rec;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void saved_free(restore_t *r)
{
    for (size_t i = 0; i < r->nsaved; i++) {
        free(r->saved[i].frame);
        cJSON_Delete(r->saved[i].rec);
    }
    free(r->saved);
    r->saved = NULL;
    r->nsaved = r->capsaved = 0;
}

/* Sorts the rows by frame and keeps the last one of each. */
static void saved_latest(restore_t *r)
{
    if (r->nsaved)
        qsort(r->saved, r->nsaved, sizeof *r->saved, saved_cmp);
    size_t out = 0;
    for (size_t i = 0; i < r->nsaved; i++) {
        if (i + 1 < r->nsaved && strcmp(r->saved[i].frame, r->saved[i + 1].frame) == 0) {
            free(r->saved[i].frame);
            cJSON_Delete(r->saved[i].rec);
            continue;
        }
        r->saved[out++] = r->saved[i];
    }
    r->nsaved = out;
}

static int restore_refuse(restore_t *r, const char *fmt, const char *frame)
{
    snprintf(r->why, sizeof r->why, fmt, frame);
    return -1;
}

/* A number field of a saved state within [lo, hi]; 0 or -1. */
static int rec_num(const cJSON *rec, const char *key, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return -1;
    *out = v->valuedouble;
    return 0;
}

static const char *rec_str(const cJSON *rec, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, key));
}

/* Restores one frame from its last record; returns 0 or -1 (r->why set). */
static int restore_frame(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r);

static int restore_kid(runtime_t *rt, frame_t *fr, size_t i, const cJSON *c, restore_t *r)
{
    double kind, index;
    const char *ps = rec_str(c, "s");
    if (rec_num(c, "k", ASL_CHILD_BRANCH, ASL_CHILD_ITERATION, &kind) < 0 ||
        rec_num(c, "x", 0, (double)SIZE_MAX, &index) < 0 || !ps)
        return restore_refuse(r, "the saved children of frame '%s' are unreadable", fr->id);
    frame_t *k = make_kid(rt, fr, i, (asl_child_kind_t)kind, ps, (size_t)index,
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "i"), 1));
    if (!k)
        return restore_refuse(r, "the saved children of frame '%s' do not match the state "
                                 "machine", fr->id);
    fr->kids[fr->n_kids++] = k;
    const cJSON *krec = saved_find(r, k->id);
    if (krec && restore_frame(rt, k, krec, r) < 0)
        return -1;
    if (k->pend == PEND_DONE && cJSON_GetObjectItemCaseSensitive(k->done, "error"))
        fr->failures++;
    return 0;
}

static int restore_kids(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r)
{
    double base, mc, tol;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(rec, "ch");
    if (rec_num(rec, "b", 0, 9e15, &base) < 0 || rec_num(rec, "mc", 0, UINT32_MAX, &mc) < 0 ||
        rec_num(rec, "tol", 0, 9e15, &tol) < 0 || !cJSON_IsArray(ch))
        return restore_refuse(r, "the saved children of frame '%s' are unreadable", fr->id);
    fr->kids_base = (int64_t)base;
    fr->max_conc = (uint32_t)mc;
    fr->tolerated = (size_t)tol;
    size_t n = (size_t)cJSON_GetArraySize(ch);
    /* Refused before building them, as when they were started (with what
     * the children restored so far reserve). */
    exec_t *ex = fr->ex;
    if (ex->next_event - 1 + ex->reserved + (int64_t)n * MIN_EVENTS_BRANCH + 1 >
        rt->cfg->history_limit) {
        snprintf(r->why, sizeof r->why,
                 "the execution history would exceed its limit of %d events (history_limit)",
                 rt->cfg->history_limit);
        return -1;
    }
    fr->kids = calloc(n ? n : 1, sizeof *fr->kids);
    if (!fr->kids)
        return restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, ch) {
        if (restore_kid(rt, fr, i++, c, r) < 0)
            return -1;
    }
    /* Children that had started resume in place; the others launch in order. */
    size_t ended = 0;
    fr->running = 0;
    for (i = 0; i < fr->n_kids; i++) {
        frame_t *k = fr->kids[i];
        if (k->pend == PEND_DONE)
            ended++;
        else if (k->started)
            fr->running++;
    }
    fr->next_kid = 0;
    while (fr->next_kid < fr->n_kids && (fr->kids[fr->next_kid]->started ||
                                         fr->kids[fr->next_kid]->pend == PEND_DONE))
        fr->next_kid++;
    if (fr->failures > fr->tolerated || ended == fr->n_kids)
        kids_result(rt, fr);
    else
        launch_kids(rt, fr);
    return 0;
}

static int restore_task(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r)
{
    double attempt, to, hb = 0;
    fr->pend = PEND_TASK;
    fr->resource = xstrdup(rec_str(rec, "r"));
    fr->handler = xstrdup(rec_str(rec, "h"));
    fr->task_input = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "i"), 1);
    fr->token = xstrdup(rec_str(rec, "t"));
    if (rec_num(rec, "a", 0, UINT32_MAX, &attempt) < 0 || rec_num(rec, "to", 0, 9e15, &to) < 0 ||
        (cJSON_GetObjectItemCaseSensitive(rec, "hb") && rec_num(rec, "hb", 0, 9e15, &hb) < 0))
        return restore_refuse(r, "the saved task of frame '%s' is unreadable", fr->id);
    fr->attempt = (uint32_t)attempt;
    fr->timeout_ms = (int64_t)to;
    fr->heartbeat_ms = (int64_t)hb;
    fr->h = handler_lookup(fr->handler ? fr->handler : "");
    if (!fr->h || fr->h->run)
        enqueue(rt, fr);
    else if (post(rt, fr) < 0)   /* at-least-once: the asynchronous call runs again */
        return restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    return 0;
}

static int restore_frame(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(rec, "d");
    fr->started = 1;
    unreserve(fr);
    if (d) {
        fr->pend = PEND_DONE;
        fr->dead = 1;
        fr->done = cJSON_Duplicate(d, 1);
        return fr->done ? 0 : restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    }
    fr->cursor = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "c"), 1);
    const char *p = rec_str(rec, "p");
    if (!cJSON_IsObject(fr->cursor) || !p)
        return restore_refuse(r, "the saved state of frame '%s' is unreadable", fr->id);
    if (strcmp(p, "task") == 0)
        return restore_task(rt, fr, rec, r);
    if (strcmp(p, "timer") == 0) {
        double w;
        if (rec_num(rec, "w", -9e15, 9e15, &w) < 0)
            return restore_refuse(r, "the saved timer of frame '%s' is unreadable", fr->id);
        fr->pend = PEND_TIMER;
        fr->wake_ms = (int64_t)w;
        fr->tmr = tmr_add(rt, fr->wake_ms, TMR_FRAME, fr);
        return fr->tmr ? 0 : restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    }
    if (strcmp(p, "children") == 0) {
        fr->pend = PEND_CHILDREN;
        return restore_kids(rt, fr, rec, r);
    }
    if (strcmp(p, "continue") != 0)
        return restore_refuse(r, "the saved state of frame '%s' is unreadable", fr->id);
    fr->pend = PEND_CONTINUE;
    fr->has_outcome = 1;
    enqueue(rt, fr);
    return 0;
}

/* Reads the latest saved state of every frame and the last event id. */
static int read_records(runtime_t *rt, exec_t *ex, restore_t *r)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_FRAMES);
    if (!s)
        return restore_refuse(r, "database error reading the history%s", "");
    sqlite3_bind_text(s, 1, ex->id, -1, SQLITE_STATIC);
    int64_t last = 0;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        last = sqlite3_column_int64(s, 0);
        const char *frame = (const char *)sqlite3_column_text(s, 1);
        const char *state = (const char *)sqlite3_column_text(s, 2);
        if (!state)
            continue;
        cJSON *rec = cJSON_Parse(state);
        if (!cJSON_IsObject(rec) || !frame) {
            cJSON_Delete(rec);
            rc = restore_refuse(r, "the saved state of frame '%s' is not valid JSON",
                                frame ? frame : "?");
            break;
        }
        saved_t *a = grow(r->saved, r->nsaved, &r->capsaved, sizeof *a);
        char *name = a ? strdup(frame) : NULL;
        if (!name) {
            cJSON_Delete(rec);
            rc = restore_refuse(r, "out of memory reading the history%s", "");
            break;
        }
        r->saved = a;
        a[r->nsaved] = (saved_t){.frame = name, .rec = rec, .seq = r->nsaved};
        r->nsaved++;
    }
    saved_latest(r);
    if (rc == 0 && step != SQLITE_DONE)
        rc = restore_refuse(r, "database error reading the history%s", "");
    sqlite3_reset(s);
    ex->next_event = last + 1;
    return rc;
}

/* An execution keeps the history format it started with (history_format
 * may have changed since): a replay log needs every earlier step logged. */
static void read_history_format(runtime_t *rt, exec_t *ex)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_FIRST_ROOT_ROW);
    ex->history_events = rt->cfg->history_events;
    if (!s)
        return;
    sqlite3_bind_text(s, 1, ex->id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(s, 0);
        ex->history_events = !(c && c[0] == '{');
    }
    sqlite3_reset(s);
}

/* Rebuilds one RUNNING execution from its row (id, machine, version, name,
 * input, start_ms) and its history records. NULL with r->why set when it
 * cannot be restored. */
static exec_t *recover_one(runtime_t *rt, sqlite3_stmt *row, restore_t *r)
{
    const char *id = (const char *)sqlite3_column_text(row, 0);
    const char *mname = (const char *)sqlite3_column_text(row, 1);
    int version = sqlite3_column_int(row, 2);
    const machine_ver_t *mv = machines_get_version(rt->machines, mname, version);
    if (!mv) {
        snprintf(r->why, sizeof r->why, "its state machine %s version %d is unavailable", mname,
                 version);
        return NULL;
    }
    cJSON *input = cJSON_Parse((const char *)sqlite3_column_text(row, 4));
    if (!input) {
        snprintf(r->why, sizeof r->why, "its stored input is not valid JSON");
        return NULL;
    }
    exec_t *ex = exec_new(rt, mv, id, (const char *)sqlite3_column_text(row, 3), input,
                          sqlite3_column_int64(row, 5));
    if (!ex) {
        snprintf(r->why, sizeof r->why, "out of memory");
        return NULL;
    }
    ex->row = ROW_DURABLE;
    ex->had_timer = 1;   /* unknown: a timers row may be left from before */
    read_history_format(rt, ex);
    exec_insert(rt, ex);
    int rc = read_records(rt, ex, r);
    const cJSON *rootrec = rc == 0 ? saved_find(r, "") : NULL;
    if (rc == 0 && !rootrec)
        enqueue(rt, ex->root);   /* the row committed without a step: from the start */
    else if (rc == 0)
        rc = restore_frame(rt, ex->root, rootrec, r);
    if (rc == 0 && ex->next_event - 1 + ex->reserved + 1 > rt->cfg->history_limit) {
        snprintf(r->why, sizeof r->why,
                 "the execution history would exceed its limit of %d events (history_limit)",
                 rt->cfg->history_limit);
        rc = -1;
    }
    saved_free(r);
    if (rc < 0) {
        exec_destroy(rt, ex);
        return NULL;
    }
    arm_exec_timeout(rt, ex);
    return ex;
}

/* Ends a stored RUNNING execution that cannot be restored: FAILED with the
 * reason, one ExecutionFailed event, in its own transaction. */
static void fail_stored(runtime_t *rt, const char *id, const char *machine, const char *why)
{
    char cause[400];
    snprintf(cause, sizeof cause, "the execution cannot be recovered: %s", why);
    log_error("execution %s: %s; it is ended FAILED", id, cause);
    assert(!store_in_txn(rt->st));
    cJSON *events = cJSON_CreateArray();
    cJSON_AddItemToArray(events, control_event("ExecutionFailed", ASL_E_RUNTIME, cause));
    char *text = print_json(events);
    cJSON_Delete(events);
    sqlite3_stmt *s;
    int rc = text && store_begin(rt->st) == 0 ? 0 : -1;
    int64_t first = 1;
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_LAST_EVENT)) ? 0 : -1) == 0) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            first = sqlite3_column_int64(s, 0) + 1;
        sqlite3_reset(s);
    }
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_INSERT_HISTORY)) ? 0 : -1) == 0) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, first);
        sqlite3_bind_int64(s, 3, first);
        sqlite3_bind_int64(s, 4, store_now_ms());
        sqlite3_bind_text(s, 5, "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, text, -1, SQLITE_STATIC);
        sqlite3_bind_null(s, 7);
        rc = store_exec_stmt(s);
    }
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_FAIL_STORED)) ? 0 : -1) == 0) {
        sqlite3_bind_text(s, 1, ASL_E_RUNTIME, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, cause, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, store_now_ms());
        sqlite3_bind_text(s, 4, id, -1, SQLITE_STATIC);
        rc = store_exec_stmt(s);
    }
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_DEL_TIMERS)) ? 0 : -1) == 0) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        rc = store_exec_stmt(s);
    }
    if (rc == 0 && (rc = store_commit(rt->st)) == 0) {
        rt->stats.failed++;
        if (rt->on_count)
            rt->on_count(rt->on_count_ud, machine, "FAILED");
    } else {
        if (store_in_txn(rt->st))
            store_rollback(rt->st);
        log_error("execution %s: cannot record its failure; left RUNNING until the next start",
                  id);
    }
    free(text);
}

/* recover_one, or fail_stored when it cannot be restored. */
static exec_t *recover_row(runtime_t *rt, sqlite3_stmt *row)
{
    restore_t r = {0};
    exec_t *ex = recover_one(rt, row, &r);
    if (!ex)
        fail_stored(rt, (const char *)sqlite3_column_text(row, 0),
                    (const char *)sqlite3_column_text(row, 1), r.why);
    return ex;
}

/* Recovers the execution `id` if its row is RUNNING. */
static exec_t *recover_id(runtime_t *rt, const char *id)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_ONE_RUNNING);
    if (!s)
        return NULL;
    exec_t *ex = NULL;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        ex = recover_row(rt, s);
    sqlite3_reset(s);
    return ex;
}

/* The execution in memory; while recovery is under way, one not recovered
 * yet is recovered now. */
static exec_t *exec_get(runtime_t *rt, const char *id)
{
    exec_t *ex = exec_find(rt, id);
    if (!ex && rt->recovering)
        ex = recover_id(rt, id);
    return ex;
}

/* Recovers the next RECOVER_CHUNK RUNNING executions (in row order) that are
 * not in memory yet; recovery ends with the last of them. */
static void recover_chunk(runtime_t *rt)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_RUNNING_AFTER);
    if (!s)
        return;   /* tried again next turn */
    char *ids[RECOVER_CHUNK];
    int n = 0;
    sqlite3_bind_int64(s, 1, rt->recover_seq);
    sqlite3_bind_int(s, 2, RECOVER_CHUNK);
    while (n < RECOVER_CHUNK && sqlite3_step(s) == SQLITE_ROW) {
        rt->recover_seq = sqlite3_column_int64(s, 1);
        ids[n++] = xstrdup((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_reset(s);
    for (int i = 0; i < n; i++) {
        /* Recovered already on demand, or started since. */
        if (ids[i] && !exec_find(rt, ids[i])) {
            if (recover_id(rt, ids[i]))
                rt->recovered++;
            else
                rt->unrecoverable++;
        }
        free(ids[i]);
    }
    /* Asynchronous tasks restored above start now: their state is durable. */
    run_posts(rt, 1);
    if (n < RECOVER_CHUNK) {
        rt->recovering = 0;
        if (rt->recovered || rt->unrecoverable)
            log_info("recovered %d running execution%s%s", rt->recovered,
                     rt->recovered == 1 ? "" : "s",
                     rt->unrecoverable ? " (some could not be restored and failed, see above)"
                                       : "");
    }
}

/* ---- public API ------------------------------------------------------------- */

int runtime_open(const runtime_opts_t *o, runtime_t **out)
{
    runtime_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        return -1;
    rt->loop = o->loop;
    rt->st = o->store;
    rt->machines = o->machines;
    rt->cfg = o->cfg;
    rt->after_commit = o->after_commit;
    rt->after_commit_ud = o->after_commit_ud;
    rt->before_commit = o->before_commit;
    rt->before_commit_ud = o->before_commit_ud;
    rt->on_count = o->on_count;
    rt->on_count_ud = o->on_count_ud;
    rt->nbuckets = 1024;
    rt->buckets = calloc(rt->nbuckets, sizeof *rt->buckets);
    rt->nbuckets_by_name = calloc(rt->nbuckets, sizeof *rt->nbuckets_by_name);
    if (!rt->buckets || !rt->nbuckets_by_name) {
        free(rt->buckets);
        free(rt->nbuckets_by_name);
        free(rt);
        return -1;
    }
    uv_idle_init(rt->loop, &rt->pump);
    rt->pump.data = rt;
    uv_timer_init(rt->loop, &rt->wheel);
    rt->wheel.data = rt;
    rt->handles_open = 2;
    if (store_wal_start(rt->st, rt->loop, &rt->wal) < 0)
        log_warn("runtime: checkpoints stay on the loop thread (out of memory)");
    rt->recovering = 1;
    recover_chunk(rt);
    if (rt->recovering)
        schedule_pump(rt);
    *out = rt;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    runtime_t *rt = h->data;
    if (--rt->handles_open > 0)
        return;
    for (size_t i = 0; i < rt->nheap; i++)
        free(rt->heap[i]);
    free(rt->heap);
    free(rt->touched);
    free(rt->post);
    free(rt->buckets);
    free(rt->nbuckets_by_name);
    void (*done)(void *) = rt->on_closed;
    void *ud = rt->on_closed_ud;
    free(rt);
    if (done)
        done(ud);
}

void runtime_quiesce(runtime_t *rt)
{
    for (int i = 0; i < 64 && rt->ready_head; i++)
        pump(rt);
    rt->closing = 1;
    rt->recovering = 0;   /* the rest recovers at the next start */
    for (size_t b = 0; b < rt->nbuckets; b++)
        for (exec_t *ex = rt->buckets[b]; ex; ex = ex->hnext)
            waiters_fire(ex);
}

void runtime_close(runtime_t *rt, void (*done)(void *ud), void *ud)
{
    /* Checkpoint: commit every step that is ready (bounded: a few batches). */
    if (!rt->closing)
        runtime_quiesce(rt);
    rt->on_closed = done;
    rt->on_closed_ud = ud;
    for (size_t b = 0; b < rt->nbuckets; b++) {
        for (exec_t *ex = rt->buckets[b], *n; ex; ex = n) {
            n = ex->hnext;
            replies_fire(&ex->starters, ex->id, RUNTIME_ERR_STOPPING, 1);
            replies_fire(&ex->stoppers, ex->id, RUNTIME_ERR_STOPPING, 1);
            waiters_fire(ex);
            exec_destroy(rt, ex);
        }
        rt->buckets[b] = NULL;
        rt->nbuckets_by_name[b] = NULL;
    }
    assert(rt->nexecs == 0 && !rt->ready_head && !rt->ready_tail);
    store_wal_stop(rt->wal);
    rt->wal = NULL;
    uv_idle_stop(&rt->pump);
    uv_timer_stop(&rt->wheel);
    uv_close((uv_handle_t *)&rt->pump, on_handle_closed);
    uv_close((uv_handle_t *)&rt->wheel, on_handle_closed);
}

static void add_reply(reply_t **list, runtime_start_cb cb, void *ud, runtime_status_t st)
{
    reply_t *r = calloc(1, sizeof *r);
    if (!r) {
        cb(ud, RUNTIME_ERR_STORAGE, "");
        return;
    }
    r->cb = cb;
    r->ud = ud;
    r->status = st;
    r->next = *list;
    *list = r;
}

void runtime_start(runtime_t *rt, const machine_ver_t *mv, const char *name,
                   const cJSON *input, runtime_start_cb cb, void *ud)
{
    if (rt->closing) {
        cb(ud, RUNTIME_ERR_STOPPING, "");
        return;
    }
    if (asl_json_size(input, ASL_PAYLOAD_LIMIT) > ASL_PAYLOAD_LIMIT) {
        cb(ud, RUNTIME_ERR_INPUT, "");
        return;
    }
    if (name) {
        /* Pending in this turn, or running: compare inputs in memory. */
        exec_t *ex = find_by_name(rt, mv->name, name);
        if (ex) {
            if (!asl_json_equal(ex->input, input)) {
                cb(ud, RUNTIME_ERR_CONFLICT, ex->id);
            } else if (ex->is_new) {
                add_reply(&ex->starters, cb, ud, RUNTIME_EXISTS);
            } else {
                cb(ud, RUNTIME_EXISTS, ex->id);
            }
            return;
        }
        sqlite3_stmt *s = store_prepare(rt->st, SQL_BY_NAME);
        if (s) {
            sqlite3_bind_text(s, 1, mv->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW) {
                char *id = strdup((const char *)sqlite3_column_text(s, 0));
                cJSON *old = cJSON_Parse((const char *)sqlite3_column_text(s, 1));
                sqlite3_reset(s);
                int same = asl_json_equal(old, input);
                cJSON_Delete(old);
                cb(ud, same ? RUNTIME_EXISTS : RUNTIME_ERR_CONFLICT, id ? id : "");
                free(id);
                return;
            }
            sqlite3_reset(s);
        }
    }
    char id[RAND_UUID_LEN];
    rand_uuid(id);
    exec_t *ex = exec_new(rt, mv, id, name, cJSON_Duplicate(input, 1), store_now_ms());
    if (!ex) {
        cb(ud, RUNTIME_ERR_STORAGE, "");
        return;
    }
    ex->is_new = 1;
    ex->history_events = rt->cfg->history_events;
    add_reply(&ex->starters, cb, ud, RUNTIME_OK);
    exec_insert(rt, ex);
    arm_exec_timeout(rt, ex);
    enqueue(rt, ex->root);
}

static void add_date(cJSON *o, const char *key, int64_t ms, int present)
{
    if (!present) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char buf[ASL_TIMESTAMP_MAX];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    cJSON_AddStringToObject(o, key, buf);
}

static void add_json_col(cJSON *o, const char *key, sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    cJSON *v = t ? cJSON_Parse(t) : NULL;
    cJSON_AddItemToObject(o, key, v ? v : cJSON_CreateNull());
}

static void add_text_col(cJSON *o, const char *key, sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (t)
        cJSON_AddStringToObject(o, key, t);
    else
        cJSON_AddNullToObject(o, key);
}

/* Columns as SQL_DESCRIBE selects them. */
static cJSON *describe_row(runtime_t *rt, sqlite3_stmt *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *id = (const char *)sqlite3_column_text(s, 0);
    cJSON_AddStringToObject(o, "executionId", id);
    add_text_col(o, "stateMachine", s, 1);
    cJSON_AddNumberToObject(o, "stateMachineVersion", sqlite3_column_int(s, 11));
    add_text_col(o, "name", s, 2);
    add_text_col(o, "status", s, 3);
    add_date(o, "startDate", sqlite3_column_int64(s, 4), 1);
    add_date(o, "stopDate", sqlite3_column_int64(s, 5), sqlite3_column_type(s, 5) != SQLITE_NULL);
    add_json_col(o, "input", s, 6);
    add_json_col(o, "output", s, 7);
    add_text_col(o, "error", s, 8);
    add_text_col(o, "cause", s, 9);
    exec_t *ex = exec_find(rt, id);
    const char *cur = NULL;
    if (ex && ex->root->cursor)
        cur = asl_cursor_state(ex->root->cursor);
    if (cur)
        cJSON_AddStringToObject(o, "currentState", cur);
    else
        add_text_col(o, "currentState", s, 10);
    return o;
}

cJSON *runtime_describe(runtime_t *rt, const char *execution_id)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_DESCRIBE);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, execution_id, -1, SQLITE_STATIC);
    cJSON *o = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        o = describe_row(rt, s);
    sqlite3_reset(s);
    return o;
}

int runtime_is_done(runtime_t *rt, const char *execution_id)
{
    exec_t *ex = exec_find(rt, execution_id);
    if (ex)
        return ex->is_new ? -1 : 0;
    sqlite3_stmt *s = store_prepare(rt->st, SQL_DESCRIBE);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, execution_id, -1, SQLITE_STATIC);
    int r = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        r = strcmp((const char *)sqlite3_column_text(s, 3), "RUNNING") != 0;
    sqlite3_reset(s);
    return r;
}

void runtime_wait(runtime_t *rt, const char *execution_id, int64_t timeout_ms,
                  void (*cb)(void *ud), void *ud)
{
    exec_t *ex = rt->closing ? NULL : exec_get(rt, execution_id);
    if (!ex) {
        cb(ud);
        return;
    }
    waiter_t *w = calloc(1, sizeof *w);
    if (!w) {
        cb(ud);
        return;
    }
    w->cb = cb;
    w->ud = ud;
    w->ex = ex;
    w->next = ex->waiters;
    ex->waiters = w;
    if (timeout_ms > 0)
        w->tmr = tmr_add(rt, store_now_ms() + timeout_ms, TMR_WAITER, w);
}

cJSON *runtime_list(runtime_t *rt, const char *status, const char *machine, int limit,
                    const char *cursor, const char **why)
{
    static const char sql[] =
        "SELECT id, machine, name, status, start_ms, stop_ms, input, output, error, cause, "
        "final_state, machine_version, seq FROM executions "
        "WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR machine = ?2) "
        "AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4";
    long long before = 0;
    if (cursor) {
        char *end;
        before = strtoll(cursor, &end, 10);
        if (!*cursor || *end || before <= 0) {
            *why = "cursor is not a nextCursor value returned by this endpoint";
            return NULL;
        }
    }
    sqlite3_stmt *s = store_prepare(rt->st, sql);
    if (!s) {
        *why = "database error";
        return NULL;
    }
    bind_text_or_null(s, 1, status);
    bind_text_or_null(s, 2, machine);
    if (cursor)
        sqlite3_bind_int64(s, 3, before);
    sqlite3_bind_int(s, 4, limit + 1);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "executions");
    int n = 0;
    long long last_seq = 0, more = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        cJSON *o = describe_row(rt, s);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "input");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "output");
        cJSON_AddItemToArray(arr, o);
        last_seq = sqlite3_column_int64(s, 12);
        n++;
    }
    sqlite3_reset(s);
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "%lld", last_seq);
        cJSON_AddStringToObject(res, "nextCursor", next);
    } else {
        cJSON_AddNullToObject(res, "nextCursor");
    }
    return res;
}

/* The replay of one execution's history: its row and definition version. */
static replay_t *replay_open(runtime_t *rt, const char *execution_id)
{
    replay_t *rp = NULL;
    sqlite3_stmt *s = store_prepare(rt->st, SQL_DESCRIBE);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, execution_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const machine_ver_t *mv = machines_get_version(
            rt->machines, (const char *)sqlite3_column_text(s, 1), sqlite3_column_int(s, 11));
        cJSON *input = cJSON_Parse((const char *)sqlite3_column_text(s, 6));
        rp = mv && input ? replay_new(mv->machine, mv->name, execution_id,
                                      (const char *)sqlite3_column_text(s, 2), input,
                                      sqlite3_column_int64(s, 4))
                         : NULL;
        if (!rp)
            cJSON_Delete(input);
    }
    sqlite3_reset(s);
    return rp;
}

cJSON *runtime_history(runtime_t *rt, const char *execution_id)
{
    if (runtime_is_done(rt, execution_id) < 0 && !exec_find(rt, execution_id))
        return NULL;
    replay_t *rp = NULL;
    int have_rp = 0;
    sqlite3_stmt *s = store_prepare(rt->st, SQL_HISTORY);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, execution_id, -1, SQLITE_STATIC);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "events");
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        int64_t ts = sqlite3_column_int64(s, 1);
        const char *text = (const char *)sqlite3_column_text(s, 2);
        const char *frame = (const char *)sqlite3_column_text(s, 3);
        int64_t last = sqlite3_column_int64(s, 4);
        cJSON *evs = NULL;
        if (text && text[0] == '{' && frame && !frame[0]) {
            cJSON *log = cJSON_Parse(text);
            evs = cJSON_CreateArray();
            if (!have_rp && (have_rp = 1) && !(rp = replay_open(rt, execution_id)))
                log_error("execution %s: cannot read its row or state machine to replay its "
                          "history", execution_id);
            if (!log || !evs || !rp || replay_row(rp, log, evs) < 0)
                log_error("execution %s: history from event %" PRId64 " cannot be replayed",
                          execution_id, id);
            else if (cJSON_GetArraySize(evs) != last - id + 1)
                log_error("execution %s: replay of events %" PRId64 "..%" PRId64 " gave %d",
                          execution_id, id, last, cJSON_GetArraySize(evs));
            cJSON_Delete(log);
        } else {
            evs = text ? cJSON_Parse(text) : NULL;
            if (evs)
                expand_events(evs);
        }
        cJSON *ev;
        while (evs && (ev = cJSON_DetachItemFromArray(evs, 0))) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)id);
            cJSON_AddNumberToObject(o, "previousEventId", (double)(id - 1));
            add_date(o, "timestamp", ts, 1);
            cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(ev, "type");
            cJSON_AddItemToObject(o, "type", t ? t : cJSON_CreateString("?"));
            cJSON *d = cJSON_DetachItemFromObjectCaseSensitive(ev, "details");
            cJSON_AddItemToObject(o, "details", d ? d : cJSON_CreateObject());
            cJSON_Delete(ev);
            cJSON_AddItemToArray(arr, o);
            id++;
        }
        cJSON_Delete(evs);
    }
    sqlite3_reset(s);
    replay_free(rp);
    return res;
}

int runtime_stop(runtime_t *rt, const char *execution_id, const char *error,
                 const char *cause, runtime_start_cb cb, void *ud)
{
    exec_t *ex = exec_get(rt, execution_id);
    if (!ex || ex->is_new) {
        int done = runtime_is_done(rt, execution_id);
        if (done < 0)
            return -1;
        cb(ud, RUNTIME_EXISTS, execution_id);
        return 0;
    }
    set_control(ex, CTL_ABORT, error, cause);
    add_reply(&ex->stoppers, cb, ud, RUNTIME_OK);
    ex->root->dead = 0;
    enqueue(rt, ex->root);
    return 0;
}

const runtime_stats_t *runtime_stats(const runtime_t *rt)
{
    return &rt->stats;
}

int runtime_prune(runtime_t *rt, int64_t older_than_ms, int max)
{
    sqlite3_stmt *s = store_prepare(rt->st, SQL_PRUNE_SELECT);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, older_than_ms);
    sqlite3_bind_int(s, 2, max);
    char **ids = calloc((size_t)max, sizeof *ids);
    int n = 0;
    while (ids && n < max && sqlite3_step(s) == SQLITE_ROW)
        ids[n++] = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (n && store_begin(rt->st) == 0) {
        for (int i = 0; i < n; i++) {
            const char *sqls[] = {SQL_PRUNE_HISTORY, SQL_PRUNE_EXEC};
            for (int k = 0; k < 2; k++) {
                sqlite3_stmt *d = store_prepare(rt->st, sqls[k]);
                if (d && ids[i]) {
                    sqlite3_bind_text(d, 1, ids[i], -1, SQLITE_STATIC);
                    store_exec_stmt(d);
                }
            }
        }
        if (store_commit(rt->st) < 0) {
            store_rollback(rt->st);
            n = -1;
        }
    }
    for (int i = 0; ids && i < (n > 0 ? n : 0); i++)
        free(ids[i]);
    free(ids);
    return n;
}
