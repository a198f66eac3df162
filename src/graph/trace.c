/* What an execution did, read from its history: each state's outcome
 * (succeeded, caught, running, failed), the transitions taken and the Map
 * iterations. `sagactl graph --execution` and GET /executions/{id}/graph.svg
 * paint these onto the machine. */
#include "graph/trace.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is known of one state name. */
typedef struct mark_s {
    char *name;
    graph_outcome_t outcome;
    int entered;
    long iters, iters_failed;   /* Map iterations started / failed */
} mark_t;

typedef struct taken_s {
    char *from, *to;
    graph_via_t via;
} taken_t;

/* A state entered and not yet left. */
typedef struct open_s {
    char *name;
    const asl_state_t *state;   /* NULL if the machine has no such state */
    int failed;                 /* its last attempt failed */
} open_t;

struct graph_trace_s {
    const asl_machine_t *m;
    mark_t *mk;
    size_t n, cap;
    taken_t *t;
    size_t nt, capt;
    open_t *o;
    size_t no, capo;
    int oom;
};

const char *graph_outcome_name(graph_outcome_t o)
{
    static const char *const names[] = {
        [GRAPH_OUTCOME_NOTREACHED] = "notreached", [GRAPH_OUTCOME_SUCCEEDED] = "succeeded",
        [GRAPH_OUTCOME_CAUGHT] = "caught", [GRAPH_OUTCOME_RUNNING] = "running",
        [GRAPH_OUTCOME_FAILED] = "failed",
    };
    return (size_t)o < sizeof names / sizeof names[0] ? names[o] : "notreached";
}

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const mark_t *mark_find(const graph_trace_t *tr, const char *name)
{
    for (size_t i = 0; tr && name && i < tr->n; i++)
        if (strcmp(tr->mk[i].name, name) == 0)
            return &tr->mk[i];
    return NULL;
}

/* The record of `name`, created on first use; NULL when out of memory. */
static mark_t *mark_get(graph_trace_t *tr, const char *name)
{
    mark_t *k = (mark_t *)mark_find(tr, name);
    if (k)
        return k;
    char *copy = strdup(name);
    if (!copy || grow_reserve(&tr->mk, &tr->cap, tr->n + 1, sizeof *tr->mk) < 0) {
        free(copy);
        tr->oom = 1;
        return NULL;
    }
    k = &tr->mk[tr->n++];
    memset(k, 0, sizeof *k);
    k->name = copy;
    return k;
}

static void outcome_raise(graph_trace_t *tr, const char *name, graph_outcome_t o)
{
    mark_t *k = mark_get(tr, name);
    if (k && o > k->outcome)
        k->outcome = o;
}

graph_outcome_t graph_trace_outcome(const graph_trace_t *tr, const char *name)
{
    const mark_t *k = mark_find(tr, name);
    return k ? k->outcome : GRAPH_OUTCOME_NOTREACHED;
}

int graph_trace_entered(const graph_trace_t *tr, const char *name)
{
    const mark_t *k = mark_find(tr, name);
    return k ? k->entered : 0;
}

void graph_trace_iterations(const graph_trace_t *tr, const char *name, long *started, long *failed)
{
    const mark_t *k = mark_find(tr, name);
    *started = k && (k->iters || k->entered) ? k->iters : -1;
    if (failed)
        *failed = k ? k->iters_failed : 0;
}

static void taken_add(graph_trace_t *tr, const char *from, const char *to, graph_via_t via)
{
    if (graph_trace_taken(tr, from, to, via))
        return;
    char *f = strdup(from), *t = strdup(to);
    if (!f || !t || grow_reserve(&tr->t, &tr->capt, tr->nt + 1, sizeof *tr->t) < 0) {
        free(f);
        free(t);
        tr->oom = 1;
        return;
    }
    tr->t[tr->nt++] = (taken_t){f, t, via};
}

