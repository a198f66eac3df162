/* Task Resources as sagad runs them: its own "sagad:NAME" and the Step
 * Functions ARNs that have a sagad equivalent (activities, HTTP invoke). */
#include "asl/resource.h"

#include <stdio.h>
#include <string.h>

#define STATES_ARN "arn:aws:states:"
#define OFFERS "sagad runs sagad:NAME handlers, activities (arn:aws:states:::activity:NAME) " \
               "and arn:aws:states:::http:invoke"

/* "REGION:ACCOUNT:" after "arn:aws:states:": both empty (":::") or both
 * present. Returns the rest, or NULL. */
static const char *after_region_account(const char *p)
{
    const char *c1 = strchr(p, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return NULL;
    int region = c1 > p, account = c2 > c1 + 1;
    return region == account ? c2 + 1 : NULL;
}

static int put(char handler[ASL_RESOURCE_MAX], const char *name)
{
    int n = snprintf(handler, ASL_RESOURCE_MAX, "%s", name);
    return n > 0 && n < ASL_RESOURCE_MAX ? 0 : -1;
}

int asl_resource_map(const char *resource, char handler[ASL_RESOURCE_MAX],
                     char why[ASL_RESOURCE_WHY_MAX])
{
    handler[0] = '\0';
    why[0] = '\0';
    if (strncmp(resource, "sagad:", 6) == 0 && resource[6]) {
        if (put(handler, resource + 6) == 0)
            return 0;
        snprintf(why, ASL_RESOURCE_WHY_MAX, "'%.80s...' is too long a handler name", resource);
        return -1;
    }
    if (strncmp(resource, "arn:aws:lambda:", 15) == 0) {
        snprintf(why, ASL_RESOURCE_WHY_MAX,
                 "'%.120s' is an AWS Lambda function, which sagad cannot call; " OFFERS, resource);
        return -1;
    }
    const char *rest = strncmp(resource, STATES_ARN, sizeof STATES_ARN - 1) == 0
                           ? after_region_account(resource + sizeof STATES_ARN - 1)
                           : NULL;
    if (!rest) {
        snprintf(why, ASL_RESOURCE_WHY_MAX,
                 "must be sagad:NAME or a Step Functions ARN (arn:aws:states:...), got \"%.120s\"",
                 resource);
        return -1;
    }
    if (strncmp(rest, "activity:", 9) == 0) {
        const char *name = rest + 9;
        if (*name && !strchr(name, ':') && strlen(name) < ASL_RESOURCE_MAX - 9) {
            snprintf(handler, ASL_RESOURCE_MAX, "activity:%s", name);
            return 0;
        }
        snprintf(why, ASL_RESOURCE_WHY_MAX,
                 "'%.120s' is no activity ARN: arn:aws:states:REGION:ACCOUNT:activity:NAME or "
                 "arn:aws:states:::activity:NAME", resource);
        return -1;
    }
    int service_form = resource[sizeof STATES_ARN - 1] == ':';
    if (service_form && strcmp(rest, "http:invoke") == 0)
        return put(handler, "http.invoke");
    if (service_form && strcmp(rest, "http:invoke.waitForTaskToken") == 0)
        return put(handler, "http.invoke.waitForTaskToken");
    if (service_form && strchr(rest, ':'))
        snprintf(why, ASL_RESOURCE_WHY_MAX,
                 "'%.120s' is the AWS service integration %.80s, which sagad does not have; " OFFERS,
                 resource, rest);
    else
        snprintf(why, ASL_RESOURCE_WHY_MAX,
                 "'%.120s' is no Step Functions resource sagad knows; " OFFERS, resource);
    return -1;
}

int asl_resource_check_parameters(const char *resource, const cJSON *parameters,
                                  char why[ASL_RESOURCE_WHY_MAX])
{
    why[0] = '\0';
    if (strncmp(resource, "arn:aws:states:::http:invoke", 28) != 0 || !cJSON_IsObject(parameters))
        return 0;
    if (!cJSON_GetObjectItemCaseSensitive(parameters, "Authentication") &&
        !cJSON_GetObjectItemCaseSensitive(parameters, "Authentication.$"))
        return 0;
    snprintf(why, ASL_RESOURCE_WHY_MAX,
             "Authentication (an EventBridge connection) is not supported by sagad's HTTP task: "
             "remove it and send the credentials in Headers (for instance from "
             "$$.Execution.Input); the hosts it may call are http_task_allow's");
    return -1;
}
