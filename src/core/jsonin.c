/* Strict check of client JSON text in one pass over the bytes, before cJSON
 * parses it: the grammar of RFC 8259, UTF-8, surrogate pairs, duplicate keys
 * and numbers a double would change. Keys are compared unescaped. */
#include "core/jsonin.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SHOWN_MAX 64      /* bytes of a duplicate key quoted in a message */
#define NUMBER_SHOWN_MAX 40   /* characters of a refused number quoted */

/* A key of an open object: its unescaped bytes in scan_t.names, and where it
 * starts in the text. */
typedef struct key_ref_s {
    size_t off, len;
    size_t at;
} key_ref_t;

/* An open array or object; for objects, where its keys start. */
typedef struct level_s {
    bool object;
    size_t keys;     /* index of its first key in scan_t.keys */
    size_t names;    /* offset of its first key's bytes in scan_t.names */
} level_t;

typedef enum expect_e {
    EXPECT_VALUE,
    EXPECT_VALUE_OR_CLOSE,   /* just after '[' */
    EXPECT_KEY,
    EXPECT_KEY_OR_CLOSE,     /* just after '{' */
    EXPECT_COLON,
    EXPECT_AFTER_VALUE,
} expect_t;

typedef struct scan_s {
    const unsigned char *p;
    size_t len, pos;
    jsonin_error_t *err;
    key_ref_t *keys;        /* keys of the open objects, innermost last */
    size_t nkeys, capkeys;
    char *names;            /* their unescaped bytes */
    size_t nnames, capnames;
    level_t *levels;        /* open containers, innermost last */
    size_t depth, caplevels;
} scan_t;

