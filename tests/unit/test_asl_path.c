/* Unit tests for compiled JSONPath: syntax, Jayway result rules, the
 * context object, reference paths and ResultPath writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/json.h"
#include "asl/path.h"

static const char *DOC =
    "{\"a\":{\"b\":[1,2,3],\"c\":\"x\"},\"a b\":7,\"s\":\"str\",\"n\":null,\"z\":0,"
    "\"items\":[{\"p\":5,\"name\":\"u\"},{\"p\":15,\"name\":\"v\"},{\"q\":1}],"
    "\"store\":{\"book\":[{\"price\":8,\"author\":\"A\"},{\"price\":22,\"author\":\"B\"}],"
    "\"bike\":{\"price\":19}}}";

/* Evaluates `path` on `doc` (and `ctx`), returning the compact JSON text,
 * "ERR:<Error>" or "COMPILE" when the path does not compile. Caller frees. */
static char *run(const char *path, const char *doc, const char *ctx)
{
    asl_path_t *p;
    char msg[ASL_PATH_MSG_MAX];
    if (asl_path_compile(path, 0, &p, msg, sizeof msg) < 0) {
        assert_true(msg[0] != '\0');
        return strdup("COMPILE");
    }
    cJSON *in = cJSON_Parse(doc);
    cJSON *c = ctx ? cJSON_Parse(ctx) : NULL;
    cJSON *out = NULL;
    asl_error_t err = {0};
    char *res;
    if (asl_path_eval(p, in, c, &out, &err) == 0) {
        res = asl_json_print(out);
    } else {
        size_t n = strlen(err.error) + 5;
        res = malloc(n);
        snprintf(res, n, "ERR:%s", err.error);
        assert_non_null(err.cause);
    }
    asl_error_clear(&err);
    cJSON_Delete(out);
    cJSON_Delete(in);
    cJSON_Delete(c);
    asl_path_free(p);
    return res;
}

#define EXPECT(path, want)                      \
    do {                                        \
        char *got_ = run(path, DOC, NULL);      \
        assert_string_equal(got_, want);        \
        free(got_);                             \
    } while (0)

static void test_definite(void **state)
{
    (void)state;
    EXPECT("$", "{\"a\":{\"b\":[1,2,3],\"c\":\"x\"},\"a b\":7,\"s\":\"str\",\"n\":null,\"z\":0,"
                "\"items\":[{\"p\":5,\"name\":\"u\"},{\"p\":15,\"name\":\"v\"},{\"q\":1}],"
                "\"store\":{\"book\":[{\"price\":8,\"author\":\"A\"},{\"price\":22,\"author\":\"B\"}],"
                "\"bike\":{\"price\":19}}}");
    EXPECT("$.a.c", "\"x\"");
    EXPECT("$.a.b[0]", "1");
    EXPECT("$.a.b[-1]", "3");
    EXPECT("$['a b']", "7");
    EXPECT("$[\"a\"]['c']", "\"x\"");
    EXPECT("$.a['b'][2]", "3");
    EXPECT("$.n", "null");
    EXPECT("$.z", "0");
    EXPECT("$.items[1].name", "\"v\"");
}

static void test_definite_misses_fail(void **state)
{
    (void)state;
    EXPECT("$.missing", "ERR:States.Runtime");
    EXPECT("$.a.missing", "ERR:States.Runtime");
    EXPECT("$.a.b[3]", "ERR:States.Runtime");
    EXPECT("$.a.b[-4]", "ERR:States.Runtime");
    EXPECT("$.s.x", "ERR:States.Runtime");     /* field of a string */
    EXPECT("$.a[0]", "ERR:States.Runtime");    /* index of an object */
    EXPECT("$.missing.x", "ERR:States.Runtime");
}

