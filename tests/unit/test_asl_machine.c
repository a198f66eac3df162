/* Unit tests for the ASL definition parser/validator (asl/machine.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asl/machine.h"

static asl_machine_t *compile_ok(const char *text)
{
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    int rc = asl_machine_compile_text(text, strlen(text), &m, &p);
    for (size_t i = 0; i < p.count; i++)
        fprintf(stderr, "unexpected problem: %s.%s: %s\n", p.items[i].state ? p.items[i].state : "-",
                p.items[i].field ? p.items[i].field : "-", p.items[i].message);
    assert_int_equal(rc, 0);
    assert_non_null(m);
    asl_problems_free(&p);
    return m;
}

/* Compiles an invalid definition; returns its problems (caller frees). */
static asl_problems_t compile_bad(const char *text)
{
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    assert_int_equal(asl_machine_compile_text(text, strlen(text), &m, &p), -1);
    assert_null(m);
    assert_true(p.count > 0);
    return p;
}

static int has(const asl_problems_t *p, const char *state, const char *field, const char *needle)
{
    for (size_t i = 0; i < p->count; i++) {
        const asl_problem_t *it = &p->items[i];
        if ((state == NULL) != (it->state == NULL))
            continue;
        if (state && strcmp(state, it->state) != 0)
            continue;
        if (field && (!it->field || strcmp(field, it->field) != 0))
            continue;
        if (needle && !strstr(it->message, needle))
            continue;
        return 1;
    }
    for (size_t i = 0; i < p->count; i++)
        fprintf(stderr, "  have: %s.%s: %s\n", p->items[i].state ? p->items[i].state : "-",
                p->items[i].field ? p->items[i].field : "-", p->items[i].message);
    return 0;
}

static const char *ORDER =
    "{\"Comment\":\"order\",\"StartAt\":\"Check\",\"TimeoutSeconds\":60,\"States\":{"
    "\"Check\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.ok\",\"BooleanEquals\":true,"
    "\"Next\":\"Create\"}],\"Default\":\"Nothing\"},"
    "\"Create\":{\"Type\":\"Task\",\"Resource\":\"sagad:orders.create\",\"Next\":\"Both\","
    "\"Retry\":[{\"ErrorEquals\":[\"X\"]},{\"ErrorEquals\":[\"States.ALL\"]}],"
    "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"Cancel\"}]},"
    "\"Both\":{\"Type\":\"Parallel\",\"Next\":\"Each\",\"Branches\":["
    "{\"StartAt\":\"P1\",\"States\":{\"P1\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"End\":true}}},"
    "{\"StartAt\":\"P2\",\"States\":{\"P2\":{\"Type\":\"Pass\",\"End\":true}}}]},"
    "\"Each\":{\"Type\":\"Map\",\"ItemsPath\":\"$.items\",\"MaxConcurrency\":2,\"End\":true,"
    "\"ItemProcessor\":{\"StartAt\":\"M1\",\"States\":{\"M1\":{\"Type\":\"Wait\",\"Seconds\":1,\"End\":true}}}},"
    "\"Cancel\":{\"Type\":\"Fail\",\"Error\":\"Cancelled\"},"
    "\"Nothing\":{\"Type\":\"Succeed\"}}}";

