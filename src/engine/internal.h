/* What the files of the durable runtime (runtime.c, exec.c, frame.c,
 * timers.c, persist.c, recovery.c, redrive.c) share: its objects, their lifetimes and
 * the functions each file offers the others. Not a public header. */
#ifndef SAGAD_ENGINE_INTERNAL_H
#define SAGAD_ENGINE_INTERNAL_H

#include "engine/runtime.h"
#include "asl/exec.h"
#include "asl/json.h"
#include "core/grow.h"
#include "core/hash.h"
#include "engine/handler.h"
#include "store/wal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* frame_advance: the execution must end with ex->control set (history
 * limit, engine refusal); the advance itself is not committed. */
#define ADVANCE_END_EXEC (-2)
/* The fewest events a child frame records (a Map iteration: started and
 * ended; a Parallel branch: its first state), for refusing early a fan-out
 * that cannot fit the history limit. */
#define MIN_EVENTS_ITERATION 2
#define MIN_EVENTS_BRANCH 1

typedef struct exec_s exec_t;
typedef struct frame_s frame_t;
typedef struct activity_s activity_t;

/* A scheduled wake-up. The heap owns it; an owner cancels by clearing target. */
typedef enum {
    TMR_FRAME,
    TMR_TASK_TIMEOUT,
    TMR_TASK_HEARTBEAT,
    TMR_EXEC_TIMEOUT,
    TMR_WAITER,
    TMR_REMOTE_WAIT,   /* a waiter for another node's execution looks again */
    TMR_POLL,          /* an activity poll's wait ran out */
    TMR_DELIVER        /* hand queued activity tasks to parked polls */
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
    /* Waiting for an execution another node runs (ex NULL): its row is read
     * every REMOTE_POLL_MS until it ends or `until_ms` passes (remote.c). */
    char *remote_id;
    int64_t until_ms;
    int ended;
} waiter_t;

#define REMOTE_POLL_MS 200

typedef struct reply_s {
    struct reply_s *next;
    runtime_start_cb cb;
    void *ud;
    runtime_status_t status;
    int waits;                    /* a task report its frame's advance has not taken yet */
} reply_t;

typedef enum {
    CTL_NONE,
    CTL_ABORT,         /* runtime_stop */
    CTL_TIMEOUT,       /* the machine's TimeoutSeconds */
    CTL_FAIL           /* history limit, unrecoverable state, engine refusal */
} exec_control_t;

