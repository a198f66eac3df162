/* The pure ASL execution engine: runs states of a compiled machine until it
 * needs the outside world, producing Step Functions history events and a
 * serializable cursor. */
#include "asl/exec.h"
#include "asl/json.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Internal transitions one start/resume call may make before it yields
 * (ASL_STEP_CONTINUE), so a Pass/Choice loop cannot hog the event loop. */
#define STEP_BUDGET 1000

/* check_limit: the size of the payload is not known yet. */
#define SIZE_UNKNOWN SIZE_MAX

/* What a state function did: stopped with a filled step, moved to the next
 * state, raised r->err, or (Wait) found nothing to wait for. */
enum { R_STOP = 0, R_NEXT = 1, R_ERR = 2, R_WAITED = 3 };

/* Phases a cursor can be in. */
typedef enum { PH_ENTER = 0, PH_TASK, PH_WAIT, PH_RETRY, PH_CHILDREN } phase_t;
static const char *const PHASES[] = {"enter", "task", "wait", "retry", "children"};

typedef struct run_s {
    const asl_machine_t *m;
    const asl_exec_info_t *info;
    const asl_env_t *env;
    asl_step_t *step;
    int lean;                   /* events without input/output payloads (asl_run) */
    size_t transitions;         /* states entered during this call */
    size_t n_events;            /* events produced during this call */

    /* cursor */
    size_t state;
    cJSON *input;               /* raw input of the current state (owned) */
    /* An upper bound of input's printed size (SIZE_UNKNOWN: none), so that
     * the payload limit on what is built from it can often be proved
     * without a walk (see out_bound). Not printed in the cursor. */
    size_t in_size;
    int64_t entered_ms;
    uint64_t seq;               /* states entered since the start */
    uint32_t retries;           /* retries of the current state so far */
    uint32_t attempts[ASL_RETRIERS_MAX]; /* per retrier (validation caps their number) */
    int64_t wake_ms;
    long tolerated;             /* Map: failures tolerated; -1 = none configured */
    int child_kind;             /* 0 top level, else asl_child_kind_t */
    char *parent;               /* owned: parent state name (children only) */
    size_t index;

    asl_error_t err;            /* the error being handled (R_ERR) */

    /* Raw payloads printed in this call, borrowed from their events, so
     * that a value unchanged in between is not printed twice: the last
     * StateExited output (or the execution input) and the event count after
     * it, for the next StateEntered input and ExecutionSucceeded output; the
     * current state's StateEntered input, for a StateExited output that
     * passes it through (Choice, Succeed, Wait). */
    const cJSON *exit_value;
    const char *exit_text;
    size_t exit_event;
    const char *entered_text;
    size_t entered_event;
} run_t;

static const asl_state_t *cur(const run_t *r)
{
    return asl_machine_state(r->m, r->state);
}

static int64_t now_ms(const run_t *r)
{
    return r->env ? r->env->now_ms : 0;
}

/* ---- events ------------------------------------------------------------ */

/* Keys and event types are static strings: the items reference them
 * (cJSON_AddItemToObjectCS, string references) instead of copying them. */
static void add_item(cJSON *obj, const char *static_key, cJSON *item)
{
    cJSON_AddItemToObjectCS(obj, static_key, item);
}

/* `type` must be a static string. */
static cJSON *event(run_t *r, const char *type)
{
    r->n_events++;
    if (r->lean)
        return NULL; /* asl_run without an events array only counts them */
    cJSON *e = cJSON_CreateObject();
    cJSON *d = cJSON_CreateObject();
    add_item(e, "type", cJSON_CreateStringReference(type));
    add_item(e, "details", d);
    cJSON_AddItemToArray(r->step->events, e);
    return d;
}

/* The text of payload v when this call's events hold raw text, with its
 * size in *len; else NULL and SIZE_UNKNOWN. Printed once, it serves both the
 * event and the payload limit, which then needs no walk of its own. */
static char *payload_text(const run_t *r, const cJSON *v, size_t *len)
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
static const char *add_payload(run_t *r, cJSON *d, const char *key, const cJSON *v, char *text,
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
            add_item(d, key, raw);
            return raw->valuestring;
        }
    }
    add_item(d, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    return NULL;
}

/* The text of the last StateExited output (or execution input) if it is
 * `v` and no event came after it. */
static const char *exit_text_of(const run_t *r, const cJSON *v)
{
    return v && r->exit_text && r->exit_value == v && r->exit_event == r->n_events
               ? r->exit_text : NULL;
}

static void add_str(cJSON *d, const char *key, const char *s)
{
    if (d && s)
        add_item(d, key, cJSON_CreateString(s));
}

static void add_num(cJSON *d, const char *key, double v)
{
    if (d)
        add_item(d, key, cJSON_CreateNumber(v));
}

/* `text`: NULL or v's text from payload_text (taken). `pass`: v is the
 * state's input, unchanged since its StateEntered. */
