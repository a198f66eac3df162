/* Recovery: rebuilds RUNNING executions from their rows and the latest saved
 * state of each frame, a chunk per loop turn; an execution that cannot be
 * restored is ended FAILED with the reason instead. */
#include "internal.h"
#include "core/log.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>

static const char SQL_RUNNING_AFTER[] =
    "SELECT id, seq FROM executions WHERE status = 'RUNNING' AND seq > ? ORDER BY seq LIMIT ?";
/* With several nodes each recovers only its own rows (owner is the node's). */
static const char SQL_RUNNING_AFTER_OWNED[] =
    "SELECT id, seq FROM executions WHERE status = 'RUNNING' AND owner = ?3 AND seq > ?1 "
    "ORDER BY seq LIMIT ?2";
/* The same columns as SQL_ONE_RUNNING (recover_one reads them by index). */
static const char SQL_ONE_RUNNING_OWNED[] =
    "SELECT id, machine, machine_version, name, input, start_ms, "
    "coalesce(redrive_ms, start_ms) FROM executions "
    "WHERE id = ?1 AND status = 'RUNNING' AND owner = ?2";
static const char SQL_LAST_EVENT[] =
    "SELECT coalesce(max(last_id), 0) FROM history WHERE execution_id = ?";
static const char SQL_FAIL_STORED[] =
    "UPDATE executions SET status = 'FAILED', error = ?, cause = ?, stop_ms = ? "
    "WHERE id = ? AND status = 'RUNNING'";
static const char SQL_ONE_RUNNING[] =
    "SELECT id, machine, machine_version, name, input, start_ms, "
    "coalesce(redrive_ms, start_ms) FROM executions WHERE id = ? AND status = 'RUNNING'";
static const char SQL_FRAMES[] =
    "SELECT last_id, frame, state FROM history WHERE execution_id = ? ORDER BY first_id";
static const char SQL_FIRST_ROOT_ROW[] =
    "SELECT substr(events, 1, 1) FROM history WHERE execution_id = ? AND frame = '' "
    "ORDER BY first_id LIMIT 1";


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
    frame_t *k = frame_make_kid(rt, fr, i, (asl_child_kind_t)kind, ps, (size_t)index,
                                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "i"), 1));
    if (!k)
        return restore_refuse(r, "the saved children of frame '%s' do not match the state "
                                 "machine", fr->id);
    fr->kids[fr->n_kids++] = k;
    /* A redrive keeps the children that succeeded in the entry itself. */
    const cJSON *krec = cJSON_GetObjectItemCaseSensitive(c, "d") ? c : saved_find(r, k->id);
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
        exec_history_limit_cause(rt, r->why, sizeof r->why);
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
        frame_kids_result(rt, fr);
    else
        frame_launch_kids(rt, fr);
    return 0;
}

static int restore_task(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r)
{
    double attempt, to, hb = 0, ts = 0;
    fr->pend = PEND_TASK;
    fr->resource = xstrdup(rec_str(rec, "r"));
    fr->handler = xstrdup(rec_str(rec, "h"));
    fr->task_input = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "i"), 1);
    fr->token = xstrdup(rec_str(rec, "t"));
    if (rec_num(rec, "a", 0, UINT32_MAX, &attempt) < 0 || rec_num(rec, "to", 0, 9e15, &to) < 0 ||
        (cJSON_GetObjectItemCaseSensitive(rec, "hb") && rec_num(rec, "hb", 0, 9e15, &hb) < 0) ||
        (cJSON_GetObjectItemCaseSensitive(rec, "ts") && rec_num(rec, "ts", 0, 9e15, &ts) < 0))
        return restore_refuse(r, "the saved task of frame '%s' is unreadable", fr->id);
    fr->attempt = (uint32_t)attempt;
    fr->timeout_ms = (int64_t)to;
    fr->heartbeat_ms = (int64_t)hb;
    fr->task_ms = (int64_t)ts;   /* 0 (saved before it was): TimeoutSeconds counts from now */
    if (frame_task_kind(fr) < 0)
        return restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    const char *rt_tok = rec_str(rec, "rt");
    if (rt_tok ? !(fr->rtoken = strdup(rt_tok))
               : fr->h && fr->h->delegates && !(fr->rtoken = frame_mint_token()))
        return restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    /* A callback task whose handler ran waits for its report again, and an
     * activity task is queued again: at-least-once, the token unchanged. */
    fr->cb_done = fr->tkind == ASL_TASK_CALLBACK &&
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "w"));
    int waits = fr->tkind == ASL_TASK_ACTIVITY || fr->cb_done;
    if (!waits && (!fr->h || fr->h->run))
        frame_enqueue(rt, fr);
    else if (frame_post(rt, fr) < 0)   /* at-least-once: the asynchronous call runs again */
        return restore_refuse(r, "out of memory restoring frame '%s'", fr->id);
    return 0;
}

