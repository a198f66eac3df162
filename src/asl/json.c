/* JSON helpers for the ASL engine: equality, compact printing and sizing
 * with Step Functions' number rules, integer tests and RFC 3339 instants.
 * Printing is our own so that size checks need no allocation. */
#include "asl/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *asl_json_type_name(const cJSON *v)
{
    if (!v)
        return "nothing";
    switch (v->type & 0xff) {
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    default: return "an invalid value";
    }
}

bool asl_json_equal(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    int ta = a->type & 0xff, tb = b->type & 0xff;
    if (ta != tb)
        return false;
    switch (ta) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL:
        return true;
    case cJSON_Number:
        return a->valuedouble == b->valuedouble;
    case cJSON_String:
    case cJSON_Raw:
        return strcmp(a->valuestring ? a->valuestring : "",
                      b->valuestring ? b->valuestring : "") == 0;
    case cJSON_Array: {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!asl_json_equal(x, y))
                return false;
        return !x && !y;
    }
    case cJSON_Object: {
        size_t na = 0, nb = 0;
        for (const cJSON *x = a->child; x; x = x->next)
            na++;
        for (const cJSON *y = b->child; y; y = y->next)
            nb++;
        if (na != nb)
            return false;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !asl_json_equal(x, y))
                return false;
        }
        return true;
    }
    default:
        return false;
    }
}

/* Output buffer; always keeps room for the final NUL. */
typedef struct sink_s {
    char *buf;
    size_t len, cap;
    bool oom;
    const cJSON *known;       /* a node whose text is known_text already */
    const char *known_text;
    size_t known_len;
} sink_t;

static bool grow(sink_t *s, size_t n)
{
    if (s->oom)
        return false;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < s->len + n + 1)
        cap *= 2;
    char *b = realloc(s->buf, cap);
    if (!b) {
        s->oom = true;
        return false;
    }
    s->buf = b;
    s->cap = cap;
    return true;
}

/* Room for n more bytes (and the NUL): the common case inline. */
static inline bool reserve(sink_t *s, size_t n)
{
    return s->len + n < s->cap || grow(s, n);
}

static inline void put(sink_t *s, const char *p, size_t n)
{
    if (reserve(s, n)) {
        memcpy(s->buf + s->len, p, n);
        s->len += n;
    }
}

static inline void put_char(sink_t *s, char c)
{
    if (reserve(s, 1))
        s->buf[s->len++] = c;
}

/* The text of a finite number in tmp[40]: returns its start, *n its length.
 * Integers are most numbers in practice: digits by hand, no printf. */
static const char *format_number(double d, char *tmp, size_t *n)
{
    if (d == floor(d) && fabs(d) < 1e17) {
        int64_t i = (int64_t)d;
        uint64_t u = i < 0 ? (uint64_t)(-i) : (uint64_t)i;
        char *e = tmp + 40, *q = e;
        do {
            *--q = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (i < 0)
            *--q = '-';
        *n = (size_t)(e - q);
        return q;
    }
    int k = snprintf(tmp, 40, "%.15g", d);
    if (strtod(tmp, NULL) != d)
        k = snprintf(tmp, 40, "%.16g", d);
    if (strtod(tmp, NULL) != d)
        k = snprintf(tmp, 40, "%.17g", d);
    *n = (size_t)k;
    return tmp;
}

static void put_number(sink_t *s, double d)
{
    char tmp[40];
    size_t n;
    if (!isfinite(d)) {
        put(s, "null", 4);
        return;
    }
    const char *q = format_number(d, tmp, &n);
    put(s, q, n);
}

/* 1 for the bytes a JSON string must escape: controls, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

/* The bytes of str up to the first one needs_escape marks (NUL included).
 * Unrolled: each byte is read only once the one before it proved not NUL. */
static inline const unsigned char *plain_run(const unsigned char *p)
{
    for (;;) {
        if (needs_escape[p[0]])
            return p;
        if (needs_escape[p[1]])
            return p + 1;
        if (needs_escape[p[2]])
            return p + 2;
        if (needs_escape[p[3]])
            return p + 3;
        p += 4;
    }
}

static void put_string(sink_t *s, const char *str)
{
    const unsigned char *p = (const unsigned char *)(str ? str : "");
    put_char(s, '"');
    for (;;) {
        /* Copy the longest run that needs no escape in one go, with room
         * for the escape or closing quote that ends it. */
        const unsigned char *run = p;
        p = plain_run(p);
        size_t n = (size_t)(p - run);
        if (!reserve(s, n + 6))
            return;
        char *o = s->buf + s->len;
        memcpy(o, run, n);
        o += n;
        if (!*p) {
            *o++ = '"';
            s->len = (size_t)(o - s->buf);
            return;
        }
        char e = 0;
        switch (*p) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '\b': e = 'b'; break;
        case '\f': e = 'f'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\t': e = 't'; break;
        }
        *o++ = '\\';
        if (e) {
            *o++ = e;
        } else {
            static const char hex[] = "0123456789abcdef";
            memcpy(o, "u00", 3);
            o[3] = hex[*p >> 4];
            o[4] = hex[*p & 15];
            o += 5;
        }
        s->len = (size_t)(o - s->buf);
        p++;
    }
}