static void state_event(run_t *r, const char *suffix, const char *key, const cJSON *v, char *text,
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
    const char *same = entered ? exit_text_of(r, v)
                       : pass && r->entered_text && r->entered_event == r->n_events ? r->entered_text
                       : NULL;
    asl_state_type_t t = cur(r)->type;
    cJSON *d = event(r, (size_t)t < sizeof TYPES / sizeof TYPES[0] ? TYPES[t][!entered]
                       : entered ? "?StateEntered" : "?StateExited");
    add_str(d, "name", cur(r)->name);
    if (!key || !d) {
        free(text);
        return;
    }
    const char *stored = add_payload(r, d, key, v, text, same);
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

static void add_ref(cJSON *obj, const char *key, const cJSON *v)
{
    if (v)
        cJSON_AddItemReferenceToObject(obj, key, (cJSON *)v);
    else
        cJSON_AddNullToObject(obj, key);
}

static cJSON *build_context(const run_t *r, const char *token)
{
    const asl_exec_info_t *in = r->info;
    char ts[ASL_TIMESTAMP_MAX];
    cJSON *ctx = cJSON_CreateObject();
    cJSON *ex = cJSON_AddObjectToObject(ctx, "Execution");
    add_str(ex, "Id", in && in->execution_id ? in->execution_id : "");
    add_ref(ex, "Input", in ? in->execution_input : NULL);
    add_str(ex, "Name", in && in->execution_name ? in->execution_name : "");
    add_str(ex, "StartTime", asl_timestamp_format(in ? in->start_time_ms : 0, ts));
    cJSON *st = cJSON_AddObjectToObject(ctx, "State");
    add_str(st, "EnteredTime", asl_timestamp_format(r->entered_ms, ts));
    add_str(st, "Name", cur(r)->name);
    cJSON_AddNumberToObject(st, "RetryCount", r->retries);
    cJSON *sm = cJSON_AddObjectToObject(ctx, "StateMachine");
    add_str(sm, "Id", in && in->state_machine_id ? in->state_machine_id : "");
    add_str(sm, "Name", in && in->state_machine_name ? in->state_machine_name : "");
    if (token) {
        cJSON *t = cJSON_AddObjectToObject(ctx, "Task");
        add_str(t, "Token", token);
    }
    return ctx;
}

static asl_eval_env_t eval_env(const run_t *r, const cJSON *ctx)
{
    asl_eval_env_t e = {ctx, r->env ? r->env->random64 : NULL, r->env ? r->env->random_ud : NULL};
    return e;
}

/* ---- data flow ---------------------------------------------------------- */

/* InputPath/OutputPath: returns a new value (null path: {}). */
static int select_path(const asl_path_t *p, int is_null, const cJSON *in, const cJSON *ctx,
                       cJSON **out, asl_error_t *err)
{
    if (is_null) {
        *out = cJSON_CreateObject();
        return 0;
    }
    if (!p || asl_path_is_root(p)) {
        if (p && asl_path_is_context(p))
            return asl_path_eval(p, in, ctx, out, err);
        *out = cJSON_Duplicate(in, 1);
        return 0;
    }
    return asl_path_eval(p, in, ctx, out, err);
}

/* Moves `v` out through OutputPath (v consumed). */
static int output_path(run_t *r, cJSON *v, const cJSON *ctx, cJSON **out)
{
    const asl_state_t *s = cur(r);
    if (!s->output_path_null && (!s->output_path ||
                                 (asl_path_is_root(s->output_path) &&
                                  !asl_path_is_context(s->output_path)))) {
        *out = v;
        return 0;
    }
    /* v is ours: move the selection out of it rather than copy it */
    cJSON *t = s->output_path_null ? NULL : asl_path_take(s->output_path, v);
    if (t) {
        cJSON_Delete(v);
        *out = t;
        return 0;
    }
    int rc = select_path(s->output_path, s->output_path_null, v, ctx, out, &r->err);
    cJSON_Delete(v);
    return rc;
}

/* ResultPath: combines the raw input (consumed) with the result (consumed). */
static int result_path(const asl_path_t *p, int is_null, cJSON *in, cJSON *result,
                       cJSON **out, asl_error_t *err)
{
    if (is_null) {
        cJSON_Delete(result);
        *out = in;
        return 0;
    }
    if (!p || asl_path_is_root(p)) {
        cJSON_Delete(in);
        *out = result ? result : cJSON_CreateNull();
        return 0;
    }
    if (!result)
        result = cJSON_CreateNull();
    if (asl_path_set(p, &in, result, err) != 0) {
        cJSON_Delete(in);
        return -1;
    }
    *out = in;
    return 0;
}

/* InputPath without copying when possible: *view points into r->input or
 * is *owned (which the caller frees). */
static int input_view(run_t *r, const cJSON *ctx, const cJSON **view, cJSON **owned)
{
    const asl_state_t *s = cur(r);
    *owned = NULL;
    if (s->input_path_null) {
        *owned = cJSON_CreateObject();
        *view = *owned;
        return 0;
    }
    if (!s->input_path || (asl_path_is_root(s->input_path) && !asl_path_is_context(s->input_path))) {
        *view = r->input;
        return 0;
    }
    if (asl_path_get(s->input_path, r->input, ctx, view) == 1)
        return 0;
    if (asl_path_eval(s->input_path, r->input, ctx, owned, &r->err) != 0)
        return -1;
    *view = *owned;
    return 0;
}

/* Effective input: InputPath then Parameters (template), like input_view:
 * *view is borrowed from r->input or the context, or is *owned. */
static int effective_view(run_t *r, const cJSON *ctx, const asl_template_t *params,
                          const cJSON **view, cJSON **owned)
{
    if (input_view(r, ctx, view, owned) != 0)
        return -1;
    if (params) {
        asl_eval_env_t ee = eval_env(r, ctx);
        cJSON *p = NULL;
        int rc = asl_template_eval(params, *view, &ee, &p, &r->err);
        cJSON_Delete(*owned);
        *owned = NULL;
        if (rc != 0)
            return -1;
        *view = *owned = p;
    }
    return 0;
}

/* The same as a new value (the caller frees it). */
static int effective_input(run_t *r, const cJSON *ctx, const asl_template_t *params, cJSON **out)
{
    const cJSON *view;
    cJSON *owned;
    if (effective_view(r, ctx, params, &view, &owned) != 0)
        return -1;
    *out = owned ? owned : cJSON_Duplicate(view, 1);
    return 0;
}

/* OutputPath of a view (Choice, Wait, Succeed): takes *owned or r->input
 * instead of copying when the whole value passes. */
static int view_output(run_t *r, const cJSON *view, cJSON *owned, const cJSON *ctx, cJSON **out,
                       int *pass)
{
    const asl_state_t *s = cur(r);
    *pass = 0;
    if (!s->output_path_null && (!s->output_path || (asl_path_is_root(s->output_path) &&
                                                     !asl_path_is_context(s->output_path)))) {
        if (owned) {
            *out = owned;
        } else if (view == r->input) {
            *out = r->input;    /* the input itself passes through */
            r->input = NULL;
            *pass = 1;
        } else {
            *out = cJSON_Duplicate(view, 1);
        }
        return 0;
    }
    int rc = select_path(s->output_path, s->output_path_null, view, ctx, out, &r->err);
    cJSON_Delete(owned);
    return rc;
}

/* ResultPath replaces the whole input ("$", the default). */
static int result_replaces(const asl_state_t *s)
{
    return !s->result_path_null && (!s->result_path || asl_path_is_root(s->result_path));
}

/* A number from a literal or a reference path into `in`. */
static int num_field(run_t *r, const asl_num_field_t *f, const cJSON *in, const cJSON *ctx,
                     const char *field, double min, int integer, double *out)
{
    if (!f->path) {
        *out = f->value;
        return 0;
    }
    const cJSON *v = NULL;
    int got = asl_path_get(f->path, in, ctx, &v);
    if (got == 0)
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s '%s' could not be found in the input",
                             field, asl_path_text(f->path));
    if (got < 0 || !cJSON_IsNumber(v) || (integer && v->valuedouble != floor(v->valuedouble)) ||
        v->valuedouble < min || v->valuedouble > 99999999.0)
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s '%s' must select %s >= %.0f",
                             field, asl_path_text(f->path), integer ? "an integer" : "a number", min);
    *out = v->valuedouble;
    return 0;
}

