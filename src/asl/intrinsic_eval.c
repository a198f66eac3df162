/* Evaluating a compiled intrinsic call tree over cJSON values: arguments,
 * the shared checks and rendering, and the functions on arrays, JSON and
 * numbers. */
#include "intrinsic_internal.h"
#include "asl/path.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluating ---------------------------------------------------------- */

int asl_intrinsic_fn_fail(eval_t *ev, fn_t fn, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return asl_error_set(ev->err, ASL_E_INTRINSIC_FAILURE, "Invalid arguments in %s: %s",
                         asl_intrinsic_fn_name(fn), detail);
}

static int eval_arg(eval_t *ev, const node_t *a, val_t *out)
{
    out->v = NULL;
    out->owned = NULL;
    switch (a->kind) {
    case ARG_LIT:
        out->v = a->lit;
        return 0;
    case ARG_PATH: {
        const cJSON *ctx = ev->env ? ev->env->context : NULL;
        if (asl_path_is_definite(a->path)) {
            if (asl_path_get(a->path, ev->input, ctx, &out->v) == 1)
                return 0;
            return asl_error_set(ev->err, ASL_E_RUNTIME,
                                 "The JSONPath '%s' used as an intrinsic function argument could "
                                 "not be found in the input", asl_path_text(a->path));
        }
        if (asl_path_eval(a->path, ev->input, ctx, &out->owned, ev->err) < 0)
            return -1;
        out->v = out->owned;
        return 0;
    }
    case ARG_CALL:
        out->owned = asl_intrinsic_call(ev, a);
        out->v = out->owned;
        return out->owned ? 0 : -1;
    }
    return -1;
}

/* Java's Math.round, which AWS applies to non-integral numbers. */
bool asl_intrinsic_round_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    double r = floor(v->valuedouble + 0.5);
    if (fabs(r) > 9007199254740992.0)
        return false;
    *out = (int64_t)r;
    return true;
}

bool asl_intrinsic_exact_int(const cJSON *v, int64_t *out)
{
    return asl_json_is_integer(v, out);
}

size_t asl_intrinsic_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

bool asl_intrinsic_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Growable string for Format. */
void asl_intrinsic_sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* How Step Functions (Java) renders a value inside States.Format: strings
 * raw, scalars as JSON, objects as {k=v, ...} and arrays as [a, b]. */
void asl_intrinsic_render(sbuf_t *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        asl_intrinsic_sb_put(b, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsArray(v)) {
        asl_intrinsic_sb_put(b, "[", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            asl_intrinsic_render(b, c);
            if (c->next)
                asl_intrinsic_sb_put(b, ", ", 2);
        }
        asl_intrinsic_sb_put(b, "]", 1);
    } else if (cJSON_IsObject(v)) {
        asl_intrinsic_sb_put(b, "{", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            asl_intrinsic_sb_put(b, c->string, strlen(c->string));
            asl_intrinsic_sb_put(b, "=", 1);
            asl_intrinsic_render(b, c);
            if (c->next)
                asl_intrinsic_sb_put(b, ", ", 2);
        }
        asl_intrinsic_sb_put(b, "}", 1);
    } else {
        char *t = asl_json_print(v);
        if (!t) {
            b->oom = true;
            return;
        }
        asl_intrinsic_sb_put(b, t, strlen(t));
        free(t);
    }
}

cJSON *asl_intrinsic_oom(eval_t *ev, fn_t fn)
{
    asl_error_set(ev->err, ASL_E_INTRINSIC_FAILURE, "%s: out of memory", asl_intrinsic_fn_name(fn));
    return NULL;
}

