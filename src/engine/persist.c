/* What one frame advance writes: history rows (events, or the replay log
 * of the execution's own frame, with the state to resume from), timers rows
 * and the executions row at its start and its end. */
#include "internal.h"
#include "asl/json.h"

#include <assert.h>
#include <stdio.h>

static int write_exec_row(runtime_t *rt, exec_t *ex);
static int report_status(runtime_t *rt, const exec_t *ex, const char *status, int64_t stop_ms,
                         const char *error, const char *cause, const cJSON *output);

static const char SQL_INSERT_EXEC[] =
    "INSERT INTO executions (id, machine, machine_version, name, input, start_ms, start_alias, "
    "start_version, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'RUNNING')";
static const char SQL_INSERT_ENDED[] =
    "INSERT INTO executions (id, machine, machine_version, name, input, start_ms, start_alias, "
    "start_version, status, output, error, cause, stop_ms, final_state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_END_EXEC[] =
    "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stop_ms = ?, "
    "final_state = ? WHERE id = ?";
static const char SQL_INSERT_HISTORY[] =
    "INSERT INTO history (execution_id, first_id, last_id, ts_ms, frame, events, state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SET_STATE[] =
    "UPDATE history SET state = ?1 WHERE execution_id = ?2 AND first_id = "
    "(SELECT max(first_id) FROM history WHERE execution_id = ?2 AND frame = ?3)";
static const char SQL_PUT_TIMER[] =
    "INSERT INTO timers (execution_id, frame, due_ms) VALUES (?, ?, ?) "
    "ON CONFLICT (execution_id, frame) DO UPDATE SET due_ms = excluded.due_ms";
static const char SQL_DEL_TIMER[] = "DELETE FROM timers WHERE execution_id = ? AND frame = ?";
static const char SQL_DEL_TIMERS[] = "DELETE FROM timers WHERE execution_id = ?";


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
        if (fr->task_ms > 0)
            cJSON_AddNumberToObject(rec, "ts", (double)fr->task_ms);
        if (fr->cb_done)
            cJSON_AddTrueToObject(rec, "w");
        if (fr->rtoken)
            cJSON_AddStringToObject(rec, "rt", fr->rtoken);
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

/* One history row: `text` (taken) holds either the events themselves (a JSON
 * array) or, for the execution's own frame, the replay log of the advance
 * (a JSON object, engine/replay.h); `n` events either way. */
int persist_history_text(runtime_t *rt, frame_t *fr, char *text, int64_t n, int64_t first_id,
                         int with_state)
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
    if (n == 0) {
        /* No event (a callback Task's handler the bound on steps left for
         * this advance ran, and the Task now waits): a row would take the
         * first_id of the next one, so the frame's latest row gets the state. */
        free(text);
        store_stmt_t *s = store_prepare(rt->st, SQL_SET_STATE);
        if (!s) {
            free(state);
            return -1;
        }
        store_bind_text_taken(s, 1, state);
        store_bind_text(s, 2, ex->id);
        store_bind_text(s, 3, fr->id);
        if (store_exec_stmt(s) < 0)
            return -1;
        return store_changes(rt->st) == 1 ? 0 : -1;
    }
    return persist_history_row(rt, ex->id, first_id, first_id + n - 1, fr->id, text, state);
}

/* One history row of events first_id..last_id; `text_taken` (NULL: out of
 * memory) and `state_taken` (may be NULL) are freed here. */
int persist_history_row(runtime_t *rt, const char *execution_id, int64_t first_id,
                        int64_t last_id, const char *frame, char *text_taken,
                        char *state_taken)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_INSERT_HISTORY);
    if (!s || !text_taken) {
        free(text_taken);
        free(state_taken);
        return -1;
    }
    store_bind_text(s, 1, execution_id);
    store_bind_int64(s, 2, first_id);
    store_bind_int64(s, 3, last_id);
    store_bind_int64(s, 4, store_now_ms());
    store_bind_text(s, 5, frame);
    store_bind_text_taken(s, 6, text_taken);
    if (state_taken)
        store_bind_text_taken(s, 7, state_taken);
    else
        store_bind_null(s, 7);
    return store_exec_stmt(s);
}

int persist_del_timers(runtime_t *rt, const char *execution_id)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_DEL_TIMERS);
    if (!s)
        return -1;
    store_bind_text(s, 1, execution_id);
    return store_exec_stmt(s);
}

int persist_history(runtime_t *rt, frame_t *fr, cJSON *events, int64_t first_id, int with_state)
{
    compact_events(events);
    return persist_history_text(rt, fr, print_json(events), cJSON_GetArraySize(events),
                                first_id, with_state);
}

int persist_timer_row(runtime_t *rt, frame_t *fr, int put)
{
    if (put)
        fr->ex->had_timer = 1;
    store_stmt_t *s = store_prepare(rt->st, put ? SQL_PUT_TIMER : SQL_DEL_TIMER);
    if (!s)
        return -1;
    store_bind_text(s, 1, fr->ex->id);
    store_bind_text(s, 2, fr->id);
    if (put)
        store_bind_int64(s, 3, fr->wake_ms);
    return store_exec_stmt(s);
}

/* Binds parameters 1-8 of SQL_INSERT_EXEC and SQL_INSERT_ENDED: the columns
 * an executions row has from its start. */
