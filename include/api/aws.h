/* The Step Functions API (AWS JSON 1.0: POST / with X-Amz-Target:
 * AWSStepFunctions.<Action>), a second view of the same runtime as the REST
 * routes, so AWS's CLI and SDKs drive sagad by a change of endpoint; and the
 * ARNs it names things with (docs/aws-compatibility.md). */
#ifndef SAGAD_API_AWS_H
#define SAGAD_API_AWS_H

#include <stddef.h>

#include "api/common.h"

/* Registers POST / on `srv`. `api` is borrowed and must outlive the server.
 * Returns 0 or -1. */
int api_aws_register(http_server_t *srv, api_t *api);

/* {"__type": type, "message": ...} with `status` and x-amzn-ErrorType, as
 * AWS answers errors (also for answers made outside the actions, such as a
 * replayed request's). */
void api_aws_error(http_request_t *req, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- ARNs (pure) ------------------------------------------------------- */

typedef enum {
    API_AWS_ARN_STATE_MACHINE,   /* ...:stateMachine:NAME[:VERSION|:ALIAS] */
    API_AWS_ARN_EXECUTION,       /* ...:execution:MACHINE:EXECUTION */
    API_AWS_ARN_ACTIVITY         /* ...:activity:NAME */
} api_aws_arn_kind_t;

typedef enum {
    API_AWS_ARN_OK = 0,
    API_AWS_ARN_MALFORMED = -1,  /* not an ARN of that kind */
    API_AWS_ARN_ELSEWHERE = -2   /* well formed, another region or account */
} api_aws_arn_status_t;

#define API_AWS_ARN_MAX 256
#define API_AWS_NAME_MAX 81      /* an 80-byte name and its NUL */

typedef struct api_aws_arn_s {
    char name[API_AWS_NAME_MAX];       /* the machine or activity */
    char qualifier[API_AWS_NAME_MAX];  /* version, alias or execution; "" */
} api_aws_arn_t;

/* Parses `arn` as an ARN of `kind` in `region` and `account`; fills *out
 * (also on API_AWS_ARN_ELSEWHERE). Returns an api_aws_arn_status_t. */
int api_aws_arn_parse(const char *arn, api_aws_arn_kind_t kind, const char *region,
                      const char *account, api_aws_arn_t *out);

/* Writes the ARN of `kind` for `name` and `qualifier` (NULL or "" for none)
 * into `buf`; returns buf. */
char *api_aws_arn_format(char buf[API_AWS_ARN_MAX], api_aws_arn_kind_t kind, const char *region,
                         const char *account, const char *name, const char *qualifier);

/* 1 when `name` is a name AWS accepts for a machine, an execution or an
 * activity: 1 to 80 characters, no whitespace, control characters, or any
 * of < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / */
int api_aws_name_valid(const char *name);

/* An RFC 3339 UTC time as the REST API writes it ("2026-01-02T03:04:05.678Z")
 * in epoch seconds with the milliseconds as a fraction, the JSON 1.0
 * timestamp; -1 when it is not such a time. */
double api_aws_epoch(const char *rfc3339);

#endif
