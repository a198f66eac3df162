/* ASL definition parser and validator: turns a definition into an immutable
 * asl_machine_t with every path, template and choice rule compiled, or lists
 * every problem found (state + field + message) in one pass. */
#include "asl/machine.h"
#include "asl/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing on names; a slot with name NULL is empty. */
typedef struct name_slot_s {
    const char *name;          /* borrowed */
    size_t value;
} name_slot_t;

typedef struct name_table_s {
    name_slot_t *slots;
    size_t cap;                /* a power of two, at least twice the names */
} name_table_t;

struct asl_machine_s {
    cJSON *owned_def;          /* top level only: our copy of the definition */
    const cJSON *def;
    const char *comment;
    uint32_t timeout_s;
    asl_state_t *states;
    size_t n_states;
    size_t start;
    name_table_t names;        /* state name -> index */
};

typedef struct ctx_s {
    asl_problems_t *probs;     /* may be NULL */
    size_t count;              /* problems found */
} ctx_t;

/* The names of JSON types for messages. */
static const char *json_type(const cJSON *v)
{
    if (!v)
        return "nothing";
    switch (v->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    default: return "invalid";
    }
}

static void prob(ctx_t *c, const char *state, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void prob(ctx_t *c, const char *state, const char *field, const char *fmt, ...)
{
    c->count++;
    if (!c->probs)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    asl_problems_add(c->probs, state, field, "%s", msg);
}

const char *asl_state_type_name(asl_state_type_t t)
{
    static const char *names[] = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static int type_from_name(const char *s, asl_state_type_t *t)
{
    for (int i = 0; i <= (int)ASL_STATE_MAP; i++) {
        if (strcmp(s, asl_state_type_name((asl_state_type_t)i)) == 0) {
            *t = (asl_state_type_t)i;
            return 0;
        }
    }
    return -1;
}

/* ---- name tables -------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Room for n names at most half full. Returns -1 on out-of-memory. */
static int name_table_init(name_table_t *t, size_t n)
{
    t->cap = 8;
    while (t->cap < n * 2)
        t->cap *= 2;
    t->slots = calloc(t->cap, sizeof *t->slots);
    return t->slots ? 0 : -1;
}

static void name_table_free(name_table_t *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = 0;
}

/* The slot holding `name`, or the empty slot where it would go. */
static name_slot_t *name_slot(const name_table_t *t, const char *name)
{
    size_t mask = t->cap - 1;
    for (size_t h = name_hash(name) & mask;; h = (h + 1) & mask) {
        name_slot_t *e = &t->slots[h];
        if (!e->name || strcmp(e->name, name) == 0)
            return e;
    }
}

/* Adds name (borrowed) -> value; returns -1 if the name is already there.
 * At most the n names of name_table_init. */
static int name_table_put(name_table_t *t, const char *name, size_t value)
{
    name_slot_t *e = name_slot(t, name);
    if (e->name)
        return -1;
    e->name = name;
    e->value = value;
    return 0;
}

/* The value of name, or -1. */
static long name_table_get(const name_table_t *t, const char *name)
{
    if (!t->cap || !name)
        return -1;
    const name_slot_t *e = name_slot(t, name);
    return e->name ? (long)e->value : -1;
}

static long lookup(const asl_machine_t *m, const char *name)
{
    return name_table_get(&m->names, name);
}

/* ---- field helpers ------------------------------------------------------ */

/* Field name "prefix.name" or "name". */
static void fname(char *buf, size_t n, const char *prefix, const char *name)
{
    if (prefix && *prefix)
        snprintf(buf, n, "%s.%s", prefix, name);
    else
        snprintf(buf, n, "%s", name);
}

static int contains_context(const cJSON *v)
{
    if (!v)
        return 0;
    if (cJSON_IsString(v))
        return strstr(v->valuestring, "$$") != NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (c->string && strstr(c->string, "$$"))
            return 1;
        if (contains_context(c))
            return 1;
    }
    return 0;
}

/* A non-negative integral number not above `max`. */
static int get_uint(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                    double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
        prob(c, st, field, "must be an integer, not %s", cJSON_IsNumber(v) ? "a fraction" : json_type(v));
        return -1;
    }
    if (v->valuedouble < min || v->valuedouble > max) {
        prob(c, st, field, "must be between %.0f and %.0f, got %.17g", min, max, v->valuedouble);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

static const char *get_string(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                              const char *shown)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v)) {
        prob(c, st, shown ? shown : field, "must be a string, not %s", json_type(v));
        return NULL;
    }
    return v->valuestring;
}

/* Compiles a path field. Returns 0 when absent, 1 when set (*out, or *is_null
 * for JSON null when allow_null), -1 on a problem. */
static int get_path(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                    const char *shown, unsigned flags, int allow_null, asl_path_t **out,
                    int *is_null)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (is_null)
        *is_null = 0;
    if (!v)
        return 0;
    if (cJSON_IsNull(v) && allow_null) {
        *is_null = 1;
        return 1;
    }
    if (!cJSON_IsString(v)) {
        prob(c, st, shown ? shown : field, "must be a %s string%s, not %s",
             (flags & ASL_PATH_REFERENCE) ? "reference path" : "path",
             allow_null ? " or null" : "", json_type(v));
        return -1;
    }
    char msg[ASL_PATH_MSG_MAX] = "";
    if (asl_path_compile(v->valuestring, flags, out, msg, sizeof msg) != 0) {
        prob(c, st, shown ? shown : field, "%s", msg[0] ? msg : "invalid path");
        *out = NULL;
        return -1;
    }
    return 1;
}