/* What settling the batch does with a touched execution. */
typedef enum {
    EXEC_LIVE,         /* carries on */
    EXEC_ENDED,        /* ended in this batch: destroyed after the commit */
    EXEC_BROKEN        /* a step or the commit failed: rebuilt from the database */
} exec_state_t;

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
    const handler_def_t *h;       /* NULL: none, or `denied` */
    int denied;                   /* handler_allow does not grant h to the machine: not run */
    char *resource, *handler, *token;
    cJSON *task_input;
    uint32_t attempt;
    int64_t timeout_ms;
    int64_t heartbeat_ms;         /* HeartbeatSeconds * 1000; 0 = none */
    handler_call_t *call;         /* asynchronous call in flight */
    tmr_t *timeout_tmr;
    tmr_t *heartbeat_tmr;
    int64_t hb_due;               /* the deadline heartbeats set; heartbeat_tmr may be earlier */
    int64_t task_ms;              /* when the attempt was scheduled (TimeoutSeconds' origin) */
    /* Callback and activity Tasks (tasks.c): the token can be reported while
     * the frame is on the token table; an activity task is on its
     * activity's queue until a worker takes it (then `delivered`). */
    asl_task_kind_t tkind;
    int cb_done;                  /* CALLBACK: the handler has run; only the report is awaited */
    char *activity;               /* ACTIVITY: its name */
    char *rtoken;                 /* a delegating handler's report token (else token reports) */
    frame_t *tok_next, **tok_pprev;
    activity_t *act;
    frame_t *aq_prev, *aq_next;
    int aq_linked, delivered;
    reply_t *report;              /* on ex->reporters: an accepted report waits for this
                                     frame's advance */
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
    runtime_t *rt;
    char *id, *name;
    const machine_ver_t *mv;
    cJSON *input;
    int64_t start_ms;
    int64_t run_ms;               /* TimeoutSeconds' origin: its start or last redrive */
    /* What its start named (runtime_named_t), for its row's insert only:
     * recovered executions leave them unset. */
    char *named_alias;
    int named_version;
    asl_exec_info_t info;
    frame_t *root;
    frame_t *frames;              /* all frames */
    int64_t next_event;
    exec_state_t state;
    const char *end_status;       /* EXEC_ENDED: its final status (static) */
    int is_new;                   /* its start is not acknowledged yet */
    int touched;                  /* on rt->touched */
    int carry_control;            /* broken: rebuild, then end with `control` */
    int64_t reserved;             /* fewest events its unstarted children will add */
    int had_timer;                /* a timers row may exist: delete at the end */
    exec_row_t row;
    int history_events;           /* its own frame's rows hold events, not replay logs */
    exec_control_t control;       /* ending it from outside the engine */
    char *ctl_error, *ctl_cause;
    reply_t *starters, *stoppers;
    reply_t *reporters;           /* task reports, answered once their advance commits */
    int reports_pending;          /* frames with a report their advance has not taken yet */
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
    runtime_opts_t hooks;         /* as given to runtime_open: its callbacks */
    runtime_stats_t stats;

    exec_t **buckets;             /* by id */
    exec_t **nbuckets_by_name;    /* by (machine, name); same size as buckets */
    size_t nbuckets, nexecs;

    frame_t *ready_head, *ready_tail;
    uv_idle_t pump;
    int pump_on;
    /* With a serializer: a batch or a timer sweep is queued or running as an
     * entry point (the idle handle rests meanwhile, so that waiting for the
     * database never spins the loop). */
    serial_t *serial;
    int pump_queued, wheel_queued;
    int (*fence)(void *ud);
    void *fence_ud;
    const char *node;             /* recover only this node's rows; NULL: all */
    /* PostgreSQL: a batch failed (a lost session): once one commits again,
     * recovery scans the RUNNING rows again for executions that a failed
     * batch dropped from memory (their commit may have happened). */
    int rescan;
    waiter_t *remote_waiters;     /* for executions other nodes run */
    tmr_t *remote_tmr;            /* their next sweep */
    /* After a failed BEGIN or COMMIT (a full or failing disk) the pump rests
     * retry_ms (10 ms doubling to 1 s) instead of spinning on the loop. */
    uv_timer_t retry;
    uint64_t retry_ms;
    int retry_wait;
    /* Callbacks are running (the pump's or the timers' turn, quiesce): a
     * runtime_close from inside one is deferred to the end of that turn. */
    int dispatching;
    int close_requested, close_deferred;

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

    /* Callback and activity tasks (tasks.c). */
    frame_t **tok_buckets;        /* waiting tokens, TOK_BUCKETS chains */
    activity_t *activities;
    int polls_closed;             /* shutting down: no more polls */

    int closing;
    int handles_open;
    void (*on_closed)(void *ud);
    void *on_closed_ud;
};

/* Payload keys an event may repeat from the event before it (compacted on
 * write, expanded on read). */
static const char *const payload_keys[] = {"input", "output"};

/* ---- small helpers ---- */

static inline uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static inline char *print_json(const cJSON *v)
{
    char *s = asl_json_print(v);
    return s ? s : cJSON_PrintUnformatted(v);
}

/* ---- exec.c: the execution table, lifetimes, replies and waiters ---- */

exec_t *exec_new(runtime_t *rt, const machine_ver_t *mv, const char *id, const char *name,
                 cJSON *input_taken, int64_t start_ms);
void exec_destroy(runtime_t *rt, exec_t *ex);
exec_t *exec_find(runtime_t *rt, const char *id);
exec_t *exec_find_by_name(runtime_t *rt, const char *machine, const char *name);
void exec_insert(runtime_t *rt, exec_t *ex);
int exec_touch(runtime_t *rt, exec_t *ex);
void exec_quiesce(exec_t *ex);
void exec_arm_timeout(runtime_t *rt, exec_t *ex);
void exec_set_control(exec_t *ex, exec_control_t kind, const char *error, const char *cause);
void exec_set_history_full(runtime_t *rt, exec_t *ex);
/* The history-limit error's cause, in buf. */
void exec_history_limit_cause(const runtime_t *rt, char *buf, size_t len);
void exec_count(runtime_t *rt, const exec_t *ex, const char *status);
/* Its end is written in the open transaction; counted once committed. */
void exec_set_ended(exec_t *ex, const char *status_static);
void exec_count_end(runtime_t *rt, const exec_t *ex);
void exec_replies_fire(reply_t **list, const char *id, runtime_status_t override, int use);
/* Answers the execution's task reports (as exec_replies_fire), the frames
 * still waiting to take theirs included. */
void exec_reports_fire(exec_t *ex, runtime_status_t override, int use);
/* After a commit: answers the reports whose frame's advance took them (in
 * this batch or an earlier one); the others wait for theirs. */
void exec_reports_fire_taken(exec_t *ex);
void exec_waiters_fire(exec_t *ex);

/* ---- frame.c: frames, the ready queue, children, advancing, tasks ---- */

frame_t *frame_new(runtime_t *rt, exec_t *ex, frame_t *parent, size_t index, const char *id,
                   const asl_machine_t *m);
