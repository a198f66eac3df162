/* GET /metrics in the Prometheus text format, and the counters behind it:
 * HTTP responses by method, route and status, starts and ends per state
 * machine, the runtime's, SQLite's and the outbox's figures. */
#ifndef SAGAD_API_METRICS_H
#define SAGAD_API_METRICS_H

#include "api/common.h"

/* GET /metrics and the HTTP observer that counts every response. Call once
 * per process (the counters are process-wide). `api` is borrowed and must
 * outlive the server. Returns 0 or -1. */
int api_metrics_register(http_server_t *srv, api_t *api);

/* The runtime's on_count hook (runtime_opts_t): counts starts and ends per
 * state machine for /metrics. `ud` is unused. */
void api_metrics_count(void *ud, const char *machine, const char *status);

#endif