static int restore_frame(runtime_t *rt, frame_t *fr, const cJSON *rec, restore_t *r)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(rec, "d");
    fr->started = 1;
    frame_unreserve(fr);
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
        fr->tmr = timers_add(rt, fr->wake_ms, TMR_FRAME, fr);
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
    frame_enqueue(rt, fr);
    return 0;
}

/* Reads the latest saved state of every frame and the last event id. */
static int read_records(runtime_t *rt, exec_t *ex, restore_t *r)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_FRAMES);
    if (!s)
        return restore_refuse(r, "database error reading the history%s", "");
    store_bind_text(s, 1, ex->id);
    int64_t last = 0;
    int rc = 0, step;
    while (rc == 0 && (step = store_step(s)) == STORE_ROW) {
        last = store_col_int64(s, 0);
        const char *frame = store_col_text(s, 1);
        const char *state = store_col_text(s, 2);
        if (!state)
            continue;
        cJSON *rec = cJSON_Parse(state);
        if (!cJSON_IsObject(rec) || !frame) {
            cJSON_Delete(rec);
            rc = restore_refuse(r, "the saved state of frame '%s' is not valid JSON",
                                frame ? frame : "?");
            break;
        }
        char *name = grow_reserve(&r->saved, &r->capsaved, r->nsaved + 1, sizeof *r->saved) == 0
                         ? strdup(frame)
                         : NULL;
        if (!name) {
            cJSON_Delete(rec);
            rc = restore_refuse(r, "out of memory reading the history%s", "");
            break;
        }
        r->saved[r->nsaved] = (saved_t){.frame = name, .rec = rec, .seq = r->nsaved};
        r->nsaved++;
    }
    saved_latest(r);
    if (rc == 0 && step != STORE_DONE)
        rc = restore_refuse(r, "database error reading the history%s", "");
    store_reset(s);
    ex->next_event = last + 1;
    return rc;
}

/* An execution keeps the history format it started with (history_format
 * may have changed since): a replay log needs every earlier step logged. */
int recovery_history_events(runtime_t *rt, const char *id)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_FIRST_ROOT_ROW);
    int events = rt->cfg->history_events;
    if (!s)
        return events;
    store_bind_text(s, 1, id);
    if (store_step(s) == STORE_ROW) {
        const char *c = store_col_text(s, 0);
        events = !(c && c[0] == '{');
    }
    store_reset(s);
    return events;
}

/* Rebuilds one RUNNING execution from its row (id, machine, version, name,
 * input, start_ms, run_ms) and its history records. NULL with r->why set when it
 * cannot be restored. */
