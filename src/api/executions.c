/* Routes for state machines and executions. Start replies
 * wait for the runtime's commit; ?wait=SECONDS waits for the end. */
#include "api/executions.h"
#include "asl/json.h"
#include "cluster/forward.h"
#include "core/exec_status.h"
#include "core/jsonin.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MAX_SECONDS 60

/* A request that waits on an execution: a start with ?wait, or a
 * description with ?wait. */
typedef struct exec_wait_s {
    api_t *api;
    http_request_t *req;
    int64_t wait_ms;
    char *id;
} exec_wait_t;

/* ?wait=SECONDS: -1 when absent, or answers 400 and returns -2. */
static int64_t wait_param(http_request_t *req)
{
    const char *w = http_request_query(req, "wait");
    if (!w)
        return -1;
    char *end;
    double secs = strtod(w, &end);
    if (!*w || *end || !(secs >= 0) || secs > WAIT_MAX_SECONDS) {
        http_respond_error(req, 400, "InvalidParameter",
                           "wait must be a number of seconds from 0 to %d", WAIT_MAX_SECONDS);
        return -2;
    }
    return (int64_t)(secs * 1000);
}

static void reply_started(http_request_t *req, int status, const char *id, const char *state)
{
    char loc[256];
    snprintf(loc, sizeof loc, "/executions/%s", id);
    http_response_header(req, "Location", loc);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "executionId", id);
    cJSON_AddStringToObject(o, "status", state);
    http_respond_json(req, status, o);
    cJSON_Delete(o);
}

static void on_waited(void *ud)
{
    exec_wait_t *c = ud;
    cJSON *d = runtime_describe(c->api->runtime, c->id);
    const char *st = d ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status")) : NULL;
    if (d && st && strcmp(st, "RUNNING") != 0) {
        char loc[256];
        snprintf(loc, sizeof loc, "/executions/%s", c->id);
        http_response_header(c->req, "Location", loc);
        http_respond_json(c->req, 200, d);
    } else {
        reply_started(c->req, 202, c->id, "RUNNING");
    }
    cJSON_Delete(d);
    free(c->id);
    free(c);
}

/* Answers a start, from its callback or at once; takes c. */
static void answer_start(exec_wait_t *c, int status, const char *id)
{
    switch (status) {
    case RUNTIME_OK:
    case RUNTIME_EXISTS:
        /* The start is committed: without memory to wait, answer at once. */
        if (c->wait_ms >= 0 && (c->id = strdup(id))) {
            if (runtime_wait(c->api->runtime, id, c->wait_ms ? c->wait_ms : 1, on_waited, c) != RUNTIME_OK)
                on_waited(c);   /* ended already, or no waiting now: describe it */
            return;
        }
        if (status == RUNTIME_OK) {
            reply_started(c->req, 202, id, "RUNNING");
        } else {
            cJSON *d = runtime_describe(c->api->runtime, id);
            const char *st = d ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status")) : NULL;
            reply_started(c->req, 200, id, st ? st : "RUNNING");
            cJSON_Delete(d);
        }
        break;
    case RUNTIME_ERR_CONFLICT:
        http_respond_error(c->req, 409, "ExecutionAlreadyExists",
                           "execution %s already has this name with a different input; "
                           "use another name or the same input", id);
        break;
    case RUNTIME_ERR_STOPPING:
        http_respond_error(c->req, 503, "ServiceUnavailable", "sagad is shutting down; retry shortly");
        break;
    case RUNTIME_ERR_INPUT:
        http_respond_error(c->req, 413, "States.DataLimitExceeded",
                           "the execution input is larger than %d bytes", ASL_PAYLOAD_LIMIT);
        break;
    default:
        http_respond_error(c->req, 503, "StorageError",
                           "the database did not confirm the start (see /healthz); retry with the "
                           "same name or Idempotency-Key, which starts it at most once");
        break;
    }
    free(c);
}

static void on_started(void *ud, runtime_status_t status, const char *id)
{
    answer_start(ud, status, id);
}

