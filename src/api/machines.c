/* Routes for deleting a state machine and for its aliases: they translate
 * requests into registry calls (engine/machines.h), whose writes are
 * committed before the reply. */
#include "api/machines.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void respond_missing(http_request_t *req, const char *name)
{
    api_respond_unresolved(req, name, MACHINES_ERR_NOT_FOUND);
}

static void respond_store(http_request_t *req)
{
    http_respond_error(req, 503, "StorageError", "the database did not answer; nothing changed, retry");
}

/* ?force=true|false: 0 or 1, or -1 after answering 400. */
static int force_param(http_request_t *req)
{
    const char *f = api_query_opt(req, "force");
    if (!f || strcmp(f, "false") == 0 || strcmp(f, "0") == 0)
        return 0;
    if (strcmp(f, "true") == 0 || strcmp(f, "1") == 0)
        return 1;
    http_respond_error(req, 400, "InvalidParameter", "force must be true or false");
    return -1;
}

static void on_delete_machine(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    int force = force_param(req);
    if (force < 0)
        return;
    int64_t running = 0;
    int rc = machines_delete(api->machines, name, force, &running);
    if (rc == MACHINES_ERR_NOT_FOUND) {
        respond_missing(req, name);
    } else if (rc == MACHINES_ERR_RUNNING) {
        cJSON *o = cJSON_CreateObject();
        char msg[256];
        snprintf(msg, sizeof msg,
                 "%lld execution%s of %s %s running; stop them, wait, or DELETE with ?force=true "
                 "(they then finish on their versions)", (long long)running,
                 running == 1 ? "" : "s", name, running == 1 ? "is" : "are");
        cJSON_AddStringToObject(o, "error", "ExecutionsRunning");
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddNumberToObject(o, "runningExecutions", (double)running);
        http_respond_json(req, 409, o);
        cJSON_Delete(o);
    } else if (rc < 0) {
        respond_store(req);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddBoolToObject(o, "deleted", 1);
        cJSON_AddNumberToObject(o, "runningExecutions", (double)running);
        http_respond_json(req, 200, o);
        cJSON_Delete(o);
    }
}

static cJSON *alias_json(const machines_alias_t *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char at[TIMEFMT_MAX];
    cJSON_AddStringToObject(o, "name", a->name);
    cJSON_AddStringToObject(o, "alias", a->alias);
    cJSON_AddNumberToObject(o, "version", a->version);
    cJSON_AddStringToObject(o, "updatedDate", timefmt_utc_ms(a->updated_ms, at));
    return o;
}

static void add_alias_cb(const machines_alias_t *a, void *ud)
{
    cJSON_AddItemToArray(ud, alias_json(a));
}

static void on_list_aliases(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "aliases") : NULL;
    int n = arr ? machines_alias_list(api->machines, name, add_alias_cb, arr) : MACHINES_ERR_STORE;
    if (!arr)
        api_respond_no_memory(req, "cannot list the aliases now");
    else if (n == MACHINES_ERR_NOT_FOUND)
        respond_missing(req, name);
    else if (n < 0)
        respond_store(req);
    else if (cJSON_GetArraySize(arr) != n)
        api_respond_no_memory(req, "cannot list the aliases now");
    else
        http_respond_json(req, 200, o);
    cJSON_Delete(o);
}

/* Answers a failed alias call on name/alias. */
static void respond_alias_error(http_request_t *req, const char *name, const char *alias, int rc)
{
    if (rc == MACHINES_ERR_STORE)
        respond_store(req);
    else if (rc == MACHINES_ERR_NOT_FOUND && machines_valid_alias(alias))
        http_respond_error(req, 404, "AliasDoesNotExist",
                           "state machine '%s' has no alias '%s'; GET /state-machines/%s/aliases "
                           "lists them", name, alias, name);
    else
        respond_missing(req, name);
}

static void on_get_alias(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    const char *alias = http_request_param(req, "alias");
    machines_alias_t a;
    int rc = machines_alias_get(api->machines, name, alias, &a);
    if (rc == MACHINES_ERR_NOT_FOUND && !machines_get(api->machines, name))
        respond_missing(req, name);
    else if (rc < 0)
        respond_alias_error(req, name, alias, rc);
    else {
        cJSON *o = alias_json(&a);
        http_respond_json(req, 200, o);
        cJSON_Delete(o);
    }
}

/* The version a PUT body names: {"version": N}. 0 after answering 400. */
static int body_version(http_request_t *req)
{
    cJSON *body = api_body_json(req);
    if (!body)
        return 0;
    static const char *const fields[] = {"version", NULL};
    int version = 0;
    if (api_body_only(req, body, fields) == 0) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "version");
        if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 0x7fffffff &&
            v->valuedouble == (double)(int)v->valuedouble)
            version = (int)v->valuedouble;
        else
            http_respond_error(req, 400, "InvalidRequest",
                               "the body must be {\"version\": N}, N a version number (1, 2, ...)");
    }
    cJSON_Delete(body);
    return version;
}

static void on_put_alias(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    const char *alias = http_request_param(req, "alias");
    if (!machines_valid_alias(alias)) {
        api_respond_unresolved(req, alias, MACHINES_ERR_NAME);
        return;
    }
    int version = body_version(req);
    if (!version)
        return;
    int created = 0;
    int rc = machines_alias_put(api->machines, name, alias, version, &created);
    if (rc == MACHINES_ERR_NO_VERSION) {
        http_respond_error(req, 404, "StateMachineVersionDoesNotExist",
                           "state machine '%s' has no version %d; GET /state-machines/%s/versions "
                           "lists them", name, version, name);
        return;
    }
    machines_alias_t a;
    if (rc == 0)
        rc = machines_alias_get(api->machines, name, alias, &a);
    if (rc < 0) {
        respond_alias_error(req, name, alias, rc);
        return;
    }
    char loc[256];
    snprintf(loc, sizeof loc, "/state-machines/%s/aliases/%s", name, alias);
    http_response_header(req, "Location", loc);
    cJSON *o = alias_json(&a);
    http_respond_json(req, created ? 201 : 200, o);
    cJSON_Delete(o);
}

static void on_delete_alias(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *name = http_request_param(req, "name");
    const char *alias = http_request_param(req, "alias");
    int rc = machines_alias_delete(api->machines, name, alias);
    if (rc == MACHINES_ERR_NOT_FOUND && !machines_get(api->machines, name)) {
        respond_missing(req, name);
    } else if (rc < 0) {
        respond_alias_error(req, name, alias, rc);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "alias", alias);
        cJSON_AddBoolToObject(o, "deleted", 1);
        http_respond_json(req, 200, o);
        cJSON_Delete(o);
    }
}

int api_machines_register(http_server_t *srv, api_t *api)
{
    int rc = 0;
    rc |= http_server_route(srv, "DELETE", "/state-machines/{name}", on_delete_machine, api);
    rc |= http_server_route(srv, "GET", "/state-machines/{name}/aliases", on_list_aliases, api);
    rc |= http_server_route(srv, "GET", "/state-machines/{name}/aliases/{alias}", on_get_alias, api);
    rc |= http_server_route(srv, "PUT", "/state-machines/{name}/aliases/{alias}", on_put_alias, api);
    rc |= http_server_route(srv, "DELETE", "/state-machines/{name}/aliases/{alias}", on_delete_alias,
                            api);
    return rc ? -1 : 0;
}
