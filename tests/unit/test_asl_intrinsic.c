/* Unit tests for intrinsic functions: the examples of the AWS docs, the
 * escapes, nesting, compile-time checks and States.IntrinsicFailure cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/intrinsic.h"
#include "asl/json.h"

static uint64_t fixed_random(void *ud)
{
    uint64_t *x = ud;
    return (*x)++;
}

/* Evaluates `expr` against `input`: the compact result, "ERR:<Error>" or
 * "COMPILE:<message>". Caller frees. */
static char *run(const char *expr, const char *input)
{
    asl_intrinsic_t *f;
    char msg[ASL_INTRINSIC_MSG_MAX];
    if (asl_intrinsic_compile(expr, &f, msg, sizeof msg) < 0) {
        assert_true(msg[0] != '\0');
        size_t n = strlen(msg) + 9;
        char *r = malloc(n);
        snprintf(r, n, "COMPILE:%s", msg);
        return r;
    }
    cJSON *in = cJSON_Parse(input ? input : "{}");
    assert_non_null(in);
    cJSON *ctx = cJSON_Parse("{\"State\":{\"Name\":\"S\"},\"Map\":{\"Item\":{\"Index\":2}}}");
    uint64_t seq = 0x0123456789abcdefull;
    asl_eval_env_t env = {.context = ctx, .random64 = fixed_random, .random_ud = &seq};
    cJSON *out = NULL;
    asl_error_t err = {0};
    char *res;
    if (asl_intrinsic_eval(f, in, &env, &out, &err) == 0) {
        assert_null(err.error);
        res = asl_json_print(out);
    } else {
        assert_null(out);
        assert_non_null(err.cause);
        size_t n = strlen(err.error) + 5;
        res = malloc(n);
        snprintf(res, n, "ERR:%s", err.error);
    }
    asl_error_clear(&err);
    cJSON_Delete(out);
    cJSON_Delete(in);
    cJSON_Delete(ctx);
    asl_intrinsic_free(f);
    return res;
}

#define EXPECT(expr, input, want)              \
    do {                                       \
        char *got_ = run(expr, input);         \
        assert_string_equal(got_, want);       \
        free(got_);                            \
    } while (0)

#define EXPECT_COMPILE_ERROR(expr, fragment)                 \
    do {                                                     \
        char *got_ = run(expr, NULL);                        \
        if (strncmp(got_, "COMPILE:", 8) != 0 || !strstr(got_, fragment)) \
            fail_msg("%s -> %s", expr, got_);                \
        free(got_);                                          \
    } while (0)

static void test_aws_doc_examples(void **state)
{
    (void)state;
    const char *named = "{\"name\":\"Arnav\",\"template\":\"Hello, my name is {}.\"}";
    EXPECT("States.Format('Hello, my name is {}.', $.name)", named, "\"Hello, my name is Arnav.\"");
    EXPECT("States.Format($.template, $.name)", named, "\"Hello, my name is Arnav.\"");
    EXPECT("States.StringToJson($.escapedJsonString)", "{\"escapedJsonString\":\"{\\\"foo\\\": \\\"bar\\\"}\"}",
           "{\"foo\":\"bar\"}");
    EXPECT("States.JsonToString($.unescapedJson)", "{\"unescapedJson\":{\"foo\":\"bar\"}}",
           "\"{\\\"foo\\\":\\\"bar\\\"}\"");
    EXPECT("States.Array($.Id)", "{\"Id\":123456}", "[123456]");
    const char *arr = "{\"inputArray\":[1,2,3,4,5,6,7,8,9],\"lookingFor\":5,\"index\":5}";
    EXPECT("States.ArrayPartition($.inputArray,4)", arr, "[[1,2,3,4],[5,6,7,8],[9]]");
    EXPECT("States.ArrayContains($.inputArray, $.lookingFor)", arr, "true");
    EXPECT("States.ArrayContains($.inputArray, 10)", arr, "false");
    EXPECT("States.ArrayRange(1, 9, 2)", NULL, "[1,3,5,7,9]");
    EXPECT("States.ArrayGetItem($.inputArray, $.index)", arr, "6");
    EXPECT("States.ArrayLength($.inputArray)", arr, "9");
    EXPECT("States.ArrayUnique($.a)", "{\"a\":[1,2,3,3,3,3,3,3,4]}", "[1,2,3,4]");
    EXPECT("States.Base64Encode($.input)", "{\"input\":\"Data to encode\"}", "\"RGF0YSB0byBlbmNvZGU=\"");
    EXPECT("States.Base64Decode($.base64)", "{\"base64\":\"RGVjb2RlZCBkYXRh\"}", "\"Decoded data\"");
    EXPECT("States.Hash($.Data, $.Algorithm)", "{\"Data\":\"input data\",\"Algorithm\":\"SHA-1\"}",
           "\"aaff4a450a104cd177d28d18d74485e8cae074b7\"");
    EXPECT("States.JsonMerge($.json1, $.json2, false)",
           "{\"json1\":{\"a\":{\"a1\":1,\"a2\":2},\"b\":2},\"json2\":{\"a\":{\"a3\":1,\"a4\":2},\"c\":3}}",
           "{\"a\":{\"a3\":1,\"a4\":2},\"b\":2,\"c\":3}");
    EXPECT("States.MathAdd($.value1, $.step)", "{\"value1\":111,\"step\":-1}", "110");
    EXPECT("States.StringSplit($.inputString, $.splitter)", "{\"inputString\":\"1,2,3,4,5\",\"splitter\":\",\"}",
           "[\"1\",\"2\",\"3\",\"4\",\"5\"]");
    EXPECT("States.StringSplit($.inputString, $.splitter)",
           "{\"inputString\":\"This.is+a,test=string\",\"splitter\":\".+,=\"}",
           "[\"This\",\"is\",\"a\",\"test\",\"string\"]");
    const char *nine = "{\"ImageRecipe\":{\"Arn\":\"arn:aws:imagebuilder:us-east-1:1:image-recipe/x/1.2.3\"}}";
    /* The docs show '{}.{}.{}' with two values, which cannot work: two holes here. */
    EXPECT("States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
           "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States."
           "StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))",
           nine, "\"1.2\"");
}

