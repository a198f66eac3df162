/* The synchronous in-memory driver: runs a machine to its end through the
 * engine's public protocol, skipping waits on a virtual clock and calling
 * task handlers in place. */
#include "asl/run.h"

#include <stdlib.h>
#include <string.h>

typedef struct driver_s {
    const asl_run_opts_t *o;
    asl_exec_info_t info;
    asl_env_t env;
    uint64_t rng;
    size_t max_transitions;
    asl_run_result_t *res;
    int aborted;               /* transition limit hit */
} driver_t;

static uint64_t xorshift(void *ud)
{
    uint64_t *s = ud;
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Built-in handlers. */
static int builtin_task(const char *resource, const cJSON *input, cJSON **result, asl_error_t *err)
{
    if (strcmp(resource, "sagad:echo") == 0) {
        *result = cJSON_Duplicate(input, 1);
        return 0;
    }
    if (strcmp(resource, "sagad:fail") == 0) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(input, "error");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(input, "cause");
        asl_error_clear(err);
        err->error = strdup(cJSON_IsString(e) ? e->valuestring : ASL_E_TASK_FAILED);
        err->cause = strdup(cJSON_IsString(c) ? c->valuestring : "");
        return -1;
    }
    return asl_error_set(err, ASL_E_TASK_FAILED, "no handler for resource '%s'", resource);
}

/* Moves the step's events to the caller's array and counts them. */
static void collect_events(driver_t *d, asl_step_t *st)
{
    d->res->n_transitions += st->n_transitions;
    d->res->n_events += st->n_events;
    if (d->o && d->o->events) {
        cJSON *e;
        while ((e = cJSON_DetachItemFromArray(st->events, 0)) != NULL)
            cJSON_AddItemToArray(d->o->events, e);
    }
}

typedef struct fiber_s {
    const asl_machine_t *m;
    asl_step_t step;
    cJSON *result;             /* {"output"} / {"error","cause"} when done */
} fiber_t;

static void advance(driver_t *d, fiber_t *f);

/* Runs the children of f's RUN_CHILDREN step; returns the outcome array. */
static cJSON *run_children_sync(driver_t *d, asl_step_t *st)
{
    size_t n = st->n_children;
    fiber_t *fs = n ? calloc(n, sizeof *fs) : NULL;
    cJSON *arr = cJSON_CreateArray();
    size_t failures = 0;
    size_t limit = st->max_concurrency ? st->max_concurrency : n;
    int interleave = d->o && d->o->interleave;
    size_t started = 0, done = 0;
    int stop = 0;
    while (fs && done < n && !d->aborted) {
        /* start children up to the concurrency limit */
        while (!stop && started < n && started - done < (interleave ? limit : 1)) {
            fiber_t *f = &fs[started];
            f->m = st->children[started].machine;
            if (asl_exec_start_child(&st->children[started], &d->info, &d->env, &f->step) != 0) {
                d->aborted = 1;
                break;
            }
            collect_events(d, &f->step);
            started++;
        }
        if (started == done)
            break;
        /* one step of each running child */
        for (size_t i = done; i < started && !d->aborted; i++) {
            fiber_t *f = &fs[i];
            if (f->result)
                continue;
            advance(d, f);
            if (!interleave)
                while (!f->result && !d->aborted)
                    advance(d, f);
        }
        while (done < started && fs[done].result) {
            if (!cJSON_GetObjectItemCaseSensitive(fs[done].result, "output"))
                failures++;
            done++;
        }
        if (failures > st->tolerated_failures)
            stop = 1;
        if (stop && done == started)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        if (fs && fs[i].result) {
            cJSON_AddItemToArray(arr, fs[i].result);
            fs[i].result = NULL;
        } else {
            cJSON_AddItemToArray(arr, cJSON_CreateNull());
        }
        if (fs)
            asl_step_clear(&fs[i].step);
    }
    free(fs);
    return arr;
}