/* A number given literally (`lit`) or by path (`path_field`), not both. */
static void get_num_field(ctx_t *c, const char *st, const cJSON *obj, const char *lit,
                          const char *path_field, double min, double max, int integer,
                          asl_num_field_t *f)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, lit);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, path_field);
    if (v && p) {
        prob(c, st, lit, "%s and %s cannot both be set", lit, path_field);
        return;
    }
    if (v) {
        if (integer) {
            double d;
            if (get_uint(c, st, obj, lit, min, max, &d) == 1) {
                f->set = 1;
                f->value = d;
            }
        } else if (!cJSON_IsNumber(v)) {
            prob(c, st, lit, "must be a number, not %s", json_type(v));
        } else if (v->valuedouble < min || v->valuedouble > max) {
            prob(c, st, lit, "must be between %.0f and %.0f, got %.17g", min, max, v->valuedouble);
        } else {
            f->set = 1;
            f->value = v->valuedouble;
        }
    } else if (p) {
        if (get_path(c, st, obj, path_field, NULL, ASL_PATH_REFERENCE, 0, &f->path, NULL) == 1)
            f->set = 1;
    }
}

static void free_num_field(asl_num_field_t *f)
{
    asl_path_free(f->path);
}

/* Rejects fields not in `allowed` (NULL-terminated). */
static void check_fields(ctx_t *c, const char *st, const char *prefix, const cJSON *obj,
                         const char *const *allowed, const char *what)
{
    for (const cJSON *f = obj->child; f; f = f->next) {
        /* Next and End get their own messages (compile_transition). */
        int ok = !prefix && allowed != NULL && (strcmp(f->string, "Next") == 0 ||
                                                strcmp(f->string, "End") == 0) &&
                 strcmp(what, "a state machine") != 0 && strcmp(what, "a branch") != 0;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(f->string, *a) == 0) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            char fb[256];
            fname(fb, sizeof fb, prefix, f->string);
            prob(c, st, fb, "unknown field for %s", what);
        }
    }
}

/* ---- Retry / Catch ------------------------------------------------------ */

static int known_error(const char *name)
{
    static const char *const names[] = {ASL_E_ALL, ASL_E_HEARTBEAT_TIMEOUT, ASL_E_TIMEOUT,
        ASL_E_TASK_FAILED, ASL_E_PERMISSIONS, ASL_E_RESULT_PATH, ASL_E_PARAMETER_PATH,
        ASL_E_BRANCH_FAILED, ASL_E_NO_CHOICE_MATCHED, ASL_E_INTRINSIC_FAILURE,
        ASL_E_EXCEED_TOLERATED, ASL_E_ITEM_READER_FAILED, ASL_E_RESULT_WRITER, ASL_E_RUNTIME,
        ASL_E_DATA_LIMIT, "States.QueryEvaluationError", "States.Http.Socket", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

/* ErrorEquals: a non-empty array of strings; States.ALL alone and last. */
static void compile_error_equals(ctx_t *c, const char *st, const char *prefix,
                                 const cJSON *obj, int is_last, const char ***errs, size_t *n)
{
    char fb[256];
    fname(fb, sizeof fb, prefix, "ErrorEquals");
    const cJSON *ee = cJSON_GetObjectItemCaseSensitive(obj, "ErrorEquals");
    if (!ee) {
        prob(c, st, fb, "is required");
        return;
    }
    if (!cJSON_IsArray(ee) || !ee->child) {
        prob(c, st, fb, "must be a non-empty array of error names");
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
            prob(c, st, fb, "element %zu must be a string, not %s", k, json_type(e));
            list[k++] = "";
            continue;
        }
        if (strcmp(e->valuestring, ASL_E_ALL) == 0)
            has_all = 1;
        else if (strncmp(e->valuestring, "States.", 7) == 0 && !known_error(e->valuestring))
            prob(c, st, fb, "\"%s\" is not a predefined error name (names starting with "
                 "\"States.\" are reserved)", e->valuestring);
        list[k++] = e->valuestring;
    }
    if (has_all && count > 1)
        prob(c, st, fb, "States.ALL must appear alone in ErrorEquals");
    if (has_all && !is_last)
        prob(c, st, fb, "a retrier or catcher with States.ALL must be the last one");
    *errs = list;
    *n = count;
}

static void compile_retry(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(s->def, "Retry");
    if (!r)
        return;
    if (!cJSON_IsArray(r)) {
        prob(c, st, "Retry", "must be an array of retriers, not %s", json_type(r));
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(r);
    if (!n)
        return;
    if (n > ASL_RETRIERS_MAX) {
        prob(c, st, "Retry", "a state may have at most %d retriers, not %zu", ASL_RETRIERS_MAX, n);
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
            prob(c, st, pre, "must be an object, not %s", json_type(e));
            continue;
        }
        check_fields(c, st, pre, e, allowed, "a retrier");
        compile_error_equals(c, st, pre, e, e->next == NULL, &rt->errors, &rt->n_errors);
        fname(fb, sizeof fb, pre, "IntervalSeconds");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "IntervalSeconds");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 99999999)
                prob(c, st, fb, "must be a positive integer");
            else
                rt->interval_s = v->valuedouble;
        }
        fname(fb, sizeof fb, pre, "MaxAttempts");
        v = cJSON_GetObjectItemCaseSensitive(e, "MaxAttempts");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
                prob(c, st, fb, "must be an integer, not %s", json_type(v));
            else if (v->valuedouble < 0)
                prob(c, st, fb, "must not be negative");
            else if (v->valuedouble > 99999999)
                prob(c, st, fb, "must be at most 99999999");
            else
                rt->max_attempts = (uint32_t)v->valuedouble;
        }
        fname(fb, sizeof fb, pre, "BackoffRate");
        v = cJSON_GetObjectItemCaseSensitive(e, "BackoffRate");
        if (v) {
            if (!cJSON_IsNumber(v))
                prob(c, st, fb, "must be a number, not %s", json_type(v));
            else if (!(v->valuedouble >= 1.0) || v->valuedouble > 1e6)
                prob(c, st, fb, "must be at least 1.0");
            else
                rt->backoff_rate = v->valuedouble;
        }
        fname(fb, sizeof fb, pre, "MaxDelaySeconds");
        v = cJSON_GetObjectItemCaseSensitive(e, "MaxDelaySeconds");
        if (v) {
            if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
                v->valuedouble < 1 || v->valuedouble > 31622400)
                prob(c, st, fb, "must be a positive integer of at most 31622400");
            else
                rt->max_delay_s = v->valuedouble;
        }
        fname(fb, sizeof fb, pre, "JitterStrategy");
        v = cJSON_GetObjectItemCaseSensitive(e, "JitterStrategy");
        if (v) {
            if (!cJSON_IsString(v) || (strcmp(v->valuestring, "FULL") != 0 &&
                                       strcmp(v->valuestring, "NONE") != 0))
                prob(c, st, fb, "must be \"FULL\" or \"NONE\"");
            else
                rt->jitter_full = strcmp(v->valuestring, "FULL") == 0;
        }
    }
}