static void test_strings_and_escapes(void **state)
{
    (void)state;
    EXPECT("States.Format('it\\'s {}', 'me')", NULL, "\"it's me\"");
    EXPECT("States.Format('\\{\\} is not a hole, {} is', 1)", NULL, "\"{} is not a hole, 1 is\"");
    EXPECT("States.Format('back\\\\slash')", NULL, "\"back\\\\slash\"");
    EXPECT("States.Format('path={}', $.p)", "{\"p\":\"C:\\\\dir\"}", "\"path=C:\\\\dir\"");
    EXPECT("States.JsonToString($.o)", "{\"o\":{\"q\":\"say \\\"hi\\\"\"}}",
           "\"{\\\"q\\\":\\\"say \\\\\\\"hi\\\\\\\"\\\"}\"");
    EXPECT("States.Format('{} {} {} {} {}', 1.5, true, null, $.o, $.a)",
           "{\"o\":{\"k\":\"v\",\"n\":[1,2]},\"a\":[\"x\",{}]}",
           "\"1.5 true null {k=v, n=[1, 2]} [x, {}]\"");
    EXPECT("States.Format('{}', 3)", NULL, "\"3\"");
    EXPECT("States.Array('a', 1, -2.5e1, true, false, null, $$.State.Name, $$.Map.Item.Index)", NULL,
           "[\"a\",1,-25,true,false,null,\"S\",2]");
    EXPECT("States.Array()", NULL, "[]");
    EXPECT("  States.Array ( 1 ,2 )  ", NULL, "[1,2]");
    EXPECT("States.Array($.a[*].b)", "{\"a\":[{\"b\":1},{\"b\":2}]}", "[[1,2]]");
    EXPECT("States.Array($['a b'])", "{\"a b\":\"x, y\"}", "[\"x, y\"]");
    EXPECT("States.Array($.a[?(@.b > 1)].b)", "{\"a\":[{\"b\":1},{\"b\":2}]}", "[[2]]");
    EXPECT("States.Base64Encode('é')", NULL, "\"w6k=\"");
    EXPECT("States.Base64Decode('w6k=')", NULL, "\"é\"");
    EXPECT("States.Base64Decode('w6k')", NULL, "\"é\"");              /* padding optional */
    EXPECT("States.Base64Decode('RGF0YQ')", NULL, "\"Data\"");
    EXPECT("States.Base64Decode('')", NULL, "\"\"");
    EXPECT("States.Base64Encode('')", NULL, "\"\"");
    EXPECT("States.Base64Decode('w6 k=')", NULL, "ERR:States.IntrinsicFailure"); /* no blanks */
    EXPECT("States.Base64Decode('w6k==')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.Base64Decode('w=6k')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.Base64Decode('w')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.Base64Decode('RGF0YQ=')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.StringSplit('a,,b,', ',')", NULL, "[\"a\",\"b\"]");
    EXPECT("States.StringSplit('a→b→c', '→')", NULL, "[\"a\",\"b\",\"c\"]");
    EXPECT("States.StringSplit('', ',')", NULL, "[]");
    EXPECT("States.StringToJson('[1, {\"a\": null}]')", NULL, "[1,{\"a\":null}]");
    EXPECT("States.StringToJson('12')", NULL, "12");
}

