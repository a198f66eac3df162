/* What a Task's "Resource" names, as sagad runs it: "sagad:NAME", or one
 * of the Step Functions ARNs sagad has an equivalent for, so a definition
 * exported from AWS runs unchanged when it uses only those. Pure. */
#ifndef SAGAD_ASL_RESOURCE_H
#define SAGAD_ASL_RESOURCE_H

#include <stddef.h>
#include <cJSON.h>

/* Room for a handler name and for a refusal. */
#define ASL_RESOURCE_MAX 256
#define ASL_RESOURCE_WHY_MAX 384

/* Maps `resource` to the handler name the engine runs (asl_task_kind reads
 * it), written to `handler`:
 *   sagad:NAME                                       NAME
 *   arn:aws:states:::activity:NAME                   activity:NAME
 *   arn:aws:states:REGION:ACCOUNT:activity:NAME      activity:NAME
 *   arn:aws:states:::http:invoke                     http.invoke
 *   arn:aws:states:::http:invoke.waitForTaskToken    http.invoke.waitForTaskToken
 * Returns 0, or -1 with `why` saying what the resource is and what sagad
 * offers instead (an AWS service integration, a Lambda function ARN, or
 * neither form). */
int asl_resource_map(const char *resource, char handler[ASL_RESOURCE_MAX],
                     char why[ASL_RESOURCE_WHY_MAX]);

/* What a Task's static Parameters (borrowed, may be NULL) must not hold for
 * `resource` to run as sagad runs it: AWS's http:invoke always names an
 * EventBridge connection (Authentication.ConnectionArn), which sagad does
 * not have; sending the request without it would drop its credentials.
 * Returns 0, or -1 with `why` naming the field and what to do instead. */
int asl_resource_check_parameters(const char *resource, const cJSON *parameters,
                                  char why[ASL_RESOURCE_WHY_MAX]);

#endif