void api_start_execution(api_t *api, http_request_t *req, const machine_ver_t *mv,
                         const char *name, const cJSON *input)
{
    api_start_named(api, req, mv, NULL, name, input);
}

void api_start_named(api_t *api, http_request_t *req, const machine_ver_t *mv,
                     const runtime_named_t *named, const char *name, const cJSON *input)
{
    int64_t wait_ms = wait_param(req);
    if (wait_ms == -2)
        return;
    if (name && (!*name || strlen(name) > 80)) {
        http_respond_error(req, 400, "InvalidName", "an execution name has 1 to 80 characters");
        return;
    }
    exec_wait_t *c = calloc(1, sizeof *c);
    if (!c) {
        api_respond_no_memory(req, "cannot start an execution now");
        return;
    }
    c->api = api;
    c->req = req;
    c->wait_ms = wait_ms;
    char id[RUNTIME_ID_SIZE] = "";
    int rc = runtime_start_named(api->runtime, mv, named, name, input, id, on_started, c);
    if (rc == RUNTIME_ERR_NOT_ALLOWED) {
        char why[MACHINES_WHY_SIZE + 512];
        api_denied_text(api, mv, why, sizeof why);
        http_respond_error(req, 409, "HandlerNotAllowed", "%s", why);
        free(c);
    } else if (rc != RUNTIME_OK) {
        answer_start(c, rc, id);   /* refused or already durable: on_started will not run */
    }
}

/* ---- state machines -------------------------------------------------------- */

static void add_created(cJSON *o, int64_t ms)
{
    char buf[TIMEFMT_MAX];
    cJSON_AddStringToObject(o, "createdDate", timefmt_utc_ms(ms, buf));
}

static cJSON *machine_json(const machine_ver_t *v, int with_definition)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddNumberToObject(o, "version", v->version);
    add_created(o, v->created_ms);
    if (v->source)
        cJSON_AddStringToObject(o, "source", v->source);
    if (with_definition) {
        cJSON *d = cJSON_Parse(v->definition);
        cJSON_AddItemToObject(o, "definition", d ? d : cJSON_CreateNull());
    }
    return o;
}

static void on_put_machine(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    if (!machines_valid_name(name)) {
        http_respond_error(req, 400, "InvalidName",
                           "a state machine name has 1 to 80 of the characters A-Z a-z 0-9 _ . -");
        return;
    }
    size_t len;
    const char *body = http_request_body(req, &len);
    /* Text that is not JSON at all is the definition's problem (reported
     * with the others); JSON that cJSON would take changed is refused here. */
    jsonin_error_t e;
    int bad = jsonin_check(body, len, &e);
    if (bad < 0 && bad != JSONIN_ERR_SYNTAX) {
        api_respond_bad_json(req, bad, &e);
        return;
    }
    asl_problems_t p;
    asl_problems_init(&p);
    const machine_ver_t *v = NULL;
    int rc = machines_put(api->machines, name, body, len, &p, &v);
    if (rc == -1) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", "InvalidDefinition");
        char msg[512] = "the definition is invalid";
        if (p.count) {
            const asl_problem_t *f = &p.items[0];
            snprintf(msg, sizeof msg, "%zu problem%s; first: state %s, field %s: %s", p.count,
                     p.count == 1 ? "" : "s", f->state ? f->state : "(top level)",
                     f->field ? f->field : "-", f->message);
        }
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddItemToObject(o, "problems", asl_problems_to_json(&p));
        http_respond_json(req, 400, o);
        cJSON_Delete(o);
    } else if (rc < 0) {
        http_respond_error(req, 503, "StorageError", "the definition could not be stored; retry");
    } else {
        cJSON *o = machine_json(v, 0);
        char loc[256];
        snprintf(loc, sizeof loc, "/state-machines/%s", name);
        http_response_header(req, "Location", loc);
        http_respond_json(req, rc == MACHINES_CREATED ? 201 : 200, o);
        cJSON_Delete(o);
    }
    asl_problems_free(&p);
}

static void add_machine_cb(const machine_ver_t *v, void *ud)
{
    cJSON_AddItemToArray(ud, machine_json(v, 0));
}