/* Does what f's current step asks and resumes; sets f->result at the end. */
static void advance(driver_t *d, fiber_t *f)
{
    asl_step_t *st = &f->step;
    if (st->kind == ASL_STEP_SUCCEEDED) {
        f->result = cJSON_CreateObject();
        cJSON_AddItemToObject(f->result, "output", st->output ? st->output : cJSON_CreateNull());
        st->output = NULL;
        return;
    }
    if (st->kind == ASL_STEP_FAILED) {
        f->result = cJSON_CreateObject();
        if (st->error.error)
            cJSON_AddStringToObject(f->result, "error", st->error.error);
        else
            cJSON_AddNullToObject(f->result, "error");
        if (st->error.cause)
            cJSON_AddStringToObject(f->result, "cause", st->error.cause);
        return;
    }
    if (d->res->n_transitions > d->max_transitions) {
        d->aborted = 1;
        return;
    }
    asl_outcome_t oc = {0};
    asl_error_t terr = {0};
    switch (st->kind) {
    case ASL_STEP_RUN_TASK: {
        cJSON *result = NULL;
        int rc = 1;
        d->res->n_tasks++;
        if (d->o && d->o->task)
            rc = d->o->task(st->resource, st->task_input, st->attempt, d->o->task_ud, &result, &terr);
        if (rc == 1)
            rc = builtin_task(st->resource, st->task_input, &result, &terr);
        if (rc == 0) {
            oc.kind = ASL_OUTCOME_TASK_SUCCEEDED;
            oc.result = result;
        } else {
            cJSON_Delete(result);
            oc.kind = ASL_OUTCOME_TASK_FAILED;
            oc.error = terr.error ? terr.error : ASL_E_TASK_FAILED;
            oc.cause = terr.cause;
        }
        break;
    }
    case ASL_STEP_WAIT:
    case ASL_STEP_RETRY:
        if (st->wake_at_ms > d->env.now_ms) {
            d->res->elapsed_ms += st->wake_at_ms - d->env.now_ms;
            d->env.now_ms = st->wake_at_ms;
        }
        oc.kind = ASL_OUTCOME_TIMER;
        break;
    case ASL_STEP_RUN_CHILDREN:
        oc.kind = ASL_OUTCOME_CHILDREN;
        oc.children = run_children_sync(d, st);
        if (d->aborted) {
            cJSON_Delete(oc.children);
            return;
        }
        break;
    case ASL_STEP_CONTINUE:
        oc.kind = ASL_OUTCOME_NONE;
        break;
    default:
        break;
    }
    cJSON *cursor = asl_step_take_cursor(st);
    asl_step_clear(st);
    if (asl_exec_resume(f->m, cursor, &oc, &d->info, &d->env, st, NULL) != 0)
        d->aborted = 1;
    else
        collect_events(d, st);
    asl_error_clear(&terr);
}

int asl_run(const asl_machine_t *m, const cJSON *input, const asl_run_opts_t *opts,
            asl_run_result_t *res)
{
    memset(res, 0, sizeof *res);
    driver_t d;
    memset(&d, 0, sizeof d);
    d.o = opts;
    d.res = res;
    d.env.count_events = !(opts && opts->events); /* no events asked: only count them */
    d.max_transitions = opts && opts->max_transitions ? opts->max_transitions : 25000;
    d.rng = 0x9E3779B97F4A7C15ULL;
    d.env.now_ms = opts && opts->start_ms ? opts->start_ms : 1700000000000LL;
    d.env.random64 = opts && opts->random64 ? opts->random64 : xorshift;
    d.env.random_ud = opts && opts->random64 ? opts->random_ud : &d.rng;
    if (opts && opts->info) {
        d.info = *opts->info;
    } else {
        d.info.execution_id = "exec-1";
        d.info.execution_name = "exec-1";
        d.info.state_machine_id = "machine";
        d.info.state_machine_name = "machine";
    }
    if (!d.info.execution_input)
        d.info.execution_input = input;
    if (!d.info.start_time_ms)
        d.info.start_time_ms = d.env.now_ms;
    fiber_t f;
    memset(&f, 0, sizeof f);
    f.m = m;
    if (asl_exec_start(m, input, &d.info, &d.env, &f.step) != 0)
        return -1;
    collect_events(&d, &f.step);
    while (!f.result && !d.aborted)
        advance(&d, &f);
    if (d.aborted) {
        res->status = ASL_STEP_FAILED;
        asl_error_set(&res->error, ASL_E_RUNTIME,
                      "transition limit of %zu exceeded", d.max_transitions);
    } else if (f.step.kind == ASL_STEP_SUCCEEDED) {
        res->status = ASL_STEP_SUCCEEDED;
        cJSON *o = cJSON_DetachItemFromObjectCaseSensitive(f.result, "output");
        res->output = o ? o : cJSON_CreateNull();
    } else {
        res->status = ASL_STEP_FAILED;
        asl_error_move(&res->error, &f.step.error);
    }
    cJSON_Delete(f.result);
    asl_step_clear(&f.step);
    return 0;
}

void asl_run_result_clear(asl_run_result_t *res)
{
    cJSON_Delete(res->output);
    asl_error_clear(&res->error);
    memset(res, 0, sizeof *res);
}
