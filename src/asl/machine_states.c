/* One state of a definition: its fields by type, its transition, and the
 * paths, templates, choice rules and branches it holds, compiled. */
#include "machine_internal.h"
#include "asl/resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- states ------------------------------------------------------------- */

static void compile_template(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                             asl_template_t **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return;
    /* ASL spec: a payload template is a JSON object. */
    if (!cJSON_IsObject(v)) {
        asl_machine_prob(c, st, field, "must be a JSON object (payload template), not %s",
                         asl_json_type_name(v));
        return;
    }
    asl_problems_t local;
    asl_problems_init(&local);
    if (asl_template_compile(v, st, field, &local, out) != 0 || local.count) {
        for (size_t i = 0; i < local.count; i++)
            asl_machine_prob(c, local.items[i].state, local.items[i].field, "%s",
                             local.items[i].message);
        if (!local.count)
            asl_machine_prob(c, st, field, "invalid payload template");
        asl_template_free(*out);
        *out = NULL;
    }
    asl_problems_free(&local);
}

/* ErrorPath/CausePath: a reference path or an intrinsic call. */
static void compile_path_or_fn(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                               asl_path_t **path, asl_intrinsic_t **fn)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return;
    if (cJSON_IsString(v) && asl_intrinsic_is_call(v->valuestring)) {
        char msg[ASL_INTRINSIC_MSG_MAX] = "";
        if (asl_intrinsic_compile(v->valuestring, fn, msg, sizeof msg) != 0) {
            *fn = NULL;
            asl_machine_prob(c, st, field, "%s", msg[0] ? msg : "invalid intrinsic function");
        }
        return;
    }
    asl_machine_get_path(c, st, obj, field, NULL, ASL_PATH_REFERENCE, 0, path, NULL);
}

static void compile_branches(ctx_t *c, const char *st, asl_state_t *s)
{
    if (s->type == ASL_STATE_PARALLEL) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(s->def, "Branches");
        if (!b) {
            asl_machine_prob(c, st, "Branches", "is required");
            return;
        }
        if (!cJSON_IsArray(b) || !b->child) {
            asl_machine_prob(c, st, "Branches", "must be a non-empty array of state machines");
            return;
        }
        size_t n = (size_t)cJSON_GetArraySize(b);
        s->branches = calloc(n, sizeof *s->branches);
        if (!s->branches)
            return;
        s->n_branches = n;
        size_t i = 0;
        for (const cJSON *e = b->child; e; e = e->next, i++) {
            char fb[64];
            snprintf(fb, sizeof fb, "Branches[%zu]", i);
            s->branches[i] = asl_machine_compile_machine(c, e, st, st, fb, 0);
        }
        return;
    }
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(s->def, "ItemProcessor");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(s->def, "Iterator");
    if (ip && it) {
        asl_machine_prob(c, st, "ItemProcessor", "ItemProcessor and Iterator cannot both be set");
        return;
    }
    if (!ip && !it) {
        asl_machine_prob(c, st, "ItemProcessor", "is required (or the older Iterator)");
        return;
    }
    s->branches = calloc(1, sizeof *s->branches);
    if (!s->branches)
        return;
    s->n_branches = 1;
    s->branches[0] = asl_machine_compile_machine(c, ip ? ip : it, st, st,
                                                 ip ? "ItemProcessor" : "Iterator", 0);
}

static const char *const F_TASK[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath",
    "ResultPath", "Parameters", "ResultSelector", "Resource", "TimeoutSeconds",
    "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Retry", "Catch", NULL};
static const char *const F_PASS[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath",
    "ResultPath", "Parameters", "Result", NULL};
static const char *const F_CHOICE[] = {"Type", "Comment", "QueryLanguage", "Choices", "Default", "InputPath",
    "OutputPath", NULL};
static const char *const F_WAIT[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath",
    "Seconds", "SecondsPath", "Timestamp", "TimestampPath", NULL};
static const char *const F_SUCCEED[] = {"Type", "Comment", "QueryLanguage", "InputPath", "OutputPath", NULL};
static const char *const F_FAIL[] = {"Type", "Comment", "QueryLanguage", "Error", "ErrorPath", "Cause",
    "CausePath", NULL};
static const char *const F_PARALLEL[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath",
    "OutputPath", "ResultPath", "Parameters", "ResultSelector", "Branches", "Retry", "Catch", NULL};
