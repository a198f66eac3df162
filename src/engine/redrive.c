/* Redrive: an execution that ended FAILED, TIMED_OUT or ABORTED runs again
 * from the state that was running at its end, with that state's input (or
 * only the failed children of its Parallel/Map state). It is written as
 * recovery reads a running execution (an ExecutionRedriven row whose saved
 * state goes on from there), then rebuilt by recovery: a crash right after
 * the commit resumes it the same. */
#include "internal.h"
#include "asl/json.h"
#include "core/log.h"

#include <inttypes.h>
#include <stdio.h>

static const char SQL_ROW[] =
    "SELECT status, machine, machine_version, name, input, start_ms, stop_ms, redrive_count "
    "FROM executions WHERE id = ?";
static const char SQL_LAST_ID[] =
    "SELECT coalesce(max(last_id), 0) FROM history WHERE execution_id = ?";
static const char SQL_LATEST_STATE[] =
    "SELECT state FROM history WHERE execution_id = ? AND frame = ? AND state IS NOT NULL "
    "ORDER BY first_id DESC LIMIT 1";
static const char SQL_SET_RUNNING[] =
    "UPDATE executions SET status = 'RUNNING', output = NULL, error = NULL, cause = NULL, "
    "stop_ms = NULL, final_state = NULL, redrive_count = ?, redrive_ms = ? "
    "WHERE id = ? AND status = ?";

/* What the executions row says, and where it goes on from. */
typedef struct redrive_s {
    const char *id;
    char status[16];
    const machine_ver_t *mv;
    char *name;
    cJSON *input;                 /* the execution's */
    int64_t start_ms, stop_ms, count, now_ms;
    char *state;                  /* the state entered again */
    cJSON *state_input;           /* borrowed from `events` */
    uint64_t seq;                 /* states its own frame had entered */
    cJSON *events;                /* its own frame's history */
    cJSON *cursor;
    /* A Parallel or Map state whose children failed: its saved children
     * again, those that succeeded with their result ("d"), under a new
     * base ("b", set at the commit); NULL: the state is entered again. */
    cJSON *kids;
} redrive_t;

static void redrive_free(redrive_t *r)
{
    free(r->name);
    free(r->state);
    cJSON_Delete(r->input);
    cJSON_Delete(r->events);
    cJSON_Delete(r->cursor);
    cJSON_Delete(r->kids);
}

static int refuse(char *why, const char *fmt, const char *arg)
{
    snprintf(why, RUNTIME_WHY_SIZE, fmt, arg);
    return RUNTIME_ERR_REFUSED;
}

/* Reads the row; RUNTIME_OK, RUNTIME_ERR_UNKNOWN or RUNTIME_ERR_STORAGE. */
static int read_row(runtime_t *rt, redrive_t *r, int *version, char *machine, size_t mlen)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_ROW);
    if (!s)
        return RUNTIME_ERR_STORAGE;
    store_bind_text(s, 1, r->id);
    int step = store_step(s), rc = RUNTIME_OK;
    if (step == STORE_ROW) {
        snprintf(r->status, sizeof r->status, "%s", store_col_text(s, 0));
        snprintf(machine, mlen, "%s", store_col_text(s, 1));
        *version = store_col_int(s, 2);
        r->name = xstrdup(store_col_text(s, 3));
        r->input = cJSON_Parse(store_col_text(s, 4));
        r->start_ms = store_col_int64(s, 5);
        r->stop_ms = store_col_int64(s, 6);
        r->count = store_col_int64(s, 7);
        if (!r->name || !r->input)
            rc = RUNTIME_ERR_STORAGE;
    } else {
        rc = step == STORE_DONE ? RUNTIME_ERR_UNKNOWN : RUNTIME_ERR_STORAGE;
    }
    store_reset(s);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The latest saved state of one frame (engine/internal.h), or NULL. */
