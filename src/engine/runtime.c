/* The durable runtime's public face and its pump. Executions are trees of
 * frames (frame.c); the ready queue is drained once per loop turn inside one
 * SQLite transaction (group commit), each frame advance in its own
 * savepoint, and after the commit the touched executions are settled:
 * replies released, ended ones destroyed, broken ones rebuilt from the
 * database (recovery.c), so memory never runs ahead of what is durable. */
#include "internal.h"
#include "asl/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "engine/query.h"
#include "engine/replay.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#define MAX_BATCH 256     /* frame advances per transaction (per loop turn) */

_Static_assert(RUNTIME_ID_SIZE == RAND_UUID_LEN, "execution ids are rand_uuid()s");

const double runtime_latency_bounds_ms[11] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000};

static const char SQL_BY_NAME[] =
    "SELECT id, input FROM executions WHERE machine = ? AND name = ?";
static const char SQL_DESCRIBE[] =
    "SELECT id, machine, name, status, start_ms, stop_ms, input, output, error, cause, "
    "final_state, machine_version FROM executions WHERE id = ?";

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
void pump_run_posts(runtime_t *rt, int durable)
{
    for (size_t i = 0; i < rt->npost; i++) {
        frame_t *fr = rt->post[i];
        if (!fr)
            continue;   /* destroyed meanwhile */
        fr->post_slot = 0;
        exec_t *ex = fr->ex;
        if (!durable || ex->state != EXEC_LIVE || fr->dead)
            continue;
        if (fr->pend == PEND_TASK) {
            /* Callback and activity tasks wait for a report; a callback
             * task's asynchronous handler runs meanwhile. */
            int waits = fr->tkind == ASL_TASK_ACTIVITY || fr->cb_done;
            int async = !waits && fr->h && fr->h->start;
            if (async)
                frame_start_async(rt, fr);
            if (fr->tkind != ASL_TASK_LOCAL && (waits || async))
                tasks_arm(rt, fr);
            if (!waits && !async)
                frame_enqueue(rt, fr);   /* a synchronous task the chain limit left for next turn */
        }
        else if (fr->pend == PEND_TIMER && !fr->tmr)
            fr->tmr = timers_add(rt, fr->wake_ms, TMR_FRAME, fr);
        else if (fr->pend == PEND_CONTINUE)
            frame_enqueue(rt, fr);
    }
    rt->npost = 0;
}

/* Replaces a broken execution (or one whose batch did not commit) by what
 * is durable: answers its starters and stoppers, destroys it, recovers its
 * row if that committed and moves its waiters over. */
static void rebuild(runtime_t *rt, exec_t *ex, int committed)
{
    /* Replies below may run other requests (a paused pipelined connection
     * resumes): they must not queue anything on this execution. */
    ex->state = EXEC_BROKEN;
    char *id = strdup(ex->id);
    int durable = ex->row == ROW_DURABLE;
    /* A start whose row committed happened, even if a later step of the
     * batch broke: the rebuilt execution carries on. */
    if (durable && ex->is_new) {
        rt->stats.started++;
        exec_count(rt, ex, "RUNNING");
    }
    exec_replies_fire(&ex->starters, ex->id, RUNTIME_ERR_STORAGE, !durable);
    exec_control_t ctl = committed && ex->carry_control ? ex->control : CTL_NONE;
    /* A stop carried over to the rebuilt execution is answered when it
     * commits there, not refused here while it still takes effect. */
    reply_t *stoppers = NULL;
    if (ctl == CTL_ABORT) {
        stoppers = ex->stoppers;
        ex->stoppers = NULL;
    }
    exec_replies_fire(&ex->stoppers, ex->id, RUNTIME_ERR_STORAGE, 1);
    /* Reports that did not commit: their tokens wait again in the rebuilt one. */
    exec_reports_fire(ex, RUNTIME_ERR_STORAGE, 1);
    char *ctl_error = ex->ctl_error, *ctl_cause = ex->ctl_cause;
    ex->ctl_error = ex->ctl_cause = NULL;
    waiter_t *ws = ex->waiters;
    ex->waiters = NULL;
    exec_destroy(rt, ex);
    exec_t *again = durable && id ? recovery_id(rt, id) : NULL;
    if (again && ctl != CTL_NONE) {
        exec_set_control(again, ctl, ctl_error, ctl_cause);
        frame_enqueue(rt, again->root);
        again->stoppers = stoppers;
        stoppers = NULL;
    }
    exec_replies_fire(&stoppers, id ? id : "", RUNTIME_ERR_STORAGE, 1);
    free(ctl_error);
    free(ctl_cause);
    while (ws) {
        waiter_t *nw = ws->next;
        if (again) {
            ws->ex = again;
            ws->next = again->waiters;
            again->waiters = ws;
        } else {
            timers_cancel(&ws->tmr);
            ws->cb(ws->ud);
            free(ws);
        }
        ws = nw;
    }
    free(id);
}