static void compile_catch(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(s->def, "Catch");
    if (!r)
        return;
    if (!cJSON_IsArray(r)) {
        prob(c, st, "Catch", "must be an array of catchers, not %s", json_type(r));
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
            prob(c, st, pre, "must be an object, not %s", json_type(e));
            continue;
        }
        check_fields(c, st, pre, e, allowed, "a catcher");
        compile_error_equals(c, st, pre, e, e->next == NULL, &ct->errors, &ct->n_errors);
        fname(fb, sizeof fb, pre, "Next");
        const cJSON *nx = cJSON_GetObjectItemCaseSensitive(e, "Next");
        if (!nx)
            prob(c, st, fb, "is required");
        else if (!cJSON_IsString(nx))
            prob(c, st, fb, "must be a string, not %s", json_type(nx));
        else
            ct->next = nx->valuestring;
        fname(fb, sizeof fb, pre, "ResultPath");
        get_path(c, st, e, "ResultPath", fb, ASL_PATH_REFERENCE | ASL_PATH_NO_CONTEXT, 1,
                 &ct->result_path, &ct->result_path_null);
    }
}

/* ---- states ------------------------------------------------------------- */

static asl_machine_t *compile_machine(ctx_t *c, const cJSON *def, const char *prefix,
                                      const char *owner, const char *owner_field, int top);

static void compile_template(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                             asl_template_t **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return;
    /* ASL spec: a payload template is a JSON object. */
    if (!cJSON_IsObject(v)) {
        prob(c, st, field, "must be a JSON object (payload template), not %s", json_type(v));
        return;
    }
    asl_problems_t local;
    asl_problems_init(&local);
    if (asl_template_compile(v, st, field, &local, out) != 0 || local.count) {
        for (size_t i = 0; i < local.count; i++)
            prob(c, local.items[i].state, local.items[i].field, "%s", local.items[i].message);
        if (!local.count)
            prob(c, st, field, "invalid payload template");
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
            prob(c, st, field, "%s", msg[0] ? msg : "invalid intrinsic function");
        }
        return;
    }
    get_path(c, st, obj, field, NULL, ASL_PATH_REFERENCE, 0, path, NULL);
}

