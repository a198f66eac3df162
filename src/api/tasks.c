/* Routes for steps outside the daemon: task reports (/tasks/success,
 * /tasks/failure, /tasks/heartbeat) and activities (create, list, long
 * poll). Reports are answered after the commit that records them; polls
 * park in memory and hold no transaction. */
#include "api/tasks.h"
#include "api/polls.h"
#include "cluster/forward.h"
#include "core/timefmt.h"
#include "engine/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_DEFAULT_SECONDS 60
#define ERROR_NAME_MAX 256
#define CAUSE_MAX 32768

static void on_reported(void *ud, runtime_status_t status, const char *execution_id)
{
    http_request_t *req = ud;
    (void)execution_id;
    if (status == RUNTIME_OK)
        http_respond(req, 200, "application/json", "{}\n", 3);
    else if (status == RUNTIME_ERR_UNKNOWN)
        http_respond_error(req, 404, "TaskDoesNotExist",
                           "the execution ended (or the branch was abandoned) before the report "
                           "was recorded; nothing changed");
    else if (status == RUNTIME_ERR_STOPPING)
        http_respond_error(req, 503, "ShuttingDown",
                           "the daemon is stopping; nothing was recorded, report again");
    else
        http_respond_error(req, 503, "StorageError",
                           "the report could not be committed; nothing was recorded, report "
                           "again with the same token");
}

/* Reads a report's body (*body, caller frees; NULL after answering 400 or
 * 503) with no member but `fields` and returns its token, or NULL after
 * answering 400. */
static const char *body_token(http_request_t *req, const char *const *fields, cJSON **body)
{
    if (!(*body = api_body_json(req)))
        return NULL;
    if (api_body_only(req, *body, fields) < 0)
        return NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(*body, "taskToken");
    if (!cJSON_IsObject(*body) || !t) {
        http_respond_error(req, 400, "InvalidToken",
                           "the body must be a JSON object with a string field taskToken");
        return NULL;
    }
    if (!cJSON_IsString(t) || !tasks_token_valid(t->valuestring)) {
        http_respond_error(req, 400, "InvalidToken",
                           "taskToken is not a task token (48 lowercase hex characters, as "
                           "given in $$.Task.Token or by an activity poll)");
        return NULL;
    }
    return t->valuestring;
}

/* Answers a report the runtime refused; a token this node does not know
 * may be another node's (several nodes): offered to them first. */
static void answer_refused(api_t *api, http_request_t *req, int rc)
{
    if (rc == RUNTIME_ERR_UNKNOWN && forward_request(api->cluster, req, NULL) == 0)
        return;
    switch (rc) {
    case RUNTIME_ERR_UNKNOWN:
        http_respond_error(req, 404, "TaskDoesNotExist",
                           "no task waits with this token: it was never issued, was already "
                           "reported, timed out, or its execution ended");
        break;
    case RUNTIME_ERR_RECOVERING:
        http_response_header(req, "Retry-After", "1");
        http_respond_error(req, 503, "Recovering",
                           "its execution is being reloaded from the database (after a restart "
                           "or a failed write); report again in a moment");
        break;
    case RUNTIME_ERR_INPUT:
        http_respond_error(req, 400, "InvalidOutput",
                           "output is larger than the 256 KiB payload limit");
        break;
    case RUNTIME_ERR_STOPPING:
        http_respond_error(req, 503, "ShuttingDown", "the daemon is stopping; report again");
        break;
    default:
        api_respond_no_memory(req, "recording the report");
        break;
    }
}

