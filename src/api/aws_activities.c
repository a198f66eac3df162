/* Step Functions actions for work done outside the daemon: activities
 * (create, describe, list, long-poll a task) and the task reports
 * (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), onto engine/tasks.h
 * as the REST routes of api/tasks.h use it. */
#include "aws_internal.h"
#include "api/polls.h"
#include "cluster/forward.h"
#include "engine/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 1000
#define LIST_DEFAULT 100
#define ERROR_MAX 256
#define CAUSE_MAX 32768
#define WORKER_MAX 80

/* The activity the ARN member names; answers and returns -1 otherwise. */
static int activity_member(api_t *api, http_request_t *req, const cJSON *body, api_aws_arn_t *a)
{
    if (aws_arn_member(api, req, body, "activityArn", API_AWS_ARN_ACTIVITY, "ActivityDoesNotExist",
                       a) < 0)
        return -1;
    if (!tasks_activity_exists(api->runtime, a->name)) {
        char arn[API_AWS_ARN_MAX];
        aws_error(req, 400, "ActivityDoesNotExist", "Activity Does Not Exist: '%s'",
                  aws_arn(api, arn, API_AWS_ARN_ACTIVITY, a->name, NULL));
        return -1;
    }
    return 0;
}

/* {activityArn, name, creationDate} of an entry of tasks_activities_json. */
static cJSON *activity_json(api_t *api, const cJSON *entry)
{
    char arn[API_AWS_ARN_MAX];
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(entry, "name"));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "activityArn", aws_arn(api, arn, API_AWS_ARN_ACTIVITY, name, NULL));
    cJSON_AddStringToObject(o, "name", name);
    aws_add_date(o, "creationDate", entry, "createdAt");
    return o;
}

static void create_activity(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *name;
    if (aws_str(req, body, "name", 1, &name) < 0)
        return;
    if (!api_aws_name_valid(name) || !asl_activity_name_valid(name)) {
        aws_error(req, 400, "InvalidName",
                  "Invalid Name: '%.100s': an activity name has 1 to %d of A-Z a-z 0-9 _ . -", name,
                  ASL_ACTIVITY_NAME_MAX);
        return;
    }
    int64_t created = 0;
    int rc = tasks_activity_create(api->runtime, name, &created);
    if (rc < 0) {
        aws_error_runtime(req, rc, "the activity was not created");
        return;
    }
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "activityArn", aws_arn(api, arn, API_AWS_ARN_ACTIVITY, name, NULL));
    aws_add_ms(o, "creationDate", created);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void describe_activity(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    if (activity_member(api, req, body, &a) < 0)
        return;
    cJSON *all = tasks_activities_json(api->runtime);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(all, "activities")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        if (name && strcmp(name, a.name) == 0) {
            cJSON *o = activity_json(api, e);
            aws_reply(req, o);
            cJSON_Delete(o);
            cJSON_Delete(all);
            return;
        }
    }
    cJSON_Delete(all);
    aws_error(req, 503, "ServiceUnavailable", "the activity cannot be read now; retry");
}

/* Pages by name: nextToken is the last name of the previous page. */
static void list_activities(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *after;
    int max;
    if (aws_int(req, body, "maxResults", 0, LIST_MAX, 0, &max) < 0 ||
        aws_str(req, body, "nextToken", 0, &after) < 0)
        return;
    if (!max)
        max = LIST_DEFAULT;
    cJSON *all = tasks_activities_json(api->runtime);
    if (!all) {
        aws_error(req, 503, "ServiceUnavailable", "out of memory; retry");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "activities");
    const char *last = NULL;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(all, "activities")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        if (!name || (after && strcmp(name, after) <= 0))
            continue;
        if (cJSON_GetArraySize(arr) == max) {
            cJSON_AddStringToObject(o, "nextToken", last);
            break;
        }
        cJSON_AddItemToArray(arr, activity_json(api, e));
        last = name;
    }
    aws_reply(req, o);
    cJSON_Delete(o);
    cJSON_Delete(all);
}

static void delete_activity(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    if (activity_member(api, req, body, &a) < 0)
        return;
    int rc = tasks_activity_delete(api->runtime, a.name);
    if (rc == RUNTIME_OK)
        aws_reply_empty(req);
    else
        aws_error_runtime(req, rc, "the activity was not deleted");
}

static int on_polled(void *ud, const char *token, const char *input)
{
    http_request_t *req = ud;
    if (!token) {
        aws_reply_empty(req);
        return 0;
    }
    if (http_request_gone(req)) {
        aws_reply_empty(req);   /* frees the request; nobody reads it */
        return -1;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "taskToken", token);
    cJSON_AddStringToObject(o, "input", input);
    aws_reply(req, o);
    cJSON_Delete(o);
    return 0;
}

