/* Payload templates: a JSON value compiled into a tree whose ".$" members
 * hold compiled paths or intrinsic calls; static subtrees are kept as ready
 * literals so evaluation is a copy plus the dynamic lookups. */
#include "asl/template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/intrinsic.h"
#include "asl/path.h"

typedef enum { T_LIT, T_PATH, T_FUNC, T_OBJECT, T_ARRAY } tkind_t;

typedef struct tnode_s tnode_t;
struct tnode_s {
    tkind_t kind;
    char *key;        /* output key inside an object (".$" dropped) */
    char *src_key;    /* key as written, for messages */
    cJSON *lit;
    asl_path_t *path;
    asl_intrinsic_t *fn;
    tnode_t *kids;
    size_t nkids;
};

struct asl_template_s {
    tnode_t root;
    bool literal;
};

static void tnode_clear(tnode_t *n)
{
    free(n->key);
    free(n->src_key);
    cJSON_Delete(n->lit);
    asl_path_free(n->path);
    asl_intrinsic_free(n->fn);
    for (size_t i = 0; i < n->nkids; i++)
        tnode_clear(&n->kids[i]);
    free(n->kids);
}

void asl_template_free(asl_template_t *t)
{
    if (!t)
        return;
    tnode_clear(&t->root);
    free(t);
}

bool asl_template_is_literal(const asl_template_t *t)
{
    return t->literal;
}

typedef struct comp_s {
    const char *state;
    asl_problems_t *probs;
    bool bad;
} comp_t;

static char *join(const char *a, const char *sep, const char *b)
{
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, sep, b);
    return s;
}

static bool ends_with_dollar(const char *k)
{
    size_t n = strlen(k);
    return n >= 2 && k[n - 2] == '.' && k[n - 1] == '$';
}

static void problem(comp_t *c, const char *field, const char *msg)
{
    asl_problems_add(c->probs, c->state, field, "%s", msg);
    c->bad = true;
}

/* Compiles v into n; returns true when the subtree is dynamic. */
static bool compile_node(comp_t *c, const cJSON *v, const char *field, tnode_t *n);

static bool compile_dynamic(comp_t *c, const cJSON *v, const char *field, tnode_t *n)
{
    char msg[320];
    if (!cJSON_IsString(v)) {
        problem(c, field, "a field ending in '.$' must be a string holding a JSONPath or an "
                          "intrinsic function");
        return true;
    }
    const char *s = v->valuestring;
    if (s[0] == '$') {
        char pm[ASL_PATH_MSG_MAX];
        if (asl_path_compile(s, 0, &n->path, pm, sizeof pm) < 0)
            problem(c, field, pm);
        else
            n->kind = T_PATH;
        return true;
    }
    if (asl_intrinsic_is_call(s)) {
        char im[ASL_INTRINSIC_MSG_MAX];
        if (asl_intrinsic_compile(s, &n->fn, im, sizeof im) < 0) {
            snprintf(msg, sizeof msg, "invalid intrinsic function: %s", im);
            problem(c, field, msg);
        } else {
            n->kind = T_FUNC;
        }
        return true;
    }
    snprintf(msg, sizeof msg,
             "'%.80s' is neither a JSONPath (starting with '$') nor an intrinsic function "
             "(States.Name(...))", s);
    problem(c, field, msg);
    return true;
}

static bool compile_node(comp_t *c, const cJSON *v, const char *field, tnode_t *n)
{
    bool dynamic = false;
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool obj = cJSON_IsObject(v);
        n->kind = obj ? T_OBJECT : T_ARRAY;
        size_t count = (size_t)cJSON_GetArraySize(v);
        n->kids = count ? calloc(count, sizeof *n->kids) : NULL;
        if (count && !n->kids) {
            problem(c, field, "out of memory");
            return true;
        }
        size_t i = 0;
        for (const cJSON *m = v->child; m; m = m->next, i++) {
            tnode_t *k = &n->kids[i];
            n->nkids = i + 1;
            char *sub;
            if (obj) {
                sub = join(field, ".", m->string);
                k->src_key = strdup(m->string);
                if (ends_with_dollar(m->string)) {
                    k->key = strndup(m->string, strlen(m->string) - 2);
                    if (sub && k->key && k->src_key)
                        dynamic |= compile_dynamic(c, m, sub, k);
                } else {
                    k->key = strdup(m->string);
                    if (sub && k->key && k->src_key)
                        dynamic |= compile_node(c, m, sub, k);
                }
                if (!sub || !k->key || !k->src_key) {
                    free(sub);
                    problem(c, field, "out of memory");
                    return true;
                }
                for (size_t j = 0; j < i; j++)
                    if (strcmp(n->kids[j].key, k->key) == 0) {
                        char msg[300];
                        snprintf(msg, sizeof msg, "the fields '%.100s' and '%.100s' produce the "
                                 "same key", n->kids[j].src_key, k->src_key);
                        problem(c, sub, msg);
                        break;
                    }
            } else {
                char idx[32];
                snprintf(idx, sizeof idx, "[%zu]", i);
                sub = join(field, "", idx);
                if (!sub) {
                    problem(c, field, "out of memory");
                    return true;
                }
                dynamic |= compile_node(c, m, sub, k);
            }
            free(sub);
        }
    }
    if (!dynamic) {
        /* Static subtree: keep one ready copy; drop the per-member tree. */
        for (size_t i = 0; i < n->nkids; i++)
            tnode_clear(&n->kids[i]);
        free(n->kids);
        n->kids = NULL;
        n->nkids = 0;
        n->kind = T_LIT;
        n->lit = cJSON_Duplicate(v, 1);
        if (!n->lit)
            problem(c, field, "out of memory");
    }
    return dynamic;
}

