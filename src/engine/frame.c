/* The runtime's frames (an execution and its Parallel branches / Map
 * iterations): their lifetime, the ready queue and the post list, children,
 * one frame advance through the pure engine, and asynchronous tasks. */
#include "internal.h"
#include "asl/json.h"
#include "core/log.h"
#include "core/rand.h"
#include "engine/replay.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#define MAX_CHAIN 64      /* engine steps per frame advance */

static const char SQL_TASK_SAVEPOINT[] = "SAVEPOINT task";
static const char SQL_TASK_RELEASE[] = "RELEASE task";
static const char SQL_TASK_ROLLBACK[] = "ROLLBACK TO task";

/* ---- the ready queue and the post list ---------------------------------- */

void frame_enqueue(runtime_t *rt, frame_t *fr)
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
    pump_schedule(rt);
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

frame_t *frame_dequeue(runtime_t *rt)
{
    frame_t *fr = rt->ready_head;
    if (fr)
        ready_unlink(rt, fr);
    return fr;
}

/* Asks after_batch to start what the frame waits for once its state is
 * durable. 0 or -1 (out of memory). */
int frame_post(runtime_t *rt, frame_t *fr)
{
    if (fr->post_slot)
        return 0;
    if (grow_reserve(&rt->post, &rt->cappost, rt->npost + 1, sizeof *rt->post) < 0)
        return -1;
    rt->post[rt->npost++] = fr;
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

frame_t *frame_new(runtime_t *rt, exec_t *ex, frame_t *parent, size_t index, const char *id,
                   const asl_machine_t *m)
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

void frame_clear_outcome(frame_t *fr)
{
    cJSON_Delete(fr->out.result);
    cJSON_Delete(fr->out.children);
    free(fr->out_error);
    free(fr->out_cause);
    memset(&fr->out, 0, sizeof fr->out);
    fr->out_error = fr->out_cause = NULL;
    fr->has_outcome = 0;
}

void frame_set_failure(frame_t *fr, const char *error, const char *cause)
{
    frame_clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_TASK_FAILED;
    fr->out_error = xstrdup(error);
    fr->out_cause = xstrdup(cause);
    fr->out.error = fr->out_error;
    fr->out.cause = fr->out_cause;
    fr->has_outcome = 1;
}

static void set_result(frame_t *fr, cJSON *result)
{
    frame_clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_TASK_SUCCEEDED;
    fr->out.result = result;
    fr->has_outcome = 1;
}

void frame_free_call(frame_t *fr, int cancel)
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
    frame_free_call(fr, cancel);
    timers_cancel(&fr->timeout_tmr);
    timers_cancel(&fr->heartbeat_tmr);
    tasks_unlink(fr);
    free(fr->resource);
    free(fr->handler);
    free(fr->token);
    free(fr->activity);
    free(fr->rtoken);
    cJSON_Delete(fr->task_input);
    fr->resource = fr->handler = fr->token = fr->activity = fr->rtoken = NULL;
    fr->task_input = NULL;
    fr->h = NULL;
    fr->denied = 0;
    fr->tkind = ASL_TASK_LOCAL;
    fr->cb_done = 0;
    fr->task_ms = 0;
    fr->hb_due = 0;
}

char *frame_mint_token(void)
{
    return asl_task_token_new(rand_secure_u64, NULL);
}

/* Sets what a Task's handler name asks for: the handler to run (a callback
 * Task's without its suffix) or the activity. 0 or -1 (out of memory). */
int frame_task_kind(frame_t *fr)
{
    const char *base;
    size_t len;
    fr->tkind = asl_task_kind(fr->handler, &base, &len);
    if (fr->tkind == ASL_TASK_ACTIVITY) {
        fr->h = NULL;
        return (fr->activity = strdup(base)) ? 0 : -1;
    }
    char *name = strndup(base, len);
    if (!name)
        return -1;
    fr->h = handler_lookup(name);
    /* Checked as each Task is dispatched, not only as the definition was
     * registered: handler_allow may have narrowed since. */
    fr->denied = fr->h && !machines_allows(fr->ex->rt->machines, fr->ex->mv->name, name);
    if (fr->denied)
        fr->h = NULL;
    free(name);
    return 0;
}

