/* Step Functions actions on executions: start (also synchronously),
 * describe, list, history, stop. Executions are named in ARNs by their name,
 * or by their id when started without one. */
#include "aws_internal.h"
#include "cluster/forward.h"
#include "core/exec_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 1000
#define LIST_DEFAULT 100
#define SYNC_WAIT_MS (5 * 60 * 1000)   /* an Express execution's longest run */
#define ERROR_MAX 256
#define CAUSE_MAX 32768

int aws_execution_member(api_t *api, http_request_t *req, const cJSON *body, const char *key,
                         char id[RUNTIME_ID_SIZE])
{
    api_aws_arn_t a;
    if (aws_arn_member(api, req, body, key, API_AWS_ARN_EXECUTION, "ExecutionDoesNotExist", &a) < 0)
        return -1;
    query_src_t q = {.store = api->store, .machines = api->machines};
    int found = query_find_named(&q, a.name, a.qualifier, id);
    if (found == 0 && strlen(a.qualifier) == RUNTIME_ID_SIZE - 1) {
        cJSON *d = runtime_describe(api->runtime, a.qualifier);
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachine"));
        if (m && strcmp(m, a.name) == 0 && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(d, "name"))) {
            memcpy(id, a.qualifier, RUNTIME_ID_SIZE);
            found = 1;
        }
        cJSON_Delete(d);
    }
    if (found < 0)
        aws_error(req, 503, "ServiceUnavailable", "the execution cannot be read now; retry");
    else if (!found)
        aws_error(req, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'",
                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, key)));
    return found == 1 ? 0 : -1;
}

static void add_arns(api_t *api, cJSON *o, const cJSON *d)
{
    char arn[API_AWS_ARN_MAX];
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachine"));
    cJSON_AddStringToObject(o, "executionArn",
                            aws_arn(api, arn, API_AWS_ARN_EXECUTION, m, aws_execution_name(d)));
    cJSON_AddStringToObject(o, "stateMachineArn",
                            aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, m, NULL));
    cJSON_AddStringToObject(o, "name", aws_execution_name(d));
}

/* As AWS: the version ARN when the start named a version or an alias, the
 * alias ARN when it named an alias; neither for an unqualified start. */
static void add_named_arns(api_t *api, cJSON *o, const cJSON *d)
{
    char arn[API_AWS_ARN_MAX], q[16];
    const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachine"));
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(d, "stateMachineVersionNamed");
    const char *alias = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachineAlias"));
    if (!m)
        return;
    if (cJSON_IsNumber(ver)) {
        snprintf(q, sizeof q, "%d", ver->valueint);
        cJSON_AddStringToObject(o, "stateMachineVersionArn",
                                aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, m, q));
    }
    if (alias)
        cJSON_AddStringToObject(o, "stateMachineAliasArn",
                                aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, m, alias));
}

static void add_string(cJSON *o, const char *key, const cJSON *d)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, key));
    if (s)
        cJSON_AddStringToObject(o, key, s);
}

/* DescribeExecution's shape of a REST description `d`. */
static cJSON *execution_json(api_t *api, const cJSON *d)
{
    cJSON *o = cJSON_CreateObject();
    add_arns(api, o, d);
    add_string(o, "status", d);
    aws_add_date(o, "startDate", d, "startDate");
    aws_add_date(o, "stopDate", d, "stopDate");
    aws_add_payload(o, "input", cJSON_GetObjectItemCaseSensitive(d, "input"), 0);
    const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
    if (status && strcmp(status, "SUCCEEDED") == 0)
        aws_add_payload(o, "output", cJSON_GetObjectItemCaseSensitive(d, "output"), 0);
    add_string(o, "error", d);
    add_string(o, "cause", d);
    return o;
}

/* ---- starting ------------------------------------------------------------ */

typedef struct start_s {
    api_t *api;
    http_request_t *req;
    int sync;
    const machine_ver_t *v;
    char arn[API_AWS_ARN_MAX];   /* for ExecutionAlreadyExists */
    char id[RUNTIME_ID_SIZE];
} start_t;

static void answer_sync(void *ud)
{
    start_t *c = ud;
    cJSON *d = runtime_describe(c->api->runtime, c->id);
    if (!d) {
        aws_error(c->req, 503, "ServiceUnavailable", "the execution cannot be read now");
    } else {
        cJSON *o = execution_json(c->api, d);
        aws_reply(c->req, o);
        cJSON_Delete(o);
    }
    cJSON_Delete(d);
    free(c);
}