/* The payload limit on v, whose printed size is `known` bytes if it was
 * printed already, else SIZE_UNKNOWN; `bound` is SIZE_UNKNOWN or an upper
 * bound of that size. Without a bound under the limit, v is measured. On
 * success *size (if not NULL) is an upper bound of v's size, exact when
 * known or measured. */
static int check_limit(run_t *r, const cJSON *v, size_t known, size_t bound, const char *what,
                       size_t *size)
{
    size_t n = known;
    if (n == SIZE_UNKNOWN)
        n = bound <= ASL_PAYLOAD_LIMIT ? bound : asl_json_size(v, ASL_PAYLOAD_LIMIT);
    if (size)
        *size = n;
    return asl_json_check_size(n, what, &r->err);
}

/* a + b, SIZE_UNKNOWN when either is (or on overflow). */
static size_t add_size(size_t a, size_t b)
{
    return a == SIZE_UNKNOWN || b == SIZE_UNKNOWN || b > SIZE_UNKNOWN - 1 - a ? SIZE_UNKNOWN
                                                                            : a + b;
}

/* An upper bound of what asl_path_set(p, &doc, v) adds to doc besides v's
 * own size (when it succeeds; doc not NULL). It replaces an existing node
 * (no growth beyond v) or adds a member to an object and creates the
 * missing objects on the way: per segment at most '{' '}' ':' ',' and the
 * key, whose escaped size is 2 quotes + at most 6 bytes per key byte. Each
 * key byte stems from at least one byte of the path's text, and each
 * segment takes at least one, so 12 bytes per byte of text bound it. Array
 * elements are only ever replaced, never padded. */
static size_t set_overhead(const asl_path_t *p)
{
    return 12 * strlen(asl_path_text(p)) + 2;
}

/* An upper bound of the size of what result_path(p, is_null, ...) makes of
 * an input of size `in_sz` at most and `result` (NULL: null) of size
 * `res_sz` at most (either may be SIZE_UNKNOWN; the result is then measured
 * if that can help), followed by the state's OutputPath when `output`.
 * OutputPath: null makes {}; a definite "$" path selects one node, whose
 * text is part of the whole text; a context path or an indefinite one (an
 * array of matches, possibly overlapping) is not bounded. */
static size_t out_bound(const run_t *r, const asl_path_t *p, int is_null, size_t in_sz,
                        const cJSON *result, size_t res_sz, int output)
{
    const asl_state_t *s = cur(r);
    if (output && s->output_path_null)
        return 2;
    if (output && s->output_path && (!asl_path_is_definite(s->output_path) ||
                                     asl_path_is_context(s->output_path)))
        return SIZE_UNKNOWN;
    if (is_null)
        return in_sz;
    int replaces = !p || asl_path_is_root(p);
    if (!replaces && in_sz == SIZE_UNKNOWN)
        return SIZE_UNKNOWN;
    if (res_sz == SIZE_UNKNOWN)
        res_sz = result ? asl_json_size(result, ASL_PAYLOAD_LIMIT) : 4;
    if (res_sz > ASL_PAYLOAD_LIMIT)
        return SIZE_UNKNOWN;
    return replaces ? res_sz : add_size(add_size(in_sz, res_sz), set_overhead(p));
}

/* An upper bound of the size of the state's InputPath view of r->input
 * (the same rules as OutputPath in out_bound). */
static size_t in_bound(const run_t *r)
{
    const asl_state_t *s = cur(r);
    if (s->input_path_null)
        return 2;
    if (!s->input_path || (asl_path_is_definite(s->input_path) &&
                           !asl_path_is_context(s->input_path)))
        return r->in_size;
    return SIZE_UNKNOWN;
}

/* An upper bound of view_output's output: InputPath, then OutputPath. */
static size_t view_bound(const run_t *r)
{
    return out_bound(r, NULL, 1, in_bound(r), NULL, 0, 1);
}

/* ---- cursor --------------------------------------------------------------- */

/* Stores the cursor into the step; r->input moves into it. */
static void make_cursor(run_t *r, phase_t ph)
{
    cJSON *c = cJSON_CreateObject();
    add_num(c, "v", 1);
    add_str(c, "state", cur(r)->name);
    add_item(c, "phase", cJSON_CreateStringReference(PHASES[ph]));
    size_t in_size = r->input ? r->in_size : 4;
    add_item(c, "input", r->input ? r->input : cJSON_CreateNull());
    r->input = NULL;
    add_num(c, "entered", (double)r->entered_ms);
    add_num(c, "seq", (double)r->seq);
    if (r->retries) {
        add_num(c, "retries", r->retries);
        size_t n = cur(r)->n_retry;
        assert(n <= ASL_RETRIERS_MAX);
        cJSON *a = cJSON_CreateArray();
        add_item(c, "attempts", a);
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(r->attempts[i]));
    }
    if (ph == PH_WAIT || ph == PH_RETRY)
        add_num(c, "wake", (double)r->wake_ms);
    if (ph == PH_CHILDREN && r->tolerated >= 0)
        add_num(c, "tolerated", (double)r->tolerated);
    if (r->child_kind) {
        cJSON *ch = cJSON_AddObjectToObject(c, "child");
        cJSON_AddStringToObject(ch, "kind", r->child_kind == ASL_CHILD_ITERATION ? "iteration" : "branch");
        cJSON_AddStringToObject(ch, "parent", r->parent ? r->parent : "");
        cJSON_AddNumberToObject(ch, "index", (double)r->index);
    }
    /* The input's size bound rides along in the object's number slot,
     * which printing ignores: a cursor fed back as is keeps it, a parsed
     * one starts from 0 = unknown. */
    c->valuedouble = in_size == SIZE_UNKNOWN ? 0.0 : (double)in_size + 1.0;
    r->step->cursor = c;
    r->step->state = cur(r)->name;
}