static int fail(scan_t *s, jsonin_status_t code, size_t at, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fills the error: "<what> at byte N[; hint]". Returns code. */
static int fail(scan_t *s, jsonin_status_t code, size_t at, const char *hint, const char *fmt, ...)
{
    char what[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    s->err->offset = at;
    snprintf(s->err->message, sizeof s->err->message, "%s at byte %zu%s%s", what, at,
             hint ? "; " : "", hint ? hint : "");
    return code;
}

static int nomem(scan_t *s)
{
    return fail(s, JSONIN_ERR_NOMEM, s->pos, NULL, "out of memory while checking the text");
}

/* Room for `need` items of `size` bytes in buf, whose capacity is *cap:
 * the buffer (perhaps moved), or NULL with buf untouched without memory. */
static void *grow(void *buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return buf;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *b = realloc(buf, c * size);
    if (b)
        *cap = c;
    return b;
}

static int add_name_bytes(scan_t *s, const void *bytes, size_t n)
{
    char *names = grow(s->names, &s->capnames, s->nnames + n, 1);
    if (!names)
        return nomem(s);
    s->names = names;
    memcpy(s->names + s->nnames, bytes, n);
    s->nnames += n;
    return 0;
}

/* ---- strings ------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence (RFC 3629) starting at p with n > 0
 * bytes available, or 0 with the reason in why[64] (when why is not NULL). */
static size_t utf8_sequence(const unsigned char *p, size_t n, char *why)
{
    char ignored[64];
    if (!why)
        why = ignored;
    unsigned char b = p[0], lo = 0x80, hi = 0xBF;
    size_t more;
    if (b < 0x80)
        return 1;
    if (b < 0xC0) {
        snprintf(why, 64, "unexpected continuation byte 0x%02X", b);
        return 0;
    }
    if (b < 0xC2) {
        snprintf(why, 64, "overlong encoding, lead byte 0x%02X", b);
        return 0;
    }
    if (b < 0xE0) {
        more = 1;
    } else if (b < 0xF0) {
        more = 2;
        lo = b == 0xE0 ? 0xA0 : 0x80;
        hi = b == 0xED ? 0x9F : 0xBF;
    } else if (b < 0xF5) {
        more = 3;
        lo = b == 0xF0 ? 0x90 : 0x80;
        hi = b == 0xF4 ? 0x8F : 0xBF;
    } else {
        snprintf(why, 64, "byte 0x%02X never occurs in UTF-8", b);
        return 0;
    }
    for (size_t i = 1; i <= more; i++) {
        if (i >= n || (p[i] & 0xC0) != 0x80) {
            snprintf(why, 64, "truncated sequence, lead byte 0x%02X", b);
            return 0;
        }
    }
    if (p[1] < lo || p[1] > hi) {
        snprintf(why, 64, "%s", b == 0xED ? "encoded surrogate (U+D800..U+DFFF)"
                              : b == 0xF4 ? "code point above U+10FFFF"
                                          : "overlong encoding");
        return 0;
    }
    return more + 1;
}

static long hex4(const scan_t *s, size_t at)
{
    if (at > s->len || s->len - at < 4)
        return -1;
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        unsigned char c = s->p[at + i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static int add_code_point(scan_t *s, unsigned long cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return add_name_bytes(s, u, n);
}

/* The escape at s->pos (a backslash); keeps its character when in a key. */
static int scan_escape(scan_t *s, bool key)
{
    size_t at = s->pos;
    if (s->len - at < 2)
        return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "unterminated string");
    char c;
    switch (s->p[at + 1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': c = 0; break;
    default:
        return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "invalid escape in a string");
    }
    if (c) {
        s->pos += 2;
        return key ? add_name_bytes(s, &c, 1) : 0;
    }
    long cp = hex4(s, at + 2);
    if (cp < 0)
        return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "\\u needs four hex digits");
    if (cp == 0)
        return fail(s, JSONIN_ERR_NUL, at, "strings cannot carry NUL characters",
                    "\\u0000 in a string");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(s, JSONIN_ERR_SURROGATE, at, NULL,
                    "unpaired low surrogate \\u%04lX (no high surrogate before it)", cp);
    s->pos += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        size_t lo_at = at + 6;
        long lo = s->len - lo_at >= 6 && s->p[lo_at] == '\\' && s->p[lo_at + 1] == 'u'
                      ? hex4(s, lo_at + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return fail(s, JSONIN_ERR_SURROGATE, at, NULL,
                        "unpaired high surrogate \\u%04lX (not followed by a low surrogate "
                        "\\uDC00..\\uDFFF)", cp);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        s->pos += 6;
    }
    return key ? add_code_point(s, (unsigned long)cp) : 0;
}

/* Records the key just scanned (its bytes end the names buffer). */
static int add_key(scan_t *s, size_t name_off, size_t at)
{
    key_ref_t *keys = grow(s->keys, &s->capkeys, s->nkeys + 1, sizeof *keys);
    if (!keys)
        return nomem(s);
    s->keys = keys;
    s->keys[s->nkeys++] = (key_ref_t){.off = name_off, .len = s->nnames - name_off, .at = at};
    return 0;
}

/* The string at s->pos (its opening quote); a key is recorded unescaped. */
static int scan_string(scan_t *s, bool key)
{
    const unsigned char *p = s->p;
    size_t at = s->pos++;
    size_t name_off = s->nnames;
    for (;;) {
        size_t run = s->pos;
        while (s->pos < s->len && p[s->pos] >= 0x20 && p[s->pos] < 0x80 && p[s->pos] != '"' &&
               p[s->pos] != '\\')
            s->pos++;
        if (key && s->pos > run && add_name_bytes(s, p + run, s->pos - run) < 0)
            return JSONIN_ERR_NOMEM;
        if (s->pos >= s->len)
            return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "unterminated string");
        unsigned char b = p[s->pos];
        int rc = 0;
        if (b == '"') {
            s->pos++;
            return key ? add_key(s, name_off, at) : 0;
        } else if (b == '\\') {
            rc = scan_escape(s, key);
        } else if (b < 0x20) {
            rc = fail(s, JSONIN_ERR_SYNTAX, s->pos, "escape it as \\u00XX",
                      "raw control character 0x%02X in a string", b);
        } else {
            char why[64];
            size_t n = utf8_sequence(p + s->pos, s->len - s->pos, why);
            if (!n)
                return fail(s, JSONIN_ERR_UTF8, s->pos, NULL, "invalid UTF-8 (%s)", why);
            if (key)
                rc = add_name_bytes(s, p + s->pos, n);
            s->pos += n;
        }
        if (rc < 0)
            return rc;
    }
}

/* ---- numbers and literals ------------------------------------------------- */

static size_t skip_digits(const scan_t *s, size_t i)
{
    while (i < s->len && s->p[i] >= '0' && s->p[i] <= '9')
        i++;
    return i;
}

/* Whether the number text [at, end) with a fraction or exponent is finite
 * as a double (1e400 is not). */
static int finite_double(const scan_t *s, size_t at, size_t end, bool *finite)
{
    char small[64];
    size_t n = end - at;
    char *t = n < sizeof small ? small : malloc(n + 1);
    if (!t)
        return -1;
    memcpy(t, s->p + at, n);
    t[n] = '\0';
    *finite = isfinite(strtod(t, NULL));
    if (t != small)
        free(t);
    return 0;
}

static int scan_number(scan_t *s)
{
    size_t at = s->pos, i = at;
    if (s->p[i] == '-')
        i++;
    size_t int_start = i;
    if (i < s->len && s->p[i] == '0')
        i++;
    else if (i < s->len && s->p[i] >= '1' && s->p[i] <= '9')
        i = skip_digits(s, i);
    else
        return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "a number needs digits");
    if (s->p[int_start] == '0' && i < s->len && s->p[i] >= '0' && s->p[i] <= '9')
        return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "a number cannot start with 0");
    size_t int_digits = i - int_start;
    bool integer = true;
    if (i < s->len && s->p[i] == '.') {
        integer = false;
        size_t d = skip_digits(s, i + 1);
        if (d == i + 1)
            return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "a fraction needs digits after '.'");
        i = d;
    }
    if (i < s->len && (s->p[i] == 'e' || s->p[i] == 'E')) {
        integer = false;
        i++;
        if (i < s->len && (s->p[i] == '+' || s->p[i] == '-'))
            i++;
        size_t d = skip_digits(s, i);
        if (d == i)
            return fail(s, JSONIN_ERR_SYNTAX, at, NULL, "an exponent needs digits");
        i = d;
    }
    s->pos = i;
    int shown = (int)(i - at < NUMBER_SHOWN_MAX ? i - at : NUMBER_SHOWN_MAX);
    const char *more = i - at > NUMBER_SHOWN_MAX ? "..." : "";
    if (integer) {
        /* 2^53 = 9007199254740992 has 16 digits; no leading zeros here. */
        if (int_digits > 16 ||
            (int_digits == 16 && memcmp(s->p + int_start, "9007199254740992", 16) > 0))
            return fail(s, JSONIN_ERR_NUMBER, at,
                        "a double holds integers exactly only up to 2^53; send it as a string",
                        "integer %.*s%s is beyond 2^53", shown, (const char *)s->p + at, more);
        return 0;
    }
    bool finite;
    if (finite_double(s, at, i, &finite) < 0)
        return nomem(s);
    if (!finite)
        return fail(s, JSONIN_ERR_NUMBER, at, NULL, "number %.*s%s is too large for a double",
                    shown, (const char *)s->p + at, more);
    return 0;
}