static exec_t *recover_one(runtime_t *rt, store_stmt_t *row, restore_t *r)
{
    const char *id = store_col_text(row, 0);
    const char *mname = store_col_text(row, 1);
    int version = store_col_int(row, 2);
    const machine_ver_t *mv = machines_get_version(rt->machines, mname, version);
    if (!mv) {
        snprintf(r->why, sizeof r->why, "its state machine %s version %d is unavailable", mname,
                 version);
        return NULL;
    }
    cJSON *input = cJSON_Parse(store_col_text(row, 4));
    if (!input) {
        snprintf(r->why, sizeof r->why, "its stored input is not valid JSON");
        return NULL;
    }
    exec_t *ex = exec_new(rt, mv, id, store_col_text(row, 3), input, store_col_int64(row, 5));
    if (!ex) {
        snprintf(r->why, sizeof r->why, "out of memory");
        return NULL;
    }
    ex->row = ROW_DURABLE;
    ex->run_ms = store_col_int64(row, 6);
    ex->had_timer = 1;   /* unknown: a timers row may be left from before */
    ex->history_events = recovery_history_events(rt, ex->id);
    exec_insert(rt, ex);
    int rc = read_records(rt, ex, r);
    const cJSON *rootrec = rc == 0 ? saved_find(r, "") : NULL;
    if (rc == 0 && !rootrec)
        frame_enqueue(rt, ex->root);   /* the row committed without a step: from the start */
    else if (rc == 0)
        rc = restore_frame(rt, ex->root, rootrec, r);
    if (rc == 0 && ex->next_event - 1 + ex->reserved + 1 > rt->cfg->history_limit) {
        exec_history_limit_cause(rt, r->why, sizeof r->why);
        rc = -1;
    }
    saved_free(r);
    if (rc < 0) {
        exec_destroy(rt, ex);
        return NULL;
    }
    exec_arm_timeout(rt, ex);
    return ex;
}

/* Ends a stored RUNNING execution that cannot be restored: FAILED with the
 * reason, one ExecutionFailed event, in its own transaction. */
static void fail_stored(runtime_t *rt, store_stmt_t *row, const char *why)
{
    const char *id = store_col_text(row, 0);
    const char *machine = store_col_text(row, 1);
    char cause[400];
    snprintf(cause, sizeof cause, "the execution cannot be recovered: %s", why);
    log_error("execution %s: %s; it is ended FAILED", id, cause);
    assert(!store_in_txn(rt->st));
    cJSON *events = cJSON_CreateArray();
    cJSON_AddItemToArray(events, persist_control_event("ExecutionFailed", ASL_E_RUNTIME, cause));
    char *text = print_json(events);
    cJSON_Delete(events);
    store_stmt_t *s;
    int rc = store_begin(rt->st);
    /* Several nodes: only while this node still owns its executions. */
    if (rc == 0 && rt->fence && rt->fence(rt->fence_ud) < 0)
        rc = -1;
    int64_t first = 1;
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_LAST_EVENT)) ? 0 : -1) == 0) {
        store_bind_text(s, 1, id);
        if (store_step(s) == STORE_ROW)
            first = store_col_int64(s, 0) + 1;
        store_reset(s);
    }
    if (rc == 0)
        rc = persist_history_row(rt, id, first, first, "", text, NULL);
    else
        free(text);
    int64_t stop_ms = store_now_ms();
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_FAIL_STORED)) ? 0 : -1) == 0) {
        store_bind_text(s, 1, ASL_E_RUNTIME);
        store_bind_text(s, 2, cause);
        store_bind_int64(s, 3, stop_ms);
        store_bind_text(s, 4, id);
        rc = store_exec_stmt(s);
    }
    if (rc == 0)
        rc = persist_del_timers(rt, id);
    if (rc == 0 && rt->hooks.on_status) {
        cJSON *input = cJSON_Parse(store_col_text(row, 4));
        runtime_status_change_t c = {
            .execution_id = id, .machine = machine, .version = store_col_int(row, 2),
            .name = store_col_text(row, 3), .status = "FAILED",
            .start_ms = store_col_int64(row, 5), .stop_ms = stop_ms,
            .error = ASL_E_RUNTIME, .cause = cause, .input = input};
        rc = rt->hooks.on_status(rt->hooks.on_status_ud, &c) < 0 ? -1 : 0;
        cJSON_Delete(input);
    }
    if (rc == 0 && (rc = store_commit(rt->st)) == 0) {
        rt->stats.failed++;
        if (rt->hooks.on_count)
            rt->hooks.on_count(rt->hooks.on_count_ud, machine, "FAILED");
    } else {
        if (store_in_txn(rt->st))
            store_rollback(rt->st);
        log_error("execution %s: cannot record its failure; left RUNNING until %s", id,
                  rt->node ? "this node or the one that takes it over recovers it again"
                           : "the next start");
    }
}

