/* Unit tests for the JSON helpers: equality, compact printing and sizes,
 * the payload limit, integers and RFC 3339 timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/json.h"
#include "core/timefmt.h"

static bool eq(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    assert_non_null(x);
    assert_non_null(y);
    bool r = asl_json_equal(x, y);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return r;
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(eq("{\"a\":1,\"b\":[1,2,{\"c\":null}]}", "{\"b\":[1,2,{\"c\":null}],\"a\":1.0}"));
    assert_false(eq("{\"a\":1}", "{\"a\":1,\"b\":2}"));
    assert_false(eq("{\"a\":1,\"b\":2}", "{\"a\":1,\"c\":2}"));
    assert_false(eq("[1,2]", "[2,1]"));
    assert_false(eq("[1,2]", "[1,2,3]"));
    assert_false(eq("1", "\"1\""));
    assert_false(eq("true", "false"));
    assert_true(eq("null", "null"));
    assert_false(eq("{}", "[]"));
    assert_true(eq("\"\\u00e9\"", "\"é\""));
    assert_true(asl_json_equal(NULL, NULL));
    cJSON *n = cJSON_CreateNull();
    assert_false(asl_json_equal(n, NULL));
    cJSON_Delete(n);
}

static void expect_print(const char *in, const char *want)
{
    cJSON *v = cJSON_Parse(in);
    assert_non_null(v);
    char *s = asl_json_print(v);
    assert_string_equal(s, want);
    assert_int_equal(asl_json_size(v, SIZE_MAX), strlen(want));
    free(s);
    cJSON_Delete(v);
}

static void test_print(void **state)
{
    (void)state;
    expect_print("{ \"a\" : [ 1 , 2.0, -3 ] , \"b\":{} }", "{\"a\":[1,2,-3],\"b\":{}}");
    expect_print("9007199254740993", "9007199254740992");  /* doubles hold 2^53 exactly */
    expect_print("9007199254740991", "9007199254740991");
    expect_print("1e16", "10000000000000000");
    expect_print("1e300", "1e+300");
    expect_print("0.1", "0.1");
    expect_print("1.5", "1.5");
    expect_print("-0.0", "0");
    expect_print("0.30000000000000004", "0.30000000000000004");
    expect_print("3.14159", "3.14159");
    expect_print("\"q\\\"b\\\\n\\n\\t\\u0001/é\"", "\"q\\\"b\\\\n\\n\\t\\u0001/é\"");
    expect_print("[true,false,null]", "[true,false,null]");
    /* Sizes are counted apart from printing: keys, every escape, digits. */
    expect_print("{\"a\\\"b\":\"\\b\\f\\r\\u001f\",\"\\u0002\":[[],{}],\"\":\"\"}",
                 "{\"a\\\"b\":\"\\b\\f\\r\\u001f\",\"\\u0002\":[[],{}],\"\":\"\"}");
    expect_print("[-1,-10,-99999999999999999,99999999999999999,1e17,-2.5e-7,10,9,0]",
                 "[-1,-10,-1e+17,1e+17,1e+17,-2.5e-07,10,9,0]");
    expect_print("[]", "[]");
    char *s = asl_json_print(NULL);
    assert_string_equal(s, "null");
    free(s);
}

static void test_size_limit(void **state)
{
    (void)state;
    /* A string of n bytes is n + 2 bytes of JSON. */
    size_t n = ASL_PAYLOAD_LIMIT - 2;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    cJSON *v = cJSON_CreateString(big);
    asl_error_t err = {0};
    assert_int_equal(asl_json_size(v, SIZE_MAX), ASL_PAYLOAD_LIMIT);
    assert_int_equal(asl_json_check_limit(v, "state output", &err), 0);
    assert_null(err.error);
    cJSON_Delete(v);
    big[n - 1] = '\0';
    cJSON *arr = cJSON_CreateArray();  /* ["x...x"] is one byte over: (n - 1) + 2 + 2 */
    cJSON_AddItemToArray(arr, cJSON_CreateString(big));
    assert_int_equal(asl_json_size(arr, SIZE_MAX), ASL_PAYLOAD_LIMIT + 1);
    assert_true(asl_json_size(arr, 100) > 100);
    assert_int_equal(asl_json_check_limit(arr, "state output", &err), -1);
    assert_string_equal(err.error, "States.DataLimitExceeded");
    assert_non_null(strstr(err.cause, "state output"));
    asl_error_clear(&err);
    cJSON_Delete(arr);
    free(big);
}