static void test_accessors(void **state)
{
    (void)state;
    asl_machine_t *m = compile_ok(ORDER);
    assert_int_equal(asl_machine_state_count(m), 6);
    assert_string_equal(asl_machine_comment(m), "order");
    assert_int_equal(asl_machine_timeout_seconds(m), 60);
    assert_string_equal(asl_machine_state_name(m, asl_machine_start_index(m)), "Check");
    long c = asl_machine_find_state(m, "Create");
    assert_true(c >= 0);
    assert_int_equal(asl_machine_find_state(m, "Nope"), -1);
    assert_int_equal(asl_machine_state_type(m, (size_t)c), ASL_STATE_TASK);
    assert_string_equal(asl_machine_state_resource(m, (size_t)c), "sagad:orders.create");
    assert_string_equal(asl_machine_state_handler(m, (size_t)c), "orders.create");
    assert_string_equal(asl_machine_state_next(m, (size_t)c), "Both");
    assert_int_equal(asl_machine_state_retry_count(m, (size_t)c), 2);
    assert_int_equal(asl_machine_state_catch_count(m, (size_t)c), 1);
    assert_string_equal(asl_machine_state_catch_next(m, (size_t)c, 0), "Cancel");
    assert_true(cJSON_IsArray(asl_machine_state_catch_errors(m, (size_t)c, 0)));
    const asl_state_t *cs = asl_machine_state(m, (size_t)c);
    assert_int_equal(cs->retry[0].max_attempts, 3);
    assert_true(cs->retry[0].interval_s == 1.0 && cs->retry[0].backoff_rate == 2.0);

    long ch = asl_machine_find_state(m, "Check");
    assert_int_equal(asl_machine_state_type(m, (size_t)ch), ASL_STATE_CHOICE);
    assert_null(asl_machine_state_next(m, (size_t)ch));
    assert_int_equal(asl_machine_state_choice_count(m, (size_t)ch), 1);
    assert_string_equal(asl_machine_state_choice_next(m, (size_t)ch, 0), "Create");
    assert_string_equal(asl_machine_state_default(m, (size_t)ch), "Nothing");

    long b = asl_machine_find_state(m, "Both");
    assert_int_equal(asl_machine_state_branch_count(m, (size_t)b), 2);
    const asl_machine_t *b1 = asl_machine_state_branch(m, (size_t)b, 1);
    assert_non_null(b1);
    assert_string_equal(asl_machine_state_name(b1, 0), "P2");
    long e = asl_machine_find_state(m, "Each");
    assert_int_equal(asl_machine_state_branch_count(m, (size_t)e), 1);
    assert_true(asl_machine_state_is_end(m, (size_t)e));
    assert_true(asl_machine_state_is_end(m, (size_t)asl_machine_find_state(m, "Cancel")));
    assert_string_equal(asl_state_type_name(ASL_STATE_MAP), "Map");
    asl_machine_free(m);
}

static int collect(const char *handler, const char *st, void *ud)
{
    (void)st;
    char *buf = ud;
    strcat(buf, handler);
    strcat(buf, ";");
    return 0;
}

static void test_foreach_handler(void **state)
{
    (void)state;
    asl_machine_t *m = compile_ok(ORDER);
    char buf[256] = "";
    assert_int_equal(asl_machine_foreach_handler(m, collect, buf), 0);
    assert_string_equal(buf, "orders.create;echo;");
    asl_machine_free(m);
}

static void test_compile_from_cjson(void **state)
{
    (void)state;
    cJSON *def = cJSON_Parse(ORDER);
    asl_machine_t *m = NULL;
    asl_problems_t p;
    asl_problems_init(&p);
    assert_int_equal(asl_machine_compile(def, &m, &p), 0);
    cJSON_Delete(def); /* the machine keeps its own copy */
    assert_string_equal(asl_machine_state_name(m, 0), "Check");
    assert_true(cJSON_IsObject(asl_machine_definition(m)));
    asl_machine_free(m);
    asl_problems_free(&p);
}

static void test_json_syntax_error(void **state)
{
    (void)state;
    const char *t = "{\"StartAt\": \"A\",\n \"States\": {\"A\": {\"Type\": \"Pass\" \"End\": true}}}";
    asl_problems_t p = compile_bad(t);
    assert_int_equal(p.count, 1);
    assert_null(p.items[0].state);
    assert_non_null(strstr(p.items[0].message, "line 2, column"));
    asl_problems_free(&p);
    p = compile_bad("{\"StartAt\": ");
    assert_non_null(strstr(p.items[0].message, "line 1"));
    asl_problems_free(&p);
    p = compile_bad("[1,2]");
    assert_true(has(&p, NULL, NULL, "JSON object"));
    asl_problems_free(&p);
}

static void test_top_level_problems(void **state)
{
    (void)state;
    asl_problems_t p = compile_bad("{\"States\":{\"A\":{\"Type\":\"Succeed\"}},\"Bogus\":1,"
                                   "\"TimeoutSeconds\":-3}");
    assert_true(has(&p, NULL, "StartAt", "required"));
    assert_true(has(&p, NULL, "Bogus", "unknown"));
    assert_true(has(&p, NULL, "TimeoutSeconds", NULL));
    asl_problems_free(&p);
    p = compile_bad("{\"StartAt\":\"Z\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}");
    assert_true(has(&p, NULL, "StartAt", "\"Z\" does not exist"));
    asl_problems_free(&p);
    p = compile_bad("{\"StartAt\":\"A\",\"States\":{}}");
    assert_true(has(&p, NULL, "States", NULL));
    asl_problems_free(&p);
}

