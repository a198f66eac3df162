/* Intrinsic functions: a small recursive-descent compiler from
 * "States.Name(args)" text to a call tree, and the 18 functions of the AWS
 * docs evaluated over cJSON values. Crypto and Base64 come from nettle. */
#include "asl/intrinsic.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "asl/path.h"

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

static const struct {
    const char *name;
    int min, max;  /* max -1: unbounded */
} FUNCS[] = {
    [F_FORMAT] = {"States.Format", 1, -1},
    [F_STRING_TO_JSON] = {"States.StringToJson", 1, 1},
    [F_JSON_TO_STRING] = {"States.JsonToString", 1, 1},
    [F_ARRAY] = {"States.Array", 0, -1},
    [F_ARRAY_PARTITION] = {"States.ArrayPartition", 2, 2},
    [F_ARRAY_CONTAINS] = {"States.ArrayContains", 2, 2},
    [F_ARRAY_RANGE] = {"States.ArrayRange", 3, 3},
    [F_ARRAY_GET_ITEM] = {"States.ArrayGetItem", 2, 2},
    [F_ARRAY_LENGTH] = {"States.ArrayLength", 1, 1},
    [F_ARRAY_UNIQUE] = {"States.ArrayUnique", 1, 1},
    [F_BASE64_ENCODE] = {"States.Base64Encode", 1, 1},
    [F_BASE64_DECODE] = {"States.Base64Decode", 1, 1},
    [F_HASH] = {"States.Hash", 2, 2},
    [F_JSON_MERGE] = {"States.JsonMerge", 3, 3},
    [F_MATH_RANDOM] = {"States.MathRandom", 2, 3},
    [F_MATH_ADD] = {"States.MathAdd", 2, 2},
    [F_STRING_SPLIT] = {"States.StringSplit", 2, 2},
    [F_UUID] = {"States.UUID", 0, 0},
};
#define NFUNCS (sizeof FUNCS / sizeof FUNCS[0])

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

static void node_free(node_t *n)
{
    if (!n)
        return;
    cJSON_Delete(n->lit);
    free(n->holes);
    asl_path_free(n->path);
    for (size_t i = 0; i < n->nargs; i++)
        node_free(n->args[i]);
    free(n->args);
    free(n);
}

void asl_intrinsic_free(asl_intrinsic_t *f)
{
    if (!f)
        return;
    node_free(f->root);
    free(f);
}

/* ---- compiling ----------------------------------------------------------- */

typedef struct parser_s {
    const char *s;
    size_t pos;
    char *msg;
    size_t msglen;
    bool failed;
} parser_t;

static void fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    if (!ps->msg || !ps->msglen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->msg, ps->msglen, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser_t *ps)
{
    while (ps->s[ps->pos] == ' ' || ps->s[ps->pos] == '\t' || ps->s[ps->pos] == '\n' ||
           ps->s[ps->pos] == '\r')
        ps->pos++;
}

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool asl_intrinsic_is_call(const char *text)
{
    if (!text)
        return false;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    if (strncmp(text, "States.", 7) != 0)
        return false;
    text += 7;
    if (!ident_char(*text))
        return false;
    while (ident_char(*text))
        text++;
    while (*text == ' ' || *text == '\t')
        text++;
    return *text == '(';
}

static node_t *new_node(parser_t *ps, arg_kind_t kind)
{
    node_t *n = calloc(1, sizeof *n);
    if (!n)
        fail(ps, "out of memory");
    else
        n->kind = kind;
    return n;
}

static node_t *parse_call(parser_t *ps, int depth);

/* 'string' with the intrinsic escapes \' \{ \} \\ ; records where the
 * unescaped "{}" placeholders are for States.Format. */