static void after_batch(runtime_t *rt, int committed)
{
    pump_run_posts(rt, committed);
    size_t n = rt->ntouched;
    rt->ntouched = 0;
    for (size_t i = 0; i < n; i++) {
        exec_t *ex = rt->touched[i];
        ex->touched = 0;
        if (ex->row == ROW_WRITTEN)
            ex->row = committed ? ROW_DURABLE : ROW_NONE;
        if (!committed || ex->state == EXEC_BROKEN) {
            rebuild(rt, ex, committed);
            continue;
        }
        if (ex->is_new) {
            ex->is_new = 0;
            rt->stats.started++;
            exec_count(rt, ex, "RUNNING");
        }
        exec_replies_fire(&ex->starters, ex->id, RUNTIME_OK, 0);
        exec_replies_fire(&ex->stoppers, ex->id, RUNTIME_OK, 0);
        /* A report is answered once its frame's advance has committed (a
         * batch takes only MAX_BATCH frames). */
        if (ex->state == EXEC_ENDED)
            exec_reports_fire(ex, RUNTIME_OK, 0);
        else
            exec_reports_fire_taken(ex);
        if (ex->state == EXEC_ENDED) {
            exec_count_end(rt, ex);
            exec_waiters_fire(ex);
            exec_destroy(rt, ex);
        }
    }
    /* Rebuilt executions' asynchronous tasks: their state is durable. */
    pump_run_posts(rt, 1);
    if (committed && rt->hooks.after_commit)
        rt->hooks.after_commit(rt->hooks.after_commit_ud);
}

