/* Unit tests for the HTTP route table, percent-decoding and query parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

static int tag_a, tag_b, tag_c;

static void h_a(http_request_t *r, void *ud) { (void)r; (void)ud; }
static void h_b(http_request_t *r, void *ud) { (void)r; (void)ud; }

static int match(const http_router_t *r, const char *method, const char *path,
                 http_route_match_t *m, char *allow, size_t allowlen)
{
    static char scratch[1024];
    assert_true(strlen(path) + 2 <= sizeof scratch);
    return http_router_match(r, method, path, scratch, m, allow, allowlen);
}

static void test_literal_and_params(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    assert_int_equal(http_router_add(r, "GET", "/healthz", h_a, &tag_a), 0);
    assert_int_equal(http_router_add(r, "GET", "/executions/{id}/history", h_b, &tag_b), 0);
    assert_int_equal(http_router_add(r, "GET", "/a/{x}/b/{y}", h_a, &tag_c), 0);
    http_route_match_t m;
    char allow[64];

    assert_int_equal(match(r, "GET", "/healthz", &m, allow, sizeof allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_route_pattern(m.route), "/healthz");
    assert_int_equal(m.nparams, 0);
    void *ud = NULL;
    assert_ptr_equal(http_route_handler(m.route, &ud), h_a);
    assert_ptr_equal(ud, &tag_a);

    assert_int_equal(match(r, "GET", "/executions/e-1/history", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_string_equal(http_route_pattern(m.route), "/executions/{id}/history");
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "id");
    assert_string_equal(m.values[0], "e-1");

    assert_int_equal(match(r, "GET", "/a/1/b/two", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.names[1], "y");
    assert_string_equal(m.values[0], "1");
    assert_string_equal(m.values[1], "two");

    /* Wrong segment count, trailing slash, empty param, prefix only. */
    assert_int_equal(match(r, "GET", "/healthz/", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "/executions//history", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "/executions/x", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "/", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "*", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "/healthzz", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    http_router_free(r);
}

static void test_params_are_percent_decoded(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    assert_int_equal(http_router_add(r, "PUT", "/stock/{itemId}", h_a, NULL), 0);
    http_route_match_t m;
    assert_int_equal(match(r, "PUT", "/stock/coffee%20beans%2Fbig", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_string_equal(m.values[0], "coffee beans/big");  /* %2F does not split */
    assert_int_equal(match(r, "PUT", "/stock/a+b", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_string_equal(m.values[0], "a+b");  /* '+' is literal in paths */
    assert_int_equal(match(r, "PUT", "/stock/%zz%4", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_string_equal(m.values[0], "%zz%4");
    assert_int_equal(match(r, "PUT", "/stock/a%00b", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    /* Literal segments compare decoded too. */
    assert_int_equal(match(r, "PUT", "/%73tock/x", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_router_free(r);
}

static void test_method_not_allowed_lists_methods(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    assert_int_equal(http_router_add(r, "GET", "/stock/{id}", h_a, NULL), 0);
    assert_int_equal(http_router_add(r, "PUT", "/stock/{id}", h_b, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/stock", h_a, NULL), 0);
    assert_int_equal(http_router_add(r, "DELETE", "/stock/special", h_a, NULL), 0);
    http_route_match_t m;
    char allow[64];
    assert_int_equal(match(r, "POST", "/stock/x", &m, allow, sizeof allow),
                     HTTP_ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, PUT");
    assert_null(m.route);
    assert_int_equal(match(r, "POST", "/stock/special", &m, allow, sizeof allow),
                     HTTP_ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, PUT, DELETE");
    /* A param route answers a method the literal route lacks. */
    assert_int_equal(match(r, "PUT", "/stock/special", &m, allow, sizeof allow), HTTP_ROUTER_FOUND);
    assert_string_equal(http_route_method(m.route), "PUT");
    /* A tiny Allow buffer truncates at a method boundary, never mid-name. */
    char small[6];
    assert_int_equal(match(r, "POST", "/stock/x", &m, small, sizeof small),
                     HTTP_ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(small, "GET");
    http_router_free(r);
}

static void test_literal_beats_param(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    /* Registration order must not matter. */
    assert_int_equal(http_router_add(r, "GET", "/x/{id}/{sub}", h_a, &tag_a), 0);
    assert_int_equal(http_router_add(r, "GET", "/x/{id}/stats", h_a, &tag_b), 0);
    assert_int_equal(http_router_add(r, "GET", "/x/all/{sub}", h_a, &tag_c), 0);
    http_route_match_t m;
    void *ud;
    assert_int_equal(match(r, "GET", "/x/1/stats", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_b);
    assert_int_equal(match(r, "GET", "/x/all/stats", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_c);  /* leftmost literal wins */
    assert_int_equal(match(r, "GET", "/x/1/2", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    http_router_free(r);
}

static void test_catch_all(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    /* Registration order must not matter: literal, then param, then rest. */
    assert_int_equal(http_router_add(r, "GET", "/ui/{rest*}", h_a, &tag_a), 0);
    assert_int_equal(http_router_add(r, "GET", "/ui/app.js", h_a, &tag_b), 0);
    assert_int_equal(http_router_add(r, "GET", "/ui/{x}/{y}", h_a, &tag_c), 0);
    assert_int_equal(http_router_add(r, "GET", "/ui", h_b, NULL), 0);
    http_route_match_t m;
    void *ud;
    char allow[64];

    assert_int_equal(match(r, "GET", "/ui/", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "rest");
    assert_string_equal(m.values[0], "");

    assert_int_equal(match(r, "GET", "/ui/executions", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    assert_string_equal(m.values[0], "executions");

    /* Deeper paths are joined back, decoded, trailing slash kept. */
    assert_int_equal(match(r, "GET", "/ui/state-machines/a%20b/v/2/", &m, NULL, 0),
                     HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    assert_string_equal(m.values[0], "state-machines/a b/v/2/");

    /* A literal beats the catch-all, a param beats it too. */
    assert_int_equal(match(r, "GET", "/ui/app.js", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_b);
    assert_int_equal(match(r, "GET", "/ui/executions/e-1", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_c);
    assert_string_equal(m.values[1], "e-1");
    /* The param refuses an empty segment: the catch-all takes it. */
    assert_int_equal(match(r, "GET", "/ui/executions/", &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    assert_string_equal(m.values[0], "executions/");

    /* The bare prefix is not the catch-all's, nor are other paths. */
    assert_int_equal(match(r, "GET", "/ui", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_string_equal(http_route_pattern(m.route), "/ui");
    assert_int_equal(match(r, "GET", "/uix/a", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "GET", "/", &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);
    assert_int_equal(match(r, "POST", "/ui/a/b/c", &m, allow, sizeof allow),
                     HTTP_ROUTER_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET");

    /* Beyond HTTP_ROUTER_MAX_SEGMENTS only the catch-all matches, whole. */
    char deep[256] = "/ui", want[256] = "";
    for (int i = 0; i < HTTP_ROUTER_MAX_SEGMENTS + 5; i++) {
        strcat(deep, "/s");
        strcat(want, i ? "/s" : "s");
    }
    assert_int_equal(match(r, "GET", deep, &m, NULL, 0), HTTP_ROUTER_FOUND);
    http_route_handler(m.route, &ud);
    assert_ptr_equal(ud, &tag_a);
    assert_string_equal(m.values[0], want);
    assert_int_equal(match(r, "GET", deep + 3, &m, NULL, 0), HTTP_ROUTER_NOT_FOUND);

    /* A catch-all only ends a pattern, and needs a name. */
    assert_int_equal(http_router_add(r, "GET", "/a/{x*}/b", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/{*}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/{x**}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/x*", h_a, NULL), 0);   /* a literal */
    http_router_free(r);
}

static void test_root_and_bad_patterns(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    assert_int_equal(http_router_add(r, "GET", "/", h_a, NULL), 0);
    http_route_match_t m;
    assert_int_equal(match(r, "GET", "/", &m, NULL, 0), HTTP_ROUTER_FOUND);
    assert_int_equal(http_router_add(r, "GET", "/", h_a, NULL), -1);      /* duplicate */
    assert_int_equal(http_router_add(r, "POST", "/", h_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "nope", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a//b", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/{}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/{x", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/x{y}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a/{x-y}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a?b", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "get", "/a", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "", "/a", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/a", NULL, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_a, NULL), -1);
    assert_int_equal(http_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", h_a, NULL), 0);
    http_router_free(r);
}

static void test_many_routes(void **state)
{
    (void)state;
    http_router_t *r = http_router_new();
    char pat[64], path[64];
    for (int i = 0; i < 100; i++) {
        snprintf(pat, sizeof pat, "/r%d/{id}", i);
        assert_int_equal(http_router_add(r, "GET", pat, h_a, NULL), 0);
    }
    http_route_match_t m;
    for (int i = 0; i < 100; i += 7) {
        snprintf(path, sizeof path, "/r%d/v%d", i, i);
        snprintf(pat, sizeof pat, "/r%d/{id}", i);
        assert_int_equal(match(r, "GET", path, &m, NULL, 0), HTTP_ROUTER_FOUND);
        assert_string_equal(http_route_pattern(m.route), pat);
        snprintf(pat, sizeof pat, "v%d", i);
        assert_string_equal(m.values[0], pat);
    }
    http_router_free(r);
}

static void test_percent_decode(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(http_percent_decode(out, "a%20b%2fc", 9, 0), 5);
    assert_string_equal(out, "a b/c");
    assert_int_equal(http_percent_decode(out, "a+b", 3, 1), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(http_percent_decode(out, "a+b", 3, 0), 3);
    assert_string_equal(out, "a+b");
    assert_int_equal(http_percent_decode(out, "%", 1, 0), 1);
    assert_string_equal(out, "%");
    assert_int_equal(http_percent_decode(out, "%4", 2, 0), 2);
    assert_string_equal(out, "%4");
    assert_int_equal(http_percent_decode(out, "%g1%41", 6, 0), 4);
    assert_string_equal(out, "%g1A");
    assert_int_equal(http_percent_decode(out, "%C3%A9", 6, 0), 2);
    assert_string_equal(out, "\xc3\xa9");
    assert_int_equal(http_percent_decode(out, "x%00y", 5, 0), -1);
    assert_int_equal(http_percent_decode(out, "", 0, 0), 0);
    assert_string_equal(out, "");
    /* Only `len` bytes are read: "%41" cut after "%4". */
    assert_int_equal(http_percent_decode(out, "%41", 2, 0), 2);
    assert_string_equal(out, "%4");
    /* In place. */
    char buf[] = "x%41y";
    assert_int_equal(http_percent_decode(buf, buf, 5, 0), 3);
    assert_string_equal(buf, "xAy");
}

static void test_query_parse(void **state)
{
    (void)state;
    const char *q = "status=RUNNING&limit=10&flag&empty=&a%20b=c+d%26e&&=novalue&status=2&z=%00";
    size_t len = strlen(q);
    char *out = malloc(2 * len + 2);
    size_t n = http_query_parse(q, len, out);
    assert_int_equal(n, 6);
    assert_string_equal(http_query_lookup(out, n, "status"), "RUNNING");  /* first wins */
    assert_string_equal(http_query_lookup(out, n, "limit"), "10");
    assert_string_equal(http_query_lookup(out, n, "flag"), "");
    assert_string_equal(http_query_lookup(out, n, "empty"), "");
    assert_string_equal(http_query_lookup(out, n, "a b"), "c d&e");
    assert_null(http_query_lookup(out, n, ""));
    assert_null(http_query_lookup(out, n, "z"));
    assert_null(http_query_lookup(out, n, "missing"));
    free(out);

    char tiny[4];
    assert_int_equal(http_query_parse("", 0, tiny), 0);
    assert_null(http_query_lookup(tiny, 0, "a"));
    /* Worst case for the output size: every piece a key without '='. */
    const char *w = "a&b&c&d";
    char *wo = malloc(2 * strlen(w) + 2);
    assert_int_equal(http_query_parse(w, strlen(w), wo), 4);
    assert_string_equal(http_query_lookup(wo, 4, "d"), "");
    free(wo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_params),
        cmocka_unit_test(test_params_are_percent_decoded),
        cmocka_unit_test(test_method_not_allowed_lists_methods),
        cmocka_unit_test(test_literal_beats_param),
        cmocka_unit_test(test_catch_all),
        cmocka_unit_test(test_root_and_bad_patterns),
        cmocka_unit_test(test_many_routes),
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_query_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