static void compile_branches(ctx_t *c, const char *st, asl_state_t *s)
{
    if (s->type == ASL_STATE_PARALLEL) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(s->def, "Branches");
        if (!b) {
            prob(c, st, "Branches", "is required");
            return;
        }
        if (!cJSON_IsArray(b) || !b->child) {
            prob(c, st, "Branches", "must be a non-empty array of state machines");
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
            s->branches[i] = compile_machine(c, e, st, st, fb, 0);
        }
        return;
    }
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(s->def, "ItemProcessor");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(s->def, "Iterator");
    if (ip && it) {
        prob(c, st, "ItemProcessor", "ItemProcessor and Iterator cannot both be set");
        return;
    }
    if (!ip && !it) {
        prob(c, st, "ItemProcessor", "is required (or the older Iterator)");
        return;
    }
    s->branches = calloc(1, sizeof *s->branches);
    if (!s->branches)
        return;
    s->n_branches = 1;
    s->branches[0] = compile_machine(c, ip ? ip : it, st, st, ip ? "ItemProcessor" : "Iterator", 0);
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
static void compile_transition(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(s->def, "Next");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(s->def, "End");
    switch (s->type) {
    case ASL_STATE_CHOICE:
        if (next)
            prob(c, st, "Next", "a Choice state cannot have Next (use Choices and Default)");
        if (end)
            prob(c, st, "End", "a Choice state cannot have End");
        return;
    case ASL_STATE_SUCCEED:
    case ASL_STATE_FAIL:
        if (next)
            prob(c, st, "Next", "a %s state cannot have Next", asl_state_type_name(s->type));
        if (end)
            prob(c, st, "End", "a %s state cannot have End", asl_state_type_name(s->type));
        s->end = 1;
        return;
    default:
        break;
    }
    if (end && !cJSON_IsBool(end))
        prob(c, st, "End", "must be a boolean, not %s", json_type(end));
    if (next && !cJSON_IsString(next))
        prob(c, st, "Next", "must be a string, not %s", json_type(next));
    int is_end = cJSON_IsTrue(end);
    if (is_end && next) {
        prob(c, st, "Next", "Next and End cannot both be set");
        if (cJSON_IsString(next))
            s->next = next->valuestring;
        return;
    }
    if (is_end) {
        s->end = 1;
        return;
    }
    if (!next) {
        prob(c, st, "Next", "one of Next or \"End\": true is required");
        return;
    }
    if (cJSON_IsString(next))
        s->next = next->valuestring;
}

static void compile_state(ctx_t *c, const char *st, asl_state_t *s)
{
    const cJSON *d = s->def;
    check_fields(c, st, NULL, d, fields_for(s->type), asl_state_type_name(s->type));
    s->comment = get_string(c, st, d, "Comment", NULL);
    const cJSON *ql = cJSON_GetObjectItemCaseSensitive(d, "QueryLanguage");
    if (ql && !(cJSON_IsString(ql) && strcmp(ql->valuestring, "JSONPath") == 0))
        prob(c, st, "QueryLanguage", "only \"JSONPath\" is supported");
    s->uses_context = contains_context(d);
    compile_transition(c, st, s);

    if (has_field(s->type, "InputPath"))
        get_path(c, st, d, "InputPath", NULL, 0, 1, &s->input_path, &s->input_path_null);
    if (has_field(s->type, "OutputPath"))
        get_path(c, st, d, "OutputPath", NULL, 0, 1, &s->output_path, &s->output_path_null);
    if (has_field(s->type, "ResultPath"))
        get_path(c, st, d, "ResultPath", NULL, ASL_PATH_REFERENCE | ASL_PATH_NO_CONTEXT, 1,
                 &s->result_path, &s->result_path_null);
    if (has_field(s->type, "ResultSelector"))
        compile_template(c, st, d, "ResultSelector", &s->result_selector);
    if (has_field(s->type, "Retry"))
        compile_retry(c, st, s);
    if (has_field(s->type, "Catch"))
        compile_catch(c, st, s);

    switch (s->type) {
    case ASL_STATE_PASS:
        compile_template(c, st, d, "Parameters", &s->parameters);
        s->result = cJSON_GetObjectItemCaseSensitive(d, "Result");
        break;
    case ASL_STATE_TASK: {
        compile_template(c, st, d, "Parameters", &s->parameters);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(d, "Resource");
        if (!r)
            prob(c, st, "Resource", "is required");
        else if (!cJSON_IsString(r))
            prob(c, st, "Resource", "must be a string, not %s", json_type(r));
        else if (strncmp(r->valuestring, "sagad:", 6) != 0 || !r->valuestring[6])
            prob(c, st, "Resource", "must have the form sagad:NAME, got \"%s\"", r->valuestring);
        else {
            s->resource = r->valuestring;
            s->handler = r->valuestring + 6;
        }
        get_num_field(c, st, d, "TimeoutSeconds", "TimeoutSecondsPath", 1, 99999999, 1, &s->timeout);
        get_num_field(c, st, d, "HeartbeatSeconds", "HeartbeatSecondsPath", 1, 99999999, 1,
                      &s->heartbeat);
        if (s->timeout.set && !s->timeout.path && s->heartbeat.set && !s->heartbeat.path &&
            s->heartbeat.value >= s->timeout.value)
            prob(c, st, "HeartbeatSeconds", "must be smaller than TimeoutSeconds");
        break;
    }
    case ASL_STATE_CHOICE: {
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(d, "Choices");
        if (!ch) {
            prob(c, st, "Choices", "is required");
        } else if (!cJSON_IsArray(ch) || !ch->child) {
            prob(c, st, "Choices", "must be a non-empty array of choice rules");
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
                            prob(c, local.items[k].state, local.items[k].field, "%s",
                                 local.items[k].message);
                        if (!local.count)
                            prob(c, st, fb, "invalid choice rule");
                        asl_choice_free(s->choices[i]);
                        s->choices[i] = NULL;
                    }
                    asl_problems_free(&local);
                }
            }
        }
        s->default_next = get_string(c, st, d, "Default", NULL);
        break;
    }
    case ASL_STATE_WAIT: {
        int n = 0;
        const char *which[] = {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"};
        for (int i = 0; i < 4; i++)
            n += cJSON_GetObjectItemCaseSensitive(d, which[i]) != NULL;
        if (n == 0) {
            prob(c, st, "Seconds", "one of Seconds, SecondsPath, Timestamp or TimestampPath is required");
            break;
        }
        if (n > 1) {
            prob(c, st, "Seconds", "only one of Seconds, SecondsPath, Timestamp and TimestampPath may be set");
            break;
        }
        get_num_field(c, st, d, "Seconds", "SecondsPath", 0, 99999999, 1, &s->seconds);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(d, "Timestamp");
        if (ts) {
            asl_timestamp_t t;
            if (!cJSON_IsString(ts))
                prob(c, st, "Timestamp", "must be a string, not %s", json_type(ts));
            else if (!asl_timestamp_parse(ts->valuestring, &t))
                prob(c, st, "Timestamp", "\"%s\" is not an RFC 3339 timestamp", ts->valuestring);
            else {
                s->has_timestamp = 1;
                s->timestamp_ms = asl_timestamp_to_ms(&t);
            }
        }
        get_path(c, st, d, "TimestampPath", NULL, ASL_PATH_REFERENCE, 0, &s->timestamp_path, NULL);
        break;
    }
    case ASL_STATE_FAIL:
        if (cJSON_GetObjectItemCaseSensitive(d, "Error") &&
            cJSON_GetObjectItemCaseSensitive(d, "ErrorPath"))
            prob(c, st, "Error", "Error and ErrorPath cannot both be set");
        if (cJSON_GetObjectItemCaseSensitive(d, "Cause") &&
            cJSON_GetObjectItemCaseSensitive(d, "CausePath"))
            prob(c, st, "Cause", "Cause and CausePath cannot both be set");
        s->error = get_string(c, st, d, "Error", NULL);
        s->cause = get_string(c, st, d, "Cause", NULL);
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
            prob(c, st, "ItemSelector", "ItemSelector and Parameters cannot both be set");
        else if (cJSON_GetObjectItemCaseSensitive(d, "ItemSelector"))
            compile_template(c, st, d, "ItemSelector", &s->item_selector);
        else
            compile_template(c, st, d, "Parameters", &s->item_selector);
        get_path(c, st, d, "ItemsPath", NULL, ASL_PATH_REFERENCE, 0, &s->items_path, NULL);
        get_num_field(c, st, d, "MaxConcurrency", "MaxConcurrencyPath", 0, 99999999, 1,
                      &s->max_concurrency);
        get_num_field(c, st, d, "ToleratedFailureCount", "ToleratedFailureCountPath", 0,
                      99999999, 1, &s->tolerated_count);
        get_num_field(c, st, d, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
                      0, 100, 0, &s->tolerated_pct);
        compile_branches(c, st, s);
        break;
    case ASL_STATE_SUCCEED:
        break;
    }
}

