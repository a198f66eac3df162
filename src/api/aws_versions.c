/* Step Functions actions on versions and aliases, onto the registry's
 * (engine/machines.h): every definition sagad stores is a version already,
 * and an alias names one version (no weighted routing). */
#include "aws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *version_arn(api_t *api, char buf[API_AWS_ARN_MAX], const char *name, int version)
{
    char q[16];
    snprintf(q, sizeof q, "%d", version);
    return aws_arn(api, buf, API_AWS_ARN_STATE_MACHINE, name, q);
}

typedef struct versions_ctx_s {
    api_t *api;
    const char *name;
    cJSON *arr;
} versions_ctx_t;

static void add_version(int version, int64_t created_ms, void *ud)
{
    versions_ctx_t *c = ud;
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineVersionArn", version_arn(c->api, arn, c->name, version));
    aws_add_ms(o, "creationDate", created_ms);
    cJSON_AddItemToArray(c->arr, o);
}

static void list_versions(api_t *api, http_request_t *req, const cJSON *body)
{
    const machine_ver_t *v = aws_machine_member(api, req, body, "stateMachineArn");
    if (!v)
        return;
    cJSON *o = cJSON_CreateObject();
    versions_ctx_t c = {api, v->name, cJSON_AddArrayToObject(o, "stateMachineVersions")};
    if (machines_versions(api->machines, v->name, add_version, &c) < 0)
        aws_error(req, 503, "ServiceUnavailable", "cannot read the versions now; retry");
    else
        aws_reply(req, o);
    cJSON_Delete(o);
}

/* The newest definition is a version already: publishing answers it. */
static void publish_version(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *description;
    const machine_ver_t *v = aws_machine_member(api, req, body, "stateMachineArn");
    if (!v || aws_str(req, body, "description", 0, &description) < 0)
        return;
    cJSON *o = cJSON_CreateObject();
    aws_add_ms(o, "creationDate", v->created_ms);
    aws_add_version_arn(api, o, v);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void delete_version(api_t *api, http_request_t *req, const cJSON *body)
{
    const machine_ver_t *v = aws_machine_member(api, req, body, "stateMachineVersionArn");
    if (v)
        aws_error(req, 400, "ValidationException",
                  "sagad keeps every version of '%s' (executions and histories use them); "
                  "DeleteStateMachine deletes the machine", v->name);
}

/* ---- aliases ------------------------------------------------------------- */

/* The alias ARN member: machine and alias into *a; answers and returns -1
 * otherwise. */
static int alias_member(api_t *api, http_request_t *req, const cJSON *body, api_aws_arn_t *a)
{
    if (aws_arn_member(api, req, body, "stateMachineAliasArn", API_AWS_ARN_STATE_MACHINE,
                       "ResourceNotFound", a) < 0)
        return -1;
    if (!machines_valid_alias(a->qualifier)) {
        aws_error(req, 400, "InvalidArn",
                  "Invalid Arn: an alias ARN is arn:aws:states:REGION:ACCOUNT:stateMachine:NAME:ALIAS "
                  "(ALIAS 1 to 80 of A-Z a-z 0-9 _ -, not all digits)");
        return -1;
    }
    return 0;
}

/* The one version routingConfiguration names (as sagad's aliases name one):
 * *v, or -1 after answering. */
static int routing_member(api_t *api, http_request_t *req, const cJSON *body,
                          const machine_ver_t **v)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(body, "routingConfiguration");
    if (!r || cJSON_IsNull(r)) {
        aws_error(req, 400, "ValidationException",
                  "1 validation error detected: Value null at 'routingConfiguration' failed to "
                  "satisfy constraint: Member must not be null");
        return -1;
    }
    if (!cJSON_IsArray(r) || (r->child && !cJSON_IsObject(r->child))) {
        aws_error(req, 400, "SerializationException",
                  "member 'routingConfiguration' must be a list of objects");
        return -1;
    }
    const cJSON *weight = cJSON_GetObjectItemCaseSensitive(r->child, "weight");
    if (cJSON_GetArraySize(r) != 1 || (weight && cJSON_GetNumberValue(weight) != 100)) {
        aws_error(req, 400, "ValidationException",
                  "a sagad alias names one version: routingConfiguration takes one "
                  "{stateMachineVersionArn, weight: 100}");
        return -1;
    }
    api_aws_arn_t a;
    if (aws_arn_member(api, req, r->child, "stateMachineVersionArn", API_AWS_ARN_STATE_MACHINE,
                       "ResourceNotFound", &a) < 0)
        return -1;
    char *end;
    long n = strtol(a.qualifier, &end, 10);
    *v = a.qualifier[0] && !*end && n >= 1 && n <= 0x7fffffff
             ? machines_get_version(api->machines, a.name, (int)n)
             : NULL;
    if (!*v || (*v)->deleted_ms) {
        aws_error(req, 400, "ResourceNotFound", "Resource Not Found: '%s' is no version",
                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->child,
                                                                        "stateMachineVersionArn")));
        return -1;
    }
    return 0;
}

/* Answers `rc` of machines_alias_put / _delete when it is not 0. */
static void alias_failed(http_request_t *req, int rc, const char *name, const char *alias)
{
    if (rc == MACHINES_ERR_STORE)
        aws_error(req, 503, "ServiceUnavailable", "the alias was not written; retry");
    else if (rc == MACHINES_ERR_NAME)
        aws_error(req, 400, "ValidationException",
                  "'%s' is no alias name: 1 to 80 of A-Z a-z 0-9 _ -, not all digits", alias);
    else
        aws_error(req, 400, "ResourceNotFound", "Resource Not Found: '%s:%s'", name, alias);
}

