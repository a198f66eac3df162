/* Compiled JSONPath as Step Functions (JSONPath mode, Jayway semantics)
 * accepts it: "$" or "$$" root, .name, ['name'] / ["name"], [n] and [-n],
 * [*] and .*, ..name / ..[n] / ..* (deep scan), [a:b] slices, [i,j] index
 * unions and [?(expr)] filters with == != < <= > >=, &&, ||, !, parentheses,
 * @/$-relative paths, numbers, 'strings', true, false, null. Filter operand
 * paths must be definite; a missing operand makes its comparison false; no
 * coercion across types; filters nest at most 32 deep. Jayway extras (=~, in,
 * size, functions like length()) are rejected at compile time.
 *
 * Results, as Jayway returns them to Step Functions:
 * - A definite path (no wildcard, deep scan, slice, union or filter) selects
 *   one value; when it selects nothing (missing field, index out of range,
 *   field of a non-object, index of a non-array) evaluation fails with
 *   States.Runtime.
 * - An indefinite path always yields an array of the matches in document
 *   order, [] when nothing matches, except that a missing field or a
 *   non-object/non-array on the still-definite prefix (e.g. "a" in "$.a[*]")
 *   fails with States.Runtime like a definite path. A deep scan visits every
 *   node depth first (".." with a filter tests objects, not array slots).
 *
 * Writing (ResultPath): only reference paths; "$" replaces the whole document;
 * missing object fields along the way are created as objects; writing into an
 * array element needs an existing index; going through a value that is not an
 * object (a string, number, array where a field is named...) fails with
 * States.ResultPathMatchFailure, as does a "$$" path. Decided from the ASL
 * spec / AWS docs ("ResultPath cannot be applied to the input"); the npm
 * oracle instead silently replaces the scalar. */
#ifndef SAGAD_ASL_PATH_H
#define SAGAD_ASL_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#include "asl/common.h"

typedef struct asl_path_s asl_path_t;

/* Compile flags. */
enum {
    /* A Reference Path (ASL spec): must address a single node, so wildcards,
     * deep scan, slices, unions and filters are rejected. */
    ASL_PATH_REFERENCE  = 1u << 0,
    /* Reject "$$" (context object) paths, e.g. for ResultPath. */
    ASL_PATH_NO_CONTEXT = 1u << 1,
};

/* Longest message asl_path_compile writes (including the NUL). */
#define ASL_PATH_MSG_MAX 256

/* Compiles `text`. On success returns 0 and *out (caller frees with
 * asl_path_free). On failure returns -1, *out = NULL, and writes a message
 * for people into msg (msglen bytes, may be 0/NULL) such as
 * "invalid JSONPath '$.a[': unterminated '['". */
int asl_path_compile(const char *text, unsigned flags, asl_path_t **out,
                     char *msg, size_t msglen);

void asl_path_free(asl_path_t *p);

/* The source text, as given to asl_path_compile (owned by p). */
const char *asl_path_text(const asl_path_t *p);

/* True when the path selects at most one node (see above). */
bool asl_path_is_definite(const asl_path_t *p);

/* True for a path rooted at "$$" (the context object). */
bool asl_path_is_context(const asl_path_t *p);

/* True for exactly "$" (or "$$"): the whole input (context). Lets callers
 * skip work for the default InputPath/OutputPath/ResultPath. */
bool asl_path_is_root(const asl_path_t *p);

/* Evaluates against `input` ("$") or `context` ("$$", NULL = {}). Returns 0
 * and *out, a new value the caller frees with cJSON_Delete; or -1 with err
 * set (States.Runtime, cause like AWS: "Invalid path '$.a': No results for
 * path: $['a']"). */
int asl_path_eval(const asl_path_t *p, const cJSON *input, const cJSON *context,
                  cJSON **out, asl_error_t *err);

/* Looks up a definite path without copying. Returns 1 and *out pointing
 * into input/context (borrowed: valid while those live unchanged), 0 when
 * the path selects nothing, -1 when the path is indefinite (use
 * asl_path_eval). Never sets an error. */
int asl_path_get(const asl_path_t *p, const cJSON *input, const cJSON *context,
                 const cJSON **out);

/* For a definite "$" path other than "$" itself: detaches the node it
 * selects from doc and returns it (the caller owns it; doc stays the
 * caller's), the same value asl_path_eval would copy. NULL when the path
 * selects nothing or is not of that kind (doc unchanged). */
cJSON *asl_path_take(const asl_path_t *p, cJSON *doc);

/* Writes `value` (always taken: freed on failure) at the path inside *doc,
 * with the ResultPath rules above. *doc may be replaced (for "$", or when
 * it was NULL). Returns 0 or -1 with err set
 * (States.ResultPathMatchFailure). Indefinite paths fail the same way. */
int asl_path_set(const asl_path_t *p, cJSON **doc, cJSON *value, asl_error_t *err);

/* True when asl_path_set(p, &doc, value, ...) cannot fail for this doc
 * (memory allowing): it would write in place without a
 * States.ResultPathMatchFailure. */
bool asl_path_can_set(const asl_path_t *p, const cJSON *doc);

#endif
