/* The intrinsic functions that need more than a few lines: Format, Hash,
 * Base64, StringSplit, MathRandom and UUID (crypto and Base64 from nettle). */
#include "intrinsic_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

cJSON *asl_intrinsic_do_format(eval_t *ev, const node_t *n, val_t *a, size_t na)
{
    if (!cJSON_IsString(a[0].v)) {
        asl_intrinsic_fn_fail(ev, F_FORMAT, "the first argument must be a string, got %s",
                              asl_json_type_name(a[0].v));
        return NULL;
    }
    const char *t = a[0].v->valuestring;
    size_t tlen = strlen(t);
    /* Holes: recorded at compile time for literals; every "{}" otherwise. */
    size_t nh = 0, *holes = NULL;
    const node_t *tn = n->args[0];
    if (tn->kind == ARG_LIT) {
        holes = tn->holes;
        nh = tn->nholes;
    } else {
        holes = malloc((tlen / 2 + 1) * sizeof *holes);
        if (!holes)
            return asl_intrinsic_oom(ev, F_FORMAT);
        for (size_t i = 0; i + 1 < tlen; i++)
            if (t[i] == '{' && t[i + 1] == '}')
                holes[nh++] = i++;
    }
    cJSON *res = NULL;
    if (nh != na - 1) {
        asl_intrinsic_fn_fail(ev, F_FORMAT, "the template has %zu '{}' but %zu value%s follow%s",
                              nh, na - 1,
                              na == 2 ? "" : "s", na == 2 ? "s" : "");
        goto out;
    }
    sbuf_t b = {0};
    size_t at = 0;
    for (size_t i = 0; i < nh; i++) {
        asl_intrinsic_sb_put(&b, t + at, holes[i] - at);
        asl_intrinsic_render(&b, a[i + 1].v);
        at = holes[i] + 2;
    }
    asl_intrinsic_sb_put(&b, t + at, tlen - at);
    if (b.oom) {
        free(b.p);
        asl_intrinsic_oom(ev, F_FORMAT);
        goto out;
    }
    res = cJSON_CreateString(b.p ? b.p : "");
    free(b.p);
    if (!res)
        asl_intrinsic_oom(ev, F_FORMAT);
out:
    if (tn->kind != ARG_LIT)
        free(holes);
    return res;
}

cJSON *asl_intrinsic_dup_or_oom(eval_t *ev, fn_t fn, const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);
    return c ? c : asl_intrinsic_oom(ev, fn);
}

bool asl_intrinsic_need_array(eval_t *ev, fn_t fn, const cJSON *v, const char *which)
{
    if (cJSON_IsArray(v))
        return true;
    asl_intrinsic_fn_fail(ev, fn, "the %s argument must be an array, got %s", which,
                          asl_json_type_name(v));
    return false;
}

bool asl_intrinsic_need_string(eval_t *ev, fn_t fn, const cJSON *v, const char *which)
{
    if (cJSON_IsString(v))
        return true;
    asl_intrinsic_fn_fail(ev, fn, "the %s argument must be a string, got %s", which,
                          asl_json_type_name(v));
    return false;
}

bool asl_intrinsic_need_int(eval_t *ev, fn_t fn, const cJSON *v, const char *which, int64_t *out)
{
    if (asl_intrinsic_exact_int(v, out))
        return true;
    asl_intrinsic_fn_fail(ev, fn, "the %s argument must be an integer, got %s", which,
                          cJSON_IsNumber(v) ? "a non-integral number" : asl_json_type_name(v));
    return false;
}

static cJSON *hex_string(const uint8_t *d, size_t n)
{
    char hex[2 * 64 + 1];
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[2 * n] = '\0';
    return cJSON_CreateString(hex);
}