static void test_indefinite(void **state)
{
    (void)state;
    EXPECT("$.a.b[*]", "[1,2,3]");
    EXPECT("$.a.*", "[[1,2,3],\"x\"]");
    EXPECT("$.items[*].p", "[5,15]");          /* missing p in the third item is skipped */
    EXPECT("$.items[*].nope", "[]");
    EXPECT("$.a.b[0:2]", "[1,2]");
    EXPECT("$.a.b[1:]", "[2,3]");
    EXPECT("$.a.b[:1]", "[1]");
    EXPECT("$.a.b[-2:]", "[2,3]");
    EXPECT("$.a.b[0,2]", "[1,3]");
    EXPECT("$.a.b[5:9]", "[]");
    EXPECT("$..price", "[8,22,19]");
    EXPECT("$.store..price", "[8,22,19]");
    EXPECT("$..nothing", "[]");
    EXPECT("$.store.book[*].author", "[\"A\",\"B\"]");
    EXPECT("$.s[*]", "[]");
    /* A missing field on the definite prefix still fails, as in Jayway. */
    EXPECT("$.missing[*]", "ERR:States.Runtime");
    EXPECT("$.s.x[*]", "ERR:States.Runtime");
}

static void test_filters(void **state)
{
    (void)state;
    EXPECT("$.items[?(@.p > 10)]", "[{\"p\":15,\"name\":\"v\"}]");
    EXPECT("$.items[?(@.p >= 5)].name", "[\"u\",\"v\"]");
    EXPECT("$.items[?(@.p)].p", "[5,15]");
    EXPECT("$.items[?(!@.p)]", "[{\"q\":1}]");
    EXPECT("$.items[?(@.name == 'u')].p", "[5]");
    EXPECT("$.items[?(@.name != 'u' && @.p)].p", "[15]");
    EXPECT("$.items[?(@.p < 6 || @.q == 1)]", "[{\"p\":5,\"name\":\"u\"},{\"q\":1}]");
    EXPECT("$.items[?((@.p == 5))].name", "[\"u\"]");
    EXPECT("$.store.book[?(@.price < $.store.bike.price)].author", "[\"A\"]");
    EXPECT("$.items[?(@.name == \"v\")].p", "[15]");
    EXPECT("$.items[?(@.p == '5')]", "[]");      /* no coercion */
    EXPECT("$.a.b[?(@ > 1)]", "[2,3]");
    EXPECT("$..book[?(@.price > 10)].author", "[\"B\"]");
    EXPECT("$..[?(@.price > 10)].price", "[22,19]");
    EXPECT("$.store..[?(@.author)].author", "[\"A\",\"B\"]");
    EXPECT("$..[0]", "[1,{\"p\":5,\"name\":\"u\"},{\"price\":8,\"author\":\"A\"}]");
    EXPECT("$.a..*", "[[1,2,3],\"x\",1,2,3]");
}

static void test_context(void **state)
{
    (void)state;
    const char *ctx = "{\"Execution\":{\"Id\":\"e1\",\"Input\":{\"k\":1}},\"State\":{\"Name\":\"S\"}}";
    char *r = run("$$.State.Name", DOC, ctx);
    assert_string_equal(r, "\"S\"");
    free(r);
    r = run("$$.Execution.Input.k", DOC, ctx);
    assert_string_equal(r, "1");
    free(r);
    r = run("$$", DOC, ctx);
    assert_string_equal(r, ctx);
    free(r);
    r = run("$$.Task.Token", DOC, ctx);
    assert_string_equal(r, "ERR:States.Runtime");
    free(r);
    r = run("$$.State.Name", DOC, NULL);   /* no context: empty object */
    assert_string_equal(r, "ERR:States.Runtime");
    free(r);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const char *bad[] = {"", "a", "$.", "$.a b", "$[", "$['a'", "$[abc]", "$.a[1:2:3]",
                                "$.a[?(@.x > )]", "$.a[?@.x]", "$.length()", "$..", "$a",
                                "$['a','b']", "$.a[?(@.x > 1]", " $.a"};
    /* Deep nesting is refused rather than recursed into. */
    char deep[400] = "$.a[?(";
    for (int i = 0; i < 100; i++)
        strcat(deep, "!");
    strcat(deep, "@.x)]");
    char parens[400] = "$.a[?(";
    for (int i = 0; i < 100; i++)
        strcat(parens, "(");
    strcat(parens, "@.x");
    for (int i = 0; i < 100; i++)
        strcat(parens, ")");
    strcat(parens, ")]");
    char nested[600] = "$.a";
    for (int i = 0; i < 40; i++)
        strcat(nested, "[?(@.b");
    for (int i = 0; i < 40; i++)
        strcat(nested, ")]");
    const char *deep_ones[] = {deep, parens, nested};
    for (size_t i = 0; i < 3; i++) {
        asl_path_t *p;
        char msg[ASL_PATH_MSG_MAX] = "";
        assert_int_equal(asl_path_compile(deep_ones[i], 0, &p, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, "too deeply"));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        asl_path_t *p = (asl_path_t *)1;
        char msg[ASL_PATH_MSG_MAX] = "";
        assert_int_equal(asl_path_compile(bad[i], 0, &p, msg, sizeof msg), -1);
        assert_null(p);
        assert_non_null(strstr(msg, "invalid JSONPath"));
    }
}

