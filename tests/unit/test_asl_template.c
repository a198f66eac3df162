/* Unit tests for payload templates (Parameters, ResultSelector,
 * ItemSelector): ".$" fields at any depth, literals, problems. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/json.h"
#include "asl/template.h"

static const char *CTX = "{\"Execution\":{\"Id\":\"arn:x\"},\"Map\":{\"Item\":{\"Index\":1,\"Value\":\"v\"}}}";

/* Compiles and evaluates; the output text or "ERR:<Error>:<Cause>". */
static char *run(const char *tmpl, const char *input)
{
    cJSON *t = cJSON_Parse(tmpl);
    assert_non_null(t);
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_template_t *c;
    assert_int_equal(asl_template_compile(t, "S", "Parameters", &probs, &c), 0);
    assert_int_equal(probs.count, 0);
    cJSON_Delete(t);  /* the compiled template keeps nothing of it */
    cJSON *in = cJSON_Parse(input), *ctx = cJSON_Parse(CTX), *out = NULL;
    asl_eval_env_t env = {.context = ctx};
    asl_error_t err = {0};
    char *res;
    if (asl_template_eval(c, in, &env, &out, &err) == 0) {
        res = asl_json_print(out);
    } else {
        size_t n = strlen(err.error) + strlen(err.cause) + 6;
        res = malloc(n);
        snprintf(res, n, "ERR:%s:%s", err.error, err.cause);
    }
    asl_error_clear(&err);
    cJSON_Delete(out);
    cJSON_Delete(in);
    cJSON_Delete(ctx);
    asl_template_free(c);
    asl_problems_free(&probs);
    return res;
}

#define EXPECT(tmpl, input, want)              \
    do {                                       \
        char *got_ = run(tmpl, input);         \
        assert_string_equal(got_, want);       \
        free(got_);                            \
    } while (0)

static void test_aws_parameters_example(void **state)
{
    (void)state;
    /* The Parameters example of the AWS input/output processing docs. */
    EXPECT("{\"comment\":\"Selecting what I care about.\",\"MyDetails\":{\"size.$\":\"$.product.details.size\","
           "\"exists.$\":\"$.product.availability\",\"StaticValue\":\"foo\"}}",
           "{\"comment\":\"Example for Parameters.\",\"product\":{\"details\":{\"color\":\"blue\","
           "\"size\":\"small\",\"material\":\"cotton\"},\"availability\":\"in stock\",\"sku\":\"2317\","
           "\"cost\":\"$23\"}}",
           "{\"comment\":\"Selecting what I care about.\",\"MyDetails\":{\"size\":\"small\","
           "\"exists\":\"in stock\",\"StaticValue\":\"foo\"}}");
}

static void test_shapes(void **state)
{
    (void)state;
    EXPECT("{\"a\":1,\"b\":[1,{\"c.$\":\"$.x\"},\"s\"],\"d\":{\"e\":{\"f.$\":\"$\"}}}", "{\"x\":[true]}",
           "{\"a\":1,\"b\":[1,{\"c\":[true]},\"s\"],\"d\":{\"e\":{\"f\":{\"x\":[true]}}}}");
    EXPECT("{\"all.$\":\"$.l[*].v\",\"id.$\":\"$$.Execution.Id\",\"i.$\":\"$$.Map.Item.Index\"}",
           "{\"l\":[{\"v\":1},{\"v\":2}]}", "{\"all\":[1,2],\"id\":\"arn:x\",\"i\":1}");
    EXPECT("{\"u.$\":\"States.Format('{}-{}', $.a, $$.Map.Item.Value)\",\"n.$\":\"States.ArrayLength($.l)\"}",
           "{\"a\":\"x\",\"l\":[1,2,3]}", "{\"u\":\"x-v\",\"n\":3}");
    EXPECT("{\"z.$\":\"$.z\",\"f.$\":\"$.f\",\"n.$\":\"$.n\"}", "{\"z\":0,\"f\":false,\"n\":null}",
           "{\"z\":0,\"f\":false,\"n\":null}");
    EXPECT("[1,\"two\",{\"x.$\":\"$\"}]", "0", "[1,\"two\",{\"x\":0}]");
    EXPECT("\"just a string\"", "{}", "\"just a string\"");
    EXPECT("{}", "{\"a\":1}", "{}");
    EXPECT("{\"k\":\"$.not.a.path.because.no.suffix\"}", "{}", "{\"k\":\"$.not.a.path.because.no.suffix\"}");
}