/* Answers a start that is durable (or was refused); takes c. */
static void answer_start(start_t *c, int rc, const char *id)
{
    cJSON *d = rc == RUNTIME_OK || rc == RUNTIME_EXISTS ? runtime_describe(c->api->runtime, id) : NULL;
    const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "status"));
    if (rc == RUNTIME_ERR_CONFLICT || (rc == RUNTIME_EXISTS && st && strcmp(st, "RUNNING") != 0)) {
        /* As AWS: a name is taken for good once its execution has ended. */
        aws_error(c->req, 400, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", c->arn);
    } else if (rc == RUNTIME_ERR_NOT_ALLOWED) {
        char why[MACHINES_WHY_SIZE + 512];
        api_denied_text(c->api, c->v, why, sizeof why);
        aws_error(c->req, 400, "HandlerNotAllowed", "Handler Not Allowed: %s", why);
    } else if (rc != RUNTIME_OK && rc != RUNTIME_EXISTS) {
        aws_error_runtime(c->req, rc, "the execution was not started");
    } else if (!d) {
        aws_error(c->req, 503, "ServiceUnavailable", "the execution started but cannot be read now");
    } else if (c->sync) {
        memcpy(c->id, id, RUNTIME_ID_SIZE);
        cJSON_Delete(d);
        if (runtime_wait(c->api->runtime, id, SYNC_WAIT_MS, answer_sync, c) != RUNTIME_OK)
            answer_sync(c);
        return;
    } else {
        cJSON *o = cJSON_CreateObject();
        char arn[API_AWS_ARN_MAX];
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachine"));
        cJSON_AddStringToObject(o, "executionArn",
                                aws_arn(c->api, arn, API_AWS_ARN_EXECUTION, m, aws_execution_name(d)));
        aws_add_date(o, "startDate", d, "startDate");
        aws_reply(c->req, o);
        cJSON_Delete(o);
    }
    cJSON_Delete(d);
    free(c);
}

static void on_started(void *ud, runtime_status_t status, const char *id)
{
    answer_start(ud, status, id);
}

static void start(api_t *api, http_request_t *req, const cJSON *body, int sync)
{
    const char *name;
    api_aws_arn_t a;
    const machine_ver_t *v = aws_machine_member_arn(api, req, body, "stateMachineArn", &a);
    if (!v || aws_str(req, body, "name", 0, &name) < 0)
        return;
    if (name && !api_aws_name_valid(name)) {
        aws_error(req, 400, "InvalidName",
                  "Invalid Name: '%.100s': 1 to 80 characters, no whitespace, brackets, wildcards "
                  "or any of \" # %% \\ ^ | ~ ` $ & , ; : /", name);
        return;
    }
    cJSON *input;
    if (aws_json_member(req, body, "input", "{}", "InvalidExecutionInput", &input) < 0)
        return;
    start_t *c = calloc(1, sizeof *c);
    if (!c) {
        cJSON_Delete(input);
        aws_error(req, 503, "ServiceUnavailable", "out of memory; retry");
        return;
    }
    c->api = api;
    c->req = req;
    c->sync = sync;
    c->v = v;
    aws_arn(api, c->arn, API_AWS_ARN_EXECUTION, v->name, name ? name : "");
    char id[RUNTIME_ID_SIZE] = "";
    runtime_named_t named;
    api_named(a.qualifier, v, &named);
    int rc = runtime_start_named(api->runtime, v, &named, name, input, id, on_started, c);
    cJSON_Delete(input);
    if (rc != RUNTIME_OK)
        answer_start(c, rc, id);   /* on_started will not run */
}

static void start_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    start(api, req, body, 0);
}

static void start_sync_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    start(api, req, body, 1);
}

/* ---- reading ------------------------------------------------------------- */

static void describe_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    char id[RUNTIME_ID_SIZE];
    if (aws_execution_member(api, req, body, "executionArn", id) < 0)
        return;
    cJSON *d = runtime_describe(api->runtime, id);
    if (!d) {
        aws_error(req, 503, "ServiceUnavailable", "the execution cannot be read now; retry");
        return;
    }
    cJSON *o = execution_json(api, d);
    add_named_arns(api, o, d);
    const cJSON *redrives = cJSON_GetObjectItemCaseSensitive(d, "redriveCount");
    if (cJSON_IsNumber(redrives))
        cJSON_AddNumberToObject(o, "redriveCount", redrives->valuedouble);
    aws_add_date(o, "redriveDate", d, "redriveDate");
    aws_reply(req, o);
    cJSON_Delete(o);
    cJSON_Delete(d);
}