cJSON *asl_intrinsic_do_hash(eval_t *ev, const cJSON *data, const cJSON *alg)
{
    if (!asl_intrinsic_need_string(ev, F_HASH, data, "first") ||
        !asl_intrinsic_need_string(ev, F_HASH, alg, "second"))
        return NULL;
    const char *s = data->valuestring;
    size_t len = strlen(s);
    if (asl_intrinsic_utf8_chars(s) > MAX_CHARS) {
        asl_intrinsic_fn_fail(ev, F_HASH, "the input is longer than %d characters", MAX_CHARS);
        return NULL;
    }
    static const struct {
        const char *name;
        const struct nettle_hash *h;
    } algs[] = {{"MD5", &nettle_md5}, {"SHA-1", &nettle_sha1}, {"SHA-256", &nettle_sha256},
                {"SHA-384", &nettle_sha384}, {"SHA-512", &nettle_sha512}};
    const struct nettle_hash *h = NULL;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(alg->valuestring, algs[i].name) == 0)
            h = algs[i].h;
    if (!h) {
        asl_intrinsic_fn_fail(ev, F_HASH,
                              "unknown algorithm '%.40s' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)",
                              alg->valuestring);
        return NULL;
    }
    /* nettle's generic interface; the union holds any of the contexts. */
    union {
        struct md5_ctx md5;
        struct sha1_ctx sha1;
        struct sha256_ctx sha256;
        struct sha512_ctx sha512;   /* also SHA-384's */
    } ctx;
    uint8_t d[SHA512_DIGEST_SIZE];
    size_t n = h->digest_size;
    h->init(&ctx);
    h->update(&ctx, len, (const uint8_t *)s);
    h->digest(&ctx, n, d);
    cJSON *r = hex_string(d, n);
    return r ? r : asl_intrinsic_oom(ev, F_HASH);
}

cJSON *asl_intrinsic_do_b64encode(eval_t *ev, const cJSON *v)
{
    if (!asl_intrinsic_need_string(ev, F_BASE64_ENCODE, v, "first"))
        return NULL;
    const char *s = v->valuestring;
    if (asl_intrinsic_utf8_chars(s) > MAX_CHARS) {
        asl_intrinsic_fn_fail(ev, F_BASE64_ENCODE, "the input is longer than %d characters",
                              MAX_CHARS);
        return NULL;
    }
    size_t len = strlen(s);
    char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return asl_intrinsic_oom(ev, F_BASE64_ENCODE);
    base64_encode_raw(out, len, (const uint8_t *)s);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    cJSON *r = cJSON_CreateString(out);
    free(out);
    return r ? r : asl_intrinsic_oom(ev, F_BASE64_ENCODE);
}

cJSON *asl_intrinsic_do_b64decode(eval_t *ev, const cJSON *v)
{
    if (!asl_intrinsic_need_string(ev, F_BASE64_DECODE, v, "first"))
        return NULL;
    const char *s = v->valuestring;
    size_t len = strlen(s);
    if (len > MAX_CHARS) {
        asl_intrinsic_fn_fail(ev, F_BASE64_DECODE, "the input is longer than %d characters",
                              MAX_CHARS);
        return NULL;
    }
    /* Like Java's basic decoder: only the Base64 alphabet, '=' padding
     * optional (nettle itself would skip blanks and insist on padding). */
    size_t data = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    size_t pad = strspn(s + data, "=");
    char padded[MAX_CHARS + 4];
    bool bad = data + pad != len || pad > 2 || (pad && len % 4) || data % 4 == 1;
    if (!bad) {
        memcpy(padded, s, data);
        size_t plen = data;
        while (plen % 4)
            padded[plen++] = '=';
        s = padded;
        len = plen;
    }
    uint8_t *out = bad ? NULL : malloc(BASE64_DECODE_LENGTH(len) + 1);
    if (!bad && !out)
        return asl_intrinsic_oom(ev, F_BASE64_DECODE);
    struct base64_decode_ctx c;
    size_t n = 0;
    base64_decode_init(&c);
    if (bad || !base64_decode_update(&c, &n, out, len, s) || !base64_decode_final(&c)) {
        free(out);
        asl_intrinsic_fn_fail(ev, F_BASE64_DECODE, "the input is not valid Base64");
        return NULL;
    }
    if (!asl_intrinsic_utf8_valid(out, n)) {
        free(out);
        asl_intrinsic_fn_fail(ev, F_BASE64_DECODE, "the decoded data is not UTF-8 text");
        return NULL;
    }
    out[n] = '\0';
    cJSON *r = cJSON_CreateString((const char *)out);
    free(out);
    return r ? r : asl_intrinsic_oom(ev, F_BASE64_DECODE);
}

