/* Choice rules: compile a Choices[i] object (or a nested And/Or/Not rule)
 * into a small tree with reference paths, pre-parsed literal operands and
 * StringMatches patterns; evaluate it against a state input. */
#include "asl/choice.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/path.h"

typedef enum { C_AND, C_OR, C_NOT, C_CMP } ckind_t;
typedef enum { FAM_STRING, FAM_NUMERIC, FAM_BOOLEAN, FAM_TIMESTAMP, FAM_MATCH, FAM_IS } family_t;
typedef enum { CMP_EQ, CMP_LT, CMP_GT, CMP_LE, CMP_GE } cmp_t;
typedef enum { IS_NULL, IS_PRESENT, IS_NUMERIC, IS_STRING, IS_BOOLEAN, IS_TIMESTAMP } is_t;

typedef struct opdef_s {
    const char *name;
    family_t fam;
    int sub;      /* cmp_t or is_t */
    bool path;    /* the ...Path variant */
} opdef_t;

/* Decodes the UTF-8 sequence at p (lenient: a stray byte is itself). */
static unsigned long decode_utf8(const unsigned char *p)
{
    if (p[0] < 0x80)
        return p[0];
    if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80)
        return ((p[0] & 0x1FUL) << 6) | (p[1] & 0x3F);
    if ((p[0] & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
        return ((p[0] & 0x0FUL) << 12) | ((p[1] & 0x3FUL) << 6) | (p[2] & 0x3F);
    if ((p[0] & 0xF8) == 0xF0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
        (p[3] & 0xC0) == 0x80)
        return ((p[0] & 0x07UL) << 18) | ((p[1] & 0x3FUL) << 12) | ((p[2] & 0x3FUL) << 6) |
               (p[3] & 0x3F);
    return p[0];
}

/* Strings compare as Java (and so AWS) compares them: by UTF-16 code units.
 * That is code-point (UTF-8 byte) order except that characters above U+FFFF,
 * whose first unit is a high surrogate, sort before U+E000..U+FFFF. */
static int utf16_cmp(const char *x, const char *y)
{
    const unsigned char *a = (const unsigned char *)x, *b = (const unsigned char *)y;
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    if (a[i] == b[i])
        return 0;
    while (i > 0 && (a[i] & 0xC0) == 0x80)   /* back to the character's first byte */
        i--;
    unsigned long ca = decode_utf8(a + i), cb = decode_utf8(b + i);
    unsigned long ka = ca >= 0x10000 ? 0xD800 + ((ca - 0x10000) >> 10) : ca;
    unsigned long kb = cb >= 0x10000 ? 0xD800 + ((cb - 0x10000) >> 10) : cb;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    return strcmp((const char *)a + i, (const char *)b + i);
}

static const opdef_t OPS[] = {
    {"StringEquals", FAM_STRING, CMP_EQ, false},
    {"StringEqualsPath", FAM_STRING, CMP_EQ, true},
    {"StringLessThan", FAM_STRING, CMP_LT, false},
    {"StringLessThanPath", FAM_STRING, CMP_LT, true},
    {"StringGreaterThan", FAM_STRING, CMP_GT, false},
    {"StringGreaterThanPath", FAM_STRING, CMP_GT, true},
    {"StringLessThanEquals", FAM_STRING, CMP_LE, false},
    {"StringLessThanEqualsPath", FAM_STRING, CMP_LE, true},
    {"StringGreaterThanEquals", FAM_STRING, CMP_GE, false},
    {"StringGreaterThanEqualsPath", FAM_STRING, CMP_GE, true},
    {"StringMatches", FAM_MATCH, CMP_EQ, false},
    {"NumericEquals", FAM_NUMERIC, CMP_EQ, false},
    {"NumericEqualsPath", FAM_NUMERIC, CMP_EQ, true},
    {"NumericLessThan", FAM_NUMERIC, CMP_LT, false},
    {"NumericLessThanPath", FAM_NUMERIC, CMP_LT, true},
    {"NumericGreaterThan", FAM_NUMERIC, CMP_GT, false},
    {"NumericGreaterThanPath", FAM_NUMERIC, CMP_GT, true},
    {"NumericLessThanEquals", FAM_NUMERIC, CMP_LE, false},
    {"NumericLessThanEqualsPath", FAM_NUMERIC, CMP_LE, true},
    {"NumericGreaterThanEquals", FAM_NUMERIC, CMP_GE, false},
    {"NumericGreaterThanEqualsPath", FAM_NUMERIC, CMP_GE, true},
    {"BooleanEquals", FAM_BOOLEAN, CMP_EQ, false},
    {"BooleanEqualsPath", FAM_BOOLEAN, CMP_EQ, true},
    {"TimestampEquals", FAM_TIMESTAMP, CMP_EQ, false},
    {"TimestampEqualsPath", FAM_TIMESTAMP, CMP_EQ, true},
    {"TimestampLessThan", FAM_TIMESTAMP, CMP_LT, false},
    {"TimestampLessThanPath", FAM_TIMESTAMP, CMP_LT, true},
    {"TimestampGreaterThan", FAM_TIMESTAMP, CMP_GT, false},
    {"TimestampGreaterThanPath", FAM_TIMESTAMP, CMP_GT, true},
    {"TimestampLessThanEquals", FAM_TIMESTAMP, CMP_LE, false},
    {"TimestampLessThanEqualsPath", FAM_TIMESTAMP, CMP_LE, true},
    {"TimestampGreaterThanEquals", FAM_TIMESTAMP, CMP_GE, false},
    {"TimestampGreaterThanEqualsPath", FAM_TIMESTAMP, CMP_GE, true},
    {"IsNull", FAM_IS, IS_NULL, false},
    {"IsPresent", FAM_IS, IS_PRESENT, false},
    {"IsNumeric", FAM_IS, IS_NUMERIC, false},
    {"IsString", FAM_IS, IS_STRING, false},
    {"IsBoolean", FAM_IS, IS_BOOLEAN, false},
    {"IsTimestamp", FAM_IS, IS_TIMESTAMP, false},
};
#define NOPS (sizeof OPS / sizeof OPS[0])

struct asl_choice_s {
    ckind_t kind;
    char *next;
    asl_choice_t **kids;
    size_t nkids;
    /* C_CMP */
    const opdef_t *op;
    asl_path_t *var;
    asl_path_t *rhs_path;
    cJSON *rhs;              /* literal operand (a copy) */
    asl_timestamp_t ts;      /* literal Timestamp* operand */
    char *pat;               /* StringMatches: pattern bytes ... */
    bool *star;              /* ... and which of them are wildcards */
    size_t patlen;
};

void asl_choice_free(asl_choice_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkids; i++)
        asl_choice_free(c->kids[i]);
    free(c->kids);
    free(c->next);
    asl_path_free(c->var);
    asl_path_free(c->rhs_path);
    cJSON_Delete(c->rhs);
    free(c->pat);
    free(c->star);
    free(c);
}

