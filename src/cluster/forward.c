/* Replaying a request to the node that can answer it: one libcurl request
 * per attempt (net/httpc.h), the original method, path, query, body and the
 * headers that matter (Host and the signature headers stay as the client
 * sent them, so SigV4 still verifies there). */
#include "cluster/forward.h"
#include "core/log.h"
#include "net/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint)"
#define FORWARD_TIMEOUT_MS 10000   /* stops and reports answer at once; waits are not replayed */
#define FORWARDED "X-Sagad-Forwarded"
#define TARGETS_MAX 16

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

struct forward_s {
    httpc_t *http;
    store_t *st;
    char self[128];
};

/* One replayed request and where it may go next. */
typedef struct replay_s {
    forward_t *f;
    http_request_t *req;
    char *targets[TARGETS_MAX];
    int n, next;
    int any;                /* a task report: "no such task" means "try the next node" */
    int pending;            /* a takeover is under way: "no such task" may not be final */
} replay_t;

/* "No such task" in either API's words: REST's 404, AWS's 400 TaskDoesNotExist. */
static int no_such_task(const httpc_response_t *res)
{
    return res->status == 404 ||
           (res->status == 400 && res->body && strstr(res->body, "TaskDoesNotExist"));
}

/* Every node said it has no such task while a takeover is under way. */
static void answer_takeover(http_request_t *req)
{
    http_response_header(req, "Retry-After", "1");
    http_respond_error(req, 503, "TakeoverInProgress",
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

static void on_answer(const httpc_response_t *res, void *data)
{
    replay_t *r = data;
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
        http_response_header(r->req, "Retry-After", "1");
        http_respond_error(r->req, 503, "NodeUnreachable",
                           "node %s runs this and did not answer (%s); retry: if it is down, "
                           "another node takes its executions over once its lease expires",
                           r->targets[r->next - 1], res->error ? res->error : "no answer");
        replay_free(r);
        return;
    }
    const char *ctype = NULL;
    for (size_t i = 0; i < res->n_headers; i++) {
        const httpc_header_t *h = &res->headers[i];
        if (strcmp(h->name, "content-type") == 0)
            ctype = h->value;
        else if (strcmp(h->name, "retry-after") == 0 || strcmp(h->name, "www-authenticate") == 0)
            http_response_header(r->req, h->name, h->value);
    }
    http_respond(r->req, res->status, ctype, res->body, res->body_len);
    replay_free(r);
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
        httpc_request_t hr = {.method = http_request_method(req), .url = url, .headers = hs,
                              .n_headers = nh, .body = blen ? body : NULL, .body_len = blen,
                              .timeout_ms = FORWARD_TIMEOUT_MS, .connect_timeout_ms = 2000};
        if (httpc_submit(r->f->http, &hr, on_answer, r, NULL) == 0)
            return 0;
    }
    return -1;
}

int forward_request(forward_t *f, http_request_t *req, const char *execution_id)
{
    if (!f || http_request_header(req, FORWARDED))
        return -1;
    replay_t *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->f = f;
    r->req = req;
    r->any = execution_id == NULL;
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

int forward_hook(void *ud, http_request_t *req, const char *execution_id)
{
    return forward_request(ud, req, execution_id);
}

int forward_open(uv_loop_t *loop, store_t *st, const char *self, forward_t **out)
{
    forward_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (httpc_open(loop, &f->http) < 0) {
        free(f);
        return -1;
    }
    f->st = st;
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
