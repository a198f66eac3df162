/* GET .../graph.svg: a state machine, or an execution's path through the
 * version it ran. A machine version is laid out by Graphviz once, off the
 * loop on libuv's thread pool (a layout can take seconds; Graphviz is not
 * thread-safe, so one at a time), and kept; an execution is painted onto
 * that drawing (graph/paint.h) without a layout, and kept until its next
 * event. */
#include "api/graph.h"
#include "asl/machine.h"
#include "core/grow.h"
#include "core/hash.h"
#include "graph/dot.h"
#include "graph/paint.h"
#include "graph/svg.h"
#include "graph/trace.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SVG_TYPE "image/svg+xml; charset=utf-8"
#define EXEC_SLOTS 32
/* Layouts waiting for the one running; more get 503 with Retry-After. */
#define LAYOUT_QUEUE_MAX 8
/* States (nested ones included) drawn at most: the layout's cost grows
 * much faster than the machine. */
#define GRAPH_MAX_STATES 500

typedef struct slot_s {
    char *key;
    char *svg;
    size_t len;
    uint64_t used;     /* tick of the last use, for evicting the oldest */
} slot_t;

/* Drawings by key. Machine versions are few and never dropped (like the
 * registry's), so their drawings are kept: every layout costs time and, in
 * Graphviz 2.43, memory it never frees. Executions' are evicted. */
typedef struct cache_s {
    slot_t *slot;
    size_t n, cap;
    size_t max;        /* 0: no limit */
    uint64_t tick;
} cache_t;

typedef struct graph_api_s graph_api_t;

/* Called once the drawing of a machine version is there: `s` is the kept
 * drawing (valid for the call only), NULL when Graphviz failed. */
typedef void (*drawing_cb)(graph_api_t *g, const struct slot_s *s, void *ud);

typedef struct waiter_s {
    drawing_cb cb;
    void *ud;
    struct waiter_s *next;
} waiter_t;

/* One layout: queued, then run on the thread pool; waiters are the
 * requests that need its drawing. */
typedef struct layout_s {
    uv_work_t work;
    graph_api_t *g;
    char key[160];
    char *dot;             /* the input, freed once laid out */
    char *svg;             /* the output (taken by the cache) */
    size_t len;
    waiter_t *waiters;
    struct layout_s *next; /* in the queue */
} layout_t;

struct graph_api_s {
    api_t *api;
    cache_t machines, executions;
    uint64_t salt;     /* in every ETag: a new process may draw differently */
    layout_t *running; /* on the thread pool, at most one */
    layout_t *queue;   /* waiting, oldest first */
    size_t queued;
};

static graph_api_t *the_graphs;

static void cache_free(cache_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->slot[i].key);
        free(c->slot[i].svg);
    }
    free(c->slot);
}

static void graphs_free(void)
{
    if (!the_graphs)
        return;
    cache_free(&the_graphs->machines);
    cache_free(&the_graphs->executions);
    free(the_graphs);
    the_graphs = NULL;
}

static const slot_t *cache_get(cache_t *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->slot[i].key, key) == 0) {
            c->slot[i].used = ++c->tick;
            return &c->slot[i];
        }
    return NULL;
}

/* Stores `svg` (taken) under `key`, when full in place of the least
 * recently used drawing. Without memory it is not kept: NULL. The pointer
 * is valid until the next cache_put on `c`. */
static const slot_t *cache_put(cache_t *c, const char *key, char *svg, size_t len)
{
    slot_t *s = NULL;
    if (c->max && c->n == c->max) {
        s = &c->slot[0];
        for (size_t i = 1; i < c->n; i++)
            if (c->slot[i].used < s->used)
                s = &c->slot[i];
    } else if (grow_reserve(&c->slot, &c->cap, c->n + 1, sizeof *c->slot) == 0) {
        s = &c->slot[c->n];
        *s = (slot_t){NULL, NULL, 0, 0};
    }
    char *k = s ? strdup(key) : NULL;
    if (!k) {
        free(svg);
        return NULL;
    }
    if (s == &c->slot[c->n])
        c->n++;
    free(s->key);
    free(s->svg);
    *s = (slot_t){k, svg, len, ++c->tick};
    return s;
}

