/* Step Functions actions on state machines: create, update, describe, list,
 * validate, delete. They map onto the registry (engine/machines.h), where
 * every change of definition is a new version, as PUT /state-machines does. */
#include "aws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 1000
#define LIST_DEFAULT 100

const machine_ver_t *aws_machine_member(api_t *api, http_request_t *req, const cJSON *body,
                                        const char *key)
{
    api_aws_arn_t a;
    return aws_machine_member_arn(api, req, body, key, &a);
}

const machine_ver_t *aws_machine_member_arn(api_t *api, http_request_t *req, const cJSON *body,
                                            const char *key, api_aws_arn_t *arn)
{
    api_aws_arn_t a;
    if (aws_arn_member(api, req, body, key, API_AWS_ARN_STATE_MACHINE, "StateMachineDoesNotExist",
                       &a) < 0)
        return NULL;
    *arn = a;
    char qualified[2 * API_AWS_NAME_MAX];
    snprintf(qualified, sizeof qualified, "%s%s%s", a.name, a.qualifier[0] ? ":" : "", a.qualifier);
    int err = 0;
    const machine_ver_t *v = machines_resolve(api->machines, qualified, &err);
    if (v)
        return v;
    if (err == MACHINES_ERR_STORE)
        aws_error(req, 503, "ServiceUnavailable", "the state machine cannot be read now; retry");
    else if (err == MACHINES_ERR_NO_VERSION)
        aws_error(req, 400, "ResourceNotFound",
                  "Resource Not Found: state machine '%s' has no version or alias '%s'", a.name,
                  a.qualifier);
    else
        aws_error(req, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'",
                  qualified);
    return NULL;
}

/* What the definition problems are, in AWS's words: all of them that fit
 * in a message, then how many more (ValidateStateMachineDefinition lists
 * every one). */
static void invalid_definition(http_request_t *req, const asl_problems_t *p)
{
    enum { ROOM = 3600 };
    char msg[ROOM + 200] = "Invalid State Machine Definition: '";
    size_t i = 0;
    for (; i < p->count; i++) {
        const asl_problem_t *f = &p->items[i];
        char one[1200];
        snprintf(one, sizeof one, "%sSCHEMA_VALIDATION_FAILED: %s at /States/%s%s%s",
                 i ? ", " : "", f->message, f->state ? f->state : "", f->field ? "/" : "",
                 f->field ? f->field : "");
        size_t n = strlen(msg);
        if (n + strlen(one) > ROOM)
            break;
        memcpy(msg + n, one, strlen(one) + 1);
    }
    size_t n = strlen(msg);
    if (i < p->count)
        snprintf(msg + n, sizeof msg - n, ", and %zu more (ValidateStateMachineDefinition lists "
                 "them all)'", p->count - i);
    else
        snprintf(msg + n, sizeof msg - n, "'");
    aws_error(req, 400, "InvalidDefinition", "%s", msg);
}

/* Stores `definition` as the newest version of `name`: 0 with *out and
 * *result (machines_put_result_t), or -1 after answering. */
static int put_definition(api_t *api, http_request_t *req, const char *name, const char *definition,
                          const machine_ver_t **out, int *result)
{
    asl_problems_t p;
    asl_problems_init(&p);
    int rc = machines_put(api->machines, name, definition, strlen(definition), &p, out);
    if (rc == -1)
        invalid_definition(req, &p);
    else if (rc < 0)
        aws_error(req, 503, "ServiceUnavailable", "the definition could not be stored; retry");
    asl_problems_free(&p);
    *result = rc;
    return rc < 0 ? -1 : 0;
}

static int read_type(http_request_t *req, const cJSON *body)
{
    const char *type;
    if (aws_str(req, body, "type", 0, &type) < 0)
        return -1;
    if (type && strcmp(type, "STANDARD") != 0 && strcmp(type, "EXPRESS") != 0) {
        aws_error(req, 400, "ValidationException",
                  "1 validation error detected: Value '%.80s' at 'type' failed to satisfy "
                  "constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", type);
        return -1;
    }
    return 0;
}

void aws_add_version_arn(api_t *api, cJSON *o, const machine_ver_t *v)
{
    char arn[API_AWS_ARN_MAX], q[16];
    snprintf(q, sizeof q, "%d", v->version);
    cJSON_AddStringToObject(o, "stateMachineVersionArn",
                            aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, v->name, q));
}