static cJSON *latest_state(runtime_t *rt, const char *id, const char *frame)
{
    store_stmt_t *s = store_prepare(rt->st, SQL_LATEST_STATE);
    if (!s)
        return NULL;
    store_bind_text(s, 1, id);
    store_bind_text(s, 2, frame);
    cJSON *rec = store_step(s) == STORE_ROW ? cJSON_Parse(store_col_text(s, 0)) : NULL;
    store_reset(s);
    return rec;
}

/* When the state to redrive is the Parallel or Map state whose children the
 * execution's own frame last waited for, and some of them did not succeed:
 * those children run again, the others keep their results (as on Step
 * Functions). Fresh frame ids (a new base) give the new runs fresh task
 * tokens. Otherwise (it failed before or after its children) r->kids stays
 * NULL and the state is entered again. */
static void children_again(runtime_t *rt, redrive_t *r)
{
    cJSON *rec = latest_state(rt, r->id, "");
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "p"));
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(rec, "c");
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(rec, "b");
    cJSON *ch = cJSON_GetObjectItemCaseSensitive(rec, "ch");
    const char *state = asl_cursor_state(cursor);
    /* Its seq tells the visit: the last state entered is the one to redrive. */
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(cursor, "seq");
    if (!p || strcmp(p, "children") != 0 || !state || strcmp(state, r->state) != 0 ||
        !cJSON_IsNumber(seq) || (uint64_t)seq->valuedouble != r->seq ||
        !cJSON_IsNumber(base) || !cJSON_IsArray(ch)) {
        cJSON_Delete(rec);
        return;
    }
    int i = 0, kept = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, ch) {
        char kid[64];
        snprintf(kid, sizeof kid, "/%" PRId64 "/%d", (int64_t)base->valuedouble, i++);
        cJSON *krec = latest_state(rt, r->id, kid);
        cJSON *done = cJSON_DetachItemFromObjectCaseSensitive(krec, "d");
        if (cJSON_GetObjectItemCaseSensitive(done, "output")) {
            cJSON_AddItemToObject(c, "d", done);
            kept++;
        } else {
            cJSON_Delete(done);
        }
        cJSON_Delete(krec);
    }
    /* All of them succeeded: the state failed for another reason. */
    if (kept == i || !(r->cursor = cJSON_Duplicate(cursor, 1))) {
        cJSON_Delete(rec);
        return;
    }
    r->kids = rec;
}

/* Finds in the execution's own events the state it was in at its end (the
 * last one entered) and how many it had entered. RUNTIME_OK or refused. */
static int find_state(runtime_t *rt, redrive_t *r, char *why)
{
    query_src_t q = {.store = rt->st, .machines = rt->machines};
    r->events = query_frame_history(&q, r->id, "");
    cJSON *evs = cJSON_GetObjectItemCaseSensitive(r->events, "events");
    int n = cJSON_GetArraySize(evs);
    const char *first = n ? cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(evs, 0), "type")) : NULL;
    const char *last = n ? cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(evs, n - 1), "type")) : NULL;
    /* A history that lost rows or cannot be replayed any more is not
     * something to go on from. */
    if (!first || strcmp(first, "ExecutionStarted") != 0 || !last ||
        (strcmp(last, "ExecutionFailed") != 0 && strcmp(last, "ExecutionTimedOut") != 0 &&
         strcmp(last, "ExecutionAborted") != 0))
        return refuse(why, "the history of execution %s is no longer complete", r->id);
    const cJSON *ev, *entered = NULL;
    cJSON_ArrayForEach(ev, evs) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
        if (type && ends_with(type, "StateEntered")) {
            entered = ev;
            r->seq++;
        }
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(entered, "details");
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
    if (name) {
        r->state = strdup(name);
        r->state_input = cJSON_GetObjectItemCaseSensitive(d, "input");
    } else {
        /* It ended before entering any state: from the start. */
        const asl_machine_t *m = r->mv->machine;
        r->state = strdup(asl_machine_state_name(m, asl_machine_start_index(m)));
        r->state_input = r->input;
    }
    if (!r->state)
        return RUNTIME_ERR_STORAGE;
    children_again(rt, r);
    if (r->kids)
        return RUNTIME_OK;
    r->cursor = asl_exec_enter_cursor(r->mv->machine, r->state, r->state_input, r->seq);
    if (!r->cursor)
        return refuse(why, "state '%s' is not in the execution's state machine version",
                      r->state);
    return RUNTIME_OK;
}