/* The frame has started (or will never start): its reservation is over. */
void frame_unreserve(frame_t *fr)
{
    fr->ex->reserved -= fr->reserved;
    fr->reserved = 0;
    assert(fr->ex->reserved >= 0);
}

/* Drops whatever the frame waits for (timers, asynchronous calls). */
void frame_quiesce(frame_t *fr)
{
    frame_unreserve(fr);
    if (fr->report) {
        /* Ended or abandoned before its advance took the report: not recorded. */
        fr->report->status = RUNTIME_ERR_UNKNOWN;
        fr->report->waits = 0;
        fr->report = NULL;
        fr->ex->reports_pending--;
    }
    clear_task(fr, 1);
    timers_cancel(&fr->tmr);
    fr->dead = 1;
}

/* Unlinks the frame from the ready queue, the post list and its timers, and
 * frees it. */
void frame_destroy(runtime_t *rt, frame_t *fr)
{
    frame_quiesce(fr);
    ready_unlink(rt, fr);
    post_unlink(rt, fr);
    assert(!fr->queued && !fr->post_slot && !fr->call);
    assert(!fr->tmr && !fr->timeout_tmr && !fr->heartbeat_tmr);
    assert(!fr->tok_pprev && !fr->aq_linked && !fr->delivered);
    frame_clear_outcome(fr);
    cJSON_Delete(fr->cursor);
    cJSON_Delete(fr->child.input);
    cJSON_Delete(fr->results);
    cJSON_Delete(fr->done);
    free(fr->kids);
    free(fr->id);
    free(fr);
}

/* ---- children ----------------------------------------------------------- */

void frame_launch_kids(runtime_t *rt, frame_t *fr)
{
    while (fr->next_kid < fr->n_kids && (fr->max_conc == 0 || fr->running < fr->max_conc)) {
        frame_t *k = fr->kids[fr->next_kid++];
        if (k->pend == PEND_DONE)
            continue;
        fr->running++;
        frame_enqueue(rt, k);
    }
}

/* A child abandoned by its fan-out, and everything it started in turn: no
 * more steps, timers or calls anywhere below it. */
static void quiesce_subtree(frame_t *fr)
{
    for (size_t i = 0; i < fr->n_kids; i++)
        quiesce_subtree(fr->kids[i]);
    frame_quiesce(fr);
}

void frame_kids_result(runtime_t *rt, frame_t *fr)
{
    int fail_fast = fr->failures > fr->tolerated;
    size_t ended = 0;
    for (size_t i = 0; i < fr->n_kids; i++)
        ended += fr->kids[i]->pend == PEND_DONE;
    if (!fail_fast && ended < fr->n_kids) {
        frame_launch_kids(rt, fr);
        return;
    }
    cJSON *res = cJSON_CreateArray();
    for (size_t i = 0; i < fr->n_kids; i++) {
        frame_t *k = fr->kids[i];
        if (k->pend == PEND_DONE) {
            cJSON_AddItemToArray(res, cJSON_Duplicate(k->done, 1));
        } else {
            cJSON_AddItemToArray(res, cJSON_CreateNull());
            quiesce_subtree(k);
        }
    }
    frame_clear_outcome(fr);
    fr->out.kind = ASL_OUTCOME_CHILDREN;
    fr->out.children = res;
    fr->has_outcome = 1;
    fr->running = 0;
    frame_enqueue(rt, fr);
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
    frame_kids_result(rt, p);
}

frame_t *frame_make_kid(runtime_t *rt, frame_t *p, size_t i, asl_child_kind_t kind,
                        const char *parent_state, size_t index, cJSON *input_taken)
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