static int64_t num_or(const cJSON *v, int64_t dflt)
{
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static int64_t get_i64(const cJSON *o, const char *k, int64_t dflt)
{
    return num_or(cJSON_GetObjectItemCaseSensitive(o, k), dflt);
}

/* The members of a cursor, found in one pass. */
enum { K_STATE, K_PHASE, K_INPUT, K_ENTERED, K_SEQ, K_RETRIES, K_ATTEMPTS, K_WAKE, K_TOLERATED,
       K_CHILD, K_COUNT };

static int cursor_key(const char *k)
{
    static const char *const KEYS[K_COUNT] = {"state", "phase", "input", "entered", "seq",
                                              "retries", "attempts", "wake", "tolerated", "child"};
    int i;
    switch (k[0]) {
    case 's': i = k[1] == 't' ? K_STATE : K_SEQ; break;
    case 'p': i = K_PHASE; break;
    case 'i': i = K_INPUT; break;
    case 'e': i = K_ENTERED; break;
    case 'r': i = K_RETRIES; break;
    case 'a': i = K_ATTEMPTS; break;
    case 'w': i = K_WAKE; break;
    case 't': i = K_TOLERATED; break;
    case 'c': i = K_CHILD; break;
    default: return -1;
    }
    return strcmp(k, KEYS[i]) == 0 ? i : -1;
}

/* Loads a cursor (consumed). Returns the phase or -1. */
static int load_cursor(run_t *r, cJSON *c, asl_error_t *err)
{
    /* The first member of each name counts, as with cJSON_GetObjectItem
     * (which also stops at a member without a name). */
    cJSON *f[K_COUNT] = {0};
    for (cJSON *it = c ? c->child : NULL; it && it->string; it = it->next) {
        int k = cursor_key(it->string);
        if (k >= 0 && !f[k])
            f[k] = it;
    }
    const cJSON *st = f[K_STATE];
    const cJSON *ph = f[K_PHASE];
    long idx = cJSON_IsString(st) ? asl_machine_find_state(r->m, st->valuestring) : -1;
    int phase = -1;
    for (int i = 0; cJSON_IsString(ph) && i < (int)(sizeof PHASES / sizeof PHASES[0]); i++)
        if (strcmp(ph->valuestring, PHASES[i]) == 0)
            phase = i;
    if (idx >= 0 && phase >= 0) {
        /* A cursor saved under another version of the definition may name a
         * state whose type no longer fits its phase. */
        asl_state_type_t t = asl_machine_state(r->m, (size_t)idx)->type;
        int fits = 1;
        switch ((phase_t)phase) {
        case PH_ENTER: break;
        case PH_TASK: fits = t == ASL_STATE_TASK; break;
        case PH_WAIT: fits = t == ASL_STATE_WAIT; break;
        case PH_RETRY: fits = t == ASL_STATE_TASK || t == ASL_STATE_PARALLEL || t == ASL_STATE_MAP; break;
        case PH_CHILDREN: fits = t == ASL_STATE_PARALLEL || t == ASL_STATE_MAP; break;
        }
        if (!fits)
            idx = -1;
    }
    if (idx < 0 || phase < 0) {
        cJSON_Delete(c);
        if (err)
            asl_error_set(err, ASL_E_RUNTIME, "cursor does not belong to this machine");
        return -1;
    }
    r->state = (size_t)idx;
    r->input = f[K_INPUT] ? cJSON_DetachItemViaPointer(c, f[K_INPUT]) : NULL;
    r->in_size = c->valuedouble >= 1.0 && c->valuedouble <= 2.0 * ASL_PAYLOAD_LIMIT
                     ? (size_t)c->valuedouble - 1 : SIZE_UNKNOWN;
    if (!r->input)
        r->in_size = 4;
    r->entered_ms = num_or(f[K_ENTERED], 0);
    r->seq = (uint64_t)num_or(f[K_SEQ], 0);
    r->retries = (uint32_t)num_or(f[K_RETRIES], 0);
    const cJSON *a = f[K_ATTEMPTS];
    size_t i = 0;
    for (const cJSON *e = cJSON_IsArray(a) ? a->child : NULL; e && i < ASL_RETRIERS_MAX; e = e->next, i++)
        r->attempts[i] = cJSON_IsNumber(e) ? (uint32_t)e->valuedouble : 0;
    r->wake_ms = num_or(f[K_WAKE], 0);
    r->tolerated = num_or(f[K_TOLERATED], -1);
    const cJSON *ch = f[K_CHILD];
    if (cJSON_IsObject(ch)) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(ch, "kind");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(ch, "parent");
        r->child_kind = cJSON_IsString(k) && strcmp(k->valuestring, "iteration") == 0
                            ? ASL_CHILD_ITERATION : ASL_CHILD_BRANCH;
        r->parent = strdup(cJSON_IsString(p) ? p->valuestring : "");
        r->index = (size_t)get_i64(ch, "index", 0);
    }
    if (!r->input)
        r->input = cJSON_CreateNull();
    cJSON_Delete(c);
    return phase;
}

/* ---- ending ------------------------------------------------------------- */

static int succeed(run_t *r, cJSON *output)
{
    asl_step_t *st = r->step;
    if (r->child_kind == ASL_CHILD_ITERATION) {
        cJSON *d = event(r, "MapIterationSucceeded");
        add_num(d, "index", (double)r->index);
        add_str(d, "name", r->parent);
    } else if (!r->child_kind) {
        const char *same = exit_text_of(r, output);
        cJSON *d = event(r, "ExecutionSucceeded");
        add_payload(r, d, "output", output, NULL, same);
    }
    st->kind = ASL_STEP_SUCCEEDED;
    st->output = output;
    st->state = cur(r)->name;
    return R_STOP;
}