static void list_executions(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *status, *token;
    int max;
    api_aws_arn_t a;
    const machine_ver_t *v = aws_machine_member_arn(api, req, body, "stateMachineArn", &a);
    if (!v || aws_str(req, body, "statusFilter", 0, &status) < 0 ||
        aws_int(req, body, "maxResults", 0, LIST_MAX, 0, &max) < 0 ||
        aws_str(req, body, "nextToken", 0, &token) < 0)
        return;
    exec_status_t st;
    int pending_redrive = status && strcmp(status, "PENDING_REDRIVE") == 0;
    if (status && !pending_redrive && exec_status_parse(status, &st) < 0) {
        aws_error(req, 400, "ValidationException",
                  "1 validation error detected: Value '%.40s' at 'statusFilter' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, "
                  "TIMED_OUT, ABORTED, PENDING_REDRIVE]", status);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "executions");
    if (!pending_redrive) {
        /* As AWS: a version ARN lists the executions started naming that
         * version (through an alias too), an alias ARN those started
         * through that alias. */
        runtime_named_t named;
        api_named(a.qualifier, v, &named);
        query_filter_t f = {.status = status, .machine = v->name, .alias = named.alias,
                            .version = named.alias ? 0 : named.version};
        const char *why = NULL;
        cJSON *page = runtime_list(api->runtime, &f, max ? max : LIST_DEFAULT, token, &why);
        if (!page) {
            cJSON_Delete(o);
            aws_error(req, 400, "InvalidToken", "Invalid Token: '%.100s' (%s)", token ? token : "",
                      why ? why : "database error");
            return;
        }
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(page, "executions")) {
            cJSON *x = cJSON_CreateObject();
            add_arns(api, x, e);
            add_string(x, "status", e);
            aws_add_date(x, "startDate", e, "startDate");
            aws_add_date(x, "stopDate", e, "stopDate");
            add_named_arns(api, x, e);
            cJSON_AddItemToArray(arr, x);
        }
        const char *next = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(page, "nextCursor"));
        if (next)
            cJSON_AddStringToObject(o, "nextToken", next);
        cJSON_Delete(page);
    }
    aws_reply(req, o);
    cJSON_Delete(o);
}

/* ---- history ------------------------------------------------------------- */

/* The member of AWS's HistoryEvent that holds the details of `type`, and
 * which of sagad's detail fields it has. */
static const char *details_member(const char *type)
{
    static const char *const fixed[][2] = {
        {"ExecutionStarted", "executionStartedEventDetails"},
        {"ExecutionSucceeded", "executionSucceededEventDetails"},
        {"ExecutionFailed", "executionFailedEventDetails"},
        {"ExecutionAborted", "executionAbortedEventDetails"},
        {"ExecutionTimedOut", "executionTimedOutEventDetails"},
        {"TaskScheduled", "taskScheduledEventDetails"},
        {"TaskStarted", "taskStartedEventDetails"},
        {"TaskSucceeded", "taskSucceededEventDetails"},
        {"TaskFailed", "taskFailedEventDetails"},
        {"TaskTimedOut", "taskTimedOutEventDetails"},
        {"MapStateStarted", "mapStateStartedEventDetails"},
        {"MapIterationStarted", "mapIterationStartedEventDetails"},
        {"MapIterationSucceeded", "mapIterationSucceededEventDetails"},
        {"MapIterationFailed", "mapIterationFailedEventDetails"},
        {"MapIterationAborted", "mapIterationAbortedEventDetails"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(type, fixed[i][0]) == 0)
            return fixed[i][1];
    size_t n = strlen(type);
    if (n > 12 && strcmp(type + n - 12, "StateEntered") == 0)
        return "stateEnteredEventDetails";
    if (n > 11 && strcmp(type + n - 11, "StateExited") == 0)
        return "stateExitedEventDetails";
    return NULL;
}

/* For a Task event of an activity task, AWS's Activity event: its type
 * ("ActivityScheduled") into `type`, and its details member; else NULL. */
static const char *activity_type(const char *type, const cJSON *details, char out[32],
                                 char member[48])
{
    static const char *const tasks[] = {"TaskScheduled", "TaskStarted", "TaskSucceeded",
                                        "TaskFailed", "TaskTimedOut"};
    const char *res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(details, "resource"));
    if (!res || strncmp(res, "activity:", 9) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        if (strcmp(type, tasks[i]) == 0) {
            snprintf(out, 32, "Activity%s", type + 4);
            snprintf(member, 48, "activity%sEventDetails", type + 4);
            return out;
        }
    return NULL;
}

/* One of sagad's events in AWS's HistoryEvent shape. */
static cJSON *history_event(api_t *api, const cJSON *ev, int with_data)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
    const cJSON *details = cJSON_GetObjectItemCaseSensitive(ev, "details");
    char atype[32], amember[48];
    const char *activity = type ? activity_type(type, details, atype, amember) : NULL;
    cJSON *o = cJSON_CreateObject();
    aws_add_date(o, "timestamp", ev, "timestamp");
    cJSON_AddStringToObject(o, "type", activity ? activity : type ? type : "?");
    cJSON_AddNumberToObject(o, "id", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "id")));
    cJSON_AddNumberToObject(o, "previousEventId",
                            cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ev, "previousEventId")));
    const char *member = activity ? amember : type ? details_member(type) : NULL;
    if (!member)
        return o;
    cJSON *out = cJSON_AddObjectToObject(o, member);
    const cJSON *f;
    cJSON_ArrayForEach(f, details) {
        const char *key = f->string;
        int payload = strcmp(key, "input") == 0 || strcmp(key, "output") == 0 ||
                      strcmp(key, "parameters") == 0;
        if (activity && strcmp(key, "resource") == 0 && strcmp(atype, "ActivityScheduled") == 0) {
            char arn[API_AWS_ARN_MAX];
            cJSON_AddStringToObject(out, "resource",
                                    aws_arn(api, arn, API_AWS_ARN_ACTIVITY, f->valuestring + 9, NULL));
        } else if (activity && (strcmp(key, "resource") == 0 || strcmp(key, "resourceType") == 0)) {
            continue;   /* AWS's Activity events name the activity once, when scheduled */
        } else if (payload && with_data && !activity && strcmp(key, "parameters") == 0) {
            char *text = cJSON_PrintUnformatted(f);
            if (text)
                cJSON_AddStringToObject(out, "parameters", text);
            free(text);
        } else if (payload && with_data) {
            /* An activity's input is what a Task calls its parameters. */
            aws_add_payload(out, strcmp(key, "parameters") == 0 ? "input" : key, f, 1);
        } else if (!payload) {
            cJSON_AddItemToObject(out, key, cJSON_Duplicate(f, 1));
        }
    }
    return o;
}

