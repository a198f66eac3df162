/* sagad:echo and sagad:fail: handlers with no effect, for trying out state
 * machines, Retry and Catch. */
#include "handlers/builtin.h"

#include <stdlib.h>

#define FAIL_DEFAULT_ERROR ASL_E_TASK_FAILED
#define FAIL_DEFAULT_CAUSE "sagad:fail was called"

static int echo_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    (void)call;
    *result = input ? cJSON_Duplicate(input, 1) : cJSON_CreateNull();
    if (!*result)
        return asl_error_set(err, ASL_E_TASK_FAILED, "echo: out of memory");
    return 0;
}

static const char *string_field(const cJSON *input, const char *key)
{
    const cJSON *v = cJSON_IsObject(input) ? cJSON_GetObjectItemCaseSensitive(input, key) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static int fail_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    (void)call;
    *result = NULL;
    const char *error = string_field(input, "error");
    const char *cause = string_field(input, "cause");
    return asl_error_set(err, error ? error : FAIL_DEFAULT_ERROR, "%s",
                         cause ? cause : FAIL_DEFAULT_CAUSE);
}

const handler_def_t handlers_echo = {.name = "echo", .run = echo_run};
const handler_def_t handlers_fail = {.name = "fail", .run = fail_run};
