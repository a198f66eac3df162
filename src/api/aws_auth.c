/* Who may call the Step Functions API. AWS clients sign every request with
 * SigV4; verifying the signatures against configured access keys belongs
 * here, in aws_authorize, so the protocol and the actions need not change. */
#include "aws_internal.h"

int aws_authorize(api_t *api, http_request_t *req, const aws_action_t *action)
{
    /* Without auth_tokens_file (or with auth = none) every request is let
     * through, signed or not, as the REST API does. */
    if (!api->cfg->auth_tokens_file[0] || api->cfg->auth_none)
        return 0;
    /* Signatures are not verified yet: refuse rather than let a request
     * with any credentials in. */
    aws_error(req, 403, "AccessDeniedException",
              "%s: this sagad has auth_tokens_file set and does not verify AWS SigV4 "
              "signatures yet; use the REST API with a bearer token", action->name);
    return -1;
}