static void create_alias(api_t *api, http_request_t *req, const cJSON *body)
{
    const char *alias, *description;
    const machine_ver_t *v;
    if (aws_str(req, body, "name", 1, &alias) < 0 ||
        aws_str(req, body, "description", 0, &description) < 0 ||
        routing_member(api, req, body, &v) < 0)
        return;
    machines_alias_t old;
    int rc = machines_alias_get(api->machines, v->name, alias, &old);
    if (rc == 0 && old.version != v->version) {
        aws_error(req, 400, "ConflictException",
                  "alias '%s' of '%s' names version %d; UpdateStateMachineAlias moves it", alias,
                  v->name, old.version);
        return;
    }
    if (rc != 0 && (rc = machines_alias_put(api->machines, v->name, alias, v->version, NULL)) != 0) {
        alias_failed(req, rc, v->name, alias);
        return;
    }
    machines_alias_t now;
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineAliasArn",
                            aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, v->name, alias));
    if (machines_alias_get(api->machines, v->name, alias, &now) == 0)
        aws_add_ms(o, "creationDate", now.updated_ms);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void update_alias(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    const machine_ver_t *v;
    if (alias_member(api, req, body, &a) < 0 || routing_member(api, req, body, &v) < 0)
        return;
    machines_alias_t old;
    int rc = machines_alias_get(api->machines, a.name, a.qualifier, &old);
    if (rc == 0 && strcmp(v->name, a.name) != 0) {
        aws_error(req, 400, "ValidationException",
                  "the alias belongs to '%s'; routingConfiguration names a version of '%s'",
                  a.name, v->name);
        return;
    }
    if (rc != 0 || (rc = machines_alias_put(api->machines, a.name, a.qualifier, v->version, NULL)) != 0) {
        alias_failed(req, rc, a.name, a.qualifier);
        return;
    }
    machines_alias_t now;
    cJSON *o = cJSON_CreateObject();
    if (machines_alias_get(api->machines, a.name, a.qualifier, &now) == 0)
        aws_add_ms(o, "updateDate", now.updated_ms);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void describe_alias(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    if (alias_member(api, req, body, &a) < 0)
        return;
    machines_alias_t m;
    int rc = machines_alias_get(api->machines, a.name, a.qualifier, &m);
    if (rc != 0) {
        alias_failed(req, rc, a.name, a.qualifier);
        return;
    }
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineAliasArn",
                            aws_arn(api, arn, API_AWS_ARN_STATE_MACHINE, a.name, a.qualifier));
    cJSON_AddStringToObject(o, "name", a.qualifier);
    cJSON *route = cJSON_CreateObject();
    cJSON_AddStringToObject(route, "stateMachineVersionArn", version_arn(api, arn, a.name, m.version));
    cJSON_AddNumberToObject(route, "weight", 100);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "routingConfiguration"), route);
    aws_add_ms(o, "creationDate", m.updated_ms);
    aws_add_ms(o, "updateDate", m.updated_ms);
    aws_reply(req, o);
    cJSON_Delete(o);
}

static void delete_alias(api_t *api, http_request_t *req, const cJSON *body)
{
    api_aws_arn_t a;
    if (alias_member(api, req, body, &a) < 0)
        return;
    int rc = machines_alias_delete(api->machines, a.name, a.qualifier);
    if (rc == 0 || rc == MACHINES_ERR_NOT_FOUND)
        aws_reply_empty(req);   /* deleting what is gone succeeds, as in AWS */
    else
        alias_failed(req, rc, a.name, a.qualifier);
}

typedef struct aliases_ctx_s {
    api_t *api;
    cJSON *arr;
} aliases_ctx_t;

static void add_alias(const machines_alias_t *m, void *ud)
{
    aliases_ctx_t *c = ud;
    char arn[API_AWS_ARN_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "stateMachineAliasArn",
                            aws_arn(c->api, arn, API_AWS_ARN_STATE_MACHINE, m->name, m->alias));
    aws_add_ms(o, "creationDate", m->updated_ms);
    cJSON_AddItemToArray(c->arr, o);
}

static void list_aliases(api_t *api, http_request_t *req, const cJSON *body)
{
    const machine_ver_t *v = aws_machine_member(api, req, body, "stateMachineArn");
    if (!v)
        return;
    cJSON *o = cJSON_CreateObject();
    aliases_ctx_t c = {api, cJSON_AddArrayToObject(o, "stateMachineAliases")};
    if (machines_alias_list(api->machines, v->name, add_alias, &c) < 0)
        aws_error(req, 503, "ServiceUnavailable", "cannot read the aliases now; retry");
    else
        aws_reply(req, o);
    cJSON_Delete(o);
}

const aws_action_t aws_version_actions[] = {
    {"ListStateMachineVersions", list_versions, AUTH_READ},
    {"PublishStateMachineVersion", publish_version, AUTH_ADMIN},
    {"DeleteStateMachineVersion", delete_version, AUTH_ADMIN},
    {"CreateStateMachineAlias", create_alias, AUTH_ADMIN},
    {"UpdateStateMachineAlias", update_alias, AUTH_ADMIN},
    {"DescribeStateMachineAlias", describe_alias, AUTH_READ},
    {"DeleteStateMachineAlias", delete_alias, AUTH_ADMIN},
    {"ListStateMachineAliases", list_aliases, AUTH_READ},
    {NULL, NULL, AUTH_OPEN},
};