static void free_state(asl_state_t *s)
{
    asl_path_free(s->input_path);
    asl_path_free(s->output_path);
    asl_path_free(s->result_path);
    asl_template_free(s->parameters);
    asl_template_free(s->result_selector);
    free_num_field(&s->timeout);
    free_num_field(&s->heartbeat);
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
    free_num_field(&s->seconds);
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
    free_num_field(&s->max_concurrency);
    free_num_field(&s->tolerated_count);
    free_num_field(&s->tolerated_pct);
}

void asl_machine_free(asl_machine_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_states; i++)
        free_state(&m->states[i]);
    free(m->states);
    name_table_free(&m->names);
    cJSON_Delete(m->owned_def);
    free(m);
}

/* Resolves a transition target; reports a missing one. */
static int resolve(ctx_t *c, const asl_machine_t *m, const char *st, const char *field,
                   const char *target, size_t *out)
{
    if (!target)
        return -1;
    long i = lookup(m, target);
    if (i < 0) {
        prob(c, st, field, "state \"%s\" does not exist", target);
        return -1;
    }
    *out = (size_t)i;
    return 0;
}

/* The first of the state's Choices as written: walked along with k, not
 * indexed, which would make a wide Choice quadratic. */
static const cJSON *first_choice(const asl_state_t *s)
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(s->def, "Choices");
    return cJSON_IsArray(ch) ? ch->child : NULL;
}

/* The Next of a choice rule as written (even when the rule did not compile). */
static const char *raw_choice_next(const cJSON *rule)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(rule, "Next");
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* Marks every state reachable from `from`. */
static void mark_reachable(const asl_machine_t *m, size_t start, unsigned char *seen)
{
    size_t *stack = malloc((m->n_states + 1) * sizeof *stack * 4 + 16);
    size_t cap = (m->n_states + 1) * 4 + 2, top = 0;
    if (!stack)
        return;
    stack[top++] = start;
    while (top) {
        size_t i = stack[--top];
        if (seen[i])
            continue;
        seen[i] = 1;
        const asl_state_t *s = &m->states[i];
#define PUSH(name, idx)                                                    \
        do {                                                               \
            if ((name) && lookup(m, (name)) >= 0 && !seen[(idx)]) {        \
                if (top == cap) {                                          \
                    size_t *ns = realloc(stack, cap * 2 * sizeof *ns);     \
                    if (!ns) { free(stack); return; }                      \
                    stack = ns; cap *= 2;                                  \
                }                                                          \
                stack[top++] = (idx);                                      \
            }                                                              \
        } while (0)
        PUSH(s->next, s->next_index);
        PUSH(s->default_next, s->default_index);
        const cJSON *rule = first_choice(s);
        for (size_t k = 0; k < s->n_choices && rule; k++, rule = rule->next) {
            long t = lookup(m, raw_choice_next(rule));
            if (t >= 0)
                PUSH(raw_choice_next(rule), (size_t)t);
        }
        for (size_t k = 0; k < s->n_catch; k++)
            PUSH(s->catch_[k].next, s->catch_[k].next_index);
#undef PUSH
    }
    free(stack);
}

