/* Activity polls that look at the other nodes while they wait (api/polls.h).
 * A look takes the poll off this node's queue first, so a task can reach it
 * from one place only; when the other nodes had nothing it parks again for
 * the time it has left. */
#include "api/polls.h"

#include <stdlib.h>
#include <string.h>

#define LOOK_FIRST_MS 50    /* this node's own queue first */
#define LOOK_EVERY_MS 200

typedef struct share_s {
    api_t *api;
    http_request_t *req;
    tasks_poll_cb on_polled;
    char *activity;
    int64_t deadline_ms;
    tasks_poll_t *poll;       /* parked here; NULL while looking elsewhere */
    uv_timer_t timer;
    int queued;               /* a look waits for its turn in the serializer */
    int looking;              /* offered to the other nodes */
    int done;                 /* answered: freed once no look refers to it */
} share_t;

static void on_closed(uv_handle_t *h)
{
    share_t *s = h->data;
    free(s->activity);
    free(s);
}

static void share_free(share_t *s)
{
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

static int share_polled(void *ud, const char *token, const char *input)
{
    share_t *s = ud;
    s->poll = NULL;
    int rc = s->on_polled(s->req, token, input);
    s->done = 1;
    if (!s->queued)
        share_free(s);
    return rc;
}

static void on_timer(uv_timer_t *t);

/* Parks the poll here for the time it has left; answers it (nothing came)
 * when none is left or it cannot park. */
static void park_again(share_t *s)
{
    int64_t left = s->deadline_ms - store_now_ms();
    if (left > 0 && tasks_poll(s->api->runtime, s->activity, NULL, left, share_polled, s,
                               &s->poll) == RUNTIME_OK) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    s->done = 1;
    s->on_polled(s->req, NULL, NULL);
    share_free(s);
}

static void looked(void *ud, int answered)
{
    share_t *s = ud;
    s->looking = 0;
    if (answered) {
        s->done = 1;
        share_free(s);
        return;
    }
    park_again(s);
}

static void look(void *ud)
{
    share_t *s = ud;
    s->queued = 0;
    if (s->done) {
        share_free(s);
        return;
    }
    /* A poll whose worker is gone waits out its time here: a task handed to
     * it would be lost. */
    if (!s->poll || http_request_gone(s->req)) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    int rc = s->api->poll_elsewhere(s->api->forward_ud, s->req, s->activity, looked, s);
    if (rc != 0) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    /* The look is under way and no task can reach the poll here before this
     * entry point ends: take it off the queue. */
    tasks_poll_cancel(s->poll);
    s->poll = NULL;
    s->looking = 1;
}

static void on_timer(uv_timer_t *t)
{
    share_t *s = t->data;
    if (s->done || s->looking || s->queued)
        return;
    if (!s->api->poll_due(s->api->forward_ud, s->activity)) {
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
        return;
    }
    s->queued = 1;
    if (serial_run(s->api->serial, look, s) < 0) {
        s->queued = 0;
        uv_timer_start(&s->timer, on_timer, LOOK_EVERY_MS, 0);
    }
}

int api_poll_park(api_t *api, http_request_t *req, const char *activity, const char *worker,
                  int64_t wait_ms, tasks_poll_cb on_polled)
{
    tasks_poll_t *p;
    /* A poll another node replayed here takes what is queued and waits not. */
    if (http_request_header(req, HTTP_FORWARDED_HEADER))
        wait_ms = 0;
    if (!api->poll_elsewhere || wait_ms <= 0)
        return tasks_poll(api->runtime, activity, worker, wait_ms, on_polled, req, &p);
    share_t *s = calloc(1, sizeof *s);
    if (!s || !(s->activity = strdup(activity))) {
        free(s);
        return RUNTIME_ERR_STORAGE;
    }
    s->api = api;
    s->req = req;
    s->on_polled = on_polled;
    s->deadline_ms = store_now_ms() + wait_ms;
    int rc = tasks_poll(api->runtime, activity, worker, wait_ms, share_polled, s, &s->poll);
    if (rc != RUNTIME_OK) {
        free(s->activity);
        free(s);
        return rc;
    }
    uv_timer_init(api->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, LOOK_FIRST_MS, 0);
    return RUNTIME_OK;
}