const char *asl_choice_next(const asl_choice_t *c)
{
    return c->next;
}

/* ---- compiling ----------------------------------------------------------- */

typedef struct comp_s {
    const char *state;
    asl_problems_t *probs;
    bool bad;
} comp_t;

static void problem(comp_t *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(comp_t *c, const char *field, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    asl_problems_add(c->probs, c->state, field, "%s", msg);
    c->bad = true;
}

static char *sub_field(const char *field, const char *name)
{
    size_t n = strlen(field) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", field, *field && name[0] != '[' ? "." : "", name);
    return s;
}

static const opdef_t *find_op(const char *name)
{
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(OPS[i].name, name) == 0)
            return &OPS[i];
    return NULL;
}

/* '*' is a wildcard; "\*" a literal star and "\\" a literal backslash; a
 * backslash before anything else stays a literal backslash. */
static bool compile_pattern(asl_choice_t *r, const char *s)
{
    size_t n = strlen(s);
    r->pat = malloc(n + 1);
    r->star = malloc((n + 1) * sizeof *r->star);
    if (!r->pat || !r->star)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && (s[i + 1] == '*' || s[i + 1] == '\\')) {
            r->pat[k] = s[++i];
            r->star[k++] = false;
        } else if (s[i] == '*') {
            if (k > 0 && r->star[k - 1])
                continue;  /* "**" is one wildcard */
            r->pat[k] = '*';
            r->star[k++] = true;
        } else {
            r->pat[k] = s[i];
            r->star[k++] = false;
        }
    }
    r->patlen = k;
    return true;
}

