/* Requests for an execution another node runs: replayed over HTTP to that
 * node (found in `nodes` through the execution's owner), whose answer goes
 * back as is. Task reports carry no execution id: they are offered to each
 * other live node in turn until one knows the token. A replayed request
 * carries X-Sagad-Forwarded and is never replayed again. An activity poll
 * parked here is also offered, now and then, to the other nodes, as a poll
 * that does not wait there: a task queued on any node reaches a worker that
 * polls any node. */
#ifndef SAGAD_CLUSTER_FORWARD_H
#define SAGAD_CLUSTER_FORWARD_H

#include <uv.h>

#include "core/serial.h"
#include "http/server.h"
#include "store/db.h"

typedef struct forward_s forward_t;

/* For the node `self` (copied) on `st` (borrowed, the runtime's session),
 * whose entry points `serial` (borrowed) runs. 0 or -1 (out of memory,
 * libcurl could not start). */
int forward_open(uv_loop_t *loop, store_t *st, serial_t *serial, const char *self,
                 forward_t **out);

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

/* How an offered poll ended: answered 1 when a node handed it a task (the
 * poll's request has been answered with that node's answer), 0 when none had
 * one (the request is the caller's again). Runs in an entry point of the
 * serializer. */
typedef void (*forward_poll_cb)(void *ud, int answered);

/* 1 when the polls of `activity` may look at the other nodes now: no look is
 * under way and the last one that found nothing is a moment old. Memory
 * only: callable from anywhere. */
int forward_poll_due(const forward_t *f, const char *activity);

/* Offers the parked poll `req` for `activity` to each other live node in
 * turn until one hands it a task; cb(ud, answered) once then. 0: under way;
 * 1: not due (forward_poll_due); -1: no other live node, `req` was replayed
 * to us, or out of memory. cb is not called unless 0 is returned. From an
 * entry point of the serializer (it reads `nodes`). */
int forward_poll(forward_t *f, http_request_t *req, const char *activity, forward_poll_cb cb,
                 void *ud);

/* The api_t hooks (api/common.h) for the two above, `ud` a forward_t. */
int forward_poll_hook(void *ud, http_request_t *req, const char *activity,
                      void (*cb)(void *ud, int answered), void *cb_ud);
int forward_poll_due_hook(void *ud, const char *activity);

#endif