/* AWS holds the poll up to 60 seconds, as sagad's longest poll. */
static void get_activity_task(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    const char *worker;
    if (aws_arn_member(api, req, body, "activityArn", API_AWS_ARN_ACTIVITY, "ActivityDoesNotExist",
                       &a) < 0 ||
        aws_str(req, body, "workerName", 0, &worker) < 0)
        return;
    if (worker && strlen(worker) > WORKER_MAX) {
        aws_error(req, 400, "ValidationException", "workerName has at most %d characters",
                  WORKER_MAX);
        return;
    }
    int rc = api_poll_park(api, req, a.name, worker, TASKS_POLL_MAX_MS, on_polled);
    if (rc == RUNTIME_ERR_UNKNOWN) {
        char arn[API_AWS_ARN_MAX];
        aws_error(req, 400, "ActivityDoesNotExist", "Activity Does Not Exist: '%s'",
                  aws_arn(api, arn, API_AWS_ARN_ACTIVITY, a.name, NULL));
    } else if (rc != RUNTIME_OK) {
        aws_error_runtime(req, rc, "the poll was not taken");
    }
}

/* ---- task reports -------------------------------------------------------- */

static void on_reported(void *ud, runtime_status_t status, const char *execution_id)
{
    http_request_t *req = ud;
    (void)execution_id;
    if (status == RUNTIME_OK)
        aws_reply_empty(req);
    else if (status == RUNTIME_ERR_UNKNOWN)
        aws_error(req, 400, "TaskDoesNotExist",
                  "Task Does Not Exist: the execution ended (or its branch was abandoned) before "
                  "the report was recorded");
    else
        aws_error_runtime(req, status, "the report was not recorded");
}

/* A token this node does not know may be another node's: offered to them
 * first (several nodes). */
static void report_refused(api_t *api, http_request_t *req, int rc)
{
    if (rc == RUNTIME_ERR_UNKNOWN && forward_request(api->cluster, req, NULL) == 0)
        return;
    if (rc == RUNTIME_ERR_UNKNOWN)
        aws_error(req, 400, "TaskDoesNotExist",
                  "Task Does Not Exist: no task waits with this token; it was never issued, was "
                  "already reported, timed out, or its execution ended");
    else if (rc == RUNTIME_ERR_INPUT)
        aws_error(req, 400, "InvalidOutput", "Invalid Output: larger than %d bytes",
                  ASL_PAYLOAD_LIMIT);
    else
        aws_error_runtime(req, rc, "the report was not recorded");
}

static const char *token_member(http_request_t *req, const cJSON *body)
{
    const char *token;
    if (aws_str(req, body, "taskToken", 1, &token) < 0)
        return NULL;
    if (!tasks_token_valid(token)) {
        aws_error(req, 400, "InvalidToken",
                  "Invalid Token: not a task token of this sagad (as given in $$.Task.Token or by "
                  "GetActivityTask)");
        return NULL;
    }
    return token;
}

static void send_success(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *token = token_member(req, body);
    const char *text;
    if (!token || aws_str(req, body, "output", 1, &text) < 0)
        return;
    cJSON *output;
    if (aws_json_member(req, body, "output", "null", "InvalidOutput", &output) < 0)
        return;
    int rc = tasks_succeed(api->runtime, token, output, on_reported, req);
    cJSON_Delete(output);
    if (rc != RUNTIME_OK)
        report_refused(api, req, rc);
}

static void send_failure(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *token = token_member(req, body), *error, *cause;
    if (!token || aws_str(req, body, "error", 0, &error) < 0 ||
        aws_str(req, body, "cause", 0, &cause) < 0)
        return;
    if ((error && strlen(error) > ERROR_MAX) || (cause && strlen(cause) > CAUSE_MAX)) {
        aws_error(req, 400, "ValidationException",
                  "error has at most %d characters, cause at most %d", ERROR_MAX, CAUSE_MAX);
        return;
    }
    int rc = tasks_fail(api->runtime, token, error, cause, on_reported, req);
    if (rc != RUNTIME_OK)
        report_refused(api, req, rc);
}

static void send_heartbeat(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *token = token_member(req, body);
    if (!token)
        return;
    int rc = tasks_heartbeat(api->runtime, token);
    if (rc == RUNTIME_OK)
        aws_reply_empty(req);
    else
        report_refused(api, req, rc);
}

const aws_action_t aws_activity_actions[] = {
    {"CreateActivity", create_activity, AUTH_WORKER},
    {"DescribeActivity", describe_activity, AUTH_READ},
    {"ListActivities", list_activities, AUTH_READ},
    {"DeleteActivity", delete_activity, AUTH_ADMIN},
    {"GetActivityTask", get_activity_task, AUTH_WORKER},
    {"SendTaskSuccess", send_success, AUTH_WORKER},
    {"SendTaskFailure", send_failure, AUTH_WORKER},
    {"SendTaskHeartbeat", send_heartbeat, AUTH_WORKER},
    {NULL, NULL, AUTH_OPEN},
};