static node_t *parse_string(parser_t *ps)
{
    node_t *n = new_node(ps, ARG_LIT);
    if (!n)
        return NULL;
    size_t start = ++ps->pos, cap = 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fail(ps, "out of memory");
        node_free(n);
        return NULL;
    }
    for (;;) {
        char c = ps->s[ps->pos];
        bool escaped = false;
        if (c == '\0') {
            fail(ps, "unterminated string starting at position %zu", start - 1);
            goto bad;
        }
        ps->pos++;
        if (c == '\'')
            break;
        if (c == '\\') {
            char e = ps->s[ps->pos];
            if (e != '\'' && e != '{' && e != '}' && e != '\\') {
                fail(ps, "invalid escape '\\%c' at position %zu (only \\' \\{ \\} \\\\ are allowed)",
                     e ? e : ' ', ps->pos - 1);
                goto bad;
            }
            ps->pos++;
            c = e;
            escaped = true;
        }
        if (!escaped && c == '{' && ps->s[ps->pos] == '}') {
            size_t *h = realloc(n->holes, (n->nholes + 1) * sizeof *h);
            if (!h) {
                fail(ps, "out of memory");
                goto bad;
            }
            n->holes = h;
            n->holes[n->nholes++] = len;
        }
        if (len + 2 > cap) {
            cap *= 2;
            char *b = realloc(buf, cap);
            if (!b) {
                fail(ps, "out of memory");
                goto bad;
            }
            buf = b;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    n->lit = cJSON_CreateString(buf);
    free(buf);
    if (!n->lit) {
        fail(ps, "out of memory");
        node_free(n);
        return NULL;
    }
    return n;
bad:
    free(buf);
    node_free(n);
    return NULL;
}

/* A JSONPath argument runs to the next ',' or ')' (or blank) outside
 * brackets, parentheses and quotes. */
static node_t *parse_path_arg(parser_t *ps)
{
    size_t start = ps->pos;
    int depth = 0;
    char quote = 0;
    for (;; ps->pos++) {
        char c = ps->s[ps->pos];
        if (c == '\0')
            break;
        if (quote) {
            if (c == '\\' && ps->s[ps->pos + 1])
                ps->pos++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '\'' || c == '"')
            quote = c;
        else if (c == '[' || c == '(')
            depth++;
        else if ((c == ']' || c == ')') && depth > 0)
            depth--;
        else if (depth == 0 && (c == ',' || c == ')' || c == ' ' || c == '\t'))
            break;
    }
    char *text = strndup(ps->s + start, ps->pos - start);
    if (!text) {
        fail(ps, "out of memory");
        return NULL;
    }
    node_t *n = new_node(ps, ARG_PATH);
    char pmsg[ASL_PATH_MSG_MAX];
    if (n && asl_path_compile(text, 0, &n->path, pmsg, sizeof pmsg) < 0) {
        fail(ps, "%s", pmsg);
        node_free(n);
        n = NULL;
    }
    free(text);
    return n;
}

static node_t *parse_arg(parser_t *ps, int depth)
{
    skip_ws(ps);
    const char *p = ps->s + ps->pos;
    if (*p == '\'')
        return parse_string(ps);
    if (*p == '$')
        return parse_path_arg(ps);
    if (strncmp(p, "States.", 7) == 0)
        return parse_call(ps, depth + 1);
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        /* JSON number syntax */
        const char *q = p;
        if (*q == '-')
            q++;
        if (!(*q >= '0' && *q <= '9')) {
            fail(ps, "bad number at position %zu", ps->pos);
            return NULL;
        }
        if (*q == '0')
            q++;
        else
            while (*q >= '0' && *q <= '9')
                q++;
        if (*q == '.') {
            q++;
            if (!(*q >= '0' && *q <= '9')) {
                fail(ps, "bad number at position %zu", ps->pos);
                return NULL;
            }
            while (*q >= '0' && *q <= '9')
                q++;
        }
        if (*q == 'e' || *q == 'E') {
            q++;
            if (*q == '+' || *q == '-')
                q++;
            if (!(*q >= '0' && *q <= '9')) {
                fail(ps, "bad number at position %zu", ps->pos);
                return NULL;
            }
            while (*q >= '0' && *q <= '9')
                q++;
        }
        double d = strtod(p, NULL);
        if (!isfinite(d)) {
            fail(ps, "number out of range at position %zu", ps->pos);
            return NULL;
        }
        node_t *n = new_node(ps, ARG_LIT);
        if (!n)
            return NULL;
        n->lit = cJSON_CreateNumber(d);
        ps->pos += (size_t)(q - p);
        if (!n->lit) {
            fail(ps, "out of memory");
            node_free(n);
            return NULL;
        }
        return n;
    }
    static const char *words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(p, words[i], len) == 0 && !ident_char(p[len])) {
            node_t *n = new_node(ps, ARG_LIT);
            if (!n)
                return NULL;
            n->lit = i == 0 ? cJSON_CreateTrue() : i == 1 ? cJSON_CreateFalse() : cJSON_CreateNull();
            ps->pos += len;
            if (!n->lit) {
                fail(ps, "out of memory");
                node_free(n);
                return NULL;
            }
            return n;
        }
    }
    if (*p == '\0' || *p == ')' || *p == ',')
        fail(ps, "missing argument at position %zu", ps->pos);
    else
        fail(ps, "unexpected '%c' at position %zu (strings take 'single quotes')", *p, ps->pos);
    return NULL;
}

