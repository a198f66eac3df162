/* Writing events to the outbox table and counting what waits there. */
#include "events/outbox.h"
#include "asl/json.h"
#include "core/rand.h"
#include "core/timefmt.h"

#include <assert.h>
#include <stdlib.h>

cJSON *outbox_envelope(const char *source, const char *detail_type, int64_t time_ms,
                       const char *execution_id, const cJSON *detail)
{
    assert(source);
    char id[RAND_UUID_LEN], when[TIMEFMT_MAX];
    rand_uuid(id);
    cJSON *e = cJSON_CreateObject();
    cJSON *d = detail ? cJSON_Duplicate(detail, 1) : cJSON_CreateObject();
    if (!e || !d) {
        cJSON_Delete(e);
        cJSON_Delete(d);
        return NULL;
    }
    cJSON_AddStringToObject(e, "id", id);
    cJSON_AddStringToObject(e, "source", source);
    cJSON_AddStringToObject(e, "detail-type", detail_type);
    cJSON_AddStringToObject(e, "time", timefmt_utc_ms(time_ms, when));
    if (execution_id)
        cJSON_AddStringToObject(e, "executionId", execution_id);
    else
        cJSON_AddNullToObject(e, "executionId");
    cJSON_AddItemToObject(e, "detail", d);
    return e;
}

int outbox_append(store_t *st, const cJSON *envelope, int64_t now_ms)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(envelope, "id");
    /* asl_json_print: a fraction of cJSON_PrintUnformatted's instructions. */
    char *payload = asl_json_print(envelope);
    if (!cJSON_IsString(id) || !payload) {
        free(payload);
        return STORE_ERR_MISUSE;
    }
    store_stmt_t *s = store_prepare(st, "INSERT INTO outbox (event_id, payload, created_ms) "
                                        "VALUES (?1, ?2, ?3)");
    if (!s) {
        free(payload);
        return STORE_ERR_ERROR;
    }
    store_bind_text(s, 1, id->valuestring);
    store_bind_text_taken(s, 2, payload);
    store_bind_int64(s, 3, now_ms);
    int rc = store_exec_stmt(s);
    store_clear_bindings(s); /* hands `payload` to its destructor now */
    return rc;
}

int64_t outbox_backlog(store_t *st)
{
    store_stmt_t *s = store_prepare(st, "SELECT count(*) FROM outbox");
    if (!s)
        return STORE_ERR_ERROR;
    int rc = store_step(s);
    int64_t n = rc == STORE_ROW ? store_col_int64(s, 0) : rc;
    store_reset(s);
    return n;
}