/* One batch. 0, or -1 when the database took no commit (nothing changed). */
static int pump(runtime_t *rt)
{
    if (!rt->ready_head)
        return 0;
    /* The previous batch was settled completely. */
    assert(rt->ntouched == 0 && rt->npost == 0 && !store_in_txn(rt->st));
    if (store_begin(rt->st) < 0) {
        log_error("cannot begin a transaction; retrying shortly");
        return -1;
    }
    if (rt->fence && rt->fence(rt->fence_ud) < 0) {
        store_rollback(rt->st);
        return -1;
    }
    uint64_t lat[MAX_BATCH];
    size_t nlat = 0;
    for (int n = 0; n < MAX_BATCH && rt->ready_head; n++) {
        frame_t *fr = frame_dequeue(rt);
        exec_t *ex = fr->ex;
        if (fr->dead || ex->state != EXEC_LIVE)
            continue;
        if (exec_touch(rt, ex) < 0) {
            frame_enqueue(rt, fr);   /* out of memory: nothing done, next turn */
            break;
        }
        if (store_savepoint(rt->st) < 0) {
            ex->state = EXEC_BROKEN;
            continue;
        }
        int rc = 0;
        exec_row_t row = ex->row;
        if (row == ROW_NONE && !fr->parent)
            rc = persist_new_row(rt, ex);
        if (rc == 0)
            rc = ex->control ? persist_end_control(rt, ex) : frame_advance(rt, fr);
        /* On PostgreSQL a write's failure may show only at the release:
         * the step is then undone like any failed step. */
        if (rc >= 0 && store_release(rt->st) < 0)
            rc = -1;
        if (rc == ADVANCE_END_EXEC) {
            assert(ex->control != CTL_NONE);
            store_rollback_to(rt->st);
            ex->row = row;
            if (row != ROW_DURABLE) {
                /* Not committed yet, so nothing to rebuild from: ended here,
                 * as started (row written) and ended, in one savepoint. */
                int ok = store_savepoint(rt->st) == 0;
                if (ok && row == ROW_NONE)
                    ok = persist_fail_new(rt, ex) == 0;
                else if (ok)
                    ok = persist_end_control(rt, ex) == 0;
                if (!ok || store_release(rt->st) < 0) {
                    store_rollback_to(rt->st);
                    ex->row = row;
                    ex->state = EXEC_BROKEN;
                    ex->carry_control = 1;
                }
            } else {
                /* Memory ran ahead of the rolled-back advance: rebuild from
                 * the database after the commit, then end it. */
                ex->state = EXEC_BROKEN;
                ex->carry_control = 1;
            }
        } else if (rc < 0) {
            log_error("execution %s: step failed (%s); rolled back, reloading from the database",
                      ex->id, store_errmsg(rt->st));
            store_rollback_to(rt->st);
            ex->row = row;
            ex->state = EXEC_BROKEN;
        }
        lat[nlat++] = fr->ready_ns;
    }
    if (rt->hooks.before_commit)
        rt->hooks.before_commit(rt->hooks.before_commit_ud);
    uint64_t tc = mono_ns();
    int committed = store_commit(rt->st) == 0;
    if (!committed) {
        log_error("commit failed: %s; the batch is rolled back", store_errmsg(rt->st));
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
    return committed ? 0 : -1;
}

#define RETRY_FIRST_MS 10
#define RETRY_MAX_MS 1000

static void on_retry(uv_timer_t *t)
{
    runtime_t *rt = t->data;
    rt->retry_wait = 0;
    if (rt->ready_head || rt->recovering)
        pump_schedule(rt);
}

static void pump_turn(runtime_t *rt)
{
    int failed = rt->recovering && recovery_chunk(rt) < 0;
    if (pump(rt) < 0 || failed) {
        rt->rescan = store_backend(rt->st) == STORE_BACKEND_POSTGRESQL;
        rt->retry_ms = rt->retry_ms ? rt->retry_ms * 2 : RETRY_FIRST_MS;
        if (rt->retry_ms > RETRY_MAX_MS)
            rt->retry_ms = RETRY_MAX_MS;
        rt->retry_wait = 1;
        uv_timer_start(&rt->retry, on_retry, rt->retry_ms, 0);
        uv_idle_stop(&rt->pump);
        rt->pump_on = 0;
        return;
    }
    rt->retry_ms = 0;
    if (rt->rescan && !rt->recovering) {
        rt->rescan = 0;
        rt->recovering = 1;
        rt->recover_seq = 0;
        rt->recovered = rt->unrecoverable = 0;
    }
    if (!rt->ready_head && !rt->recovering) {
        uv_idle_stop(&rt->pump);
        rt->pump_on = 0;
    }
}

/* A batch as the serializer's entry point (it holds `dispatching` from
 * on_pump until it has run). */
static void pump_entry(void *ud)
{
    runtime_t *rt = ud;
    pump_turn(rt);
    rt->pump_queued = 0;
    if (rt->ready_head || rt->recovering)
        pump_schedule(rt);
    rt->dispatching--;
    pump_settle_close(rt);
}

static void on_pump(uv_idle_t *h)
{
    runtime_t *rt = h->data;
    rt->dispatching++;
    if (rt->serial) {
        uv_idle_stop(&rt->pump);
        rt->pump_on = 0;
        rt->pump_queued = 1;
        if (serial_run(rt->serial, pump_entry, rt) == 0)
            return;
        rt->pump_queued = 0;   /* out of memory: try again shortly */
        rt->retry_wait = 1;
        uv_timer_start(&rt->retry, on_retry, RETRY_MAX_MS, 0);
    } else {
        pump_turn(rt);
    }
    rt->dispatching--;
    pump_settle_close(rt);
}

void pump_schedule(runtime_t *rt)
{
    if (!rt->pump_on && !rt->closing && !rt->retry_wait && !rt->pump_queued) {
        uv_idle_start(&rt->pump, on_pump);
        rt->pump_on = 1;
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
    rt->serial = o->serial;
    rt->fence = o->fence;
    rt->fence_ud = o->fence_ud;
    rt->node = o->node;
    rt->hooks = *o;
    rt->nbuckets = 1024;
    rt->buckets = calloc(rt->nbuckets, sizeof *rt->buckets);
    rt->nbuckets_by_name = calloc(rt->nbuckets, sizeof *rt->nbuckets_by_name);
    if (!rt->buckets || !rt->nbuckets_by_name || tasks_open(rt) < 0) {
        log_error("runtime: cannot start (out of memory, or the activities cannot be read)");
        tasks_free(rt);
        free(rt->buckets);
        free(rt->nbuckets_by_name);
        free(rt);
        return -1;
    }
    uv_idle_init(rt->loop, &rt->pump);
    rt->pump.data = rt;
    uv_timer_init(rt->loop, &rt->wheel);
    uv_timer_init(rt->loop, &rt->retry);
    rt->retry.data = rt;
    rt->wheel.data = rt;
    rt->handles_open = 3;
    if (store_wal_start(rt->st, rt->loop, &rt->wal) < 0)
        log_warn("runtime: checkpoints stay on the loop thread (out of memory)");
    rt->recovering = 1;
    recovery_chunk(rt);
    if (rt->recovering)
        pump_schedule(rt);
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
    tasks_free(rt);
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
    assert(serial_inside(rt->serial));
    rt->dispatching++;
    for (int i = 0; i < 64 && rt->ready_head; i++)
        if (pump(rt) < 0)
            break;   /* the disk fails: what is not durable resumes at the next start */
    rt->closing = 1;
    rt->recovering = 0;   /* the rest recovers at the next start */
    for (size_t b = 0; b < rt->nbuckets; b++)
        for (exec_t *ex = rt->buckets[b]; ex; ex = ex->hnext)
            exec_waiters_fire(ex);
    remote_close(rt);
    tasks_quiesce(rt);
    rt->dispatching--;
    pump_settle_close(rt);
}

static void close_now(runtime_t *rt);

/* The close as the serializer's entry point: its checkpoint commits. */
static void close_entry(void *ud)
{
    runtime_t *rt = ud;
    rt->dispatching--;
    if (rt->dispatching)
        rt->close_deferred = 1;
    else
        close_now(rt);
}

void runtime_close(runtime_t *rt, void (*done)(void *ud), void *ud)
{
    if (rt->close_requested)
        return;   /* a waiter answered by the close itself may ask again */
    rt->close_requested = 1;
    rt->on_closed = done;
    rt->on_closed_ud = ud;
    if (rt->dispatching) {
        /* Called from one of our callbacks: the turn still uses what the
         * close would free. */
        rt->close_deferred = 1;
        return;
    }
    if (rt->serial && !serial_inside(rt->serial)) {
        rt->dispatching++;
        if (serial_run(rt->serial, close_entry, rt) == 0)
            return;
        rt->dispatching--;
    }
    close_now(rt);
}

void pump_settle_close(runtime_t *rt)
{
    if (rt->close_deferred && !rt->dispatching) {
        rt->close_deferred = 0;
        close_now(rt);
    }
}

static void close_now(runtime_t *rt)
{
    /* Checkpoint: commit every step that is ready (bounded: a few batches). */
    if (!rt->closing)
        runtime_quiesce(rt);
    rt->dispatching++;   /* the replies and waiters below may call back in */
    for (size_t b = 0; b < rt->nbuckets; b++) {
        for (exec_t *ex = rt->buckets[b], *n; ex; ex = n) {
            n = ex->hnext;
            exec_replies_fire(&ex->starters, ex->id, RUNTIME_ERR_STOPPING, 1);
            exec_replies_fire(&ex->stoppers, ex->id, RUNTIME_ERR_STOPPING, 1);
            exec_reports_fire(ex, RUNTIME_ERR_STOPPING, 1);
            exec_waiters_fire(ex);
            exec_destroy(rt, ex);
        }
        rt->buckets[b] = NULL;
        rt->nbuckets_by_name[b] = NULL;
    }
    rt->dispatching--;
    assert(rt->nexecs == 0 && !rt->ready_head && !rt->ready_tail);
    store_wal_stop(rt->wal);
    rt->wal = NULL;
    uv_idle_stop(&rt->pump);
    uv_timer_stop(&rt->wheel);
    uv_close((uv_handle_t *)&rt->pump, on_handle_closed);
    uv_close((uv_handle_t *)&rt->wheel, on_handle_closed);
    uv_timer_stop(&rt->retry);
    uv_close((uv_handle_t *)&rt->retry, on_handle_closed);
}

static reply_t *reply_new(runtime_start_cb cb, void *ud, runtime_status_t st)
{
    reply_t *r = calloc(1, sizeof *r);
    if (r) {
        r->cb = cb;
        r->ud = ud;
        r->status = st;
    }
    return r;
}

static void reply_push(reply_t **list, reply_t *r)
{
    r->next = *list;
    *list = r;
}

static void copy_id(char out[RUNTIME_ID_SIZE], const char *id)
{
    if (out)
        snprintf(out, RUNTIME_ID_SIZE, "%s", id ? id : "");
}

/* RUNTIME_EXISTS or RUNTIME_ERR_CONFLICT for a name already taken (filling
 * out), or RUNTIME_OK when it is free. */
static int name_taken(runtime_t *rt, const machine_ver_t *mv, const char *name,
                      const cJSON *input, char out[RUNTIME_ID_SIZE])
{
    store_stmt_t *s = store_prepare(rt->st, SQL_BY_NAME);
    if (!s)
        return RUNTIME_OK;   /* the name's unique index refuses a duplicate at the commit */
    store_bind_text(s, 1, mv->name);
    store_bind_text(s, 2, name);
    int rc = RUNTIME_OK;
    if (store_step(s) == STORE_ROW) {
        copy_id(out, store_col_text(s, 0));
        cJSON *old = cJSON_Parse(store_col_text(s, 1));
        rc = asl_json_equal(old, input) ? RUNTIME_EXISTS : RUNTIME_ERR_CONFLICT;
        cJSON_Delete(old);
    }
    store_reset(s);
    return rc;
}

int runtime_start(runtime_t *rt, const machine_ver_t *mv, const char *name,
                  const cJSON *input, char id[RUNTIME_ID_SIZE], runtime_start_cb cb, void *ud)
{
    return runtime_start_named(rt, mv, NULL, name, input, id, cb, ud);
}

int runtime_start_named(runtime_t *rt, const machine_ver_t *mv, const runtime_named_t *named,
                        const char *name, const cJSON *input, char id[RUNTIME_ID_SIZE],
                        runtime_start_cb cb, void *ud)
{
    assert(!named || !named->version || named->version == mv->version);
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    if (asl_json_size(input, ASL_PAYLOAD_LIMIT) > ASL_PAYLOAD_LIMIT)
        return RUNTIME_ERR_INPUT;
    if (name) {
        /* Pending in this turn, or running: compare inputs in memory. */
        exec_t *ex = exec_find_by_name(rt, mv->name, name);
        if (ex) {
            copy_id(id, ex->id);
            if (!asl_json_equal(ex->input, input))
                return RUNTIME_ERR_CONFLICT;
            if (!ex->is_new)
                return RUNTIME_EXISTS;
            /* Not durable yet: answered with it, after its commit. */
            reply_t *r = reply_new(cb, ud, RUNTIME_EXISTS);
            if (!r)
                return RUNTIME_ERR_STORAGE;
            reply_push(&ex->starters, r);
            return RUNTIME_OK;
        }
        int rc = name_taken(rt, mv, name, input, id);
        if (rc != RUNTIME_OK)
            return rc;
    }
    /* handler_allow may have narrowed since the version was registered. */
    if (machines_denied(rt->machines, mv, NULL))
        return RUNTIME_ERR_NOT_ALLOWED;
    char new_id[RAND_UUID_LEN];
    rand_uuid(new_id);
    reply_t *r = reply_new(cb, ud, RUNTIME_OK);
    exec_t *ex = r ? exec_new(rt, mv, new_id, name, cJSON_Duplicate(input, 1), store_now_ms()) : NULL;
    if (ex && named && named->alias && !(ex->named_alias = strdup(named->alias))) {
        exec_destroy(rt, ex);
        ex = NULL;
    }
    if (!ex) {
        free(r);
        return RUNTIME_ERR_STORAGE;
    }
    ex->named_version = named ? named->version : 0;
    ex->is_new = 1;
    ex->history_events = rt->cfg->history_events;
    reply_push(&ex->starters, r);
    exec_insert(rt, ex);
    exec_arm_timeout(rt, ex);
    frame_enqueue(rt, ex->root);
    copy_id(id, ex->id);
    return RUNTIME_OK;
}

int runtime_is_done(runtime_t *rt, const char *execution_id)
{
    exec_t *ex = exec_find(rt, execution_id);
    if (ex)
        return ex->is_new ? -1 : 0;
    store_stmt_t *s = store_prepare(rt->st, SQL_DESCRIBE);
    if (!s)
        return -1;
    store_bind_text(s, 1, execution_id);
    int r = -1;
    if (store_step(s) == STORE_ROW)
        r = strcmp(store_col_text(s, 3), "RUNNING") != 0;
    store_reset(s);
    return r;
}

/* Why an id has no execution in memory: RUNTIME_ENDED, RUNTIME_ERR_UNKNOWN,
 * RUNTIME_ERR_REMOTE when another node runs it, or RUNTIME_ERR_STORAGE when
 * it runs but could not be loaded. */
static int not_in_memory(runtime_t *rt, const char *execution_id)
{
    int done = runtime_is_done(rt, execution_id);
    return done > 0 ? RUNTIME_ENDED : done < 0 ? RUNTIME_ERR_UNKNOWN
           : rt->node ? RUNTIME_ERR_REMOTE : RUNTIME_ERR_STORAGE;
}

int runtime_wait(runtime_t *rt, const char *execution_id, int64_t timeout_ms,
                 void (*cb)(void *ud), void *ud)
{
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    exec_t *ex = recovery_get(rt, execution_id);
    if (!ex && rt->node && runtime_is_done(rt, execution_id) == 0)
        return remote_wait(rt, execution_id, timeout_ms, cb, ud);
    if (!ex)
        return not_in_memory(rt, execution_id);
    if (ex->state == EXEC_ENDED)
        return RUNTIME_ENDED;   /* its end is being settled (a callback asks) */
    waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return RUNTIME_ERR_STORAGE;
    w->cb = cb;
    w->ud = ud;
    w->ex = ex;
    if (timeout_ms > 0 && !(w->tmr = timers_add(rt, store_now_ms() + timeout_ms, TMR_WAITER, w))) {
        free(w);
        return RUNTIME_ERR_STORAGE;
    }
    w->next = ex->waiters;
    ex->waiters = w;
    return RUNTIME_OK;
}

int runtime_stop(runtime_t *rt, const char *execution_id, const char *error,
                 const char *cause, runtime_start_cb cb, void *ud)
{
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    exec_t *ex = recovery_get(rt, execution_id);
    if (ex && ex->is_new)
        return RUNTIME_ERR_UNKNOWN;
    if (!ex)
        return not_in_memory(rt, execution_id);
    if (ex->state == EXEC_ENDED)
        return RUNTIME_ENDED;
    reply_t *r = reply_new(cb, ud, RUNTIME_OK);
    if (!r)
        return RUNTIME_ERR_STORAGE;
    exec_set_control(ex, CTL_ABORT, error, cause);
    reply_push(&ex->stoppers, r);
    ex->root->dead = 0;
    frame_enqueue(rt, ex->root);
    return RUNTIME_OK;
}

const runtime_stats_t *runtime_stats(const runtime_t *rt)
{
    return &rt->stats;
}

/* ---- the read side: engine/query.h ------------------------------------- */

/* query_src_t.live_state: a running execution's state is fresher in memory. */
static const char *live_state(void *ud, const char *execution_id)
{
    exec_t *ex = exec_find(ud, execution_id);
    return ex && ex->root->cursor ? asl_cursor_state(ex->root->cursor) : NULL;
}

static query_src_t query_src(runtime_t *rt)
{
    return (query_src_t){.store = rt->st, .machines = rt->machines, .live_state = live_state,
                         .live_ud = rt};
}

cJSON *runtime_describe(runtime_t *rt, const char *execution_id)
{
    query_src_t q = query_src(rt);
    return query_describe(&q, execution_id);
}

cJSON *runtime_list(runtime_t *rt, const query_filter_t *f, int limit, const char *cursor,
                    const char **why)
{
    query_src_t q = query_src(rt);
    return query_list(&q, f, limit, cursor, why);
}

cJSON *runtime_counts(runtime_t *rt, const char *machine)
{
    query_src_t q = query_src(rt);
    return query_counts(&q, machine);
}

cJSON *runtime_history(runtime_t *rt, const char *execution_id)
{
    query_src_t q = query_src(rt);
    return query_history(&q, execution_id);
}

int runtime_prune(runtime_t *rt, int64_t older_than_ms, int max)
{
    return query_prune(rt->st, older_than_ms, max);
}
