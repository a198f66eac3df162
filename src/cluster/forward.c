/* Replaying a request to the node that can answer it: one libcurl request
 * per attempt (net/httpc.h), the original method, path, query, body and the
 * headers that matter (Host and the signature headers stay as the client
 * sent them, so SigV4 still verifies there). */
#include "cluster/forward.h"
#include "api/aws.h"
#include "core/log.h"
#include "net/httpc.h"
#include "store/db.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint)"
#define FORWARD_TIMEOUT_MS 10000   /* stops and reports answer at once; waits are not replayed */
#define FORWARDED FORWARD_HEADER
#define TARGETS_MAX 16
#define POLL_TIMEOUT_MS 3000      /* a replayed poll does not wait: it answers at once */
#define POLL_LEFT_MIN_MS 100      /* less left than this: no node is asked */
#define POLL_WARN_MS 60000
#define POLL_GAP_MS 200           /* after finding nothing, an activity's next look */
#define POLL_ACTS 32              /* activities whose looks are remembered */

static const char SQL_OWNER[] =
    "SELECT n.addr FROM executions e JOIN nodes n ON n.node_id = e.owner "
    "WHERE e.id = ?1 AND n.node_id <> ?2 AND n.addr IS NOT NULL";
/* A node whose lease ran out still holds RUNNING executions: its tokens
 * become reportable again once another node took them over. */
static const char SQL_TAKEOVER_PENDING[] =
    "SELECT count(*) FROM nodes n WHERE n.lease_until_ms <= " NOW " AND EXISTS "
    "(SELECT 1 FROM executions e WHERE e.owner = n.node_id AND e.status = 'RUNNING')";
static const char SQL_LIVE[] =
    "SELECT addr FROM nodes WHERE node_id <> ?1 AND addr IS NOT NULL AND lease_until_ms > " NOW
    " ORDER BY node_id";

/* Sent on as the client sent them; the rest (hop by hop, lengths) is not. */
static const char *const PASSED[] = {"Host", "Content-Type", "Authorization", "Accept",
                                     "X-Amz-Target", "X-Amz-Date", "X-Amz-Content-Sha256",
                                     "X-Amz-Security-Token", "Idempotency-Key", NULL};

/* The last look elsewhere for one activity's polls. */
typedef struct poll_look_s {
    char name[128];
    int in_flight;         /* reserved, or under way */
    int64_t empty_ms;      /* when the last look found nothing (0: look at once) */
    int64_t used_ms;
    int64_t warned_ms;
} poll_look_t;

struct forward_s {
    httpc_t *http;
    store_t *st;
    serial_t *serial;
    char self[128];
    poll_look_t looks[POLL_ACTS];
};

/* One replayed request and where it may go next. */
typedef struct replay_s {
    forward_t *f;
    http_request_t *req;
    char *targets[TARGETS_MAX];
    int n, next;
    int any;                /* a task report: "no such task" means "try the next node" */
    int pending;            /* a takeover is under way: "no such task" may not be final */
    poll_look_t *look;      /* an activity poll: only an answer with a task ends it */
    forward_poll_cb poll_cb;
    void *poll_ud;
    int64_t deadline_ms;    /* the poll's: no node is asked past it */
} replay_t;

/* "No such task" in either API's words: REST's 404, AWS's 400 TaskDoesNotExist. */
static int no_such_task(const httpc_response_t *res)
{
    return res->status == 404 ||
           (res->status == 400 && res->body && strstr(res->body, "TaskDoesNotExist"));
}

/* A 503 with Retry-After in the words of the client's API: AWS JSON 1.0's
 * when it sent X-Amz-Target, else sagad's error. */
static void respond_503(http_request_t *req, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void respond_503(http_request_t *req, const char *type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    http_response_header(req, "Retry-After", "1");
    if (http_request_header(req, "X-Amz-Target"))
        api_aws_error(req, 503, type, "%s", msg);
    else
        http_respond_error(req, 503, type, "%s", msg);
}

/* Every node said it has no such task while a takeover is under way. */
static void answer_takeover(http_request_t *req)
{
    respond_503(req, "TakeoverInProgress",
                "no node runs this task now, and a node that stopped answering still "
                "holds executions until another takes them over (about lease_ms); "
                "report again in a moment");
}

static void replay_free(replay_t *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->targets[i]);
    free(r);
}

static int send_next(replay_t *r);
static void respond_as(http_request_t *req, const httpc_response_t *res);
static void poll_answer(replay_t *r, const httpc_response_t *res);