/* An optional string field of at most max bytes: 0, or -1 after answering 400. */
static int opt_string(http_request_t *req, const cJSON *body, const char *key, size_t max,
                      const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        http_respond_error(req, 400, "InvalidParameter", "%s must be a string of at most %zu bytes",
                           key, max);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static void h_success(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *body;
    static const char *const fields[] = {"taskToken", "output", NULL};
    const char *token = body_token(req, fields, &body);
    if (token) {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(body, "output");
        if (!out) {
            http_respond_error(req, 400, "InvalidOutput",
                               "output is missing; send the task's result as any JSON value");
        } else {
            int rc = tasks_succeed(api->runtime, token, out, on_reported, req);
            if (rc != RUNTIME_OK)
                answer_refused(api, req, rc);
        }
    }
    cJSON_Delete(body);
}

static void h_failure(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *body;
    static const char *const fields[] = {"taskToken", "error", "cause", NULL};
    const char *token = body_token(req, fields, &body), *error, *cause;
    if (token && opt_string(req, body, "error", ERROR_NAME_MAX, &error) == 0 &&
        opt_string(req, body, "cause", CAUSE_MAX, &cause) == 0) {
        int rc = tasks_fail(api->runtime, token, error, cause, on_reported, req);
        if (rc != RUNTIME_OK)
            answer_refused(api, req, rc);
    }
    cJSON_Delete(body);
}

static void h_heartbeat(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *body;
    static const char *const fields[] = {"taskToken", NULL};
    const char *token = body_token(req, fields, &body);
    if (token) {
        int rc = tasks_heartbeat(api->runtime, token);
        if (rc == RUNTIME_OK)
            http_respond(req, 200, "application/json", "{}\n", 3);
        else
            answer_refused(api, req, rc);
    }
    cJSON_Delete(body);
}

/* ---- activities ---------------------------------------------------------- */

static int activity_param(http_request_t *req, const char **name)
{
    *name = http_request_param(req, "name");
    if (!asl_activity_name_valid(*name)) {
        http_respond_error(req, 400, "InvalidName",
                           "an activity name has 1 to %d characters of A-Z a-z 0-9 _ . -",
                           ASL_ACTIVITY_NAME_MAX);
        return -1;
    }
    return 0;
}

static void h_activity_put(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name;
    if (activity_param(req, &name) < 0)
        return;
    int64_t created = 0;
    int rc = tasks_activity_create(api->runtime, name, &created);
    if (rc == RUNTIME_ERR_STOPPING) {
        http_respond_error(req, 503, "ShuttingDown", "the daemon is stopping; try again");
        return;
    }
    if (rc < 0) {
        http_respond_error(req, 503, "StorageError",
                           "the activity could not be written; nothing changed, try again");
        return;
    }
    char ts[TIMEFMT_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "createdAt", timefmt_utc_ms(created, ts));
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static void h_activity_list(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = tasks_activities_json(api->runtime);
    if (!o) {
        api_respond_no_memory(req, "listing activities");
        return;
    }
    http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

static int on_polled(void *ud, const char *token, const char *input)
{
    http_request_t *req = ud;
    if (!token) {
        http_respond(req, 204, NULL, "", 0);
        return 0;
    }
    if (http_request_gone(req)) {
        http_respond(req, 204, NULL, "", 0);   /* frees the request; nobody reads it */
        return -1;
    }
    /* {"taskToken": T, "input": <input>}: the input is printed already. */
    size_t n = strlen(token) + strlen(input) + 32;
    char *b = malloc(n);
    if (!b) {
        api_respond_no_memory(req, "delivering the task");
        return -1;
    }
    int len = snprintf(b, n, "{\"taskToken\":\"%s\",\"input\":%s}\n", token, input);
    http_respond(req, 200, "application/json", b, (size_t)len);
    free(b);
    return 0;
}

static void h_activity_poll(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name;
    if (activity_param(req, &name) < 0)
        return;
    double secs = POLL_DEFAULT_SECONDS;
    const char *w = http_request_query(req, "wait");
    if (w) {
        char *end;
        secs = strtod(w, &end);
        if (!*w || *end || !(secs >= 0) || secs > TASKS_POLL_MAX_MS / 1000) {
            http_respond_error(req, 400, "InvalidParameter",
                               "wait must be a number of seconds from 0 to %d",
                               TASKS_POLL_MAX_MS / 1000);
            return;
        }
    }
    const char *worker = NULL;
    size_t blen = 0;
    http_request_body(req, &blen);
    cJSON *body = NULL;
    if (blen) {
        if (!(body = api_body_json(req)))
            return;
        static const char *const fields[] = {"workerName", NULL};
        if (!cJSON_IsObject(body) || api_body_only(req, body, fields) < 0 ||
            opt_string(req, body, "workerName", 128, &worker) < 0) {
            if (!cJSON_IsObject(body))
                http_respond_error(req, 400, "InvalidParameter",
                                   "the body must be a JSON object such as {\"workerName\": \"w1\"}");
            cJSON_Delete(body);
            return;
        }
    }
    int rc = api_poll_park(api, req, name, worker, (int64_t)(secs * 1000), on_polled);
    cJSON_Delete(body);
    if (rc == RUNTIME_ERR_UNKNOWN)
        http_respond_error(req, 404, "ActivityDoesNotExist",
                           "no activity '%s'; create it with PUT /activities/%s", name, name);
    else if (rc == RUNTIME_ERR_STOPPING)
        http_respond_error(req, 503, "ShuttingDown", "the daemon is stopping; poll again later");
    else if (rc != RUNTIME_OK)
        api_respond_no_memory(req, "parking the poll");
}

int api_tasks_register(http_server_t *srv, api_t *api)
{
    if (http_server_route(srv, "POST", "/tasks/success", h_success, api) < 0 ||
        http_server_route(srv, "POST", "/tasks/failure", h_failure, api) < 0 ||
        http_server_route(srv, "POST", "/tasks/heartbeat", h_heartbeat, api) < 0 ||
        http_server_route(srv, "GET", "/activities", h_activity_list, api) < 0 ||
        http_server_route(srv, "PUT", "/activities/{name}", h_activity_put, api) < 0 ||
        http_server_route(srv, "POST", "/activities/{name}/poll", h_activity_poll, api) < 0)
        return -1;
    return 0;
}