static void test_flags_and_queries(void **state)
{
    (void)state;
    asl_path_t *p;
    char msg[ASL_PATH_MSG_MAX];
    static const char *not_ref[] = {"$.a[*]", "$..a", "$.a[0:1]", "$.a[0,1]", "$.a[?(@.x)]", "$.*"};
    for (size_t i = 0; i < sizeof not_ref / sizeof not_ref[0]; i++) {
        assert_int_equal(asl_path_compile(not_ref[i], ASL_PATH_REFERENCE, &p, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, "reference path"));
        assert_int_equal(asl_path_compile(not_ref[i], 0, &p, msg, sizeof msg), 0);
        assert_false(asl_path_is_definite(p));
        asl_path_free(p);
    }
    assert_int_equal(asl_path_compile("$$.Execution", ASL_PATH_NO_CONTEXT, &p, msg, sizeof msg), -1);
    assert_int_equal(asl_path_compile("$.a['b c'][0]", ASL_PATH_REFERENCE, &p, msg, sizeof msg), 0);
    assert_true(asl_path_is_definite(p));
    assert_false(asl_path_is_context(p));
    assert_false(asl_path_is_root(p));
    assert_string_equal(asl_path_text(p), "$.a['b c'][0]");
    asl_path_free(p);
    assert_int_equal(asl_path_compile("$$", 0, &p, msg, sizeof msg), 0);
    assert_true(asl_path_is_context(p));
    assert_true(asl_path_is_root(p));
    asl_path_free(p);
}

static void test_get_borrowed(void **state)
{
    (void)state;
    cJSON *in = cJSON_Parse(DOC);
    asl_path_t *p;
    const cJSON *v;
    assert_int_equal(asl_path_compile("$.a.b[1]", 0, &p, NULL, 0), 0);
    assert_int_equal(asl_path_get(p, in, NULL, &v), 1);
    assert_true(v == cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(in, "a"), "b"), 1));
    asl_path_free(p);
    assert_int_equal(asl_path_compile("$.a.nope", 0, &p, NULL, 0), 0);
    assert_int_equal(asl_path_get(p, in, NULL, &v), 0);
    assert_null(v);
    asl_path_free(p);
    assert_int_equal(asl_path_compile("$.a.b[*]", 0, &p, NULL, 0), 0);
    assert_int_equal(asl_path_get(p, in, NULL, &v), -1);
    asl_path_free(p);
    cJSON_Delete(in);
}

/* ResultPath: writes `value` at `path` into `doc`; returns text or ERR. */
static char *set(const char *path, const char *doc, const char *value)
{
    asl_path_t *p;
    assert_int_equal(asl_path_compile(path, ASL_PATH_REFERENCE, &p, NULL, 0), 0);
    cJSON *d = cJSON_Parse(doc);
    asl_error_t err = {0};
    char *res;
    bool can = asl_path_can_set(p, d);   /* must predict the outcome */
    if (asl_path_set(p, &d, cJSON_Parse(value), &err) == 0) {
        assert_true(can);
        res = asl_json_print(d);
    } else {
        assert_false(can);
        assert_string_equal(err.error, "States.ResultPathMatchFailure");
        res = strdup("ERR");
    }
    asl_error_clear(&err);
    cJSON_Delete(d);
    asl_path_free(p);
    return res;
}

#define SET(path, doc, value, want)              \
    do {                                         \
        char *got_ = set(path, doc, value);      \
        assert_string_equal(got_, want);         \
        free(got_);                              \
    } while (0)

