/* The engine's history events (Step Functions' shapes, payloads printed
 * once and shared between events) and the context object $$ states read. */
#include "exec_internal.h"
#include "asl/json.h"
#include "core/timefmt.h"

#include <stdlib.h>
#include <string.h>

/* ---- events ------------------------------------------------------------ */

/* Keys and event types are static strings: the items reference them
 * (cJSON_AddItemToObjectCS, string references) instead of copying them. */
void asl_exec_add_item(cJSON *obj, const char *static_key, cJSON *item)
{
    cJSON_AddItemToObjectCS(obj, static_key, item);
}

/* `type` must be a static string. */
cJSON *asl_exec_event(run_t *r, const char *type)
{
    r->n_events++;
    if (r->lean)
        return NULL; /* asl_run without an events array only counts them */
    cJSON *e = cJSON_CreateObject();
    cJSON *d = cJSON_CreateObject();
    asl_exec_add_item(e, "type", cJSON_CreateStringReference(type));
    asl_exec_add_item(e, "details", d);
    cJSON_AddItemToArray(r->step->events, e);
    return d;
}

/* The text of payload v when this call's events hold raw text, with its
 * size in *len; else NULL and SIZE_UNKNOWN. Printed once, it serves both the
 * event and the payload limit, which then needs no walk of its own. */
char *asl_exec_payload_text(const run_t *r, const cJSON *v, size_t *len)
{
    char *text = NULL;
    if (!r->lean && v && r->env && r->env->raw_payloads)
        text = asl_json_print_len(v, len);
    if (!text)
        *len = SIZE_UNKNOWN;
    return text;
}

/* Adds a JSON payload (copied). `text` is NULL or v's text from
 * payload_text (taken); `same` is NULL or v's text printed for an earlier
 * event (copied). Returns the raw text stored (borrowed), or NULL when the
 * payload went in as a deep copy. */
const char *asl_exec_add_payload(run_t *r, cJSON *d, const char *key, const cJSON *v, char *text,
                                 const char *same)
{
    if (!d) {
        free(text);
        return NULL;
    }
    if (v && (text || (r->env && r->env->raw_payloads))) {
        /* One print instead of a deep copy that would be printed later. */
        cJSON *raw = !text && same ? cJSON_CreateRaw(same)
                                   : asl_json_raw(text ? text : asl_json_print(v));
        if (raw) {
            asl_exec_add_item(d, key, raw);
            return raw->valuestring;
        }
    }
    asl_exec_add_item(d, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    return NULL;
}

/* The text of the last StateExited output (or execution input) if it is
 * `v` and no event came after it. */
const char *asl_exec_exit_text_of(const run_t *r, const cJSON *v)
{
    return v && r->exit_text && r->exit_value == v && r->exit_event == r->n_events
               ? r->exit_text : NULL;
}

void asl_exec_add_str(cJSON *d, const char *key, const char *s)
{
    if (d && s)
        asl_exec_add_item(d, key, cJSON_CreateString(s));
}

void asl_exec_add_num(cJSON *d, const char *key, double v)
{
    if (d)
        asl_exec_add_item(d, key, cJSON_CreateNumber(v));
}

/* `text`: NULL or v's text from payload_text (taken). `pass`: v is the
 * state's input, unchanged since its StateEntered. */
void asl_exec_state_event(run_t *r, const char *suffix, const char *key, const cJSON *v, char *text,
                          int pass)
{
    static const char *const TYPES[][2] = {
        [ASL_STATE_TASK] = {"TaskStateEntered", "TaskStateExited"},
        [ASL_STATE_PASS] = {"PassStateEntered", "PassStateExited"},
        [ASL_STATE_CHOICE] = {"ChoiceStateEntered", "ChoiceStateExited"},
        [ASL_STATE_WAIT] = {"WaitStateEntered", "WaitStateExited"},
        [ASL_STATE_SUCCEED] = {"SucceedStateEntered", "SucceedStateExited"},
        [ASL_STATE_FAIL] = {"FailStateEntered", "FailStateExited"},
        [ASL_STATE_PARALLEL] = {"ParallelStateEntered", "ParallelStateExited"},
        [ASL_STATE_MAP] = {"MapStateEntered", "MapStateExited"},
    };
    int entered = strcmp(suffix, "StateEntered") == 0;
    const char *same = entered ? asl_exec_exit_text_of(r, v)
                       : pass && r->entered_text && r->entered_event == r->n_events ? r->entered_text
                       : NULL;
    asl_state_type_t t = cur(r)->type;
    cJSON *d = asl_exec_event(r, (size_t)t < sizeof TYPES / sizeof TYPES[0] ? TYPES[t][!entered]
                                 : entered ? "?StateEntered" : "?StateExited");
    asl_exec_add_str(d, "name", cur(r)->name);
    if (!key || !d) {
        free(text);
        return;
    }
    const char *stored = asl_exec_add_payload(r, d, key, v, text, same);
    r->exit_text = NULL;
    r->entered_text = NULL;
    if (stored && entered) {
        r->entered_text = stored;
        r->entered_event = r->n_events;
    } else if (stored) {
        r->exit_value = v;
        r->exit_text = stored;
        r->exit_event = r->n_events;
    }
}

/* ---- context object ($$) ------------------------------------------------ */

void asl_exec_add_ref(cJSON *obj, const char *key, const cJSON *v)
{
    if (v)
        cJSON_AddItemReferenceToObject(obj, key, (cJSON *)v);
    else
        cJSON_AddNullToObject(obj, key);
}

cJSON *asl_exec_build_context(const run_t *r, const char *token)
{
    const asl_exec_info_t *in = r->info;
    char ts[TIMEFMT_MAX];
    cJSON *ctx = cJSON_CreateObject();
    cJSON *ex = cJSON_AddObjectToObject(ctx, "Execution");
    asl_exec_add_str(ex, "Id", in && in->execution_id ? in->execution_id : "");
    asl_exec_add_ref(ex, "Input", in ? in->execution_input : NULL);
    asl_exec_add_str(ex, "Name", in && in->execution_name ? in->execution_name : "");
    asl_exec_add_str(ex, "StartTime", timefmt_utc_ms(in ? in->start_time_ms : 0, ts));
    cJSON *st = cJSON_AddObjectToObject(ctx, "State");
    asl_exec_add_str(st, "EnteredTime", timefmt_utc_ms(r->entered_ms, ts));
    asl_exec_add_str(st, "Name", cur(r)->name);
    cJSON_AddNumberToObject(st, "RetryCount", r->retries);
    cJSON *sm = cJSON_AddObjectToObject(ctx, "StateMachine");
    asl_exec_add_str(sm, "Id", in && in->state_machine_id ? in->state_machine_id : "");
    asl_exec_add_str(sm, "Name", in && in->state_machine_name ? in->state_machine_name : "");
    if (token) {
        cJSON *t = cJSON_AddObjectToObject(ctx, "Task");
        asl_exec_add_str(t, "Token", token);
    }
    return ctx;
}

asl_eval_env_t asl_exec_eval_env(const run_t *r, const cJSON *ctx)
{
    asl_eval_env_t e = {ctx, r->env ? r->env->random64 : NULL, r->env ? r->env->random_ud : NULL};
    return e;
}