static node_t *parse_call(parser_t *ps, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(ps, "intrinsic functions nest at most %d deep", MAX_DEPTH);
        return NULL;
    }
    skip_ws(ps);
    size_t start = ps->pos;
    if (strncmp(ps->s + ps->pos, "States.", 7) != 0) {
        fail(ps, "expected an intrinsic function 'States.Name(...)' at position %zu", ps->pos);
        return NULL;
    }
    ps->pos += 7;
    while (ident_char(ps->s[ps->pos]))
        ps->pos++;
    size_t nlen = ps->pos - start;
    int fn = -1;
    for (size_t i = 0; i < NFUNCS; i++)
        if (strlen(FUNCS[i].name) == nlen && strncmp(FUNCS[i].name, ps->s + start, nlen) == 0)
            fn = (int)i;
    if (fn < 0) {
        fail(ps, "unknown intrinsic function '%.*s'", (int)(nlen > 60 ? 60 : nlen), ps->s + start);
        return NULL;
    }
    skip_ws(ps);
    if (ps->s[ps->pos] != '(') {
        fail(ps, "expected '(' after %s", FUNCS[fn].name);
        return NULL;
    }
    ps->pos++;
    node_t *n = new_node(ps, ARG_CALL);
    if (!n)
        return NULL;
    n->fn = (fn_t)fn;
    skip_ws(ps);
    if (ps->s[ps->pos] == ')') {
        ps->pos++;
    } else {
        for (;;) {
            node_t *a = parse_arg(ps, depth);
            if (!a)
                goto bad;
            node_t **args = realloc(n->args, (n->nargs + 1) * sizeof *args);
            if (!args) {
                node_free(a);
                fail(ps, "out of memory");
                goto bad;
            }
            n->args = args;
            n->args[n->nargs++] = a;
            skip_ws(ps);
            char c = ps->s[ps->pos];
            if (c == ',') {
                ps->pos++;
                continue;
            }
            if (c == ')') {
                ps->pos++;
                break;
            }
            if (c == '\0')
                fail(ps, "missing ')' closing %s", FUNCS[fn].name);
            else
                fail(ps, "unexpected '%c' at position %zu in %s", c, ps->pos, FUNCS[fn].name);
            goto bad;
        }
    }
    int min = FUNCS[fn].min, max = FUNCS[fn].max;
    if ((int)n->nargs < min || (max >= 0 && (int)n->nargs > max)) {
        if (min == max)
            fail(ps, "%s takes %d argument%s, got %zu", FUNCS[fn].name, min, min == 1 ? "" : "s",
                 n->nargs);
        else if (max < 0)
            fail(ps, "%s takes at least %d argument%s, got %zu", FUNCS[fn].name, min,
                 min == 1 ? "" : "s", n->nargs);
        else
            fail(ps, "%s takes %d to %d arguments, got %zu", FUNCS[fn].name, min, max, n->nargs);
        goto bad;
    }
    /* A literal template lets us check the placeholder count now. */
    if (n->fn == F_FORMAT && n->args[0]->kind == ARG_LIT) {
        const node_t *t = n->args[0];
        if (!cJSON_IsString(t->lit)) {
            fail(ps, "States.Format: the first argument must be a string");
            goto bad;
        }
        if (t->nholes != n->nargs - 1) {
            fail(ps, "States.Format: the template has %zu '{}' but %zu value%s follow%s",
                 t->nholes, n->nargs - 1, n->nargs == 2 ? "" : "s", n->nargs == 2 ? "s" : "");
            goto bad;
        }
    }
    return n;
