/* The read side of the executions store: descriptions, listings and history
 * events as the API shows them, read from the rows the runtime committed,
 * and pruning of finished executions. */
#include "engine/query.h"
#include "core/exec_status.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "engine/replay.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* The columns describe_row reads, in its order. */
#define DESCRIBE_COLS                                                                           \
    "id, machine, name, status, start_ms, stop_ms, input, output, error, cause, final_state, " \
    "machine_version, redrive_count, redrive_ms, start_alias, start_version"
static const char SQL_DESCRIBE[] = "SELECT " DESCRIBE_COLS " FROM executions WHERE id = ?";
static const char SQL_HISTORY[] =
    "SELECT first_id, ts_ms, events, frame, last_id FROM history WHERE execution_id = ? "
    "ORDER BY first_id";
static const char SQL_FRAME_HISTORY[] =
    "SELECT first_id, ts_ms, events, frame, last_id FROM history WHERE execution_id = ? "
    "AND frame = ? ORDER BY first_id";
/* The executions a prune deletes. Both deletes choose them with it inside
 * one transaction, so they choose the same ones and no list of ids is kept. */
#define PRUNE_WHERE "FROM executions WHERE status != 'RUNNING' AND stop_ms < ?1"
#define PRUNE_PICK "SELECT id " PRUNE_WHERE " ORDER BY seq LIMIT ?2"
/* Whether there is anything to prune, before taking the write lock for it. */
static const char SQL_PRUNE_ANY[] = "SELECT 1 " PRUNE_WHERE " LIMIT 1";
static const char SQL_PRUNE_HISTORY[] =
    "DELETE FROM history WHERE execution_id IN (" PRUNE_PICK ")";
static const char SQL_PRUNE_EXEC[] = "DELETE FROM executions WHERE id IN (" PRUNE_PICK ")";

static void add_date(cJSON *o, const char *key, int64_t ms, int present)
{
    if (!present) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char buf[TIMEFMT_MAX];
    cJSON_AddStringToObject(o, key, timefmt_utc_ms(ms, buf));
}

static void add_json_col(cJSON *o, const char *key, store_stmt_t *s, int col)
{
    const char *t = store_col_text(s, col);
    cJSON *v = t ? cJSON_Parse(t) : NULL;
    cJSON_AddItemToObject(o, key, v ? v : cJSON_CreateNull());
}

static void add_text_col(cJSON *o, const char *key, store_stmt_t *s, int col)
{
    const char *t = store_col_text(s, col);
    if (t)
        cJSON_AddStringToObject(o, key, t);
    else
        cJSON_AddNullToObject(o, key);
}

/* Columns as SQL_DESCRIBE selects them. */
static cJSON *describe_row(const query_src_t *q, store_stmt_t *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    const char *id = store_col_text(s, 0);
    cJSON_AddStringToObject(o, "executionId", id);
    add_text_col(o, "stateMachine", s, 1);
    cJSON_AddNumberToObject(o, "stateMachineVersion", store_col_int(s, 11));
    add_text_col(o, "name", s, 2);
    add_text_col(o, "status", s, 3);
    add_date(o, "startDate", store_col_int64(s, 4), 1);
    add_date(o, "stopDate", store_col_int64(s, 5), !store_col_is_null(s, 5));
    add_json_col(o, "input", s, 6);
    add_json_col(o, "output", s, 7);
    add_text_col(o, "error", s, 8);
    add_text_col(o, "cause", s, 9);
    const char *cur = q->live_state ? q->live_state(q->live_ud, id) : NULL;
    if (cur)
        cJSON_AddStringToObject(o, "currentState", cur);
    else
        add_text_col(o, "currentState", s, 10);
    cJSON_AddNumberToObject(o, "redriveCount", (double)store_col_int64(s, 12));
    add_date(o, "redriveDate", store_col_int64(s, 13), !store_col_is_null(s, 13));
    /* What its start named: NULL for plain NAME and for rows written before
     * these columns existed. */
    add_text_col(o, "stateMachineAlias", s, 14);
    if (store_col_is_null(s, 15))
        cJSON_AddNullToObject(o, "stateMachineVersionNamed");
    else
        cJSON_AddNumberToObject(o, "stateMachineVersionNamed", store_col_int(s, 15));
    return o;
}

