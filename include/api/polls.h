/* Parking an activity poll for either API. On several nodes a parked poll
 * also looks, every moment, for a task queued on another node (one look per
 * activity at a time), so workers may poll any node. */
#ifndef SAGAD_API_POLLS_H
#define SAGAD_API_POLLS_H

#include "api/common.h"
#include "engine/tasks.h"

/* tasks_poll for `req`: on_polled(req, token, input) answers it (as
 * tasks_poll_cb). Returns what tasks_poll returns; on RUNTIME_OK on_polled
 * runs once, or `req` is answered by another node that had a task. On one
 * node this is tasks_poll itself. */
int api_poll_park(api_t *api, http_request_t *req, const char *activity, const char *worker,
                  int64_t wait_ms, tasks_poll_cb on_polled);

#endif