static void on_list_machines(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "stateMachines");
    if (!arr) {
        cJSON_Delete(o);
        api_respond_no_memory(req, "cannot list the state machines now");
        return;
    }
    machines_foreach(api->machines, add_machine_cb, arr);
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static void add_version_cb(int version, int64_t created_ms, void *ud)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "version", version);
    add_created(o, created_ms);
    cJSON_AddItemToArray(ud, o);
}

static void on_list_versions(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "versions") : NULL;
    int n = arr ? machines_versions(api->machines, name, add_version_cb, arr) : -1;
    if (n < 0)
        http_respond_error(req, 503, "StorageError", "cannot read the versions now; retry");
    else if (n == 0)
        http_respond_error(req, 404, "StateMachineDoesNotExist",
                           "no state machine named '%s'; PUT /state-machines/%s registers one",
                           name, name);
    else if (cJSON_GetArraySize(arr) != n)
        api_respond_no_memory(req, "cannot list the versions now");
    else
        http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static void on_get_machine(http_request_t *req, void *ud)
{
    const machine_ver_t *v = api_machine_version(ud, req);
    if (!v)
        return;
    cJSON *o = machine_json(v, 1);
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static void on_start(http_request_t *req, void *ud)
{
    api_t *api = ud;
    runtime_named_t named;
    const machine_ver_t *v = api_machine_version_named(api, req, &named);
    if (!v)
        return;
    size_t len;
    http_request_body(req, &len);
    cJSON *body = len ? api_body_json(req) : cJSON_CreateObject();
    if (!body) {
        if (!len)
            api_respond_no_memory(req, "cannot start an execution now");
        return;
    }
    static const char *const fields[] = {"input", "name", NULL};
    if (!cJSON_IsObject(body)) {
        http_respond_error(req, 400, "InvalidRequest",
                           "the body must be a JSON object {\"input\": ..., \"name\": optional}");
        cJSON_Delete(body);
        return;
    }
    if (api_body_only(req, body, fields) < 0) {
        cJSON_Delete(body);
        return;
    }
    cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
    if (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
        http_respond_error(req, 400, "InvalidName", "name must be a string");
        cJSON_Delete(body);
        return;
    }
    cJSON *empty = input ? NULL : cJSON_CreateObject();
    if (!input && !empty)
        api_respond_no_memory(req, "cannot start an execution now");
    else
        api_start_named(api, req, v, &named, cJSON_IsString(name) ? name->valuestring : NULL,
                        input ? input : empty);
    cJSON_Delete(empty);
    cJSON_Delete(body);
}

/* ---- executions ------------------------------------------------------------ */

static void respond_description(api_t *api, http_request_t *req, const char *id)
{
    cJSON *d = runtime_describe(api->runtime, id);
    if (!d) {
        http_respond_error(req, 404, "ExecutionDoesNotExist", "no execution with id '%s'", id);
        return;
    }
    http_respond_json(req, 200, d);
    cJSON_Delete(d);
}

static void on_describe_waited(void *ud)
{
    exec_wait_t *c = ud;
    respond_description(c->api, c->req, c->id);
    free(c->id);
    free(c);
}

/* ?wait=SECONDS long-polls: the answer comes when the execution ends or
 * the time is up, whichever is first, and is its description then. */
static void on_get_execution(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *id = http_request_param(req, "id");
    int64_t wait_ms = wait_param(req);
    if (wait_ms == -2)
        return;
    exec_wait_t *c = wait_ms > 0 ? calloc(1, sizeof *c) : NULL;
    if (c && (c->id = strdup(id))) {
        c->api = api;
        c->req = req;
        if (runtime_wait(api->runtime, id, wait_ms, on_describe_waited, c) == RUNTIME_OK)
            return;
        free(c->id);   /* ended, unknown or stopping: answer now */
    }
    free(c);
    respond_description(api, req, id);
}

static void on_list_executions(http_request_t *req, void *ud)
{
    api_t *api = ud;
    query_filter_t f = {
        .status = api_query_opt(req, "status"),
        .machine = api_query_opt(req, "stateMachine"),
        .q = api_query_opt(req, "q"),
    };
    const char *cursor = api_query_opt(req, "cursor");
    int limit = 100;
    exec_status_t filter;
    if (f.status && exec_status_parse(f.status, &filter) < 0) {
        http_respond_error(req, 400, "InvalidParameter", "status must be " EXEC_STATUS_ALL);
        return;
    }
    if (f.q && strlen(f.q) > 128) {
        http_respond_error(req, 400, "InvalidParameter",
                           "q is a prefix of an execution id or name: at most 128 bytes");
        return;
    }
    if (api_query_limit(req, &limit) < 0)
        return;
    const char *why = NULL;
    cJSON *o = runtime_list(api->runtime, &f, limit, cursor, &why);
    if (!o) {
        http_respond_error(req, 400, "InvalidParameter", "%s", why ? why : "bad query");
        return;
    }
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static void on_count_executions(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = runtime_counts(api->runtime, api_query_opt(req, "stateMachine"));
    if (!o) {
        http_respond_error(req, 503, "StorageError", "cannot count the executions now; retry");
        return;
    }
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

/* ?limit=N&cursor=C pages the events: those with id > C, at most N, and
 * nextCursor (the last id given) while more follow. Without them, all. */
static void on_history(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *id = http_request_param(req, "id");
    int limit = 0;
    if (api_query_limit(req, &limit) < 0)
        return;
    const char *cur = http_request_query(req, "cursor");
    long long after = 0;
    if (cur && *cur) {
        char *end;
        after = strtoll(cur, &end, 10);
        if (*end || after < 0) {
            http_respond_error(req, 400, "InvalidParameter",
                               "cursor must be the nextCursor of a previous page");
            return;
        }
    }
    cJSON *h = runtime_history(api->runtime, id);
    if (!h) {
        http_respond_error(req, 404, "ExecutionDoesNotExist", "no execution with id '%s'", id);
        return;
    }
    cJSON *events = cJSON_GetObjectItemCaseSensitive(h, "events");
    cJSON *page = cJSON_CreateArray();
    if (!page) {
        cJSON_Delete(h);
        api_respond_no_memory(req, "cannot read the history now");
        return;
    }
    long long last = 0;
    int more = 0;
    cJSON *ev;
    while ((ev = cJSON_DetachItemFromArray(events, 0))) {
        long long eid = (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "id"));
        if (eid <= after) {
            cJSON_Delete(ev);
        } else if (limit && cJSON_GetArraySize(page) == limit) {
            cJSON_Delete(ev);
            more = 1;
            break;
        } else {
            last = eid;
            cJSON_AddItemToArray(page, ev);
        }
    }
    cJSON_ReplaceItemInObjectCaseSensitive(h, "events", page);
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "%lld", last);
        cJSON_AddStringToObject(h, "nextCursor", next);
    } else {
        cJSON_AddNullToObject(h, "nextCursor");
    }
    http_respond_json(req, 200, h);
    cJSON_Delete(h);
}