static void test_hashes(void **state)
{
    (void)state;
    const char *in = "{\"s\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"; /* 60 bytes */
    EXPECT("States.Hash($.s, 'MD5')", in, "\"1198000c11968f9368e02d6da57ec147\"");
    EXPECT("States.Hash($.s, 'SHA-1')", in, "\"06ced2e070e58c2c4ed9f2b8cb890f0c512ce60d\"");
    EXPECT("States.Hash($.s, 'SHA-256')", in,
           "\"42f2d97335669f86846b721a8aa58551a46564eaf6977e3b4836d4645e3e3ed2\"");
    EXPECT("States.Hash($.s, 'SHA-384')", in,
           "\"7c09de3a8c4e581d728350185f18bf240624cc0379e66fb018b897131848cc96eff044b461635ba7d499b1869b3103be\"");
    EXPECT("States.Hash($.s, 'SHA-512')", in,
           "\"01f0f0c295f43c8b62761c27b19e62b6a3c55527a4e6e0bfda42431db1216e8bbd17d89dadb8d5dadfbcf040415b00987c4d99cdb66cfed4cfb4bcef045282ab\"");
    EXPECT("States.Hash($.s, 'SHA-2')", in, "ERR:States.IntrinsicFailure");
    EXPECT("States.Hash(1, 'MD5')", NULL, "ERR:States.IntrinsicFailure");
}

