/* Input-field readers for the built-in handlers. (Identifiers and simulated
 * randomness come from core/rand.) */
#include "handlers/common.h"
#include "core/log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int handlers_get_string(const char *handler, const cJSON *input, const char *key,
                        bool required, const char **out, asl_error_t *err)
{
    const cJSON *v = cJSON_IsObject(input) ? cJSON_GetObjectItemCaseSensitive(input, key) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT, "%s: input needs the string field '%s'",
                             handler, key);
    }
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: field '%s' must be a non-empty string", handler, key);
    *out = v->valuestring;
    return 0;
}

int handlers_get_int(const char *handler, const cJSON *input, const char *key, bool required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out, asl_error_t *err)
{
    const cJSON *v = cJSON_IsObject(input) ? cJSON_GetObjectItemCaseSensitive(input, key) : NULL;
    *out = dflt;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: input needs the integer field '%s'", handler, key);
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max)
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT,
                             "%s: field '%s' must be an integer from %" PRId64 " to %" PRId64,
                             handler, key, min, max);
    *out = (int64_t)d;
    return 0;
}

int handlers_db_error(asl_error_t *err, const char *handler, store_t *st)
{
    return asl_error_set(err, HANDLERS_E_DATABASE, "%s: database error: %s", handler,
                         store_errmsg(st));
}