/* Checks that the execution can be redriven; RUNTIME_OK or why not. */
static int check(runtime_t *rt, redrive_t *r, char *why)
{
    char machine[512];
    int version = 0;
    int rc = read_row(rt, r, &version, machine, sizeof machine);
    if (rc != RUNTIME_OK)
        return rc;
    if (strcmp(r->status, "RUNNING") == 0)
        return refuse(why, "execution %s is running; only one that ended FAILED, TIMED_OUT "
                           "or ABORTED can be redriven", r->id);
    if (strcmp(r->status, "SUCCEEDED") == 0)
        return refuse(why, "execution %s succeeded; only one that ended FAILED, TIMED_OUT "
                           "or ABORTED can be redriven", r->id);
    int64_t keep_ms = (int64_t)rt->cfg->retention_hours * 3600 * 1000;
    if (keep_ms > 0 && r->now_ms - r->stop_ms > keep_ms) {
        char hours[64];
        snprintf(hours, sizeof hours, "%d", rt->cfg->retention_hours);
        return refuse(why, "it stopped more than retention_hours (%s h) ago", hours);
    }
    if (!(r->mv = machines_get_version(rt->machines, machine, version))) {
        snprintf(why, RUNTIME_WHY_SIZE, "its state machine %.100s version %d is no longer "
                 "available", machine, version);
        return RUNTIME_ERR_REFUSED;
    }
    return find_state(rt, r, why);
}

/* The history row of the redrive: ExecutionRedriven as an event, or as a
 * replay log (engine/replay.h) when the execution's own frame keeps those;
 * its saved state enters the state again. 0 or -1. */
static int write_history(runtime_t *rt, redrive_t *r, int64_t id)
{
    cJSON *text = NULL, *state = r->kids ? NULL : cJSON_CreateObject();
    if (r->kids) {
        /* The new base: no earlier fan-out of this execution used it. */
        cJSON_ReplaceItemInObjectCaseSensitive(r->kids, "b", cJSON_CreateNumber((double)id));
    } else if (!state || !cJSON_AddItemReferenceToObject(state, "c", r->cursor) ||
               !cJSON_AddStringToObject(state, "p", "continue")) {
        cJSON_Delete(state);
        return -1;
    }
    if (recovery_history_events(rt, r->id)) {
        cJSON *ev = persist_control_event("ExecutionRedriven", NULL, NULL);
        cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "details");
        text = d && cJSON_AddNumberToObject(d, "redriveCount", (double)r->count + 1)
                   ? cJSON_CreateArray() : NULL;
        if (text)
            cJSON_AddItemToArray(text, ev);
        else
            cJSON_Delete(ev);
    } else {
        text = cJSON_CreateObject();
        cJSON *rd = cJSON_CreateObject();
        cJSON_AddNumberToObject(text, "now", (double)r->now_ms);
        cJSON_AddItemToObject(text, "rd", rd);
        cJSON_AddNumberToObject(rd, "n", (double)r->count + 1);
        cJSON_AddItemReferenceToObject(rd, "c", r->cursor);
        cJSON_AddArrayToObject(text, "steps");
    }
    char *printed = text ? print_json(text) : NULL;
    char *saved = print_json(r->kids ? r->kids : state);
    cJSON_Delete(text);
    cJSON_Delete(state);
    if (!saved) {
        free(printed);
        return -1;
    }
    return persist_history_row(rt, r->id, id, id, "", printed, saved);
}

