/* Intrinsic functions: a small recursive-descent compiler from
 * "States.Name(args)" text to a call tree, checked against the 18 functions
 * of the AWS docs and their arities. */
#include "intrinsic_internal.h"
#include "asl/path.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

const char *asl_intrinsic_fn_name(fn_t fn)
{
    return FUNCS[fn].name;
}

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
