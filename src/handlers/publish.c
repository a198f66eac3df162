/* events.publish: one outbox row per call, in the step's transaction, with
 * the source the registering domain gives. */
#include "handlers/publish.h"
#include "events/outbox.h"
#include "handlers/common.h"

int handlers_publish_run(handler_call_t *call, const cJSON *input, const char *default_source,
                         cJSON **result, asl_error_t *err)
{
    static const char *const name = "events.publish";
    const char *type = NULL, *source = NULL;
    *result = NULL;
    if (!cJSON_IsObject(input))
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT, "%s: input must be an object", name);
    if (cJSON_HasObjectItem(input, "detail-type")) {
        if (handlers_get_string(name, input, "detail-type", true, &type, err) < 0)
            return -1;
    } else if (handlers_get_string(name, input, "detailType", true, &type, err) < 0) {
        return -1;
    }
    if (handlers_get_string(name, input, "source", false, &source, err) < 0)
        return -1;
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(input, "detail");
    cJSON *env = outbox_envelope(source ? source : default_source, type, call->now_ms, call->execution_id, detail);
    if (!env)
        return asl_error_set(err, ASL_E_TASK_FAILED, "%s: out of memory", name);
    if (outbox_append(call->store, env, call->now_ms) < 0) {
        cJSON_Delete(env);
        return handlers_db_error(err, name, call->store);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(env, "detail");
    *result = env;
    return 0;
}
