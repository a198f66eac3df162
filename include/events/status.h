/* Execution status events: each status change the runtime reports (its
 * on_status hook) becomes an outbox row in the same transaction, source
 * "sagad.executions", detail-type "Execution Status Change", filtered by the
 * execution_events config key. */
#ifndef SAGAD_EVENTS_STATUS_H
#define SAGAD_EVENTS_STATUS_H

#include "core/config.h"
#include "engine/runtime.h"
#include "store/db.h"

#define STATUS_EVENTS_SOURCE "sagad.executions"
#define STATUS_EVENTS_DETAIL_TYPE "Execution Status Change"

typedef struct status_events_s {
    store_t *store;              /* borrowed */
    config_exec_events_t mode;
    int payload;                 /* add input and output */
} status_events_t;

/* The on_status hook of runtime_opts_t; `ud` is a status_events_t. Appends
 * the event when `mode` wants this status. Returns 0, or -1 when the row
 * could not be written (the runtime then rolls the step back). */
int status_events_on_status(void *ud, const runtime_status_change_t *c);

#endif
