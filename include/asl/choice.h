/* Choice rules: one element of a Choice state's "Choices" (with its Next)
 * or a nested rule inside And/Or/Not, compiled once and evaluated against the
 * state input.
 *
 * A rule is either a boolean combination ("And": [rules], "Or": [rules],
 * "Not": rule) or "Variable": path with exactly one comparison:
 *   StringEquals StringLessThan StringGreaterThan StringLessThanEquals
 *   StringGreaterThanEquals StringMatches
 *   NumericEquals NumericLessThan NumericGreaterThan NumericLessThanEquals
 *   NumericGreaterThanEquals
 *   BooleanEquals
 *   TimestampEquals TimestampLessThan TimestampGreaterThan
 *   TimestampLessThanEquals TimestampGreaterThanEquals
 * each also as "...Path" (the value is a path into the input or "$$"), and
 *   IsNull IsPresent IsNumeric IsString IsBoolean IsTimestamp (true/false).
 * "Comment" is allowed anywhere; "Next" only (and required) at top level.
 *
 * Semantics (AWS docs):
 * - A value of the wrong type for the operator (a number for StringEquals,
 *   a string for NumericLessThan, a non-timestamp for Timestamp*, ...) does
 *   not match; there is no coercion across types. StringMatches on a
 *   non-string does not match either.
 * - Strings compare by UTF-16 code units, as Java's compareTo (and AWS)
 *   does: code-point order, except that characters above U+FFFF sort before
 *   U+E000..U+FFFF.
 * - StringMatches: '*' matches any run of characters (newlines included),
 *   '\*' a literal '*', '\\' a literal '\'; every other character, '?'
 *   included, is literal.
 * - Timestamps are RFC 3339 (see asl_timestamp_parse) compared as instants.
 * - A Variable (or ...Path operand) that selects nothing fails with
 *   States.Runtime ("Invalid path '$.x': The choice state's condition path
 *   references an invalid value.", as AWS reports it), except in the Is*
 *   tests: a missing value is not present and of no type, so IsPresent,
 *   IsNull, IsString, ... are all false for it (as LocalStack, which is
 *   checked against AWS, does). "IsX": false matches when the test is false
 *   (IsPresent: false on a missing field, IsNull: false on 1). */
#ifndef SAGAD_ASL_CHOICE_H
#define SAGAD_ASL_CHOICE_H

#include <stdbool.h>
#include <cJSON.h>

#include "asl/common.h"
#include "asl/json.h"

typedef struct asl_choice_s asl_choice_t;

/* Compiles `rule` (not taken). `top_level` is true for an element of
 * Choices (Next required) and false for nested rules (Next forbidden).
 * Problems go to `probs` with `state` and a field that starts with `field`
 * (e.g. "Choices[0]") and continues with the nested location, e.g.
 * "Choices[0].And[1].NumericEquals". Problems: not an object, no or several
 * operators, an unknown field, Variable missing or not a valid path, an
 * operator value of the wrong type (or an invalid timestamp / path), empty
 * And/Or, Next missing at top level or present in a nested rule. Returns 0
 * and *out (caller frees with asl_choice_free), or -1 with *out = NULL. */
int asl_choice_compile(const cJSON *rule, bool top_level, const char *state,
                       const char *field, asl_problems_t *probs, asl_choice_t **out);

void asl_choice_free(asl_choice_t *c);

/* The Next of a top-level rule (owned by c), NULL for nested rules. */
const char *asl_choice_next(const asl_choice_t *c);

/* Returns 1 when the rule matches `input`, 0 when not, -1 with err set
 * (States.Runtime) when a path selects nothing. */
int asl_choice_eval(const asl_choice_t *c, const cJSON *input,
                    const asl_eval_env_t *env, asl_error_t *err);

#endif
