/* A compiled Amazon States Language definition (JSONPath mode): parsing and
 * validation into an immutable asl_machine_t with pre-compiled paths,
 * templates and choice rules, plus the read-only accessors the runtime,
 * `sagactl validate` and `sagactl graph` need. */
#ifndef SAGAD_ASL_MACHINE_H
#define SAGAD_ASL_MACHINE_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

/* Retriers one state may have: the engine's cursor counts the attempts of
 * this many (a longer Retry list is refused at validation). */
#define ASL_RETRIERS_MAX 64

#include "asl/common.h"
#include "asl/choice.h"
#include "asl/path.h"
#include "asl/template.h"
#include "asl/intrinsic.h"

typedef struct asl_machine_s asl_machine_t;

typedef enum {
    ASL_STATE_TASK = 0,
    ASL_STATE_PASS,
    ASL_STATE_CHOICE,
    ASL_STATE_WAIT,
    ASL_STATE_SUCCEED,
    ASL_STATE_FAIL,
    ASL_STATE_PARALLEL,
    ASL_STATE_MAP
} asl_state_type_t;

/* "Task", "Pass", ... ; "?" for an out-of-range value. Static string. */
const char *asl_state_type_name(asl_state_type_t t);

/* Compiles a definition. On success returns 0 and sets *out (caller frees
 * with asl_machine_free); `definition` is not retained (the machine keeps its
 * own copy). On failure returns -1, sets *out to NULL and appends EVERY
 * problem found to `problems` (which must be initialised; may be NULL if the
 * caller only wants the verdict). Each problem names the state (NULL for the
 * top level; nested states of a Parallel branch or Map processor are named
 * "Outer/Inner" — the path of enclosing state names then the state) and the
 * field ("Next", "Retry[1].ErrorEquals", "Parameters.foo.$", ...).
 * Duplicate member names anywhere in the definition are reported first and
 * stop the check there (which duplicate wins differs between parsers). */
int asl_machine_compile(const cJSON *definition, asl_machine_t **out,
                        asl_problems_t *problems);

/* Same from JSON text of `len` bytes (need not be NUL-terminated). A syntax
 * error is reported as one problem with state NULL, field NULL and a message
 * "invalid JSON at line L, column C: ...". */
int asl_machine_compile_text(const char *text, size_t len, asl_machine_t **out,
                             asl_problems_t *problems);

void asl_machine_free(asl_machine_t *m);

/* ---- whole machine ---------------------------------------------------- */

/* The definition as compiled (borrowed, lives as long as the machine). For a
 * nested machine (Parallel branch, Map processor) it is that sub-definition. */
const cJSON *asl_machine_definition(const asl_machine_t *m);
/* Top-level "Comment" or NULL. */
const char *asl_machine_comment(const asl_machine_t *m);
/* Top-level "TimeoutSeconds" (0 = none). The runtime enforces it: when
 * exceeded the execution fails with States.Timeout. */
uint32_t asl_machine_timeout_seconds(const asl_machine_t *m);

size_t asl_machine_state_count(const asl_machine_t *m);
/* Index of the StartAt state. */
size_t asl_machine_start_index(const asl_machine_t *m);
/* Index of the state called `name`, or -1. States are numbered in definition order. */
long asl_machine_find_state(const asl_machine_t *m, const char *name);

/* ---- one state (i < asl_machine_state_count) -------------------------- */
/* All returned strings and machines are borrowed from `m`. */

const char *asl_machine_state_name(const asl_machine_t *m, size_t i);
asl_state_type_t asl_machine_state_type(const asl_machine_t *m, size_t i);
/* "Comment" of the state or NULL. */
const char *asl_machine_state_comment(const asl_machine_t *m, size_t i);
/* Next target or NULL (End, Choice, Succeed, Fail). */
const char *asl_machine_state_next(const asl_machine_t *m, size_t i);
/* 1 if the state ends the (sub-)machine: "End": true, Succeed or Fail. */
int asl_machine_state_is_end(const asl_machine_t *m, size_t i);
/* Choice: "Default" target or NULL; rule count and the Next of rule k. */
const char *asl_machine_state_default(const asl_machine_t *m, size_t i);
size_t asl_machine_state_choice_count(const asl_machine_t *m, size_t i);
const char *asl_machine_state_choice_next(const asl_machine_t *m, size_t i, size_t k);
/* Task/Parallel/Map: Catch count, the Next of catcher k and its ErrorEquals
 * (borrowed cJSON array of strings). */
size_t asl_machine_state_catch_count(const asl_machine_t *m, size_t i);
const char *asl_machine_state_catch_next(const asl_machine_t *m, size_t i, size_t k);
const cJSON *asl_machine_state_catch_errors(const asl_machine_t *m, size_t i, size_t k);
/* Task/Parallel/Map: number of retriers. */
size_t asl_machine_state_retry_count(const asl_machine_t *m, size_t i);
/* Task: "Resource" as written ("sagad:orders.create") and its handler name
 * ("orders.create"; asl/resource.h maps Step Functions ARNs); NULL for other
 * types. Whether the handler is registered is the runtime's concern. */
