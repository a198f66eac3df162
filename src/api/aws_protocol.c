/* The AWS JSON 1.0 protocol on POST /: X-Amz-Target picks the action, the
 * body is a JSON object, answers and errors take AWS's shapes. The actions
 * live in aws_machines.c, aws_executions.c and aws_activities.c. */
#include "aws_internal.h"
#include "core/jsonin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTENT_TYPE "application/x-amz-json-1.0"
#define TARGET_PREFIX "AWSStepFunctions."

static void respond(http_request_t *req, int status, const cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    if (!text) {
        static const char no_memory[] =
            "{\"__type\":\"ServiceUnavailable\",\"message\":\"out of memory; retry\"}";
        http_respond(req, 503, CONTENT_TYPE, no_memory, sizeof no_memory - 1);
        return;
    }
    http_respond(req, status, CONTENT_TYPE, text, strlen(text));
    free(text);
}

void api_aws_error(http_request_t *req, int status, const char *type, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "__type", type);
    cJSON_AddStringToObject(o, "message", msg);
    http_response_header(req, "x-amzn-ErrorType", type);
    respond(req, status, o);
    cJSON_Delete(o);
}

void aws_reply(http_request_t *req, const cJSON *o)
{
    respond(req, 200, o);
}

void aws_reply_empty(http_request_t *req)
{
    http_respond(req, 200, CONTENT_TYPE, "{}", 2);
}

void aws_error_runtime(http_request_t *req, int rc, const char *what)
{
    switch (rc) {
    case RUNTIME_ERR_STOPPING:
        aws_error(req, 503, "ServiceUnavailable", "%s: sagad is shutting down; retry shortly", what);
        break;
    case RUNTIME_ERR_RECOVERING:
        aws_error(req, 503, "ServiceUnavailable",
                  "%s: executions are being reloaded from the database; retry in a moment", what);
        break;
    case RUNTIME_ERR_REMOTE:
        aws_error(req, 503, "ServiceUnavailable",
                  "%s: another node runs this execution and cannot be reached now; retry", what);
        break;
    case RUNTIME_ERR_INPUT:
        aws_error(req, 400, "ValidationException", "%s: the payload is larger than %d bytes",
                  what, ASL_PAYLOAD_LIMIT);
        break;
    default:
        aws_error(req, 503, "ServiceUnavailable",
                  "%s: the database did not confirm the change; nothing was done, retry", what);
        break;
    }
}

/* ---- members ------------------------------------------------------------- */

static int wrong_type(http_request_t *req, const char *key, const char *want)
{
    aws_error(req, 400, "SerializationException", "member '%s' must be %s", key, want);
    return -1;
}

static int missing(http_request_t *req, const char *key)
{
    aws_error(req, 400, "ValidationException",
              "1 validation error detected: Value null at '%s' failed to satisfy constraint: "
              "Member must not be null", key);
    return -1;
}

int aws_str(http_request_t *req, const cJSON *body, const char *key, int required,
            const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return required ? missing(req, key) : 0;
    if (!cJSON_IsString(v))
        return wrong_type(req, key, "a string");
    *out = v->valuestring;
    return 0;
}

int aws_int(http_request_t *req, const cJSON *body, const char *key, int min, int max, int dflt,
            int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble)
        return wrong_type(req, key, "an integer");
    if (v->valuedouble < min || v->valuedouble > max) {
        aws_error(req, 400, "ValidationException",
                  "1 validation error detected: Value '%g' at '%s' failed to satisfy constraint: "
                  "Member must have value between %d and %d", v->valuedouble, key, min, max);
        return -1;
    }
    *out = (int)v->valuedouble;
    return 0;
}

int aws_bool(http_request_t *req, const cJSON *body, const char *key, int dflt, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    *out = dflt;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return wrong_type(req, key, "a boolean");
    *out = cJSON_IsTrue(v);
    return 0;
}

int aws_json_member(http_request_t *req, const cJSON *body, const char *key, const char *dflt,
                    const char *err_type, cJSON **out)
{
    const char *text;
    *out = NULL;
    if (aws_str(req, body, key, 0, &text) < 0)
        return -1;
    if (!text)
        text = dflt;
    jsonin_error_t e;
    int rc = jsonin_parse(text, strlen(text), out, &e);
    if (rc == JSONIN_ERR_NOMEM) {
        aws_error(req, 503, "ServiceUnavailable", "out of memory; retry");
        return -1;
    }
    if (rc < 0) {
        aws_error(req, 400, err_type, "%s is not valid JSON: %s", key, e.message);
        return -1;
    }
    return 0;
}

