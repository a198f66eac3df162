/* The pure ASL execution engine's entry points: start an execution or a
 * child, resume it with an outcome, re-issue a pending request; the loop
 * that enters states until one must wait for the outside world. */
#include "exec_internal.h"

#include <stdlib.h>
#include <string.h>

/* Enters r->state with r->input and runs until a stop. */
static int drive(run_t *r, int entering)
{
    for (;;) {
        int rc;
        if (entering) {
            if (r->transitions >= STEP_BUDGET) {
                r->step->kind = ASL_STEP_CONTINUE;
                asl_exec_make_cursor(r, PH_ENTER);
                return 0;
            }
            r->transitions++;
            r->seq++;
            r->entered_ms = now_ms(r);
            r->retries = 0;
            memset(r->attempts, 0, sizeof r->attempts);
            asl_exec_state_event(r, "StateEntered", "input", r->input, NULL, 0);
            rc = asl_exec_run_state(r);
            if (rc == R_WAITED)
                rc = asl_exec_finish_wait(r);
        } else {
            rc = R_NEXT;
        }
        entering = 1;
        if (rc == R_ERR)
            rc = asl_exec_handle_error(r);
        if (rc == R_STOP)
            return 0;
    }
}

static int init_step(asl_step_t *step)
{
    memset(step, 0, sizeof *step);
    step->events = cJSON_CreateArray();
    return step->events ? 0 : -1;
}

static void run_free(run_t *r)
{
    cJSON_Delete(r->input);
    free(r->parent);
    asl_error_clear(&r->err);
}

static int start_common(run_t *r, const cJSON *input)
{
    char *text = NULL;
    size_t len = SIZE_UNKNOWN;
    if (init_step(r->step) != 0)
        return -1;
    r->tolerated = -1;
    r->input = input ? cJSON_Duplicate(input, 1) : cJSON_CreateNull();
    r->state = asl_machine_start_index(r->m);
    if (r->child_kind == ASL_CHILD_ITERATION) {
        cJSON *d = asl_exec_event(r, "MapIterationStarted");
        asl_exec_add_num(d, "index", (double)r->index);
        asl_exec_add_str(d, "name", r->parent);
    } else if (!r->child_kind) {
        cJSON *d = asl_exec_event(r, "ExecutionStarted");
        text = asl_exec_payload_text(r, d ? input : NULL, &len);
        const char *stored = asl_exec_add_payload(r, d, "input", input, text, NULL);
        if (stored) {
            /* r->input is a copy of input: its StateEntered is this text */
            r->exit_value = r->input;
            r->exit_text = stored;
            r->exit_event = r->n_events;
        }
    }
    if (asl_exec_check_limit(r, r->input, len, SIZE_UNKNOWN, "execution input", &r->in_size) != 0) {
        asl_exec_fail(r);
        run_free(r);
        return 0;
    }
    drive(r, 1);
    run_free(r);
    return 0;
}

/* A run of one engine call; `lean`: count the events, build none. */
static void run_init(run_t *r, const asl_machine_t *m, const asl_exec_info_t *info,
                     const asl_env_t *env, asl_step_t *step, int lean)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->info = info;
    r->env = env;
    r->step = step;
    r->lean = lean;
}

/* What the step reports of the run's transitions and events. */
static void run_counts(const run_t *r, asl_step_t *step)
{
    step->n_transitions = r->transitions;
    step->n_events = r->n_events;
}

int asl_exec_start(const asl_machine_t *m, const cJSON *input, const asl_exec_info_t *info,
                   const asl_env_t *env, asl_step_t *step)
{
    run_t r;
    run_init(&r, m, info, env, step, env && env->count_events);
    int rc = start_common(&r, input);
    run_counts(&r, step);
    return rc;
}

int asl_exec_start_child(const asl_child_t *child, const asl_exec_info_t *info,
                         const asl_env_t *env, asl_step_t *step)
{
    run_t r;
    run_init(&r, child->machine, info, env, step, env && env->count_events);
    r.child_kind = child->kind;
    r.parent = strdup(child->parent_state ? child->parent_state : "");
    r.index = child->index;
    int rc = start_common(&r, child->input);
    run_counts(&r, step);
    return rc;
}