static int fail(run_t *r)
{
    asl_step_t *st = r->step;
    if (r->child_kind == ASL_CHILD_ITERATION) {
        cJSON *d = event(r, "MapIterationFailed");
        add_num(d, "index", (double)r->index);
        add_str(d, "name", r->parent);
        add_str(d, "error", r->err.error);
        add_str(d, "cause", r->err.cause);
    } else if (!r->child_kind) {
        cJSON *d = event(r, "ExecutionFailed");
        add_str(d, "error", r->err.error);
        add_str(d, "cause", r->err.cause);
    }
    st->kind = ASL_STEP_FAILED;
    asl_error_move(&st->error, &r->err);
    st->state = cur(r)->name;
    return R_STOP;
}

/* The state produced `output` (consumed), of size `size` at most
 * (SIZE_UNKNOWN: not known): go on or end. */
static int transition(run_t *r, cJSON *output, size_t size)
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
static int handle_error(run_t *r)
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
        make_cursor(r, PH_RETRY);
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
        size_t bound = out_bound(r, ct->result_path, ct->result_path_null,
                                 in ? r->in_size : 4, eo, SIZE_UNKNOWN, 0);
        asl_error_t e2 = {0};
        if (result_path(ct->result_path, ct->result_path_null, in, eo, &out, &e2) != 0) {
            asl_error_move(&r->err, &e2);
            return fail(r);
        }
        size_t len = 0, size = 0;
        char *text = payload_text(r, out, &len);
        if (check_limit(r, out, len, bound, "state output", &size) != 0) {
            free(text);
            cJSON_Delete(out);
            return fail(r);
        }
        asl_error_clear(&r->err);
        state_event(r, "StateExited", "output", out, text, 0);
        r->state = ct->next_index;
        r->input = out;
        r->in_size = size;
        return R_NEXT;
    }
    return fail(r);
}

/* ---- the states ----------------------------------------------------------- */

/* Appends the decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "<instance or execution id>:<state>:<seq>:<attempt>" (no printf: once per Task). */
static void task_token(run_t *r, char **out)
{
    const asl_exec_info_t *in = r->info;
    const char *id = in && in->instance_id ? in->instance_id
                     : in && in->execution_id ? in->execution_id : "";
    const char *name = cur(r)->name;
    size_t li = strlen(id), ln = strlen(name);
    char *p = malloc(li + ln + 2 * 21 + 3);
    *out = p;
    if (!p)
        return;
    memcpy(p, id, li);
    p += li;
    *p++ = ':';
    memcpy(p, name, ln);
    p += ln;
    *p++ = ':';
    p = put_u64(p, r->seq);
    *p++ = ':';
    p = put_u64(p, r->retries);
    *p = '\0';
}

/* Task: build the request and stop with RUN_TASK. */
static int run_task(run_t *r, int emit)
{
    const asl_state_t *s = cur(r);
    asl_step_t *st = r->step;
    char *token = NULL;
    task_token(r, &token);
    cJSON *ctx = s->uses_context ? build_context(r, token) : NULL;
    cJSON *eff = NULL;
    double timeout = 0, heartbeat = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = effective_input(r, ctx, s->parameters, &eff);
    if (rc == 0 && s->timeout.set)
        rc = num_field(r, &s->timeout, r->input, ctx, "TimeoutSecondsPath", 1, 1, &timeout);
    if (rc == 0 && s->heartbeat.set)
        rc = num_field(r, &s->heartbeat, r->input, ctx, "HeartbeatSecondsPath", 1, 1, &heartbeat);
    if (rc == 0) {
        text = payload_text(r, emit ? eff : NULL, &len);
        rc = check_limit(r, eff, len, s->parameters ? SIZE_UNKNOWN : in_bound(r), "task input",
                         NULL);
    }
    cJSON_Delete(ctx);
    if (rc != 0) {
        free(text);
        free(token);
        cJSON_Delete(eff);
        return R_ERR;
    }
    if (emit) {
        cJSON *d = event(r, "TaskScheduled");
        add_str(d, "resourceType", "sagad");
        add_str(d, "resource", s->handler);
        add_payload(r, d, "parameters", eff, text, NULL);
        if (timeout > 0)
            add_num(d, "timeoutInSeconds", timeout);
        if (heartbeat > 0)
            add_num(d, "heartbeatInSeconds", heartbeat);
        d = event(r, "TaskStarted");
        add_str(d, "resourceType", "sagad");
        add_str(d, "resource", s->handler);
    }
    st->kind = ASL_STEP_RUN_TASK;
    st->resource = s->resource;
    st->handler = s->handler;
    st->task_input = eff;
    st->timeout_ms = (int64_t)timeout * 1000;
    st->heartbeat_ms = (int64_t)heartbeat * 1000;
    st->attempt = r->retries;
    st->task_token = token;
    make_cursor(r, PH_TASK);
    return R_STOP;
}