const char *asl_machine_state_resource(const asl_machine_t *m, size_t i);
const char *asl_machine_state_handler(const asl_machine_t *m, size_t i);
/* Parallel: number of Branches; Map: 1 (ItemProcessor or Iterator); else 0.
 * asl_machine_state_branch returns branch k (a machine of its own, borrowed). */
size_t asl_machine_state_branch_count(const asl_machine_t *m, size_t i);
const asl_machine_t *asl_machine_state_branch(const asl_machine_t *m, size_t i, size_t k);

/* ---- compiled form (read-only; used by the engine) -------------------- */

/* One Retry element. */
typedef struct asl_retrier_s {
    const char **errors;      /* ErrorEquals (borrowed from the definition) */
    size_t n_errors;
    double interval_s;        /* IntervalSeconds, default 1 */
    uint32_t max_attempts;    /* MaxAttempts, default 3; 0 = never retry */
    double backoff_rate;      /* BackoffRate, default 2.0, >= 1 */
    double max_delay_s;       /* MaxDelaySeconds; 0 = no cap */
    int jitter_full;          /* JitterStrategy "FULL" */
} asl_retrier_t;

/* One Catch element. */
typedef struct asl_catcher_s {
    const char **errors;
    size_t n_errors;
    const char *next;
    size_t next_index;
    asl_path_t *result_path;  /* NULL: "$" (default) */
    int result_path_null;     /* "ResultPath": null: keep the input */
} asl_catcher_t;

/* A value given either literally or by a reference path (…Path fields). */
typedef struct asl_num_field_s {
    int set;                  /* 0: absent */
    double value;             /* literal */
    asl_path_t *path;         /* non-NULL: read at run time */
} asl_num_field_t;

typedef struct asl_state_s {
    const char *name;             /* borrowed from the definition */
    asl_state_type_t type;
    const char *comment;
    const cJSON *def;             /* the state's JSON object */
    int end;                      /* End: true, Succeed, Fail */
    const char *next;             /* Next or NULL */
    size_t next_index;
    int uses_context;             /* some path or template reads "$$" */

    /* data flow; NULL path = "$" (default), *_null = the field is JSON null */
    asl_path_t *input_path;   int input_path_null;
    asl_path_t *output_path;  int output_path_null;
    asl_path_t *result_path;  int result_path_null;
    asl_template_t *parameters;       /* Parameters (Map: the old name of ItemSelector) */
    asl_template_t *result_selector;
    const cJSON *result;              /* Pass "Result" (borrowed) or NULL */

    /* Task */
    const char *resource;             /* as written: "sagad:NAME" or an ARN */
    const char *handler;              /* owned: "NAME" (asl/resource.h maps ARNs) */
    asl_num_field_t timeout;          /* TimeoutSeconds[Path] */
    asl_num_field_t heartbeat;        /* HeartbeatSeconds[Path] */

    /* Task, Parallel, Map; n_retry <= ASL_RETRIERS_MAX */
    asl_retrier_t *retry;  size_t n_retry;
    asl_catcher_t *catch_; size_t n_catch;

    /* Choice */
    asl_choice_t **choices; size_t *choice_next; size_t n_choices;
    const char *default_next; size_t default_index;

    /* Wait: exactly one of these */
    asl_num_field_t seconds;          /* Seconds / SecondsPath */
    int has_timestamp;                /* Timestamp literal */
    int64_t timestamp_ms;
    asl_path_t *timestamp_path;

    /* Fail: literal or path/intrinsic (NULL = absent) */
    const char *error;  asl_path_t *error_path;  asl_intrinsic_t *error_fn;
    const char *cause;  asl_path_t *cause_path;  asl_intrinsic_t *cause_fn;

    /* Parallel (n_branches >= 1) and Map (n_branches == 1) */
    asl_machine_t **branches; size_t n_branches;
    asl_path_t *items_path;           /* Map ItemsPath; NULL = "$" */
    asl_template_t *item_selector;    /* Map ItemSelector or Parameters */
    asl_num_field_t max_concurrency;
    asl_num_field_t tolerated_count;
    asl_num_field_t tolerated_pct;
} asl_state_t;

/* The compiled state i (borrowed). */
const asl_state_t *asl_machine_state(const asl_machine_t *m, size_t i);

/* The whole-machine rules of AWS's validator that compiling does not need:
 * state names unique across nested branches and Map processors, and a
 * terminal state reachable from StartAt in the machine and in every branch.
 * Adds one problem per violation to `problems`; returns 0, or -1 when it
 * added any. For definitions being registered (stored ones load without). */
int asl_machine_lint(const asl_machine_t *m, asl_problems_t *problems);

/* Every resource handler name used anywhere in the machine (once per
 * (sub-)machine; a name used in several branches may repeat),
 * including nested branches, via callback (for the runtime to check that each
 * is registered). Stops and returns the callback's value if non-zero. */
int asl_machine_foreach_handler(const asl_machine_t *m,
                                int (*fn)(const char *handler, const char *state, void *ud),
                                void *ud);

#endif
