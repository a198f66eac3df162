/* Unit tests for Choice rules: every operator and ...Path variant, type
 * mismatches, Is* tests, StringMatches escapes, timestamps, And/Or/Not and
 * the validation problems. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/choice.h"

static const char *IN =
    "{\"s\":\"abc\",\"s2\":\"abd\",\"n\":5,\"n2\":5.0,\"f\":1.5,\"b\":true,\"nul\":null,"
    "\"t\":\"2016-03-14T01:59:00Z\",\"t2\":\"2016-03-14T02:59:00+01:00\",\"t3\":\"2016-03-14T01:59:00.5Z\","
    "\"o\":{\"k\":1},\"a\":[1],\"star\":\"a*c\",\"bs\":\"a\\\\c\",\"nl\":\"a\\nb\",\"empty\":\"\","
    "\"ten\":\"10\"}";

/* 1 match, 0 no match, -1 error (checked to be States.Runtime). */
static int match_in(const char *rule, const char *input)
{
    cJSON *r = cJSON_Parse(rule);
    assert_non_null(r);
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_choice_t *c;
    int rc = asl_choice_compile(r, false, "C", "Choices[0]", &probs, &c);
    if (rc != 0)
        fail_msg("%s: %s", rule, probs.count ? probs.items[0].message : "?");
    cJSON_Delete(r);
    cJSON *in = cJSON_Parse(input);
    cJSON *ctx = cJSON_Parse("{\"State\":{\"Name\":\"C\"}}");
    asl_eval_env_t env = {.context = ctx};
    asl_error_t err = {0};
    int m = asl_choice_eval(c, in, &env, &err);
    if (m < 0) {
        assert_string_equal(err.error, "States.Runtime");
        assert_non_null(err.cause);
    } else {
        assert_null(err.error);
    }
    asl_error_clear(&err);
    cJSON_Delete(in);
    cJSON_Delete(ctx);
    asl_choice_free(c);
    asl_problems_free(&probs);
    return m;
}

static int match(const char *rule)
{
    return match_in(rule, IN);
}

#define YES(rule) assert_int_equal(match(rule), 1)
#define NO(rule) assert_int_equal(match(rule), 0)
#define ERR(rule) assert_int_equal(match(rule), -1)

static void test_strings(void **state)
{
    (void)state;
    YES("{\"Variable\":\"$.s\",\"StringEquals\":\"abc\"}");
    NO("{\"Variable\":\"$.s\",\"StringEquals\":\"abC\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThan\":\"abd\"}");
    NO("{\"Variable\":\"$.s\",\"StringLessThan\":\"abc\"}");
    YES("{\"Variable\":\"$.s\",\"StringGreaterThan\":\"abb\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanEquals\":\"abc\"}");
    YES("{\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"abc\"}");
    NO("{\"Variable\":\"$.s\",\"StringGreaterThanEquals\":\"b\"}");
    YES("{\"Variable\":\"$.empty\",\"StringLessThan\":\"a\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanPath\":\"$.s2\"}");
    YES("{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.s\"}");
    NO("{\"Variable\":\"$.s\",\"StringGreaterThanPath\":\"$.s2\"}");
    YES("{\"Variable\":\"$.s2\",\"StringGreaterThanEqualsPath\":\"$.s\"}");
    YES("{\"Variable\":\"$.s\",\"StringLessThanEqualsPath\":\"$.s2\"}");
    YES("{\"Variable\":\"$$.State.Name\",\"StringEquals\":\"C\"}");
    NO("{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$$.State.Name\",\"Comment\":\"x\"}");
    /* No coercion across types (the npm oracle coerces; the docs do not). */
    NO("{\"Variable\":\"$.n\",\"StringEquals\":\"5\"}");
    NO("{\"Variable\":\"$.n\",\"StringLessThan\":\"10\"}");
    NO("{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.n\"}");
}