static int scan_literal(scan_t *s)
{
    static const char *const words[] = {"true", "false", "null"};
    for (size_t w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if (s->len - s->pos >= n && memcmp(s->p + s->pos, words[w], n) == 0) {
            s->pos += n;
            return 0;
        }
    }
    unsigned char c = s->p[s->pos];
    if (c >= 0x20 && c < 0x7f)
        return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "unexpected character '%c'", c);
    return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "unexpected byte 0x%02X", c);
}

/* ---- objects and arrays --------------------------------------------------- */

static int open_level(scan_t *s, bool object)
{
    if (s->depth == CJSON_NESTING_LIMIT)
        return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "nesting deeper than %d",
                    CJSON_NESTING_LIMIT);
    level_t *levels = grow(s->levels, &s->caplevels, s->depth + 1, sizeof *levels);
    if (!levels)
        return nomem(s);
    s->levels = levels;
    s->levels[s->depth++] = (level_t){.object = object, .keys = s->nkeys, .names = s->nnames};
    s->pos++;
    return 0;
}

/* Orders keys by their unescaped bytes. */
static int compare_names(const key_ref_t *x, const key_ref_t *y, const char *names)
{
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(names + x->off, names + y->off, n) : 0;
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* The same, then by position, so equal keys sort in document order. */
static int compare_keys(const void *a, const void *b, void *names)
{
    const key_ref_t *x = a, *y = b;
    int c = compare_names(x, y, names);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* Objects of a request body have a handful of keys: an insertion sort is
 * cheaper there than glibc's qsort_r (a merge sort calling through a
 * pointer, ~1,600 instructions for 7 keys); both give the order
 * compare_keys defines, which has no ties. */
enum { SORT_INSERTION_MAX = 16 };

static void sort_keys(key_ref_t *k, size_t n, char *names)
{
    if (n > SORT_INSERTION_MAX) {
        qsort_r(k, n, sizeof *k, compare_keys, names);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        key_ref_t v = k[i];
        size_t j = i;
        for (; j > 0 && compare_keys(&k[j - 1], &v, names) > 0; j--)
            k[j] = k[j - 1];
        k[j] = v;
    }
}

/* Closes the innermost object: refuses a key named twice (reporting the
 * earliest second occurrence), then forgets its keys. */
static int close_object(scan_t *s)
{
    const level_t *l = &s->levels[s->depth - 1];
    key_ref_t *k = s->keys + l->keys;
    size_t n = s->nkeys - l->keys;
    const key_ref_t *dup = NULL;
    if (n > 1) {
        sort_keys(k, n, s->names);
        for (size_t i = 1; i < n; i++)
            if (compare_names(&k[i], &k[i - 1], s->names) == 0 &&
                (!dup || k[i].at < dup->at))
                dup = &k[i];
    }
    if (dup) {
        size_t shown = dup->len;
        if (shown > KEY_SHOWN_MAX) {
            shown = KEY_SHOWN_MAX;
            while (shown && ((unsigned char)s->names[dup->off + shown] & 0xC0) == 0x80)
                shown--;
        }
        return fail(s, JSONIN_ERR_DUPLICATE, dup->at, "an object may name a key only once",
                    "duplicate key \"%.*s%s\"", (int)shown, s->names + dup->off,
                    shown < dup->len ? "..." : "");
    }
    s->nkeys = l->keys;
    s->nnames = l->names;
    s->depth--;
    s->pos++;
    return 0;
}

static int scan_value(scan_t *s, expect_t *want)
{
    unsigned char c = s->p[s->pos];
    *want = EXPECT_AFTER_VALUE;
    if (c == '{') {
        *want = EXPECT_KEY_OR_CLOSE;
        return open_level(s, true);
    }
    if (c == '[') {
        *want = EXPECT_VALUE_OR_CLOSE;
        return open_level(s, false);
    }
    if (c == '"')
        return scan_string(s, false);
    if (c == '-' || (c >= '0' && c <= '9'))
        return scan_number(s);
    return scan_literal(s);
}

/* After a value inside a container: ',' or the matching close. */
static int scan_after_value(scan_t *s, expect_t *want)
{
    if (!s->depth)
        return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "unexpected text after the JSON value");
    bool object = s->levels[s->depth - 1].object;
    unsigned char c = s->p[s->pos];
    if (c == ',') {
        *want = object ? EXPECT_KEY : EXPECT_VALUE;
        s->pos++;
        return 0;
    }
    if (c == (object ? '}' : ']')) {
        if (object)
            return close_object(s);
        s->depth--;
        s->pos++;
        return 0;
    }
    return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, object ? "expected ',' or '}'"
                                                            : "expected ',' or ']'");
}

