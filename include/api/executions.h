/* The HTTP routes of state machines and executions, and /healthz: they
 * translate requests into registry and runtime calls. Every reply that
 * reports a change is sent after the change is durable. */
#ifndef SAGAD_API_EXECUTIONS_H
#define SAGAD_API_EXECUTIONS_H

#include "api/common.h"

/* Registers /healthz, /state-machines... and /executions... on `srv`.
 * `api` is borrowed and must outlive the server. Returns 0 or -1. */
int api_executions_register(http_server_t *srv, api_t *api);

/* Starts `mv` with `input` (and optional idempotency `name`), honouring
 * ?wait=SECONDS, and answers the request: 202 {"executionId","status"} with a
 * Location header, 200 with the full description when it ended in time,
 * 200 for an idempotent repeat, 409 for a name reused with other input.
 * For route groups that start executions of their own (a domain's POST). */
void api_start_execution(api_t *api, http_request_t *req, const machine_ver_t *mv,
                         const char *name, const cJSON *input);

/* api_start_execution of the version `named` (may be NULL: plain NAME)
 * names, as runtime_start_named. */
void api_start_named(api_t *api, http_request_t *req, const machine_ver_t *mv,
                     const runtime_named_t *named, const char *name, const cJSON *input);

#endif