cJSON *query_describe(const query_src_t *q, const char *execution_id)
{
    store_stmt_t *s = store_prepare(q->store, SQL_DESCRIBE);
    if (!s)
        return NULL;
    store_bind_text(s, 1, execution_id);
    cJSON *o = NULL;
    if (store_step(s) == STORE_ROW)
        o = describe_row(q, s);
    store_reset(s);
    return o;
}

int query_find_named(const query_src_t *q, const char *machine, const char *name, char id[37])
{
    static const char sql[] = "SELECT id FROM executions WHERE machine = ? AND name = ?";
    store_stmt_t *s = store_prepare(q->store, sql);
    if (!s)
        return -1;
    store_bind_text(s, 1, machine);
    store_bind_text(s, 2, name);
    int rc = store_step(s);
    int found = rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
    if (found == 1)
        snprintf(id, 37, "%s", store_col_text(s, 0));
    store_reset(s);
    return found;
}

cJSON *query_list(const query_src_t *q, const query_filter_t *f, int limit, const char *cursor,
                  const char **why)
{
    /* ?5 matches an id or a name by prefix: substr counts characters as
     * length does, so a multi-byte prefix compares whole characters. The
     * CASTs give the optional parameters a type, which PostgreSQL needs. */
    static const char sql[] =
        "SELECT " DESCRIBE_COLS ", seq FROM executions "
        "WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) "
        "AND (CAST(?2 AS TEXT) IS NULL OR machine = ?2) "
        "AND (CAST(?3 AS BIGINT) IS NULL OR seq < ?3) "
        "AND (CAST(?5 AS TEXT) IS NULL OR substr(id, 1, length(CAST(?5 AS TEXT))) = ?5 "
        "OR substr(name, 1, length(CAST(?5 AS TEXT))) = ?5) "
        "AND (CAST(?6 AS TEXT) IS NULL OR start_alias = ?6) "
        "AND (CAST(?7 AS BIGINT) IS NULL OR start_version = ?7) "
        "ORDER BY seq DESC LIMIT ?4";
    const char *status = f ? f->status : NULL;
    exec_status_t filter;
    if (status && exec_status_parse(status, &filter) < 0) {
        *why = "status must be " EXEC_STATUS_ALL;
        return NULL;
    }
    long long before = 0;
    if (cursor) {
        char *end;
        before = strtoll(cursor, &end, 10);
        if (!*cursor || *end || before <= 0) {
            *why = "cursor is not a nextCursor value returned by this endpoint";
            return NULL;
        }
    }
    store_stmt_t *s = store_prepare(q->store, sql);
    if (!s) {
        *why = "database error";
        return NULL;
    }
    store_bind_text_copy(s, 1, status);
    store_bind_text_copy(s, 2, f ? f->machine : NULL);
    store_bind_text_copy(s, 5, f ? f->q : NULL);
    store_bind_text_copy(s, 6, f ? f->alias : NULL);
    if (f && f->version)
        store_bind_int(s, 7, f->version);
    else
        store_bind_null(s, 7);
    if (cursor)
        store_bind_int64(s, 3, before);
    store_bind_int(s, 4, limit + 1);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "executions");
    int n = 0;
    long long last_seq = 0, more = 0;
    while (store_step(s) == STORE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        cJSON *o = describe_row(q, s);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "input");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "output");
        cJSON_AddItemToArray(arr, o);
        last_seq = store_col_int64(s, 16);
        n++;
    }
    store_reset(s);
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "%lld", last_seq);
        cJSON_AddStringToObject(res, "nextCursor", next);
    } else {
        cJSON_AddNullToObject(res, "nextCursor");
    }
    return res;
}

cJSON *query_counts(const query_src_t *q, const char *machine)
{
    static const char sql[] =
        "SELECT status, count(*) FROM executions WHERE (CAST(?1 AS TEXT) IS NULL OR machine = ?1) "
        "GROUP BY status";
    store_stmt_t *s = store_prepare(q->store, sql);
    cJSON *res = s ? cJSON_CreateObject() : NULL;
    if (!res)
        return NULL;
    for (int i = 0; i < EXEC_STATUS_COUNT; i++)
        cJSON_AddNumberToObject(res, exec_status_name((exec_status_t)i), 0);
    store_bind_text_copy(s, 1, machine);
    int rc;
    while ((rc = store_step(s)) == STORE_ROW) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(res, store_col_text(s, 0));
        if (n)
            cJSON_SetNumberValue(n, (double)store_col_int64(s, 1));
    }
    store_reset(s);
    if (rc != STORE_DONE) {
        cJSON_Delete(res);
        return NULL;
    }
    return res;
}