cJSON *asl_intrinsic_do_split(eval_t *ev, const cJSON *str, const cJSON *del)
{
    if (!asl_intrinsic_need_string(ev, F_STRING_SPLIT, str, "first") ||
        !asl_intrinsic_need_string(ev, F_STRING_SPLIT, del, "second"))
        return NULL;
    const char *s = str->valuestring, *d = del->valuestring;
    size_t dlen = strlen(d);
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return asl_intrinsic_oom(ev, F_STRING_SPLIT);
    const char *piece = s;
    const char *p = s;
    while (*p) {
        /* Length of the UTF-8 character at p. */
        size_t cl = 1;
        while (p[cl] && ((unsigned char)p[cl] & 0xC0) == 0x80)
            cl++;
        bool is_delim = false;
        for (size_t k = 0; k < dlen;) {
            size_t dl = 1;
            while (d[k + dl] && ((unsigned char)d[k + dl] & 0xC0) == 0x80)
                dl++;
            if (dl == cl && memcmp(p, d + k, cl) == 0) {
                is_delim = true;
                break;
            }
            k += dl;
        }
        if (is_delim) {
            if (p > piece) {
                char *t = strndup(piece, (size_t)(p - piece));
                cJSON *c = t ? cJSON_CreateString(t) : NULL;
                free(t);
                if (!c) {
                    cJSON_Delete(arr);
                    return asl_intrinsic_oom(ev, F_STRING_SPLIT);
                }
                cJSON_AddItemToArray(arr, c);
            }
            piece = p + cl;
        }
        p += cl;
    }
    if (p > piece) {
        cJSON *c = cJSON_CreateString(piece);
        if (!c) {
            cJSON_Delete(arr);
            return asl_intrinsic_oom(ev, F_STRING_SPLIT);
        }
        cJSON_AddItemToArray(arr, c);
    }
    return arr;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool need_random(eval_t *ev, fn_t fn)
{
    if (ev->env && ev->env->random64)
        return true;
    asl_error_set(ev->err, ASL_E_INTRINSIC_FAILURE, "%s: no source of randomness configured",
                  asl_intrinsic_fn_name(fn));
    return false;
}

cJSON *asl_intrinsic_do_random(eval_t *ev, val_t *a, size_t na)
{
    int64_t lo, hi, seed = 0;
    if (!asl_intrinsic_round_int(a[0].v, &lo) || !asl_intrinsic_round_int(a[1].v, &hi)) {
        asl_intrinsic_fn_fail(ev, F_MATH_RANDOM, "the start and end must be numbers");
        return NULL;
    }
    if (na == 3 && !asl_intrinsic_round_int(a[2].v, &seed)) {
        asl_intrinsic_fn_fail(ev, F_MATH_RANDOM, "the seed must be a number");
        return NULL;
    }
    if (lo >= hi) {
        asl_intrinsic_fn_fail(ev, F_MATH_RANDOM,
                              "the start (%lld) must be less than the end (%lld)",
                              (long long)lo, (long long)hi);
        return NULL;
    }
    uint64_t r;
    if (na == 3) {
        uint64_t x = (uint64_t)seed;
        r = splitmix64(&x);
    } else {
        if (!need_random(ev, F_MATH_RANDOM))
            return NULL;
        r = ev->env->random64(ev->env->random_ud);
    }
    uint64_t span = (uint64_t)(hi - lo);
    cJSON *c = cJSON_CreateNumber((double)(lo + (int64_t)(r % span)));
    return c ? c : asl_intrinsic_oom(ev, F_MATH_RANDOM);
}

cJSON *asl_intrinsic_do_uuid(eval_t *ev)
{
    if (!need_random(ev, F_UUID))
        return NULL;
    uint8_t b[16];
    uint64_t x = ev->env->random64(ev->env->random_ud);
    uint64_t y = ev->env->random64(ev->env->random_ud);
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(x >> (8 * i));
        b[8 + i] = (uint8_t)(y >> (8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);  /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);  /* RFC 4122 variant */
    char s[37];
    snprintf(s, sizeof s,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    cJSON *c = cJSON_CreateString(s);
    return c ? c : asl_intrinsic_oom(ev, F_UUID);
}
