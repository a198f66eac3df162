/* JSON helpers every part of the ASL engine needs: deep equality, the exact
 * size and text of a value as Step Functions counts it (compact UTF-8, integers
 * without ".0"), integer tests, RFC 3339 timestamps, and the evaluation
 * environment (context object, injected randomness) passed to evaluators. */
#ifndef SAGAD_ASL_JSON_H
#define SAGAD_ASL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "asl/common.h"

/* What evaluators need besides the state input. `context` is the context
 * object addressed by "$$" paths (NULL behaves like an empty object);
 * `random64` feeds States.UUID and States.MathRandom (NULL makes those two
 * functions fail with States.IntrinsicFailure). Nothing is owned. */
typedef struct asl_eval_env_s {
    const cJSON *context;
    uint64_t (*random64)(void *ud);
    void *random_ud;
} asl_eval_env_t;

/* Deep equality as JSON defines it: numbers by value, objects regardless of
 * member order (duplicate keys: first one wins), arrays element by element.
 * NULL equals only NULL. */
bool asl_json_equal(const cJSON *a, const cJSON *b);

/* "a string", "an array", "null"... for messages; "nothing" for NULL. */
const char *asl_json_type_name(const cJSON *v);

/* Bytes of asl_json_print(v) without building it. Stops counting (returns
 * something > limit) once `limit` is passed; use SIZE_MAX for the exact size. */
size_t asl_json_size(const cJSON *v, size_t limit);

/* Compact JSON text of v, escaping like cJSON (", \, control characters;
 * UTF-8 kept). Integral numbers with |n| < 1e17 print as integers ("3",
 * never "3.0"; integers up to 2^53 exactly), others with the fewest of 15, 16
 * or 17 significant digits that round-trip; NaN/Infinity print as null.
 * Caller frees with free(). NULL on no memory. */
char *asl_json_print(const cJSON *v);

/* The same, also storing strlen of the text in *len (if len is not NULL). */
char *asl_json_print_len(const cJSON *v, size_t *len);

/* A cJSON_Raw item (caller frees with cJSON_Delete) that owns `text`, JSON
 * already printed: embedding it prints it as is, with no copy. `text` is
 * taken; it is freed when the item cannot be made. NULL text gives NULL. */
cJSON *asl_json_raw(char *text);

/* The same, taking `text` (text_len bytes, what asl_json_print gives for
 * `node`) wherever `node` occurs in v instead of printing it again. node must
 * be alive and unchanged since text was printed. */
char *asl_json_print_known(const cJSON *v, const cJSON *node, const char *text, size_t text_len,
                           size_t *len);

/* Fails with States.DataLimitExceeded when v is larger than ASL_PAYLOAD_LIMIT
 * bytes; `what` names the payload in the cause ("state output", ...).
 * Returns 0 or -1 with err set. */
int asl_json_check_limit(const cJSON *v, const char *what, asl_error_t *err);

/* The same for a payload whose size is already known (e.g. from printing it). */
int asl_json_check_size(size_t size, const char *what, asl_error_t *err);

/* True when v is a number with an integral value that a double holds exactly
 * (|n| <= 2^53); stores it in *out when out is not NULL. */
bool asl_json_is_integer(const cJSON *v, int64_t *out);

/* Parses `len` bytes of JSON text (no trailing garbage but whitespace). NULL
 * when invalid. Caller frees with cJSON_Delete. */
cJSON *asl_json_parse(const char *text, size_t len);

/* An instant parsed from an RFC 3339 timestamp, kept to the nanosecond so
 * timestamps compare exactly as instants. */
typedef struct asl_timestamp_s {
    int64_t sec;    /* seconds since 1970-01-01T00:00:00Z */
    int32_t nsec;   /* 0..999999999 */
} asl_timestamp_t;

/* Parses "YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)" as the AWS docs
 * require: uppercase T and Z, a zone is mandatory, fraction up to 9 digits,
 * seconds 00..60 (a leap second 60 counts as the next second); checks day of
 * month. Returns true and fills *out when valid. */
bool asl_timestamp_parse(const char *s, asl_timestamp_t *out);

/* -1, 0 or 1 as a is before, equal to or after b. */
int asl_timestamp_cmp(const asl_timestamp_t *a, const asl_timestamp_t *b);

/* Milliseconds since the epoch (fraction truncated toward minus infinity). */
int64_t asl_timestamp_to_ms(const asl_timestamp_t *t);

#endif
