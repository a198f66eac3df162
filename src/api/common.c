/* Request helpers shared by the route groups: the strictly read JSON body,
 * ?limit, and the answers for bad JSON and for running out of memory. */
#include "api/common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_respond_no_memory(http_request_t *req, const char *what)
{
    http_respond_error(req, 503, "OutOfMemory", "%s (out of memory); nothing was done, retry", what);
}

void api_respond_bad_json(http_request_t *req, int rc, const jsonin_error_t *e)
{
    if (rc == JSONIN_ERR_NOMEM)
        api_respond_no_memory(req, "cannot read the request body now");
    else
        http_respond_error(req, 400, "InvalidJson", "the request body is not valid JSON: %s",
                           e->message);
}

cJSON *api_body_json(http_request_t *req)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    if (len == 0) {
        http_respond_error(req, 400, "InvalidJson", "the request body is empty; send a JSON document");
        return NULL;
    }
    cJSON *j = NULL;
    jsonin_error_t e;
    int rc = jsonin_parse(body, len, &j, &e);
    if (rc < 0)
        api_respond_bad_json(req, rc, &e);
    return j;
}

int api_body_only(http_request_t *req, const cJSON *body, const char *const *fields)
{
    if (!cJSON_IsObject(body))
        return 0;
    for (const cJSON *m = body->child; m; m = m->next) {
        size_t i = 0;
        while (fields[i] && strcmp(fields[i], m->string) != 0)
            i++;
        if (fields[i])
            continue;
        char list[256] = "";
        for (i = 0; fields[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     fields[i]);
        http_respond_error(req, 400, "UnknownField",
                           "unknown field '%.100s' in the body; this request takes: %s", m->string,
                           list);
        return -1;
    }
    return 0;
}

void api_respond_unresolved(http_request_t *req, const char *qualified, int err)
{
    size_t nl = strcspn(qualified, ":");
    switch (err) {
    case MACHINES_ERR_NAME:
        http_respond_error(req, 400, "InvalidName",
                           "'%s' is not NAME, NAME:VERSION or NAME:ALIAS (an alias has 1 to 80 "
                           "of A-Z a-z 0-9 _ -, not only digits)", qualified);
        break;
    case MACHINES_ERR_NO_VERSION:
        http_respond_error(req, 404, "StateMachineVersionDoesNotExist",
                           "state machine '%.*s' has no version or alias '%s'; GET "
                           "/state-machines/%.*s/versions and .../aliases list them",
                           (int)nl, qualified, qualified + nl + (qualified[nl] == ':'), (int)nl,
                           qualified);
        break;
    case MACHINES_ERR_STORE:
        http_respond_error(req, 503, "StorageError", "cannot read the state machine now; retry");
        break;
    default:
        http_respond_error(req, 404, "StateMachineDoesNotExist",
                           "no state machine named '%.*s'; PUT /state-machines/%.*s registers one",
                           (int)nl, qualified, (int)nl, qualified);
        break;
    }
}

void api_denied_text(api_t *api, const machine_ver_t *mv, char *buf, size_t size)
{
    machines_denied_t d = {"", "?"};
    char why[MACHINES_WHY_SIZE] = "";
    if (machines_denied(api->machines, mv, &d) > 0)
        machines_denial_why(mv->name, d.handler, why, sizeof why);
    snprintf(buf, size, "state machine %s version %d is not started: state %s: %s", mv->name,
             mv->version, d.state, why);
}

void api_named(const char *qualifier, const machine_ver_t *v, runtime_named_t *out)
{
    int number = *qualifier && strspn(qualifier, "0123456789") == strlen(qualifier);
    out->alias = *qualifier && !number ? qualifier : NULL;
    out->version = *qualifier ? v->version : 0;
}

const machine_ver_t *api_machine_version(api_t *api, http_request_t *req)
{
    runtime_named_t named;
    return api_machine_version_named(api, req, &named);
}

const machine_ver_t *api_machine_version_named(api_t *api, http_request_t *req,
                                               runtime_named_t *named)
{
    const char *name = http_request_param(req, "name");
    const char *ver = http_request_query(req, "version");
    if (!ver) {
        int err = 0;
        const machine_ver_t *v = machines_resolve(api->machines, name, &err);
        const char *colon = strchr(name, ':');
        if (!v)
            api_respond_unresolved(req, name, err);
        else
            api_named(colon ? colon + 1 : "", v, named);
        return v;
    }
    char *end;
    long n = strtol(ver, &end, 10);
    if (!*ver || *end || n < 1 || n > INT32_MAX) {
        http_respond_error(req, 400, "InvalidParameter", "version must be a version number (1, 2, ...)");
        return NULL;
    }
    const machine_ver_t *v = machines_get_version(api->machines, name, (int)n);
    if (v && v->deleted_ms)
        v = NULL;   /* kept for its executions, gone for requests */
    if (!v)
        http_respond_error(req, 404, "StateMachineVersionDoesNotExist",
                           "state machine '%s' has no version %ld; GET /state-machines/%s/versions "
                           "lists them", name, n, name);
    else
        *named = (runtime_named_t){.version = v->version};
    return v;
}

const char *api_query_opt(http_request_t *req, const char *name)
{
    const char *v = http_request_query(req, name);
    return v && *v ? v : NULL;
}

int api_query_limit(http_request_t *req, int *limit)
{
    const char *lim = http_request_query(req, "limit");
    if (!lim)
        return 0;
    char *end;
    long l = strtol(lim, &end, 10);
    if (!*lim || *end || l < 1 || l > 1000) {
        http_respond_error(req, 400, "InvalidParameter", "limit must be an integer from 1 to 1000");
        return -1;
    }
    *limit = (int)l;
    return 0;
}