static const char *const F_MAP[] = {"Type", "Comment", "QueryLanguage", "Next", "End", "InputPath", "OutputPath",
    "ResultPath", "Parameters", "ItemSelector", "ResultSelector", "ItemsPath", "ItemProcessor",
    "Iterator", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount",
    "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
    "Retry", "Catch", NULL};

static const char *const *fields_for(asl_state_type_t t)
{
    switch (t) {
    case ASL_STATE_TASK: return F_TASK;
    case ASL_STATE_PASS: return F_PASS;
    case ASL_STATE_CHOICE: return F_CHOICE;
    case ASL_STATE_WAIT: return F_WAIT;
    case ASL_STATE_SUCCEED: return F_SUCCEED;
    case ASL_STATE_FAIL: return F_FAIL;
    case ASL_STATE_PARALLEL: return F_PARALLEL;
    case ASL_STATE_MAP: return F_MAP;
    }
    return F_PASS;
}

static int has_field(asl_state_type_t t, const char *f)
{
    for (const char *const *a = fields_for(t); *a; a++)
        if (strcmp(*a, f) == 0)
            return 1;
    return 0;
}

/* Next/End rules per type. */
void asl_machine_compile_transition(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(s->def, "Next");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(s->def, "End");
    switch (s->type) {
    case ASL_STATE_CHOICE:
        if (next)
            asl_machine_prob(c, st, "Next",
                             "a Choice state cannot have Next (use Choices and Default)");
        if (end)
            asl_machine_prob(c, st, "End", "a Choice state cannot have End");
        return;
    case ASL_STATE_SUCCEED:
    case ASL_STATE_FAIL:
        if (next)
            asl_machine_prob(c, st, "Next", "a %s state cannot have Next",
                             asl_state_type_name(s->type));
        if (end)
            asl_machine_prob(c, st, "End", "a %s state cannot have End",
                             asl_state_type_name(s->type));
        s->end = 1;
        return;
    default:
        break;
    }
    if (end && !cJSON_IsBool(end))
        asl_machine_prob(c, st, "End", "must be a boolean, not %s", asl_json_type_name(end));
    if (next && !cJSON_IsString(next))
        asl_machine_prob(c, st, "Next", "must be a string, not %s", asl_json_type_name(next));
    int is_end = cJSON_IsTrue(end);
    if (is_end && next) {
        asl_machine_prob(c, st, "Next", "Next and End cannot both be set");
        if (cJSON_IsString(next))
            s->next = next->valuestring;
        return;
    }
    if (is_end) {
        s->end = 1;
        return;
    }
    if (!next) {
        asl_machine_prob(c, st, "Next", "one of Next or \"End\": true is required");
        return;
    }
    if (cJSON_IsString(next))
        s->next = next->valuestring;
}

