/* Payload templates: Parameters, ResultSelector, ItemSelector (and a Pass
 * state's Parameters). A template is any JSON value compiled once; in
 * objects, a key ending in ".$" takes a string that is a JSONPath ("$...",
 * "$$...") or an intrinsic call ("States.X(...)"), and its output key drops
 * the ".$"; every other value is copied literally (nested objects and arrays
 * are walked, so ".$" keys work at any depth).
 *
 * Path failures: AWS Step Functions fails with States.Runtime ("The JSONPath
 * '$.x' specified for the field 'x.$' could not be found in the input ...")
 * rather than the States.ParameterPathFailure the ASL spec names, so that is
 * what evaluation raises. */
#ifndef SAGAD_ASL_TEMPLATE_H
#define SAGAD_ASL_TEMPLATE_H

#include <stdbool.h>
#include <cJSON.h>

#include "asl/common.h"
#include "asl/json.h"

typedef struct asl_template_s asl_template_t;

/* Compiles `tmpl` (not taken; nothing of it is kept). Every problem is
 * appended to `probs` with the given `state` and a field that starts with
 * `field` and continues with the key path of the culprit, e.g.
 * "Parameters.order.id.$". Problems: a ".$" key whose value is not a string,
 * a string that is neither a path nor an intrinsic call, a path or intrinsic
 * that does not compile, two keys that are the same after dropping ".$".
 * Returns 0 and *out (caller frees with asl_template_free), or -1 with
 * *out = NULL when there was any problem. */
int asl_template_compile(const cJSON *tmpl, const char *state, const char *field,
                         asl_problems_t *probs, asl_template_t **out);

void asl_template_free(asl_template_t *t);

/* True when the template has no ".$" key anywhere (evaluation is then just a
 * copy of the literal). */
bool asl_template_is_literal(const asl_template_t *t);

/* Builds the payload for `input`. Returns 0 and *out (caller frees with
 * cJSON_Delete), or -1 with err set (States.Runtime for a path that selects
 * nothing, States.IntrinsicFailure from intrinsic calls). */
int asl_template_eval(const asl_template_t *t, const cJSON *input,
                      const asl_eval_env_t *env, cJSON **out, asl_error_t *err);

#endif
