/* The cursor: everything needed to continue an execution, as the small
 * JSON object the runtime stores after each step, and reading it back. */
#include "exec_internal.h"

#include <assert.h>
#include <string.h>

/* ---- cursor --------------------------------------------------------------- */

static const char *const PHASES[] = {"enter", "task", "wait", "retry", "children"};

const char *asl_exec_phase_name(phase_t ph)
{
    return PHASES[ph];
}

/* Stores the cursor into the step; r->input moves into it. */
void asl_exec_make_cursor(run_t *r, phase_t ph)
{
    cJSON *c = cJSON_CreateObject();
    asl_exec_add_num(c, "v", 1);
    asl_exec_add_str(c, "state", cur(r)->name);
    asl_exec_add_item(c, "phase", cJSON_CreateStringReference(PHASES[ph]));
    size_t in_size = r->input ? r->in_size : 4;
    asl_exec_add_item(c, "input", r->input ? r->input : cJSON_CreateNull());
    r->input = NULL;
    asl_exec_add_num(c, "entered", (double)r->entered_ms);
    asl_exec_add_num(c, "seq", (double)r->seq);
    if (r->retries) {
        asl_exec_add_num(c, "retries", r->retries);
        size_t n = cur(r)->n_retry;
        assert(n <= ASL_RETRIERS_MAX);
        cJSON *a = cJSON_CreateArray();
        asl_exec_add_item(c, "attempts", a);
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(r->attempts[i]));
    }
    if (ph == PH_WAIT || ph == PH_RETRY)
        asl_exec_add_num(c, "wake", (double)r->wake_ms);
    if (ph == PH_CHILDREN && r->tolerated >= 0)
        asl_exec_add_num(c, "tolerated", (double)r->tolerated);
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
int asl_exec_load_cursor(run_t *r, cJSON *c, asl_error_t *err)
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