static void test_string_matches(void **state)
{
    (void)state;
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"a*\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*c\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"a*c\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"abc\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"a**c\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*b*\"}");
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"*b\"}");
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"ab\"}");
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"a?c\"}");       /* '?' is literal */
    YES("{\"Variable\":\"$.star\",\"StringMatches\":\"a\\\\*c\"}"); /* pattern a\*c */
    NO("{\"Variable\":\"$.s\",\"StringMatches\":\"a\\\\*c\"}");
    YES("{\"Variable\":\"$.bs\",\"StringMatches\":\"a\\\\\\\\c\"}"); /* pattern a\\c */
    YES("{\"Variable\":\"$.bs\",\"StringMatches\":\"a*\"}");
    YES("{\"Variable\":\"$.nl\",\"StringMatches\":\"a*b\"}");      /* '*' crosses newlines */
    YES("{\"Variable\":\"$.empty\",\"StringMatches\":\"*\"}");
    NO("{\"Variable\":\"$.empty\",\"StringMatches\":\"?\"}");
    YES("{\"Variable\":\"$.s\",\"StringMatches\":\"*a*b*c*\"}");
    NO("{\"Variable\":\"$.n\",\"StringMatches\":\"*\"}");          /* non-string: no match */
    NO("{\"Variable\":\"$.a\",\"StringMatches\":\"*\"}");
}

static void test_numbers_and_booleans(void **state)
{
    (void)state;
    YES("{\"Variable\":\"$.n\",\"NumericEquals\":5}");
    YES("{\"Variable\":\"$.n\",\"NumericEquals\":5.0}");
    NO("{\"Variable\":\"$.n\",\"NumericEquals\":6}");
    YES("{\"Variable\":\"$.f\",\"NumericLessThan\":2}");
    NO("{\"Variable\":\"$.f\",\"NumericLessThan\":1.5}");
    YES("{\"Variable\":\"$.f\",\"NumericGreaterThan\":1}");
    YES("{\"Variable\":\"$.f\",\"NumericLessThanEquals\":1.5}");
    YES("{\"Variable\":\"$.f\",\"NumericGreaterThanEquals\":1.5}");
    NO("{\"Variable\":\"$.f\",\"NumericGreaterThanEquals\":2}");
    YES("{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.n2\"}");
    YES("{\"Variable\":\"$.f\",\"NumericLessThanPath\":\"$.n\"}");
    YES("{\"Variable\":\"$.n\",\"NumericGreaterThanPath\":\"$.f\"}");
    YES("{\"Variable\":\"$.n\",\"NumericLessThanEqualsPath\":\"$.n2\"}");
    YES("{\"Variable\":\"$.n\",\"NumericGreaterThanEqualsPath\":\"$.f\"}");
    NO("{\"Variable\":\"$.ten\",\"NumericLessThan\":20}");          /* "10" is a string */
    NO("{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.ten\"}");
    NO("{\"Variable\":\"$.b\",\"NumericEquals\":1}");
    YES("{\"Variable\":\"$.b\",\"BooleanEquals\":true}");
    NO("{\"Variable\":\"$.b\",\"BooleanEquals\":false}");
    YES("{\"Variable\":\"$.b\",\"BooleanEqualsPath\":\"$.b\"}");
    NO("{\"Variable\":\"$.s\",\"BooleanEquals\":true}");
    NO("{\"Variable\":\"$.b\",\"BooleanEqualsPath\":\"$.s\"}");
}

static void test_timestamps(void **state)
{
    (void)state;
    YES("{\"Variable\":\"$.t\",\"TimestampEquals\":\"2016-03-14T01:59:00Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampEquals\":\"2016-03-14T02:59:00+01:00\"}"); /* same instant */
    YES("{\"Variable\":\"$.t\",\"TimestampEqualsPath\":\"$.t2\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThan\":\"2016-03-14T01:59:00.001Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThanPath\":\"$.t3\"}");
    YES("{\"Variable\":\"$.t3\",\"TimestampGreaterThanPath\":\"$.t\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThan\":\"2016-03-13T21:59:59-03:00\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThanEquals\":\"2016-03-14T01:59:00Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThanEquals\":\"2016-03-14T01:59:00Z\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampLessThanEqualsPath\":\"$.t2\"}");
    YES("{\"Variable\":\"$.t\",\"TimestampGreaterThanEqualsPath\":\"$.t2\"}");
    NO("{\"Variable\":\"$.s\",\"TimestampEquals\":\"2016-03-14T01:59:00Z\"}");
    NO("{\"Variable\":\"$.n\",\"TimestampLessThan\":\"2016-03-14T01:59:00Z\"}");
    NO("{\"Variable\":\"$.t\",\"TimestampEqualsPath\":\"$.s\"}");
}

