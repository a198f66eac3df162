/* Private to the files of the asl/intrinsic module (src/asl/intrinsic*.c):
 * the call tree, the evaluation state, and the functions the files share.
 * The public face is include/asl/intrinsic.h. */
#ifndef SAGAD_ASL_INTRINSIC_INTERNAL_H
#define SAGAD_ASL_INTRINSIC_INTERNAL_H

#include "asl/intrinsic.h"
#include "asl/path.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

/* AWS allows up to 10 nested intrinsic calls in one field. */
#define MAX_DEPTH 10
/* Input limit of Base64Encode/Base64Decode/Hash, in characters. */
#define MAX_CHARS 10000
#define MAX_RANGE 1000

typedef enum {
    F_FORMAT, F_STRING_TO_JSON, F_JSON_TO_STRING, F_ARRAY, F_ARRAY_PARTITION,
    F_ARRAY_CONTAINS, F_ARRAY_RANGE, F_ARRAY_GET_ITEM, F_ARRAY_LENGTH, F_ARRAY_UNIQUE,
    F_BASE64_ENCODE, F_BASE64_DECODE, F_HASH, F_JSON_MERGE, F_MATH_RANDOM, F_MATH_ADD,
    F_STRING_SPLIT, F_UUID
} fn_t;

typedef enum { ARG_LIT, ARG_PATH, ARG_CALL } arg_kind_t;

typedef struct node_s node_t;
struct node_s {
    arg_kind_t kind;
    cJSON *lit;            /* ARG_LIT */
    size_t *holes;         /* literal strings: offsets of unescaped "{}" */
    size_t nholes;
    asl_path_t *path;      /* ARG_PATH */
    fn_t fn;               /* ARG_CALL */
    node_t **args;
    size_t nargs;
};

struct asl_intrinsic_s {
    node_t *root;
};

typedef struct eval_s {
    const cJSON *input;
    const asl_eval_env_t *env;
    asl_error_t *err;
} eval_t;

/* An argument value: borrowed (literal, path target) or owned. */
typedef struct val_s {
    const cJSON *v;
    cJSON *owned;
} val_t;

typedef struct sbuf_s {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

/* intrinsic.c */
const char *asl_intrinsic_fn_name(fn_t fn);

/* intrinsic_eval.c */
int asl_intrinsic_fn_fail(eval_t *ev, fn_t fn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool asl_intrinsic_round_int(const cJSON *v, int64_t *out);
bool asl_intrinsic_exact_int(const cJSON *v, int64_t *out);
size_t asl_intrinsic_utf8_chars(const char *s);
bool asl_intrinsic_utf8_valid(const unsigned char *s, size_t len);
void asl_intrinsic_sb_put(sbuf_t *b, const char *s, size_t n);
void asl_intrinsic_render(sbuf_t *b, const cJSON *v);
cJSON *asl_intrinsic_oom(eval_t *ev, fn_t fn);
cJSON *asl_intrinsic_call(eval_t *ev, const node_t *n);

/* intrinsic_fns.c */
cJSON *asl_intrinsic_do_format(eval_t *ev, const node_t *n, val_t *a, size_t na);
cJSON *asl_intrinsic_dup_or_oom(eval_t *ev, fn_t fn, const cJSON *v);
bool asl_intrinsic_need_array(eval_t *ev, fn_t fn, const cJSON *v, const char *which);
bool asl_intrinsic_need_string(eval_t *ev, fn_t fn, const cJSON *v, const char *which);
bool asl_intrinsic_need_int(eval_t *ev, fn_t fn, const cJSON *v, const char *which, int64_t *out);
cJSON *asl_intrinsic_do_hash(eval_t *ev, const cJSON *data, const cJSON *alg);
cJSON *asl_intrinsic_do_b64encode(eval_t *ev, const cJSON *v);
cJSON *asl_intrinsic_do_b64decode(eval_t *ev, const cJSON *v);
cJSON *asl_intrinsic_do_split(eval_t *ev, const cJSON *str, const cJSON *del);
cJSON *asl_intrinsic_do_random(eval_t *ev, val_t *a, size_t na);
cJSON *asl_intrinsic_do_uuid(eval_t *ev);

#endif