static void put_value(sink_t *s, const cJSON *v)
{
    if (v == s->known) {
        put(s, s->known_text, s->known_len);
        return;
    }
    switch (v->type & 0xff) {
    case cJSON_False: put(s, "false", 5); break;
    case cJSON_True: put(s, "true", 4); break;
    case cJSON_Number: put_number(s, v->valuedouble); break;
    case cJSON_String: put_string(s, v->valuestring); break;
    case cJSON_Raw: put(s, v->valuestring, strlen(v->valuestring)); break;
    case cJSON_Array:
        put_char(s, '[');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                put_char(s, ',');
            put_value(s, c);
        }
        put_char(s, ']');
        break;
    case cJSON_Object:
        put_char(s, '{');
        for (const cJSON *c = v->child; c; c = c->next) {
            if (c != v->child)
                put_char(s, ',');
            put_string(s, c->string);
            put_char(s, ':');
            put_value(s, c);
        }
        put_char(s, '}');
        break;
    default:
        put(s, "null", 4);
    }
}

/* ---- sizes without printing ---------------------------------------------- */

/* Bytes of the escaped JSON string: 2 quotes, 2 per short escape, 6 per \u00XX. */
static size_t string_size(const char *str)
{
    const unsigned char *p = (const unsigned char *)(str ? str : "");
    size_t n = 2;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run(p);
        n += (size_t)(p - run);
        if (!*p)
            return n;
        switch (*p) {
        case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
            n += 2;
            break;
        default:
            n += 6;
        }
        p++;
    }
}

static size_t number_size(double d)
{
    char tmp[40];
    size_t n;
    if (!isfinite(d))
        return 4;
    if (d == floor(d) && fabs(d) < 1e17) {
        uint64_t u = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
        n = d < 0 ? 2 : 1;
        while (u >= 10) {
            u /= 10;
            n++;
        }
        return n;
    }
    format_number(d, tmp, &n);
    return n;
}

/* What put_value would write after `n` bytes: the new total, or something
 * above `limit` (not exact) once past it. */
static size_t value_size(const cJSON *v, size_t n, size_t limit)
{
    if (n > limit)
        return n;
    switch (v->type & 0xff) {
    case cJSON_False: return n + 5;
    case cJSON_True: return n + 4;
    case cJSON_Number: return n + number_size(v->valuedouble);
    case cJSON_String: return n + string_size(v->valuestring);
    case cJSON_Raw: return n + strlen(v->valuestring);
    case cJSON_Array:
        n += 2;
        for (const cJSON *c = v->child; c && n <= limit; c = c->next)
            n = value_size(c, n + (c != v->child), limit);
        return n;
    case cJSON_Object:
        n += 2;
        for (const cJSON *c = v->child; c && n <= limit; c = c->next)
            n = value_size(c, n + (c != v->child) + string_size(c->string) + 1, limit);
        return n;
    default:
        return n + 4;
    }
}

size_t asl_json_size(const cJSON *v, size_t limit)
{
    return v ? value_size(v, 0, limit) : 0;
}

char *asl_json_print_len(const cJSON *v, size_t *len)
{
    return asl_json_print_known(v, NULL, NULL, 0, len);
}

char *asl_json_print_known(const cJSON *v, const cJSON *node, const char *text, size_t text_len,
                           size_t *len)
{
    sink_t s = {.known = text ? node : NULL, .known_text = text, .known_len = text_len};
    s.buf = malloc(256);
    if (!s.buf)
        return NULL;
    s.cap = 256;
    if (v)
        put_value(&s, v);
    else
        put(&s, "null", 4);
    if (s.oom) {
        free(s.buf);
        return NULL;
    }
    s.buf[s.len] = '\0';
    if (len)
        *len = s.len;
    return s.buf;
}

char *asl_json_print(const cJSON *v)
{
    return asl_json_print_len(v, NULL);
}

cJSON *asl_json_raw(char *text)
{
    cJSON *raw = text ? cJSON_CreateRaw("") : NULL;
    if (!raw) {
        free(text);
        return NULL;
    }
    cJSON_free(raw->valuestring);
    raw->valuestring = text;
    return raw;
}

int asl_json_check_size(size_t size, const char *what, asl_error_t *err)
{
    if (size > ASL_PAYLOAD_LIMIT)
        return asl_error_set(err, ASL_E_DATA_LIMIT,
                             "The %s has a size exceeding the maximum of %d bytes",
                             what ? what : "payload", ASL_PAYLOAD_LIMIT);
    return 0;
}

int asl_json_check_limit(const cJSON *v, const char *what, asl_error_t *err)
{
    return asl_json_check_size(asl_json_size(v, ASL_PAYLOAD_LIMIT), what, err);
}

bool asl_json_is_integer(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return false;
    if (out)
        *out = (int64_t)d;
    return true;
}

cJSON *asl_json_parse(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!v)
        return NULL;
    const char *stop = text + len;
    for (; end && end < stop; end++) {
        if (*end == '\0' && end + 1 == stop)
            break;
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
            cJSON_Delete(v);
            return NULL;
        }
    }
    return v;
}

/* ---- timestamps ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool asl_timestamp_parse(const char *s, asl_timestamp_t *out)
{
    int y, mo, d, h, mi, se;
    if (!s || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return false;
    const char *p = s + 19;
    int32_t nsec = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        int32_t scale = 100000000;
        while (*p >= '0' && *p <= '9') {
            if (n < 9) {
                nsec += (int32_t)(*p - '0') * scale;
                scale /= 10;
            }
            n++;
            p++;
        }
        if (n == 0)
            return false;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                   h * 3600 + mi * 60 + se - off;
    if (out) {
        out->sec = secs;
        out->nsec = nsec;
    }
    return true;
}

int asl_timestamp_cmp(const asl_timestamp_t *a, const asl_timestamp_t *b)
{
    if (a->sec != b->sec)
        return a->sec < b->sec ? -1 : 1;
    if (a->nsec != b->nsec)
        return a->nsec < b->nsec ? -1 : 1;
    return 0;
}

int64_t asl_timestamp_to_ms(const asl_timestamp_t *t)
{
    return t->sec * 1000 + t->nsec / 1000000;
}