/* One pass finds every problem, each with its state and field. */
static void test_all_problems_in_one_pass(void **state)
{
    (void)state;
    const char *t =
        "{\"StartAt\":\"A\",\"States\":{"
        "\"A\":{\"Type\":\"Pass\",\"Next\":\"Nope\",\"End\":true},"
        "\"B\":{\"Type\":\"Taks\"},"
        "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.x\",\"NumericEquals\":1,\"Next\":\"A\"}],\"End\":true},"
        "\"D\":{\"Type\":\"Fail\",\"Next\":\"A\"},"
        "\"S\":{\"Type\":\"Succeed\",\"End\":true},"
        "\"E\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:lambda:x\",\"Foo\":1,\"End\":true,"
        "  \"Retry\":[{\"ErrorEquals\":[\"States.ALL\",\"X\"],\"MaxAttempts\":-1,\"BackoffRate\":0.5,"
        "             \"IntervalSeconds\":0,\"JitterStrategy\":\"HALF\"},{\"ErrorEquals\":[\"Y\"]}],"
        "  \"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"A\"},{\"ErrorEquals\":[\"Z\",\"States.Al\"],\"Next\":\"Gone\"}],"
        "  \"TimeoutSeconds\":5,\"TimeoutSecondsPath\":\"$.t\"},"
        "\"F\":{\"Type\":\"Wait\",\"Seconds\":1,\"SecondsPath\":\"$.x\",\"Next\":\"A\"},"
        "\"G\":{\"Type\":\"Pass\",\"InputPath\":\"$.a[\",\"ResultPath\":\"$.b[*]\",\"Parameters\":[1],\"End\":true},"
        "\"H\":{\"Type\":\"Wait\",\"Timestamp\":\"yesterday\",\"End\":true},"
        "\"I\":{\"Type\":\"Pass\"},"
        "\"J\":{\"Type\":\"Task\",\"Resource\":5,\"End\":\"yes\"},"
        "\"K\":{\"Type\":\"Map\",\"End\":true,\"MaxConcurrency\":-1,\"ToleratedFailurePercentage\":150},"
        "\"L\":{\"Type\":\"Parallel\",\"End\":true,\"Branches\":[]},"
        "\"M\":{\"Type\":\"Fail\",\"Error\":\"x\",\"ErrorPath\":\"$.e\"},"
        "\"N\":\"not an object\","
        "\"O\":{\"Comment\":\"no type\"}"
        "}}";
    asl_problems_t p = compile_bad(t);
    assert_true(has(&p, "A", "Next", "cannot both"));
    assert_true(has(&p, "A", "Next", "\"Nope\" does not exist"));
    assert_true(has(&p, "B", "Type", "unknown state type"));
    assert_true(has(&p, "C", "End", "Choice"));
    assert_true(has(&p, "D", "Next", "Fail"));
    assert_true(has(&p, "S", "End", "Succeed"));
    assert_true(has(&p, "E", "Resource", "sagad:NAME"));
    assert_true(has(&p, "E", "Foo", "unknown field"));
    assert_true(has(&p, "E", "Retry[0].ErrorEquals", "alone"));
    assert_true(has(&p, "E", "Retry[0].ErrorEquals", "last"));
    assert_true(has(&p, "E", "Retry[0].MaxAttempts", "negative"));
    assert_true(has(&p, "E", "Retry[0].BackoffRate", NULL));
    assert_true(has(&p, "E", "Retry[0].IntervalSeconds", NULL));
    assert_true(has(&p, "E", "Retry[0].JitterStrategy", NULL));
    assert_true(has(&p, "E", "Catch[0].ErrorEquals", "last"));
    assert_true(has(&p, "E", "Catch[1].Next", "\"Gone\" does not exist"));
    assert_true(has(&p, "E", "Catch[1].ErrorEquals", "States.Al"));
    assert_true(has(&p, "E", "TimeoutSeconds", "both"));
    assert_true(has(&p, "F", "Seconds", "only one"));
    assert_true(has(&p, "G", "InputPath", NULL));
    assert_true(has(&p, "G", "ResultPath", NULL));
    assert_true(has(&p, "G", "Parameters", "JSON object"));
    assert_true(has(&p, "H", "Timestamp", "RFC 3339"));
    assert_true(has(&p, "I", "Next", "required"));
    assert_true(has(&p, "J", "Resource", "string"));
    assert_true(has(&p, "J", "End", "boolean"));
    assert_true(has(&p, "K", "ItemProcessor", "required"));
    assert_true(has(&p, "K", "MaxConcurrency", NULL));
    assert_true(has(&p, "K", "ToleratedFailurePercentage", NULL));
    assert_true(has(&p, "L", "Branches", NULL));
    assert_true(has(&p, "M", "Error", "both"));
    assert_true(has(&p, "N", NULL, "JSON object"));
    assert_true(has(&p, "O", "Type", "required"));
    assert_true(has(&p, "B", NULL, "unreachable"));
    assert_true(has(&p, "H", NULL, "unreachable"));
    asl_problems_free(&p);
}