/* Compiles a (sub-)machine. `prefix` is the display prefix of nested state
 * names (NULL at top); `owner`/`owner_field` locate machine-level problems of
 * a nested machine ("Par" / "Branches[0]"). Returns NULL on problems. */
static asl_machine_t *compile_machine(ctx_t *c, const cJSON *def, const char *prefix,
                                      const char *owner, const char *owner_field, int top)
{
    size_t before = c->count;
    char fb[256];
    if (!cJSON_IsObject(def)) {
        prob(c, owner, owner_field, "a state machine must be a JSON object, not %s", json_type(def));
        return NULL;
    }
    static const char *const top_fields[] = {"Comment", "StartAt", "States", "TimeoutSeconds",
                                             "Version", "QueryLanguage", NULL};
    static const char *const sub_fields[] = {"Comment", "StartAt", "States", "ProcessorConfig", NULL};
    check_fields(c, owner, owner_field, def, top ? top_fields : sub_fields,
                 top ? "a state machine" : "a branch");

    asl_machine_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->def = def;
    fname(fb, sizeof fb, owner_field, "Comment");
    m->comment = get_string(c, owner, def, "Comment", fb);
    if (top) {
        double d;
        if (get_uint(c, NULL, def, "TimeoutSeconds", 1, 99999999, &d) == 1)
            m->timeout_s = (uint32_t)d;
        get_string(c, NULL, def, "Version", NULL);
        const cJSON *ql = cJSON_GetObjectItemCaseSensitive(def, "QueryLanguage");
        if (ql && !(cJSON_IsString(ql) && strcmp(ql->valuestring, "JSONPath") == 0))
            prob(c, NULL, "QueryLanguage", "only \"JSONPath\" is supported");
    } else {
        const cJSON *pc = cJSON_GetObjectItemCaseSensitive(def, "ProcessorConfig");
        if (pc) {
            fname(fb, sizeof fb, owner_field, "ProcessorConfig");
            const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pc, "Mode");
            if (!cJSON_IsObject(pc))
                prob(c, owner, fb, "must be an object");
            else if (mode && !(cJSON_IsString(mode) && strcmp(mode->valuestring, "INLINE") == 0))
                prob(c, owner, fb, "only Mode \"INLINE\" is supported");
        }
    }

    const cJSON *states = cJSON_GetObjectItemCaseSensitive(def, "States");
    fname(fb, sizeof fb, owner_field, "States");
    if (!states) {
        prob(c, owner, fb, "is required");
    } else if (!cJSON_IsObject(states) || !states->child) {
        prob(c, owner, fb, "must be a non-empty object of states");
        states = NULL;
    }
    size_t n = states ? (size_t)cJSON_GetArraySize(states) : 0;
    if (n) {
        m->states = calloc(n, sizeof *m->states);
        if (!m->states || name_table_init(&m->names, n) != 0) {
            asl_machine_free(m);
            c->count++;
            return NULL;
        }
    }
    /* Pass 1: names and types. */
    size_t i = 0;
    for (const cJSON *e = states ? states->child : NULL; e; e = e->next, i++) {
        asl_state_t *s = &m->states[i];
        s->name = e->string;
        s->def = e;
        m->n_states = i + 1;
        char stn[512];
        snprintf(stn, sizeof stn, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", s->name);
        if (name_table_put(&m->names, s->name, i) != 0)
            prob(c, stn, NULL, "duplicate state name");
        if (strlen(s->name) == 0 || strlen(s->name) > 80)
            prob(c, stn, NULL, "a state name must have 1 to 80 characters");
    }
    fname(fb, sizeof fb, owner_field, "StartAt");
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(def, "StartAt");
    int start_ok = 0;
    if (!sa) {
        prob(c, owner, fb, "is required");
    } else if (!cJSON_IsString(sa)) {
        prob(c, owner, fb, "must be a string, not %s", json_type(sa));
    } else if (lookup(m, sa->valuestring) < 0) {
        prob(c, owner, fb, "state \"%s\" does not exist", sa->valuestring);
    } else {
        m->start = (size_t)lookup(m, sa->valuestring);
        start_ok = 1;
    }
    /* Pass 2: each state. */
    for (i = 0; i < m->n_states; i++) {
        asl_state_t *s = &m->states[i];
        char stn[512];
        snprintf(stn, sizeof stn, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", s->name);
        if (!cJSON_IsObject(s->def)) {
            prob(c, stn, NULL, "a state must be a JSON object, not %s", json_type(s->def));
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(s->def, "Type");
        if (!t) {
            prob(c, stn, "Type", "is required");
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        if (!cJSON_IsString(t) || type_from_name(t->valuestring, &s->type) != 0) {
            prob(c, stn, "Type", "unknown state type %s%s%s (expected Task, Pass, Choice, Wait, "
                 "Succeed, Fail, Parallel or Map)", cJSON_IsString(t) ? "\"" : "",
                 cJSON_IsString(t) ? t->valuestring : json_type(t), cJSON_IsString(t) ? "\"" : "");
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        compile_state(c, stn, s);
        resolve(c, m, stn, "Next", s->next, &s->next_index);
        resolve(c, m, stn, "Default", s->default_next, &s->default_index);
        const cJSON *rule = first_choice(s);
        for (size_t k = 0; k < s->n_choices && rule; k++, rule = rule->next) {
            char f2[64];
            snprintf(f2, sizeof f2, "Choices[%zu].Next", k);
            resolve(c, m, stn, f2, raw_choice_next(rule), &s->choice_next[k]);
        }
        for (size_t k = 0; k < s->n_catch; k++) {
            char f2[64];
            snprintf(f2, sizeof f2, "Catch[%zu].Next", k);
            resolve(c, m, stn, f2, s->catch_[k].next, &s->catch_[k].next_index);
        }
    }
    /* Pass 3: reachability from StartAt. */
    if (start_ok && m->n_states) {
        unsigned char *seen = calloc(m->n_states, 1);
        if (seen) {
            mark_reachable(m, m->start, seen);
            for (i = 0; i < m->n_states; i++) {
                if (!seen[i]) {
                    char stn[512];
                    snprintf(stn, sizeof stn, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "",
                             m->states[i].name);
                    prob(c, stn, NULL, "state is unreachable from StartAt");
                }
            }
            free(seen);
        }
    }
    if (c->count != before) {
        asl_machine_free(m);
        return NULL;
    }
    return m;
}

/* Duplicate member names are ambiguous (which one wins differs between JSON
 * parsers), so they are reported and the definition goes no further. `state`
 * is the nearest enclosing state's name, `path` the location below it. */
static void find_duplicates(ctx_t *c, const cJSON *v, const char *state, const char *path,
                            int depth)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return;
    /* Member names seen so far: a hash table keeps this linear in the
     * members (a States object may hold 100,000 states). */
    name_table_t seen = {0};
    if (cJSON_IsObject(v) && name_table_init(&seen, (size_t)cJSON_GetArraySize(v)) != 0) {
        prob(c, state, path, "out of memory");
        return;
    }
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        char sub[512];
        if (cJSON_IsObject(v) && name_table_put(&seen, e->string, i) != 0) {
            fname(sub, sizeof sub, path, e->string);
            prob(c, state, sub[0] ? sub : NULL, "duplicate field \"%s\"", e->string);
        }
        if (!cJSON_IsObject(e) && !cJSON_IsArray(e))
            continue;
        /* A member of a "States" object is a state: names restart there. */
        if (cJSON_IsObject(v) && depth > 0 && path && strcmp(path, "States") == 0 &&
            cJSON_IsObject(e)) {
            char stn[512];
            snprintf(stn, sizeof stn, "%s%s%s", state ? state : "", state ? "/" : "", e->string);
            find_duplicates(c, e, stn, NULL, depth + 1);
            continue;
        }
        if (cJSON_IsObject(v) && (!path || !*path) && strcmp(e->string, "States") == 0) {
            find_duplicates(c, e, state, "States", depth + 1);
            continue;
        }
        if (cJSON_IsObject(v))
            fname(sub, sizeof sub, path, e->string);
        else
            snprintf(sub, sizeof sub, "%s[%zu]", path ? path : "", i);
        /* Branches/ItemProcessor/Iterator hold machines: their "States" restart naming. */
        int machine = cJSON_IsObject(e) && cJSON_GetObjectItemCaseSensitive(e, "States") &&
                      cJSON_GetObjectItemCaseSensitive(e, "StartAt");
        find_duplicates(c, e, state, machine ? NULL : sub, depth + 1);
    }
    name_table_free(&seen);
}

static int has_duplicates(ctx_t *c, const cJSON *def)
{
    size_t before = c->count;
    find_duplicates(c, def, NULL, NULL, 1);
    return c->count != before;
}

int asl_machine_compile(const cJSON *definition, asl_machine_t **out, asl_problems_t *problems)
{
    *out = NULL;
    ctx_t c = {problems, 0};
    if (!definition) {
        prob(&c, NULL, NULL, "no definition");
        return -1;
    }
    if (has_duplicates(&c, definition))
        return -1;
    cJSON *copy = cJSON_Duplicate(definition, 1);
    if (!copy) {
        prob(&c, NULL, NULL, "out of memory");
        return -1;
    }
    asl_machine_t *m = compile_machine(&c, copy, NULL, NULL, NULL, 1);
    if (!m || c.count) {
        asl_machine_free(m);
        cJSON_Delete(copy);
        return -1;
    }
    m->owned_def = copy;
    *out = m;
    return 0;
}

int asl_machine_compile_text(const char *text, size_t len, asl_machine_t **out,
                             asl_problems_t *problems)
{
    *out = NULL;
    char *buf = malloc(len + 1);
    if (!buf) {
        if (problems)
            asl_problems_add(problems, NULL, NULL, "out of memory");
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    const char *end = NULL;
    cJSON *def = cJSON_ParseWithLengthOpts(buf, len + 1, &end, 1);
    if (!def || memchr(buf, '\0', len)) {
        /* Line and column of the failure (1-based). */
        size_t off = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;
        if (def)
            off = (size_t)((const char *)memchr(buf, '\0', len) - buf);
        size_t line = 1, col = 1;
        for (size_t k = 0; k < off; k++) {
            if (buf[k] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (problems)
            asl_problems_add(problems, NULL, NULL, "invalid JSON at line %zu, column %zu%s", line,
                             col, off >= len ? ": unexpected end of input" : "");
        cJSON_Delete(def);
        free(buf);
        return -1;
    }
    free(buf);
    ctx_t c = {problems, 0};
    if (has_duplicates(&c, def)) {
        cJSON_Delete(def);
        return -1;
    }
    asl_machine_t *m = compile_machine(&c, def, NULL, NULL, NULL, 1);
    if (!m || c.count) {
        asl_machine_free(m);
        cJSON_Delete(def);
        return -1;
    }
    m->owned_def = def;
    *out = m;
    return 0;
}

/* ---- accessors ---------------------------------------------------------- */

const cJSON *asl_machine_definition(const asl_machine_t *m) { return m->def; }
const char *asl_machine_comment(const asl_machine_t *m) { return m->comment; }
uint32_t asl_machine_timeout_seconds(const asl_machine_t *m) { return m->timeout_s; }
size_t asl_machine_state_count(const asl_machine_t *m) { return m->n_states; }
size_t asl_machine_start_index(const asl_machine_t *m) { return m->start; }
long asl_machine_find_state(const asl_machine_t *m, const char *name) { return lookup(m, name); }
const asl_state_t *asl_machine_state(const asl_machine_t *m, size_t i) { return &m->states[i]; }

const char *asl_machine_state_name(const asl_machine_t *m, size_t i) { return m->states[i].name; }
asl_state_type_t asl_machine_state_type(const asl_machine_t *m, size_t i) { return m->states[i].type; }
const char *asl_machine_state_comment(const asl_machine_t *m, size_t i) { return m->states[i].comment; }
const char *asl_machine_state_next(const asl_machine_t *m, size_t i) { return m->states[i].next; }
int asl_machine_state_is_end(const asl_machine_t *m, size_t i) { return m->states[i].end; }
const char *asl_machine_state_default(const asl_machine_t *m, size_t i) { return m->states[i].default_next; }
size_t asl_machine_state_choice_count(const asl_machine_t *m, size_t i) { return m->states[i].n_choices; }

const char *asl_machine_state_choice_next(const asl_machine_t *m, size_t i, size_t k)
{
    const asl_state_t *s = &m->states[i];
    return k < s->n_choices && s->choices[k] ? asl_choice_next(s->choices[k]) : NULL;
}

size_t asl_machine_state_catch_count(const asl_machine_t *m, size_t i) { return m->states[i].n_catch; }

const char *asl_machine_state_catch_next(const asl_machine_t *m, size_t i, size_t k)
{
    const asl_state_t *s = &m->states[i];
    return k < s->n_catch ? s->catch_[k].next : NULL;
}

const cJSON *asl_machine_state_catch_errors(const asl_machine_t *m, size_t i, size_t k)
{
    const asl_state_t *s = &m->states[i];
    if (k >= s->n_catch)
        return NULL;
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s->def, "Catch"), (int)k);
    return cJSON_GetObjectItemCaseSensitive(c, "ErrorEquals");
}

size_t asl_machine_state_retry_count(const asl_machine_t *m, size_t i) { return m->states[i].n_retry; }
const char *asl_machine_state_resource(const asl_machine_t *m, size_t i) { return m->states[i].resource; }
const char *asl_machine_state_handler(const asl_machine_t *m, size_t i) { return m->states[i].handler; }
size_t asl_machine_state_branch_count(const asl_machine_t *m, size_t i) { return m->states[i].n_branches; }

const asl_machine_t *asl_machine_state_branch(const asl_machine_t *m, size_t i, size_t k)
{
    const asl_state_t *s = &m->states[i];
    return k < s->n_branches ? s->branches[k] : NULL;
}

int asl_machine_foreach_handler(const asl_machine_t *m,
                                int (*fn)(const char *handler, const char *state, void *ud),
                                void *ud)
{
    for (size_t i = 0; i < m->n_states; i++) {
        const asl_state_t *s = &m->states[i];
        if (s->handler) {
            /* Report each name once: skip if an earlier state of this machine used it. */
            int dup = 0;
            for (size_t j = 0; j < i && !dup; j++)
                dup = m->states[j].handler && strcmp(m->states[j].handler, s->handler) == 0;
            if (!dup) {
                int rc = fn(s->handler, s->name, ud);
                if (rc)
                    return rc;
            }
        }
        for (size_t k = 0; k < s->n_branches; k++) {
            int rc = asl_machine_foreach_handler(s->branches[k], fn, ud);
            if (rc)
                return rc;
        }
    }
    return 0;
}