static void test_is_tests(void **state)
{
    (void)state;
    YES("{\"Variable\":\"$.nul\",\"IsNull\":true}");
    NO("{\"Variable\":\"$.n\",\"IsNull\":true}");
    YES("{\"Variable\":\"$.n\",\"IsNull\":false}");
    YES("{\"Variable\":\"$.n\",\"IsPresent\":true}");
    YES("{\"Variable\":\"$.nul\",\"IsPresent\":true}");
    NO("{\"Variable\":\"$.zzz\",\"IsPresent\":true}");
    YES("{\"Variable\":\"$.zzz\",\"IsPresent\":false}");
    YES("{\"Variable\":\"$.o.nope\",\"IsPresent\":false}");
    YES("{\"Variable\":\"$.a[3]\",\"IsPresent\":false}");
    YES("{\"Variable\":\"$.s.x\",\"IsPresent\":false}");
    YES("{\"Variable\":\"$.f\",\"IsNumeric\":true}");
    NO("{\"Variable\":\"$.ten\",\"IsNumeric\":true}");
    YES("{\"Variable\":\"$.ten\",\"IsNumeric\":false}");
    YES("{\"Variable\":\"$.s\",\"IsString\":true}");
    NO("{\"Variable\":\"$.nul\",\"IsString\":true}");
    YES("{\"Variable\":\"$.b\",\"IsBoolean\":true}");
    YES("{\"Variable\":\"$.s\",\"IsBoolean\":false}");
    YES("{\"Variable\":\"$.t2\",\"IsTimestamp\":true}");
    NO("{\"Variable\":\"$.s\",\"IsTimestamp\":true}");
    YES("{\"Variable\":\"$.n\",\"IsTimestamp\":false}");
    /* A missing value is of no type. */
    NO("{\"Variable\":\"$.zzz\",\"IsNull\":true}");
    YES("{\"Variable\":\"$.zzz\",\"IsNull\":false}");
    NO("{\"Variable\":\"$.zzz\",\"IsString\":true}");
    YES("{\"Variable\":\"$.zzz\",\"IsTimestamp\":false}");
}

static void test_boolean_ops(void **state)
{
    (void)state;
    YES("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},{\"Variable\":\"$.b\",\"BooleanEquals\":true}]}");
    NO("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},{\"Variable\":\"$.b\",\"BooleanEquals\":false}]}");
    YES("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":4},{\"Variable\":\"$.b\",\"BooleanEquals\":true}]}");
    NO("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":4},{\"Variable\":\"$.b\",\"BooleanEquals\":false}]}");
    YES("{\"Not\":{\"Variable\":\"$.s\",\"StringEquals\":\"x\"}}");
    NO("{\"Not\":{\"Not\":{\"Variable\":\"$.s\",\"StringEquals\":\"x\"}}}");
    YES("{\"And\":[{\"Or\":[{\"Variable\":\"$.zzz\",\"IsPresent\":true},{\"Variable\":\"$.n\",\"NumericGreaterThan\":1}]},"
        "{\"Not\":{\"Variable\":\"$.nul\",\"IsNull\":false}}]}");
    /* Short-circuit: the missing variable is never looked at. */
    NO("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":4},{\"Variable\":\"$.zzz\",\"NumericEquals\":1}]}");
    YES("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":5},{\"Variable\":\"$.zzz\",\"NumericEquals\":1}]}");
    ERR("{\"Or\":[{\"Variable\":\"$.n\",\"NumericEquals\":4},{\"Variable\":\"$.zzz\",\"NumericEquals\":1}]}");
    ERR("{\"Not\":{\"Variable\":\"$.zzz\",\"StringEquals\":\"x\"}}");
}