static void create_machine(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *name, *definition, *role;
    int publish;
    if (aws_str(req, body, "name", 1, &name) < 0 ||
        aws_str(req, body, "definition", 1, &definition) < 0 ||
        aws_str(req, body, "roleArn", 0, &role) < 0 || read_type(req, body) < 0 ||
        aws_bool(req, body, "publish", 0, &publish) < 0)
        return;
    if (!api_aws_name_valid(name) || !machines_valid_name(name)) {
        aws_error(req, 400, "InvalidName",
                  "Invalid Name: '%.100s': a state machine name has 1 to 80 of A-Z a-z 0-9 _ . -",
                  name);
        return;
    }
    const machine_ver_t *old = machines_get(api->machines, name);
    if (old && strcmp(old->definition, definition) != 0) {
        aws_error(req, 400, "StateMachineAlreadyExists",
                  "State Machine Already Exists: '%s' has another definition; UpdateStateMachine "
                  "changes it", name);
        return;
    }
    const machine_ver_t *v;
    int result;
    if (put_definition(api, req, name, definition, &v, &result) < 0)
        return;
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineArn",
                            aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, name, NULL));
    aws_add_ms(o, "creationDate", v->created_ms);
    if (publish)
        aws_add_version_arn(api, o, v);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void update_machine(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *definition, *role;
    int publish;
    api_aws_arn_t a;
    if (aws_arn_member(api, req, body, "stateMachineArn", API_AWS_ARN_STATE_MACHINE,
                       "StateMachineDoesNotExist", &a) < 0 ||
        aws_str(req, body, "definition", 0, &definition) < 0 ||
        aws_str(req, body, "roleArn", 0, &role) < 0 ||
        aws_bool(req, body, "publish", 0, &publish) < 0)
        return;
    if (a.qualifier[0]) {
        aws_error(req, 400, "ValidationException",
                  "UpdateStateMachine takes the machine's ARN, not a version or alias ARN");
        return;
    }
    const machine_ver_t *v = machines_get(api->machines, a.name);
    if (!v) {
        aws_error(req, 400, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'",
                  a.name);
        return;
    }
    if (!definition && !role && !cJSON_GetObjectItemCaseSensitive(body, "loggingConfiguration") &&
        !cJSON_GetObjectItemCaseSensitive(body, "tracingConfiguration")) {
        aws_error(req, 400, "MissingRequiredParameter",
                  "UpdateStateMachine needs at least one of definition, roleArn, "
                  "loggingConfiguration, tracingConfiguration");
        return;
    }
    int result = MACHINES_UNCHANGED;
    if (definition && put_definition(api, req, a.name, definition, &v, &result) < 0)
        return;
    cJSON *o = cJSON_CreateObject();
    aws_add_ms(o, "updateDate", v->created_ms);
    if (publish)
        aws_add_version_arn(api, o, v);
    aws_reply(req, o);
    cJSON_Delete(o);
}

/* DescribeStateMachine's answer for `v`, named by `arn`. */
static cJSON *machine_description(api_t *api, const machine_ver_t *v, const char *arn)
{
    char role[128];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineArn", arn);
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "status", "ACTIVE");
    cJSON_AddStringToObject(o, "definition", v->definition);
    snprintf(role, sizeof role, "arn:aws:iam::%s:role/sagad", api->cfg->aws_account);
    cJSON_AddStringToObject(o, "roleArn", role);
    cJSON_AddStringToObject(o, "type", "STANDARD");
    aws_add_ms(o, "creationDate", v->created_ms);
    cJSON *log = cJSON_AddObjectToObject(o, "loggingConfiguration");
    cJSON_AddStringToObject(log, "level", "OFF");
    cJSON_AddBoolToObject(log, "includeExecutionData", 0);
    cJSON *tr = cJSON_AddObjectToObject(o, "tracingConfiguration");
    cJSON_AddBoolToObject(tr, "enabled", 0);
    return o;
}

static void describe_machine(api_t *api, http_request_t *req, const cJSON *body)
{
    const machine_ver_t *v = aws_machine_member(api, req, body, "stateMachineArn");
    if (!v)
        return;
    cJSON *o = machine_description(api, v, cJSON_GetStringValue(
                                               cJSON_GetObjectItemCaseSensitive(body, "stateMachineArn")));
    aws_reply(req, o);
    cJSON_Delete(o);
}

typedef struct list_ctx_s {
    api_t *api;
    cJSON *arr;
    const char *after;       /* the name the previous page ended with */
    int max;
    const char *last;        /* the last name given */
    int more;
} list_ctx_t;

static void add_listed(const machine_ver_t *v, void *ud)
{
    list_ctx_t *c = ud;
    if (c->after && strcmp(v->name, c->after) <= 0)
        return;
    if (cJSON_GetArraySize(c->arr) == c->max) {
        c->more = 1;
        return;
    }
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineArn",
                            aws_arn(c->api, arn, API_AWS_ARN_STATE_MACHINE, v->name, NULL));
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "type", "STANDARD");
    aws_add_ms(o, "creationDate", v->created_ms);
    cJSON_AddItemToArray(c->arr, o);
    c->last = v->name;
}

