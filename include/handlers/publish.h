/* Emitting an event through the transactional outbox from a Task. A domain
 * registers a handler (e.g. sagad:events.publish, order/handlers.h) whose run
 * calls handlers_publish_run with the domain's event source.
 *
 *   input  {"detailType": str (or "detail-type"), "detail"?: any (default {}),
 *           "source"?: str (default: the registering domain's source)}
 *   result {"id", "source", "detail-type", "time", "executionId"}: the
 *          envelope written (events/outbox.h) without its detail.
 * The outbox row is written in the step's savepoint, so the event exists
 * exactly when the step that emitted it committed. Register the handler with
 * .atomic = 1: it makes one write, its last fallible step. */
#ifndef SAGAD_HANDLERS_PUBLISH_H
#define SAGAD_HANDLERS_PUBLISH_H

#include "engine/handler.h"

/* The handler's run for a domain whose events have source `default_source`
 * (borrowed, required) unless the input names another. Same contract as
 * handler_def_t.run. */
int handlers_publish_run(handler_call_t *call, const cJSON *input, const char *default_source,
                         cJSON **result, asl_error_t *err);

#endif