/* Payload keys an event may repeat from the event before it. */
static const char *const payload_keys[] = {"input", "output"};

/* Restores the payloads the runtime's compact_events replaced, in one row's
 * events: "<key>$": "<key of the previous event>" becomes that payload. */
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

/* The replay of one execution's history: its row and definition version. */
static replay_t *replay_open(const query_src_t *q, const char *execution_id)
{
    replay_t *rp = NULL;
    store_stmt_t *s = store_prepare(q->store, SQL_DESCRIBE);
    if (!s)
        return NULL;
    store_bind_text(s, 1, execution_id);
    if (store_step(s) == STORE_ROW) {
        const machine_ver_t *mv = machines_get_version(
            q->machines, store_col_text(s, 1), store_col_int(s, 11));
        cJSON *input = cJSON_Parse(store_col_text(s, 6));
        rp = mv && input ? replay_new(mv->machine, mv->name, execution_id,
                                      store_col_text(s, 2), input,
                                      store_col_int64(s, 4))
                         : NULL;
        if (!rp)
            cJSON_Delete(input);
    }
    store_reset(s);
    return rp;
}

/* 1 if a row is stored for the execution, 0 if not, -1 on a database error. */
static int row_exists(const query_src_t *q, const char *execution_id)
{
    return store_exists(q->store, SQL_DESCRIBE, execution_id);
}

cJSON *query_history(const query_src_t *q, const char *execution_id)
{
    return query_frame_history(q, execution_id, NULL);
}

cJSON *query_frame_history(const query_src_t *q, const char *execution_id, const char *frame_id)
{
    if (row_exists(q, execution_id) != 1)
        return NULL;
    replay_t *rp = NULL;
    int have_rp = 0;
    store_stmt_t *s = store_prepare(q->store, frame_id ? SQL_FRAME_HISTORY : SQL_HISTORY);
    if (!s)
        return NULL;
    store_bind_text(s, 1, execution_id);
    if (frame_id)
        store_bind_text(s, 2, frame_id);
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "events");
    while (store_step(s) == STORE_ROW) {
        int64_t id = store_col_int64(s, 0);
        int64_t ts = store_col_int64(s, 1);
        const char *text = store_col_text(s, 2);
        const char *frame = store_col_text(s, 3);
        int64_t last = store_col_int64(s, 4);
        cJSON *evs = NULL;
        if (text && text[0] == '{' && frame && !frame[0]) {
            cJSON *log = cJSON_Parse(text);
            evs = cJSON_CreateArray();
            if (!have_rp && (have_rp = 1) && !(rp = replay_open(q, execution_id)))
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
    store_reset(s);
    replay_free(rp);
    return res;
}

int query_prune(store_t *st, int64_t older_than_ms, int max)
{
    assert(max > 0); /* LIMIT -1 would mean no limit */
    store_stmt_t *any = store_prepare(st, SQL_PRUNE_ANY);
    if (!any)
        return STORE_ERR_ERROR;
    store_bind_int64(any, 1, older_than_ms);
    int rc = store_step(any);
    store_reset(any);
    if (rc == STORE_DONE)
        return 0;
    if (rc != STORE_ROW) {
        log_error("sqlite: %s", store_errmsg(st));
        return rc;
    }
    rc = store_begin(st);
    if (rc < 0)
        return rc;
    static const char *const sqls[] = {SQL_PRUNE_HISTORY, SQL_PRUNE_EXEC};
    for (int k = 0; k < 2 && rc == 0; k++) {
        store_stmt_t *s = store_prepare(st, sqls[k]);
        if (!s) {
            rc = STORE_ERR_ERROR;
            break;
        }
        store_bind_int64(s, 1, older_than_ms);
        store_bind_int(s, 2, max);
        rc = store_exec_stmt(s);
    }
    int deleted = (int)store_changes(st);
    if (rc == 0)
        rc = store_commit(st);
    if (rc < 0) {
        /* A failed COMMIT may have rolled back already. */
        if (store_in_txn(st))
            store_rollback(st);
        return rc;
    }
    return deleted;
}
