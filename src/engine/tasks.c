/* Callback and activity tasks (engine/tasks.h): the table of tokens that can
 * be reported, the activities with their queues of tasks and their parked
 * polls, and the reports that feed a waiting frame its outcome. Everything
 * here is memory rebuilt by recovery from the frames' saved state; only the
 * list of activities has a table of its own. */
#include "internal.h"
#include "engine/tasks.h"
#include "core/timefmt.h"

#include <assert.h>

#define WORKERS_MAX 32    /* pollers remembered per activity */

static const char SQL_ACT_INSERT[] =
    "INSERT INTO activities (name, created_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING";
static const char SQL_ACT_GET[] = "SELECT created_ms FROM activities WHERE name = ?";
static const char SQL_ACT_DELETE[] = "DELETE FROM activities WHERE name = ?";
static const char SQL_ACT_ALL[] = "SELECT name, created_ms FROM activities ORDER BY name";

typedef struct worker_seen_s {
    char *name;
    int64_t last_ms;
} worker_seen_t;

struct tasks_poll_s {
    runtime_t *rt;
    activity_t *act;
    tasks_poll_cb cb;
    void *ud;
    tmr_t *tmr;
    tasks_poll_t *prev, *next;
};

struct activity_s {
    activity_t *next;
    char *name;
    int64_t created_ms;
    int has_row;                  /* its row is committed */
    int seen;                     /* act_sync: its row is still there */
    frame_t *q_head, *q_tail;     /* tasks no worker has taken, oldest first */
    tasks_poll_t *p_head, *p_tail;
    size_t queued, running, parked;
    tmr_t *deliver;               /* a delivery is scheduled */
    worker_seen_t workers[WORKERS_MAX];
    size_t nworkers;
};

/* ---- tokens --------------------------------------------------------------- */

int tasks_token_valid(const char *token)
{
    if (!token)
        return 0;
    size_t n = 0;
    for (; token[n]; n++)
        if (!((token[n] >= '0' && token[n] <= '9') || (token[n] >= 'a' && token[n] <= 'f')))
            return 0;
    return n == ASL_TASK_TOKEN_LEN;
}

static frame_t **tok_chain(runtime_t *rt, const char *token)
{
    return &rt->tok_buckets[hash_str(token) & (TOK_BUCKETS - 1)];
}

/* The token a report names: a delegating handler's own, else $$.Task.Token. */
static const char *report_token(const frame_t *fr)
{
    return fr->rtoken ? fr->rtoken : fr->token;
}

/* Compares two tokens of ASL_TASK_TOKEN_LEN characters in constant time, so
 * that answers do not hint how much of a guess was right. */
