/* GET .../graph.svg: a state machine, or an execution's path through the
 * version it ran. A machine version is laid out by Graphviz on the loop
 * once (CPU work, milliseconds) and kept; an execution is painted onto that
 * drawing (graph/paint.h) without a layout, and kept until its next event. */
#include "api/graph.h"
#include "core/grow.h"
#include "core/hash.h"
#include "graph/dot.h"
#include "graph/paint.h"
#include "graph/svg.h"
#include "graph/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SVG_TYPE "image/svg+xml; charset=utf-8"
#define EXEC_SLOTS 32

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

typedef struct graph_api_s {
    api_t *api;
    cache_t machines, executions;
    uint64_t salt;     /* in every ETag: a new process may draw differently */
} graph_api_t;

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
    const char *inm = http_request_header(req, "If-None-Match");
    if (!inm || !strstr(inm, etag))
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

/* The drawing of machine version `v`, laid out once and kept; NULL when
 * Graphviz failed or memory ran out. */
static const slot_t *machine_drawing(graph_api_t *g, const machine_ver_t *v, const char *key)
{
    const slot_t *s = cache_get(&g->machines, key);
    if (s)
        return s;
    char *dot = graph_dot(v->name, v->machine, NULL, NULL);
    size_t len = 0;
    char *svg = dot ? graph_svg_render(dot, &len) : NULL;
    free(dot);
    return svg ? cache_put(&g->machines, key, svg, len) : NULL;
}

static void machine_key(char key[160], const machine_ver_t *v)
{
    snprintf(key, 160, "m/%s/%d", v->name, v->version);
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
    char key[160], etag[48];
    machine_key(key, v);
    if (!not_modified(g, req, key, etag))
        respond_svg(req, machine_drawing(g, v, key), etag, v->name);
}

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The machine's drawing with the execution painted on (graph/paint.h):
 * no layout of its own. */
static const slot_t *execution_drawing(graph_api_t *g, const machine_ver_t *v, const char *key,
                                       const cJSON *events, const char *status)
{
    const slot_t *s = cache_get(&g->executions, key);
    if (s)
        return s;
    char mkey[160];
    machine_key(mkey, v);
    const slot_t *ms = machine_drawing(g, v, mkey);
    graph_trace_t *tr = ms ? graph_trace_from_history(v->machine, events, status) : NULL;
    graph_marks_t *mk = tr ? graph_dot_marks(v->machine, tr) : NULL;
    size_t len = 0;
    char *svg = mk ? graph_paint(ms->svg, ms->len, mk, &len) : NULL;
    graph_marks_free(mk);
    graph_trace_free(tr);
    return svg ? cache_put(&g->executions, key, svg, len) : NULL;
}

static void on_execution_graph(http_request_t *req, void *ud)
{
    graph_api_t *g = ud;
    const char *id = http_request_param(req, "id");
    cJSON *d = runtime_describe(g->api->runtime, id);
    cJSON *h = d ? runtime_history(g->api->runtime, id) : NULL;
    if (!d || !h) {
        http_respond_error(req, 404, "ExecutionDoesNotExist", "no execution with id '%s'", id);
        goto out;
    }
    const char *name = str_of(d, "stateMachine"), *status = str_of(d, "status");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(d, "stateMachineVersion");
    const machine_ver_t *v = name && cJSON_IsNumber(ver)
                                 ? machines_get_version(g->api->machines, name, ver->valueint) : NULL;
    if (!v) {
        http_respond_error(req, 404, "StateMachineDoesNotExist",
                           "the state machine execution %s ran is not stored", id);
        goto out;
    }
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(h, "events");
    const cJSON *last = cJSON_GetArrayItem(events, cJSON_GetArraySize(events) - 1);
    char key[512], etag[48];
    snprintf(key, sizeof key, "x/%s/%.0f/%s", id,
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "id")), status ? status : "?");
    if (!not_modified(g, req, key, etag))
        respond_svg(req, execution_drawing(g, v, key, events, status), etag, v->name);
out:
    cJSON_Delete(h);
    cJSON_Delete(d);
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
