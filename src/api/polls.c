/* Activity polls that look at the other nodes while they wait (api/polls.h).
 * A look takes the poll off this node's queue first, so a task can reach it
 * from one place only; when the other nodes had nothing it parks again for
 * the time it has left. */
#include "api/polls.h"
#include "cluster/forward.h"

#include <stdlib.h>
#include <string.h>

#define LOOK_FIRST_MS 50    /* this node's own queue first */
#define LOOK_EVERY_MS 200
#define LOOK_ONCE_MS 1000   /* a poll that does not wait: its one look's budget */

typedef struct share_s {
    api_t *api;
    http_request_t *req;
    tasks_poll_cb on_polled;
    char *activity;
    char *worker;             /* may be NULL */
    int64_t deadline_ms;
    tasks_poll_t *poll;       /* parked here; NULL while looking elsewhere */
    uv_timer_t timer;
    int looks;                /* looks made */
    int queued;               /* a look (reserved) waits for its turn in the serializer */
    int looking;              /* offered to the other nodes */
    int done;                 /* answered: freed once no look refers to it */
} share_t;

static void on_timer(uv_timer_t *t);

static void on_closed(uv_handle_t *h)
{
    share_t *s = h->data;
    free(s->activity);
    free(s->worker);
    free(s);
}

static void share_free(share_t *s)
{
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

/* Answers "nothing" and frees: the request (answering frees it) and `s`. */
static void share_end(share_t *s)
{
    s->done = 1;
    s->on_polled(s->req, NULL, NULL);
    share_free(s);
}

static void looked(void *ud, forward_poll_outcome_t outcome);

/* With a reservation: offers the poll to the other nodes. 0 when under way
 * (the local poll, if any, is the caller's to cancel), else negative. */
static int start_look(share_t *s, int64_t left_ms)
{
    int rc = forward_poll(s->api->cluster, s->req, s->activity, left_ms, looked, s);
    if (rc == 0) {
        s->looking = 1;
        s->looks++;
    }
    return rc;
}

static int share_polled(void *ud, const char *token, const char *input)
{
    share_t *s = ud;
    s->poll = NULL;
    /* Nothing came here and the poll never looked elsewhere (it does not
     * wait, or waits only a moment): one look before it answers. */
    if (!token && !s->looks && !s->queued && !http_request_gone(s->req) &&
        forward_poll_reserve(s->api->cluster, s->activity) == 0) {
        int64_t left = s->deadline_ms - store_now_ms();
        if (start_look(s, left > LOOK_ONCE_MS ? left : LOOK_ONCE_MS) == 0)
            return 0;
    }
    int rc = s->on_polled(s->req, token, input);
    s->done = 1;
    if (!s->queued)
        share_free(s);
    return rc;
}

/* Parks the poll here again for the time it has left; answers it (nothing
 * came) when none is left, its worker is gone, or it cannot park. */
static void park_again(share_t *s)
{
    int64_t left = s->deadline_ms - store_now_ms();
    if (left > 0 && !http_request_gone(s->req) &&
        tasks_poll(s->api->runtime, s->activity, s->worker, left, share_polled, s, &s->poll) ==
            RUNTIME_OK) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    share_end(s);
}

static void looked(void *ud, forward_poll_outcome_t outcome)
{
    share_t *s = ud;
    s->looking = 0;
    if (outcome == FORWARD_POLL_ANSWERED) {
        s->done = 1;
        share_free(s);
    } else if (outcome == FORWARD_POLL_ABANDONED) {
        share_end(s);
    } else {
        park_again(s);
    }
}

static void look(void *ud)
{
    share_t *s = ud;
    s->queued = 0;
    if (s->done) {
        forward_poll_release(s->api->cluster, s->activity);
        share_free(s);
        return;
    }
    /* A poll whose worker is gone ends now: no task is handed to it. */
    if (http_request_gone(s->req)) {
        forward_poll_release(s->api->cluster, s->activity);
        tasks_poll_cancel(s->poll);
        s->poll = NULL;
        share_end(s);
        return;
    }
    if (start_look(s, s->deadline_ms - store_now_ms()) < 0) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    /* The look is under way and no task can reach the poll here before this
     * entry point ends: take it off the queue. */
    tasks_poll_cancel(s->poll);
    s->poll = NULL;
}

static void on_timer(uv_timer_t *t)
{
    share_t *s = t->data;
    if (s->done || s->looking || s->queued)
        return;
    /* Reserved before it queues, so parked polls do not each take a turn
     * of the serializer only to find that another one is looking. */
    if (forward_poll_reserve(s->api->cluster, s->activity) < 0) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    s->queued = 1;
    if (serial_run(s->api->serial, look, s) < 0) {
        s->queued = 0;
        forward_poll_release(s->api->cluster, s->activity);
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
    }
}

int api_poll_park(api_t *api, http_request_t *req, const char *activity, const char *worker,
                  int64_t wait_ms, tasks_poll_cb on_polled)
{
    tasks_poll_t *p;
    if (!api->cluster)
        return tasks_poll(api->runtime, activity, worker, wait_ms, on_polled, req, &p);
    /* A poll another node replayed here takes what is queued and waits not. */
    if (http_request_header(req, FORWARD_HEADER))
        return tasks_poll(api->runtime, activity, worker, 0, on_polled, req, &p);
    share_t *s = calloc(1, sizeof *s);
    if (!s || !(s->activity = strdup(activity)) || (worker && !(s->worker = strdup(worker)))) {
        if (s)
            free(s->activity);
        free(s);
        return RUNTIME_ERR_STORAGE;
    }
    s->api = api;
    s->req = req;
    s->on_polled = on_polled;
    s->deadline_ms = store_now_ms() + (wait_ms > 0 ? wait_ms : 0);
    int rc = tasks_poll(api->runtime, activity, worker, wait_ms, share_polled, s, &s->poll);
    if (rc != RUNTIME_OK) {
        free(s->worker);
        free(s->activity);
        free(s);
        return rc;
    }
    uv_timer_init(api->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, LOOK_FIRST_MS, 0);
    return RUNTIME_OK;
}
