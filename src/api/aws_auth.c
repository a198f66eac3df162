/* Who may call the Step Functions API: AWS clients sign every request with
 * SigV4, verified against the access keys of the tokens file (api/auth.h),
 * then the entry's scopes against the action's. */
#include "aws_internal.h"

int aws_authorize(api_t *api, http_request_t *req, const aws_action_t *action)
{
    /* api->auth is NULL without auth_tokens_file (or with auth = none):
     * every request is let through, signed or not, as the REST API does. */
    char name[AUTH_NAME_MAX + 1];
    auth_aws_error_t e;
    if (auth_check_sigv4(api->auth, req, action->scope, name, &e) == 0)
        return 0;
    aws_error(req, e.status, e.type, "%s: %s", action->name, e.message);
    return -1;
}