int asl_exec_resume(const asl_machine_t *m, cJSON *cursor, asl_outcome_t *oc,
                    const asl_exec_info_t *info, const asl_env_t *env, asl_step_t *step,
                    asl_error_t *err)
{
    asl_outcome_t none = {0};
    if (!oc)
        oc = &none;
    cJSON *result = oc->result, *children = oc->children;
    oc->result = NULL;
    oc->children = NULL;
    memset(step, 0, sizeof *step);
    run_t r;
    run_init(&r, m, info, env, step, env && env->count_events);
    int phase = asl_exec_load_cursor(&r, cursor, err);
    int ok = phase >= 0;
    if (ok) {
        switch ((phase_t)phase) {
        case PH_ENTER: ok = oc->kind == ASL_OUTCOME_NONE; break;
        case PH_TASK: ok = oc->kind == ASL_OUTCOME_TASK_SUCCEEDED || oc->kind == ASL_OUTCOME_TASK_FAILED; break;
        case PH_WAIT:
        case PH_RETRY: ok = oc->kind == ASL_OUTCOME_TIMER; break;
        case PH_CHILDREN: ok = oc->kind == ASL_OUTCOME_CHILDREN; break;
        }
        if (!ok && err)
            asl_error_set(err, ASL_E_RUNTIME, "outcome %d does not fit a cursor in phase '%s'",
                          (int)oc->kind, asl_exec_phase_name((phase_t)phase));
    }
    if (!ok || init_step(step) != 0) {
        cJSON_Delete(result);
        cJSON_Delete(children);
        run_free(&r);
        memset(step, 0, sizeof *step);
        return -1;
    }
    int rc = R_STOP;
    switch ((phase_t)phase) {
    case PH_ENTER:
        drive(&r, 1);
        goto out;
    case PH_TASK:
        if (oc->kind == ASL_OUTCOME_TASK_SUCCEEDED) {
            rc = asl_exec_task_succeeded(&r, result, oc->result_size);
        } else {
            const char *e = oc->error ? oc->error : ASL_E_TASK_FAILED;
            /* A missed heartbeat is a time-out too (AWS: TaskTimedOut). */
            int timed_out = strcmp(e, ASL_E_TIMEOUT) == 0 || strcmp(e, ASL_E_HEARTBEAT_TIMEOUT) == 0;
            cJSON *d = asl_exec_event(&r, timed_out ? "TaskTimedOut" : "TaskFailed");
            asl_exec_add_str(d, "resourceType", "sagad");
            asl_exec_add_str(d, "resource", cur(&r)->handler);
            asl_exec_add_str(d, "error", e);
            asl_exec_add_str(d, "cause", oc->cause ? oc->cause : "");
            cJSON_Delete(result);
            asl_error_clear(&r.err);
            r.err.error = strdup(e);
            r.err.cause = strdup(oc->cause ? oc->cause : "");
            rc = R_ERR;
        }
        break;
    case PH_WAIT:
        rc = asl_exec_finish_wait(&r);
        break;
    case PH_RETRY:
        rc = cur(&r)->type == ASL_STATE_TASK ? asl_exec_run_task(&r, 1)
                                             : asl_exec_run_children(&r, 1);
        break;
    case PH_CHILDREN:
        rc = asl_exec_children_done(&r, children);
        break;
    }
    if (rc == R_ERR)
        rc = asl_exec_handle_error(&r);
    if (rc == R_NEXT)
        drive(&r, 1);
out:
    run_counts(&r, step);
    cJSON_Delete(phase == PH_TASK ? NULL : result);
    if (phase != PH_CHILDREN)
        cJSON_Delete(children);
    run_free(&r);
    return 0;
}