int asl_template_compile(const cJSON *tmpl, const char *state, const char *field,
                         asl_problems_t *probs, asl_template_t **out)
{
    *out = NULL;
    asl_template_t *t = calloc(1, sizeof *t);
    comp_t c = {.state = state, .probs = probs};
    if (!t) {
        asl_problems_add(probs, state, field, "out of memory");
        return -1;
    }
    if (!tmpl) {
        t->root.kind = T_LIT;
        t->root.lit = cJSON_CreateNull();
        t->literal = true;
    } else {
        t->literal = !compile_node(&c, tmpl, field ? field : "", &t->root);
    }
    if (c.bad) {
        asl_template_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

typedef struct ev_s {
    const cJSON *input;
    const asl_eval_env_t *env;
    asl_error_t *err;
} ev_t;

static int path_missing(ev_t *e, const tnode_t *n)
{
    char *in = asl_json_print(e->input);
    int rc = asl_error_set(e->err, ASL_E_RUNTIME,
                           "The JSONPath '%s' specified for the field '%s' could not be found "
                           "in the input '%.1000s'", asl_path_text(n->path), n->src_key ? n->src_key : "",
                           in ? in : "");
    free(in);
    return rc;
}

static cJSON *eval_node(ev_t *e, const tnode_t *n)
{
    switch (n->kind) {
    case T_LIT: {
        cJSON *c = cJSON_Duplicate(n->lit, 1);
        if (!c)
            asl_error_set(e->err, ASL_E_RUNTIME, "out of memory");
        return c;
    }
    case T_PATH: {
        const cJSON *ctx = e->env ? e->env->context : NULL;
        if (asl_path_is_definite(n->path)) {
            const cJSON *v;
            if (asl_path_get(n->path, e->input, ctx, &v) != 1) {
                path_missing(e, n);
                return NULL;
            }
            cJSON *c = cJSON_Duplicate(v, 1);
            if (!c)
                asl_error_set(e->err, ASL_E_RUNTIME, "out of memory");
            return c;
        }
        cJSON *out = NULL;
        if (asl_path_eval(n->path, e->input, ctx, &out, e->err) < 0) {
            path_missing(e, n);
            return NULL;
        }
        return out;
    }
    case T_FUNC: {
        cJSON *out = NULL;
        asl_intrinsic_eval(n->fn, e->input, e->env, &out, e->err);
        return out;
    }
    case T_OBJECT:
    case T_ARRAY: {
        cJSON *c = n->kind == T_OBJECT ? cJSON_CreateObject() : cJSON_CreateArray();
        if (!c) {
            asl_error_set(e->err, ASL_E_RUNTIME, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n->nkids; i++) {
            cJSON *k = eval_node(e, &n->kids[i]);
            if (!k) {
                cJSON_Delete(c);
                return NULL;
            }
            if (n->kind == T_OBJECT)
                cJSON_AddItemToObject(c, n->kids[i].key, k);
            else
                cJSON_AddItemToArray(c, k);
        }
        return c;
    }
    }
    return NULL;
}

int asl_template_eval(const asl_template_t *t, const cJSON *input,
                      const asl_eval_env_t *env, cJSON **out, asl_error_t *err)
{
    ev_t e = {.input = input, .env = env, .err = err};
    *out = eval_node(&e, &t->root);
    return *out ? 0 : -1;
}