int graph_trace_taken(const graph_trace_t *tr, const char *from, const char *to, graph_via_t via)
{
    for (size_t i = 0; tr && i < tr->nt; i++)
        if (tr->t[i].via == via && strcmp(tr->t[i].from, from) == 0 && strcmp(tr->t[i].to, to) == 0)
            return 1;
    return 0;
}

static void open_drop(graph_trace_t *tr, size_t i)
{
    free(tr->o[i].name);
    memmove(&tr->o[i], &tr->o[i + 1], (tr->no - i - 1) * sizeof *tr->o);
    tr->no--;
}

void graph_trace_free(graph_trace_t *tr)
{
    if (!tr)
        return;
    for (size_t i = 0; i < tr->n; i++)
        free(tr->mk[i].name);
    for (size_t i = 0; i < tr->nt; i++) {
        free(tr->t[i].from);
        free(tr->t[i].to);
    }
    for (size_t i = 0; i < tr->no; i++)
        free(tr->o[i].name);
    free(tr->mk);
    free(tr->t);
    free(tr->o);
    free(tr);
}

/* Finds the state called `name` anywhere in `m` (branches too). */
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

/* 1 if a state called `name` is inside the branches of `outer`. */
static int is_inside(const asl_state_t *outer, const char *name)
{
    for (size_t b = 0; outer && b < outer->n_branches; b++)
        if (find_state(outer->branches[b], name))
            return 1;
    return 0;
}

static int type_is(const open_t *o, asl_state_type_t t)
{
    return o->state && o->state->type == t;
}

/* The newest open state of type `t`, preferring one whose handler is
 * `handler` (a task event names the handler, not the state). */
static open_t *open_find(graph_trace_t *tr, asl_state_type_t t, const char *handler)
{
    for (int pass = handler ? 0 : 1; pass < 2; pass++)
        for (size_t i = tr->no; i-- > 0;) {
            const open_t *o = &tr->o[i];
            if (!type_is(o, t))
                continue;
            if (pass == 0 && (!handler || !o->state->handler || strcmp(o->state->handler, handler) != 0))
                continue;
            return &tr->o[i];
        }
    return NULL;
}

/* An open state that will never be left: failed when its own failure ended
 * it or the execution ended in it, running while the execution runs. */