/* recover_one, or fail_stored when it cannot be restored. */
static exec_t *recover_row(runtime_t *rt, store_stmt_t *row)
{
    restore_t r = {0};
    exec_t *ex = recover_one(rt, row, &r);
    if (!ex)
        fail_stored(rt, row, r.why);
    return ex;
}

/* Recovers the execution `id` if its row is RUNNING. */
exec_t *recovery_id(runtime_t *rt, const char *id)
{
    store_stmt_t *s = store_prepare(rt->st, rt->node ? SQL_ONE_RUNNING_OWNED : SQL_ONE_RUNNING);
    if (!s)
        return NULL;
    exec_t *ex = NULL;
    store_bind_text(s, 1, id);
    if (rt->node)
        store_bind_text(s, 2, rt->node);
    if (store_step(s) == STORE_ROW)
        ex = recover_row(rt, s);
    store_reset(s);
    return ex;
}

/* The execution in memory; while recovery is under way, one not recovered
 * yet is recovered now. */
exec_t *recovery_get(runtime_t *rt, const char *id)
{
    exec_t *ex = exec_find(rt, id);
    if (!ex && rt->recovering) {
        /* Between batches: what it waits for starts now, as in a chunk. */
        assert(!store_in_txn(rt->st));
        ex = recovery_id(rt, id);
        pump_run_posts(rt, 1);
    }
    return ex;
}

/* Recovers the next RECOVER_CHUNK RUNNING executions (in row order) that are
 * not in memory yet; recovery ends with the last of them. */
int recovery_chunk(runtime_t *rt)
{
    store_stmt_t *s = store_prepare(rt->st, rt->node ? SQL_RUNNING_AFTER_OWNED : SQL_RUNNING_AFTER);
    if (!s)
        return -1;   /* tried again later */
    char *ids[RECOVER_CHUNK];
    int n = 0;
    store_bind_int64(s, 1, rt->recover_seq);
    store_bind_int(s, 2, RECOVER_CHUNK);
    if (rt->node)
        store_bind_text(s, 3, rt->node);
    int rc;
    while (n < RECOVER_CHUNK && (rc = store_step(s)) == STORE_ROW) {
        rt->recover_seq = store_col_int64(s, 1);
        ids[n++] = xstrdup(store_col_text(s, 0));
    }
    store_reset(s);
    if (rc < 0 && n == 0)
        return -1;
    for (int i = 0; i < n; i++) {
        /* Recovered already on demand, or started since. */
        if (ids[i] && !exec_find(rt, ids[i])) {
            if (recovery_id(rt, ids[i]))
                rt->recovered++;
            else
                rt->unrecoverable++;
        }
        free(ids[i]);
    }
    /* Asynchronous tasks restored above start now: their state is durable. */
    pump_run_posts(rt, 1);
    if (n < RECOVER_CHUNK) {
        rt->recovering = 0;
        if (rt->recovered || rt->unrecoverable)
            log_info("recovered %d running execution%s%s", rt->recovered,
                     rt->recovered == 1 ? "" : "s",
                     rt->unrecoverable ? " (some could not be restored and failed, see above)"
                                       : "");
    }
    return 0;
}


int runtime_adopt(runtime_t *rt, const char *execution_id)
{
    assert(!store_in_txn(rt->st));
    if (rt->closing)
        return -1;
    if (exec_find(rt, execution_id))
        return 0;   /* recovered on demand already */
    exec_t *ex = recovery_id(rt, execution_id);
    /* What it waits for starts now: its state is durable. */
    pump_run_posts(rt, 1);
    if (ex)
        rt->recovered++;
    else
        rt->unrecoverable++;
    return ex ? 0 : -1;
}

void runtime_rescan(runtime_t *rt)
{
    if (rt->closing)
        return;
    rt->rescan = 1;
    pump_schedule(rt);
}