static void test_math_and_random(void **state)
{
    (void)state;
    EXPECT("States.MathAdd(1.5, 1)", NULL, "3");       /* Java Math.round */
    EXPECT("States.MathAdd(-2.5, 0)", NULL, "-2");
    EXPECT("States.MathAdd(2147483647, 1)", NULL, "2147483648");
    EXPECT("States.MathAdd(2147483648, 1)", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.MathAdd('1', 1)", NULL, "ERR:States.IntrinsicFailure");
    /* fixed_random yields 0x0123456789abcdef: 1 + that % 999 */
    char want[32];
    snprintf(want, sizeof want, "%llu", 1 + 0x0123456789abcdefull % 999);
    EXPECT("States.MathRandom(1, 1000)", NULL, want);
    char *a = run("States.MathRandom(1, 1000, 7)", NULL);
    char *b = run("States.MathRandom(1, 1000, 7)", NULL);
    assert_string_equal(a, b);        /* a seed makes it deterministic */
    long v = strtol(a, NULL, 10);
    assert_true(v >= 1 && v < 1000);
    free(a);
    free(b);
    EXPECT("States.MathRandom(5, 5)", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.MathRandom('a', 5)", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.UUID()", NULL, "\"efcdab89-6745-4301-b0cd-ab8967452301\"");
    char *u = run("States.UUID()", NULL);
    assert_int_equal(strlen(u), 38);
    assert_int_equal(u[15], '4');
    assert_true(strchr("89ab", u[20]) != NULL);
    free(u);
}

static void test_no_randomness(void **state)
{
    (void)state;
    asl_intrinsic_t *f;
    assert_int_equal(asl_intrinsic_compile("States.UUID()", &f, NULL, 0), 0);
    cJSON *in = cJSON_CreateObject(), *out = NULL;
    asl_error_t err = {0};
    assert_int_equal(asl_intrinsic_eval(f, in, NULL, &out, &err), -1);
    assert_string_equal(err.error, "States.IntrinsicFailure");
    asl_error_clear(&err);
    cJSON_Delete(in);
    asl_intrinsic_free(f);
}

static void test_runtime_failures(void **state)
{
    (void)state;
    EXPECT("States.ArrayLength('x')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayGetItem($.a, 3)", "{\"a\":[1,2,3]}", "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayGetItem($.a, -1)", "{\"a\":[1,2,3]}", "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayGetItem($.a, 1.5)", "{\"a\":[1,2,3]}", "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayGetItem($.a, 2.0)", "{\"a\":[1,2,3]}", "3");
    EXPECT("States.ArrayPartition($.a, 0)", "{\"a\":[1]}", "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayPartition($.a, 2)", "{\"a\":[]}", "[]");
    EXPECT("States.ArrayRange(1, 2000, 1)", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayLength(States.ArrayRange(1, 1000, 1))", NULL, "1000");
    EXPECT("States.ArrayRange(1, 5, 0)", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.ArrayRange(5, 1, -2)", NULL, "[5,3,1]");
    EXPECT("States.ArrayRange(5, 1, 2)", NULL, "[]");
    EXPECT("States.JsonMerge($.a, $.b, true)", "{\"a\":{},\"b\":{}}", "ERR:States.IntrinsicFailure");
    EXPECT("States.JsonMerge($.a, $.b, false)", "{\"a\":[],\"b\":{}}", "ERR:States.IntrinsicFailure");
    EXPECT("States.Base64Decode('!!!')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.Base64Decode('/w==')", NULL, "ERR:States.IntrinsicFailure");  /* not UTF-8 */
    EXPECT("States.StringToJson('{nope')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.StringSplit(1, ',')", NULL, "ERR:States.IntrinsicFailure");
    EXPECT("States.Format($.t, 1)", "{\"t\":\"no holes\"}", "ERR:States.IntrinsicFailure");
    EXPECT("States.Format($.t)", "{\"t\":5}", "ERR:States.IntrinsicFailure");
    EXPECT("States.Array($.missing)", NULL, "ERR:States.Runtime");
    EXPECT("States.Array(States.ArrayLength(1))", NULL, "ERR:States.IntrinsicFailure");
    /* 10001 characters is over the limit of Base64Encode and Hash. */
    size_t n = 10001;
    char *big = malloc(n + 16);
    strcpy(big, "{\"s\":\"");
    memset(big + 6, 'a', n);
    strcpy(big + 6 + n, "\"}");
    EXPECT("States.Base64Encode($.s)", big, "ERR:States.IntrinsicFailure");
    EXPECT("States.Hash($.s, 'MD5')", big, "ERR:States.IntrinsicFailure");
    free(big);
}

static void test_compile_errors(void **state)
{
    (void)state;
    EXPECT_COMPILE_ERROR("States.Nope(1)", "unknown intrinsic function 'States.Nope'");
    EXPECT_COMPILE_ERROR("States.ArrayLength(1, 2)", "takes 1 argument, got 2");
    EXPECT_COMPILE_ERROR("States.MathRandom(1)", "takes 2 to 3 arguments");
    EXPECT_COMPILE_ERROR("States.Format()", "at least 1");
    EXPECT_COMPILE_ERROR("States.UUID(1)", "takes 0 arguments");
    EXPECT_COMPILE_ERROR("States.Format('{} {}', 1)", "2 '{}' but 1 value");
    EXPECT_COMPILE_ERROR("States.Format('x', 1)", "0 '{}' but 1 value");
    EXPECT_COMPILE_ERROR("States.Format(1)", "must be a string");
    EXPECT_COMPILE_ERROR("States.Array('abc)", "unterminated");
    EXPECT_COMPILE_ERROR("States.Array(1", "missing ')'");
    EXPECT_COMPILE_ERROR("States.Array(1) x", "unexpected text");
    EXPECT_COMPILE_ERROR("States.Array(1,)", "missing argument");
    EXPECT_COMPILE_ERROR("States.Array(\"x\")", "single quotes");
    EXPECT_COMPILE_ERROR("States.Array('\\d')", "invalid escape");
    EXPECT_COMPILE_ERROR("States.Array($.a[)", "invalid JSONPath");
    EXPECT_COMPILE_ERROR("States.Array(01)", "unexpected");
    EXPECT_COMPILE_ERROR("$.a", "expected an intrinsic");
    EXPECT_COMPILE_ERROR("States.Array(truex)", "unexpected");
    EXPECT_COMPILE_ERROR("States.Array(1e400)", "out of range");
    /* 10 nested calls are fine, 11 are not. */
    char buf[512] = "";
    for (int i = 0; i < 10; i++)
        strcat(buf, "States.Array(");
    strcat(buf, "1");
    for (int i = 0; i < 10; i++)
        strcat(buf, ")");
    EXPECT(buf, NULL, "[[[[[[[[[[1]]]]]]]]]]");
    char deeper[600] = "States.Array(";
    strcat(deeper, buf);
    strcat(deeper, ")");
    EXPECT_COMPILE_ERROR(deeper, "at most 10");
}

static void test_is_call(void **state)
{
    (void)state;
    assert_true(asl_intrinsic_is_call("States.Format('x')"));
    assert_true(asl_intrinsic_is_call("  States.UUID ()"));
    assert_true(asl_intrinsic_is_call("States.Nope(1)"));
    assert_false(asl_intrinsic_is_call("$.States"));
    assert_false(asl_intrinsic_is_call("States.Format"));
    assert_false(asl_intrinsic_is_call("States.(1)"));
    assert_false(asl_intrinsic_is_call(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_doc_examples),
        cmocka_unit_test(test_strings_and_escapes),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_math_and_random),
        cmocka_unit_test(test_no_randomness),
        cmocka_unit_test(test_runtime_failures),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_is_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
