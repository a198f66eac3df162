/* The HTTP API of SPEC §5: routes that translate requests into runtime,
 * registry and store calls. Every reply that reports a change is sent after
 * the change is durable. */
#ifndef SAGAD_API_API_H
#define SAGAD_API_API_H

#include "core/config.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "events/relay.h"
#include "http/server.h"
#include "store/db.h"

typedef struct api_s {
    store_t *store;
    machines_t *machines;
    runtime_t *runtime;
    const config_t *cfg;
    /* Extra health facts (Redis, outbox); may be NULL. Adds members to `o`. */
    void (*health)(cJSON *o, void *ud);
    void *health_ud;
    /* The outbox relay, for /metrics; NULL when there is none. */
    relay_t *relay;
} api_t;

/* Registers the state-machine and execution routes, /healthz, /metrics and
 * the order routes.
 * `api` must outlive the server. Returns 0 or -1. */
int api_register(http_server_t *srv, api_t *api);

/* GET /metrics (Prometheus text format) and the HTTP observer that counts
 * every response by method, route and status. Call once per process (the
 * counters are process-wide). Returns 0 or -1. */
int api_register_metrics(http_server_t *srv, api_t *api);

/* The runtime's on_count hook (runtime_opts_t): counts starts and ends per
 * state machine for /metrics. `ud` is unused. */
void api_metrics_count(void *ud, const char *machine, const char *status);

/* The order saga's routes: POST /order, /orders, /stock. Returns 0 or -1. */
int api_register_orders(http_server_t *srv, api_t *api);

/* Helpers shared by the route modules. */

/* Parses the request body as JSON, strictly (core/jsonin.h: bad UTF-8, lone
 * surrogates, duplicate keys, integers beyond 2^53 are refused); on failure
 * answers 400 InvalidJson saying what and at which byte (503 OutOfMemory
 * without memory) and returns NULL. Caller frees with cJSON_Delete. */
cJSON *api_body_json(http_request_t *req);

/* ?limit=N (1..1000) into *limit, left as is when absent. On a bad value
 * answers 400 and returns -1. */
int api_query_limit(http_request_t *req, int *limit);

/* Starts `mv` with `input` (and optional idempotency `name`), honouring
 * ?wait=SECONDS, and answers the request: 202 {"executionId","status"} with a
 * Location header, 200 with the full description when it ended in time,
 * 200 for an idempotent repeat, 409 for a name reused with other input. */
void api_start_execution(api_t *api, http_request_t *req, const machine_ver_t *mv,
                         const char *name, const cJSON *input);

#endif