static void get_history(api_t *api, http_request_t *req, const cJSON *body)
{
    char id[RUNTIME_ID_SIZE];
    const char *token;
    int max, reverse, with_data;
    if (aws_execution_member(api, req, body, "executionArn", id) < 0 ||
        aws_int(req, body, "maxResults", 0, LIST_MAX, 0, &max) < 0 ||
        aws_bool(req, body, "reverseOrder", 0, &reverse) < 0 ||
        aws_bool(req, body, "includeExecutionData", 1, &with_data) < 0 ||
        aws_str(req, body, "nextToken", 0, &token) < 0)
        return;
    if (!max)
        max = LIST_DEFAULT;
    long skip = 0;
    if (token) {
        char *end;
        skip = strtol(token, &end, 10);
        if (!*token || *end || skip <= 0) {
            aws_error(req, 400, "InvalidToken", "Invalid Token: '%.100s' is no nextToken of this "
                      "execution's history", token);
            return;
        }
    }
    cJSON *h = runtime_history(api->runtime, id);
    if (!h) {
        aws_error(req, 503, "ServiceUnavailable", "the history cannot be read now; retry");
        return;
    }
    cJSON *events = cJSON_GetObjectItemCaseSensitive(h, "events");
    int n = cJSON_GetArraySize(events);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "events");
    long i = skip;
    cJSON *d = NULL;   /* its description, for ExecutionStarted only */
    for (; i < n && cJSON_GetArraySize(arr) < max; i++) {
        const cJSON *ev = cJSON_GetArrayItem(events, reverse ? n - 1 - (int)i : (int)i);
        cJSON *x = history_event(api, ev, with_data);
        /* AWS names the version and alias the start named here too; they
         * come from the row, the stored history stays as it was. */
        cJSON *started = cJSON_GetObjectItemCaseSensitive(x, "executionStartedEventDetails");
        if (started && (d || (d = runtime_describe(api->runtime, id))))
            add_named_arns(api, started, d);
        cJSON_AddItemToArray(arr, x);
    }
    cJSON_Delete(d);
    if (i < n) {
        char next[24];
        snprintf(next, sizeof next, "%ld", i);
        cJSON_AddStringToObject(o, "nextToken", next);
    }
    aws_reply(req, o);
    cJSON_Delete(o);
    cJSON_Delete(h);
}

/* ---- steering ------------------------------------------------------------ */

