/* Intrinsic functions ("States.Format('{}', $.x)") compiled once into a call
 * tree and evaluated against the state input and the eval environment.
 *
 * Syntax: States.Name(arg, ...) where an argument is a nested call (at most
 * 10 deep, as on AWS), a 'single-quoted string' (escapes \' \{ \} \\ ; any
 * other backslash is a compile error: the AWS docs call an open escape an
 * error), a number (JSON syntax), true, false, null, or a JSONPath starting
 * with "$" or "$$" (see asl/path.h; it ends at ',' ')' or a blank outside
 * brackets). Whitespace between tokens is ignored.
 *
 * Compile time checks the function name, the argument count and, for a
 * literal template, the number of '{}' in States.Format. Value types are
 * checked at evaluation time; every bad argument fails with
 * States.IntrinsicFailure naming the function. A path argument that selects
 * nothing fails with States.Runtime.
 *
 * The 18 functions, as the AWS docs define them:
 *   States.Format(template, v...)       unescaped '{}' are holes; their count
 *                                       must match. Strings insert raw, other
 *                                       scalars as JSON, objects/arrays the
 *                                       way Step Functions (Java) prints them:
 *                                       {k=v, k2=[1, 2]}
 *   States.StringToJson(s)              parse s
 *   States.JsonToString(v)              compact text of v (escapes kept)
 *   States.Array(v...)                  [v...]
 *   States.ArrayPartition(a, n)         chunks of n (integer > 0)
 *   States.ArrayContains(a, v)          deep equality
 *   States.ArrayRange(first, last, step) inclusive, step != 0, <= 1000 items,
 *                                       [] when step points away from last
 *   States.ArrayGetItem(a, i)           0 <= i < length, else IntrinsicFailure
 *                                       (decision: AWS has no null result)
 *   States.ArrayLength(a)
 *   States.ArrayUnique(a)               first occurrences, order kept
 *   States.Base64Encode(s)              UTF-8 bytes; s <= 10000 characters
 *   States.Base64Decode(s)              standard alphabet, '=' padding optional,
 *                                       no blanks (as Java's basic decoder);
 *                                       result must be UTF-8 text (no NUL)
 *   States.Hash(s, alg)                 MD5, SHA-1, SHA-256, SHA-384, SHA-512;
 *                                       lowercase hex; s <= 10000 characters
 *   States.JsonMerge(a, b, false)       shallow merge, b wins; deep (true)
 *                                       is rejected, as on AWS
 *   States.MathRandom(start, end[, seed]) integer in [start, end); numbers are
 *                                       rounded like Java's Math.round; a seed
 *                                       gives a fixed (splitmix64) result
 *   States.MathAdd(a, b)                rounded like Java's Math.round, each in
 *                                       [-2^31, 2^31-1] as AWS documents
 *   States.StringSplit(s, delims)       every character of delims splits;
 *                                       empty pieces are dropped
 *   States.UUID()                       random version 4 UUID from random64
 * Other integer arguments must be integral numbers (2.0 is accepted, 2.5 not).
 */
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