void asl_machine_compile_state(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *d = s->def;
    asl_machine_check_fields(c, st, NULL, d, fields_for(s->type), asl_state_type_name(s->type));
    s->comment = asl_machine_get_string(c, st, d, "Comment", NULL);
    const cJSON *ql = cJSON_GetObjectItemCaseSensitive(d, "QueryLanguage");
    if (ql && !(cJSON_IsString(ql) && strcmp(ql->valuestring, "JSONPath") == 0))
        asl_machine_prob(c, st, "QueryLanguage", "only \"JSONPath\" is supported");
    s->uses_context = asl_machine_contains_context(d);
    asl_machine_compile_transition(c, st, s);

    if (has_field(s->type, "InputPath"))
        asl_machine_get_path(c, st, d, "InputPath", NULL, 0, 1, &s->input_path,
                             &s->input_path_null);
    if (has_field(s->type, "OutputPath"))
        asl_machine_get_path(c, st, d, "OutputPath", NULL, 0, 1, &s->output_path,
                             &s->output_path_null);
    if (has_field(s->type, "ResultPath"))
        asl_machine_get_path(c, st, d, "ResultPath", NULL, ASL_PATH_REFERENCE | ASL_PATH_NO_CONTEXT,
                             1, &s->result_path, &s->result_path_null);
    if (has_field(s->type, "ResultSelector"))
        compile_template(c, st, d, "ResultSelector", &s->result_selector);
    if (has_field(s->type, "Retry"))
        asl_machine_compile_retry(c, st, s);
    if (has_field(s->type, "Catch"))
        asl_machine_compile_catch(c, st, s);

    switch (s->type) {
    case ASL_STATE_PASS:
        compile_template(c, st, d, "Parameters", &s->parameters);
        s->result = cJSON_GetObjectItemCaseSensitive(d, "Result");
        break;
    case ASL_STATE_TASK: {
        compile_template(c, st, d, "Parameters", &s->parameters);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "Resource");
        if (!r)
            asl_machine_prob(c, st, "Resource", "is required");
        else if (!cJSON_IsString(r))
            asl_machine_prob(c, st, "Resource", "must be a string, not %s",
                             asl_json_type_name(r));
        else {
            char handler[ASL_RESOURCE_MAX], why[ASL_RESOURCE_WHY_MAX];
            if (asl_resource_map(r->valuestring, handler, why) < 0) {
                asl_machine_prob(c, st, "Resource", "%s", why);
            } else if (asl_resource_check_parameters(
                           r->valuestring, cJSON_GetObjectItemCaseSensitive(d, "Parameters"), why) < 0) {
                asl_machine_prob(c, st, "Parameters", "%s", why);
            } else {
                s->resource = r->valuestring;
                s->handler = strdup(handler);
                if (!s->handler)
                    asl_machine_prob(c, st, "Resource", "out of memory");
            }
        }
        asl_machine_get_num_field(c, st, d, "TimeoutSeconds", "TimeoutSecondsPath", 1, 99999999, 1,
                                  &s->timeout);
        asl_machine_get_num_field(c, st, d, "HeartbeatSeconds", "HeartbeatSecondsPath", 1, 99999999,
                                  1, &s->heartbeat);
        if (s->timeout.set && !s->timeout.path && s->heartbeat.set && !s->heartbeat.path &&
            s->heartbeat.value >= s->timeout.value)
            asl_machine_prob(c, st, "HeartbeatSeconds", "must be smaller than TimeoutSeconds");
        break;
    }
    case ASL_STATE_CHOICE: {
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, "Choices");
        if (!ch) {
            asl_machine_prob(c, st, "Choices", "is required");
        } else if (!cJSON_IsArray(ch) || !ch->child) {
            asl_machine_prob(c, st, "Choices", "must be a non-empty array of choice rules");
        } else {
            size_t n = (size_t)cJSON_GetArraySize(ch);
            s->choices = calloc(n, sizeof *s->choices);
            s->choice_next = calloc(n, sizeof *s->choice_next);
            if (s->choices && s->choice_next) {
                s->n_choices = n;
                size_t i = 0;
                for (const cJSON *e = ch->child; e; e = e->next, i++) {
                    char fb[64];
                    snprintf(fb, sizeof fb, "Choices[%zu]", i);
                    asl_problems_t local;
                    asl_problems_init(&local);
                    if (asl_choice_compile(e, true, st, fb, &local, &s->choices[i]) != 0 ||
                        local.count) {
                        for (size_t k = 0; k < local.count; k++)
                            asl_machine_prob(c, local.items[k].state, local.items[k].field, "%s",
                                             local.items[k].message);
                        if (!local.count)
                            asl_machine_prob(c, st, fb, "invalid choice rule");
                        asl_choice_free(s->choices[i]);
                        s->choices[i] = NULL;
                    }
                    asl_problems_free(&local);
                }
            }
        }
        s->default_next = asl_machine_get_string(c, st, d, "Default", NULL);
        break;
    }
    case ASL_STATE_WAIT: {
        int n = 0;
        const char *which[] = {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"};
        for (int i = 0; i < 4; i++)
            n += cJSON_GetObjectItemCaseSensitive(d, which[i]) != NULL;
        if (n == 0) {
            asl_machine_prob(c, st, "Seconds",
                             "one of Seconds, SecondsPath, Timestamp or TimestampPath is required");
            break;
        }
        if (n > 1) {
            asl_machine_prob(c, st, "Seconds",
                             "only one of Seconds, SecondsPath, Timestamp and TimestampPath may be set");
            break;
        }
        asl_machine_get_num_field(c, st, d, "Seconds", "SecondsPath", 0, 99999999, 1, &s->seconds);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(d, "Timestamp");
        if (ts) {
            asl_timestamp_t t;
            if (!cJSON_IsString(ts))
                asl_machine_prob(c, st, "Timestamp", "must be a string, not %s",
                                 asl_json_type_name(ts));
            else if (!asl_timestamp_parse(ts->valuestring, &t))
                asl_machine_prob(c, st, "Timestamp", "\"%s\" is not an RFC 3339 timestamp",
                                 ts->valuestring);
            else {
                s->has_timestamp = 1;
                s->timestamp_ms = asl_timestamp_to_ms(&t);
            }
        }
        asl_machine_get_path(c, st, d, "TimestampPath", NULL, ASL_PATH_REFERENCE, 0,
                             &s->timestamp_path, NULL);
        break;
    }
    case ASL_STATE_FAIL:
        if (cJSON_GetObjectItemCaseSensitive(d, "Error") &&
            cJSON_GetObjectItemCaseSensitive(d, "ErrorPath"))
            asl_machine_prob(c, st, "Error", "Error and ErrorPath cannot both be set");
        if (cJSON_GetObjectItemCaseSensitive(d, "Cause") &&
            cJSON_GetObjectItemCaseSensitive(d, "CausePath"))
            asl_machine_prob(c, st, "Cause", "Cause and CausePath cannot both be set");
        s->error = asl_machine_get_string(c, st, d, "Error", NULL);
        s->cause = asl_machine_get_string(c, st, d, "Cause", NULL);
        compile_path_or_fn(c, st, d, "ErrorPath", &s->error_path, &s->error_fn);
        compile_path_or_fn(c, st, d, "CausePath", &s->cause_path, &s->cause_fn);
        break;
    case ASL_STATE_PARALLEL:
        compile_template(c, st, d, "Parameters", &s->parameters);
        compile_branches(c, st, s);
        break;
    case ASL_STATE_MAP:
        if (cJSON_GetObjectItemCaseSensitive(d, "Parameters") &&
            cJSON_GetObjectItemCaseSensitive(d, "ItemSelector"))
            asl_machine_prob(c, st, "ItemSelector",
                             "ItemSelector and Parameters cannot both be set");
        else if (cJSON_GetObjectItemCaseSensitive(d, "ItemSelector"))
            compile_template(c, st, d, "ItemSelector", &s->item_selector);
        else
            compile_template(c, st, d, "Parameters", &s->item_selector);
        asl_machine_get_path(c, st, d, "ItemsPath", NULL, ASL_PATH_REFERENCE, 0, &s->items_path,
                             NULL);
        asl_machine_get_num_field(c, st, d, "MaxConcurrency", "MaxConcurrencyPath", 0, 99999999, 1,
                                  &s->max_concurrency);
        asl_machine_get_num_field(c, st, d, "ToleratedFailureCount", "ToleratedFailureCountPath", 0,
                                  99999999, 1, &s->tolerated_count);
        asl_machine_get_num_field(c, st, d, "ToleratedFailurePercentage",
                                  "ToleratedFailurePercentagePath",
                                  0, 100, 0, &s->tolerated_pct);
        compile_branches(c, st, s);
        break;
    case ASL_STATE_SUCCEED:
        break;
    }
}