static void test_nested_problems(void **state)
{
    (void)state;
    const char *t =
        "{\"StartAt\":\"P\",\"States\":{"
        "\"P\":{\"Type\":\"Parallel\",\"Next\":\"M\",\"Branches\":["
        "  {\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\",\"Next\":\"Y\"}}},"
        "  {\"States\":{\"X\":{\"Type\":\"Pass\",\"End\":true}}}]},"
        "\"M\":{\"Type\":\"Map\",\"End\":true,\"Iterator\":{\"StartAt\":\"I\",\"States\":{"
        "  \"I\":{\"Type\":\"Succeed\"},\"Lost\":{\"Type\":\"Succeed\"}}},"
        "  \"Parameters\":{\"a\":1},\"ItemSelector\":{\"b\":2}}"
        "}}";
    asl_problems_t p = compile_bad(t);
    assert_true(has(&p, "P/X", "Next", "\"Y\" does not exist"));
    assert_true(has(&p, "P", "Branches[1].StartAt", "required"));
    assert_true(has(&p, "M/Lost", NULL, "unreachable"));
    assert_true(has(&p, "M", "ItemSelector", "both"));
    asl_problems_free(&p);
}

static void test_duplicate_fields(void **state)
{
    (void)state;
    asl_problems_t p = compile_bad(
        "{\"StartAt\":\"C\",\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":"
        "[{\"Variable\":\"$.v\",\"StringEquals\":\"*\",\"Next\":\"R\",\"Next\":\"R\"}],\"Default\":\"R\"},"
        "\"R\":{\"Type\":\"Parallel\",\"End\":true,\"Branches\":[{\"StartAt\":\"X\",\"States\":"
        "{\"X\":{\"Type\":\"Pass\",\"End\":true,\"End\":true}}}]},"
        "\"R\":{\"Type\":\"Succeed\"}}}");
    assert_true(has(&p, NULL, "StartAt", "duplicate"));
    assert_true(has(&p, "C", "Choices[0].Next", "duplicate"));
    assert_true(has(&p, "R/X", "End", "duplicate"));
    assert_true(has(&p, NULL, "States.R", "duplicate"));
    asl_problems_free(&p);
}

static void test_valid_variants(void **state)
{
    (void)state;
    /* Fields that are easy to reject by mistake. */
    asl_machine_t *m = compile_ok(
        "{\"StartAt\":\"A\",\"Version\":\"1.0\",\"States\":{"
        "\"A\":{\"Type\":\"Pass\",\"Result\":0,\"ResultPath\":null,\"InputPath\":null,\"Next\":\"W\"},"
        "\"W\":{\"Type\":\"Wait\",\"Timestamp\":\"2026-01-01T00:00:00Z\",\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"TimeoutSecondsPath\":\"$.t\","
        "  \"HeartbeatSeconds\":5,\"ResultSelector\":{\"a\":1},\"Next\":\"F\","
        "  \"Retry\":[{\"ErrorEquals\":[\"States.Timeout\"],\"MaxAttempts\":0,\"MaxDelaySeconds\":3,"
        "             \"JitterStrategy\":\"FULL\",\"BackoffRate\":1}],"
        "  \"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.err\",\"Next\":\"F\"}]},"
        "\"F\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\",\"ToleratedFailureCountPath\":\"$.n\","
        "  \"ItemProcessor\":{\"ProcessorConfig\":{\"Mode\":\"INLINE\"},\"StartAt\":\"Z\","
        "  \"States\":{\"Z\":{\"Type\":\"Fail\",\"ErrorPath\":\"$.e\",\"Cause\":\"c\"}}},\"End\":true}}}");
    const asl_state_t *t = asl_machine_state(m, (size_t)asl_machine_find_state(m, "T"));
    assert_int_equal(t->retry[0].max_attempts, 0);
    assert_true(t->retry[0].jitter_full);
    assert_non_null(t->timeout.path);
    const asl_state_t *a = asl_machine_state(m, 0);
    assert_true(a->result_path_null && a->input_path_null);
    assert_true(cJSON_IsNumber(a->result));
    asl_machine_free(m);
}

