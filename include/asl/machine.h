/* A compiled Amazon States Language definition (JSONPath mode): parsing and
 * validation into an immutable asl_machine_t with pre-compiled paths,
 * templates and choice rules, plus the read-only accessors the runtime,
 * `sagactl validate` and `sagactl graph` need. */
#ifndef SAGAD_ASL_MACHINE_H
#define SAGAD_ASL_MACHINE_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "asl/common.h"

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
 * field ("Next", "Retry[1].ErrorEquals", "Parameters.foo.$", ...). */
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
 * ("orders.create"); NULL for other types. The parser only checks the form
 * `sagad:NAME`; whether NAME is a known handler is the runtime's concern. */
const char *asl_machine_state_resource(const asl_machine_t *m, size_t i);
const char *asl_machine_state_handler(const asl_machine_t *m, size_t i);
/* Parallel: number of Branches; Map: 1 (ItemProcessor or Iterator); else 0.
 * asl_machine_state_branch returns branch k (a machine of its own, borrowed). */
size_t asl_machine_state_branch_count(const asl_machine_t *m, size_t i);
const asl_machine_t *asl_machine_state_branch(const asl_machine_t *m, size_t i, size_t k);

/* Every distinct resource handler name used anywhere in the machine,
 * including nested branches, via callback (for the runtime to check that each
 * is registered). Stops and returns the callback's value if non-zero. */
int asl_machine_foreach_handler(const asl_machine_t *m,
                                int (*fn)(const char *handler, const char *state, void *ud),
                                void *ud);

#endif
