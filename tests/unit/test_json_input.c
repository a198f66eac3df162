/* Unit tests for core/jsonin: each strict rule on client JSON (UTF-8,
 * surrogates, duplicate keys, integers beyond 2^53, grammar) with the byte it
 * reports, and the valid edge cases that must pass and parse unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonin.h"

/* Checks `text` (sizeof - 1 bytes, so NUL bytes inside count) and expects
 * `code` at byte `at` with `fragment` in the message. */
#define REFUSED(text, code, at, fragment) refused(text, sizeof(text) - 1, code, at, fragment)

static void refused(const char *text, size_t len, int code, size_t at, const char *fragment)
{
    jsonin_error_t e;
    int rc = jsonin_check(text, len, &e);
    if (rc != code || e.offset != at || !strstr(e.message, fragment))
        fail_msg("%.*s: got %d at %zu \"%s\", wanted %d at %zu with \"%s\"", (int)len, text, rc,
                 e.offset, e.message, code, at, fragment);
    char where[32];
    snprintf(where, sizeof where, "at byte %zu", at);
    assert_non_null(strstr(e.message, where));
}

static void accepted(const char *text)
{
    jsonin_error_t e;
    int rc = jsonin_check(text, strlen(text), &e);
    if (rc != JSONIN_OK)
        fail_msg("%s: refused (%d) %s", text, rc, e.message);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    REFUSED("\"\xc0\xaf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"\xc1\xbf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"\xe0\x80\xaf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"\xe0\x9f\xbf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"\xf0\x80\x80\xaf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"\xf0\x8f\xbf\xbf\"", JSONIN_ERR_UTF8, 1, "overlong");
    REFUSED("\"ab\xf5\x80\x80\x80\"", JSONIN_ERR_UTF8, 3, "0xF5");
    REFUSED("\"\xff\"", JSONIN_ERR_UTF8, 1, "0xFF");
    REFUSED("\"\xfe\"", JSONIN_ERR_UTF8, 1, "0xFE");
    REFUSED("\"\xf4\x90\x80\x80\"", JSONIN_ERR_UTF8, 1, "U+10FFFF");
    REFUSED("\"\xed\xa0\x80\"", JSONIN_ERR_UTF8, 1, "surrogate");
    REFUSED("\"\xed\xbf\xbf\"", JSONIN_ERR_UTF8, 1, "surrogate");
    REFUSED("\"\xed\xa0\x80\xed\xb0\x80\"", JSONIN_ERR_UTF8, 1, "surrogate");
    REFUSED("\"\x80\"", JSONIN_ERR_UTF8, 1, "continuation");
    REFUSED("\"\xbf\"", JSONIN_ERR_UTF8, 1, "continuation");
    /* truncated: before the closing quote, before another lead, at the end */
    REFUSED("\"x\xe2\x82\"", JSONIN_ERR_UTF8, 2, "truncated");
    REFUSED("\"\xc3\xc3\xa9\"", JSONIN_ERR_UTF8, 1, "truncated");
    REFUSED("\"\xf0\x9f\x98", JSONIN_ERR_UTF8, 1, "truncated");
    REFUSED("\"\xe2", JSONIN_ERR_UTF8, 1, "truncated");
    /* in keys too, and deep inside */
    REFUSED("{\"k\xff\": 1}", JSONIN_ERR_UTF8, 3, "0xFF");
    REFUSED("[[{\"a\": [\"\xc0\x80\"]}]]", JSONIN_ERR_UTF8, 10, "overlong");
    /* outside strings, a byte above 0x7F is a syntax error */
    REFUSED("\xef\xbb\xbf{}", JSONIN_ERR_SYNTAX, 0, "0xEF");
}

