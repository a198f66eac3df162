/* The runtime's executions: the table by id and by (machine, name), their
 * creation and destruction (which unlinks them from everything), and the
 * replies and waiters released when a change is durable. */
#include "internal.h"
#include "engine/replay.h"

#include <assert.h>
#include <stdio.h>

void exec_count(runtime_t *rt, const exec_t *ex, const char *status)
{
    if (rt->hooks.on_count)
        rt->hooks.on_count(rt->hooks.on_count_ud, ex->mv->name, status);
}

void exec_set_ended(exec_t *ex, const char *status_static)
{
    ex->state = EXEC_ENDED;
    ex->end_status = status_static;
}

void exec_count_end(runtime_t *rt, const exec_t *ex)
{
    assert(ex->state == EXEC_ENDED && ex->end_status);
    const char *s = ex->end_status;
    if (strcmp(s, "SUCCEEDED") == 0)
        rt->stats.succeeded++;
    else if (strcmp(s, "ABORTED") == 0)
        rt->stats.aborted++;
    else if (strcmp(s, "TIMED_OUT") == 0)
        rt->stats.timed_out++;
    else
        rt->stats.failed++;
    exec_count(rt, ex, s);
}

static size_t hash_name(const char *machine, const char *name)
{
    return hash_str(machine) * 31 + hash_str(name);
}

exec_t *exec_find(runtime_t *rt, const char *id)
{
    for (exec_t *e = rt->buckets[hash_str(id) & (rt->nbuckets - 1)]; e; e = e->hnext)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

/* A running execution of `machine` named `name`, if in memory. */
exec_t *exec_find_by_name(runtime_t *rt, const char *machine, const char *name)
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

void exec_insert(runtime_t *rt, exec_t *ex)
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

/* Puts the execution on the list after_batch settles. 0 or -1 (out of
 * memory: not listed, not flagged). */
int exec_touch(runtime_t *rt, exec_t *ex)
{
    if (ex->touched)
        return 0;
    if (grow_reserve(&rt->touched, &rt->captouched, rt->ntouched + 1, sizeof *rt->touched) < 0)
        return -1;
    rt->touched[rt->ntouched++] = ex;
    ex->touched = 1;
    return 0;
}

exec_t *exec_new(runtime_t *rt, const machine_ver_t *mv, const char *id, const char *name,
                 cJSON *input_taken, int64_t start_ms)
{
    exec_t *ex = calloc(1, sizeof *ex);
    if (!ex) {
        cJSON_Delete(input_taken);
        return NULL;
    }
    ex->rt = rt;
    ex->id = strdup(id);
    ex->name = strdup(name ? name : id);
    ex->mv = mv;
    ex->input = input_taken;
    ex->start_ms = start_ms;
    ex->run_ms = start_ms;
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

void exec_replies_fire(reply_t **list, const char *id, runtime_status_t override, int use)
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

void exec_reports_fire(exec_t *ex, runtime_status_t override, int use)
{
    if (ex->reports_pending) {
        for (frame_t *fr = ex->frames; fr; fr = fr->all_next)
            fr->report = NULL;
        ex->reports_pending = 0;
    }
    exec_replies_fire(&ex->reporters, ex->id, override, use);
}

void exec_reports_fire_taken(exec_t *ex)
{
    reply_t *taken = NULL, **pp = &ex->reporters;
    while (*pp) {
        reply_t *r = *pp;
        if (r->waits) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        r->next = taken;
        taken = r;
    }
    exec_replies_fire(&taken, ex->id, RUNTIME_OK, 0);
}

void exec_waiters_fire(exec_t *ex)
{
    waiter_t *w = ex->waiters;
    ex->waiters = NULL;
    while (w) {
        waiter_t *n = w->next;
        timers_cancel(&w->tmr);
        w->cb(w->ud);
        free(w);
        w = n;
    }
}

/* Unlinks the execution from the id and name tables, destroys its frames
 * and frees it. Whoever waits for it has been answered or moved: its
 * replies and waiters are empty, and it is not on the touched list. */
void exec_destroy(runtime_t *rt, exec_t *ex)
{
    assert(!ex->touched && !ex->starters && !ex->stoppers && !ex->waiters && !ex->reporters);
    exec_remove(rt, ex);
    for (frame_t *fr = ex->frames, *n; fr; fr = n) {
        n = fr->all_next;
        frame_destroy(rt, fr);
    }
    timers_cancel(&ex->timeout_tmr);
    free(ex->ctl_error);
    free(ex->ctl_cause);
    free(ex->named_alias);
    free(ex->id);
    free(ex->name);
    cJSON_Delete(ex->input);
    free(ex);
}

void exec_arm_timeout(runtime_t *rt, exec_t *ex)
{
    uint32_t secs = asl_machine_timeout_seconds(ex->mv->machine);
    if (secs && !ex->timeout_tmr)
        ex->timeout_tmr = timers_add(rt, ex->run_ms + (int64_t)secs * 1000, TMR_EXEC_TIMEOUT, ex);
}

/* Ends every frame of the execution: nothing more will run. */
void exec_quiesce(exec_t *ex)
{
    for (frame_t *fr = ex->frames; fr; fr = fr->all_next)
        frame_quiesce(fr);
    timers_cancel(&ex->timeout_tmr);
}

/* Asks for the execution to end from outside the engine; the first request
 * wins. The strings are borrowed (copied). */
void exec_set_control(exec_t *ex, exec_control_t kind, const char *error, const char *cause)
{
    if (ex->control != CTL_NONE)
        return;
    ex->control = kind;
    ex->ctl_error = xstrdup(error);
    ex->ctl_cause = xstrdup(cause);
}

void exec_history_limit_cause(const runtime_t *rt, char *buf, size_t len)
{
    snprintf(buf, len, "the execution history would exceed its limit of %d events (history_limit)",
             rt->cfg->history_limit);
}

void exec_set_history_full(runtime_t *rt, exec_t *ex)
{
    char cause[128];
    exec_history_limit_cause(rt, cause, sizeof cause);
    exec_set_control(ex, CTL_FAIL, ASL_E_RUNTIME, cause);
}