/* ---- advancing a frame -------------------------------------------------- */

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
    /* On PostgreSQL a failed statement aborts the whole transaction, not
     * just itself: every handler gets its savepoint there. */
    int sp = !fr->h->atomic || store_backend(rt->st) == STORE_BACKEND_POSTGRESQL;
    if (sp && store_exec_cached(rt->st, SQL_TASK_SAVEPOINT) < 0) {
        frame_set_failure(fr, ASL_E_TASK_FAILED, "database error before running the handler");
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
        frame_set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED,
                          err.cause ? err.cause : "the handler failed");
    }
    asl_error_clear(&err);
}

/* The Task fails without its handler: handler_allow does not grant it. */
static void set_denied(frame_t *fr)
{
    const char *base;
    size_t len;
    asl_task_kind(fr->handler ? fr->handler : "", &base, &len);
    char name[256], why[MACHINES_WHY_SIZE];
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), base);
    machines_denial_why(fr->ex->mv->name, name, why, sizeof why);
    frame_set_failure(fr, MACHINES_E_HANDLER_NOT_ALLOWED, why);
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
        fr->task_ms = store_now_ms();
        if (frame_task_kind(fr) < 0)
            return -1;
        if (fr->h && fr->h->delegates && !(fr->rtoken = frame_mint_token()))
            return -1;
        if (!fr->h || fr->h->run)
            return 1;   /* runs now (or waits, for an activity) */
        return frame_post(rt, fr);
    case ASL_STEP_WAIT:
    case ASL_STEP_RETRY:
        fr->pend = PEND_TIMER;
        fr->cursor = asl_step_take_cursor(step);
        fr->wake_ms = step->wake_at_ms;
        if (persist_timer_row(rt, fr, 1) < 0)
            return -1;
        return frame_post(rt, fr);
    case ASL_STEP_RUN_CHILDREN: {
        /* Refused before building anything when even the fewest events of
         * these and the already started children cannot fit. */
        int64_t need = used + ex->reserved + 1;
        for (size_t i = 0; i < step->n_children; i++)
            need += step->children[i].kind == ASL_CHILD_ITERATION ? MIN_EVENTS_ITERATION
                                                                  : MIN_EVENTS_BRANCH;
        if (need > rt->cfg->history_limit) {
            exec_set_history_full(rt, ex);
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
            frame_t *k = frame_make_kid(rt, fr, i, c->kind, c->parent_state, c->index, c->input);
            c->input = NULL;
            if (!k)
                return -1;
            fr->kids[fr->n_kids++] = k;
        }
        if (fr->n_kids == 0) {
            frame_clear_outcome(fr);
            fr->out.kind = ASL_OUTCOME_CHILDREN;
            fr->out.children = cJSON_CreateArray();
            fr->has_outcome = 1;
            frame_enqueue(rt, fr);
        } else {
            frame_launch_kids(rt, fr);
        }
        return 0;
    }
    case ASL_STEP_CONTINUE:
        fr->pend = PEND_CONTINUE;
        fr->cursor = asl_step_take_cursor(step);
        frame_clear_outcome(fr);
        fr->has_outcome = 1;   /* ASL_OUTCOME_NONE */
        return frame_post(rt, fr);   /* re-queued after the commit, for fairness */
    case ASL_STEP_SUCCEEDED:
    case ASL_STEP_FAILED: {
        int ok = step->kind == ASL_STEP_SUCCEEDED;
        fr->pend = PEND_DONE;
        fr->done = cJSON_CreateObject();
        if (ok) {
            cJSON_AddItemToObject(fr->done, "output",
                                  step->output ? step->output : cJSON_CreateNull());
            step->output = NULL;
        } else {
            cJSON_AddStringToObject(fr->done, "error",
                                    step->error.error ? step->error.error : ASL_E_RUNTIME);
            cJSON_AddStringToObject(fr->done, "cause", step->error.cause ? step->error.cause : "");
        }
        if (fr->parent)
            return 0;   /* the parent learns after the history row is written */
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(fr->done, "output");
        if (persist_end_row(rt, ex, ok ? "SUCCEEDED" : "FAILED", ok ? o : NULL,
                            ok ? NULL : step->error.error, ok ? NULL : step->error.cause,
                            step->state) < 0)
            return -1;
        exec_set_ended(ex, ok ? "SUCCEEDED" : "FAILED");
        return 0;
    }
    }
    return -1;
}