/* A chain S0 -> S1 -> ... of n Pass states, or (fan_out) a Choice S0 with
 * a rule to each of S1..S(n-1), which are Succeed states. Caller frees. */
static char *big_definition(size_t n, int fan_out)
{
    size_t cap = n * 96 + 256, len = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    len += (size_t)snprintf(d + len, cap - len, "{\"StartAt\":\"S0\",\"States\":{");
    if (fan_out) {
        len += (size_t)snprintf(d + len, cap - len, "\"S0\":{\"Type\":\"Choice\",\"Choices\":[");
        for (size_t i = 1; i < n; i++)
            len += (size_t)snprintf(d + len, cap - len, "%s{\"Variable\":\"$.x\","
                                    "\"NumericEquals\":%zu,\"Next\":\"S%zu\"}", i > 1 ? "," : "", i, i);
        len += (size_t)snprintf(d + len, cap - len, "],\"Default\":\"S1\"}");
        for (size_t i = 1; i < n; i++)
            len += (size_t)snprintf(d + len, cap - len, ",\"S%zu\":{\"Type\":\"Succeed\"}", i);
    } else {
        for (size_t i = 0; i + 1 < n; i++)
            len += (size_t)snprintf(d + len, cap - len, "%s\"S%zu\":{\"Type\":\"Pass\",\"Next\":\"S%zu\"}",
                                    i ? "," : "", i, i + 1);
        len += (size_t)snprintf(d + len, cap - len, "%s\"S%zu\":{\"Type\":\"Pass\",\"End\":true}",
                                n > 1 ? "," : "", n - 1);
    }
    snprintf(d + len, cap - len, "}}");
    return d;
}

/* CPU seconds to compile a big definition (which must be valid). */
static double compile_seconds(size_t n, int fan_out)
{
    char *d = big_definition(n, fan_out);
    asl_machine_t *m = NULL;
    clock_t t0 = clock();
    int rc = asl_machine_compile_text(d, strlen(d), &m, NULL);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(rc, 0);
    assert_int_equal(asl_machine_state_count(m), n);
    asl_machine_free(m);
    free(d);
    return secs;
}

/* Validation runs on the daemon's loop, so it must stay near-linear in the
 * size of the definition: 10 times the states may cost about 10 times the
 * time, not 100 (a quadratic duplicate-name check took 21 s for 100,000
 * states). CPU time, with wide margins for sanitizers, caches and a busy
 * machine (here 0.4-0.8 s, 2.2 s under ASan). */
static void test_big_definitions_compile_in_linear_time(void **state)
{
    (void)state;
    for (int fan_out = 0; fan_out <= 1; fan_out++) {
        double small = compile_seconds(10000, fan_out);
        double big = compile_seconds(100000, fan_out);
        fprintf(stderr, "  %s: 10,000 states %.3f s, 100,000 states %.3f s\n",
                fan_out ? "Choice fan-out" : "Pass chain", small, big);
        assert_true(big < 6.0);
        assert_true(big < 60 * small + 0.05);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_foreach_handler),
        cmocka_unit_test(test_compile_from_cjson),
        cmocka_unit_test(test_json_syntax_error),
        cmocka_unit_test(test_top_level_problems),
        cmocka_unit_test(test_all_problems_in_one_pass),
        cmocka_unit_test(test_nested_problems),
        cmocka_unit_test(test_duplicate_fields),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_big_definitions_compile_in_linear_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