static asl_choice_t *compile_rule(comp_t *c, const cJSON *rule, bool top, const char *field);

static void compile_list(comp_t *c, asl_choice_t *r, const cJSON *v, const char *name,
                         const char *field)
{
    char *f = sub_field(field, name);
    if (!f) {
        problem(c, field, "out of memory");
        return;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
        problem(c, f, "%s must be a non-empty array of Choice Rules", name);
        free(f);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    r->kids = calloc(n, sizeof *r->kids);
    if (!r->kids) {
        problem(c, f, "out of memory");
        free(f);
        return;
    }
    size_t i = 0;
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "[%zu]", i);
        char *fi = sub_field(f, idx);
        if (!fi) {
            problem(c, f, "out of memory");
            break;
        }
        r->kids[r->nkids] = compile_rule(c, m, false, fi);
        if (r->kids[r->nkids])
            r->nkids++;
        free(fi);
    }
    free(f);
}

static void compile_operand(comp_t *c, asl_choice_t *r, const cJSON *v, const char *f)
{
    const opdef_t *op = r->op;
    if (op->path) {
        char pm[ASL_PATH_MSG_MAX];
        if (!cJSON_IsString(v))
            problem(c, f, "%s must be a string holding a reference path", op->name);
        else if (asl_path_compile(v->valuestring, ASL_PATH_REFERENCE, &r->rhs_path, pm, sizeof pm) < 0)
            problem(c, f, "%s", pm);
        return;
    }
    bool ok;
    const char *want;
    switch (op->fam) {
    case FAM_STRING:
    case FAM_MATCH:
        ok = cJSON_IsString(v);
        want = "a string";
        break;
    case FAM_NUMERIC:
        ok = cJSON_IsNumber(v);
        want = "a number";
        break;
    case FAM_TIMESTAMP:
        ok = cJSON_IsString(v) && asl_timestamp_parse(v->valuestring, &r->ts);
        want = "an RFC 3339 timestamp string such as \"2016-03-14T01:59:00Z\"";
        break;
    default:
        ok = cJSON_IsBool(v);
        want = "true or false";
    }
    if (!ok) {
        problem(c, f, "%s must be %s", op->name, want);
        return;
    }
    r->rhs = cJSON_Duplicate(v, 1);
    if (!r->rhs || (op->fam == FAM_MATCH && !compile_pattern(r, v->valuestring)))
        problem(c, f, "out of memory");
}