static int scan(scan_t *s)
{
    expect_t want = EXPECT_VALUE;
    while (s->pos < s->len) {
        unsigned char c = s->p[s->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            s->pos++;
            continue;
        }
        int rc;
        switch (want) {
        case EXPECT_KEY_OR_CLOSE:
            if (c == '}') {
                rc = close_object(s);
                want = EXPECT_AFTER_VALUE;
                break;
            }
            /* fall through */
        case EXPECT_KEY:
            if (c != '"')
                return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "expected a key (a string)");
            rc = scan_string(s, true);
            want = EXPECT_COLON;
            break;
        case EXPECT_COLON:
            if (c != ':')
                return fail(s, JSONIN_ERR_SYNTAX, s->pos, NULL, "expected ':' after a key");
            s->pos++;
            rc = 0;
            want = EXPECT_VALUE;
            break;
        case EXPECT_VALUE_OR_CLOSE:
            if (c == ']') {
                s->depth--;
                s->pos++;
                rc = 0;
                want = EXPECT_AFTER_VALUE;
                break;
            }
            /* fall through */
        case EXPECT_VALUE:
            rc = scan_value(s, &want);
            break;
        default:
            rc = scan_after_value(s, &want);
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (want != EXPECT_AFTER_VALUE || s->depth)
        return fail(s, JSONIN_ERR_SYNTAX, s->len, NULL, "unexpected end of the text");
    return JSONIN_OK;
}

size_t jsonin_utf8_length(const char *p, size_t n)
{
    return n ? utf8_sequence((const unsigned char *)p, n, NULL) : 0;
}

int jsonin_check(const char *text, size_t len, jsonin_error_t *err)
{
    scan_t s = {.p = (const unsigned char *)text, .len = len, .err = err};
    int rc = scan(&s);
    free(s.keys);
    free(s.names);
    free(s.levels);
    if (rc == JSONIN_OK) {
        err->offset = 0;
        err->message[0] = '\0';
    }
    return rc;
}

int jsonin_parse(const char *text, size_t len, cJSON **out, jsonin_error_t *err)
{
    *out = NULL;
    int rc = jsonin_check(text, len, err);
    if (rc < 0)
        return rc;
    /* The text is valid JSON within cJSON's nesting limit: only memory can
     * make this fail. */
    *out = cJSON_ParseWithLength(text, len);
    if (!*out) {
        snprintf(err->message, sizeof err->message, "out of memory while parsing the text");
        return JSONIN_ERR_NOMEM;
    }
    return JSONIN_OK;
}