bad:
    node_free(n);
    return NULL;
}

int asl_intrinsic_compile(const char *text, asl_intrinsic_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    if (msg && msglen)
        msg[0] = '\0';
    parser_t ps = {.s = text ? text : "", .msg = msg, .msglen = msglen};
    node_t *root = parse_call(&ps, 1);
    if (root) {
        skip_ws(&ps);
        if (ps.s[ps.pos] != '\0') {
            fail(&ps, "unexpected text after the call at position %zu", ps.pos);
            node_free(root);
            root = NULL;
        }
    }
    if (!root)
        return -1;
    asl_intrinsic_t *f = malloc(sizeof *f);
    if (!f) {
        node_free(root);
        if (msg && msglen)
            snprintf(msg, msglen, "out of memory");
        return -1;
    }
    f->root = root;
    *out = f;
    return 0;
}

/* ---- evaluating ---------------------------------------------------------- */

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

static cJSON *call(eval_t *ev, const node_t *n);

static int fn_fail(eval_t *ev, fn_t fn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fn_fail(eval_t *ev, fn_t fn, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return asl_error_set(ev->err, ASL_E_INTRINSIC_FAILURE, "Invalid arguments in %s: %s",
                         FUNCS[fn].name, detail);
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
        out->owned = call(ev, a);
        out->v = out->owned;
        return out->owned ? 0 : -1;
    }
    return -1;
}