static asl_choice_t *compile_rule(comp_t *c, const cJSON *rule, bool top, const char *field)
{
    if (!cJSON_IsObject(rule)) {
        problem(c, field, "a Choice Rule must be an object");
        return NULL;
    }
    asl_choice_t *r = calloc(1, sizeof *r);
    if (!r) {
        problem(c, field, "out of memory");
        return NULL;
    }
    const cJSON *var = NULL, *bool_op = NULL, *cmp_op = NULL;
    int nops = 0;
    for (const cJSON *m = rule->child; m; m = m->next) {
        const char *k = m->string;
        char *f = sub_field(field, k);
        if (!f) {
            problem(c, field, "out of memory");
            break;
        }
        if (strcmp(k, "Comment") == 0) {
            if (!cJSON_IsString(m))
                problem(c, f, "Comment must be a string");
        } else if (strcmp(k, "Next") == 0) {
            if (!top)
                problem(c, f, "Next is allowed only in top-level Choice Rules, not inside And, Or or Not");
            else if (!cJSON_IsString(m) || !m->valuestring[0])
                problem(c, f, "Next must be a non-empty string naming a state");
            else if (free(r->next), !(r->next = strdup(m->valuestring)))
                problem(c, f, "out of memory");
        } else if (strcmp(k, "Variable") == 0) {
            if (var)
                problem(c, f, "Variable appears twice");
            var = m;
            asl_path_free(r->var);
            r->var = NULL;
            char pm[ASL_PATH_MSG_MAX];
            if (!cJSON_IsString(m))
                problem(c, f, "Variable must be a string holding a reference path");
            else if (asl_path_compile(m->valuestring, ASL_PATH_REFERENCE, &r->var, pm, sizeof pm) < 0)
                problem(c, f, "%s", pm);
        } else if (strcmp(k, "And") == 0 || strcmp(k, "Or") == 0 || strcmp(k, "Not") == 0) {
            nops++;
            bool_op = m;
        } else if (find_op(k)) {
            nops++;
            cmp_op = m;
        } else {
            problem(c, f, "unknown field '%s' in a Choice Rule", k);
        }
        free(f);
    }
    if (top && !cJSON_GetObjectItemCaseSensitive(rule, "Next"))
        problem(c, field, "a top-level Choice Rule needs Next");
    if (nops == 0) {
        problem(c, field, "a Choice Rule needs a comparison operator (StringEquals, "
                          "NumericLessThan, IsPresent, ...) or And, Or, Not");
    } else if (nops > 1) {
        problem(c, field, "a Choice Rule must have exactly one operator (And, Or, Not or a "
                          "comparison), found %d", nops);
    } else if (bool_op) {
        const char *k = bool_op->string;
        if (var) {
            char *f = sub_field(field, "Variable");
            problem(c, f ? f : field, "Variable cannot be used with %s", k);
            free(f);
        }
        if (strcmp(k, "Not") == 0) {
            r->kind = C_NOT;
            char *f = sub_field(field, "Not");
            r->kids = calloc(1, sizeof *r->kids);
            if (!f || !r->kids) {
                problem(c, field, "out of memory");
            } else {
                r->kids[0] = compile_rule(c, bool_op, false, f);
                r->nkids = r->kids[0] ? 1 : 0;
            }
            free(f);
        } else {
            r->kind = strcmp(k, "And") == 0 ? C_AND : C_OR;
            compile_list(c, r, bool_op, k, field);
        }
    } else {
        r->kind = C_CMP;
        r->op = find_op(cmp_op->string);
        if (!var) {
            char *f = sub_field(field, "Variable");
            problem(c, f ? f : field, "a comparison (%s) needs Variable", r->op->name);
            free(f);
        }
        char *f = sub_field(field, cmp_op->string);
        compile_operand(c, r, cmp_op, f ? f : field);
        free(f);
    }
    return r;
}