/* A stop or a redrive waiting for its commit. */
typedef struct stop_s {
    api_t *api;
    http_request_t *req;
} stop_t;

/* A pending stop or redrive, or NULL (then answered). */
static stop_t *stop_new(api_t *api, http_request_t *req)
{
    stop_t *c = calloc(1, sizeof *c);
    if (!c) {
        aws_error(req, 503, "ServiceUnavailable", "out of memory; retry");
        return NULL;
    }
    c->api = api;
    c->req = req;
    return c;
}

/* Answers {key: the execution's date of the same name}. */
static void reply_date(api_t *api, http_request_t *req, const char *id, const char *key)
{
    cJSON *d = runtime_describe(api->runtime, id);
    cJSON *o = cJSON_CreateObject();
    aws_add_date(o, key, d, key);
    aws_reply(req, o);
    cJSON_Delete(o);
    cJSON_Delete(d);
}

static void answer_stop(api_t *api, http_request_t *req, int rc, const char *id)
{
    if (rc != RUNTIME_OK && rc != RUNTIME_ENDED) {
        if (rc == RUNTIME_ERR_REMOTE && forward_request(api->cluster, req, id) == 0)
            return;   /* the node that runs it answers */
        if (rc == RUNTIME_ERR_UNKNOWN)
            aws_error(req, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", id);
        else
            aws_error_runtime(req, rc, "the execution was not stopped");
        return;
    }
    /* An execution that had ended already answers when it did. */
    reply_date(api, req, id, "stopDate");
}

static void on_stopped(void *ud, runtime_status_t status, const char *id)
{
    stop_t *c = ud;
    answer_stop(c->api, c->req, status, id);
    free(c);
}

static void stop_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    char id[RUNTIME_ID_SIZE];
    const char *error, *cause;
    if (aws_execution_member(api, req, body, "executionArn", id) < 0 ||
        aws_str(req, body, "error", 0, &error) < 0 || aws_str(req, body, "cause", 0, &cause) < 0)
        return;
    if ((error && strlen(error) > ERROR_MAX) || (cause && strlen(cause) > CAUSE_MAX)) {
        aws_error(req, 400, "ValidationException",
                  "error has at most %d characters, cause at most %d", ERROR_MAX, CAUSE_MAX);
        return;
    }
    stop_t *c = stop_new(api, req);
    if (!c)
        return;
    int rc = runtime_stop(api->runtime, id, error, cause, on_stopped, c);
    if (rc != RUNTIME_OK) {
        free(c);   /* on_stopped will not run */
        answer_stop(api, req, rc, id);
    }
}

/* RedriveExecution: runtime_redrive, answered with redriveDate once it is
 * committed. */
static void answer_redrive(api_t *api, http_request_t *req, int rc, const char *id,
                           const char *why)
{
    if (rc == RUNTIME_ERR_UNKNOWN) {
        aws_error(req, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", id);
        return;
    }
    if (rc == RUNTIME_ERR_REFUSED) {
        aws_error(req, 400, "ExecutionNotRedrivable", "Execution Not Redrivable: %s", why);
        return;
    }
    if (rc != RUNTIME_OK && rc != RUNTIME_ENDED) {   /* ENDED: redriven, failed again at once */
        aws_error_runtime(req, rc, "the execution was not redriven");
        return;
    }
    reply_date(api, req, id, "redriveDate");
}

static void on_redriven(void *ud, runtime_status_t status, const char *id)
{
    stop_t *c = ud;
    answer_redrive(c->api, c->req, status, id, "");
    free(c);
}

static void redrive_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    char id[RUNTIME_ID_SIZE], why[RUNTIME_WHY_SIZE];
    if (aws_execution_member(api, req, body, "executionArn", id) < 0)
        return;
    stop_t *c = stop_new(api, req);
    if (!c)
        return;
    int rc = runtime_redrive(api->runtime, id, why, on_redriven, c);
    if (rc != RUNTIME_OK) {
        free(c);   /* on_redriven will not run */
        answer_redrive(api, req, rc, id, why);
    }
}

const aws_action_t aws_execution_actions[] = {
    {"StartExecution", start_execution, AUTH_START},
    {"StartSyncExecution", start_sync_execution, AUTH_START},
    {"DescribeExecution", describe_execution, AUTH_READ},
    {"ListExecutions", list_executions, AUTH_READ},
    {"GetExecutionHistory", get_history, AUTH_READ},
    {"StopExecution", stop_execution, AUTH_ADMIN},
    {"RedriveExecution", redrive_execution, AUTH_ADMIN},
    {NULL, NULL, AUTH_OPEN},
};