/* A browser revalidates every time and keeps the drawing by its ETag. */
static void validators(http_request_t *req, const char *etag)
{
    http_response_header(req, "ETag", etag);
    http_response_header(req, "Cache-Control", "no-cache");
}

/* Answers 304 (and returns 1) when the browser has the drawing of `key`;
 * otherwise leaves its ETag in etag[48]. No layout is needed for a 304. */
static int not_modified(graph_api_t *g, http_request_t *req, const char *key, char etag[48])
{
    snprintf(etag, 48, "\"g%016" PRIx64 "\"", hash_bytes(hash_str(key), &g->salt, sizeof g->salt));
    if (!http_request_etag_fresh(req, etag))
        return 0;
    validators(req, etag);
    http_respond(req, 304, NULL, NULL, 0);
    return 1;
}

static void respond_svg(http_request_t *req, const slot_t *s, const char *etag, const char *name)
{
    if (!s) {
        http_respond_error(req, 500, "GraphError",
                           "Graphviz could not draw %s (or memory ran out)", name);
        return;
    }
    validators(req, etag);
    http_respond(req, 200, SVG_TYPE, s->svg, s->len);
}

static void layout_work(uv_work_t *w)
{
    layout_t *l = w->data;
    l->svg = graph_svg_render(l->dot, &l->len);
}

static void layout_start(graph_api_t *g);

static void layout_done(uv_work_t *w, int status)
{
    layout_t *l = w->data;
    graph_api_t *g = l->g;
    (void)status;
    assert(g->running == l);
    g->running = NULL;
    free(l->dot);
    const slot_t *s = l->svg ? cache_put(&g->machines, l->key, l->svg, l->len) : NULL;
    for (waiter_t *wt = l->waiters, *next; wt; wt = next) {
        next = wt->next;
        /* cache_put on the machines' cache happens only here, so `s` stays
         * valid across the callbacks. */
        wt->cb(g, s, wt->ud);
        free(wt);
    }
    free(l);
    layout_start(g);
}

static void layout_start(graph_api_t *g)
{
    while (!g->running && g->queue) {
        layout_t *l = g->queue;
        g->queue = l->next;
        g->queued--;
        l->work.data = l;
        if (uv_queue_work(g->api->loop, &l->work, layout_work, layout_done) == 0) {
            g->running = l;
            return;
        }
        for (waiter_t *wt = l->waiters, *next; wt; wt = next) {
            next = wt->next;
            wt->cb(g, NULL, wt->ud);
            free(wt);
        }
        free(l->dot);
        free(l);
    }
}

/* A queued or running layout of `key`, or NULL. */
static layout_t *layout_find(graph_api_t *g, const char *key)
{
    if (g->running && strcmp(g->running->key, key) == 0)
        return g->running;
    for (layout_t *l = g->queue; l; l = l->next)
        if (strcmp(l->key, key) == 0)
            return l;
    return NULL;
}

static size_t count_states(const asl_machine_t *m)
{
    size_t n = asl_machine_state_count(m);
    for (size_t i = 0; i < asl_machine_state_count(m); i++)
        for (size_t k = 0; k < asl_machine_state_branch_count(m, i); k++)
            n += count_states(asl_machine_state_branch(m, i, k));
    return n;
}

typedef enum {
    DRAWING_NOW = 0,       /* cb has run */
    DRAWING_LATER = 1,     /* cb runs when the layout is done */
    DRAWING_BUSY = -1,     /* too many layouts waiting: cb never runs */
    DRAWING_TOO_LARGE = -2,
    DRAWING_NO_MEMORY = -3
} drawing_rc_t;

/* The drawing of machine version `v`: from the cache at once, or after a
 * layout on the thread pool (joined when one for `key` is on its way).
 * When it returns an error, cb is never called. */
