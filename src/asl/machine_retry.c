/* A state's Retry and Catch lists: retriers, catchers and their
 * ErrorEquals, validated and compiled. */
#include "machine_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Retry / Catch ------------------------------------------------------ */

static int known_error(const char *name)
{
    static const char *const names[] = {ASL_E_ALL, ASL_E_HEARTBEAT_TIMEOUT, ASL_E_TIMEOUT,
        ASL_E_TASK_FAILED, ASL_E_PERMISSIONS, ASL_E_RESULT_PATH, ASL_E_PARAMETER_PATH,
        ASL_E_BRANCH_FAILED, ASL_E_NO_CHOICE_MATCHED, ASL_E_INTRINSIC_FAILURE,
        ASL_E_EXCEED_TOLERATED, ASL_E_ITEM_READER_FAILED, ASL_E_RESULT_WRITER, ASL_E_RUNTIME,
        ASL_E_DATA_LIMIT, "States.QueryEvaluationError", "States.Http.Socket",
        "States.Http.Forbidden", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    /* HTTP tasks fail with States.Http.StatusCode.<three digits>. */
    static const char status[] = "States.Http.StatusCode.";
    const char *d = name + sizeof status - 1;
    return strncmp(name, status, sizeof status - 1) == 0 && d[0] >= '1' && d[0] <= '5' &&
           d[1] >= '0' && d[1] <= '9' && d[2] >= '0' && d[2] <= '9' && !d[3];
}

/* ErrorEquals: a non-empty array of strings; States.ALL alone and last. */
static void compile_error_equals(ctx_t *c, const char *st, const char *prefix,
                                 const cJSON *obj, int is_last, const char ***errs, size_t *n)
{
    char fb[256];
    asl_machine_fname(fb, sizeof fb, prefix, "ErrorEquals");
    const cJSON *ee = cJSON_GetObjectItemCaseSensitive(obj, "ErrorEquals");
    if (!ee) {
        asl_machine_prob(c, st, fb, "is required");
        return;
    }
    if (!cJSON_IsArray(ee) || !ee->child) {
        asl_machine_prob(c, st, fb, "must be a non-empty array of error names");
        return;
    }
    size_t count = (size_t)cJSON_GetArraySize(ee);
    const char **list = calloc(count, sizeof *list);
    if (!list)
        return;
    size_t k = 0;
    int has_all = 0;
    for (const cJSON *e = ee->child; e; e = e->next) {
        if (!cJSON_IsString(e)) {
            asl_machine_prob(c, st, fb, "element %zu must be a string, not %s", k,
                             asl_json_type_name(e));
            list[k++] = "";
            continue;
        }
        if (strcmp(e->valuestring, ASL_E_ALL) == 0)
            has_all = 1;
        else if (strncmp(e->valuestring, "States.", 7) == 0 && !known_error(e->valuestring))
            asl_machine_prob(c, st, fb,
                             "\"%s\" is not a predefined error name (names starting with "
                             "\"States.\" are reserved)", e->valuestring);
        list[k++] = e->valuestring;
    }
    if (has_all && count > 1)
        asl_machine_prob(c, st, fb, "States.ALL must appear alone in ErrorEquals");
    if (has_all && !is_last)
        asl_machine_prob(c, st, fb, "a retrier or catcher with States.ALL must be the last one");
    *errs = list;
    *n = count;
}

void asl_machine_compile_retry(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(s->def, "Retry");
    if (!r)
        return;
    if (!cJSON_IsArray(r)) {
        asl_machine_prob(c, st, "Retry", "must be an array of retriers, not %s",
                         asl_json_type_name(r));
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(r);
    if (!n)
        return;
    if (n > ASL_RETRIERS_MAX) {
        asl_machine_prob(c, st, "Retry", "a state may have at most %d retriers, not %zu",
                         ASL_RETRIERS_MAX, n);
        return;
    }
    s->retry = calloc(n, sizeof *s->retry);
    if (!s->retry)
        return;
    s->n_retry = n;
    static const char *const allowed[] = {"ErrorEquals", "IntervalSeconds", "MaxAttempts",
                                          "BackoffRate", "MaxDelaySeconds", "JitterStrategy",
                                          "Comment", NULL};
    size_t i = 0;
    for (const cJSON *e = r->child; e; e = e->next, i++) {
        char pre[64], fb[128];
        snprintf(pre, sizeof pre, "Retry[%zu]", i);
        asl_retrier_t *rt = &s->retry[i];
        rt->interval_s = 1;
        rt->max_attempts = 3;
        rt->backoff_rate = 2.0;
        if (!cJSON_IsObject(e)) {
            asl_machine_prob(c, st, pre, "must be an object, not %s", asl_json_type_name(e));
            continue;
        }
        asl_machine_check_fields(c, st, pre, e, allowed, "a retrier");
        compile_error_equals(c, st, pre, e, e->next == NULL, &rt->errors, &rt->n_errors);
        asl_machine_fname(fb, sizeof fb, pre, "IntervalSeconds");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "IntervalSeconds");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 99999999)
                asl_machine_prob(c, st, fb, "must be a positive integer");
            else
                rt->interval_s = v->valuedouble;
        }
        asl_machine_fname(fb, sizeof fb, pre, "MaxAttempts");
        v = cJSON_GetObjectItemCaseSensitive(e, "MaxAttempts");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
                asl_machine_prob(c, st, fb, "must be an integer, not %s", asl_json_type_name(v));
            else if (v->valuedouble < 0)
                asl_machine_prob(c, st, fb, "must not be negative");
            else if (v->valuedouble > 99999999)
                asl_machine_prob(c, st, fb, "must be at most 99999999");
            else
                rt->max_attempts = (uint32_t)v->valuedouble;
        }
        asl_machine_fname(fb, sizeof fb, pre, "BackoffRate");
        v = cJSON_GetObjectItemCaseSensitive(e, "BackoffRate");
        if (v) {
            if (!cJSON_IsNumber(v))
                asl_machine_prob(c, st, fb, "must be a number, not %s", asl_json_type_name(v));
            else if (!(v->valuedouble >= 1.0) || v->valuedouble > 1e6)
                asl_machine_prob(c, st, fb, "must be at least 1.0");
            else
                rt->backoff_rate = v->valuedouble;
        }
        asl_machine_fname(fb, sizeof fb, pre, "MaxDelaySeconds");
        v = cJSON_GetObjectItemCaseSensitive(e, "MaxDelaySeconds");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 31622400)
                asl_machine_prob(c, st, fb, "must be a positive integer of at most 31622400");
            else
                rt->max_delay_s = v->valuedouble;
        }
        asl_machine_fname(fb, sizeof fb, pre, "JitterStrategy");
        v = cJSON_GetObjectItemCaseSensitive(e, "JitterStrategy");
        if (v) {
            if (!cJSON_IsString(v) || (strcmp(v->valuestring, "FULL") != 0 &&
                                       strcmp(v->valuestring, "NONE") != 0))
                asl_machine_prob(c, st, fb, "must be \"FULL\" or \"NONE\"");
            else
                rt->jitter_full = strcmp(v->valuestring, "FULL") == 0;
        }
    }
}