int asl_exec_pending(const asl_machine_t *m, const cJSON *cursor,
                     const asl_exec_info_t *info, const asl_env_t *env,
                     asl_step_t *step, asl_error_t *err)
{
    memset(step, 0, sizeof *step);
    run_t r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.info = info;
    r.env = env;
    r.step = step;
    cJSON *copy = cJSON_Duplicate(cursor, 1);
    int phase = copy ? asl_exec_load_cursor(&r, copy, err) : -1;
    if (phase < 0 || init_step(step) != 0) {
        run_free(&r);
        memset(step, 0, sizeof *step);
        return -1;
    }
    int rc = R_STOP;
    switch ((phase_t)phase) {
    case PH_ENTER:
        step->kind = ASL_STEP_CONTINUE;
        asl_exec_make_cursor(&r, PH_ENTER);
        break;
    case PH_TASK:
        rc = asl_exec_run_task(&r, 0);
        break;
    case PH_WAIT:
    case PH_RETRY:
        step->kind = phase == PH_WAIT ? ASL_STEP_WAIT : ASL_STEP_RETRY;
        step->wake_at_ms = r.wake_ms;
        asl_exec_make_cursor(&r, (phase_t)phase);
        break;
    case PH_CHILDREN:
        rc = asl_exec_run_children(&r, 0);
        break;
    }
    if (rc != R_STOP) {
        if (err)
            asl_error_move(err, &r.err);
        run_free(&r);
        asl_step_clear(step);
        return -1;
    }
    run_free(&r);
    return 0;
}

cJSON *asl_exec_enter_cursor(const asl_machine_t *m, const char *state, const cJSON *input,
                             uint64_t seq)
{
    long idx = asl_machine_find_state(m, state);
    if (idx < 0)
        return NULL;
    asl_step_t step;
    memset(&step, 0, sizeof step);
    run_t r;
    run_init(&r, m, NULL, NULL, &step, 0);
    r.state = (size_t)idx;
    r.seq = seq;
    r.tolerated = -1;
    r.in_size = SIZE_UNKNOWN;
    r.input = input ? cJSON_Duplicate(input, 1) : cJSON_CreateNull();
    if (!r.input)
        return NULL;
    asl_exec_make_cursor(&r, PH_ENTER);
    run_free(&r);
    return asl_step_take_cursor(&step);
}

const asl_machine_t *asl_exec_child_machine(const asl_machine_t *m, const char *parent_state,
                                            asl_child_kind_t kind, size_t index)
{
    long i = asl_machine_find_state(m, parent_state);
    if (i < 0)
        return NULL;
    asl_state_type_t t = asl_machine_state_type(m, (size_t)i);
    if (kind == ASL_CHILD_ITERATION)
        return t == ASL_STATE_MAP ? asl_machine_state_branch(m, (size_t)i, 0) : NULL;
    return t == ASL_STATE_PARALLEL ? asl_machine_state_branch(m, (size_t)i, index) : NULL;
}

/* ---- steps -------------------------------------------------------------- */

void asl_step_clear(asl_step_t *s)
{
    cJSON_Delete(s->cursor);
    cJSON_Delete(s->events);
    cJSON_Delete(s->task_input);
    free(s->task_token);
    for (size_t i = 0; i < s->n_children; i++)
        cJSON_Delete(s->children[i].input);
    free(s->children);
    cJSON_Delete(s->output);
    asl_error_clear(&s->error);
    memset(s, 0, sizeof *s);
}

cJSON *asl_step_take_cursor(asl_step_t *s)
{
    cJSON *c = s->cursor;
    s->cursor = NULL;
    return c;
}

const char *asl_cursor_state(const cJSON *cursor)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cursor, "state");
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

const char *asl_step_kind_name(asl_step_kind_t k)
{
    switch (k) {
    case ASL_STEP_RUN_TASK: return "RunTask";
    case ASL_STEP_WAIT: return "Wait";
    case ASL_STEP_RETRY: return "Retry";
    case ASL_STEP_RUN_CHILDREN: return "RunChildren";
    case ASL_STEP_CONTINUE: return "Continue";
    case ASL_STEP_SUCCEEDED: return "Succeeded";
    case ASL_STEP_FAILED: return "Failed";
    }
    return "?";
}