int asl_choice_compile(const cJSON *rule, bool top_level, const char *state,
                       const char *field, asl_problems_t *probs, asl_choice_t **out)
{
    comp_t c = {.state = state, .probs = probs};
    *out = NULL;
    asl_choice_t *r = compile_rule(&c, rule, top_level, field ? field : "");
    if (c.bad || !r) {
        asl_choice_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

/* ---- evaluating ---------------------------------------------------------- */

/* Glob match with '*' only, backtracking to the last star: O(n*m) worst. */
static bool glob(const asl_choice_t *r, const char *s)
{
    size_t p = 0, star_p = (size_t)-1, star_s = 0, i = 0, n = strlen(s);
    while (i < n) {
        if (p < r->patlen && r->star[p]) {
            star_p = p++;
            star_s = i;
        } else if (p < r->patlen && r->pat[p] == s[i]) {
            p++;
            i++;
        } else if (star_p != (size_t)-1) {
            p = star_p + 1;
            i = ++star_s;
        } else {
            return false;
        }
    }
    while (p < r->patlen && r->star[p])
        p++;
    return p == r->patlen;
}

static bool cmp_result(cmp_t op, int c)
{
    switch (op) {
    case CMP_EQ: return c == 0;
    case CMP_LT: return c < 0;
    case CMP_GT: return c > 0;
    case CMP_LE: return c <= 0;
    case CMP_GE: return c >= 0;
    }
    return false;
}

static int missing(const asl_path_t *p, asl_error_t *err)
{
    return asl_error_set(err, ASL_E_RUNTIME,
                         "Invalid path '%s': The choice state's condition path references an "
                         "invalid value.", asl_path_text(p));
}

static int eval_cmp(const asl_choice_t *r, const cJSON *input, const cJSON *ctx,
                    asl_error_t *err)
{
    const opdef_t *op = r->op;
    const cJSON *v = NULL;
    asl_path_get(r->var, input, ctx, &v);
    if (op->fam == FAM_IS) {
        bool want = cJSON_IsTrue(r->rhs), got;
        /* A missing value is of no type: every Is* test is false for it. */
        if (op->sub == IS_PRESENT || !v)
            return (op->sub == IS_PRESENT && v != NULL) == want;
        switch (op->sub) {
        case IS_NULL: got = cJSON_IsNull(v); break;
        case IS_NUMERIC: got = cJSON_IsNumber(v); break;
        case IS_STRING: got = cJSON_IsString(v); break;
        case IS_BOOLEAN: got = cJSON_IsBool(v); break;
        default: got = cJSON_IsString(v) && asl_timestamp_parse(v->valuestring, NULL); break;
        }
        return got == want;
    }
    if (!v)
        return missing(r->var, err);
    const cJSON *rhs = r->rhs;
    if (op->path && asl_path_get(r->rhs_path, input, ctx, &rhs) != 1)
        return missing(r->rhs_path, err);
    switch (op->fam) {
    case FAM_STRING:
        if (!cJSON_IsString(v) || !cJSON_IsString(rhs))
            return 0;
        return cmp_result((cmp_t)op->sub, utf16_cmp(v->valuestring, rhs->valuestring));
    case FAM_MATCH:
        return cJSON_IsString(v) && glob(r, v->valuestring);
    case FAM_NUMERIC: {
        if (!cJSON_IsNumber(v) || !cJSON_IsNumber(rhs))
            return 0;
        double a = v->valuedouble, b = rhs->valuedouble;
        return cmp_result((cmp_t)op->sub, a < b ? -1 : a > b ? 1 : 0);
    }
    case FAM_BOOLEAN:
        return cJSON_IsBool(v) && cJSON_IsBool(rhs) && cJSON_IsTrue(v) == cJSON_IsTrue(rhs);
    case FAM_TIMESTAMP: {
        asl_timestamp_t a, b = r->ts;
        if (!cJSON_IsString(v) || !asl_timestamp_parse(v->valuestring, &a))
            return 0;
        if (op->path && (!cJSON_IsString(rhs) || !asl_timestamp_parse(rhs->valuestring, &b)))
            return 0;
        return cmp_result((cmp_t)op->sub, asl_timestamp_cmp(&a, &b));
    }
    default:
        return 0;
    }
}

static int eval_rule(const asl_choice_t *r, const cJSON *input, const cJSON *ctx,
                     asl_error_t *err)
{
    switch (r->kind) {
    case C_AND:
        for (size_t i = 0; i < r->nkids; i++) {
            int m = eval_rule(r->kids[i], input, ctx, err);
            if (m <= 0)
                return m;
        }
        return 1;
    case C_OR:
        for (size_t i = 0; i < r->nkids; i++) {
            int m = eval_rule(r->kids[i], input, ctx, err);
            if (m != 0)
                return m;
        }
        return 0;
    case C_NOT: {
        int m = eval_rule(r->kids[0], input, ctx, err);
        return m < 0 ? m : !m;
    }
    case C_CMP:
        return eval_cmp(r, input, ctx, err);
    }
    return 0;
}

int asl_choice_eval(const asl_choice_t *c, const cJSON *input,
                    const asl_eval_env_t *env, asl_error_t *err)
{
    return eval_rule(c, input, env ? env->context : NULL, err);
}