/* Parallel and Map: build the children and stop with RUN_CHILDREN. */
static int run_children(run_t *r, int emit)
{
    const asl_state_t *s = cur(r);
    asl_step_t *st = r->step;
    int is_map = s->type == ASL_STATE_MAP;
    cJSON *ctx = s->uses_context || is_map ? build_context(r, NULL) : NULL;
    const cJSON *eff = NULL;    /* borrowed from r->input or ctx, or eff_owned */
    cJSON *eff_owned = NULL;
    cJSON *items_owned = NULL;
    const cJSON *items = NULL;
    double maxc = 0, tcount = -1, tpct = -1;
    r->tolerated = -1;
    if (effective_view(r, ctx, is_map ? NULL : s->parameters, &eff, &eff_owned) != 0)
        goto err;
    if (is_map) {
        if (s->items_path) {
            if (asl_path_eval(s->items_path, eff, ctx, &items_owned, &r->err) != 0)
                goto err;
            items = items_owned;
        } else {
            items = eff;
        }
        if (!cJSON_IsArray(items)) {
            asl_error_set(&r->err, ASL_E_RUNTIME,
                          "Map state '%s': the items (ItemsPath '%s') must be an array, not %s",
                          s->name, s->items_path ? asl_path_text(s->items_path) : "$",
                          cJSON_IsObject(items) ? "an object" : "a scalar");
            goto err;
        }
        if (s->max_concurrency.set &&
            num_field(r, &s->max_concurrency, eff, ctx, "MaxConcurrencyPath", 0, 1, &maxc) != 0)
            goto err;
        if (s->tolerated_count.set &&
            num_field(r, &s->tolerated_count, eff, ctx, "ToleratedFailureCountPath", 0, 1, &tcount) != 0)
            goto err;
        if (s->tolerated_pct.set &&
            num_field(r, &s->tolerated_pct, eff, ctx, "ToleratedFailurePercentagePath", 0, 0, &tpct) != 0)
            goto err;
        if (tpct > 100)
            tpct = 100;
    }
    size_t n = is_map ? (size_t)cJSON_GetArraySize(items) : s->n_branches;
    if (is_map && (tcount >= 0 || tpct >= 0)) {
        double t = 1e18;
        if (tcount >= 0)
            t = tcount;
        if (tpct >= 0 && floor(tpct * (double)n / 100.0) < t)
            t = floor(tpct * (double)n / 100.0);
        r->tolerated = t > (double)n ? (long)n : (long)t;
    }
    st->children = n ? calloc(n, sizeof *st->children) : NULL;
    if (n && !st->children) {
        asl_error_set(&r->err, ASL_E_RUNTIME, "out of memory");
        goto err;
    }
    const cJSON *item = is_map ? items->child : NULL;
    cJSON *mi = NULL;
    if (is_map && s->item_selector) {
        cJSON *mp = cJSON_AddObjectToObject(ctx, "Map");
        mi = cJSON_AddObjectToObject(mp, "Item");
    }
    for (size_t i = 0; i < n; i++) {
        asl_child_t *c = &st->children[i];
        c->kind = is_map ? ASL_CHILD_ITERATION : ASL_CHILD_BRANCH;
        c->machine = s->branches[is_map ? 0 : i];
        c->parent_state = s->name;
        c->index = i;
        if (is_map && s->item_selector) {
            cJSON_DeleteItemFromObjectCaseSensitive(mi, "Index");
            cJSON_DeleteItemFromObjectCaseSensitive(mi, "Value");
            cJSON_AddNumberToObject(mi, "Index", (double)i);
            add_ref(mi, "Value", item);
            asl_eval_env_t ee = eval_env(r, ctx);
            if (asl_template_eval(s->item_selector, eff, &ee, &c->input, &r->err) != 0) {
                st->n_children = i + 1;
                goto err;
            }
        } else {
            c->input = cJSON_Duplicate(is_map ? item : eff, 1);
        }
        st->n_children = i + 1;
        if (item)
            item = item->next;
    }
    cJSON_Delete(ctx);
    ctx = NULL;
    cJSON_Delete(items_owned);
    items_owned = NULL;
    cJSON_Delete(eff_owned);
    eff_owned = NULL;
    if (emit) {
        if (is_map) {
            cJSON *d = event(r, "MapStateStarted");
            add_num(d, "length", (double)n);
        } else {
            event(r, "ParallelStateStarted");
        }
    }
    st->kind = ASL_STEP_RUN_CHILDREN;
    st->max_concurrency = (uint32_t)maxc;
    st->tolerated_failures = r->tolerated >= 0 ? (size_t)r->tolerated : 0;
    make_cursor(r, PH_CHILDREN);
    return R_STOP;
err:
    for (size_t i = 0; i < st->n_children; i++)
        cJSON_Delete(st->children[i].input);
    free(st->children);
    st->children = NULL;
    st->n_children = 0;
    cJSON_Delete(ctx);
    cJSON_Delete(items_owned);
    cJSON_Delete(eff_owned);
    return R_ERR;
}

/* A string for Fail's Error/Cause from a literal, a path or an intrinsic. */
static int fail_field(run_t *r, const char *lit, const asl_path_t *p, const asl_intrinsic_t *fn,
                      const cJSON *ctx, const char *field, char **out)
{
    *out = NULL;
    if (lit) {
        *out = strdup(lit);
        return 0;
    }
    cJSON *v = NULL;
    if (p) {
        if (asl_path_eval(p, r->input, ctx, &v, &r->err) != 0)
            return -1;
    } else if (fn) {
        asl_eval_env_t ee = eval_env(r, ctx);
        if (asl_intrinsic_eval(fn, r->input, &ee, &v, &r->err) != 0)
            return -1;
    } else {
        return 0;
    }
    if (!cJSON_IsString(v)) {
        cJSON_Delete(v);
        return asl_error_set(&r->err, ASL_E_RUNTIME, "The %s of Fail state '%s' must be a string",
                             field, cur(r)->name);
    }
    *out = strdup(v->valuestring);
    cJSON_Delete(v);
    return 0;
}

