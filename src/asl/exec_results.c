/* What the engine does with an outcome fed back: a Task's result or the
 * results of a Parallel's branches or a Map's iterations. */
#include "exec_internal.h"
#include "asl/json.h"

#include <stdlib.h>
#include <string.h>

/* Task finished successfully with `result` (consumed). */

/* ResultSelector, if the state has one: *result is replaced by the selection
 * (the old value freed either way). Returns 0 or -1 with r->err set. */
static int result_selector(run_t *r, cJSON **result, const cJSON *ctx)
{
    const asl_state_t *s = cur(r);
    if (!s->result_selector)
        return 0;
    asl_eval_env_t ee = asl_exec_eval_env(r, ctx);
    cJSON *sel = NULL;
    int rc = asl_template_eval(s->result_selector, *result, &ee, &sel, &r->err);
    cJSON_Delete(*result);
    *result = sel;
    return rc != 0 ? -1 : 0;
}

/* 1 if a retrier or catcher of s lists `error` by name. */
static int names_error(const asl_state_t *s, const char *error)
{
    for (size_t k = 0; k < s->n_retry; k++)
        for (size_t i = 0; i < s->retry[k].n_errors; i++)
            if (strcmp(s->retry[k].errors[i], error) == 0)
                return 1;
    for (size_t k = 0; k < s->n_catch; k++)
        for (size_t i = 0; i < s->catch_[k].n_errors; i++)
            if (strcmp(s->catch_[k].errors[i], error) == 0)
                return 1;
    return 0;
}

/* The raw input for ResultPath (NULL when "$" discards it): r->input itself
 * unless Retry or Catch could still need it, then a copy. They see r->input
 * after an error, and the only errors from here on are a failed ResultPath
 * write (ruled out by asl_path_can_set), States.Runtime from OutputPath (never
 * retried or caught) and States.DataLimitExceeded (only when named). */
static cJSON *result_input(run_t *r)
{
    const asl_state_t *s = cur(r);
    if (asl_exec_result_replaces(s))
        return NULL;
    if ((s->n_retry || s->n_catch) &&
        (names_error(s, ASL_E_DATA_LIMIT) ||
         (!s->result_path_null && !asl_path_can_set(s->result_path, r->input))))
        return cJSON_Duplicate(r->input, 1);
    cJSON *in = r->input;
    r->input = NULL;
    return in;
}

/* ResultPath, OutputPath and the payload limit, then on to the next state.
 * `in`, `result` and `ctx` are consumed; `res_sz` is an upper bound of the
 * result's size or SIZE_UNKNOWN. */
static int apply_result(run_t *r, cJSON *in, cJSON *result, size_t res_sz, cJSON *ctx,
                        const char *result_text, size_t result_len)
{
    const asl_state_t *s = cur(r);
    cJSON *out = NULL;
    size_t bound = asl_exec_out_bound(r, s->result_path, s->result_path_null, in ? r->in_size : 4,
                                      result, res_sz, 1);
    /* The result's text (printed for TaskSucceeded) stands for it inside the
     * output, if ResultPath keeps it and OutputPath keeps everything. */
    const cJSON *known = result_text && !s->result_path_null && !s->output_path_null &&
                         (!s->output_path || (asl_path_is_root(s->output_path) &&
                                              !asl_path_is_context(s->output_path)))
                             ? result : NULL;
    int rc = asl_exec_result_path(s->result_path, s->result_path_null, in, result, &out, &r->err);
    char *text = NULL;
    size_t len = SIZE_UNKNOWN;
    if (rc == 0)
        rc = asl_exec_output_path(r, out, ctx, &out);
    if (rc == 0) {
        if (known && !r->lean && r->env && r->env->raw_payloads)
            text = asl_json_print_known(out, known, result_text, result_len, &len);
        if (!text)
            text = asl_exec_payload_text(r, out, &len);
        if (asl_exec_check_limit(r, out, len, bound, "state output", &bound) != 0) {
            free(text);
            cJSON_Delete(out);
            rc = -1;
        }
    }
    cJSON_Delete(ctx);
    if (rc != 0)
        return R_ERR;
    asl_exec_state_event(r, "StateExited", "output", out, text, 0);
    return asl_exec_transition(r, out, bound);
}