void frame_destroy(runtime_t *rt, frame_t *fr);
void frame_quiesce(frame_t *fr);
void frame_unreserve(frame_t *fr);
void frame_enqueue(runtime_t *rt, frame_t *fr);
frame_t *frame_dequeue(runtime_t *rt);
int frame_post(runtime_t *rt, frame_t *fr);
void frame_clear_outcome(frame_t *fr);
void frame_set_failure(frame_t *fr, const char *error, const char *cause);
void frame_free_call(frame_t *fr, int cancel);
frame_t *frame_make_kid(runtime_t *rt, frame_t *p, size_t i, asl_child_kind_t kind,
                        const char *parent_state, size_t index, cJSON *input_taken);
void frame_launch_kids(runtime_t *rt, frame_t *fr);
void frame_kids_result(runtime_t *rt, frame_t *fr);
int frame_advance(runtime_t *rt, frame_t *fr);
void frame_start_async(runtime_t *rt, frame_t *fr);
int frame_task_kind(frame_t *fr);
/* A heartbeat: HeartbeatSeconds count again from now. */
void frame_heartbeat(runtime_t *rt, frame_t *fr);
/* A fresh report token (48 hex characters of getrandom); caller frees. */
char *frame_mint_token(void);

/* ---- timers.c: one heap of wake-ups on one uv timer ---- */

tmr_t *timers_add(runtime_t *rt, int64_t due, tmr_kind_t kind, void *target);
void timers_cancel(tmr_t **t);
void timers_rearm(runtime_t *rt);

/* ---- persist.c: what an advance writes ---- */

int persist_new_row(runtime_t *rt, exec_t *ex);
int persist_history(runtime_t *rt, frame_t *fr, cJSON *events, int64_t first_id, int with_state);
int persist_history_text(runtime_t *rt, frame_t *fr, char *text, int64_t n, int64_t first_id,
                         int with_state);
int persist_history_row(runtime_t *rt, const char *execution_id, int64_t first_id,
                        int64_t last_id, const char *frame, char *text_taken,
                        char *state_taken);
int persist_del_timers(runtime_t *rt, const char *execution_id);
int persist_timer_row(runtime_t *rt, frame_t *fr, int put);
int persist_end_row(runtime_t *rt, exec_t *ex, const char *status, const cJSON *output,
                    const char *error, const char *cause, const char *final_state);
int persist_end_control(runtime_t *rt, exec_t *ex);
int persist_fail_new(runtime_t *rt, exec_t *ex);
cJSON *persist_control_event(const char *type, const char *error, const char *cause);

/* ---- remote.c: waiting for executions other nodes run ---- */

/* cb(ud) once `execution_id` (RUNNING on another node) has ended, after
 * timeout_ms (0: none), or when the runtime stops. RUNTIME_OK or
 * RUNTIME_ERR_STORAGE (out of memory; cb is not called). */
int remote_wait(runtime_t *rt, const char *execution_id, int64_t timeout_ms,
                void (*cb)(void *ud), void *ud);
/* The sweep (TMR_REMOTE_WAIT): answers the waiters whose execution ended
 * or whose time ran out. */
void remote_sweep(runtime_t *rt);
/* Answers every remote waiter (the runtime stops). */
void remote_close(runtime_t *rt);

/* ---- recovery.c: rebuilding executions from the database ---- */

/* 0, or -1 when the rows could not be read (tried again later). */
int recovery_chunk(runtime_t *rt);
exec_t *recovery_id(runtime_t *rt, const char *id);
exec_t *recovery_get(runtime_t *rt, const char *id);
/* 1 if the execution's own frame stores its events, 0 if replay logs (the
 * format it started with, else history_format's). */
int recovery_history_events(runtime_t *rt, const char *id);

/* ---- tasks.c: task tokens, activities and their polls ---- */

#define TOK_BUCKETS 4096
int tasks_open(runtime_t *rt);
/* Inside an advance: the callback or activity task waits from now on (the
 * activity's row is written if new); armed after the commit. 0 or -1. */
int tasks_wait(runtime_t *rt, frame_t *fr);
/* After the commit: the token becomes reportable, timers run, an activity
 * task joins its queue. */
void tasks_arm(runtime_t *rt, frame_t *fr);
/* The frame no longer waits: off the token table and the activity queue. */
void tasks_unlink(frame_t *fr);
void tasks_fire(runtime_t *rt, tmr_t *t);
/* Shutting down: parked polls are answered with nothing. */
void tasks_quiesce(runtime_t *rt);
void tasks_free(runtime_t *rt);

/* ---- runtime.c: the pump ---- */

void pump_schedule(runtime_t *rt);
/* Runs a runtime_close deferred while callbacks were running, once none are. */
void pump_settle_close(runtime_t *rt);
void pump_run_posts(runtime_t *rt, int durable);

#endif