static drawing_rc_t machine_drawing(graph_api_t *g, const machine_ver_t *v, const char *key,
                                    drawing_cb cb, void *ud)
{
    const slot_t *s = cache_get(&g->machines, key);
    if (s) {
        cb(g, s, ud);
        return DRAWING_NOW;
    }
    waiter_t *wt = malloc(sizeof *wt);
    if (!wt)
        return DRAWING_NO_MEMORY;
    *wt = (waiter_t){cb, ud, NULL};
    layout_t *l = layout_find(g, key);
    if (l) {
        wt->next = l->waiters;
        l->waiters = wt;
        return DRAWING_LATER;
    }
    drawing_rc_t rc = count_states(v->machine) > GRAPH_MAX_STATES ? DRAWING_TOO_LARGE
                      : g->queued >= LAYOUT_QUEUE_MAX              ? DRAWING_BUSY
                                                                   : DRAWING_LATER;
    l = rc == DRAWING_LATER ? calloc(1, sizeof *l) : NULL;
    if (rc == DRAWING_LATER && (!l || !(l->dot = graph_dot(v->name, v->machine, NULL, NULL))))
        rc = DRAWING_NO_MEMORY;
    if (rc != DRAWING_LATER) {
        free(l);
        free(wt);
        return rc;
    }
    l->g = g;
    snprintf(l->key, sizeof l->key, "%s", key);
    l->waiters = wt;
    layout_t **tail = &g->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    g->queued++;
    layout_start(g);
    return DRAWING_LATER;
}

/* Answers a request whose drawing could not be had. */
static void respond_no_drawing(http_request_t *req, drawing_rc_t rc, const char *name)
{
    if (rc == DRAWING_BUSY) {
        http_response_header(req, "Retry-After", "1");
        http_respond_error(req, 503, "GraphBusy",
                           "%d graphs are being laid out; ask again in a moment", LAYOUT_QUEUE_MAX);
    } else if (rc == DRAWING_TOO_LARGE) {
        http_respond_error(req, 422, "GraphTooLarge",
                           "state machine '%s' has more than %d states, more than sagad draws; "
                           "`sagactl graph` prints its DOT for Graphviz's own tools", name,
                           GRAPH_MAX_STATES);
    } else {
        api_respond_no_memory(req, "cannot draw the graph now");
    }
}

static void machine_key(char key[160], const machine_ver_t *v)
{
    snprintf(key, 160, "m/%s/%d", v->name, v->version);
}

typedef struct machine_request_s {
    http_request_t *req;
    char key[160], etag[48], name[96];
} machine_request_t;

static void on_machine_drawn(graph_api_t *g, const slot_t *s, void *ud)
{
    machine_request_t *mr = ud;
    (void)g;
    respond_svg(mr->req, s, mr->etag, mr->name);
    free(mr);
}

static void on_machine_graph(http_request_t *req, void *ud)
{
    graph_api_t *g = ud;
    const char *name = http_request_param(req, "name");
    const char *ver = http_request_query(req, "version");
    const machine_ver_t *v;
    if (ver) {
        char *end;
        long n = strtol(ver, &end, 10);
        if (!*ver || *end || n < 1 || n > 1000000000) {
            http_respond_error(req, 400, "InvalidParameter", "version must be a positive integer");
            return;
        }
        v = machines_get_version(g->api->machines, name, (int)n);
        if (!v) {
            http_respond_error(req, 404, "StateMachineDoesNotExist",
                               "state machine '%s' has no version %ld", name, n);
            return;
        }
    } else if (!(v = machines_get(g->api->machines, name))) {
        http_respond_error(req, 404, "StateMachineDoesNotExist",
                           "no state machine named '%s'; PUT /state-machines/%s registers one",
                           name, name);
        return;
    }
    machine_request_t *mr = malloc(sizeof *mr);
    if (!mr) {
        api_respond_no_memory(req, "cannot draw the graph now");
        return;
    }
    mr->req = req;
    machine_key(mr->key, v);
    snprintf(mr->name, sizeof mr->name, "%s", v->name);
    if (not_modified(g, req, mr->key, mr->etag)) {
        free(mr);
        return;
    }
    drawing_rc_t rc = machine_drawing(g, v, mr->key, on_machine_drawn, mr);
    if (rc < 0) {
        respond_no_drawing(req, rc, v->name);
        free(mr);
    }
}

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* A request for an execution's drawing, kept while the machine's drawing
 * is laid out. Owns the execution's description and history. */