void asl_machine_free_state(asl_state_t *s)
{
    asl_path_free(s->input_path);
    asl_path_free(s->output_path);
    asl_path_free(s->result_path);
    asl_template_free(s->parameters);
    asl_template_free(s->result_selector);
    asl_machine_free_num_field(&s->timeout);
    asl_machine_free_num_field(&s->heartbeat);
    for (size_t i = 0; i < s->n_retry; i++)
        free((void *)s->retry[i].errors);
    free(s->retry);
    for (size_t i = 0; i < s->n_catch; i++) {
        free((void *)s->catch_[i].errors);
        asl_path_free(s->catch_[i].result_path);
    }
    free(s->catch_);
    for (size_t i = 0; i < s->n_choices; i++)
        asl_choice_free(s->choices[i]);
    free(s->choices);
    free(s->choice_next);
    asl_machine_free_num_field(&s->seconds);
    asl_path_free(s->timestamp_path);
    asl_path_free(s->error_path);
    asl_path_free(s->cause_path);
    asl_intrinsic_free(s->error_fn);
    asl_intrinsic_free(s->cause_fn);
    for (size_t i = 0; i < s->n_branches; i++)
        asl_machine_free(s->branches[i]);
    free(s->branches);
    asl_path_free(s->items_path);
    asl_template_free(s->item_selector);
    asl_machine_free_num_field(&s->max_concurrency);
    asl_machine_free_num_field(&s->tolerated_count);
    asl_machine_free_num_field(&s->tolerated_pct);
    free((void *)s->handler);
}
