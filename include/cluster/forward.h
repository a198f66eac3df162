/* Requests for an execution another node runs: replayed over HTTP to that
 * node (found in `nodes` through the execution's owner), whose answer goes
 * back as is. Task reports carry no execution id: they are offered to each
 * other live node in turn until one knows the token. A replayed request
 * carries X-Sagad-Forwarded and is never replayed again. */
#ifndef SAGAD_CLUSTER_FORWARD_H
#define SAGAD_CLUSTER_FORWARD_H

#include <uv.h>

#include "http/server.h"
#include "store/db.h"

typedef struct forward_s forward_t;

/* For the node `self` (copied) on `st` (borrowed, the runtime's session).
 * 0 or -1 (out of memory, libcurl could not start). */
int forward_open(uv_loop_t *loop, store_t *st, const char *self, forward_t **out);

/* Frees. Call after the HTTP server closed: every replayed request has been
 * answered by then (the server waits for them). */
void forward_close(forward_t *f);

/* Replays `req` to the node that runs `execution_id`, or with NULL to each
 * other live node in turn until one answers other than 404. 0: `req` will
 * be answered; -1: nothing to replay to (no other node, or `req` was
 * replayed to us already): the caller answers it. From an entry point of
 * the serializer (it reads `nodes`). */
int forward_request(forward_t *f, http_request_t *req, const char *execution_id);

/* The api_t hook (api/common.h): forward_request with `ud` a forward_t. */
int forward_hook(void *ud, http_request_t *req, const char *execution_id);

#endif