static void respond_stop(api_t *api, http_request_t *req, int status, const char *id)
{
    switch (status) {
    case RUNTIME_OK: {
        cJSON *d = runtime_describe(api->runtime, id);
        http_respond_json(req, 200, d);
        cJSON_Delete(d);
        break;
    }
    case RUNTIME_ENDED:
        http_respond_error(req, 409, "ExecutionNotRunning",
                           "execution %s has already ended; nothing was changed", id);
        break;
    case RUNTIME_ERR_UNKNOWN:
        http_respond_error(req, 404, "ExecutionDoesNotExist", "no execution with id '%s'", id);
        break;
    case RUNTIME_ERR_STOPPING:
        http_respond_error(req, 503, "ServiceUnavailable", "sagad is shutting down; retry shortly");
        break;
    case RUNTIME_ERR_REMOTE:
        if (forward_request(api->cluster, req, id) == 0)
            break;
        http_response_header(req, "Retry-After", "1");
        http_respond_error(req, 503, "NodeUnreachable",
                           "another node runs execution %s and cannot be reached now; retry", id);
        break;
    default:
        http_respond_error(req, 503, "StorageError",
                           "the database did not confirm the stop (see /healthz); "
                           "retry: a stop is idempotent");
        break;
    }
}

/* A stop or a redrive committed (or failed): answered with the description. */
static void on_steered(void *ud, runtime_status_t status, const char *id)
{
    exec_wait_t *c = ud;
    respond_stop(c->api, c->req, status, id);
    free(c);
}

