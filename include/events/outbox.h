/* The transactional outbox: an event is a row written in the same transaction
 * as the step that emits it; the relay (events/relay.h) publishes rows in seq
 * order and deletes them once Redis has them.
 *
 * Envelope, one JSON object (the source names the emitting domain):
 *   {"id": "<UUID v7>", "source": "sagad.order", "detail-type": "Processed",
 *    "time": "2026-11-25T12:00:00.123Z", "executionId": "...", "detail": {...}} */
#ifndef SAGAD_EVENTS_OUTBOX_H
#define SAGAD_EVENTS_OUTBOX_H

#include <cJSON.h>
#include <stdint.h>

#include "store/db.h"

/* Builds an envelope with a fresh id. `source` (borrowed, required) is the
 * caller's: the domain that emits the event. `detail` is copied (NULL gives
 * {}); `execution_id` NULL gives null. Caller frees with cJSON_Delete; NULL
 * on no memory. */
cJSON *outbox_envelope(const char *source, const char *detail_type, int64_t time_ms,
                       const char *execution_id, const cJSON *detail);

/* Appends the envelope as one outbox row in the caller's transaction (or on
 * its own when none is open). Returns 0 or a negative store code (store/db.h). */
int outbox_append(store_t *st, const cJSON *envelope, int64_t now_ms);

/* Rows waiting for the relay, or a negative store code. */
int64_t outbox_backlog(store_t *st);

#endif
