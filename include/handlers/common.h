/* Helpers shared by the built-in Task handlers: reading the fields of a handler's JSON input, failing with the error
 * HANDLERS_E_INVALID_INPUT and a cause that names the handler and the field. */
#ifndef SAGAD_HANDLERS_COMMON_H
#define SAGAD_HANDLERS_COMMON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "asl/common.h"
#include "store/db.h"

/* The Error of a handler called with input it cannot use. */
#define HANDLERS_E_INVALID_INPUT "InvalidInput"
/* The Error of a handler whose SQL failed (disk full, I/O error...). Not
 * States.Runtime, which Retry and States.ALL do not match: this one can be
 * retried and caught like any task error. */
#define HANDLERS_E_DATABASE "DatabaseError"


/* input[key] as a non-empty string. When absent (or null) and !required,
 * returns 0 with *out = NULL. Otherwise 0 with *out pointing into input, or
 * -1 with err naming `handler` and `key`. */
int handlers_get_string(const char *handler, const cJSON *input, const char *key,
                        bool required, const char **out, asl_error_t *err);

/* input[key] as an integer in [min, max] (1.0 counts, 1.5 does not). When absent
 * and !required, returns 0 with *out = dflt. Else 0, or -1 with err. */
int handlers_get_int(const char *handler, const cJSON *input, const char *key, bool required,
                     int64_t dflt, int64_t min, int64_t max, int64_t *out, asl_error_t *err);

/* Sets err to HANDLERS_E_DATABASE with the store's message; returns -1. */
int handlers_db_error(asl_error_t *err, const char *handler, store_t *st);

#endif
