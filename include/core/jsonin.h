/* Strict reading of JSON text that comes from clients. cJSON accepts text
 * that would be stored or echoed changed or ambiguous (invalid UTF-8, lone
 * surrogates, duplicate keys, integers a double cannot hold); this module
 * refuses it with a message saying what and at which byte. */
#ifndef SAGAD_CORE_JSONIN_H
#define SAGAD_CORE_JSONIN_H

#include <stddef.h>
#include <cJSON.h>

/* Why a text was refused; JSONIN_OK (0) when it was not. */
typedef enum jsonin_status_e {
    JSONIN_OK = 0,
    JSONIN_ERR_SYNTAX = -1,    /* not JSON by RFC 8259's grammar (this also
                                  covers raw control characters in strings,
                                  numbers like 01 or 1., bad escapes, nesting
                                  deeper than CJSON_NESTING_LIMIT) */
    JSONIN_ERR_UTF8 = -2,      /* invalid UTF-8: overlong, truncated, stray
                                  continuation, F5..FF, above U+10FFFF, or an
                                  encoded surrogate (ED A0..ED BF) */
    JSONIN_ERR_SURROGATE = -3, /* a \u escape that is an unpaired surrogate */
    JSONIN_ERR_DUPLICATE = -4, /* one object names a key twice (compared
                                  after unescaping) */
    JSONIN_ERR_NUMBER = -5,    /* an integer literal (no fraction, no
                                  exponent) with |n| > 2^53, or a number too
                                  large for a double (1e400) */
    JSONIN_ERR_NUL = -6,       /* \u0000 in a string: cJSON strings end at NUL */
    JSONIN_ERR_NOMEM = -7,
} jsonin_status_t;

typedef struct jsonin_error_s {
    size_t offset;             /* byte of the text where the problem is */
    char message[256];         /* says what and where; valid UTF-8 */
} jsonin_error_t;

/* 2^53: integer literals up to this magnitude are exact in a double. */
#define JSONIN_INTEGER_MAX 9007199254740992.0

/* Checks `len` bytes of text in one pass (time and memory linear in len,
 * but n log n for the keys of one object): one JSON value with optional
 * whitespace around it, and none of the problems above. Returns JSONIN_OK
 * or a jsonin_status_t with *err filled. Nothing is kept. */
int jsonin_check(const char *text, size_t len, jsonin_error_t *err);

/* jsonin_check, then parses the text with cJSON into *out (caller frees with
 * cJSON_Delete). Returns JSONIN_OK, or an error with *out NULL and *err
 * filled. */
int jsonin_parse(const char *text, size_t len, cJSON **out, jsonin_error_t *err);

/* Bytes of the valid UTF-8 sequence (one character) at p, which has n bytes;
 * 0 when they do not start with one (or n is 0). */
size_t jsonin_utf8_length(const char *p, size_t n);

#endif