static cJSON *apply(eval_t *ev, const node_t *n, val_t *a, size_t na)
{
    fn_t fn = n->fn;
    int64_t i1, i2, i3;
    switch (fn) {
    case F_FORMAT:
        return asl_intrinsic_do_format(ev, n, a, na);
    case F_STRING_TO_JSON: {
        if (!asl_intrinsic_need_string(ev, fn, a[0].v, "first"))
            return NULL;
        const char *s = a[0].v->valuestring;
        cJSON *r = asl_json_parse(s, strlen(s));
        if (!r)
            asl_intrinsic_fn_fail(ev, fn, "the string is not valid JSON");
        return r;
    }
    case F_JSON_TO_STRING: {
        char *t = asl_json_print(a[0].v);
        cJSON *r = t ? cJSON_CreateString(t) : NULL;
        free(t);
        return r ? r : asl_intrinsic_oom(ev, fn);
    }
    case F_ARRAY: {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < na; i++) {
            cJSON *c = a[i].owned ? a[i].owned : cJSON_Duplicate(a[i].v, 1);
            if (!c) {
                cJSON_Delete(arr);
                return asl_intrinsic_oom(ev, fn);
            }
            a[i].owned = NULL;
            cJSON_AddItemToArray(arr, c);
        }
        return arr ? arr : asl_intrinsic_oom(ev, fn);
    }
    case F_ARRAY_PARTITION: {
        if (!asl_intrinsic_need_array(ev, fn, a[0].v, "first") ||
            !asl_intrinsic_need_int(ev, fn, a[1].v, "second", &i1))
            return NULL;
        if (i1 <= 0) {
            asl_intrinsic_fn_fail(ev, fn, "the chunk size must be a positive integer, got %lld",
                                  (long long)i1);
            return NULL;
        }
        cJSON *arr = cJSON_CreateArray(), *chunk = NULL;
        int64_t k = 0;
        for (const cJSON *c = a[0].v->child; arr && c; c = c->next, k++) {
            if (k % i1 == 0) {
                chunk = cJSON_CreateArray();
                if (!chunk)
                    break;
                cJSON_AddItemToArray(arr, chunk);
            }
            cJSON *d = cJSON_Duplicate(c, 1);
            if (!d) {
                chunk = NULL;
                break;
            }
            cJSON_AddItemToArray(chunk, d);
        }
        if (!arr || (a[0].v->child && !chunk)) {
            cJSON_Delete(arr);
            return asl_intrinsic_oom(ev, fn);
        }
        return arr;
    }
    case F_ARRAY_CONTAINS: {
        if (!asl_intrinsic_need_array(ev, fn, a[0].v, "first"))
            return NULL;
        bool found = false;
        for (const cJSON *c = a[0].v->child; c && !found; c = c->next)
            found = asl_json_equal(c, a[1].v);
        cJSON *r = cJSON_CreateBool(found);
        return r ? r : asl_intrinsic_oom(ev, fn);
    }
    case F_ARRAY_RANGE: {
        if (!asl_intrinsic_need_int(ev, fn, a[0].v, "first", &i1) ||
            !asl_intrinsic_need_int(ev, fn, a[1].v, "second", &i2) ||
            !asl_intrinsic_need_int(ev, fn, a[2].v, "third", &i3))
            return NULL;
        if (i3 == 0) {
            asl_intrinsic_fn_fail(ev, fn, "the step must not be 0");
            return NULL;
        }
        int64_t count = 0;
        if ((i3 > 0 && i2 >= i1) || (i3 < 0 && i2 <= i1))
            count = (i2 - i1) / i3 + 1;
        if (count > MAX_RANGE) {
            asl_intrinsic_fn_fail(ev, fn, "the range has %lld items, more than %d",
                                  (long long)count, MAX_RANGE);
            return NULL;
        }
        cJSON *arr = cJSON_CreateArray();
        for (int64_t k = 0; arr && k < count; k++) {
            cJSON *c = cJSON_CreateNumber((double)(i1 + k * i3));
            if (!c) {
                cJSON_Delete(arr);
                arr = NULL;
                break;
            }
            cJSON_AddItemToArray(arr, c);
        }
        return arr ? arr : asl_intrinsic_oom(ev, fn);
    }
    case F_ARRAY_GET_ITEM: {
        if (!asl_intrinsic_need_array(ev, fn, a[0].v, "first") ||
            !asl_intrinsic_need_int(ev, fn, a[1].v, "second", &i1))
            return NULL;
        int64_t len = cJSON_GetArraySize(a[0].v);
        if (i1 < 0 || i1 >= len) {
            asl_intrinsic_fn_fail(ev, fn, "index %lld is out of range for an array of %lld item%s",
                                  (long long)i1, (long long)len, len == 1 ? "" : "s");
            return NULL;
        }
        return asl_intrinsic_dup_or_oom(ev, fn, cJSON_GetArrayItem(a[0].v, (int)i1));
    }
    case F_ARRAY_LENGTH: {
        if (!asl_intrinsic_need_array(ev, fn, a[0].v, "first"))
            return NULL;
        cJSON *r = cJSON_CreateNumber(cJSON_GetArraySize(a[0].v));
        return r ? r : asl_intrinsic_oom(ev, fn);
    }
    case F_ARRAY_UNIQUE: {
        if (!asl_intrinsic_need_array(ev, fn, a[0].v, "first"))
            return NULL;
        cJSON *arr = cJSON_CreateArray();
        for (const cJSON *c = a[0].v->child; arr && c; c = c->next) {
            bool seen = false;
            for (const cJSON *p = a[0].v->child; p != c && !seen; p = p->next)
                seen = asl_json_equal(p, c);
            if (seen)
                continue;
            cJSON *d = cJSON_Duplicate(c, 1);
            if (!d) {
                cJSON_Delete(arr);
                arr = NULL;
                break;
            }
            cJSON_AddItemToArray(arr, d);
        }
        return arr ? arr : asl_intrinsic_oom(ev, fn);
    }
    case F_BASE64_ENCODE:
        return asl_intrinsic_do_b64encode(ev, a[0].v);
    case F_BASE64_DECODE:
        return asl_intrinsic_do_b64decode(ev, a[0].v);
    case F_HASH:
        return asl_intrinsic_do_hash(ev, a[0].v, a[1].v);
    case F_JSON_MERGE: {
        if (!cJSON_IsObject(a[0].v) || !cJSON_IsObject(a[1].v)) {
            asl_intrinsic_fn_fail(ev, fn, "the first two arguments must be objects, got %s and %s",
                                  asl_json_type_name(a[0].v), asl_json_type_name(a[1].v));
            return NULL;
        }
        if (!cJSON_IsBool(a[2].v)) {
            asl_intrinsic_fn_fail(ev, fn, "the third argument must be a boolean, got %s",
                                  asl_json_type_name(a[2].v));
            return NULL;
        }
        if (cJSON_IsTrue(a[2].v)) {
            asl_intrinsic_fn_fail(ev, fn, "deep merge (true) is not supported; use false");
            return NULL;
        }
        cJSON *r = a[0].owned ? a[0].owned : cJSON_Duplicate(a[0].v, 1);
        if (!r)
            return asl_intrinsic_oom(ev, fn);
        a[0].owned = NULL;
        for (const cJSON *c = a[1].v->child; c; c = c->next) {
            cJSON *d = cJSON_Duplicate(c, 1);
            if (!d) {
                cJSON_Delete(r);
                return asl_intrinsic_oom(ev, fn);
            }
            if (cJSON_GetObjectItemCaseSensitive(r, c->string))
                cJSON_ReplaceItemInObjectCaseSensitive(r, c->string, d);
            else
                cJSON_AddItemToObject(r, c->string, d);
        }
        return r;
    }
    case F_MATH_RANDOM:
        return asl_intrinsic_do_random(ev, a, na);
    case F_MATH_ADD: {
        if (!asl_intrinsic_round_int(a[0].v, &i1) || !asl_intrinsic_round_int(a[1].v, &i2)) {
            asl_intrinsic_fn_fail(ev, fn, "both arguments must be numbers, got %s and %s",
                                  asl_json_type_name(a[0].v),
                                  asl_json_type_name(a[1].v));
            return NULL;
        }
        if (i1 < INT32_MIN || i1 > INT32_MAX || i2 < INT32_MIN || i2 > INT32_MAX) {
            asl_intrinsic_fn_fail(ev, fn,
                                  "the arguments must be between -2147483648 and 2147483647");
            return NULL;
        }
        cJSON *r = cJSON_CreateNumber((double)(i1 + i2));
        return r ? r : asl_intrinsic_oom(ev, fn);
    }
    case F_STRING_SPLIT:
        return asl_intrinsic_do_split(ev, a[0].v, a[1].v);
    case F_UUID:
        return asl_intrinsic_do_uuid(ev);
    }
    return NULL;
}

cJSON *asl_intrinsic_call(eval_t *ev, const node_t *n)
{
    val_t stack_args[4] = {{0}};
    val_t *a = n->nargs <= 4 ? stack_args : malloc(n->nargs * sizeof *a);
    if (!a)
        return asl_intrinsic_oom(ev, n->fn);
    size_t done = 0;
    cJSON *res = NULL;
    for (; done < n->nargs; done++)
        if (eval_arg(ev, n->args[done], &a[done]) < 0)
            goto out;
    res = apply(ev, n, a, n->nargs);
out:
    for (size_t i = 0; i < done; i++)
        cJSON_Delete(a[i].owned);
    if (a != stack_args)
        free(a);
    return res;
}

int asl_intrinsic_eval(const asl_intrinsic_t *f, const cJSON *input,
                       const asl_eval_env_t *env, cJSON **out, asl_error_t *err)
{
    eval_t ev = {.input = input, .env = env, .err = err};
    *out = asl_intrinsic_call(&ev, f->root);
    return *out ? 0 : -1;
}
