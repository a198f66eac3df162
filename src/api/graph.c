/* GET .../graph.svg: a state machine, or an execution's path through the
 * version it ran, laid out by Graphviz on the loop. A layout is CPU work, so
 * the drawings are kept in a small cache: a machine version never changes,
 * and an execution's drawing changes only with a new event. */
#include "api/graph.h"
#include "core/hash.h"
#include "graph/dot.h"
#include "graph/svg.h"
#include "graph/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SVG_TYPE "image/svg+xml; charset=utf-8"
#define CACHE_SLOTS 32

typedef struct slot_s {
    char *key;         /* NULL: empty */
    char *svg;
    size_t len;
    uint64_t used;     /* tick of the last use, for evicting the oldest */
} slot_t;

typedef struct graph_api_s {
    api_t *api;
    slot_t slot[CACHE_SLOTS];
    uint64_t tick;
    uint64_t salt;     /* in every ETag: a new process may draw differently */
} graph_api_t;

static graph_api_t *the_graphs;

static void graphs_free(void)
{
    graph_api_t *g = the_graphs;
    if (!g)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(g->slot[i].key);
        free(g->slot[i].svg);
    }
    free(g);
    the_graphs = NULL;
}

static const slot_t *cache_get(graph_api_t *g, const char *key)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (g->slot[i].key && strcmp(g->slot[i].key, key) == 0) {
            g->slot[i].used = ++g->tick;
            return &g->slot[i];
        }
    return NULL;
}

/* Stores `svg` (taken) under `key`, in place of the least recently used
 * drawing; without memory for the key the drawing is just not kept. */
static const slot_t *cache_put(graph_api_t *g, const char *key, char *svg, size_t len)
{
    slot_t *s = &g->slot[0];
    for (size_t i = 1; i < CACHE_SLOTS && s->key; i++)
        if (!g->slot[i].key || g->slot[i].used < s->used)
            s = &g->slot[i];
    char *k = strdup(key);
    if (!k) {
        free(svg);
        return NULL;
    }
    free(s->key);
    free(s->svg);
    *s = (slot_t){k, svg, len, ++g->tick};
    return s;
}

/* A browser revalidates every time and keeps the drawing by its ETag. */
static void validators(http_request_t *req, const char *etag)
{
    http_response_header(req, "ETag", etag);
    http_response_header(req, "Cache-Control", "no-cache");
}

/* Answers with the drawing of `m` under `key`, drawn now if not cached; a
 * browser that has it (If-None-Match) gets 304 without a layout. */
static void respond_svg(graph_api_t *g, http_request_t *req, const char *key, const char *name,
                        const asl_machine_t *m, const graph_trace_t *tr, const char *title)
{
    char etag[48];
    snprintf(etag, sizeof etag, "\"g%016" PRIx64 "\"", hash_bytes(hash_str(key), &g->salt, sizeof g->salt));
    const char *inm = http_request_header(req, "If-None-Match");
    if (inm && strstr(inm, etag)) {
        validators(req, etag);
        http_respond(req, 304, NULL, NULL, 0);
        return;
    }
    const slot_t *s = cache_get(g, key);
    if (!s) {
        char *dot = graph_dot(name, m, tr, title);
        size_t len = 0;
        char *svg = dot ? graph_svg_render(dot, &len) : NULL;
        free(dot);
        if (!svg) {
            http_respond_error(req, 500, "GraphError",
                               "Graphviz could not draw %s (or memory ran out)", name);
            return;
        }
        s = cache_put(g, key, svg, len);
        if (!s) {
            api_respond_no_memory(req, "cannot keep the drawing now");
            return;
        }
    }
    validators(req, etag);
    http_respond(req, 200, SVG_TYPE, s->svg, s->len);
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
    char key[160];
    snprintf(key, sizeof key, "m/%s/%d", v->name, v->version);
    respond_svg(g, req, key, v->name, v->machine, NULL, NULL);
}

static const char *str_of(const cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
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
    char key[512];
    snprintf(key, sizeof key, "x/%s/%.0f/%s", id,
             cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(last, "id")), status ? status : "?");
    if (cache_get(g, key)) {
        respond_svg(g, req, key, v->name, v->machine, NULL, NULL);
        goto out;
    }
    graph_trace_t *tr = graph_trace_from_history(v->machine, events, status);
    if (!tr) {
        api_respond_no_memory(req, "cannot draw the execution now");
        goto out;
    }
    char title[512];
    snprintf(title, sizeof title, "%s: execution %s (%s)", v->name, id, status ? status : "?");
    respond_svg(g, req, key, v->name, v->machine, tr, title);
    graph_trace_free(tr);
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
    }
    the_graphs->api = api;
    int rc = 0;
    rc |= http_server_route(srv, "GET", "/state-machines/{name}/graph.svg", on_machine_graph, the_graphs);
    rc |= http_server_route(srv, "GET", "/executions/{id}/graph.svg", on_execution_graph, the_graphs);
    return rc ? -1 : 0;
}