static void on_answer(const httpc_response_t *res, void *data)
{
    replay_t *r = data;
    if (r->look) {
        poll_answer(r, res);
        return;
    }
    if (r->any && (res->outcome != HTTPC_OK || no_such_task(res))) {
        if (res->outcome != HTTPC_OK)
            r->pending = 1;   /* it may hold the task: not a final "no such task" */
        if (r->next < r->n && send_next(r) == 0)
            return;
        if (r->pending) {
            answer_takeover(r->req);
            replay_free(r);
            return;
        }
    }
    if (res->outcome != HTTPC_OK) {
        log_warn("forward to %s failed: %s", r->targets[r->next - 1], res->error);
        respond_503(r->req, "NodeUnreachable",
                    "node %s runs this and did not answer (%s); retry: if it is down, "
                    "another node takes its executions over once its lease expires",
                    r->targets[r->next - 1], res->error ? res->error : "no answer");
        replay_free(r);
        return;
    }
    respond_as(r->req, res);
    replay_free(r);
}

/* Answers `req` with another node's answer, as that node gave it. */
static void respond_as(http_request_t *req, const httpc_response_t *res)
{
    const char *ctype = NULL;
    for (size_t i = 0; i < res->n_headers; i++) {
        const httpc_header_t *h = &res->headers[i];
        if (strcmp(h->name, "content-type") == 0)
            ctype = h->value;
        else if (strcmp(h->name, "retry-after") == 0 || strcmp(h->name, "www-authenticate") == 0)
            http_response_header(req, h->name, h->value);
    }
    http_respond(req, res->status, ctype, res->body, res->body_len);
}

/* Sends the request to targets[next]; 0, or -1 when none could be sent. */
static int send_next(replay_t *r)
{
    http_request_t *req = r->req;
    httpc_header_t hs[16];
    size_t nh = 0;
    for (int i = 0; PASSED[i]; i++) {
        const char *v = http_request_header(req, PASSED[i]);
        if (v)
            hs[nh++] = (httpc_header_t){PASSED[i], v};
    }
    hs[nh++] = (httpc_header_t){FORWARDED, r->f->self};
    size_t blen;
    const char *body = http_request_body(req, &blen);
    const char *q = http_request_raw_query(req);
    while (r->next < r->n) {
        const char *base = r->targets[r->next++];
        char url[4096];
        int len = snprintf(url, sizeof url, "%s%s%s%s", base, http_request_path(req),
                           q && *q ? "?" : "", q ? q : "");
        if (len < 0 || (size_t)len >= sizeof url)
            continue;
        int64_t timeout = FORWARD_TIMEOUT_MS;
        if (r->look) {
            int64_t left = r->deadline_ms - store_now_ms();
            if (left < POLL_LEFT_MIN_MS)
                return -1;
            timeout = left < POLL_TIMEOUT_MS ? left : POLL_TIMEOUT_MS;
        }
        httpc_request_t hr = {.method = http_request_method(req), .url = url, .headers = hs,
                              .n_headers = nh, .body = blen ? body : NULL, .body_len = blen,
                              .timeout_ms = timeout,
                              .connect_timeout_ms = timeout < 2000 ? timeout : 2000};
        if (httpc_submit(r->f->http, &hr, on_answer, r, NULL) == 0)
            return 0;
    }
    return -1;
}

/* A replay of `req` to the owner of `execution_id`, or to every other
 * live node (NULL); NULL when out of memory. */
static replay_t *replay_new(forward_t *f, http_request_t *req, const char *execution_id)
{
    replay_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->f = f;
    r->req = req;
    store_stmt_t *s = store_prepare(f->st, execution_id ? SQL_OWNER : SQL_LIVE);
    if (s) {
        store_bind_text(s, 1, execution_id ? execution_id : f->self);
        if (execution_id)
            store_bind_text(s, 2, f->self);
        while (r->n < TARGETS_MAX && store_step(s) == STORE_ROW) {
            const char *a = store_col_text(s, 0);
            if (a && (r->targets[r->n] = strdup(a)))
                r->n++;
        }
        store_reset(s);
    }
    return r;
}

int forward_request(forward_t *f, http_request_t *req, const char *execution_id)
{
    if (!f || http_request_header(req, FORWARDED))
        return -1;
    replay_t *r = replay_new(f, req, execution_id);
    if (!r)
        return -1;
    r->any = execution_id == NULL;
    store_stmt_t *s;
    if (r->any && (s = store_prepare(f->st, SQL_TAKEOVER_PENDING))) {
        r->pending = store_step(s) == STORE_ROW && store_col_int64(s, 0) > 0;
        store_reset(s);
    }
    if (send_next(r) < 0) {
        int pending = r->pending;
        replay_free(r);
        if (!pending)
            return -1;
        answer_takeover(req);
    }
    return 0;
}

/* ---- activity polls ------------------------------------------------------ */

static poll_look_t *look_find(forward_t *f, const char *activity, int add)
{
    poll_look_t *lru = &f->looks[0];
    for (int i = 0; i < POLL_ACTS; i++) {
        poll_look_t *l = &f->looks[i];
        if (strcmp(l->name, activity) == 0)
            return l;
        if (!l->in_flight && l->used_ms < lru->used_ms)
            lru = l;
    }
    if (!add || lru->in_flight)
        return NULL;
    memset(lru, 0, sizeof *lru);
    snprintf(lru->name, sizeof lru->name, "%s", activity);
    return lru;
}

