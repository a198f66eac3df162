/* sagad:events.publish: emits an event through the transactional outbox.
 *
 *   input  {"detailType": str (or "detail-type"), "detail"?: any (default {}),
 *           "source"?: str (default "sagad.order")}
 *   result {"id", "source", "detail-type", "time", "executionId"}: the
 *          envelope written (events/outbox.h) without its detail.
 * The outbox row is written in the step's savepoint, so the event exists
 * exactly when the step that emitted it committed. */
#ifndef SAGAD_HANDLERS_PUBLISH_H
#define SAGAD_HANDLERS_PUBLISH_H

#include "engine/handler.h"

extern const handler_def_t handlers_events_publish;

#endif