void asl_machine_compile_catch(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(s->def, "Catch");
    if (!r)
        return;
    if (!cJSON_IsArray(r)) {
        asl_machine_prob(c, st, "Catch", "must be an array of catchers, not %s",
                         asl_json_type_name(r));
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(r);
    if (!n)
        return;
    s->catch_ = calloc(n, sizeof *s->catch_);
    if (!s->catch_)
        return;
    s->n_catch = n;
    static const char *const allowed[] = {"ErrorEquals", "Next", "ResultPath", "Comment", NULL};
    size_t i = 0;
    for (const cJSON *e = r->child; e; e = e->next, i++) {
        char pre[64], fb[128];
        snprintf(pre, sizeof pre, "Catch[%zu]", i);
        asl_catcher_t *ct = &s->catch_[i];
        if (!cJSON_IsObject(e)) {
            asl_machine_prob(c, st, pre, "must be an object, not %s", asl_json_type_name(e));
            continue;
        }
        asl_machine_check_fields(c, st, pre, e, allowed, "a catcher");
        compile_error_equals(c, st, pre, e, e->next == NULL, &ct->errors, &ct->n_errors);
        asl_machine_fname(fb, sizeof fb, pre, "Next");
        const cJSON *nx = cJSON_GetObjectItemCaseSensitive(e, "Next");
        if (!nx)
            asl_machine_prob(c, st, fb, "is required");
        else if (!cJSON_IsString(nx))
            asl_machine_prob(c, st, fb, "must be a string, not %s", asl_json_type_name(nx));
        else
            ct->next = nx->valuestring;
        asl_machine_fname(fb, sizeof fb, pre, "ResultPath");
        asl_machine_get_path(c, st, e, "ResultPath", fb, ASL_PATH_REFERENCE | ASL_PATH_NO_CONTEXT,
                             1, &ct->result_path, &ct->result_path_null);
    }
}