int forward_poll_reserve(forward_t *f, const char *activity)
{
    poll_look_t *l = look_find(f, activity, 1);
    if (!l)
        return UV_EBUSY;
    int64_t now = store_now_ms();
    if (l->in_flight || (l->empty_ms && now - l->empty_ms < POLL_GAP_MS))
        return UV_EAGAIN;
    l->in_flight = 1;
    l->used_ms = now;
    return 0;
}

void forward_poll_release(forward_t *f, const char *activity)
{
    poll_look_t *l = look_find(f, activity, 0);
    if (l)
        l->in_flight = 0;
}

/* An answer with a task: REST's 200 {"taskToken": ...}, AWS's 200 with a
 * taskToken (its "nothing" is 200 {}). */
static int has_task(const httpc_response_t *res)
{
    return res->outcome == HTTPC_OK && res->status == 200 && res->body &&
           strstr(res->body, "\"taskToken\"") != NULL;
}

typedef struct poll_done_s {
    forward_poll_cb cb;
    void *ud;
    forward_poll_outcome_t outcome;
} poll_done_t;

static void poll_done(void *ud)
{
    poll_done_t *d = ud;
    d->cb(d->ud, d->outcome);
    free(d);
}

/* Ends the look and hands its outcome to the caller in an entry point of
 * the serializer of its own (the caller parks the poll again there). */
static void poll_finish(replay_t *r, forward_poll_outcome_t outcome)
{
    r->look->in_flight = 0;
    r->look->empty_ms = outcome == FORWARD_POLL_ANSWERED ? 0 : store_now_ms();
    poll_done_t *d = malloc(sizeof *d);
    if (d) {
        *d = (poll_done_t){r->poll_cb, r->poll_ud, outcome};
        if (serial_run(r->f->serial, poll_done, d) == 0) {
            replay_free(r);
            return;
        }
        free(d);
    }
    /* Out of memory: say so here, outside the serializer, rather than leave
     * the poll unanswered. */
    r->poll_cb(r->poll_ud, outcome == FORWARD_POLL_ANSWERED ? outcome : FORWARD_POLL_ABANDONED);
    replay_free(r);
}

static void poll_answer(replay_t *r, const httpc_response_t *res)
{
    if (has_task(res)) {
        /* Answered last: answering may end the daemon's last request. */
        http_request_t *req = r->req;
        poll_finish(r, FORWARD_POLL_ANSWERED);
        respond_as(req, res);
        return;
    }
    int64_t now = store_now_ms();
    if ((res->outcome != HTTPC_OK || (res->status != 200 && res->status != 204)) &&
        now - r->look->warned_ms >= POLL_WARN_MS) {
        /* Say why a node never hands over tasks (a refused credential, ...),
         * once a minute per activity. */
        r->look->warned_ms = now;
        if (res->outcome != HTTPC_OK)
            log_warn("activity %s: a poll at %s failed: %s", r->look->name,
                     r->targets[r->next - 1], res->error);
        else
            log_warn("activity %s: a poll at %s answered %d", r->look->name,
                     r->targets[r->next - 1], res->status);
    }
    /* A worker that is gone must not take a task it cannot receive. */
    if (!http_request_gone(r->req) && r->next < r->n && send_next(r) == 0)
        return;
    poll_finish(r, FORWARD_POLL_NOTHING);
}

int forward_poll(forward_t *f, http_request_t *req, const char *activity, int64_t left_ms,
                 forward_poll_cb cb, void *ud)
{
    poll_look_t *l = look_find(f, activity, 0);
    assert(l && l->in_flight);
    int rc = UV_EINVAL;
    replay_t *r = NULL;
    if (!http_request_header(req, FORWARDED)) {
        rc = (r = replay_new(f, req, NULL)) ? UV_ENOENT : UV_ENOMEM;
        if (r) {
            r->look = l;
            r->poll_cb = cb;
            r->poll_ud = ud;
            r->deadline_ms = store_now_ms() + left_ms;
            if (send_next(r) == 0)
                return 0;
            replay_free(r);
        }
    }
    l->in_flight = 0;
    l->empty_ms = store_now_ms();
    return rc;
}

int forward_open(uv_loop_t *loop, store_t *st, serial_t *serial, const char *self,
                 forward_t **out)
{
    forward_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (httpc_open(loop, &f->http) < 0) {
        free(f);
        return -1;
    }
    f->st = st;
    f->serial = serial;
    snprintf(f->self, sizeof f->self, "%s", self);
    *out = f;
    return 0;
}

void forward_close(forward_t *f)
{
    if (!f)
        return;
    httpc_close(f->http);
    free(f);
}
