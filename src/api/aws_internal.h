/* Shared by the files of the Step Functions API (api/aws.h): the action
 * signature, the AWS-shaped answers and the readers of request members. */
#ifndef SAGAD_API_AWS_INTERNAL_H
#define SAGAD_API_AWS_INTERNAL_H

#include "api/auth.h"
#include "api/aws.h"

/* One action. `body` (an object) is the dispatcher's, freed when fn returns:
 * an action that answers later copies what it needs. fn answers `req`
 * exactly once, now or later. */
typedef void (*aws_action_fn)(api_t *api, http_request_t *req, const cJSON *body);

typedef struct aws_action_s {
    const char *name;
    aws_action_fn fn;
    auth_scope_t scope;         /* what a caller needs when auth is in force */
} aws_action_t;

/* The action tables of each concern, NULL-name ended. */
extern const aws_action_t aws_machine_actions[];
extern const aws_action_t aws_execution_actions[];
extern const aws_action_t aws_activity_actions[];
extern const aws_action_t aws_version_actions[];

/* The one place requests to POST / are authorized (SigV4, when
 * auth_tokens_file is in force). Returns 0 to let the action run, or -1
 * after answering the request with AWS's error shape. */
int aws_authorize(api_t *api, http_request_t *req, const aws_action_t *action);

/* The routes' short name for api_aws_error (api/aws.h). */
#define aws_error api_aws_error
/* 200 with `o` (stays the caller's) as application/x-amz-json-1.0. */
void aws_reply(http_request_t *req, const cJSON *o);
/* 200 with an empty object. */
void aws_reply_empty(http_request_t *req);
/* The runtime refused or failed: the status AWS clients retry (503) or a
 * 400 as fits `rc` (a runtime_status_t). */
void aws_error_runtime(http_request_t *req, int rc, const char *what);

/* Member readers. Each answers 400 and returns -1 when the member has the
 * wrong type (SerializationException) or breaks a rule (ValidationException);
 * otherwise returns 0 with *out NULL (or `dflt`) when absent. */
int aws_str(http_request_t *req, const cJSON *body, const char *key, int required,
            const char **out);
int aws_int(http_request_t *req, const cJSON *body, const char *key, int min, int max, int dflt,
            int *out);
int aws_bool(http_request_t *req, const cJSON *body, const char *key, int dflt, int *out);

/* The ARN member `key` of `kind` parsed into *out; answers 400 InvalidArn
 * (or ValidationException when missing) and returns -1 otherwise. A machine
 * or activity in another region or account answers `missing` (400). */
int aws_arn_member(api_t *api, http_request_t *req, const cJSON *body, const char *key,
                   api_aws_arn_kind_t kind, const char *missing, api_aws_arn_t *out);

/* ARNs in this daemon's region and account. */
char *aws_arn(api_t *api, char buf[API_AWS_ARN_MAX], api_aws_arn_kind_t kind, const char *name,
              const char *qualifier);

/* Adds `key` as epoch seconds from an RFC 3339 string member `from` of
 * `src` (the REST API's shape); nothing when absent or null. */
void aws_add_date(cJSON *o, const char *key, const cJSON *src, const char *from);
/* Adds `key` as epoch seconds for `ms`. */
void aws_add_ms(cJSON *o, const char *key, int64_t ms);
/* Adds `key` as the JSON text of `v` (AWS carries payloads as strings) and
 * `key`Details: {"truncated": false} in a history event, {"included": true}
 * elsewhere; nothing when v is NULL. */
void aws_add_payload(cJSON *o, const char *key, const cJSON *v, int in_history);

/* Reads a JSON text member (input, output) strictly into *out (caller
 * frees); absent gives `dflt` parsed. Answers 400 `err_type` and returns -1
 * on a bad text. */
int aws_json_member(http_request_t *req, const cJSON *body, const char *key, const char *dflt,
                    const char *err_type, cJSON **out);

/* The execution the ARN member `key` names: its id into `id`. Answers 400
 * ExecutionDoesNotExist (or InvalidArn) and returns -1 otherwise. */
int aws_execution_member(api_t *api, http_request_t *req, const cJSON *body, const char *key,
                         char id[RUNTIME_ID_SIZE]);

/* The machine version the state machine ARN member `key` names: the
 * newest, version N for NAME:N, or the alias's for NAME:ALIAS. Answers 400
 * StateMachineDoesNotExist, ResourceNotFound (no such version or alias) or
 * InvalidArn and returns NULL otherwise. */
const machine_ver_t *aws_machine_member(api_t *api, http_request_t *req, const cJSON *body,
                                        const char *key);
/* aws_machine_member, with the parsed ARN into *arn (its qualifier says
 * what the start named: api_named). */
const machine_ver_t *aws_machine_member_arn(api_t *api, http_request_t *req, const cJSON *body,
                                            const char *key, api_aws_arn_t *arn);

/* Adds stateMachineVersionArn for `v`. */
void aws_add_version_arn(api_t *api, cJSON *o, const machine_ver_t *v);

/* The AWS name of an execution: its name, or its id when it has none. */
const char *aws_execution_name(const cJSON *description);

#endif
