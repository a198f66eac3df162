/* ASL definition parser and validator: turns a definition into an immutable
 * asl_machine_t with every path, template and choice rule compiled, or lists
 * every problem found (state + field + message) in one pass. This file: the
 * machine as a whole (names, transitions, reachability, duplicate fields)
 * and its accessors. */
#include "machine_internal.h"
#include "core/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- name tables -------------------------------------------------------- */

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
    for (size_t h = hash_str(name) & mask;; h = (h + 1) & mask) {
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

void asl_machine_free(asl_machine_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_states; i++)
        asl_machine_free_state(&m->states[i]);
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
        asl_machine_prob(c, st, field, "state \"%s\" does not exist", target);
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

/* Characters (code points) of valid UTF-8 text: continuation bytes are not counted. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
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
asl_machine_t *asl_machine_compile_machine(ctx_t *c, const cJSON *def, const char *prefix,
                                           const char *owner, const char *owner_field, int top)
{
    size_t before = c->count;
    char fb[256];
    if (!cJSON_IsObject(def)) {
        asl_machine_prob(c, owner, owner_field, "a state machine must be a JSON object, not %s",
                         asl_json_type_name(def));
        return NULL;
    }
    static const char *const top_fields[] = {"Comment", "StartAt", "States", "TimeoutSeconds",
                                             "Version", "QueryLanguage", NULL};
    static const char *const sub_fields[] = {"Comment", "StartAt", "States", "ProcessorConfig", NULL};
    asl_machine_check_fields(c, owner, owner_field, def, top ? top_fields : sub_fields,
                             top ? "a state machine" : "a branch");

    asl_machine_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->def = def;
    asl_machine_fname(fb, sizeof fb, owner_field, "Comment");
    m->comment = asl_machine_get_string(c, owner, def, "Comment", fb);
    if (top) {
        double d;
        if (asl_machine_get_uint(c, NULL, def, "TimeoutSeconds", 1, 99999999, &d) == 1)
            m->timeout_s = (uint32_t)d;
        asl_machine_get_string(c, NULL, def, "Version", NULL);
        const cJSON *ql = cJSON_GetObjectItemCaseSensitive(def, "QueryLanguage");
        if (ql && !(cJSON_IsString(ql) && strcmp(ql->valuestring, "JSONPath") == 0))
            asl_machine_prob(c, NULL, "QueryLanguage", "only \"JSONPath\" is supported");
    } else {
        const cJSON *pc = cJSON_GetObjectItemCaseSensitive(def, "ProcessorConfig");
        if (pc) {
            asl_machine_fname(fb, sizeof fb, owner_field, "ProcessorConfig");
            const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pc, "Mode");
            if (!cJSON_IsObject(pc))
                asl_machine_prob(c, owner, fb, "must be an object");
            else if (mode && !(cJSON_IsString(mode) && strcmp(mode->valuestring, "INLINE") == 0))
                asl_machine_prob(c, owner, fb, "only Mode \"INLINE\" is supported");
        }
    }

    const cJSON *states = cJSON_GetObjectItemCaseSensitive(def, "States");
    asl_machine_fname(fb, sizeof fb, owner_field, "States");
    if (!states) {
        asl_machine_prob(c, owner, fb, "is required");
    } else if (!cJSON_IsObject(states) || !states->child) {
        asl_machine_prob(c, owner, fb, "must be a non-empty object of states");
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
            asl_machine_prob(c, stn, NULL, "duplicate state name");
        if (!*s->name || utf8_chars(s->name) > 80)
            asl_machine_prob(c, stn, NULL, "a state name must have 1 to 80 characters");
    }
    asl_machine_fname(fb, sizeof fb, owner_field, "StartAt");
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(def, "StartAt");
    int start_ok = 0;
    if (!sa) {
        asl_machine_prob(c, owner, fb, "is required");
    } else if (!cJSON_IsString(sa)) {
        asl_machine_prob(c, owner, fb, "must be a string, not %s", asl_json_type_name(sa));
    } else if (lookup(m, sa->valuestring) < 0) {
        asl_machine_prob(c, owner, fb, "state \"%s\" does not exist", sa->valuestring);
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
            asl_machine_prob(c, stn, NULL, "a state must be a JSON object, not %s",
                             asl_json_type_name(s->def));
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(s->def, "Type");
        if (!t) {
            asl_machine_prob(c, stn, "Type", "is required");
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        if (!cJSON_IsString(t) || asl_machine_type_from_name(t->valuestring, &s->type) != 0) {
            asl_machine_prob(c, stn, "Type",
                             "unknown state type %s%s%s (expected Task, Pass, Choice, Wait, "
                             "Succeed, Fail, Parallel or Map)", cJSON_IsString(t) ? "\"" : "",
                             cJSON_IsString(t) ? t->valuestring : asl_json_type_name(t), cJSON_IsString(t) ? "\"" : "");
            s->type = ASL_STATE_SUCCEED;
            s->end = 1;
            continue;
        }
        asl_machine_compile_state(c, stn, s);
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
                    asl_machine_prob(c, stn, NULL, "state is unreachable from StartAt");
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
        asl_machine_prob(c, state, path, "out of memory");
        return;
    }
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        char sub[512];
        if (cJSON_IsObject(v) && name_table_put(&seen, e->string, i) != 0) {
            asl_machine_fname(sub, sizeof sub, path, e->string);
            asl_machine_prob(c, state, sub[0] ? sub : NULL, "duplicate field \"%s\"", e->string);
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
            asl_machine_fname(sub, sizeof sub, path, e->string);
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
        asl_machine_prob(&c, NULL, NULL, "no definition");
        return -1;
    }
    if (has_duplicates(&c, definition))
        return -1;
    cJSON *copy = cJSON_Duplicate(definition, 1);
    if (!copy) {
        asl_machine_prob(&c, NULL, NULL, "out of memory");
        return -1;
    }
    asl_machine_t *m = asl_machine_compile_machine(&c, copy, NULL, NULL, NULL, 1);
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
    asl_machine_t *m = asl_machine_compile_machine(&c, def, NULL, NULL, NULL, 1);
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