static void test_unpaired_surrogate_escapes(void **state)
{
    (void)state;
    REFUSED("\"\\uD800\"", JSONIN_ERR_SURROGATE, 1, "\\uD800");
    REFUSED("\"\\udbff\"", JSONIN_ERR_SURROGATE, 1, "\\uDBFF");
    REFUSED("\"\\uDC00\"", JSONIN_ERR_SURROGATE, 1, "low surrogate \\uDC00");
    REFUSED("\"ab\\uDFFF\\uD800\"", JSONIN_ERR_SURROGATE, 3, "\\uDFFF");
    REFUSED("\"\\uD800\\u0041\"", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("\"\\uD800\\uD800\"", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("\"\\uD800x\"", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("\"\\uD800\\n\"", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("\"\\uD800\\uDC0\"", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("\"\\uD800", JSONIN_ERR_SURROGATE, 1, "high surrogate");
    REFUSED("{\"\\uDC00\": 1}", JSONIN_ERR_SURROGATE, 2, "low surrogate");
    /* a pair followed by a lone low one */
    REFUSED("\"\\uD83D\\uDE00\\uDE00\"", JSONIN_ERR_SURROGATE, 13, "low surrogate");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    REFUSED("{\"quantity\": 1, \"quantity\": 5}", JSONIN_ERR_DUPLICATE, 16, "\"quantity\"");
    REFUSED("{\"a\": {\"b\": [1, {\"k\": 1, \"j\": 2, \"k\": 3}]}}", JSONIN_ERR_DUPLICATE, 33,
            "\"k\"");
    /* compared unescaped: "a" and "\u0061" are the same key */
    REFUSED("{\"a\": 1, \"\\u0061\": 2}", JSONIN_ERR_DUPLICATE, 9, "\"a\"");
    REFUSED("{\"\\uD83D\\uDE00\": 1, \"\xf0\x9f\x98\x80\": 2}", JSONIN_ERR_DUPLICATE, 20,
            "\"\xf0\x9f\x98\x80\"");
    /* of three, the second occurrence is named */
    REFUSED("{\"x\": 1, \"y\": 1, \"x\": 2, \"x\": 3}", JSONIN_ERR_DUPLICATE, 17, "\"x\"");
    REFUSED("{\"\": 1, \"\": 2}", JSONIN_ERR_DUPLICATE, 8, "\"\"");
    /* a long key is cut at a character boundary in the message */
    char text[512];
    char key[200];
    for (int i = 0; i < 66; i++)
        memcpy(key + 3 * i, "\xe2\x82\xac", 3);
    key[198] = '\0';
    int n = snprintf(text, sizeof text, "{\"%s\": 1, \"%s\": 2}", key, key);
    jsonin_error_t e;
    assert_int_equal(jsonin_check(text, (size_t)n, &e), JSONIN_ERR_DUPLICATE);
    const char *q = strstr(e.message, "\"\xe2\x82\xac");
    assert_non_null(q);
    assert_non_null(strstr(q, "\xe2\x82\xac...\""));
    /* the same key in different objects, or as a value, is fine */
    accepted("{\"k\": {\"k\": {\"k\": 1}}, \"o\": {\"k\": 2}, \"l\": [{\"k\": 1}, {\"k\": 2}]}");
    accepted("{\"a\": \"a\", \"b\": [\"a\", \"a\"], \"A\": 1, \"a \": 2}");
}

static void test_integers_beyond_2_53(void **state)
{
    (void)state;
    REFUSED("9007199254740993", JSONIN_ERR_NUMBER, 0, "integer 9007199254740993 is beyond 2^53");
    REFUSED("[-9007199254740993]", JSONIN_ERR_NUMBER, 1, "integer -9007199254740993");
    REFUSED("{\"n\": 9999999999999999}", JSONIN_ERR_NUMBER, 6, "9999999999999999");
    REFUSED("{\"n\": 18446744073709551616}", JSONIN_ERR_NUMBER, 6, "18446744073709551616");
    REFUSED("[1, 10000000000000000000000000000000000000000000000000]", JSONIN_ERR_NUMBER, 4,
            "1000000000000000000000000000000000000000...");
    REFUSED("[1e400]", JSONIN_ERR_NUMBER, 1, "1e400 is too large");
    REFUSED("[-1.5E+999]", JSONIN_ERR_NUMBER, 1, "too large");
    accepted("9007199254740992");
    accepted("-9007199254740992");
    accepted("[9007199254740991, -9007199254740991, 0, -0, 1]");
    /* fractions and exponents are doubles: allowed when finite */
    accepted("[1e300, -1e300, 1E+2, 1e-400, 0.5, -0.0, 9007199254740993.0, 12345678901234567e3]");
    accepted("1.7976931348623157e308");
}

static void test_grammar(void **state)
{
    (void)state;
    REFUSED("", JSONIN_ERR_SYNTAX, 0, "unexpected end");
    REFUSED("   ", JSONIN_ERR_SYNTAX, 3, "unexpected end");
    REFUSED("{oops", JSONIN_ERR_SYNTAX, 1, "expected a key");
    REFUSED("{\"a\" 1}", JSONIN_ERR_SYNTAX, 5, "expected ':'");
    REFUSED("{\"a\": 1,}", JSONIN_ERR_SYNTAX, 8, "expected a key");
    REFUSED("[1,]", JSONIN_ERR_SYNTAX, 3, "unexpected character ']'");
    REFUSED("[1 2]", JSONIN_ERR_SYNTAX, 3, "expected ',' or ']'");
    REFUSED("{\"a\": 1]", JSONIN_ERR_SYNTAX, 7, "expected ',' or '}'");
    REFUSED("[1", JSONIN_ERR_SYNTAX, 2, "unexpected end");
    REFUSED("{} {}", JSONIN_ERR_SYNTAX, 3, "after the JSON value");
    REFUSED("{}\0", JSONIN_ERR_SYNTAX, 2, "after the JSON value");
    REFUSED("01", JSONIN_ERR_SYNTAX, 0, "start with 0");
    REFUSED("[-01]", JSONIN_ERR_SYNTAX, 1, "start with 0");
    REFUSED("1.", JSONIN_ERR_SYNTAX, 0, "fraction");
    REFUSED("[1.e5]", JSONIN_ERR_SYNTAX, 1, "fraction");
    REFUSED("1e", JSONIN_ERR_SYNTAX, 0, "exponent");
    REFUSED("-", JSONIN_ERR_SYNTAX, 0, "digits");
    REFUSED("+1", JSONIN_ERR_SYNTAX, 0, "'+'");
    REFUSED("tru", JSONIN_ERR_SYNTAX, 0, "'t'");
    REFUSED("\"abc", JSONIN_ERR_SYNTAX, 0, "unterminated");
    REFUSED("\"abc\\", JSONIN_ERR_SYNTAX, 4, "unterminated");
    REFUSED("\"\\x41\"", JSONIN_ERR_SYNTAX, 1, "invalid escape");
    REFUSED("\"\\u12G4\"", JSONIN_ERR_SYNTAX, 1, "four hex digits");
    REFUSED("\"\\u12\"", JSONIN_ERR_SYNTAX, 1, "four hex digits");
    REFUSED("\"tab\there\"", JSONIN_ERR_SYNTAX, 4, "control character 0x09");
    REFUSED("\"nul\0\"", JSONIN_ERR_SYNTAX, 4, "control character 0x00");
    REFUSED("\"a\\u0000b\"", JSONIN_ERR_NUL, 2, "\\u0000");
    accepted(" \t\r\n{ \"a\" : [ true , false , null , \"\" , { } , [ ] ] } \n");
    accepted("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0001 \\u001b \\u007f\"");
    accepted("0");
    accepted("-0.5e-7");
    accepted("\"\x7f\"");
}

static void test_valid_unicode(void **state)
{
    (void)state;
    accepted("\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf\"");
    accepted("\"\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
    accepted("{\"\xf0\x9f\x98\x80\": \"\\uD83D\\uDE00\", \"\\udbff\\udfff\": \"\\uD800\\uDC00\"}");
}

static void test_nesting_limit_matches_cjson(void **state)
{
    (void)state;
    size_t deep = CJSON_NESTING_LIMIT + 1;
    char *text = malloc(2 * deep);
    assert_non_null(text);
    memset(text, '[', deep);
    memset(text + deep, ']', deep);
    jsonin_error_t e;
    cJSON *v = NULL;
    assert_int_equal(jsonin_parse(text + 1, 2 * deep - 2, &v, &e), JSONIN_OK);
    assert_non_null(v);
    cJSON_Delete(v);
    assert_int_equal(jsonin_parse(text, 2 * deep, &v, &e), JSONIN_ERR_SYNTAX);
    assert_null(v);
    assert_non_null(strstr(e.message, "nesting deeper than"));
    free(text);
}

static void test_parse_keeps_values(void **state)
{
    (void)state;
    const char text[] = "{\"s\": \"\\uD83D\\uDE00\xf4\x8f\xbf\xbf\", \"max\": 9007199254740992, "
                        "\"min\": -9007199254740992, \"big\": 1e300}  ";
    jsonin_error_t e;
    cJSON *v = NULL;
    assert_int_equal(jsonin_parse(text, sizeof text - 1, &v, &e), JSONIN_OK);
    assert_string_equal(cJSON_GetObjectItem(v, "s")->valuestring,
                        "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    assert_true(cJSON_GetObjectItem(v, "max")->valuedouble == JSONIN_INTEGER_MAX);
    assert_true(cJSON_GetObjectItem(v, "min")->valuedouble == -JSONIN_INTEGER_MAX);
    assert_true(cJSON_GetObjectItem(v, "big")->valuedouble == 1e300);
    cJSON_Delete(v);
    /* not NUL-terminated: only len bytes are read */
    char buf[8];
    memcpy(buf, "[1, 2]xx", 8);
    assert_int_equal(jsonin_parse(buf, 6, &v, &e), JSONIN_OK);
    assert_int_equal(cJSON_GetArraySize(v), 2);
    cJSON_Delete(v);
    assert_int_equal(jsonin_parse("{\"a\":1,\"a\":2}", 13, &v, &e), JSONIN_ERR_DUPLICATE);
    assert_null(v);
}

/* Many keys in one object and many objects: linear enough to be instant. */
static void test_large_documents(void **state)
{
    (void)state;
    size_t n = 200000, cap = n * 24 + 16, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s\"k%zu\": {\"k\": %zu}", i ? "," : "", i, i);
    text[len++] = '}';
    jsonin_error_t e;
    assert_int_equal(jsonin_check(text, len, &e), JSONIN_OK);
    /* the same key last: found, with its byte */
    len--;
    int extra = snprintf(text + len, cap - len, ",\"k7\": 0}");
    assert_int_equal(jsonin_check(text, len + (size_t)extra, &e), JSONIN_ERR_DUPLICATE);
    assert_int_equal(e.offset, len + 1);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unpaired_surrogate_escapes),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_integers_beyond_2_53),
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_valid_unicode),
        cmocka_unit_test(test_nesting_limit_matches_cjson),
        cmocka_unit_test(test_parse_keeps_values),
        cmocka_unit_test(test_large_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