char *aws_arn(api_t *api, char buf[API_AWS_ARN_MAX], api_aws_arn_kind_t kind, const char *name,
              const char *qualifier)
{
    return api_aws_arn_format(buf, kind, api->cfg->aws_region, api->cfg->aws_account, name,
                              qualifier);
}

int aws_arn_member(api_t *api, http_request_t *req, const cJSON *body, const char *key,
                   api_aws_arn_kind_t kind, const char *not_found, api_aws_arn_t *out)
{
    static const char *const forms[] = {
        [API_AWS_ARN_STATE_MACHINE] = "arn:aws:states:REGION:ACCOUNT:stateMachine:NAME",
        [API_AWS_ARN_EXECUTION] = "arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME",
        [API_AWS_ARN_ACTIVITY] = "arn:aws:states:REGION:ACCOUNT:activity:NAME",
    };
    const char *arn;
    if (aws_str(req, body, key, 1, &arn) < 0)
        return -1;
    int rc = api_aws_arn_parse(arn, kind, api->cfg->aws_region, api->cfg->aws_account, out);
    if (rc == API_AWS_ARN_MALFORMED) {
        aws_error(req, 400, "InvalidArn", "Invalid Arn: '%.300s' is not an ARN of the form %s",
                  arn, forms[kind]);
        return -1;
    }
    if (rc == API_AWS_ARN_ELSEWHERE) {
        aws_error(req, 400, not_found,
                  "%.300s is in another region or account: this sagad answers for region %s, "
                  "account %s (aws_region, aws_account)", arn, api->cfg->aws_region,
                  api->cfg->aws_account);
        return -1;
    }
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

static const aws_action_t *find_action(const char *name)
{
    const aws_action_t *const tables[] = {aws_machine_actions, aws_version_actions,
                                          aws_execution_actions, aws_activity_actions};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const aws_action_t *a = tables[t]; a->name; a++)
            if (strcmp(a->name, name) == 0)
                return a;
    return NULL;
}

static void on_post(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *target = http_request_header(req, "X-Amz-Target");
    if (!target) {
        aws_error(req, 400, "UnknownOperationException",
                  "POST / is the Step Functions API: send X-Amz-Target: AWSStepFunctions.<Action> "
                  "and Content-Type: " CONTENT_TYPE);
        return;
    }
    size_t plen = sizeof TARGET_PREFIX - 1;
    const aws_action_t *a = strncmp(target, TARGET_PREFIX, plen) == 0 ? find_action(target + plen)
                                                                       : NULL;
    if (!a) {
        aws_error(req, 400, "UnknownOperationException",
                  "unknown operation %.200s: sagad speaks AWSStepFunctions.<Action> for the "
                  "actions in docs/aws-compatibility.md", target);
        return;
    }
    if (aws_authorize(api, req, a) < 0)
        return;
    size_t len;
    const char *text = http_request_body(req, &len);
    cJSON *body = NULL;
    jsonin_error_t e;
    int rc = len ? jsonin_parse(text, len, &body, &e) : JSONIN_OK;
    if (rc == JSONIN_ERR_NOMEM) {
        aws_error(req, 503, "ServiceUnavailable", "out of memory reading the request; retry");
        return;
    }
    if (rc < 0 || (body && !cJSON_IsObject(body))) {
        aws_error(req, 400, "SerializationException", "the body of %s must be a JSON object%s%s",
                  a->name, rc < 0 ? ": " : "", rc < 0 ? e.message : "");
        cJSON_Delete(body);
        return;
    }
    if (!body && !(body = cJSON_CreateObject())) {
        aws_error(req, 503, "ServiceUnavailable", "out of memory reading the request; retry");
        return;
    }
    a->fn(api, req, body);
    cJSON_Delete(body);
}

int api_aws_register(http_server_t *srv, api_t *api)
{
    return http_server_route(srv, "POST", "/", on_post, api);
}
