/* Intrinsic functions ("States.Format('{}', $.x)") compiled once into a call
 * tree and evaluated against the state input and the eval environment.
 *
 * Syntax: States.Name(arg, ...) where an argument is a nested call, a
 * 'single-quoted string' (escapes \' \{ \} \\ ; any other backslash is kept
 * literally), a number (JSON syntax, optional leading '-'), true, false,
 * null, or a JSONPath starting with "$" or "$$" (see asl/path.h). Whitespace
 * between tokens is ignored.
 *
 * Compile time checks the function name and the argument count; the types
 * of the argument values are checked at evaluation time, and every bad
 * argument fails with States.IntrinsicFailure naming the function.
 *
 * The 18 functions, as the AWS docs define them:
 *   States.Format(template, v...)       '{}' placeholders; count must match;
 *                                       v string/number/boolean/null
 *   States.StringToJson(s)              parse s
 *   States.JsonToString(v)              compact text of v
 *   States.Array(v...)                  [v...]
 *   States.ArrayPartition(a, n)         chunks of n (integer > 0)
 *   States.ArrayContains(a, v)          deep equality
 *   States.ArrayRange(first, last, step) inclusive, step != 0, <= 1000 items
 *   States.ArrayGetItem(a, i)           out of range -> IntrinsicFailure
 *   States.ArrayLength(a)
 *   States.ArrayUnique(a)               first occurrences, order kept
 *   States.Base64Encode(s)              UTF-8 bytes; s <= 10000 characters
 *   States.Base64Decode(s)              result must be valid UTF-8
 *   States.Hash(s, alg)                 MD5, SHA-1, SHA-256, SHA-384, SHA-512;
 *                                       lowercase hex; s <= 10000 characters
 *   States.JsonMerge(a, b, false)       shallow merge, b wins; deep (true)
 *                                       is rejected, as on AWS
 *   States.MathRandom(start, end[, seed]) integer in [start, end)
 *   States.MathAdd(a, b)                integers, result an integer
 *   States.StringSplit(s, delims)       every character of delims splits;
 *                                       empty pieces are dropped
 *   States.UUID()                       random version 4 UUID
 * Integers must be exact integral numbers (1.0 is accepted, 1.5 is not). */
#ifndef SAGAD_ASL_INTRINSIC_H
#define SAGAD_ASL_INTRINSIC_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#include "asl/common.h"
#include "asl/json.h"

typedef struct asl_intrinsic_s asl_intrinsic_t;

/* Longest message asl_intrinsic_compile writes (including the NUL). */
#define ASL_INTRINSIC_MSG_MAX 256

/* True when text has the shape of an intrinsic call: optional whitespace,
 * "States.", an identifier and "(" (used to tell intrinsics from paths in
 * ".$" fields). */
bool asl_intrinsic_is_call(const char *text);

/* Compiles `text`. Returns 0 and *out (caller frees with
 * asl_intrinsic_free), or -1, *out = NULL and a message in msg (msglen bytes)
 * such as "unknown intrinsic function 'States.Foo'" or "States.ArrayLength
 * takes 1 argument, got 2". */
int asl_intrinsic_compile(const char *text, asl_intrinsic_t **out,
                          char *msg, size_t msglen);

void asl_intrinsic_free(asl_intrinsic_t *f);

/* Evaluates against `input` ("$") and env->context ("$$"). Returns 0 and
 * *out, a new value the caller frees with cJSON_Delete, or -1 with err set:
 * States.IntrinsicFailure for bad arguments, States.Runtime when a path
 * argument selects nothing. */
int asl_intrinsic_eval(const asl_intrinsic_t *f, const cJSON *input,
                       const asl_eval_env_t *env, cJSON **out, asl_error_t *err);

#endif