/* The redrive's transaction. RUNTIME_OK once committed, else nothing changed. */
static int commit(runtime_t *rt, redrive_t *r, char *why)
{
    if (store_begin(rt->st) < 0)
        return RUNTIME_ERR_STORAGE;
    int64_t last = -1;
    store_stmt_t *s = store_prepare(rt->st, SQL_LAST_ID);
    int rc = s ? 0 : -1;
    if (s) {
        store_bind_text(s, 1, r->id);
        if (store_step(s) == STORE_ROW)
            last = store_col_int64(s, 0);
        store_reset(s);
    }
    /* Room for ExecutionRedriven and, at least, a final ExecutionFailed. */
    if (rc == 0 && last >= 0 && last + 2 > rt->cfg->history_limit) {
        store_rollback(rt->st);
        char limit[32];
        snprintf(limit, sizeof limit, "%d", rt->cfg->history_limit);
        return refuse(why, "its history is full (history_limit %s events)", limit);
    }
    if (rc == 0)
        rc = last < 0 ? -1 : write_history(rt, r, last + 1);
    if (rc == 0 && (rc = (s = store_prepare(rt->st, SQL_SET_RUNNING)) ? 0 : -1) == 0) {
        store_bind_int64(s, 1, r->count + 1);
        store_bind_int64(s, 2, r->now_ms);
        store_bind_text(s, 3, r->id);
        store_bind_text(s, 4, r->status);
        rc = store_exec_stmt(s) == 0 && store_changes(rt->st) == 1 ? 0 : -1;
    }
    if (rc == 0 && rt->hooks.on_status) {
        runtime_status_change_t c = {
            .execution_id = r->id, .machine = r->mv->name, .version = r->mv->version,
            .name = r->name, .status = "RUNNING", .start_ms = r->start_ms, .input = r->input};
        rc = rt->hooks.on_status(rt->hooks.on_status_ud, &c) < 0 ? -1 : 0;
    }
    if (rc == 0 && store_commit(rt->st) == 0)
        return RUNTIME_OK;
    log_error("execution %s: the redrive did not commit (%s); nothing changed", r->id,
              store_errmsg(rt->st));
    if (store_in_txn(rt->st))
        store_rollback(rt->st);
    return RUNTIME_ERR_STORAGE;
}

int runtime_redrive(runtime_t *rt, const char *execution_id, char why[RUNTIME_WHY_SIZE],
                    runtime_start_cb cb, void *ud)
{
    why[0] = '\0';
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    exec_t *ex = exec_find(rt, execution_id);
    if (ex && ex->is_new)
        return RUNTIME_ERR_UNKNOWN;
    if (ex)
        return refuse(why, "execution %s is running; only one that ended FAILED, TIMED_OUT "
                           "or ABORTED can be redriven", execution_id);
    /* Outside the pump's batches: nothing else writes meanwhile. */
    if (store_in_txn(rt->st))
        return RUNTIME_ERR_STORAGE;
    redrive_t r = {.id = execution_id, .now_ms = store_now_ms()};
    int rc = check(rt, &r, why);
    reply_t *reply = rc == RUNTIME_OK ? calloc(1, sizeof *reply) : NULL;
    if (rc == RUNTIME_OK && !reply)
        rc = RUNTIME_ERR_STORAGE;
    if (rc == RUNTIME_OK)
        rc = commit(rt, &r, why);
    if (rc != RUNTIME_OK) {
        free(reply);
        redrive_free(&r);
        return rc;
    }
    log_info("execution %s: redriven (%" PRId64 ") from state '%s'", execution_id, r.count + 1,
             r.state);
    redrive_free(&r);
    ex = recovery_id(rt, execution_id);
    pump_run_posts(rt, 1);
    if (!ex) {
        free(reply);
        return RUNTIME_ENDED;
    }
    rt->stats.started++;
    exec_count(rt, ex, "RUNNING");
    /* Answered with its first step again, once that has committed. */
    reply->cb = cb;
    reply->ud = ud;
    reply->status = RUNTIME_OK;
    reply->next = ex->starters;
    ex->starters = reply;
    return RUNTIME_OK;
}