/* One frame advance: feeds the pending outcome (running synchronous handlers
 * inline), steps the engine until it waits for the outside, and writes one
 * history row. Runs inside the frame's savepoint. */
int frame_advance(runtime_t *rt, frame_t *fr)
{
    exec_t *ex = fr->ex;
    if (fr->report) {
        /* Its report commits with this advance (or the batch is rebuilt). */
        fr->report->waits = 0;
        fr->report = NULL;
        ex->reports_pending--;
    }
    asl_env_t env = {.now_ms = store_now_ms(), .random64 = rand_u64_ud,
                     .secure64 = rand_secure_u64, .raw_payloads = 1};
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
        env.secure64 = replay_log_secure;
        env.random_ud = &lg;
    } else if (!(events = cJSON_CreateArray())) {
        return -1;
    }
    int64_t first = ex->next_event, n = 0;
    int rc = 0, chain = 0;
    pend_t was = fr->pend;

    if (was == PEND_TIMER && fr->started && persist_timer_row(rt, fr, 0) < 0) {
        cJSON_Delete(events);
        replay_log_discard(&lg);
        return -1;
    }
    for (;;) {
        if (fr->pend == PEND_TASK && !fr->has_outcome) {
            if (fr->tkind == ASL_TASK_ACTIVITY || fr->cb_done) {
                rc = tasks_wait(rt, fr);   /* waits for a report */
                break;
            }
            if (fr->denied) {
                set_denied(fr);
            } else if (!fr->h) {
                frame_set_failure(fr, ASL_E_TASK_FAILED,
                                  "no handler is registered for this Resource");
            } else if (fr->h->run) {
                run_sync(rt, fr);
                if (fr->tkind == ASL_TASK_CALLBACK &&
                    fr->out.kind == ASL_OUTCOME_TASK_SUCCEEDED) {
                    /* Its effects commit with this advance; then the
                     * report decides the Task's result. */
                    frame_clear_outcome(fr);
                    rc = tasks_wait(rt, fr);
                    break;
                }
            } else {
                break;   /* asynchronous: waits for completion */
            }
        }
        if (fr->pend == PEND_TASK && fr->call && fr->h && fr->h->finish &&
            fr->out.kind == ASL_OUTCOME_TASK_SUCCEEDED) {
            asl_error_t err = {0};
            cJSON *res = fr->out.result;
            fr->out.result = NULL;
            if (fr->h->finish(fr->call, &res, &err) < 0) {
                cJSON_Delete(res);
                frame_set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED, err.cause);
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
            frame_unreserve(fr);
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
                exec_set_control(ex, CTL_FAIL, ASL_E_RUNTIME, cause);
                rc = ADVANCE_END_EXEC;
            }
            asl_error_clear(&err);
            fr->out.result = NULL;
            fr->out.children = NULL;
        }
        frame_clear_outcome(fr);
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
            rc = frame_post(rt, fr);   /* bounded work per turn: continue next turn */
            break;
        }
    }
    /* The history cap is exact: an advance that would pass it (leaving room
     * for the final ExecutionFailed) is not committed at all. */
    if (rc == 0 && first - 1 + n + 1 > rt->cfg->history_limit) {
        exec_set_history_full(rt, ex);
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
        rc = persist_history(rt, fr, events, first, with_state);
        cJSON_Delete(events);
    } else {
        rc = persist_history_text(rt, fr, replay_log_finish(&lg), n, first, with_state);
    }
    if (rc < 0)
        return -1;
    if (fr->pend == PEND_DONE && fr->parent) {
        fr->dead = 1;
        child_ended(rt, fr);
    }
    return 0;
}

