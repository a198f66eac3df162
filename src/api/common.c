/* Request helpers shared by the route groups: the JSON body and ?limit. */
#include "api/common.h"
#include "asl/json.h"

#include <stdlib.h>

cJSON *api_body_json(http_request_t *req)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    if (len == 0) {
        http_respond_error(req, 400, "InvalidJson", "the request body is empty; send a JSON document");
        return NULL;
    }
    cJSON *j = asl_json_parse(body, len);
    if (!j) {
        const char *end = NULL;
        j = cJSON_ParseWithLengthOpts(body, len, &end, 1);
        if (!j) {
            size_t at = end && end >= body ? (size_t)(end - body) : 0;
            http_respond_error(req, 400, "InvalidJson", "the request body is not valid JSON (near byte %zu)", at);
            return NULL;
        }
    }
    return j;
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