/* Runs the current (just entered) state as far as it goes. */
static int run_state(run_t *r)
{
    const asl_state_t *s = cur(r);
    cJSON *ctx = NULL, *eff = NULL, *out = NULL;
    switch (s->type) {
    case ASL_STATE_TASK:
        return run_task(r, 1);
    case ASL_STATE_PARALLEL:
    case ASL_STATE_MAP:
        return run_children(r, 1);
    case ASL_STATE_PASS: {
        ctx = s->uses_context ? build_context(r, NULL) : NULL;
        cJSON *result = NULL;
        size_t res_sz = SIZE_UNKNOWN, in_sz = r->in_size;
        if (s->result) {
            result = cJSON_Duplicate(s->result, 1);
        } else {
            const cJSON *view;
            cJSON *owned;
            if (input_view(r, ctx, &view, &owned) != 0)
                break;
            if (s->parameters) {
                asl_eval_env_t ee = eval_env(r, ctx);
                int prc = asl_template_eval(s->parameters, view, &ee, &result, &r->err);
                cJSON_Delete(owned);
                if (prc != 0)
                    break;
            } else if (owned) {
                result = owned;
            } else if (view == r->input && result_replaces(s)) {
                result = r->input;
                r->input = NULL;
                res_sz = in_sz;
            } else {
                result = cJSON_Duplicate(view, 1);
                res_sz = in_bound(r);
            }
        }
        cJSON *in = r->input;
        r->input = NULL;
        size_t bound = out_bound(r, s->result_path, s->result_path_null, in ? in_sz : 4, result,
                                 res_sz, 1);
        if (result_path(s->result_path, s->result_path_null, in, result, &out, &r->err) != 0)
            break;
        if (output_path(r, out, ctx, &out) != 0) {
            out = NULL;
            break;
        }
        size_t len = 0, size = 0;
        char *text = payload_text(r, out, &len);
        if (check_limit(r, out, len, bound, "state output", &size) != 0) {
            free(text);
            break;
        }
        state_event(r, "StateExited", "output", out, text, 0);
        cJSON_Delete(ctx);
        return transition(r, out, size);
    }
    case ASL_STATE_CHOICE: {
        ctx = s->uses_context ? build_context(r, NULL) : NULL;
        const cJSON *view;
        cJSON *owned;
        if (input_view(r, ctx, &view, &owned) != 0)
            break;
        eff = owned;
        asl_eval_env_t ee = eval_env(r, ctx);
        long next = -1;
        for (size_t k = 0; k < s->n_choices && next < 0; k++) {
            int m = asl_choice_eval(s->choices[k], view, &ee, &r->err);
            if (m < 0)
                goto done;
            if (m)
                next = (long)s->choice_next[k];
        }
        if (next < 0 && s->default_next)
            next = (long)s->default_index;
        if (next < 0) {
            asl_error_set(&r->err, ASL_E_NO_CHOICE_MATCHED,
                          "No choice rule of state '%s' matched and there is no Default", s->name);
            break;
        }
        eff = NULL;
        int pass;
        size_t bound = view_bound(r);
        if (view_output(r, view, owned, ctx, &out, &pass) != 0)
            break;
        state_event(r, "StateExited", "output", out, NULL, pass);
        cJSON_Delete(ctx);
        cJSON_Delete(r->input);
        r->input = out;
        r->in_size = bound;
        r->state = (size_t)next;
        return R_NEXT;
    }
    case ASL_STATE_WAIT: {
        ctx = s->uses_context ? build_context(r, NULL) : NULL;
        const cJSON *view;
        if (input_view(r, ctx, &view, &eff) != 0)
            break;
        int64_t wake = now_ms(r);
        if (s->seconds.set) {
            double secs = 0;
            if (num_field(r, &s->seconds, view, ctx, "SecondsPath", 0, 1, &secs) != 0)
                break;
            wake += (int64_t)secs * 1000;
        } else if (s->has_timestamp) {
            wake = s->timestamp_ms;
        } else if (s->timestamp_path) {
            const cJSON *v = NULL;
            asl_timestamp_t t;
            int got = asl_path_get(s->timestamp_path, view, ctx, &v);
            if (got != 1 || !cJSON_IsString(v) || !asl_timestamp_parse(v->valuestring, &t)) {
                asl_error_set(&r->err, ASL_E_RUNTIME,
                              "The TimestampPath '%s' of Wait state '%s' must select an RFC 3339 timestamp",
                              asl_path_text(s->timestamp_path), s->name);
                break;
            }
            wake = asl_timestamp_to_ms(&t);
        }
        cJSON_Delete(ctx);
        ctx = NULL;
        cJSON_Delete(eff);
        eff = NULL;
        if (wake > now_ms(r)) {
            r->wake_ms = wake;
            r->step->kind = ASL_STEP_WAIT;
            r->step->wake_at_ms = wake;
            make_cursor(r, PH_WAIT);
            return R_STOP;
        }
        return R_WAITED; /* nothing to wait for: finish at once */
    }
    case ASL_STATE_SUCCEED: {
        ctx = s->uses_context ? build_context(r, NULL) : NULL;
        const cJSON *view;
        cJSON *owned;
        if (input_view(r, ctx, &view, &owned) != 0)
            break;
        int pass;
        size_t bound = view_bound(r);
        if (view_output(r, view, owned, ctx, &out, &pass) != 0)
            break;
        state_event(r, "StateExited", "output", out, NULL, pass);
        cJSON_Delete(ctx);
        return transition(r, out, bound);
    }
    case ASL_STATE_FAIL: {
        ctx = s->uses_context ? build_context(r, NULL) : NULL;
        char *e = NULL, *c = NULL;
        if (fail_field(r, s->error, s->error_path, s->error_fn, ctx, "ErrorPath", &e) != 0 ||
            fail_field(r, s->cause, s->cause_path, s->cause_fn, ctx, "CausePath", &c) != 0) {
            free(e);
            free(c);
            break;
        }
        asl_error_clear(&r->err);
        r->err.error = e;
        r->err.cause = c;
        cJSON_Delete(ctx);
        return fail(r);
    }
    }
done:
    cJSON_Delete(ctx);
    cJSON_Delete(eff);
    cJSON_Delete(out);
    return R_ERR;
}

/* Wait finished (now or after the timer): output and go on. */
static int finish_wait(run_t *r)
{
    const asl_state_t *s = cur(r);
    cJSON *ctx = s->uses_context ? build_context(r, NULL) : NULL;
    const cJSON *view;
    cJSON *owned, *out = NULL;
    int pass = 0;
    size_t bound = view_bound(r);
    int rc = input_view(r, ctx, &view, &owned);
    if (rc == 0)
        rc = view_output(r, view, owned, ctx, &out, &pass);
    cJSON_Delete(ctx);
    if (rc != 0)
        return R_ERR;
    state_event(r, "StateExited", "output", out, NULL, pass);
    return transition(r, out, bound);
}

