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
 * be answered; -1: nothing to replay to (`f` NULL on one node, no other
 * node, or `req` was replayed to us already): the caller answers it. From an entry point of
 * the serializer (it reads `nodes`). */
int forward_request(forward_t *f, http_request_t *req, const char *execution_id);

/* What a request replayed by another node carries (value: that node's id):
 * it is answered here, never replayed again, and an activity poll with it
 * does not wait. */
#define FORWARD_HEADER "X-Sagad-Forwarded"

/* How a look at the other nodes for a parked poll ended. */
typedef enum forward_poll_outcome_e {
    FORWARD_POLL_NOTHING,    /* no node had a task: the request is the caller's again */
    FORWARD_POLL_ANSWERED,   /* a node's task answers the request (done or under way) */
    FORWARD_POLL_ABANDONED   /* out of memory; called outside the serializer: answer the
                              * request with nothing and touch nothing else */
} forward_poll_outcome_t;

/* Runs once per look, in an entry point of the serializer (but see
 * FORWARD_POLL_ABANDONED). */
typedef void (*forward_poll_cb)(void *ud, forward_poll_outcome_t outcome);

/* Reserves the one look at a time the polls of `activity` have: 0, or
 * UV_EAGAIN (a look is reserved or under way, or the last one found nothing
 * a moment ago) or UV_EBUSY (too many activities look at once). Memory
 * only: callable from anywhere. */
int forward_poll_reserve(forward_t *f, const char *activity);

/* Gives a reservation back unused. */
void forward_poll_release(forward_t *f, const char *activity);

/* With the reservation: offers the parked poll `req` for `activity` to each
 * other live node in turn, as a poll that does not wait there, until one
 * hands it a task, asking none once less than a moment of `left_ms` is
 * left. 0: under way, cb runs once; otherwise the reservation is released,
 * cb is never called, and it returns UV_ENOENT (no other live node, or no
 * time left), UV_EINVAL (`req` was replayed to us) or UV_ENOMEM. From an entry point
 * of the serializer (it reads `nodes`). */
int forward_poll(forward_t *f, http_request_t *req, const char *activity, int64_t left_ms,
                 forward_poll_cb cb, void *ud);

#endif
