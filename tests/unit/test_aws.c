/* Unit tests for the pure parts of the Step Functions API: Task Resources
 * mapped to sagad handlers (asl/resource.h), ARNs parsed and written, AWS
 * names, and timestamps as epoch seconds (api/aws.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/aws.h"
#include "asl/resource.h"

static void expect_handler(const char *resource, const char *handler)
{
    char h[ASL_RESOURCE_MAX], why[ASL_RESOURCE_WHY_MAX];
    assert_int_equal(asl_resource_map(resource, h, why), 0);
    assert_string_equal(h, handler);
    assert_string_equal(why, "");
}

static void expect_refused(const char *resource, const char *says)
{
    char h[ASL_RESOURCE_MAX], why[ASL_RESOURCE_WHY_MAX];
    assert_int_equal(asl_resource_map(resource, h, why), -1);
    assert_string_equal(h, "");
    assert_non_null(strstr(why, says));
}

static void test_resources_sagad_handlers_stay(void **state)
{
    (void)state;
    expect_handler("sagad:echo", "echo");
    expect_handler("sagad:orders.create", "orders.create");
    expect_handler("sagad:orders.create.waitForTaskToken", "orders.create.waitForTaskToken");
    expect_handler("sagad:activity:payment.charge", "activity:payment.charge");
    expect_refused("sagad:", "must be sagad:NAME");
    expect_refused("echo", "must be sagad:NAME");
}

static void test_resources_aws_arns_map(void **state)
{
    (void)state;
    expect_handler("arn:aws:states:::activity:charge", "activity:charge");
    expect_handler("arn:aws:states:eu-west-3:123456789012:activity:charge", "activity:charge");
    expect_handler("arn:aws:states:::http:invoke", "http.invoke");
    expect_handler("arn:aws:states:::http:invoke.waitForTaskToken", "http.invoke.waitForTaskToken");
}

static void test_resources_unsupported_are_named(void **state)
{
    (void)state;
    expect_refused("arn:aws:states:::lambda:invoke",
                   "'arn:aws:states:::lambda:invoke' is the AWS service integration lambda:invoke");
    expect_refused("arn:aws:states:::sqs:sendMessage.waitForTaskToken", "sqs:sendMessage.waitForTaskToken");
    expect_refused("arn:aws:lambda:us-east-1:123456789012:function:f", "an AWS Lambda function");
    /* Half a region/account, an activity ARN with more after the name, an
     * http:invoke that names a region: none is a form AWS writes. */
    expect_refused("arn:aws:states:us-east-1::activity:a", "must be sagad:NAME or a Step Functions ARN");
    expect_refused("arn:aws:states:::activity:a:b", "is no activity ARN");
    expect_refused("arn:aws:states:us-east-1:123456789012:http:invoke", "no Step Functions resource");
    expect_refused("arn:aws:states:::activity:", "is no activity ARN");
}

static void test_http_invoke_authentication_is_refused(void **state)
{
    (void)state;
    char why[ASL_RESOURCE_WHY_MAX];
    cJSON *p = cJSON_Parse("{\"ApiEndpoint\":\"https://x\",\"Method\":\"GET\","
                           "\"Authentication\":{\"ConnectionArn\":\"arn:aws:events:::connection/c\"}}");
    assert_int_equal(asl_resource_check_parameters("arn:aws:states:::http:invoke", p, why), -1);
    assert_non_null(strstr(why, "Authentication"));
    assert_int_equal(
        asl_resource_check_parameters("arn:aws:states:::http:invoke.waitForTaskToken", p, why), -1);
    /* sagad's own resource is the handler's business, as before. */
    assert_int_equal(asl_resource_check_parameters("sagad:http.invoke", p, why), 0);
    cJSON_DeleteItemFromObject(p, "Authentication");
    assert_int_equal(asl_resource_check_parameters("arn:aws:states:::http:invoke", p, why), 0);
    assert_string_equal(why, "");
    assert_int_equal(asl_resource_check_parameters("arn:aws:states:::http:invoke", NULL, why), 0);
    cJSON_Delete(p);
}