static void test_missing_paths_fail(void **state)
{
    (void)state;
    ERR("{\"Variable\":\"$.zzz\",\"StringEquals\":\"x\"}");
    ERR("{\"Variable\":\"$.s\",\"StringEqualsPath\":\"$.zzz\"}");
    ERR("{\"Variable\":\"$$.Task.Token\",\"StringEquals\":\"x\"}");
    ERR("{\"Variable\":\"$.zzz\",\"StringMatches\":\"*\"}");
}

static void test_top_level_next(void **state)
{
    (void)state;
    cJSON *r = cJSON_Parse("{\"Variable\":\"$.n\",\"NumericEquals\":5,\"Next\":\"Done\"}");
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_choice_t *c;
    assert_int_equal(asl_choice_compile(r, true, "C", "Choices[0]", &probs, &c), 0);
    assert_string_equal(asl_choice_next(c), "Done");
    cJSON *in = cJSON_Parse("{\"n\":5}");
    asl_error_t err = {0};
    assert_int_equal(asl_choice_eval(c, in, NULL, &err), 1);
    asl_choice_free(c);
    cJSON_Delete(in);
    cJSON_Delete(r);
    r = cJSON_Parse("{\"Not\":{\"Variable\":\"$.n\",\"IsNull\":true},\"Next\":\"X\"}");
    assert_int_equal(asl_choice_compile(r, true, "C", "Choices[1]", &probs, &c), 0);
    assert_string_equal(asl_choice_next(c), "X");
    asl_choice_free(c);
    cJSON_Delete(r);
    assert_int_equal(probs.count, 0);
}

/* Compiles `rule` expecting failure with a problem on `field` containing `fragment`. */
static void expect_problem(const char *rule, bool top, const char *field, const char *fragment)
{
    cJSON *r = cJSON_Parse(rule);
    assert_non_null(r);
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_choice_t *c = (asl_choice_t *)1;
    assert_int_equal(asl_choice_compile(r, top, "Pick", "Choices[0]", &probs, &c), -1);
    assert_null(c);
    bool found = false;
    for (size_t i = 0; i < probs.count; i++)
        if (strcmp(probs.items[i].state, "Pick") == 0 && probs.items[i].field &&
            strcmp(probs.items[i].field, field) == 0 && strstr(probs.items[i].message, fragment))
            found = true;
    if (!found)
        fail_msg("%s: no problem on %s with '%s' (first: %s / %s)", rule, field, fragment,
                 probs.count ? probs.items[0].field : "-", probs.count ? probs.items[0].message : "-");
    asl_problems_free(&probs);
    cJSON_Delete(r);
}