static void test_integers_and_parse(void **state)
{
    (void)state;
    int64_t i = 0;
    cJSON *v = cJSON_CreateNumber(42);
    assert_true(asl_json_is_integer(v, &i));
    assert_int_equal(i, 42);
    cJSON_SetNumberValue(v, -9007199254740992.0);
    assert_true(asl_json_is_integer(v, &i));
    assert_true(i == -9007199254740992LL);
    cJSON_SetNumberValue(v, 1.5);
    assert_false(asl_json_is_integer(v, NULL));
    cJSON_SetNumberValue(v, 1e300);
    assert_false(asl_json_is_integer(v, NULL));
    cJSON_Delete(v);
    cJSON *s = cJSON_CreateString("1");
    assert_false(asl_json_is_integer(s, NULL));
    cJSON_Delete(s);

    const char *ok = " {\"a\": [1, 2]}\n ";
    cJSON *p = asl_json_parse(ok, strlen(ok));
    assert_non_null(p);
    cJSON_Delete(p);
    const char *trailing = "{\"a\":1} x";
    assert_null(asl_json_parse(trailing, strlen(trailing)));
    assert_null(asl_json_parse("{\"a\":", 5));
    p = asl_json_parse("[1]garbage", 3);  /* only the first len bytes count */
    assert_non_null(p);
    cJSON_Delete(p);
}

static void test_timestamps(void **state)
{
    (void)state;
    asl_timestamp_t a, b;
    assert_true(asl_timestamp_parse("1970-01-01T00:00:00Z", &a));
    assert_true(a.sec == 0 && a.nsec == 0);
    assert_true(asl_timestamp_parse("2016-03-14T01:59:00Z", &a));
    assert_true(a.sec == 1457920740);
    assert_true(asl_timestamp_parse("2016-03-14T02:59:00+01:00", &b));
    assert_int_equal(asl_timestamp_cmp(&a, &b), 0);
    assert_true(asl_timestamp_parse("2016-03-13T20:29:00-05:30", &b));
    assert_int_equal(asl_timestamp_cmp(&a, &b), 0);
    assert_true(asl_timestamp_parse("2016-03-14T01:59:00.123456789Z", &b));
    assert_int_equal(b.nsec, 123456789);
    assert_int_equal(asl_timestamp_cmp(&a, &b), -1);
    assert_int_equal(asl_timestamp_cmp(&b, &a), 1);
    assert_true(asl_timestamp_to_ms(&b) == 1457920740123LL);
    assert_true(asl_timestamp_parse("2016-03-14T01:59:00.5Z", &b));
    assert_int_equal(b.nsec, 500000000);
    assert_true(asl_timestamp_parse("2024-02-29T23:59:60Z", &b));  /* leap day, leap second */
    assert_true(asl_timestamp_parse("1969-12-31T23:59:59.5Z", &b));
    assert_true(b.sec == -1 && asl_timestamp_to_ms(&b) == -500);
    static const char *bad[] = {
        "2016-03-14T01:59:00", "2016-03-14t01:59:00Z", "2016-03-14T01:59:00z",
        "2016-03-14 01:59:00Z", "2016-3-14T01:59:00Z", "2016-03-14T01:59Z",
        "2016-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2016-13-01T00:00:00Z",
        "2016-03-14T24:00:00Z", "2016-03-14T01:60:00Z", "2016-03-14T01:59:00.Z",
        "2016-03-14T01:59:00+0100", "2016-03-14T01:59:00+01:00x", "", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (asl_timestamp_parse(bad[i], NULL))
            fail_msg("accepted %s", bad[i]);
    assert_false(asl_timestamp_parse(NULL, NULL));

    char buf[TIMEFMT_MAX];
    assert_true(asl_timestamp_parse(timefmt_utc_ms(1709251199999LL, buf), &a));
    assert_true(asl_timestamp_to_ms(&a) == 1709251199999LL);
}

/* The size walk agrees with the printer for strings (values and keys) of
 * every length around the unrolled scan's step, with each kind of escape
 * (short, \u00XX, UTF-8 kept) at every position. */
static void test_string_sizes(void **state)
{
    (void)state;
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\xc3\xa9", "a"};
    char str[16];
    for (size_t len = 0; len <= 9; len++) {
        for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
            for (size_t at = 0; at <= len; at++) {
                size_t n = 0;
                for (size_t i = 0; i < len; i++)
                    str[n++] = (char)('a' + i);
                size_t ls = strlen(specials[k]);
                memmove(str + at + ls, str + at, n - at);
                memcpy(str + at, specials[k], ls);
                str[n + ls] = '\0';
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, str, str);
                char *text = asl_json_print(o);
                assert_int_equal(asl_json_size(o, SIZE_MAX), strlen(text));
                free(text);
                cJSON_Delete(o);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_string_sizes),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_integers_and_parse),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