/* ---- asynchronous handlers ---------------------------------------------- */

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
    if (fr->tkind == ASL_TASK_CALLBACK && !(err && err->error)) {
        /* Its request is out; the report decides (timers keep running). */
        cJSON_Delete(result);
        frame_free_call(fr, 0);
        return;
    }
    timers_cancel(&fr->timeout_tmr);
    timers_cancel(&fr->heartbeat_tmr);
    tasks_unlink(fr);
    if (err && err->error) {
        cJSON_Delete(result);
        frame_set_failure(fr, err->error, err->cause);
    } else {
        set_result(fr, result);
    }
    frame_enqueue(rt, fr);
}

/* The handler is alive: its HeartbeatSeconds clock starts again. */
static void on_task_heartbeat(handler_call_t *call)
{
    runtime_t *rt = ((call_box_t *)call)->rt;
    frame_t *fr = call->runtime_data;
    if (!fr || fr->call != call || fr->has_outcome || fr->dead || fr->heartbeat_ms <= 0)
        return;
    frame_heartbeat(rt, fr);
}

/* The pending timer stays in the heap and, when it comes due, waits on for
 * the deadline (timers.c): a heartbeat costs no heap entry, however often
 * it comes. */
void frame_heartbeat(runtime_t *rt, frame_t *fr)
{
    fr->hb_due = store_now_ms() + fr->heartbeat_ms;
    if (!fr->heartbeat_tmr)
        fr->heartbeat_tmr = timers_add(rt, fr->hb_due, TMR_TASK_HEARTBEAT, fr);
}

/* The handler hands its call to activity workers: the frame becomes an
 * activity task (queued by tasks_arm once start returns), its call kept for
 * finish. */
static int on_task_delegate(handler_call_t *call, const char *activity)
{
    frame_t *fr = call->runtime_data;
    if (!fr || fr->call != call || !fr->rtoken || !asl_activity_name_valid(activity))
        return -1;
    char *name = strdup(activity);
    if (!name)
        return -1;
    free(fr->activity);
    fr->activity = name;
    fr->tkind = ASL_TASK_ACTIVITY;
    /* As for any activity task, HeartbeatSeconds count from when a worker
     * takes it (mark_taken), not while it is queued. */
    timers_cancel(&fr->heartbeat_tmr);
    return 0;
}

void frame_start_async(runtime_t *rt, frame_t *fr)
{
    if (fr->call || fr->has_outcome || !fr->h || !fr->h->start)
        return;
    call_box_t *box = calloc(1, sizeof *box);
    if (!box) {
        frame_set_failure(fr, ASL_E_TASK_FAILED, "out of memory starting the handler");
        frame_enqueue(rt, fr);
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
    if (fr->h->delegates)
        call->delegate = on_task_delegate;
    int64_t origin = fr->task_ms ? fr->task_ms : store_now_ms();
    if (fr->timeout_ms > 0)
        fr->timeout_tmr = timers_add(rt, origin + fr->timeout_ms, TMR_TASK_TIMEOUT, fr);
    if (fr->heartbeat_ms > 0)
        fr->heartbeat_tmr =
            timers_add(rt, store_now_ms() + fr->heartbeat_ms, TMR_TASK_HEARTBEAT, fr);
    asl_error_t err = {0};
    if (fr->h->start(call, fr->task_input, &err) < 0) {
        /* Never started: nothing to cancel. */
        timers_cancel(&fr->timeout_tmr);
        timers_cancel(&fr->heartbeat_tmr);
        tasks_unlink(fr);
        frame_set_failure(fr, err.error ? err.error : ASL_E_TASK_FAILED, err.cause);
        asl_error_clear(&err);
        frame_enqueue(rt, fr);
    }
}