static void list_machines(api_t *api, http_request_t *req, const cJSON *body)
{
    list_ctx_t c = {.api = api};
    if (aws_int(req, body, "maxResults", 0, LIST_MAX, 0, &c.max) < 0 ||
        aws_str(req, body, "nextToken", 0, &c.after) < 0)
        return;
    if (!c.max)
        c.max = LIST_DEFAULT;
    cJSON *o = cJSON_CreateObject();
    c.arr = cJSON_AddArrayToObject(o, "stateMachines");
    machines_foreach(api->machines, add_listed, &c);
    if (c.more && c.last)
        cJSON_AddStringToObject(o, "nextToken", c.last);
    aws_reply(req, o);
    cJSON_Delete(o);
}

/* As AWS: executions that run keep running to their end; the name is free
 * at once (sagad keeps the versions for them and for their histories). */
static void delete_machine(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    if (aws_arn_member(api, req, body, "stateMachineArn", API_AWS_ARN_STATE_MACHINE,
                       "StateMachineDoesNotExist", &a) < 0)
        return;
    if (a.qualifier[0]) {
        aws_error(req, 400, "ValidationException",
                  "DeleteStateMachine takes the machine's ARN; a version or an alias ARN is for "
                  "DeleteStateMachineVersion or DeleteStateMachineAlias");
        return;
    }
    int rc = machines_delete(api->machines, a.name, 1, NULL);
    if (rc == 0 || rc == MACHINES_ERR_NOT_FOUND)
        aws_reply_empty(req);   /* deleting what is gone succeeds, as in AWS */
    else
        aws_error(req, 503, "ServiceUnavailable", "the state machine was not deleted; retry");
}

static void validate_definition(api_t *api, http_request_t *req, const cJSON *body)
{
    (void)api;
    const char *definition;
    if (aws_str(req, body, "definition", 1, &definition) < 0 || read_type(req, body) < 0)
        return;
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    if (asl_machine_compile_text(definition, strlen(definition), &m, &p) == 0)
        machines_check_new(m, "", NULL, &p);
    asl_machine_free(m);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "result", p.count ? "FAIL" : "OK");
    cJSON *arr = cJSON_AddArrayToObject(o, "diagnostics");
    for (size_t i = 0; i < p.count; i++) {
        const asl_problem_t *f = &p.items[i];
        char loc[512];
        snprintf(loc, sizeof loc, "/States/%s%s%s", f->state ? f->state : "", f->field ? "/" : "",
                 f->field ? f->field : "");
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "severity", "ERROR");
        cJSON_AddStringToObject(d, "code", "SCHEMA_VALIDATION_FAILED");
        cJSON_AddStringToObject(d, "message", f->message);
        cJSON_AddStringToObject(d, "location", loc);
        cJSON_AddItemToArray(arr, d);
    }
    cJSON_AddBoolToObject(o, "truncated", 0);
    asl_problems_free(&p);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void describe_for_execution(api_t *api, http_request_t *req, const cJSON *body)
{
    char id[RUNTIME_ID_SIZE];
    if (aws_execution_member(api, req, body, "executionArn", id) < 0)
        return;
    cJSON *d = runtime_describe(api->runtime, id);
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachine"));
    int ver = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "stateMachineVersion"));
    const machine_ver_t *v = name ? machines_get_version(api->machines, name, ver) : NULL;
    if (!v) {
        aws_error(req, 503, "ServiceUnavailable", "the execution's definition cannot be read; retry");
        cJSON_Delete(d);
        return;
    }
    char arn[API_AWS_ARN_MAX];
    cJSON *o = machine_description(api, v, aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, name, NULL));
    cJSON_DeleteItemFromObjectCaseSensitive(o, "status");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "creationDate");
    aws_add_ms(o, "updateDate", v->created_ms);
    aws_add_version_arn(api, o, v);
    aws_reply(req, o);
    cJSON_Delete(o);
    cJSON_Delete(d);
}

const aws_action_t aws_machine_actions[] = {
    {"CreateStateMachine", create_machine, AUTH_ADMIN},
    {"UpdateStateMachine", update_machine, AUTH_ADMIN},
    {"DescribeStateMachine", describe_machine, AUTH_READ},
    {"ListStateMachines", list_machines, AUTH_READ},
    {"DeleteStateMachine", delete_machine, AUTH_ADMIN},
    {"ValidateStateMachineDefinition", validate_definition, AUTH_READ},
    {"DescribeStateMachineForExecution", describe_for_execution, AUTH_READ},
    {NULL, NULL, AUTH_OPEN},
};
