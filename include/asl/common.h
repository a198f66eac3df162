/* Types shared by every part of the ASL engine: the list of problems a
 * definition can have, the {Error, Cause} pair a step can fail with, and the
 * predefined error names. */
#ifndef SAGAD_ASL_COMMON_H
#define SAGAD_ASL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#define ASL_E_ALL                "States.ALL"
#define ASL_E_HEARTBEAT_TIMEOUT  "States.HeartbeatTimeout"
#define ASL_E_TIMEOUT            "States.Timeout"
#define ASL_E_TASK_FAILED        "States.TaskFailed"
#define ASL_E_PERMISSIONS        "States.Permissions"
#define ASL_E_RESULT_PATH        "States.ResultPathMatchFailure"
#define ASL_E_PARAMETER_PATH     "States.ParameterPathFailure"
#define ASL_E_BRANCH_FAILED      "States.BranchFailed"
#define ASL_E_NO_CHOICE_MATCHED  "States.NoChoiceMatched"
#define ASL_E_INTRINSIC_FAILURE  "States.IntrinsicFailure"
#define ASL_E_EXCEED_TOLERATED   "States.ExceedToleratedFailureThreshold"
#define ASL_E_ITEM_READER_FAILED "States.ItemReaderFailed"
#define ASL_E_RESULT_WRITER      "States.ResultWriterFailed"
#define ASL_E_RUNTIME            "States.Runtime"
#define ASL_E_DATA_LIMIT         "States.DataLimitExceeded"

/* What a Task's handler name ("NAME" of "sagad:NAME") asks for:
 *   ASL_TASK_LOCAL     run the handler NAME; its result is the Task's result
 *   ASL_TASK_CALLBACK  "NAME.waitForTaskToken": run NAME, then wait for
 *                      someone to report the outcome with $$.Task.Token
 *   ASL_TASK_ACTIVITY  "activity:NAME": queue the input for workers polling
 *                      activity NAME, and wait for their report
 * Callback and activity Tasks get an unguessable $$.Task.Token. */
typedef enum { ASL_TASK_LOCAL, ASL_TASK_CALLBACK, ASL_TASK_ACTIVITY } asl_task_kind_t;
#define ASL_TASK_CALLBACK_SUFFIX ".waitForTaskToken"
#define ASL_TASK_ACTIVITY_PREFIX "activity:"
/* The kind of `handler`; `base`, when not NULL, is set to the handler to
 * run (borrowed from `handler`, *base_len bytes: NAME without the suffix)
 * or to the activity name (after the prefix). */
/* An activity name: 1 to ASL_ACTIVITY_NAME_MAX of A-Z a-z 0-9 _ . - */
#define ASL_ACTIVITY_NAME_MAX 80
/* 1 when `name` is a valid activity name, else 0. */
int asl_activity_name_valid(const char *name);
/* The length of the token of a callback or activity Task (192 bits in hex). */
#define ASL_TASK_TOKEN_LEN 48
/* A new callback-task token: ASL_TASK_TOKEN_LEN / 16 draws of `draw`
 * as lowercase hex. Caller frees; NULL when out of memory. */
char *asl_task_token_new(uint64_t (*draw)(void *ud), void *ud);
asl_task_kind_t asl_task_kind(const char *handler, const char **base, size_t *base_len);

/* The payload limit of Step Functions: 256 KiB of UTF-8 JSON. */
#define ASL_PAYLOAD_LIMIT (256 * 1024)

/* One thing wrong with a definition, for people: which state (NULL for the
 * top level), which field (NULL when the state as a whole), and what. */
typedef struct asl_problem_s {
    char *state;
    char *field;
    char *message;
} asl_problem_t;

typedef struct asl_problems_s {
    asl_problem_t *items;
    size_t count;
    size_t cap;
} asl_problems_t;

void asl_problems_init(asl_problems_t *p);
/* Appends a problem; `state` and `field` may be NULL. Copies everything. */
void asl_problems_add(asl_problems_t *p, const char *state, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void asl_problems_free(asl_problems_t *p);
/* [{"state": ..., "field": ..., "message": ...}]; caller frees with cJSON_Delete. */
cJSON *asl_problems_to_json(const asl_problems_t *p);

/* A failure: the ASL Error name and its Cause. Both strings are owned (free
 * with asl_error_clear); a zeroed struct means "no error". */
typedef struct asl_error_s {
    char *error;
    char *cause;
} asl_error_t;

/* Replaces the error; always returns -1 so callers can `return asl_error_set(...)`. */
int asl_error_set(asl_error_t *e, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void asl_error_clear(asl_error_t *e);
/* Moves src into dst (dst cleared first; src zeroed). */
void asl_error_move(asl_error_t *dst, asl_error_t *src);

#endif