static const char *type_name(const cJSON *v)
{
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

/* Java's Math.round, which AWS applies to non-integral numbers. */
static bool round_int(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    double r = floor(v->valuedouble + 0.5);
    if (fabs(r) > 9007199254740992.0)
        return false;
    *out = (int64_t)r;
    return true;
}

static bool exact_int(const cJSON *v, int64_t *out)
{
    return asl_json_is_integer(v, out);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static bool utf8_valid(const unsigned char *s, size_t len)
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
typedef struct sbuf_s {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
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
static void render(sbuf_t *b, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        sb_put(b, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsArray(v)) {
        sb_put(b, "[", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            render(b, c);
            if (c->next)
                sb_put(b, ", ", 2);
        }
        sb_put(b, "]", 1);
    } else if (cJSON_IsObject(v)) {
        sb_put(b, "{", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            sb_put(b, c->string, strlen(c->string));
            sb_put(b, "=", 1);
            render(b, c);
            if (c->next)
                sb_put(b, ", ", 2);
        }
        sb_put(b, "}", 1);
    } else {
        char *t = asl_json_print(v);
        if (!t) {
            b->oom = true;
            return;
        }
        sb_put(b, t, strlen(t));
        free(t);
    }
}

static cJSON *oom(eval_t *ev, fn_t fn)
{
    asl_error_set(ev->err, ASL_E_INTRINSIC_FAILURE, "%s: out of memory", FUNCS[fn].name);
    return NULL;
}

static cJSON *do_format(eval_t *ev, const node_t *n, val_t *a, size_t na)
{
    if (!cJSON_IsString(a[0].v)) {
        fn_fail(ev, F_FORMAT, "the first argument must be a string, got %s", type_name(a[0].v));
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
            return oom(ev, F_FORMAT);
        for (size_t i = 0; i + 1 < tlen; i++)
            if (t[i] == '{' && t[i + 1] == '}')
                holes[nh++] = i++;
    }
    cJSON *res = NULL;
    if (nh != na - 1) {
        fn_fail(ev, F_FORMAT, "the template has %zu '{}' but %zu value%s follow%s", nh, na - 1,
                na == 2 ? "" : "s", na == 2 ? "s" : "");
        goto out;
    }
    sbuf_t b = {0};
    size_t at = 0;
    for (size_t i = 0; i < nh; i++) {
        sb_put(&b, t + at, holes[i] - at);
        render(&b, a[i + 1].v);
        at = holes[i] + 2;
    }
    sb_put(&b, t + at, tlen - at);
    if (b.oom) {
        free(b.p);
        oom(ev, F_FORMAT);
        goto out;
    }
    res = cJSON_CreateString(b.p ? b.p : "");
    free(b.p);
    if (!res)
        oom(ev, F_FORMAT);
out:
    if (tn->kind != ARG_LIT)
        free(holes);
    return res;
}

static cJSON *dup_or_oom(eval_t *ev, fn_t fn, const cJSON *v)
{
    cJSON *c = cJSON_Duplicate(v, 1);
    return c ? c : oom(ev, fn);
}

static bool need_array(eval_t *ev, fn_t fn, const cJSON *v, const char *which)
{
    if (cJSON_IsArray(v))
        return true;
    fn_fail(ev, fn, "the %s argument must be an array, got %s", which, type_name(v));
    return false;
}

static bool need_string(eval_t *ev, fn_t fn, const cJSON *v, const char *which)
{
    if (cJSON_IsString(v))
        return true;
    fn_fail(ev, fn, "the %s argument must be a string, got %s", which, type_name(v));
    return false;
}

static bool need_int(eval_t *ev, fn_t fn, const cJSON *v, const char *which, int64_t *out)
{
    if (exact_int(v, out))
        return true;
    fn_fail(ev, fn, "the %s argument must be an integer, got %s", which,
            cJSON_IsNumber(v) ? "a non-integral number" : type_name(v));
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

static cJSON *do_hash(eval_t *ev, const cJSON *data, const cJSON *alg)
{
    if (!need_string(ev, F_HASH, data, "first") || !need_string(ev, F_HASH, alg, "second"))
        return NULL;
    const char *s = data->valuestring;
    size_t len = strlen(s);
    if (utf8_chars(s) > MAX_CHARS) {
        fn_fail(ev, F_HASH, "the input is longer than %d characters", MAX_CHARS);
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
        fn_fail(ev, F_HASH, "unknown algorithm '%.40s' (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)",
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
    return r ? r : oom(ev, F_HASH);
}

static cJSON *do_b64encode(eval_t *ev, const cJSON *v)
{
    if (!need_string(ev, F_BASE64_ENCODE, v, "first"))
        return NULL;
    const char *s = v->valuestring;
    if (utf8_chars(s) > MAX_CHARS) {
        fn_fail(ev, F_BASE64_ENCODE, "the input is longer than %d characters", MAX_CHARS);
        return NULL;
    }
    size_t len = strlen(s);
    char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return oom(ev, F_BASE64_ENCODE);
    base64_encode_raw(out, len, (const uint8_t *)s);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
    cJSON *r = cJSON_CreateString(out);
    free(out);
    return r ? r : oom(ev, F_BASE64_ENCODE);
}

static cJSON *do_b64decode(eval_t *ev, const cJSON *v)
{
    if (!need_string(ev, F_BASE64_DECODE, v, "first"))
        return NULL;
    const char *s = v->valuestring;
    size_t len = strlen(s);
    if (len > MAX_CHARS) {
        fn_fail(ev, F_BASE64_DECODE, "the input is longer than %d characters", MAX_CHARS);
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
        return oom(ev, F_BASE64_DECODE);
    struct base64_decode_ctx c;
    size_t n = 0;
    base64_decode_init(&c);
    if (bad || !base64_decode_update(&c, &n, out, len, s) || !base64_decode_final(&c)) {
        free(out);
        fn_fail(ev, F_BASE64_DECODE, "the input is not valid Base64");
        return NULL;
    }
    if (!utf8_valid(out, n)) {
        free(out);
        fn_fail(ev, F_BASE64_DECODE, "the decoded data is not UTF-8 text");
        return NULL;
    }
    out[n] = '\0';
    cJSON *r = cJSON_CreateString((const char *)out);
    free(out);
    return r ? r : oom(ev, F_BASE64_DECODE);
}

static cJSON *do_split(eval_t *ev, const cJSON *str, const cJSON *del)
{
    if (!need_string(ev, F_STRING_SPLIT, str, "first") ||
        !need_string(ev, F_STRING_SPLIT, del, "second"))
        return NULL;
    const char *s = str->valuestring, *d = del->valuestring;
    size_t dlen = strlen(d);
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return oom(ev, F_STRING_SPLIT);
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
                    return oom(ev, F_STRING_SPLIT);
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
            return oom(ev, F_STRING_SPLIT);
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
                  FUNCS[fn].name);
    return false;
}

static cJSON *do_random(eval_t *ev, val_t *a, size_t na)
{
    int64_t lo, hi, seed = 0;
    if (!round_int(a[0].v, &lo) || !round_int(a[1].v, &hi)) {
        fn_fail(ev, F_MATH_RANDOM, "the start and end must be numbers");
        return NULL;
    }
    if (na == 3 && !round_int(a[2].v, &seed)) {
        fn_fail(ev, F_MATH_RANDOM, "the seed must be a number");
        return NULL;
    }
    if (lo >= hi) {
        fn_fail(ev, F_MATH_RANDOM, "the start (%lld) must be less than the end (%lld)",
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
    return c ? c : oom(ev, F_MATH_RANDOM);
}

static cJSON *do_uuid(eval_t *ev)
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
    return c ? c : oom(ev, F_UUID);
}

static cJSON *apply(eval_t *ev, const node_t *n, val_t *a, size_t na)
{
    fn_t fn = n->fn;
    int64_t i1, i2, i3;
    switch (fn) {
    case F_FORMAT:
        return do_format(ev, n, a, na);
    case F_STRING_TO_JSON: {
        if (!need_string(ev, fn, a[0].v, "first"))
            return NULL;
        const char *s = a[0].v->valuestring;
        cJSON *r = asl_json_parse(s, strlen(s));
        if (!r)
            fn_fail(ev, fn, "the string is not valid JSON");
        return r;
    }
    case F_JSON_TO_STRING: {
        char *t = asl_json_print(a[0].v);
        cJSON *r = t ? cJSON_CreateString(t) : NULL;
        free(t);
        return r ? r : oom(ev, fn);
    }
    case F_ARRAY: {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; arr && i < na; i++) {
            cJSON *c = a[i].owned ? a[i].owned : cJSON_Duplicate(a[i].v, 1);
            if (!c) {
                cJSON_Delete(arr);
                return oom(ev, fn);
            }
            a[i].owned = NULL;
            cJSON_AddItemToArray(arr, c);
        }
        return arr ? arr : oom(ev, fn);
    }
    case F_ARRAY_PARTITION: {
        if (!need_array(ev, fn, a[0].v, "first") || !need_int(ev, fn, a[1].v, "second", &i1))
            return NULL;
        if (i1 <= 0) {
            fn_fail(ev, fn, "the chunk size must be a positive integer, got %lld", (long long)i1);
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
            return oom(ev, fn);
        }
        return arr;
    }
    case F_ARRAY_CONTAINS: {
        if (!need_array(ev, fn, a[0].v, "first"))
            return NULL;
        bool found = false;
        for (const cJSON *c = a[0].v->child; c && !found; c = c->next)
            found = asl_json_equal(c, a[1].v);
        cJSON *r = cJSON_CreateBool(found);
        return r ? r : oom(ev, fn);
    }
    case F_ARRAY_RANGE: {
        if (!need_int(ev, fn, a[0].v, "first", &i1) || !need_int(ev, fn, a[1].v, "second", &i2) ||
            !need_int(ev, fn, a[2].v, "third", &i3))
            return NULL;
        if (i3 == 0) {
            fn_fail(ev, fn, "the step must not be 0");
            return NULL;
        }
        int64_t count = 0;
        if ((i3 > 0 && i2 >= i1) || (i3 < 0 && i2 <= i1))
            count = (i2 - i1) / i3 + 1;
        if (count > MAX_RANGE) {
            fn_fail(ev, fn, "the range has %lld items, more than %d", (long long)count, MAX_RANGE);
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
        return arr ? arr : oom(ev, fn);
    }
    case F_ARRAY_GET_ITEM: {
        if (!need_array(ev, fn, a[0].v, "first") || !need_int(ev, fn, a[1].v, "second", &i1))
            return NULL;
        int64_t len = cJSON_GetArraySize(a[0].v);
        if (i1 < 0 || i1 >= len) {
            fn_fail(ev, fn, "index %lld is out of range for an array of %lld item%s",
                    (long long)i1, (long long)len, len == 1 ? "" : "s");
            return NULL;
        }
        return dup_or_oom(ev, fn, cJSON_GetArrayItem(a[0].v, (int)i1));
    }
    case F_ARRAY_LENGTH: {
        if (!need_array(ev, fn, a[0].v, "first"))
            return NULL;
        cJSON *r = cJSON_CreateNumber(cJSON_GetArraySize(a[0].v));
        return r ? r : oom(ev, fn);
    }
    case F_ARRAY_UNIQUE: {
        if (!need_array(ev, fn, a[0].v, "first"))
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
        return arr ? arr : oom(ev, fn);
    }
    case F_BASE64_ENCODE:
        return do_b64encode(ev, a[0].v);
    case F_BASE64_DECODE:
        return do_b64decode(ev, a[0].v);
    case F_HASH:
        return do_hash(ev, a[0].v, a[1].v);
    case F_JSON_MERGE: {
        if (!cJSON_IsObject(a[0].v) || !cJSON_IsObject(a[1].v)) {
            fn_fail(ev, fn, "the first two arguments must be objects, got %s and %s",
                    type_name(a[0].v), type_name(a[1].v));
            return NULL;
        }
        if (!cJSON_IsBool(a[2].v)) {
            fn_fail(ev, fn, "the third argument must be a boolean, got %s", type_name(a[2].v));
            return NULL;
        }
        if (cJSON_IsTrue(a[2].v)) {
            fn_fail(ev, fn, "deep merge (true) is not supported; use false");
            return NULL;
        }
        cJSON *r = a[0].owned ? a[0].owned : cJSON_Duplicate(a[0].v, 1);
        if (!r)
            return oom(ev, fn);
        a[0].owned = NULL;
        for (const cJSON *c = a[1].v->child; c; c = c->next) {
            cJSON *d = cJSON_Duplicate(c, 1);
            if (!d) {
                cJSON_Delete(r);
                return oom(ev, fn);
            }
            if (cJSON_GetObjectItemCaseSensitive(r, c->string))
                cJSON_ReplaceItemInObjectCaseSensitive(r, c->string, d);
            else
                cJSON_AddItemToObject(r, c->string, d);
        }
        return r;
    }
    case F_MATH_RANDOM:
        return do_random(ev, a, na);
    case F_MATH_ADD: {
        if (!round_int(a[0].v, &i1) || !round_int(a[1].v, &i2)) {
            fn_fail(ev, fn, "both arguments must be numbers, got %s and %s", type_name(a[0].v),
                    type_name(a[1].v));
            return NULL;
        }
        if (i1 < INT32_MIN || i1 > INT32_MAX || i2 < INT32_MIN || i2 > INT32_MAX) {
            fn_fail(ev, fn, "the arguments must be between -2147483648 and 2147483647");
            return NULL;
        }
        cJSON *r = cJSON_CreateNumber((double)(i1 + i2));
        return r ? r : oom(ev, fn);
    }
    case F_STRING_SPLIT:
        return do_split(ev, a[0].v, a[1].v);
    case F_UUID:
        return do_uuid(ev);
    }
    return NULL;
}

static cJSON *call(eval_t *ev, const node_t *n)
{
    val_t stack_args[4] = {{0}};
    val_t *a = n->nargs <= 4 ? stack_args : malloc(n->nargs * sizeof *a);
    if (!a)
        return oom(ev, n->fn);
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
    *out = call(&ev, f->root);
    return *out ? 0 : -1;
}