/* Enters r->state with r->input and runs until a stop. */
static int drive(run_t *r, int entering)
{
    for (;;) {
        int rc;
        if (entering) {
            if (r->transitions >= STEP_BUDGET) {
                r->step->kind = ASL_STEP_CONTINUE;
                make_cursor(r, PH_ENTER);
                return 0;
            }
            r->transitions++;
            r->seq++;
            r->entered_ms = now_ms(r);
            r->retries = 0;
            memset(r->attempts, 0, sizeof r->attempts);
            state_event(r, "StateEntered", "input", r->input, NULL, 0);
            rc = run_state(r);
            if (rc == R_WAITED)
                rc = finish_wait(r);
        } else {
            rc = R_NEXT;
        }
        entering = 1;
        if (rc == R_ERR)
            rc = handle_error(r);
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
        cJSON *d = event(r, "MapIterationStarted");
        add_num(d, "index", (double)r->index);
        add_str(d, "name", r->parent);
    } else if (!r->child_kind) {
        cJSON *d = event(r, "ExecutionStarted");
        text = payload_text(r, d ? input : NULL, &len);
        const char *stored = add_payload(r, d, "input", input, text, NULL);
        if (stored) {
            /* r->input is a copy of input: its StateEntered is this text */
            r->exit_value = r->input;
            r->exit_text = stored;
            r->exit_event = r->n_events;
        }
    }
    if (check_limit(r, r->input, len, SIZE_UNKNOWN, "execution input", &r->in_size) != 0) {
        fail(r);
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

/* Task finished successfully with `result` (consumed). */

/* ResultSelector, if the state has one: *result is replaced by the selection
 * (the old value freed either way). Returns 0 or -1 with r->err set. */
static int result_selector(run_t *r, cJSON **result, const cJSON *ctx)
{
    const asl_state_t *s = cur(r);
    if (!s->result_selector)
        return 0;
    asl_eval_env_t ee = eval_env(r, ctx);
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
    if (result_replaces(s))
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
    size_t bound = out_bound(r, s->result_path, s->result_path_null, in ? r->in_size : 4, result,
                             res_sz, 1);
    /* The result's text (printed for TaskSucceeded) stands for it inside the
     * output, if ResultPath keeps it and OutputPath keeps everything. */
    const cJSON *known = result_text && !s->result_path_null && !s->output_path_null &&
                         (!s->output_path || (asl_path_is_root(s->output_path) &&
                                              !asl_path_is_context(s->output_path)))
                             ? result : NULL;
    int rc = result_path(s->result_path, s->result_path_null, in, result, &out, &r->err);
    char *text = NULL;
    size_t len = SIZE_UNKNOWN;
    if (rc == 0)
        rc = output_path(r, out, ctx, &out);
    if (rc == 0) {
        if (known && !r->lean && r->env && r->env->raw_payloads)
            text = asl_json_print_known(out, known, result_text, result_len, &len);
        if (!text)
            text = payload_text(r, out, &len);
        if (check_limit(r, out, len, bound, "state output", &bound) != 0) {
            free(text);
            cJSON_Delete(out);
            rc = -1;
        }
    }
    cJSON_Delete(ctx);
    if (rc != 0)
        return R_ERR;
    state_event(r, "StateExited", "output", out, text, 0);
    return transition(r, out, bound);
}

/* `result_size`: the result's printed size if the runtime knows it, else 0. */
static int task_succeeded(run_t *r, cJSON *result, size_t result_size)
{
    const asl_state_t *s = cur(r);
    if (!result)
        result = cJSON_CreateNull();
    cJSON *d = event(r, "TaskSucceeded");
    add_str(d, "resourceType", "sagad");
    add_str(d, "resource", s->handler);
    size_t len, size;
    char *text = payload_text(r, d ? result : NULL, &len);
    const char *stored = add_payload(r, d, "output", result, text, NULL);
    if (check_limit(r, result, len, result_size ? result_size : SIZE_UNKNOWN, "task result",
                    &size) != 0) {
        cJSON_Delete(result);
        return R_ERR;
    }
    cJSON *ctx = s->uses_context ? build_context(r, NULL) : NULL;
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
static int children_done(run_t *r, cJSON *children)
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
        cJSON *d = event(r, is_map ? "MapStateFailed" : "ParallelStateFailed");
        add_str(d, "error", r->err.error);
        add_str(d, "cause", r->err.cause);
        return R_ERR;
    }
    cJSON_Delete(children);
    event(r, is_map ? "MapStateSucceeded" : "ParallelStateSucceeded");
    size_t size;
    if (check_limit(r, results, SIZE_UNKNOWN, SIZE_UNKNOWN, "state result", &size) != 0) {
        cJSON_Delete(results);
        return R_ERR;
    }
    cJSON *ctx = s->uses_context ? build_context(r, NULL) : NULL;
    if (s->result_selector)
        size = SIZE_UNKNOWN;
    if (result_selector(r, &results, ctx) != 0) {
        cJSON_Delete(ctx);
        return R_ERR;
    }
    return apply_result(r, result_input(r), results, size, ctx, NULL, 0);
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
    int phase = load_cursor(&r, cursor, err);
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
                          (int)oc->kind, PHASES[phase]);
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
            rc = task_succeeded(&r, result, oc->result_size);
        } else {
            const char *e = oc->error ? oc->error : ASL_E_TASK_FAILED;
            /* A missed heartbeat is a time-out too (AWS: TaskTimedOut). */
            int timed_out = strcmp(e, ASL_E_TIMEOUT) == 0 || strcmp(e, ASL_E_HEARTBEAT_TIMEOUT) == 0;
            cJSON *d = event(&r, timed_out ? "TaskTimedOut" : "TaskFailed");
            add_str(d, "resourceType", "sagad");
            add_str(d, "resource", cur(&r)->handler);
            add_str(d, "error", e);
            add_str(d, "cause", oc->cause ? oc->cause : "");
            cJSON_Delete(result);
            asl_error_clear(&r.err);
            r.err.error = strdup(e);
            r.err.cause = strdup(oc->cause ? oc->cause : "");
            rc = R_ERR;
        }
        break;
    case PH_WAIT:
        rc = finish_wait(&r);
        break;
    case PH_RETRY:
        rc = cur(&r)->type == ASL_STATE_TASK ? run_task(&r, 1) : run_children(&r, 1);
        break;
    case PH_CHILDREN:
        rc = children_done(&r, children);
        break;
    }
    if (rc == R_ERR)
        rc = handle_error(&r);
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
    int phase = copy ? load_cursor(&r, copy, err) : -1;
    if (phase < 0 || init_step(step) != 0) {
        run_free(&r);
        memset(step, 0, sizeof *step);
        return -1;
    }
    int rc = R_STOP;
    switch ((phase_t)phase) {
    case PH_ENTER:
        step->kind = ASL_STEP_CONTINUE;
        make_cursor(&r, PH_ENTER);
        break;
    case PH_TASK:
        rc = run_task(&r, 0);
        break;
    case PH_WAIT:
    case PH_RETRY:
        step->kind = phase == PH_WAIT ? ASL_STEP_WAIT : ASL_STEP_RETRY;
        step->wake_at_ms = r.wake_ms;
        make_cursor(&r, (phase_t)phase);
        break;
    case PH_CHILDREN:
        rc = run_children(&r, 0);
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
