/* Execution status events: turns the runtime's status changes into outbox
 * rows, written in the transaction that changes the status, so an event
 * exists exactly when its change is durable. */
#include "events/status.h"
#include "core/timefmt.h"
#include "events/outbox.h"

#include <string.h>

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_date(cJSON *o, const char *key, int64_t ms)
{
    char buf[TIMEFMT_MAX];
    add_str_or_null(o, key, ms > 0 ? timefmt_utc_ms(ms, buf) : NULL);
}

static void add_json_or_null(cJSON *o, const char *key, const cJSON *v)
{
    cJSON_AddItemToObject(o, key, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

/* The event's detail (caller frees), or NULL on no memory. */
static cJSON *status_detail(const runtime_status_change_t *c, int payload)
{
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return NULL;
    cJSON_AddStringToObject(d, "executionId", c->execution_id);
    cJSON_AddStringToObject(d, "stateMachine", c->machine);
    cJSON_AddNumberToObject(d, "stateMachineVersion", c->version);
    add_str_or_null(d, "name", c->name);
    cJSON_AddStringToObject(d, "status", c->status);
    add_date(d, "startDate", c->start_ms);
    add_date(d, "stopDate", c->stop_ms);
    add_str_or_null(d, "error", c->error);
    add_str_or_null(d, "cause", c->cause);
    if (payload) {
        add_json_or_null(d, "input", c->input);
        add_json_or_null(d, "output", c->output);
    }
    /* Any failed addition leaves a member out: refuse rather than emit less. */
    if (cJSON_GetArraySize(d) != (payload ? 11 : 9)) {
        cJSON_Delete(d);
        return NULL;
    }
    return d;
}

int status_events_on_status(void *ud, const runtime_status_change_t *c)
{
    const status_events_t *se = ud;
    int running = strcmp(c->status, "RUNNING") == 0;
    if (se->mode == CONFIG_EXEC_EVENTS_OFF || (running && se->mode != CONFIG_EXEC_EVENTS_ALL))
        return 0;
    int64_t now = c->stop_ms > 0 ? c->stop_ms : c->start_ms;
    cJSON *detail = status_detail(c, se->payload);
    cJSON *env = detail ? outbox_envelope(STATUS_EVENTS_SOURCE, STATUS_EVENTS_DETAIL_TYPE, now,
                                          c->execution_id, detail)
                        : NULL;
    cJSON_Delete(detail);
    int rc = env ? outbox_append(se->store, env, now) : -1;
    cJSON_Delete(env);
    return rc < 0 ? -1 : 0;
}