typedef struct exec_request_s {
    http_request_t *req;
    const machine_ver_t *v;      /* the registry keeps versions until close */
    cJSON *desc, *history;
    char key[512], etag[48];
} exec_request_t;

static void exec_request_free(exec_request_t *xr)
{
    cJSON_Delete(xr->history);
    cJSON_Delete(xr->desc);
    free(xr);
}

/* Paints the execution onto the machine's drawing `ms` (graph/paint.h): no
 * layout of its own. */
static void on_exec_machine_drawn(graph_api_t *g, const slot_t *ms, void *ud)
{
    exec_request_t *xr = ud;
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(xr->history, "events");
    graph_trace_t *tr =
        ms ? graph_trace_from_history(xr->v->machine, events, str_of(xr->desc, "status")) : NULL;
    graph_marks_t *mk = tr ? graph_dot_marks(xr->v->machine, tr) : NULL;
    size_t len = 0;
    char *svg = mk ? graph_paint(ms->svg, ms->len, mk, &len) : NULL;
    graph_marks_free(mk);
    graph_trace_free(tr);
    respond_svg(xr->req, svg ? cache_put(&g->executions, xr->key, svg, len) : NULL, xr->etag,
                xr->v->name);
    exec_request_free(xr);
}

static void on_execution_graph(http_request_t *req, void *ud)
{
    graph_api_t *g = ud;
    const char *id = http_request_param(req, "id");
    exec_request_t *xr = calloc(1, sizeof *xr);
    if (!xr) {
        api_respond_no_memory(req, "cannot draw the graph now");
        return;
    }
    xr->req = req;
    xr->desc = runtime_describe(g->api->runtime, id);
    xr->history = xr->desc ? runtime_history(g->api->runtime, id) : NULL;
    if (!xr->desc || !xr->history) {
        http_respond_error(req, 404, "ExecutionDoesNotExist", "no execution with id '%s'", id);
        exec_request_free(xr);
        return;
    }
    const char *name = str_of(xr->desc, "stateMachine"), *status = str_of(xr->desc, "status");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(xr->desc, "stateMachineVersion");
    xr->v = name && cJSON_IsNumber(ver)
                ? machines_get_version(g->api->machines, name, ver->valueint) : NULL;
    if (!xr->v) {
        http_respond_error(req, 404, "StateMachineDoesNotExist",
                           "the state machine execution %s ran is not stored", id);
        exec_request_free(xr);
        return;
    }
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(xr->history, "events");
    const cJSON *last = cJSON_GetArrayItem(events, cJSON_GetArraySize(events) - 1);
    snprintf(xr->key, sizeof xr->key, "x/%s/%.0f/%s", id,
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "id")), status ? status : "?");
    const slot_t *s;
    if (not_modified(g, req, xr->key, xr->etag)) {
        exec_request_free(xr);
    } else if ((s = cache_get(&g->executions, xr->key))) {
        respond_svg(req, s, xr->etag, xr->v->name);
        exec_request_free(xr);
    } else {
        char mkey[160];
        machine_key(mkey, xr->v);
        drawing_rc_t rc = machine_drawing(g, xr->v, mkey, on_exec_machine_drawn, xr);
        if (rc < 0) {
            respond_no_drawing(req, rc, xr->v->name);
            exec_request_free(xr);
        }
    }
}

int api_graph_register(http_server_t *srv, api_t *api)
{
    if (!the_graphs) {
        the_graphs = calloc(1, sizeof *the_graphs);
        if (!the_graphs || atexit(graphs_free) != 0) {
            free(the_graphs);
            the_graphs = NULL;
            return -1;
        }
        the_graphs->salt = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        the_graphs->executions.max = EXEC_SLOTS;
    }
    the_graphs->api = api;
    int rc = 0;
    rc |= http_server_route(srv, "GET", "/state-machines/{name}/graph.svg", on_machine_graph, the_graphs);
    rc |= http_server_route(srv, "GET", "/executions/{id}/graph.svg", on_execution_graph, the_graphs);
    return rc ? -1 : 0;
}