static int token_equal(const char *a, const char *b)
{
    unsigned char diff = 0;
    for (size_t i = 0; i < ASL_TASK_TOKEN_LEN; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static frame_t *tok_find(runtime_t *rt, const char *token)
{
    if (!rt->tok_buckets || !tasks_token_valid(token))
        return NULL;
    for (frame_t *fr = *tok_chain(rt, token); fr; fr = fr->tok_next)
        if (token_equal(report_token(fr), token))
            return fr;
    return NULL;
}

static void tok_link(runtime_t *rt, frame_t *fr)
{
    const char *key = report_token(fr);
    if (fr->tok_pprev || !key || !tasks_token_valid(key))
        return;
    frame_t **head = tok_chain(rt, key);
    fr->tok_next = *head;
    if (*head)
        (*head)->tok_pprev = &fr->tok_next;
    *head = fr;
    fr->tok_pprev = head;
    rt->stats.tokens_waiting++;
}

static void tok_unlink(frame_t *fr)
{
    if (!fr->tok_pprev)
        return;
    *fr->tok_pprev = fr->tok_next;
    if (fr->tok_next)
        fr->tok_next->tok_pprev = fr->tok_pprev;
    fr->tok_next = NULL;
    fr->tok_pprev = NULL;
    fr->ex->rt->stats.tokens_waiting--;
}

/* ---- activities and their queues ---------------------------------------- */

static activity_t *act_find(runtime_t *rt, const char *name)
{
    for (activity_t *a = rt->activities; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static activity_t *act_add(runtime_t *rt, const char *name, int64_t created_ms, int has_row)
{
    activity_t *a = calloc(1, sizeof *a);
    if (!a || !(a->name = strdup(name))) {
        free(a);
        return NULL;
    }
    a->created_ms = created_ms;
    a->has_row = has_row;
    /* Sorted by name, so listings need no sort. */
    activity_t **pp = &rt->activities;
    while (*pp && strcmp((*pp)->name, name) < 0)
        pp = &(*pp)->next;
    a->next = *pp;
    *pp = a;
    return a;
}

/* Frees an activity nothing refers to any more (no row, no tasks, no polls). */
static void act_drop_if_idle(runtime_t *rt, activity_t *a)
{
    if (a->has_row || a->q_head || a->p_head || a->running || a->deliver)
        return;
    activity_t **pp = &rt->activities;
    while (*pp != a)
        pp = &(*pp)->next;
    *pp = a->next;
    for (size_t i = 0; i < a->nworkers; i++)
        free(a->workers[i].name);
    free(a->name);
    free(a);
}

/* On a database several nodes share, another node may have created or
 * deleted the activity: its row decides, memory keeps the queues. On one
 * node memory is the whole truth. */
static activity_t *act_lookup(runtime_t *rt, const char *name)
{
    activity_t *a = act_find(rt, name);
    if (!rt->node || store_in_txn(rt->st))
        return a;
    store_stmt_t *s = store_prepare(rt->st, SQL_ACT_GET);
    if (!s)
        return a;
    store_bind_text(s, 1, name);
    int rc = store_step(s);
    int64_t created = rc == STORE_ROW ? store_col_int64(s, 0) : 0;
    store_reset(s);
    if (rc == STORE_ROW) {
        if (!a)
            return act_add(rt, name, created, 1);
        a->has_row = 1;
        a->created_ms = created;
    } else if (rc == STORE_DONE && a && a->has_row) {
        a->has_row = 0;
        act_drop_if_idle(rt, a);
        return act_find(rt, name);
    }
    return a;
}

static void queue_unlink(frame_t *fr)
{
    activity_t *a = fr->act;
    if (!a)
        return;
    runtime_t *rt = fr->ex->rt;
    if (fr->aq_linked) {
        if (fr->aq_prev)
            fr->aq_prev->aq_next = fr->aq_next;
        else
            a->q_head = fr->aq_next;
        if (fr->aq_next)
            fr->aq_next->aq_prev = fr->aq_prev;
        else
            a->q_tail = fr->aq_prev;
        fr->aq_prev = fr->aq_next = NULL;
        fr->aq_linked = 0;
        a->queued--;
        rt->stats.activity_waiting--;
    }
    if (fr->delivered) {
        fr->delivered = 0;
        a->running--;
        rt->stats.activity_running--;
    }
    fr->act = NULL;
}

/* Queues the frame's task (at the front: a task a gone poller could not take
 * keeps its turn). */
static void queue_push(runtime_t *rt, activity_t *a, frame_t *fr, int front)
{
    assert(!fr->aq_linked && !fr->delivered);
    fr->act = a;
    fr->aq_linked = 1;
    if (front) {
        fr->aq_prev = NULL;
        fr->aq_next = a->q_head;
        if (a->q_head)
            a->q_head->aq_prev = fr;
        else
            a->q_tail = fr;
        a->q_head = fr;
    } else {
        fr->aq_next = NULL;
        fr->aq_prev = a->q_tail;
        if (a->q_tail)
            a->q_tail->aq_next = fr;
        else
            a->q_head = fr;
        a->q_tail = fr;
    }
    a->queued++;
    rt->stats.activity_waiting++;
}

static void poll_unlink(tasks_poll_t *p)
{
    activity_t *a = p->act;
    if (p->prev)
        p->prev->next = p->next;
    else
        a->p_head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        a->p_tail = p->prev;
    p->prev = p->next = NULL;
    a->parked--;
    p->rt->stats.polls_parked--;
    timers_cancel(&p->tmr);
}

/* The frame's task goes to a worker: off the queue, its heartbeat clock
 * starts. */
static void mark_taken(runtime_t *rt, frame_t *fr)
{
    activity_t *a = fr->act;
    queue_unlink(fr);
    fr->act = a;
    fr->delivered = 1;
    a->running++;
    rt->stats.activity_running++;
    rt->stats.activity_deliveries++;
    timers_cancel(&fr->heartbeat_tmr);
    if (fr->heartbeat_ms > 0)
        fr->heartbeat_tmr =
            timers_add(rt, store_now_ms() + fr->heartbeat_ms, TMR_TASK_HEARTBEAT, fr);
}

/* Hands the oldest queued task to poll `p` (unlinked already) and frees it. */
static void hand_over(runtime_t *rt, activity_t *a, tasks_poll_t *p)
{
    frame_t *fr = a->q_head;
    char *input = print_json(fr->task_input);
    if (!input) {
        /* Out of memory: the poller gets nothing this time. */
        p->cb(p->ud, NULL, NULL);
        free(p);
        return;
    }
    mark_taken(rt, fr);
    if (p->cb(p->ud, report_token(fr), input) < 0) {
        /* The poller is gone: the task waits for the next one. */
        queue_unlink(fr);
        timers_cancel(&fr->heartbeat_tmr);
        rt->stats.activity_deliveries--;
        queue_push(rt, a, fr, 1);
    }
    free(input);
    free(p);
}

/* Hands queued tasks to parked polls, oldest to oldest. */
static void deliver(runtime_t *rt, activity_t *a)
{
    while (a->q_head && a->p_head) {
        tasks_poll_t *p = a->p_head;
        poll_unlink(p);
        hand_over(rt, a, p);
    }
}

static void schedule_delivery(runtime_t *rt, activity_t *a)
{
    if (!a->deliver && a->q_head && a->p_head)
        a->deliver = timers_add(rt, store_now_ms(), TMR_DELIVER, a);
}

/* ---- the frame side ----------------------------------------------------- */

int tasks_open(runtime_t *rt)
{
    rt->tok_buckets = calloc(TOK_BUCKETS, sizeof *rt->tok_buckets);
    if (!rt->tok_buckets)
        return -1;
    store_stmt_t *s = store_prepare(rt->st, SQL_ACT_ALL);
    if (!s)
        return -1;
    int rc;
    while ((rc = store_step(s)) == STORE_ROW)
        if (!act_add(rt, store_col_text(s, 0), store_col_int64(s, 1), 1))
            break;
    store_reset(s);
    return rc == STORE_DONE ? 0 : -1;
}

int tasks_wait(runtime_t *rt, frame_t *fr)
{
    if (fr->tkind == ASL_TASK_ACTIVITY) {
        activity_t *a = act_find(rt, fr->activity);
        if (!a && !(a = act_add(rt, fr->activity, store_now_ms(), 0)))
            return -1;
        if (!a->has_row) {
            /* A Task on an activity nobody created creates it. Not marked
             * as written: this transaction may yet roll back (a PUT then
             * writes it, or the next such Task). */
            store_stmt_t *s = store_prepare(rt->st, SQL_ACT_INSERT);
            if (!s)
                return -1;
            store_bind_text(s, 1, a->name);
            store_bind_int64(s, 2, a->created_ms);
            if (store_exec_stmt(s) < 0)
                return -1;
        }
    } else {
        fr->cb_done = 1;
    }
    return frame_post(rt, fr);
}

void tasks_arm(runtime_t *rt, frame_t *fr)
{
    assert(fr->pend == PEND_TASK && fr->tkind != ASL_TASK_LOCAL);
    if (fr->has_outcome || fr->dead)
        return;
    tok_link(rt, fr);
    int64_t origin = fr->task_ms ? fr->task_ms : store_now_ms();
    if (fr->timeout_ms > 0 && !fr->timeout_tmr)
        fr->timeout_tmr = timers_add(rt, origin + fr->timeout_ms, TMR_TASK_TIMEOUT, fr);
    if (fr->tkind == ASL_TASK_CALLBACK) {
        if (fr->heartbeat_ms > 0 && !fr->heartbeat_tmr)
            fr->heartbeat_tmr =
                timers_add(rt, store_now_ms() + fr->heartbeat_ms, TMR_TASK_HEARTBEAT, fr);
        return;
    }
    if (fr->aq_linked || fr->delivered)
        return;
    activity_t *a = act_find(rt, fr->activity);
    if (!a && !(a = act_add(rt, fr->activity, store_now_ms(), 0))) {
        frame_set_failure(fr, ASL_E_TASK_FAILED, "out of memory queueing the activity task");
        tasks_unlink(fr);
        frame_enqueue(rt, fr);
        return;
    }
    queue_push(rt, a, fr, 0);
    deliver(rt, a);
}

void tasks_unlink(frame_t *fr)
{
    tok_unlink(fr);
    queue_unlink(fr);
}

/* Feeds the waiting frame its reported outcome. */
static int report(runtime_t *rt, const char *token, cJSON *result, const char *error,
                  const char *cause, runtime_start_cb cb, void *ud)
{
    frame_t *fr = tok_find(rt, token);
    if (!fr || fr->dead || fr->has_outcome || fr->ex->state != EXEC_LIVE ||
        fr->ex->control != CTL_NONE) {
        cJSON_Delete(result);
        /* Being rebuilt from the database: its tokens wait again shortly. */
        if ((!fr && rt->recovering) || (fr && fr->ex->state == EXEC_BROKEN))
            return RUNTIME_ERR_RECOVERING;
        return RUNTIME_ERR_UNKNOWN;
    }
    if (rt->closing) {
        cJSON_Delete(result);
        return RUNTIME_ERR_STOPPING;
    }
    reply_t *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(result);
        return RUNTIME_ERR_STORAGE;
    }
    r->cb = cb;
    r->ud = ud;
    /* The handler of a callback task may still be running: its result no
     * longer matters. A delegated call that succeeded stays for its
     * handler's finish; one that failed is cancelled. */
    if (!fr->rtoken || !result)
        frame_free_call(fr, 1);
    timers_cancel(&fr->timeout_tmr);
    timers_cancel(&fr->heartbeat_tmr);
    tasks_unlink(fr);
    if (result) {
        frame_clear_outcome(fr);
        fr->out.kind = ASL_OUTCOME_TASK_SUCCEEDED;
        fr->out.result = result;
        fr->has_outcome = 1;
    } else {
        frame_set_failure(fr, error ? error : ASL_E_TASK_FAILED, cause);
    }
    r->next = fr->ex->reporters;
    fr->ex->reporters = r;
    r->waits = 1;
    fr->report = r;
    fr->ex->reports_pending++;
    rt->stats.task_reports++;
    frame_enqueue(rt, fr);
    return RUNTIME_OK;
}

int tasks_succeed(runtime_t *rt, const char *token, const cJSON *output, runtime_start_cb cb,
                  void *ud)
{
    char *text = print_json(output);
    if (!text)
        return RUNTIME_ERR_STORAGE;
    size_t len = strlen(text);
    free(text);
    if (len > ASL_PAYLOAD_LIMIT)
        return RUNTIME_ERR_INPUT;
    cJSON *copy = output ? cJSON_Duplicate(output, 1) : cJSON_CreateNull();
    if (!copy)
        return RUNTIME_ERR_STORAGE;
    return report(rt, token, copy, NULL, NULL, cb, ud);
}

int tasks_fail(runtime_t *rt, const char *token, const char *error, const char *cause,
               runtime_start_cb cb, void *ud)
{
    return report(rt, token, NULL, error, cause, cb, ud);
}

int tasks_heartbeat(runtime_t *rt, const char *token)
{
    frame_t *fr = tok_find(rt, token);
    if (!fr || fr->dead || fr->has_outcome || fr->ex->control != CTL_NONE)
        return !fr && rt->recovering ? RUNTIME_ERR_RECOVERING : RUNTIME_ERR_UNKNOWN;
    if (fr->aq_linked)
        mark_taken(rt, fr);   /* its worker outlived a restart of the daemon */
    else if (fr->heartbeat_ms > 0)
        frame_heartbeat(rt, fr);
    return RUNTIME_OK;
}

/* ---- activities and polls: the API side --------------------------------- */

int tasks_activity_exists(runtime_t *rt, const char *name)
{
    return name && act_lookup(rt, name) != NULL;
}

int tasks_activity_create(runtime_t *rt, const char *name, int64_t *created_ms)
{
    if (!asl_activity_name_valid(name))
        return RUNTIME_ERR_INPUT;
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    activity_t *a = act_lookup(rt, name);
    if (a && a->has_row) {
        *created_ms = a->created_ms;
        return 0;
    }
    /* Outside the pump's batch: no transaction is open between loop callbacks. */
    assert(!store_in_txn(rt->st));
    int64_t now = a ? a->created_ms : store_now_ms();
    store_stmt_t *s = NULL;
    int ok = store_begin(rt->st) == 0;
    if (ok && (s = store_prepare(rt->st, SQL_ACT_INSERT)) != NULL) {
        store_bind_text(s, 1, name);
        store_bind_int64(s, 2, now);
        ok = store_exec_stmt(s) == 0;
    } else {
        ok = 0;
    }
    if (ok && (s = store_prepare(rt->st, SQL_ACT_GET)) != NULL) {
        store_bind_text(s, 1, name);
        if (store_step(s) == STORE_ROW)
            now = store_col_int64(s, 0);
        store_reset(s);
    }
    if (ok)
        ok = store_commit(rt->st) == 0;
    if (!ok) {
        if (store_in_txn(rt->st))
            store_rollback(rt->st);
        return RUNTIME_ERR_STORAGE;
    }
    if (!a && !(a = act_add(rt, name, now, 1)))
        return RUNTIME_ERR_STORAGE;
    a->has_row = 1;
    a->created_ms = now;
    *created_ms = now;
    return 0;
}

int tasks_activity_delete(runtime_t *rt, const char *name)
{
    if (!asl_activity_name_valid(name))
        return RUNTIME_ERR_INPUT;
    if (rt->closing)
        return RUNTIME_ERR_STOPPING;
    assert(!store_in_txn(rt->st));
    store_stmt_t *s = store_prepare(rt->st, SQL_ACT_DELETE);
    if (!s)
        return RUNTIME_ERR_STORAGE;
    store_bind_text(s, 1, name);
    if (store_exec_stmt(s) < 0)
        return RUNTIME_ERR_STORAGE;
    activity_t *a = act_find(rt, name);
    if (!a)
        return RUNTIME_OK;
    a->has_row = 0;
    /* Tasks queued, running or polled for keep it in memory (their frames
     * point at it) until the daemon restarts; an idle one goes now. */
    act_drop_if_idle(rt, a);
    return RUNTIME_OK;
}

static void note_worker(activity_t *a, const char *worker)
{
    if (!worker || !*worker)
        return;
    int64_t now = store_now_ms();
    size_t oldest = 0;
    for (size_t i = 0; i < a->nworkers; i++) {
        if (strcmp(a->workers[i].name, worker) == 0) {
            a->workers[i].last_ms = now;
            return;
        }
        if (a->workers[i].last_ms < a->workers[oldest].last_ms)
            oldest = i;
    }
    char *copy = strndup(worker, 128);
    if (!copy)
        return;
    size_t i = oldest;
    if (a->nworkers < WORKERS_MAX)
        i = a->nworkers++;
    else
        free(a->workers[i].name);
    a->workers[i].name = copy;
    a->workers[i].last_ms = now;
}

int tasks_poll(runtime_t *rt, const char *activity, const char *worker, int64_t wait_ms,
               tasks_poll_cb cb, void *ud, tasks_poll_t **out)
{
    if (rt->closing || rt->polls_closed)
        return RUNTIME_ERR_STOPPING;
    activity_t *a = activity ? act_lookup(rt, activity) : NULL;
    if (!a)
        return RUNTIME_ERR_UNKNOWN;
    tasks_poll_t *p = calloc(1, sizeof *p);
    if (!p)
        return RUNTIME_ERR_STORAGE;
    if (wait_ms < 0)
        wait_ms = 0;
    if (wait_ms > TASKS_POLL_MAX_MS)
        wait_ms = TASKS_POLL_MAX_MS;
    p->tmr = timers_add(rt, store_now_ms() + wait_ms, TMR_POLL, p);
    if (!p->tmr) {
        free(p);
        return RUNTIME_ERR_STORAGE;
    }
    p->rt = rt;
    p->act = a;
    p->cb = cb;
    p->ud = ud;
    p->prev = a->p_tail;
    if (a->p_tail)
        a->p_tail->next = p;
    else
        a->p_head = p;
    a->p_tail = p;
    a->parked++;
    rt->stats.polls_parked++;
    note_worker(a, worker);
    schedule_delivery(rt, a);
    *out = p;
    return RUNTIME_OK;
}

void tasks_poll_cancel(tasks_poll_t *p)
{
    if (!p)
        return;
    poll_unlink(p);
    free(p);
}

void tasks_fire(runtime_t *rt, tmr_t *t)
{
    if (t->kind == TMR_DELIVER) {
        activity_t *a = t->target;
        a->deliver = NULL;
        deliver(rt, a);
        return;
    }
    tasks_poll_t *p = t->target;
    activity_t *a = p->act;
    p->tmr = NULL;
    poll_unlink(p);
    /* A task queued when the poll came (its delivery is due in this same
     * turn, a poll with no wait comes due with it): the poll takes it. */
    if (a->q_head) {
        hand_over(rt, a, p);
        return;
    }
    p->cb(p->ud, NULL, NULL);
    free(p);
}

/* Several nodes: the list follows the table (act_lookup, for every row). */
static void act_sync(runtime_t *rt)
{
    if (!rt->node || store_in_txn(rt->st))
        return;
    store_stmt_t *s = store_prepare(rt->st, SQL_ACT_ALL);
    if (!s)
        return;
    int rc;
    while ((rc = store_step(s)) == STORE_ROW) {
        const char *name = store_col_text(s, 0);
        activity_t *a = act_find(rt, name);
        if (!a && !(a = act_add(rt, name, store_col_int64(s, 1), 1)))
            break;
        a->has_row = 1;
        a->created_ms = store_col_int64(s, 1);
        a->seen = 1;
    }
    store_reset(s);
    for (activity_t *a = rt->activities, *next; a; a = next) {
        next = a->next;
        if (rc == STORE_DONE && a->has_row && !a->seen) {
            a->has_row = 0;
            act_drop_if_idle(rt, a);
            continue;
        }
        a->seen = 0;
    }
}

cJSON *tasks_activities_json(runtime_t *rt)
{
    act_sync(rt);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "activities") : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    for (activity_t *a = rt->activities; a; a = a->next) {
        cJSON *it = cJSON_CreateObject();
        if (!it)
            break;
        cJSON_AddItemToArray(arr, it);
        char ts[TIMEFMT_MAX];
        cJSON_AddStringToObject(it, "name", a->name);
        cJSON_AddStringToObject(it, "createdAt", timefmt_utc_ms(a->created_ms, ts));
        cJSON_AddNumberToObject(it, "tasksWaiting", (double)a->queued);
        cJSON_AddNumberToObject(it, "tasksRunning", (double)a->running);
        cJSON_AddNumberToObject(it, "pollsParked", (double)a->parked);
        cJSON *ws = cJSON_AddArrayToObject(it, "workers");
        for (size_t i = 0; ws && i < a->nworkers; i++) {
            cJSON *w = cJSON_CreateObject();
            if (!w)
                break;
            cJSON_AddStringToObject(w, "name", a->workers[i].name);
            cJSON_AddStringToObject(w, "lastPollAt",
                                    timefmt_utc_ms(a->workers[i].last_ms, ts));
            cJSON_AddItemToArray(ws, w);
        }
    }
    return o;
}

void tasks_quiesce(runtime_t *rt)
{
    rt->polls_closed = 1;
    for (activity_t *a = rt->activities; a; a = a->next) {
        timers_cancel(&a->deliver);
        while (a->p_head) {
            tasks_poll_t *p = a->p_head;
            poll_unlink(p);
            p->cb(p->ud, NULL, NULL);
            free(p);
        }
    }
}

void tasks_free(runtime_t *rt)
{
    while (rt->activities) {
        activity_t *a = rt->activities;
        rt->activities = a->next;
        assert(!a->q_head && !a->p_head);
        for (size_t i = 0; i < a->nworkers; i++)
            free(a->workers[i].name);
        free(a->name);
        free(a);
    }
    free(rt->tok_buckets);
    rt->tok_buckets = NULL;
}