/* `result_size`: the result's printed size if the runtime knows it, else 0. */
int asl_exec_task_succeeded(run_t *r, cJSON *result, size_t result_size)
{
    const asl_state_t *s = cur(r);
    if (!result)
        result = cJSON_CreateNull();
    cJSON *d = asl_exec_event(r, "TaskSucceeded");
    asl_exec_add_str(d, "resourceType", "sagad");
    asl_exec_add_str(d, "resource", s->handler);
    size_t len, size;
    char *text = asl_exec_payload_text(r, d ? result : NULL, &len);
    const char *stored = asl_exec_add_payload(r, d, "output", result, text, NULL);
    if (asl_exec_check_limit(r, result, len, result_size ? result_size : SIZE_UNKNOWN,
                             "task result", &size) != 0) {
        cJSON_Delete(result);
        return R_ERR;
    }
    cJSON *ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
    if (s->result_selector) {
        stored = NULL;  /* the result is no longer the printed one */
        size = SIZE_UNKNOWN;
        if (result_selector(r, &result, ctx) != 0) {
            cJSON_Delete(ctx);
            return R_ERR;
        }
    }
    return apply_result(r, result_input(r), result, size, ctx, stored, len);
}

/* Children done: combine (children consumed). */
int asl_exec_children_done(run_t *r, cJSON *children)
{
    const asl_state_t *s = cur(r);
    int is_map = s->type == ASL_STATE_MAP;
    size_t failures = 0;
    const cJSON *first_fail = NULL;
    cJSON *results = cJSON_CreateArray();
    for (const cJSON *c = cJSON_IsArray(children) ? children->child : NULL; c; c = c->next) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(c, "output");
        if (cJSON_IsObject(c) && !out) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "error");
            const cJSON *ca = cJSON_GetObjectItemCaseSensitive(c, "cause");
            failures++;
            if (!first_fail)
                first_fail = c;
            cJSON *eo = cJSON_CreateObject();
            cJSON_AddStringToObject(eo, "Error", cJSON_IsString(e) ? e->valuestring : "");
            cJSON_AddStringToObject(eo, "Cause", cJSON_IsString(ca) ? ca->valuestring : "");
            cJSON_AddItemToArray(results, eo);
        } else if (out) {
            cJSON_AddItemToArray(results, cJSON_DetachItemFromObjectCaseSensitive((cJSON *)c, "output"));
        } else {
            cJSON_AddItemToArray(results, cJSON_CreateNull());
        }
    }
    int failed = failures && (!is_map || r->tolerated < 0 || (long)failures > r->tolerated);
    if (failed) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(first_fail, "error");
        const cJSON *ca = cJSON_GetObjectItemCaseSensitive(first_fail, "cause");
        if (is_map && r->tolerated >= 0)
            asl_error_set(&r->err, ASL_E_EXCEED_TOLERATED,
                          "Map state '%s': %zu of %d iterations failed, more than the %ld tolerated",
                          s->name, failures, cJSON_GetArraySize(results), r->tolerated);
        else {
            asl_error_clear(&r->err);
            r->err.error = cJSON_IsString(e) ? strdup(e->valuestring) : NULL;
            r->err.cause = cJSON_IsString(ca) ? strdup(ca->valuestring) : NULL;
        }
        cJSON_Delete(results);
        cJSON_Delete(children);
        cJSON *d = asl_exec_event(r, is_map ? "MapStateFailed" : "ParallelStateFailed");
        asl_exec_add_str(d, "error", r->err.error);
        asl_exec_add_str(d, "cause", r->err.cause);
        return R_ERR;
    }
    cJSON_Delete(children);
    asl_exec_event(r, is_map ? "MapStateSucceeded" : "ParallelStateSucceeded");
    size_t size;
    if (asl_exec_check_limit(r, results, SIZE_UNKNOWN, SIZE_UNKNOWN, "state result", &size) != 0) {
        cJSON_Delete(results);
        return R_ERR;
    }
    cJSON *ctx = s->uses_context ? asl_exec_build_context(r, NULL) : NULL;
    if (s->result_selector)
        size = SIZE_UNKNOWN;
    if (result_selector(r, &results, ctx) != 0) {
        cJSON_Delete(ctx);
        return R_ERR;
    }
    return apply_result(r, result_input(r), results, size, ctx, NULL, 0);
}