static void test_arn_parse(void **state)
{
    (void)state;
    api_aws_arn_t a;
    assert_int_equal(api_aws_arn_parse("arn:aws:states:local:000000000000:stateMachine:order",
                                       API_AWS_ARN_STATE_MACHINE, "local", "000000000000", &a),
                     API_AWS_ARN_OK);
    assert_string_equal(a.name, "order");
    assert_string_equal(a.qualifier, "");
    assert_int_equal(api_aws_arn_parse("arn:aws:states:local:000000000000:stateMachine:order:3",
                                       API_AWS_ARN_STATE_MACHINE, "local", "000000000000", &a),
                     API_AWS_ARN_OK);
    assert_string_equal(a.qualifier, "3");
    assert_int_equal(api_aws_arn_parse("arn:aws:states:local:000000000000:execution:order:o-1",
                                       API_AWS_ARN_EXECUTION, "local", "000000000000", &a),
                     API_AWS_ARN_OK);
    assert_string_equal(a.name, "order");
    assert_string_equal(a.qualifier, "o-1");
    assert_int_equal(api_aws_arn_parse("arn:aws:states:us-east-1:123456789012:activity:charge",
                                       API_AWS_ARN_ACTIVITY, "local", "000000000000", &a),
                     API_AWS_ARN_ELSEWHERE);
    assert_string_equal(a.name, "charge");
}

static void test_arn_parse_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *arn;
        api_aws_arn_kind_t kind;
    } bad[] = {
        {"not-an-arn", API_AWS_ARN_STATE_MACHINE},
        {"arn:aws:states:local:000000000000:activity:a", API_AWS_ARN_STATE_MACHINE},
        {"arn:aws:states:local:000000000000:execution:order", API_AWS_ARN_EXECUTION},
        {"arn:aws:states:local:000000000000:activity:a:b", API_AWS_ARN_ACTIVITY},
        {"arn:aws:states:local:000000000000:stateMachine:a:1:2", API_AWS_ARN_STATE_MACHINE},
        {"arn:aws:states:local:000000000000:stateMachine:", API_AWS_ARN_STATE_MACHINE},
        {"arn:aws:states:local:000000000000:stateMachine:a b", API_AWS_ARN_STATE_MACHINE},
        {"arn:aws:states:::stateMachine:a", API_AWS_ARN_STATE_MACHINE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_aws_arn_t a;
        assert_int_equal(api_aws_arn_parse(bad[i].arn, bad[i].kind, "local", "000000000000", &a),
                         API_AWS_ARN_MALFORMED);
    }
}

static void test_arn_format_round_trips(void **state)
{
    (void)state;
    char buf[API_AWS_ARN_MAX];
    assert_string_equal(api_aws_arn_format(buf, API_AWS_ARN_EXECUTION, "r1", "111122223333", "m",
                                           "e"),
                        "arn:aws:states:r1:111122223333:execution:m:e");
    assert_string_equal(api_aws_arn_format(buf, API_AWS_ARN_STATE_MACHINE, "r1", "111122223333",
                                           "m", NULL),
                        "arn:aws:states:r1:111122223333:stateMachine:m");
    api_aws_arn_t a;
    assert_int_equal(api_aws_arn_parse(buf, API_AWS_ARN_STATE_MACHINE, "r1", "111122223333", &a),
                     API_AWS_ARN_OK);
    assert_string_equal(a.name, "m");
}

static void test_names(void **state)
{
    (void)state;
    assert_true(api_aws_name_valid("order-1"));
    assert_true(api_aws_name_valid("é"));
    char long_name[82];
    memset(long_name, 'a', 81);
    long_name[81] = '\0';
    assert_false(api_aws_name_valid(long_name));
    long_name[80] = '\0';
    assert_true(api_aws_name_valid(long_name));
    static const char *const bad[] = {"", "a b", "a:b", "a/b", "a*", "a\tb", "{x}", "a\"b", "a$"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(api_aws_name_valid(bad[i]));
}

static void test_epoch(void **state)
{
    (void)state;
    assert_true(api_aws_epoch("1970-01-01T00:00:00.000Z") == 0.0);
    assert_true(api_aws_epoch("2019-03-26T20:14:13.192Z") == 1553631253.192);
    assert_true(api_aws_epoch("2019-03-26T20:14:13Z") < 0);
    assert_true(api_aws_epoch("2019-03-26T20:14:13.192Zx") < 0);
    assert_true(api_aws_epoch(NULL) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resources_sagad_handlers_stay),
        cmocka_unit_test(test_resources_aws_arns_map),
        cmocka_unit_test(test_resources_unsupported_are_named),
        cmocka_unit_test(test_http_invoke_authentication_is_refused),
        cmocka_unit_test(test_arn_parse),
        cmocka_unit_test(test_arn_parse_refuses),
        cmocka_unit_test(test_arn_format_round_trips),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
