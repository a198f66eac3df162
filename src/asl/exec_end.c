/* How a state ends: on to the next state, success, or an error that a
 * retrier retries, a catcher catches, or that fails the run. */
#include "exec_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- ending ------------------------------------------------------------- */

static int succeed(run_t *r, cJSON *output)
{
    asl_step_t *st = r->step;
    if (r->child_kind == ASL_CHILD_ITERATION) {
        cJSON *d = asl_exec_event(r, "MapIterationSucceeded");
        asl_exec_add_num(d, "index", (double)r->index);
        asl_exec_add_str(d, "name", r->parent);
    } else if (!r->child_kind) {
        const char *same = asl_exec_exit_text_of(r, output);
        cJSON *d = asl_exec_event(r, "ExecutionSucceeded");
        asl_exec_add_payload(r, d, "output", output, NULL, same);
    }
    st->kind = ASL_STEP_SUCCEEDED;
    st->output = output;
    st->state = cur(r)->name;
    return R_STOP;
}

int asl_exec_fail(run_t *r)
{
    asl_step_t *st = r->step;
    if (r->child_kind == ASL_CHILD_ITERATION) {
        cJSON *d = asl_exec_event(r, "MapIterationFailed");
        asl_exec_add_num(d, "index", (double)r->index);
        asl_exec_add_str(d, "name", r->parent);
        asl_exec_add_str(d, "error", r->err.error);
        asl_exec_add_str(d, "cause", r->err.cause);
    } else if (!r->child_kind) {
        cJSON *d = asl_exec_event(r, "ExecutionFailed");
        asl_exec_add_str(d, "error", r->err.error);
        asl_exec_add_str(d, "cause", r->err.cause);
    }
    st->kind = ASL_STEP_FAILED;
    asl_error_move(&st->error, &r->err);
    st->state = cur(r)->name;
    return R_STOP;
}

/* The state produced `output` (consumed), of size `size` at most
 * (SIZE_UNKNOWN: not known): go on or end. */
int asl_exec_transition(run_t *r, cJSON *output, size_t size)
{
    const asl_state_t *s = cur(r);
    cJSON_Delete(r->input);
    r->input = NULL;
    if (s->end)
        return succeed(r, output);
    r->state = s->next_index;
    r->input = output;
    r->in_size = size;
    return R_NEXT;
}

/* ---- error handling ----------------------------------------------------- */

int asl_error_matches(const char *pattern, const char *error, asl_state_type_t t)
{
    (void)t;
    if (!error)
        error = "";
    if (strcmp(error, ASL_E_RUNTIME) == 0)
        return 0;
    if (strcmp(pattern, error) == 0)
        return 1;
    if (strcmp(error, ASL_E_DATA_LIMIT) == 0)
        return 0;
    if (strcmp(pattern, ASL_E_ALL) == 0)
        return 1;
    if (strcmp(pattern, ASL_E_TASK_FAILED) == 0)
        return strcmp(error, ASL_E_TIMEOUT) != 0;
    return 0;
}

static int list_matches(const char **errs, size_t n, const char *error, asl_state_type_t t)
{
    for (size_t i = 0; i < n; i++)
        if (asl_error_matches(errs[i], error, t))
            return 1;
    return 0;
}

static double unit_random(const run_t *r)
{
    if (!r->env || !r->env->random64)
        return 0.0;
    return (double)(r->env->random64(r->env->random_ud) >> 11) * (1.0 / 9007199254740992.0);
}

/* r->err happened in the current state: retry, catch or fail. */
int asl_exec_handle_error(run_t *r)
{
    const asl_state_t *s = cur(r);
    for (size_t k = 0; k < s->n_retry; k++) {
        const asl_retrier_t *rt = &s->retry[k];
        if (!list_matches(rt->errors, rt->n_errors, r->err.error, s->type))
            continue;
        assert(k < ASL_RETRIERS_MAX);
        uint32_t done = r->attempts[k];
        if (done >= rt->max_attempts)
            break;
        double delay = rt->interval_s * pow(rt->backoff_rate, (double)done);
        if (rt->max_delay_s > 0 && delay > rt->max_delay_s)
            delay = rt->max_delay_s;
        if (delay > 31622400.0)
            delay = 31622400.0;
        if (rt->jitter_full)
            delay *= unit_random(r);
        r->attempts[k]++;
        r->retries++;
        r->wake_ms = now_ms(r) + (int64_t)llround(delay * 1000.0);
        asl_error_clear(&r->err);
        r->step->kind = ASL_STEP_RETRY;
        r->step->wake_at_ms = r->wake_ms;
        asl_exec_make_cursor(r, PH_RETRY);
        return R_STOP;
    }
    for (size_t k = 0; k < s->n_catch; k++) {
        const asl_catcher_t *ct = &s->catch_[k];
        if (!list_matches(ct->errors, ct->n_errors, r->err.error, s->type))
            continue;
        cJSON *eo = cJSON_CreateObject();
        cJSON_AddStringToObject(eo, "Error", r->err.error ? r->err.error : "");
        cJSON_AddStringToObject(eo, "Cause", r->err.cause ? r->err.cause : "");
        cJSON *out = NULL;
        cJSON *in = r->input;
        r->input = NULL;
        size_t bound = asl_exec_out_bound(r, ct->result_path, ct->result_path_null,
                                          in ? r->in_size : 4, eo, SIZE_UNKNOWN, 0);
        asl_error_t e2 = {0};
        if (asl_exec_result_path(ct->result_path, ct->result_path_null, in, eo, &out, &e2) != 0) {
            asl_error_move(&r->err, &e2);
            return asl_exec_fail(r);
        }
        size_t len = 0, size = 0;
        char *text = asl_exec_payload_text(r, out, &len);
        if (asl_exec_check_limit(r, out, len, bound, "state output", &size) != 0) {
            free(text);
            cJSON_Delete(out);
            return asl_exec_fail(r);
        }
        asl_error_clear(&r->err);
        asl_exec_state_event(r, "StateExited", "output", out, text, 0);
        r->state = ct->next_index;
        r->input = out;
        r->in_size = size;
        return R_NEXT;
    }
    return asl_exec_fail(r);
}