static void on_stop(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *id = http_request_param(req, "id");
    size_t len;
    http_request_body(req, &len);
    cJSON *body = NULL;
    static const char *const fields[] = {"error", "cause", NULL};
    if (len && !(body = api_body_json(req)))
        return;
    if (api_body_only(req, body, fields) < 0) {
        cJSON_Delete(body);
        return;
    }
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "error"));
    const char *cause = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "cause"));
    exec_wait_t *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(body);
        api_respond_no_memory(req, "cannot stop now");
        return;
    }
    c->api = api;
    c->req = req;
    int rc = runtime_stop(api->runtime, id, error, cause, on_steered, c);
    if (rc != RUNTIME_OK) {
        free(c);   /* on_steered will not run */
        respond_stop(api, req, rc, id);
    }
    cJSON_Delete(body);
}

/* POST /executions/{id}/redrive: runs an execution that ended FAILED,
 * TIMED_OUT or ABORTED again from the state that failed; answered once
 * that is committed, with its description (RUNNING, or ended already). */
static void on_redrive(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *id = http_request_param(req, "id");
    size_t len;
    http_request_body(req, &len);
    cJSON *body = NULL;
    static const char *const fields[] = {NULL};
    if (len && !(body = api_body_json(req)))
        return;
    int bad = api_body_only(req, body, fields) < 0;
    cJSON_Delete(body);
    if (bad)
        return;
    exec_wait_t *c = calloc(1, sizeof *c);
    if (!c) {
        api_respond_no_memory(req, "cannot redrive now");
        return;
    }
    c->api = api;
    c->req = req;
    char why[RUNTIME_WHY_SIZE];
    int rc = runtime_redrive(api->runtime, id, why, on_steered, c);
    if (rc == RUNTIME_OK)
        return;
    free(c);   /* on_steered will not run */
    if (rc == RUNTIME_ERR_REFUSED)
        http_respond_error(req, 409, "ExecutionNotRedrivable", "%s", why);
    else if (rc == RUNTIME_ENDED)
        respond_stop(api, req, RUNTIME_OK, id);   /* redriven, and failed again at once */
    else if (rc == RUNTIME_ERR_STORAGE)
        http_respond_error(req, 503, "StorageError",
                           "the database did not confirm the redrive (see /healthz); nothing "
                           "was changed");
    else
        respond_stop(api, req, rc, id);
}

int api_executions_register(http_server_t *srv, api_t *api)
{
    int rc = 0;
    rc |= http_server_route(srv, "GET", "/state-machines", on_list_machines, api);
    rc |= http_server_route(srv, "GET", "/state-machines/{name}", on_get_machine, api);
    rc |= http_server_route(srv, "PUT", "/state-machines/{name}", on_put_machine, api);
    rc |= http_server_route(srv, "GET", "/state-machines/{name}/versions", on_list_versions, api);
    rc |= http_server_route(srv, "POST", "/state-machines/{name}/executions", on_start, api);
    rc |= http_server_route(srv, "GET", "/executions", on_list_executions, api);
    rc |= http_server_route(srv, "GET", "/executions/counts", on_count_executions, api);
    rc |= http_server_route(srv, "GET", "/executions/{id}", on_get_execution, api);
    rc |= http_server_route(srv, "GET", "/executions/{id}/history", on_history, api);
    rc |= http_server_route(srv, "POST", "/executions/{id}/stop", on_stop, api);
    rc |= http_server_route(srv, "POST", "/executions/{id}/redrive", on_redrive, api);
    return rc ? -1 : 0;
}