static void test_result_path(void **state)
{
    (void)state;
    SET("$", "{\"a\":1}", "{\"x\":1}", "{\"x\":1}");
    SET("$", "{\"a\":1}", "0", "0");
    SET("$.r", "{\"a\":1}", "{\"x\":1}", "{\"a\":1,\"r\":{\"x\":1}}");
    SET("$.a", "{\"a\":1,\"b\":2}", "5", "{\"a\":5,\"b\":2}");
    SET("$.x.y.z", "{\"a\":1}", "true", "{\"a\":1,\"x\":{\"y\":{\"z\":true}}}");
    SET("$.a.new", "{\"a\":{\"old\":1}}", "2", "{\"a\":{\"old\":1,\"new\":2}}");
    SET("$['a b']", "{\"a\":1}", "{}", "{\"a\":1,\"a b\":{}}");
    SET("$.l[1]", "{\"l\":[1,2,3]}", "\"x\"", "{\"l\":[1,\"x\",3]}");
    SET("$.l[-1]", "{\"l\":[1,2,3]}", "9", "{\"l\":[1,2,9]}");
    SET("$.l[3]", "{\"l\":[1,2,3]}", "9", "ERR");
    SET("$.a.b", "{\"a\":\"str\"}", "1", "ERR");
    SET("$.a", "\"scalar\"", "1", "ERR");
    SET("$.a", "[1]", "1", "ERR");
    SET("$.m[0]", "{}", "1", "ERR");
    SET("$.x.y[0]", "{\"a\":1}", "1", "ERR");
    SET("$.x.y.z", "{\"x\":{\"y\":[1]}}", "1", "ERR");
    SET("$.l[0].a", "{\"l\":[{\"b\":1}]}", "2", "{\"l\":[{\"b\":1,\"a\":2}]}");
    SET("$.l[0][1]", "{\"l\":[[1,2]]}", "3", "{\"l\":[[1,3]]}");
    SET("$.l[0].a", "{\"l\":[5]}", "2", "ERR");
}

/* asl_path_take moves out what asl_path_eval would copy, or nothing. */
static void test_take(void **state)
{
    (void)state;
    static const struct { const char *path; const char *want; const char *rest; } cases[] = {
        {"$.a", "{\"x\":[1,2]}", "{\"b\":[3,{\"c\":4}]}"},
        {"$.b[1].c", "4", "{\"a\":{\"x\":[1,2]},\"b\":[3,{}]}"},
        {"$.b[-2]", "3", "{\"a\":{\"x\":[1,2]},\"b\":[{\"c\":4}]}"},
        {"$.a.x[1]", "2", "{\"a\":{\"x\":[1]},\"b\":[3,{\"c\":4}]}"},
        {"$.nope", NULL, NULL},
        {"$.b[5]", NULL, NULL},
        {"$.a.x.y", NULL, NULL},
        {"$.b[*]", NULL, NULL},
        {"$$.a", NULL, NULL},
        {"$", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        asl_path_t *p;
        assert_int_equal(asl_path_compile(cases[i].path, 0, &p, NULL, 0), 0);
        cJSON *doc = cJSON_Parse("{\"a\":{\"x\":[1,2]},\"b\":[3,{\"c\":4}]}");
        cJSON *copy = NULL;
        asl_error_t err = {0};
        int rc = asl_path_eval(p, doc, NULL, &copy, &err);
        cJSON *t = asl_path_take(p, doc);
        char *rest = asl_json_print(doc);
        if (cases[i].want) {
            assert_int_equal(rc, 0);
            assert_non_null(t);
            assert_true(asl_json_equal(t, copy));
            char *got = asl_json_print(t);
            assert_string_equal(got, cases[i].want);
            assert_string_equal(rest, cases[i].rest);
            free(got);
        } else {
            assert_null(t);
            assert_string_equal(rest, "{\"a\":{\"x\":[1,2]},\"b\":[3,{\"c\":4}]}");
        }
        free(rest);
        asl_error_clear(&err);
        cJSON_Delete(copy);
        cJSON_Delete(t);
        cJSON_Delete(doc);
        asl_path_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definite),
        cmocka_unit_test(test_definite_misses_fail),
        cmocka_unit_test(test_indefinite),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_context),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_flags_and_queries),
        cmocka_unit_test(test_get_borrowed),
        cmocka_unit_test(test_result_path),
        cmocka_unit_test(test_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