static void test_eval_failures(void **state)
{
    (void)state;
    char *r = run("{\"a.$\":\"$.missing\"}", "{\"b\":1}");
    assert_non_null(strstr(r, "ERR:States.Runtime:"));
    assert_non_null(strstr(r, "'$.missing' specified for the field 'a.$' could not be found"));
    free(r);
    r = run("{\"x\":{\"a.$\":\"$$.Task.Token\"}}", "{}");
    assert_non_null(strstr(r, "ERR:States.Runtime:"));
    free(r);
    r = run("{\"a.$\":\"States.ArrayLength($.b)\"}", "{\"b\":1}");
    assert_non_null(strstr(r, "ERR:States.IntrinsicFailure:"));
    free(r);
    r = run("{\"a.$\":\"$.b.c[*]\"}", "{\"b\":2}");
    assert_non_null(strstr(r, "ERR:States.Runtime:"));
    free(r);
}

static void test_literal_flag(void **state)
{
    (void)state;
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_template_t *t;
    cJSON *lit = cJSON_Parse("{\"a\":{\"b\":[1,2]},\"c\":\"$.x\"}");
    assert_int_equal(asl_template_compile(lit, "S", "Parameters", &probs, &t), 0);
    assert_true(asl_template_is_literal(t));
    asl_template_free(t);
    cJSON_Delete(lit);
    cJSON *dyn = cJSON_Parse("{\"a\":{\"b\":[1,{\"c.$\":\"$\"}]}}");
    assert_int_equal(asl_template_compile(dyn, "S", "Parameters", &probs, &t), 0);
    assert_false(asl_template_is_literal(t));
    asl_template_free(t);
    cJSON_Delete(dyn);
    assert_int_equal(asl_template_compile(NULL, "S", "Parameters", &probs, &t), 0);
    assert_true(asl_template_is_literal(t));
    asl_template_free(t);
    assert_int_equal(probs.count, 0);
}

static bool has_problem(const asl_problems_t *p, const char *field, const char *fragment)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].field && strcmp(p->items[i].field, field) == 0 &&
            strstr(p->items[i].message, fragment) && strcmp(p->items[i].state, "Prep") == 0)
            return true;
    return false;
}

static void test_problems(void **state)
{
    (void)state;
    cJSON *t = cJSON_Parse(
        "{\"n.$\":5,\"s.$\":\"hello\",\"p.$\":\"$.a[\",\"f.$\":\"States.Nope()\","
        "\"g.$\":\"States.ArrayLength()\",\"k\":1,\"k.$\":\"$.k\","
        "\"deep\":{\"list\":[0,{\"x.$\":null}]},\"ok.$\":\"$.fine\"}");
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_template_t *c = (asl_template_t *)1;
    assert_int_equal(asl_template_compile(t, "Prep", "ResultSelector", &probs, &c), -1);
    assert_null(c);
    assert_int_equal(probs.count, 7);
    assert_true(has_problem(&probs, "ResultSelector.n.$", "must be a string"));
    assert_true(has_problem(&probs, "ResultSelector.s.$", "neither a JSONPath"));
    assert_true(has_problem(&probs, "ResultSelector.p.$", "invalid JSONPath"));
    assert_true(has_problem(&probs, "ResultSelector.f.$", "unknown intrinsic function"));
    assert_true(has_problem(&probs, "ResultSelector.g.$", "takes 1 argument"));
    assert_true(has_problem(&probs, "ResultSelector.k.$", "same key"));
    assert_true(has_problem(&probs, "ResultSelector.deep.list[1].x.$", "must be a string"));
    asl_problems_free(&probs);
    cJSON_Delete(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_parameters_example),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_eval_failures),
        cmocka_unit_test(test_literal_flag),
        cmocka_unit_test(test_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