static void test_problems(void **state)
{
    (void)state;
    expect_problem("{\"Variable\":\"$.n\",\"NumericEquals\":5}", true, "Choices[0]", "needs Next");
    expect_problem("{\"Variable\":\"$.n\",\"NumericEquals\":5,\"Next\":\"X\"}", false,
                   "Choices[0].Next", "only in top-level");
    expect_problem("{\"And\":[{\"Variable\":\"$.n\",\"NumericEquals\":5,\"Next\":\"X\"}],\"Next\":\"Y\"}", true,
                   "Choices[0].And[0].Next", "only in top-level");
    expect_problem("{\"Variable\":\"$.n\",\"Next\":\"X\"}", true, "Choices[0]", "needs a comparison operator");
    expect_problem("{\"NumericEquals\":5,\"Next\":\"X\"}", true, "Choices[0].Variable", "needs Variable");
    expect_problem("{\"Variable\":\"$.n\",\"NumericEquals\":5,\"StringEquals\":\"a\",\"Next\":\"X\"}", true,
                   "Choices[0]", "exactly one operator");
    expect_problem("{\"Variable\":\"$.n\",\"NumericEquals\":\"5\",\"Next\":\"X\"}", true,
                   "Choices[0].NumericEquals", "must be a number");
    expect_problem("{\"Variable\":\"$.n\",\"StringEquals\":5,\"Next\":\"X\"}", true,
                   "Choices[0].StringEquals", "must be a string");
    expect_problem("{\"Variable\":\"$.n\",\"BooleanEquals\":\"true\",\"Next\":\"X\"}", true,
                   "Choices[0].BooleanEquals", "true or false");
    expect_problem("{\"Variable\":\"$.n\",\"IsNull\":1,\"Next\":\"X\"}", true,
                   "Choices[0].IsNull", "true or false");
    expect_problem("{\"Variable\":\"$.t\",\"TimestampEquals\":\"2016-03-14 01:59:00Z\",\"Next\":\"X\"}", true,
                   "Choices[0].TimestampEquals", "RFC 3339");
    expect_problem("{\"Variable\":\"$.t\",\"TimestampEquals\":\"2016-02-30T01:59:00Z\",\"Next\":\"X\"}", true,
                   "Choices[0].TimestampEquals", "RFC 3339");
    expect_problem("{\"Variable\":\"$.n\",\"NumericEqualsPath\":5,\"Next\":\"X\"}", true,
                   "Choices[0].NumericEqualsPath", "reference path");
    expect_problem("{\"Variable\":\"$.n\",\"NumericEqualsPath\":\"$.a[*]\",\"Next\":\"X\"}", true,
                   "Choices[0].NumericEqualsPath", "reference path");
    expect_problem("{\"Variable\":\"$.a[*]\",\"IsPresent\":true,\"Next\":\"X\"}", true,
                   "Choices[0].Variable", "reference path");
    expect_problem("{\"Variable\":\"n\",\"IsPresent\":true,\"Next\":\"X\"}", true,
                   "Choices[0].Variable", "invalid JSONPath");
    expect_problem("{\"Variable\":5,\"IsPresent\":true,\"Next\":\"X\"}", true,
                   "Choices[0].Variable", "must be a string");
    expect_problem("{\"Variable\":\"$.n\",\"StringMatchesPath\":\"$.p\",\"Next\":\"X\"}", true,
                   "Choices[0].StringMatchesPath", "unknown field");
    expect_problem("{\"Variable\":\"$.n\",\"IsNull\":true,\"Nxt\":\"X\",\"Next\":\"X\"}", true,
                   "Choices[0].Nxt", "unknown field");
    expect_problem("{\"And\":[],\"Next\":\"X\"}", true, "Choices[0].And", "non-empty array");
    expect_problem("{\"Or\":{},\"Next\":\"X\"}", true, "Choices[0].Or", "non-empty array");
    expect_problem("{\"Not\":[],\"Next\":\"X\"}", true, "Choices[0].Not", "must be an object");
    expect_problem("{\"Not\":{\"Variable\":\"$.n\"},\"Next\":\"X\"}", true, "Choices[0].Not", "needs a comparison");
    expect_problem("{\"Variable\":\"$.n\",\"Not\":{\"Variable\":\"$.n\",\"IsNull\":true},\"Next\":\"X\"}", true,
                   "Choices[0].Variable", "cannot be used with Not");
    expect_problem("{\"Or\":[{\"Variable\":\"$.n\",\"IsNull\":true},{\"Variable\":\"$.n\",\"NumericEquals\":true}],"
                   "\"Next\":\"X\"}", true, "Choices[0].Or[1].NumericEquals", "must be a number");
    expect_problem("{\"Variable\":\"$.n\",\"IsNull\":true,\"Next\":\"\"}", true, "Choices[0].Next", "non-empty");
    expect_problem("[]", true, "Choices[0]", "must be an object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_string_matches),
        cmocka_unit_test(test_numbers_and_booleans),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_is_tests),
        cmocka_unit_test(test_boolean_ops),
        cmocka_unit_test(test_missing_paths_fail),
        cmocka_unit_test(test_top_level_next),
        cmocka_unit_test(test_problems),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
