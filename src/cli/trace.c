/* What an execution did, read from its history: which states it entered,
 * which it failed in, which it is in now, and which transitions it took.
 * `sagactl graph --execution` paints these onto the machine. */
#include "cli/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

typedef struct mark_s {
    char *name;
    int mark;
} mark_t;

typedef struct taken_s {
    char *from, *to;
} taken_t;

/* A state entered and not yet exited. */
typedef struct open_s {
    char *name;
    char type[16];        /* "Task", "Parallel", ... from the event type */
    int failed;           /* its last attempt failed */
} open_t;

struct trace_s {
    mark_t *m;
    size_t n, cap;
    taken_t *t;
    size_t nt, capt;
    open_t *o;
    size_t no, capo;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(p, nc * size);
    if (!np)
        abort();
    *cap = nc;
    return np;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

int trace_mark(const trace_t *tr, const char *name)
{
    for (size_t i = 0; tr && i < tr->n; i++)
        if (strcmp(tr->m[i].name, name) == 0)
            return tr->m[i].mark;
    return TRACE_NONE;
}

/* Raises the mark of `name` (FAILED > CURRENT > VISITED). */
static void mark_set(trace_t *tr, const char *name, int mark)
{
    for (size_t i = 0; i < tr->n; i++)
        if (strcmp(tr->m[i].name, name) == 0) {
            if (mark > tr->m[i].mark)
                tr->m[i].mark = mark;
            return;
        }
    tr->m = grow(tr->m, &tr->cap, tr->n, sizeof *tr->m);
    tr->m[tr->n].name = xstrdup(name);
    tr->m[tr->n++].mark = mark;
}

static void taken_add(trace_t *tr, const char *from, const char *to)
{
    for (size_t i = 0; i < tr->nt; i++)
        if (strcmp(tr->t[i].from, from) == 0 && strcmp(tr->t[i].to, to) == 0)
            return;
    tr->t = grow(tr->t, &tr->capt, tr->nt, sizeof *tr->t);
    tr->t[tr->nt].from = xstrdup(from);
    tr->t[tr->nt++].to = xstrdup(to);
}

int trace_taken(const trace_t *tr, const char *from, const char *to)
{
    for (size_t i = 0; tr && i < tr->nt; i++)
        if (strcmp(tr->t[i].from, from) == 0 && strcmp(tr->t[i].to, to) == 0)
            return 1;
    return 0;
}

static void open_drop(trace_t *tr, size_t i)
{
    free(tr->o[i].name);
    memmove(&tr->o[i], &tr->o[i + 1], (tr->no - i - 1) * sizeof *tr->o);
    tr->no--;
}

void trace_free(trace_t *tr)
{
    if (!tr)
        return;
    for (size_t i = 0; i < tr->n; i++)
        free(tr->m[i].name);
    for (size_t i = 0; i < tr->nt; i++) {
        free(tr->t[i].from);
        free(tr->t[i].to);
    }
    for (size_t i = 0; i < tr->no; i++)
        free(tr->o[i].name);
    free(tr->m);
    free(tr->t);
    free(tr->o);
    free(tr);
}

/* Finds the state called `name` anywhere in the machine (branches too). */
static const asl_state_t *find_state(const asl_machine_t *m, const char *name)
{
    long i = asl_machine_find_state(m, name);
    if (i >= 0)
        return asl_machine_state(m, (size_t)i);
    size_t n = asl_machine_state_count(m);
    for (size_t k = 0; k < n; k++)
        for (size_t b = 0; b < asl_machine_state_branch_count(m, k); b++) {
            const asl_state_t *s = find_state(asl_machine_state_branch(m, k, b), name);
            if (s)
                return s;
        }
    return NULL;
}

/* The newest open state of `type`, preferring one whose handler is
 * `handler` (a failure event names the handler, not the state). */
static open_t *open_find(trace_t *tr, const asl_machine_t *m, const char *type, const char *handler)
{
    for (int pass = handler ? 0 : 1; pass < 2; pass++)
        for (size_t i = tr->no; i-- > 0;) {
            if (strcmp(tr->o[i].type, type) != 0)
                continue;
            if (pass == 0 && handler) {
                const asl_state_t *s = find_state(m, tr->o[i].name);
                if (!s || !s->handler || strcmp(s->handler, handler) != 0)
                    continue;
            }
            return &tr->o[i];
        }
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Walks the history: states entered are visited; a state whose last attempt
 * failed (TaskFailed, ...StateFailed, a Fail state, or still open when the
 * execution failed) is failed; states open while it runs are current. A
 * transition counts as taken when a state is entered right after another
 * was exited (or right after its Parallel/Map was entered). */
trace_t *trace_from_history(const asl_machine_t *m, const cJSON *events, const char *status)
{
    trace_t *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    char last_name[256] = "", last_type[16] = "";
    int last_exit = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) {
        const char *type = str_of(ev, "type");
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(ev, "details");
        const char *name = str_of(det, "name");
        if (!type)
            continue;
        if (name && ends_with(type, "StateEntered")) {
            size_t tl = strlen(type) - strlen("StateEntered");
            mark_set(tr, name, TRACE_VISITED);
            if (*last_name && (last_exit || strcmp(last_type, "Parallel") == 0 ||
                               strcmp(last_type, "Map") == 0))
                taken_add(tr, last_name, name);
            tr->o = grow(tr->o, &tr->capo, tr->no, sizeof *tr->o);
            open_t *o = &tr->o[tr->no++];
            o->name = xstrdup(name);
            snprintf(o->type, sizeof o->type, "%.*s", (int)tl, type);
            o->failed = strcmp(o->type, "Fail") == 0;
            snprintf(last_name, sizeof last_name, "%s", name);
            snprintf(last_type, sizeof last_type, "%s", o->type);
            last_exit = 0;
        } else if (name && ends_with(type, "StateExited")) {
            for (size_t i = tr->no; i-- > 0;)
                if (strcmp(tr->o[i].name, name) == 0) {
                    if (tr->o[i].failed)
                        mark_set(tr, name, TRACE_FAILED);
                    open_drop(tr, i);
                    break;
                }
            snprintf(last_name, sizeof last_name, "%s", name);
            last_type[0] = '\0';
            last_exit = 1;
        } else if (strcmp(type, "TaskFailed") == 0 || strcmp(type, "TaskTimedOut") == 0) {
            open_t *o = open_find(tr, m, "Task", str_of(det, "resource"));
            if (o)
                o->failed = 1;
        } else if (strcmp(type, "TaskScheduled") == 0) {
            /* A retry starts over; only the last attempt decides. */
            open_t *o = open_find(tr, m, "Task", str_of(det, "resource"));
            if (o)
                o->failed = 0;
        } else if (strcmp(type, "ParallelStateFailed") == 0 || strcmp(type, "MapStateFailed") == 0) {
            open_t *o = open_find(tr, m, type[0] == 'P' ? "Parallel" : "Map", NULL);
            if (o)
                o->failed = 1;
        }
    }
    int running = status && strcmp(status, "RUNNING") == 0;
    int succeeded = status && strcmp(status, "SUCCEEDED") == 0;
    for (size_t i = 0; i < tr->no; i++) {
        if (tr->o[i].failed || (!running && !succeeded && strcmp(tr->o[i].type, "Succeed") != 0))
            mark_set(tr, tr->o[i].name, TRACE_FAILED);
        else if (running)
            mark_set(tr, tr->o[i].name, TRACE_CURRENT);
    }
    return tr;
}