static void bind_exec_start(store_stmt_t *s, exec_t *ex)
{
    store_bind_text(s, 1, ex->id);
    store_bind_text(s, 2, ex->mv->name);
    store_bind_int(s, 3, ex->mv->version);
    store_bind_text(s, 4, ex->name);
    store_bind_text_taken(s, 5, print_json(ex->input));
    store_bind_int64(s, 6, ex->start_ms);
    store_bind_text(s, 7, ex->named_alias);
    if (ex->named_version)
        store_bind_int(s, 8, ex->named_version);
    else
        store_bind_null(s, 8);
}

/* Writes the end of an execution to its row; when the row is still pending
 * (it started in this same frame advance) it is inserted once, already
 * ended, instead of an INSERT and an UPDATE. */
int persist_end_row(runtime_t *rt, exec_t *ex, const char *status, const cJSON *output,
                    const char *error, const char *cause, const char *final_state)
{
    int insert = ex->row == ROW_PENDING;
    store_stmt_t *s = store_prepare(rt->st, insert ? SQL_INSERT_ENDED : SQL_END_EXEC);
    if (!s)
        return -1;
    /* status, then output..final_state from `col` on */
    int col = insert ? 10 : 2;
    if (insert)
        bind_exec_start(s, ex);
    else
        store_bind_text(s, 7, ex->id);
    store_bind_text(s, col - 1, status);
    if (output)
        store_bind_text_taken(s, col, print_json(output));
    else
        store_bind_null(s, col);
    store_bind_text_copy(s, col + 1, error);
    store_bind_text_copy(s, col + 2, cause);
    int64_t stop_ms = store_now_ms();
    store_bind_int64(s, col + 3, stop_ms);
    store_bind_text_copy(s, col + 4, final_state);
    int rc = store_exec_stmt(s);
    if (rc == 0 && insert)
        ex->row = ROW_WRITTEN;
    if (rc == 0 && ex->had_timer)
        rc = persist_del_timers(rt, ex->id);
    /* Started and ended in one write: it was RUNNING first all the same. */
    if (rc == 0 && insert)
        rc = report_status(rt, ex, "RUNNING", 0, NULL, NULL, NULL);
    if (rc == 0)
        rc = report_status(rt, ex, status, stop_ms, error, cause, output);
    return rc;
}

/* A new execution's row. Deferred to the first history row or end_row of
 * the same frame advance, which run in the same savepoint and transaction:
 * the row is durable exactly when it was before (at that commit, ahead of
 * any reply or asynchronous start), and an execution that ends within its
 * first advance is written once. */
int persist_new_row(runtime_t *rt, exec_t *ex)
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
    store_stmt_t *s = store_prepare(rt->st, SQL_INSERT_EXEC);
    if (!s)
        return -1;
    bind_exec_start(s, ex);
    if (store_exec_stmt(s) < 0)
        return -1;
    ex->row = ROW_WRITTEN;
    return report_status(rt, ex, "RUNNING", 0, NULL, NULL, NULL);
}

/* The on_status hook, in the transaction that wrote the status. */
static int report_status(runtime_t *rt, const exec_t *ex, const char *status, int64_t stop_ms,
                         const char *error, const char *cause, const cJSON *output)
{
    if (!rt->hooks.on_status)
        return 0;
    runtime_status_change_t c = {
        .execution_id = ex->id, .machine = ex->mv->name, .version = ex->mv->version,
        .name = ex->name, .status = status, .start_ms = ex->start_ms, .stop_ms = stop_ms,
        .error = error, .cause = cause, .input = ex->input, .output = output};
    return rt->hooks.on_status(rt->hooks.on_status_ud, &c) < 0 ? -1 : 0;
}

cJSON *persist_control_event(const char *type, const char *error, const char *cause)
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
int persist_end_control(runtime_t *rt, exec_t *ex)
{
    const char *status, *type, *error = ex->ctl_error, *cause = ex->ctl_cause;
    assert(ex->control != CTL_NONE);
    switch (ex->control) {
    case CTL_ABORT: status = "ABORTED"; type = "ExecutionAborted"; break;
    case CTL_TIMEOUT: status = "TIMED_OUT"; type = "ExecutionTimedOut"; break;
    default: status = "FAILED"; type = "ExecutionFailed"; break;
    }
    cJSON *events = cJSON_CreateArray();
    cJSON_AddItemToArray(events, persist_control_event(type, error, cause));
    int64_t first = ex->next_event++;
    const char *state = ex->root->cursor ? asl_cursor_state(ex->root->cursor) : NULL;
    char *final_state = xstrdup(state);
    int rc = persist_history(rt, ex->root, events, first, 0);
    cJSON_Delete(events);
    if (rc == 0)
        rc = persist_end_row(rt, ex, status, NULL, error, cause, final_state);
    free(final_state);
    if (rc < 0)
        return -1;
    exec_quiesce(ex);
    exec_set_ended(ex, status);
    return 0;
}

/* A new execution that must end (ex->control) in its very first advance,
 * which is not committed: it is recorded as started and ended, nothing
 * else. */
int persist_fail_new(runtime_t *rt, exec_t *ex)
{
    exec_quiesce(ex);
    cJSON *events = cJSON_CreateArray();
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "type", "ExecutionStarted");
    cJSON *d = cJSON_AddObjectToObject(ev, "details");
    cJSON_AddItemToObject(d, "input", cJSON_Duplicate(ex->input, 1));
    cJSON_AddItemToArray(events, ev);
    ex->next_event = 1;
    int rc = persist_new_row(rt, ex);
    if (rc == 0)
        rc = persist_history(rt, ex->root, events, ex->next_event++, 0);
    cJSON_Delete(events);
    if (rc == 0)
        rc = persist_end_control(rt, ex);
    return rc;
}