static void settle(graph_trace_t *tr, size_t i, int running, int succeeded)
{
    const open_t *o = &tr->o[i];
    graph_outcome_t out = GRAPH_OUTCOME_FAILED;
    if (type_is(o, ASL_STATE_SUCCEED) || (succeeded && !o->failed))
        out = GRAPH_OUTCOME_SUCCEEDED;
    else if (running && !type_is(o, ASL_STATE_FAIL))
        out = GRAPH_OUTCOME_RUNNING;
    outcome_raise(tr, o->name, out);
    open_drop(tr, i);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Where the last transition came from: a state just left ("caught" when it
 * had failed). Cleared by events that start a new path (an iteration). */
typedef struct last_s {
    char name[256];
    int exited, caught;
} last_t;

static void on_entered(graph_trace_t *tr, last_t *last, const char *name)
{
    mark_t *k = mark_get(tr, name);
    if (k)
        k->entered = 1;
    if (last->exited && *last->name)
        taken_add(tr, last->name, name, last->caught ? GRAPH_VIA_CATCH : GRAPH_VIA_NEXT);
    char *copy = strdup(name);
    if (!copy || grow_reserve(&tr->o, &tr->capo, tr->no + 1, sizeof *tr->o) < 0) {
        free(copy);
        tr->oom = 1;
        return;
    }
    open_t *o = &tr->o[tr->no++];
    o->name = copy;
    o->state = find_state(tr->m, name);
    o->failed = 0;
    if (type_is(o, ASL_STATE_FAIL))
        outcome_raise(tr, name, GRAPH_OUTCOME_FAILED);
    last->name[0] = '\0';
    last->exited = 0;
}

static void on_exited(graph_trace_t *tr, last_t *last, const char *name)
{
    int caught = 0;
    for (size_t i = tr->no; i-- > 0;) {
        if (strcmp(tr->o[i].name, name) != 0)
            continue;
        const asl_state_t *s = tr->o[i].state;
        caught = tr->o[i].failed;
        outcome_raise(tr, name, type_is(&tr->o[i], ASL_STATE_FAIL) ? GRAPH_OUTCOME_FAILED
                                : caught ? GRAPH_OUTCOME_CAUGHT : GRAPH_OUTCOME_SUCCEEDED);
        open_drop(tr, i);
        /* A Parallel or Map that ends leaves none of its states running: those
         * still open failed or were cancelled with it. */
        if (s && s->n_branches)
            for (size_t j = tr->no; j-- > 0;)
                if (is_inside(s, tr->o[j].name))
                    settle(tr, j, 0, 0);
        break;
    }
    snprintf(last->name, sizeof last->name, "%s", name);
    last->exited = 1;
    last->caught = caught;
}

static void on_iteration(graph_trace_t *tr, last_t *last, const char *type, const char *map)
{
    mark_t *k = map ? mark_get(tr, map) : NULL;
    if (k && strcmp(type, "MapIterationStarted") == 0) {
        k->iters++;
    } else if (k && strcmp(type, "MapIterationFailed") == 0) {
        k->iters_failed++;
        /* The state whose failure ended the iteration stays open: settle it. */
        const asl_state_t *s = find_state(tr->m, map);
        for (size_t j = tr->no; j-- > 0;)
            if (tr->o[j].failed && is_inside(s, tr->o[j].name))
                settle(tr, j, 0, 0);
    }
    last->name[0] = '\0';
    last->exited = 0;
}

/* Walks the history; see graph_outcome_t for what each outcome means. */
graph_trace_t *graph_trace_from_history(const asl_machine_t *m, const cJSON *events,
                                        const char *status)
{
    graph_trace_t *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->m = m;
    last_t last = {"", 0, 0};
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) {
        const char *type = str_of(ev, "type");
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(ev, "details");
        const char *name = str_of(det, "name");
        if (!type)
            continue;
        if (name && ends_with(type, "StateEntered")) {
            on_entered(tr, &last, name);
        } else if (name && ends_with(type, "StateExited")) {
            on_exited(tr, &last, name);
        } else if (strncmp(type, "MapIteration", 12) == 0) {
            on_iteration(tr, &last, type, name);
        } else if (strcmp(type, "TaskFailed") == 0 || strcmp(type, "TaskTimedOut") == 0 ||
                   strcmp(type, "TaskScheduled") == 0) {
            /* A retry starts over: only the last attempt decides. */
            open_t *o = open_find(tr, ASL_STATE_TASK, str_of(det, "resource"));
            if (o)
                o->failed = type[4] != 'S';
        } else if (strcmp(type, "ParallelStateFailed") == 0 || strcmp(type, "MapStateFailed") == 0) {
            open_t *o = open_find(tr, type[0] == 'P' ? ASL_STATE_PARALLEL : ASL_STATE_MAP, NULL);
            if (o)
                o->failed = 1;
        } else if (strcmp(type, "ExecutionRedriven") == 0) {
            /* The states the run ended in run again: their new visits
             * decide. A Parallel or Map may go on with the children that
             * failed, without being entered again: it stays open. */
            for (size_t i = tr->no; i-- > 0;) {
                if (tr->o[i].state && tr->o[i].state->n_branches)
                    tr->o[i].failed = 0;
                else
                    open_drop(tr, i);
            }
        }
        if (tr->oom)
            break;
    }
    int running = status && strcmp(status, "RUNNING") == 0;
    int succeeded = status && strcmp(status, "SUCCEEDED") == 0;
    while (!tr->oom && tr->no)
        settle(tr, tr->no - 1, running, succeeded);
    if (tr->oom) {
        graph_trace_free(tr);
        return NULL;
    }
    return tr;
}
