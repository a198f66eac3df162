/* Unit tests for the ASL execution engine (asl/exec.h): every state type,
 * data flow, Retry/Catch timing and counts, children, the context object,
 * history events, cursor persistence and the synchronous driver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/exec.h"
#include "asl/run.h"
#include "asl/json.h"

static asl_machine_t *compile(const char *text)
{
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    int rc = asl_machine_compile_text(text, strlen(text), &m, &p);
    for (size_t i = 0; i < p.count; i++)
        fprintf(stderr, "problem: %s.%s: %s\n", p.items[i].state ? p.items[i].state : "-",
                p.items[i].field ? p.items[i].field : "-", p.items[i].message);
    asl_problems_free(&p);
    assert_int_equal(rc, 0);
    return m;
}

/* Runs def on input; returns the printed output or "FAILED:Error:Cause". */
static char *run_opts(const char *def, const char *input, asl_run_opts_t *o, asl_run_result_t *res)
{
    asl_machine_t *m = compile(def);
    cJSON *in = cJSON_Parse(input);
    assert_non_null(in);
    assert_int_equal(asl_run(m, in, o, res), 0);
    char *s;
    if (res->status == ASL_STEP_SUCCEEDED) {
        s = asl_json_print(res->output);
    } else {
        assert_int_equal(res->status, ASL_STEP_FAILED);
        size_t n = 32 + (res->error.error ? strlen(res->error.error) : 0) +
                   (res->error.cause ? strlen(res->error.cause) : 0);
        s = malloc(n);
        snprintf(s, n, "FAILED:%s:%s", res->error.error ? res->error.error : "(null)",
                 res->error.cause ? res->error.cause : "(null)");
    }
    cJSON_Delete(in);
    asl_machine_free(m);
    return s;
}

static void expect(const char *def, const char *input, const char *want)
{
    asl_run_result_t res;
    char *got = run_opts(def, input, NULL, &res);
    if (strncmp(want, "FAILED:", 7) == 0 && want[strlen(want) - 1] == '*') {
        if (strncmp(got, want, strlen(want) - 1) != 0)
            fail_msg("want %s got %s", want, got);
    } else if (strcmp(got, want) != 0) {
        fail_msg("want %s got %s", want, got);
    }
    free(got);
    asl_run_result_clear(&res);
}

/* ---- Pass and data flow --------------------------------------------------- */

static void test_pass(void **state)
{
    (void)state;
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}",
           "{\"a\":1}", "{\"a\":1}");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":0,\"End\":true}}}",
           "{\"a\":1}", "0");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":{\"x\":1},"
           "\"ResultPath\":\"$.r.s\",\"End\":true}}}", "{\"a\":1}", "{\"a\":1,\"r\":{\"s\":{\"x\":1}}}");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":5,"
           "\"ResultPath\":null,\"End\":true}}}", "{\"a\":1}", "{\"a\":1}");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":\"$.a\","
           "\"OutputPath\":\"$.b\",\"End\":true}}}", "{\"a\":{\"b\":[1,2]}}", "[1,2]");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":null,\"End\":true}}}",
           "{\"a\":1}", "{}");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"OutputPath\":null,\"End\":true}}}",
           "{\"a\":1}", "{}");
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"},"
           "\"B\":{\"Type\":\"Pass\",\"Result\":\"b\",\"ResultPath\":\"$.b\",\"End\":true}}}",
           "{}", "{\"b\":\"b\"}");
    /* a missing InputPath field is States.Runtime */
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"InputPath\":\"$.zz\",\"End\":true}}}",
           "{\"a\":1}", "FAILED:States.Runtime:*");
    /* ResultPath through a scalar */
    expect("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":1,"
           "\"ResultPath\":\"$.a.b\",\"End\":true}}}", "{\"a\":\"s\"}",
           "FAILED:States.ResultPathMatchFailure:*");
}

static void test_parameters_and_context(void **state)
{
    (void)state;
    asl_exec_info_t info = {.execution_id = "ex-9", .execution_name = "nine",
                            .start_time_ms = 1700000000123LL, .state_machine_id = "sm-1",
                            .state_machine_name = "orders"};
    asl_run_opts_t o = {.info = &info, .start_ms = 1700000001000LL};
    asl_run_result_t res;
    char *got = run_opts(
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Parameters\":{"
        "\"id.$\":\"$$.Execution.Id\",\"n.$\":\"$$.Execution.Name\",\"st.$\":\"$$.State.Name\","
        "\"sm.$\":\"$$.StateMachine.Name\",\"smid.$\":\"$$.StateMachine.Id\","
        "\"t.$\":\"$$.Execution.StartTime\",\"et.$\":\"$$.State.EnteredTime\","
        "\"rc.$\":\"$$.State.RetryCount\",\"in.$\":\"$$.Execution.Input.k\","
        "\"nested\":{\"v.$\":\"$.k\",\"lit\":[1,{\"x\":2}]}},\"End\":true}}}",
        "{\"k\":\"v\"}", &o, &res);
    assert_string_equal(got, "{\"id\":\"ex-9\",\"n\":\"nine\",\"st\":\"A\",\"sm\":\"orders\","
                             "\"smid\":\"sm-1\",\"t\":\"2023-11-14T22:13:20.123Z\","
                             "\"et\":\"2023-11-14T22:13:21.000Z\",\"rc\":0,\"in\":\"v\","
                             "\"nested\":{\"v\":\"v\",\"lit\":[1,{\"x\":2}]}}");
    free(got);
    asl_run_result_clear(&res);
}

/* ---- Task, Retry, Catch ---------------------------------------------------- */

typedef struct {
    int calls;
    int fail_times;
    const char *error;
    uint32_t attempts[16];
} flaky_t;

static int flaky(const char *resource, const cJSON *input, uint32_t attempt, void *ud,
                 cJSON **result, asl_error_t *err)
{
    flaky_t *f = ud;
    if (strcmp(resource, "sagad:flaky") != 0)
        return 1;
    if (f->calls < 16)
        f->attempts[f->calls] = attempt;
    if (f->calls++ < f->fail_times)
        return asl_error_set(err, f->error, "try %d", f->calls);
    *result = cJSON_Duplicate(input, 1);
    cJSON_AddNumberToObject(*result, "calls", f->calls);
    return 0;
}

static void test_task_builtins(void **state)
{
    (void)state;
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
           "\"ResultPath\":\"$.r\",\"End\":true}}}", "{\"a\":1}", "{\"a\":1,\"r\":{\"a\":1}}");
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:fail\","
           "\"End\":true}}}", "{\"error\":\"Boom\",\"cause\":\"why\"}", "FAILED:Boom:why");
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:nope\","
           "\"End\":true}}}", "{}", "FAILED:States.TaskFailed:*");
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
           "\"ResultSelector\":{\"x.$\":\"$.a\"},\"OutputPath\":\"$.x\",\"End\":true}}}",
           "{\"a\":[3]}", "[3]");
}

static void test_retry_timing(void **state)
{
    (void)state;
    flaky_t f = {.fail_times = 3, .error = "Flaky"};
    asl_run_opts_t o = {.task = flaky, .task_ud = &f};
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                         "\"Retry\":[{\"ErrorEquals\":[\"Other\"],\"MaxAttempts\":9},"
                         "{\"ErrorEquals\":[\"Flaky\"],\"IntervalSeconds\":2,\"BackoffRate\":3}],"
                         "\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "{\"calls\":4}");
    assert_int_equal(f.calls, 4);
    assert_int_equal(res.n_tasks, 4);
    assert_int_equal(res.elapsed_ms, 2000 + 6000 + 18000);
    assert_int_equal(f.attempts[0], 0);
    assert_int_equal(f.attempts[3], 3);
    free(got);
    asl_run_result_clear(&res);

    /* default MaxAttempts 3: a 4th failure is final */
    flaky_t g = {.fail_times = 10, .error = "Flaky"};
    o.task_ud = &g;
    got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                   "\"Retry\":[{\"ErrorEquals\":[\"States.ALL\"]}],\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "FAILED:Flaky:try 4");
    assert_int_equal(g.calls, 4);
    assert_int_equal(res.elapsed_ms, 1000 + 2000 + 4000);
    free(got);
    asl_run_result_clear(&res);

    /* MaxAttempts 0 never retries; MaxDelaySeconds caps */
    flaky_t h = {.fail_times = 10, .error = "Flaky"};
    o.task_ud = &h;
    got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                   "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":0}],\"End\":true}}}",
                   "{}", &o, &res);
    assert_int_equal(h.calls, 1);
    free(got);
    asl_run_result_clear(&res);
    flaky_t k = {.fail_times = 4, .error = "Flaky"};
    o.task_ud = &k;
    got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                   "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":5,\"IntervalSeconds\":3,"
                   "\"MaxDelaySeconds\":5}],\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "{\"calls\":5}");
    assert_int_equal(res.elapsed_ms, 3000 + 5000 + 5000 + 5000);
    free(got);
    asl_run_result_clear(&res);
}

static uint64_t half(void *ud)
{
    (void)ud;
    return UINT64_C(1) << 63; /* 0.5 */
}

/* A Task "T" with n retriers on errors "E0".."E<n-1>", MaxAttempts 2 each. */
static char *many_retriers(size_t n)
{
    size_t cap = 256 + n * 64, len = 0;
    char *d = malloc(cap);
    assert_non_null(d);
    len += (size_t)snprintf(d + len, cap - len, "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":"
                            "\"Task\",\"Resource\":\"sagad:flaky\",\"End\":true,\"Retry\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s{\"ErrorEquals\":[\"E%zu\"],\"MaxAttempts\":2}",
                                i ? "," : "", i);
    snprintf(d + len, cap - len, "]}}}");
    return d;
}

/* MaxAttempts holds for every retrier a state may have: the 64th counts
 * its attempts, and a 65th, whose attempts the engine's cursor does not
 * record, is refused when the definition is validated. */
static void test_retrier_limit(void **state)
{
    (void)state;
    char *def = many_retriers(64);
    flaky_t f = {.fail_times = 100, .error = "E63"};
    asl_run_opts_t o = {.task = flaky, .task_ud = &f};
    asl_run_result_t res;
    char *got = run_opts(def, "{}", &o, &res);
    assert_string_equal(got, "FAILED:E63:try 3");
    assert_int_equal(f.calls, 3);
    free(got);
    free(def);
    asl_run_result_clear(&res);

    def = many_retriers(65);
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    int rc = asl_machine_compile_text(def, strlen(def), &m, &p);
    if (rc == 0) {
        /* Accepted, it must still stop after MaxAttempts (the handler gives
         * up failing after 100 calls so that a violation ends). */
        f = (flaky_t){.fail_times = 100, .error = "E64"};
        cJSON *in = cJSON_CreateObject();
        assert_int_equal(asl_run(m, in, &o, &res), 0);
        cJSON_Delete(in);
        asl_run_result_clear(&res);
        asl_machine_free(m);
        assert_int_equal(f.calls, 3);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(p.count, 1);
    assert_string_equal(p.items[0].state, "T");
    assert_string_equal(p.items[0].field, "Retry");
    assert_non_null(strstr(p.items[0].message, "at most 64 retriers"));
    asl_problems_free(&p);
    free(def);
}

static void test_retry_jitter(void **state)
{
    (void)state;
    flaky_t f = {.fail_times = 2, .error = "Flaky"};
    asl_run_opts_t o = {.task = flaky, .task_ud = &f, .random64 = half};
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                         "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"IntervalSeconds\":4,"
                         "\"JitterStrategy\":\"FULL\"}],\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "{\"calls\":3}");
    assert_int_equal(res.elapsed_ms, 2000 + 4000);
    free(got);
    asl_run_result_clear(&res);
}

static void test_catch(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:fail\","
        "\"Catch\":[{\"ErrorEquals\":[\"Other\"],\"Next\":\"X\"},"
        "{\"ErrorEquals\":[\"Boom\"],\"ResultPath\":\"$.err\",\"Next\":\"Y\"},"
        "{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"Z\"}],\"End\":true},"
        "\"X\":{\"Type\":\"Pass\",\"Result\":\"x\",\"End\":true},"
        "\"Y\":{\"Type\":\"Pass\",\"End\":true},"
        "\"Z\":{\"Type\":\"Pass\",\"End\":true}}}";
    expect(def, "{\"error\":\"Boom\",\"cause\":\"c\"}",
           "{\"error\":\"Boom\",\"cause\":\"c\",\"err\":{\"Error\":\"Boom\",\"Cause\":\"c\"}}");
    expect(def, "{\"error\":\"Else\",\"cause\":\"c2\"}", "{\"Error\":\"Else\",\"Cause\":\"c2\"}");
    expect(def, "{\"error\":\"Other\"}", "\"x\"");
    /* Retry first, then Catch once retries are exhausted */
    flaky_t f = {.fail_times = 10, .error = "Flaky"};
    asl_run_opts_t o = {.task = flaky, .task_ud = &f};
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\","
                         "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"MaxAttempts\":2}],"
                         "\"Catch\":[{\"ErrorEquals\":[\"States.TaskFailed\"],\"Next\":\"C\"}],\"End\":true},"
                         "\"C\":{\"Type\":\"Pass\",\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "{\"Error\":\"Flaky\",\"Cause\":\"try 3\"}");
    assert_int_equal(f.calls, 3);
    free(got);
    asl_run_result_clear(&res);
}

/* ResultPath writes into the state input in place when no Retry or Catch can
 * see it again; when one can, it must still see the input as it was. */
static void test_catch_sees_input_before_result_path(void **state)
{
    (void)state;
    /* a failed ResultPath write, caught by States.ALL */
    const char *def =
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
        "\"Parameters\":{\"v\":1},\"ResultPath\":\"$.x.y[0]\","
        "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.e\",\"Next\":\"H\"}],\"End\":true},"
        "\"H\":{\"Type\":\"Pass\",\"End\":true}}}";
    expect(def, "{\"a\":1}",
           "{\"a\":1,\"e\":{\"Error\":\"States.ResultPathMatchFailure\","
           "\"Cause\":\"Unable to apply ReferencePath $.x.y[0] to input {\\\"a\\\":1,\\\"x\\\":{\\\"y\\\":{}}}\"}}");
    /* the write fits: the input is written in place, the catcher is not used */
    expect(def, "{\"a\":1,\"x\":{\"y\":[0]}}", "{\"a\":1,\"x\":{\"y\":[{\"v\":1}]}}");
    /* an output over the limit after ResultPath, caught by name */
    char *in = malloc(ASL_PAYLOAD_LIMIT + 64);
    snprintf(in, ASL_PAYLOAD_LIMIT + 64, "{\"s\":\"%0*d\"}", ASL_PAYLOAD_LIMIT - 20, 0);
    def = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
          "\"Parameters\":{\"v\":\"0123456789\"},\"ResultPath\":\"$.r\","
          "\"Retry\":[{\"ErrorEquals\":[\"States.DataLimitExceeded\"],\"MaxAttempts\":1}],"
          "\"Catch\":[{\"ErrorEquals\":[\"States.DataLimitExceeded\"],\"ResultPath\":null,\"Next\":\"H\"}],"
          "\"End\":true},\"H\":{\"Type\":\"Pass\",\"End\":true}}}";
    asl_run_result_t res;
    char *got = run_opts(def, in, NULL, &res);
    assert_string_equal(got, in);           /* the input, without "r" */
    assert_int_equal(res.n_tasks, 2);       /* retried once, on the same input */
    free(got);
    asl_run_result_clear(&res);
    free(in);
}

static void test_error_matching(void **state)
{
    (void)state;
    assert_true(asl_error_matches("States.ALL", "Boom", ASL_STATE_TASK));
    assert_true(asl_error_matches("States.ALL", "States.Timeout", ASL_STATE_TASK));
    assert_false(asl_error_matches("States.ALL", "States.Runtime", ASL_STATE_TASK));
    assert_false(asl_error_matches("States.Runtime", "States.Runtime", ASL_STATE_TASK));
    assert_false(asl_error_matches("States.ALL", "States.DataLimitExceeded", ASL_STATE_TASK));
    assert_true(asl_error_matches("States.DataLimitExceeded", "States.DataLimitExceeded", ASL_STATE_TASK));
    assert_true(asl_error_matches("States.TaskFailed", "Boom", ASL_STATE_TASK));
    assert_false(asl_error_matches("States.TaskFailed", "States.Timeout", ASL_STATE_TASK));
    assert_true(asl_error_matches("States.Timeout", "States.Timeout", ASL_STATE_TASK));
    assert_false(asl_error_matches("Boom", "Boo", ASL_STATE_TASK));
    assert_true(asl_error_matches("States.ALL", NULL, ASL_STATE_MAP));
    /* States.Runtime is never caught */
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
           "\"InputPath\":\"$.missing\",\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"C\"}],"
           "\"End\":true},\"C\":{\"Type\":\"Pass\",\"End\":true}}}", "{}", "FAILED:States.Runtime:*");
}

static int big(const char *resource, const cJSON *input, uint32_t attempt, void *ud,
               cJSON **result, asl_error_t *err)
{
    (void)input; (void)attempt; (void)ud; (void)err;
    if (strcmp(resource, "sagad:big") != 0)
        return 1;
    char *s = malloc(300 * 1024);
    memset(s, 'x', 300 * 1024 - 1);
    s[300 * 1024 - 1] = '\0';
    *result = cJSON_CreateString(s);
    free(s);
    return 0;
}

static void test_data_limit(void **state)
{
    (void)state;
    asl_run_opts_t o = {.task = big};
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:big\","
                         "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"C\"}],\"End\":true},"
                         "\"C\":{\"Type\":\"Pass\",\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(res.error.error, "States.DataLimitExceeded");
    free(got);
    asl_run_result_clear(&res);
    got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:big\","
                   "\"Catch\":[{\"ErrorEquals\":[\"States.DataLimitExceeded\"],\"Next\":\"C\"}],\"End\":true},"
                   "\"C\":{\"Type\":\"Pass\",\"Result\":\"caught\",\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "\"caught\"");
    free(got);
    asl_run_result_clear(&res);
}

static int timeout_task(const char *resource, const cJSON *input, uint32_t attempt, void *ud,
                        cJSON **result, asl_error_t *err)
{
    (void)resource; (void)input; (void)attempt; (void)ud; (void)result;
    return asl_error_set(err, ASL_E_TIMEOUT, "took too long");
}

static void test_timeout_not_task_failed(void **state)
{
    (void)state;
    asl_run_opts_t o = {.task = timeout_task};
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:slow\","
                         "\"TimeoutSeconds\":1,"
                         "\"Catch\":[{\"ErrorEquals\":[\"States.TaskFailed\"],\"Next\":\"C\"}],\"End\":true},"
                         "\"C\":{\"Type\":\"Pass\",\"End\":true}}}", "{}", &o, &res);
    assert_string_equal(got, "FAILED:States.Timeout:took too long");
    free(got);
    asl_run_result_clear(&res);
}

/* ---- Choice, Wait, Succeed, Fail ---------------------------------------------- */

static void test_choice(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":["
        "{\"Variable\":\"$.n\",\"NumericGreaterThan\":10,\"Next\":\"Big\"},"
        "{\"And\":[{\"Variable\":\"$.s\",\"IsPresent\":true},{\"Variable\":\"$.s\",\"StringEquals\":\"x\"}],"
        "\"Next\":\"X\"}],\"Default\":\"D\",\"OutputPath\":\"$.n\"},"
        "\"Big\":{\"Type\":\"Pass\",\"Result\":\"big\",\"End\":true},"
        "\"X\":{\"Type\":\"Pass\",\"Result\":\"x\",\"End\":true},"
        "\"D\":{\"Type\":\"Succeed\"}}}";
    expect(def, "{\"n\":11}", "\"big\"");
    expect(def, "{\"n\":1,\"s\":\"x\"}", "\"x\"");
    expect(def, "{\"n\":1}", "1");
    expect("{\"StartAt\":\"C\",\"States\":{\"C\":{\"Type\":\"Choice\",\"Choices\":["
           "{\"Variable\":\"$.n\",\"NumericEquals\":1,\"Next\":\"E\"}]},"
           "\"E\":{\"Type\":\"Succeed\"}}}", "{\"n\":2}", "FAILED:States.NoChoiceMatched:*");
}

static void test_wait(void **state)
{
    (void)state;
    asl_run_result_t res;
    char *got = run_opts("{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":5,\"Next\":\"V\"},"
                         "\"V\":{\"Type\":\"Wait\",\"SecondsPath\":\"$.s\",\"End\":true}}}",
                         "{\"s\":7}", NULL, &res);
    assert_string_equal(got, "{\"s\":7}");
    assert_int_equal(res.elapsed_ms, 12000);
    free(got);
    asl_run_result_clear(&res);
    asl_run_opts_t o = {.start_ms = 1767225600000LL}; /* 2026-01-01T00:00:00Z */
    got = run_opts("{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Timestamp\":\"2026-01-01T00:01:00Z\","
                   "\"Next\":\"V\"},\"V\":{\"Type\":\"Wait\",\"TimestampPath\":\"$.t\",\"End\":true}}}",
                   "{\"t\":\"2026-01-01T00:00:30Z\"}", &o, &res);
    assert_int_equal(res.elapsed_ms, 60000); /* the past timestamp does not wait */
    free(got);
    asl_run_result_clear(&res);
    expect("{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"SecondsPath\":\"$.s\",\"End\":true}}}",
           "{\"s\":\"x\"}", "FAILED:States.Runtime:*");
}

static void test_succeed_fail(void **state)
{
    (void)state;
    expect("{\"StartAt\":\"S\",\"States\":{\"S\":{\"Type\":\"Succeed\",\"OutputPath\":\"$.a\"}}}",
           "{\"a\":2}", "2");
    expect("{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\",\"Error\":\"E\",\"Cause\":\"C\"}}}",
           "{}", "FAILED:E:C");
    expect("{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\",\"ErrorPath\":\"$.e\",\"CausePath\":\"$.c\"}}}",
           "{\"e\":\"E2\",\"c\":\"C2\"}", "FAILED:E2:C2");
    expect("{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\"}}}", "{}", "FAILED:(null):(null)");
    expect("{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\",\"ErrorPath\":\"$.e\"}}}",
           "{\"e\":5}", "FAILED:States.Runtime:*");
}

/* ---- Parallel and Map ----------------------------------------------------- */

static void test_parallel(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"ResultPath\":\"$.r\",\"End\":true,"
        "\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Result\":1,\"End\":true}}},"
        "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Wait\",\"Seconds\":3,\"Next\":\"B2\"},"
        "  \"B2\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"End\":true}}}]}}}";
    expect(def, "{\"k\":1}", "{\"k\":1,\"r\":[1,{\"k\":1}]}");
    const char *failing =
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Next\":\"Ok\","
        "\"Catch\":[{\"ErrorEquals\":[\"Nope\"],\"ResultPath\":\"$.e\",\"Next\":\"Ok\"}],"
        "\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}},"
        "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Fail\",\"Error\":\"Nope\",\"Cause\":\"b\"}}}]},"
        "\"Ok\":{\"Type\":\"Pass\",\"End\":true}}}";
    expect(failing, "{}", "{\"e\":{\"Error\":\"Nope\",\"Cause\":\"b\"}}");
}

static void test_map(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\",\"MaxConcurrency\":2,"
        "\"ItemSelector\":{\"i.$\":\"$$.Map.Item.Index\",\"v.$\":\"$$.Map.Item.Value\",\"k.$\":\"$.k\"},"
        "\"ItemProcessor\":{\"StartAt\":\"W\",\"States\":{"
        "  \"W\":{\"Type\":\"Wait\",\"SecondsPath\":\"$.v\",\"Next\":\"E\"},"
        "  \"E\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"End\":true}}},\"End\":true}}}";
    const char *want = "[{\"i\":0,\"v\":3,\"k\":\"K\"},{\"i\":1,\"v\":1,\"k\":\"K\"},{\"i\":2,\"v\":2,\"k\":\"K\"}]";
    expect(def, "{\"k\":\"K\",\"xs\":[3,1,2]}", want);
    asl_run_opts_t o = {.interleave = 1};
    asl_run_result_t res;
    char *got = run_opts(def, "{\"k\":\"K\",\"xs\":[3,1,2]}", &o, &res);
    assert_string_equal(got, want);
    free(got);
    asl_run_result_clear(&res);
    /* the older Parameters/Iterator spelling; empty array */
    expect("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"Parameters\":{\"x.$\":\"$$.Map.Item.Value\"},"
           "\"Iterator\":{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}",
           "[1,2]", "[{\"x\":1},{\"x\":2}]");
    expect("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
           "\"ItemProcessor\":{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}",
           "[]", "[]");
    expect("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
           "\"ItemProcessor\":{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}",
           "{\"a\":1}", "FAILED:States.Runtime:*");
}

static void test_map_tolerated_failures(void **state)
{
    (void)state;
    const char *proc = "\"ItemProcessor\":{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
                       "\"Resource\":\"sagad:fail\",\"End\":true}}},\"End\":true}}}";
    char def[1024];
    /* no tolerance: the iteration's own error */
    snprintf(def, sizeof def, "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",%s", proc);
    expect(def, "[{\"error\":\"E1\",\"cause\":\"c1\"}]", "FAILED:E1:c1");
    snprintf(def, sizeof def, "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
             "\"ToleratedFailureCount\":1,%s", proc);
    expect(def, "[{\"error\":\"E1\"},{\"error\":\"E2\"}]",
           "FAILED:States.ExceedToleratedFailureThreshold:*");
    snprintf(def, sizeof def, "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
             "\"ToleratedFailureCount\":2,%s", proc);
    expect(def, "[{\"error\":\"A\",\"cause\":\"a\"},{\"error\":\"B\",\"cause\":\"b\"}]",
           "[{\"Error\":\"A\",\"Cause\":\"a\"},{\"Error\":\"B\",\"Cause\":\"b\"}]");
    snprintf(def, sizeof def, "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
             "\"ToleratedFailurePercentage\":50,%s", proc);
    expect(def, "[{\"error\":\"A\"},{\"error\":\"B\"},{\"error\":\"C\"}]",
           "FAILED:States.ExceedToleratedFailureThreshold:*");
}

/* ---- step API, events, cursor persistence -------------------------------- */

static const char *types_of(const cJSON *events, char *buf, size_t n)
{
    buf[0] = '\0';
    for (const cJSON *e = events->child; e; e = e->next) {
        strncat(buf, cJSON_GetObjectItem(e, "type")->valuestring, n - strlen(buf) - 2);
        strncat(buf, ",", n - strlen(buf) - 1);
    }
    return buf;
}

/* Persists the cursor as text and parses it back, as the runtime does. */
static cJSON *roundtrip(asl_step_t *st)
{
    char *txt = cJSON_PrintUnformatted(st->cursor);
    cJSON *c = cJSON_Parse(txt);
    free(txt);
    return c;
}

static void test_step_api_events(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:orders.create\",\"TimeoutSeconds\":30,"
        "\"HeartbeatSeconds\":10,\"Parameters\":{\"id.$\":\"$.id\",\"tok.$\":\"$$.Task.Token\"},"
        "\"Retry\":[{\"ErrorEquals\":[\"Busy\"],\"IntervalSeconds\":2}],\"ResultPath\":\"$.r\",\"Next\":\"W\"},"
        "\"W\":{\"Type\":\"Wait\",\"Seconds\":10,\"Next\":\"S\"},"
        "\"S\":{\"Type\":\"Succeed\"}}}");
    asl_exec_info_t info = {.execution_id = "e1", .instance_id = "e1"};
    asl_env_t env = {.now_ms = 1000};
    cJSON *in = cJSON_Parse("{\"id\":7}");
    asl_step_t st;
    char buf[1024];
    assert_int_equal(asl_exec_start(m, in, &info, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    assert_string_equal(types_of(st.events, buf, sizeof buf),
                        "ExecutionStarted,PassStateEntered,PassStateExited,TaskStateEntered,"
                        "TaskScheduled,TaskStarted,");
    assert_string_equal(st.state, "T");
    assert_string_equal(st.handler, "orders.create");
    assert_string_equal(st.resource, "sagad:orders.create");
    assert_int_equal(st.timeout_ms, 30000);
    assert_int_equal(st.heartbeat_ms, 10000);
    assert_int_equal(st.attempt, 0);
    assert_string_equal(st.task_token, "e1:T:2:0");
    char *ti = asl_json_print(st.task_input);
    assert_string_equal(ti, "{\"id\":7,\"tok\":\"e1:T:2:0\"}");
    free(ti);
    assert_string_equal(asl_cursor_state(st.cursor), "T");
    cJSON *sched = cJSON_GetArrayItem(st.events, 4);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sched, "details"), "resource")->valuestring,
                        "orders.create");

    /* the task fails with a retriable error: RETRY after 2 s */
    cJSON *cur = roundtrip(&st);
    asl_step_clear(&st);
    asl_outcome_t oc = {.kind = ASL_OUTCOME_TASK_FAILED, .error = "Busy", .cause = "later"};
    assert_int_equal(asl_exec_resume(m, cur, &oc, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RETRY);
    assert_int_equal(st.wake_at_ms, 3000);
    assert_string_equal(types_of(st.events, buf, sizeof buf), "TaskFailed,");

    /* a wrong outcome for the phase is refused */
    cur = roundtrip(&st);
    asl_step_t bad;
    asl_error_t err = {0};
    asl_outcome_t wrong = {.kind = ASL_OUTCOME_CHILDREN, .children = cJSON_CreateArray()};
    assert_int_equal(asl_exec_resume(m, cur, &wrong, &info, &env, &bad, &err), -1);
    assert_non_null(err.error);
    asl_error_clear(&err);

    /* timer: the same task again, attempt 1 */
    cur = roundtrip(&st);
    asl_step_clear(&st);
    env.now_ms = 3000;
    asl_outcome_t timer = {.kind = ASL_OUTCOME_TIMER};
    assert_int_equal(asl_exec_resume(m, cur, &timer, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    assert_int_equal(st.attempt, 1);
    assert_string_equal(st.task_token, "e1:T:2:1");
    assert_string_equal(types_of(st.events, buf, sizeof buf), "TaskScheduled,TaskStarted,");

    /* success: ResultPath, then WAIT 10 s */
    cur = roundtrip(&st);
    asl_step_clear(&st);
    asl_outcome_t ok = {.kind = ASL_OUTCOME_TASK_SUCCEEDED, .result = cJSON_Parse("{\"order\":1}")};
    assert_int_equal(asl_exec_resume(m, cur, &ok, &info, &env, &st, NULL), 0);
    assert_null(ok.result);
    assert_int_equal(st.kind, ASL_STEP_WAIT);
    assert_int_equal(st.wake_at_ms, 13000);
    assert_string_equal(types_of(st.events, buf, sizeof buf),
                        "TaskSucceeded,TaskStateExited,WaitStateEntered,");

    cur = roundtrip(&st);
    asl_step_clear(&st);
    env.now_ms = 13000;
    assert_int_equal(asl_exec_resume(m, cur, &timer, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_SUCCEEDED);
    assert_null(st.cursor);
    char *out = asl_json_print(st.output);
    assert_string_equal(out, "{\"id\":7,\"r\":{\"order\":1}}");
    free(out);
    assert_string_equal(types_of(st.events, buf, sizeof buf),
                        "WaitStateExited,SucceedStateEntered,SucceedStateExited,ExecutionSucceeded,");
    cJSON *last = cJSON_GetArrayItem(st.events, 3);
    out = asl_json_print(cJSON_GetObjectItem(cJSON_GetObjectItem(last, "details"), "output"));
    assert_string_equal(out, "{\"id\":7,\"r\":{\"order\":1}}");
    free(out);
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_step_api_timeout_event(void **state)
{
    (void)state;
    asl_machine_t *m = compile("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
                               "\"Resource\":\"sagad:x\",\"TimeoutSecondsPath\":\"$.t\",\"End\":true}}}");
    asl_env_t env = {.now_ms = 5};
    cJSON *in = cJSON_Parse("{\"t\":4}");
    asl_step_t st;
    char buf[512];
    assert_int_equal(asl_exec_start(m, in, NULL, &env, &st), 0);
    assert_int_equal(st.timeout_ms, 4000);
    cJSON *cur = asl_step_take_cursor(&st);
    asl_step_clear(&st);
    asl_outcome_t oc = {.kind = ASL_OUTCOME_TASK_FAILED, .error = ASL_E_TIMEOUT, .cause = "4 s"};
    assert_int_equal(asl_exec_resume(m, cur, &oc, NULL, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_FAILED);
    assert_string_equal(st.error.error, "States.Timeout");
    assert_string_equal(st.state, "T");
    assert_string_equal(types_of(st.events, buf, sizeof buf), "TaskTimedOut,ExecutionFailed,");
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_step_api_children(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"MaxConcurrency\":3,"
        "\"ToleratedFailureCount\":1,\"ResultSelector\":{\"n.$\":\"States.ArrayLength($)\"},"
        "\"ItemProcessor\":{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
        "\"Resource\":\"sagad:work\",\"End\":true}}},\"End\":true}}}");
    asl_env_t env = {.now_ms = 1};
    asl_exec_info_t info = {.execution_id = "e"};
    cJSON *in = cJSON_Parse("[\"a\",\"b\"]");
    asl_step_t st;
    char buf[512];
    assert_int_equal(asl_exec_start(m, in, &info, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_CHILDREN);
    assert_int_equal(st.n_children, 2);
    assert_int_equal(st.max_concurrency, 3);
    assert_int_equal(st.tolerated_failures, 1);
    assert_int_equal(st.children[1].index, 1);
    assert_int_equal(st.children[1].kind, ASL_CHILD_ITERATION);
    assert_string_equal(st.children[1].parent_state, "M");
    assert_string_equal(st.children[1].input->valuestring, "b");
    assert_string_equal(types_of(st.events, buf, sizeof buf),
                        "ExecutionStarted,MapStateEntered,MapStateStarted,");

    /* child 1: starts with MapIterationStarted, runs its task, ends with MapIterationSucceeded */
    asl_step_t ch;
    asl_exec_info_t cinfo = info;
    cinfo.instance_id = "e/M/1";
    assert_int_equal(asl_exec_start_child(&st.children[1], &cinfo, &env, &ch), 0);
    assert_int_equal(ch.kind, ASL_STEP_RUN_TASK);
    assert_string_equal(ch.task_token, "e/M/1:T:1:0");
    assert_string_equal(types_of(ch.events, buf, sizeof buf),
                        "MapIterationStarted,TaskStateEntered,TaskScheduled,TaskStarted,");
    cJSON *cc = roundtrip(&ch);
    asl_step_clear(&ch);
    asl_outcome_t ok = {.kind = ASL_OUTCOME_TASK_SUCCEEDED, .result = cJSON_CreateString("B")};
    assert_int_equal(asl_exec_resume(st.children[1].machine, cc, &ok, &cinfo, &env, &ch, NULL), 0);
    assert_int_equal(ch.kind, ASL_STEP_SUCCEEDED);
    assert_string_equal(types_of(ch.events, buf, sizeof buf),
                        "TaskSucceeded,TaskStateExited,MapIterationSucceeded,");
    asl_step_clear(&ch);

    /* parent: child 0 failed (tolerated), child 1 succeeded */
    cJSON *cur = roundtrip(&st);
    asl_step_clear(&st);
    asl_outcome_t oc = {.kind = ASL_OUTCOME_CHILDREN,
                        .children = cJSON_Parse("[{\"error\":\"E\",\"cause\":\"c\"},{\"output\":\"B\"}]")};
    assert_int_equal(asl_exec_resume(m, cur, &oc, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_SUCCEEDED);
    char *out = asl_json_print(st.output);
    assert_string_equal(out, "{\"n\":2}");
    free(out);
    assert_string_equal(types_of(st.events, buf, sizeof buf),
                        "MapStateSucceeded,MapStateExited,ExecutionSucceeded,");
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_continue_and_limit(void **state)
{
    (void)state;
    /* an endless Pass loop yields CONTINUE, and asl_run stops it */
    asl_machine_t *m = compile("{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"},"
                               "\"B\":{\"Type\":\"Pass\",\"Next\":\"A\"}}}");
    asl_env_t env = {0};
    cJSON *in = cJSON_CreateObject();
    asl_step_t st;
    assert_int_equal(asl_exec_start(m, in, NULL, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_CONTINUE);
    cJSON *cur = asl_step_take_cursor(&st);
    asl_step_clear(&st);
    asl_outcome_t none = {0};
    assert_int_equal(asl_exec_resume(m, cur, &none, NULL, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_CONTINUE);
    asl_step_clear(&st);
    asl_run_opts_t o = {.max_transitions = 5000};
    asl_run_result_t res;
    assert_int_equal(asl_run(m, in, &o, &res), 0);
    assert_int_equal(res.status, ASL_STEP_FAILED);
    assert_string_equal(res.error.error, "States.Runtime");
    asl_run_result_clear(&res);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_run_collects_events(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"End\":true,\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}]}}}");
    cJSON *events = cJSON_CreateArray();
    asl_run_opts_t o = {.events = events};
    asl_run_result_t res;
    cJSON *in = cJSON_CreateObject();
    assert_int_equal(asl_run(m, in, &o, &res), 0);
    assert_int_equal(res.status, ASL_STEP_SUCCEEDED);
    char buf[1024];
    assert_string_equal(types_of(events, buf, sizeof buf),
                        "ExecutionStarted,ParallelStateEntered,ParallelStateStarted,PassStateEntered,"
                        "PassStateExited,ParallelStateSucceeded,ParallelStateExited,ExecutionSucceeded,");
    assert_int_equal(res.n_events, 8);
    assert_int_equal(res.n_transitions, 2);
    asl_run_result_clear(&res);
    cJSON_Delete(events);
    cJSON_Delete(in);
    asl_machine_free(m);
}


/* Redrive: a cursor entering the failed state with its input re-runs it as
 * the next transition (a new task token), not from the start. */
static void test_enter_cursor_redrive(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\",\"End\":true}}}");
    asl_env_t env = {.now_ms = 100};
    asl_exec_info_t info = {.execution_id = "e"};
    cJSON *in = cJSON_Parse("{\"v\":3}");
    asl_step_t st;
    assert_int_equal(asl_exec_start(m, in, &info, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    char *first_token = strdup(st.task_token);
    asl_step_clear(&st);

    assert_null(asl_exec_enter_cursor(m, "Nope", in, 2));
    cJSON *cur = asl_exec_enter_cursor(m, "T", in, 2);
    assert_non_null(cur);
    assert_string_equal(asl_cursor_state(cur), "T");
    /* what a restart finds pending there: entering the state */
    asl_step_t again;
    assert_int_equal(asl_exec_pending(m, cur, &info, &env, &again, NULL), 0);
    assert_int_equal(again.kind, ASL_STEP_CONTINUE);
    asl_step_clear(&again);
    env.now_ms = 200;
    assert_int_equal(asl_exec_resume(m, cur, NULL, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    assert_string_equal(st.state, "T");
    assert_int_equal(st.n_transitions, 1);
    const cJSON *ev = cJSON_GetArrayItem(st.events, 0);
    assert_string_equal(cJSON_GetObjectItem(ev, "type")->valuestring, "TaskStateEntered");
    const cJSON *d = cJSON_GetObjectItem(ev, "details");
    assert_string_equal(cJSON_GetObjectItem(d, "name")->valuestring, "T");
    assert_true(asl_json_equal(cJSON_GetObjectItem(d, "input"), in));
    assert_string_equal(st.task_token, "e:T:3:0");
    assert_string_not_equal(st.task_token, first_token);
    free(first_token);
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_pending_after_restart(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\","
        "\"Parameters\":{\"v.$\":\"$.v\",\"rc.$\":\"$$.State.RetryCount\"},"
        "\"Retry\":[{\"ErrorEquals\":[\"B\"],\"IntervalSeconds\":5}],\"Next\":\"P\"},"
        "\"P\":{\"Type\":\"Parallel\",\"End\":true,\"Branches\":["
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}},"
        "{\"StartAt\":\"B\",\"States\":{\"B\":{\"Type\":\"Wait\",\"Seconds\":9,\"End\":true}}}]}}}");
    asl_env_t env = {.now_ms = 100};
    asl_exec_info_t info = {.execution_id = "e"};
    cJSON *in = cJSON_Parse("{\"v\":3}");
    asl_step_t st, again;
    assert_int_equal(asl_exec_start(m, in, &info, &env, &st), 0);
    /* fail once: RETRY; the restarted runtime asks what is pending */
    cJSON *cur = asl_step_take_cursor(&st);
    asl_step_clear(&st);
    asl_outcome_t oc = {.kind = ASL_OUTCOME_TASK_FAILED, .error = "B"};
    assert_int_equal(asl_exec_resume(m, cur, &oc, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RETRY);
    env.now_ms = 999; /* later: the timer is not restarted */
    assert_int_equal(asl_exec_pending(m, st.cursor, &info, &env, &again, NULL), 0);
    assert_int_equal(again.kind, ASL_STEP_RETRY);
    assert_int_equal(again.wake_at_ms, 5100);
    assert_int_equal(cJSON_GetArraySize(again.events), 0);
    asl_step_clear(&again);
    cur = asl_step_take_cursor(&st);
    asl_step_clear(&st);
    env.now_ms = 5100;
    asl_outcome_t timer = {.kind = ASL_OUTCOME_TIMER};
    assert_int_equal(asl_exec_resume(m, cur, &timer, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    /* the pending task is the same request */
    assert_int_equal(asl_exec_pending(m, st.cursor, &info, &env, &again, NULL), 0);
    assert_int_equal(again.kind, ASL_STEP_RUN_TASK);
    assert_string_equal(again.task_token, st.task_token);
    assert_int_equal(again.attempt, 1);
    assert_true(asl_json_equal(again.task_input, st.task_input));
    char *ti = asl_json_print(again.task_input);
    assert_string_equal(ti, "{\"v\":3,\"rc\":1}");
    free(ti);
    asl_step_clear(&again);
    cur = asl_step_take_cursor(&st);
    asl_step_clear(&st);
    asl_outcome_t ok = {.kind = ASL_OUTCOME_TASK_SUCCEEDED, .result = cJSON_Parse("{\"w\":1}")};
    assert_int_equal(asl_exec_resume(m, cur, &ok, &info, &env, &st, NULL), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_CHILDREN);
    assert_int_equal(asl_exec_pending(m, st.cursor, &info, &env, &again, NULL), 0);
    assert_int_equal(again.kind, ASL_STEP_RUN_CHILDREN);
    assert_int_equal(again.n_children, 2);
    assert_int_equal(again.children[1].kind, ASL_CHILD_BRANCH);
    assert_ptr_equal(again.children[1].machine, asl_exec_child_machine(m, "P", ASL_CHILD_BRANCH, 1));
    assert_null(asl_exec_child_machine(m, "P", ASL_CHILD_ITERATION, 0));
    assert_null(asl_exec_child_machine(m, "T", ASL_CHILD_BRANCH, 0));
    assert_null(asl_exec_child_machine(m, "P", ASL_CHILD_BRANCH, 2));

    /* child 1 waits; a restart while it waits keeps its wake-up time */
    asl_step_t ch, ch2;
    assert_int_equal(asl_exec_start_child(&again.children[1], &info, &env, &ch), 0);
    assert_int_equal(ch.kind, ASL_STEP_WAIT);
    assert_int_equal(ch.wake_at_ms, 5100 + 9000);
    char buf[256];
    assert_string_equal(types_of(ch.events, buf, sizeof buf), "WaitStateEntered,");
    const asl_machine_t *bm = asl_exec_child_machine(m, "P", ASL_CHILD_BRANCH, 1);
    assert_int_equal(asl_exec_pending(bm, ch.cursor, &info, &env, &ch2, NULL), 0);
    assert_int_equal(ch2.wake_at_ms, 5100 + 9000);
    asl_step_clear(&ch2);
    /* a cursor whose state has another type in this machine is refused */
    cJSON *odd = cJSON_Parse("{\"state\":\"P\",\"phase\":\"task\",\"input\":{}}");
    asl_outcome_t okr = {.kind = ASL_OUTCOME_TASK_SUCCEEDED, .result = cJSON_CreateObject()};
    asl_error_t e2 = {0};
    assert_int_equal(asl_exec_resume(m, odd, &okr, &info, &env, &ch2, &e2), -1);
    assert_null(okr.result);
    assert_non_null(e2.error);
    asl_error_clear(&e2);
    /* a cursor of another machine is refused */
    asl_error_t err = {0};
    assert_int_equal(asl_exec_pending(m, ch.cursor, &info, &env, &ch2, &err), -1);
    assert_non_null(err.error);
    asl_error_clear(&err);
    asl_step_clear(&ch);
    asl_step_clear(&again);
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_parallel_retry_and_nested(void **state)
{
    (void)state;
    flaky_t f = {.fail_times = 1, .error = "Flaky"};
    asl_run_opts_t o = {.task = flaky, .task_ud = &f, .interleave = 1};
    asl_run_result_t res;
    char *got = run_opts(
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"End\":true,"
        "\"Retry\":[{\"ErrorEquals\":[\"Flaky\"],\"IntervalSeconds\":3}],\"Branches\":["
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:flaky\",\"End\":true}}},"
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\",\"MaxConcurrencyPath\":\"$.mc\","
        "  \"ItemProcessor\":{\"StartAt\":\"X\",\"States\":{\"X\":{\"Type\":\"Pass\","
        "  \"Parameters\":{\"v.$\":\"$\",\"in.$\":\"$$.Execution.Input.mc\"},\"End\":true}}},\"End\":true}}}]}}}",
        "{\"xs\":[1,2,3],\"mc\":1}", &o, &res);
    assert_string_equal(got, "[{\"xs\":[1,2,3],\"mc\":1,\"calls\":2},"
                             "[{\"v\":1,\"in\":1},{\"v\":2,\"in\":1},{\"v\":3,\"in\":1}]]");
    assert_int_equal(res.elapsed_ms, 3000);
    free(got);
    asl_run_result_clear(&res);
}

static void test_catch_runtime_like_errors(void **state)
{
    (void)state;
    /* ResultPathMatchFailure is catchable; the catcher's ResultPath applies to the raw input */
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
           "\"ResultPath\":\"$.a.b\",\"Catch\":[{\"ErrorEquals\":[\"States.ResultPathMatchFailure\"],"
           "\"ResultPath\":\"$.e\",\"Next\":\"C\"}],\"End\":true},\"C\":{\"Type\":\"Pass\",\"OutputPath\":\"$.e.Error\",\"End\":true}}}",
           "{\"a\":\"s\"}", "\"States.ResultPathMatchFailure\"");
    /* a Fail state without Error, caught by States.ALL around a Parallel */
    expect("{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"End\":true,"
           "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"C\"}],\"Branches\":["
           "{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Fail\"}}}]},"
           "\"C\":{\"Type\":\"Pass\",\"End\":true}}}", "{}", "{\"Error\":\"\",\"Cause\":\"\"}");
    /* an intrinsic failure in Parameters is caught by States.ALL */
    expect("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
           "\"Parameters\":{\"n.$\":\"States.ArrayLength($.s)\"},"
           "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.e\",\"Next\":\"C\"}],\"End\":true},"
           "\"C\":{\"Type\":\"Pass\",\"OutputPath\":\"$.e.Error\",\"End\":true}}}",
           "{\"s\":\"x\"}", "\"States.IntrinsicFailure\"");
}

static void test_heartbeat_and_timeout_paths(void **state)
{
    (void)state;
    asl_machine_t *m = compile("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\","
                               "\"TimeoutSeconds\":60,\"HeartbeatSecondsPath\":\"$.h\",\"End\":true}}}");
    asl_env_t env = {0};
    cJSON *in = cJSON_Parse("{\"h\":5}");
    asl_step_t st;
    assert_int_equal(asl_exec_start(m, in, NULL, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_RUN_TASK);
    assert_int_equal(st.timeout_ms, 60000);
    assert_int_equal(st.heartbeat_ms, 5000);
    asl_step_clear(&st);
    cJSON_Delete(in);
    in = cJSON_Parse("{\"h\":0}");
    assert_int_equal(asl_exec_start(m, in, NULL, &env, &st), 0);
    assert_int_equal(st.kind, ASL_STEP_FAILED);
    assert_string_equal(st.error.error, "States.Runtime");
    asl_step_clear(&st);
    cJSON_Delete(in);
    asl_machine_free(m);
}

static void test_map_stops_after_failure(void **state)
{
    (void)state;
    const char *def =
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"MaxConcurrency\":1,"
        "\"ItemProcessor\":{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
        "\"Resource\":\"sagad:fail\",\"End\":true}}},\"End\":true}}}";
    const char *in = "[{\"error\":\"A\"},{\"error\":\"B\"},{\"error\":\"C\"},{\"error\":\"D\"}]";
    for (int il = 0; il < 2; il++) {
        asl_run_opts_t o = {.interleave = il};
        asl_run_result_t res;
        char *got = run_opts(def, in, &o, &res);
        assert_string_equal(got, "FAILED:A:");
        assert_int_equal(res.n_tasks, 1); /* nothing more is started after the failure */
        free(got);
        asl_run_result_clear(&res);
    }
}

static void test_compile_without_problem_list(void **state)
{
    (void)state;
    asl_machine_t *m = NULL;
    const char *bad = "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Nope\"}}}";
    assert_int_equal(asl_machine_compile_text(bad, strlen(bad), &m, NULL), -1);
    assert_null(m);
    assert_int_equal(asl_machine_compile_text("{", 1, &m, NULL), -1);
    const char *ok = "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Succeed\"}}}";
    assert_int_equal(asl_machine_compile_text(ok, strlen(ok), &m, NULL), 0);
    asl_machine_free(m);
}

/* Raw payloads (printed once, for a runtime that stores text) print exactly
 * as the deep copies do. */
static void test_raw_payloads_print_the_same(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"P\",\"States\":{"
        "\"P\":{\"Type\":\"Pass\",\"Result\":{\"s\":\"q\\\"uote\",\"n\":[1,2.5]},"
        "\"ResultPath\":\"$.r\",\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"End\":true}}}");
    cJSON *in = cJSON_Parse("{\"a\":\"x\\ny\",\"b\":null}");
    char *text[2];
    for (int raw = 0; raw < 2; raw++) {
        asl_env_t env = {.now_ms = 1700000000000, .raw_payloads = raw};
        asl_step_t step;
        assert_int_equal(asl_exec_start(m, in, NULL, &env, &step), 0);
        assert_int_equal(step.kind, ASL_STEP_RUN_TASK);
        const cJSON *entered = cJSON_GetArrayItem(step.events, 1);
        const cJSON *payload = cJSON_GetObjectItem(cJSON_GetObjectItem(entered, "details"), "input");
        assert_int_equal(cJSON_IsRaw(payload) ? 1 : 0, raw);
        text[raw] = asl_json_print(step.events);
        asl_step_clear(&step);
    }
    assert_string_equal(text[0], text[1]);
    assert_non_null(strstr(text[1], "q\\\"uote"));
    free(text[0]);
    free(text[1]);
    cJSON_Delete(in);
    asl_machine_free(m);
}

/* Raw payload texts reused for an unchanged value (execution input to the
 * first StateEntered, Choice/Wait/Succeed passing their input through, the
 * last output to ExecutionSucceeded) give the same history as deep copies. */
static void test_raw_payloads_reused(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"C\",\"States\":{"
        "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.n\",\"NumericEquals\":1,"
        "\"Next\":\"W\"}],\"Default\":\"W\"},"
        "\"W\":{\"Type\":\"Wait\",\"Seconds\":0,\"Next\":\"P\"},"
        "\"P\":{\"Type\":\"Pass\",\"Result\":[1],\"ResultPath\":\"$.r\",\"Next\":\"I\"},"
        "\"I\":{\"Type\":\"Choice\",\"InputPath\":\"$.r\",\"Choices\":[{\"Variable\":\"$[0]\","
        "\"NumericEquals\":1,\"Next\":\"S\"}],\"Default\":\"S\"},"
        "\"S\":{\"Type\":\"Succeed\"}}}");
    cJSON *in = cJSON_Parse("{\"n\":1,\"s\":\"q\\\"\\n\"}");
    char *text[2];
    for (int raw = 0; raw < 2; raw++) {
        asl_env_t env = {.now_ms = 1700000000000, .raw_payloads = raw};
        asl_step_t step;
        assert_int_equal(asl_exec_start(m, in, NULL, &env, &step), 0);
        assert_int_equal(step.kind, ASL_STEP_SUCCEEDED);
        text[raw] = asl_json_print(step.events);
        asl_step_clear(&step);
    }
    assert_string_equal(text[0], text[1]);
    /* the Choice with InputPath passes on its selection, not its input */
    assert_non_null(strstr(text[1], "\"ChoiceStateExited\",\"details\":{\"name\":\"I\",\"output\":[1]}"));
    assert_non_null(strstr(text[1], "\"ExecutionSucceeded\",\"details\":{\"output\":[1]}"));
    free(text[0]);
    free(text[1]);
    cJSON_Delete(in);
    asl_machine_free(m);
}

/* How drive_with_string runs the engine: events with deep copies, events
 * with raw payloads, only counted events (as the runtime does), the same
 * with every cursor printed and parsed again (as after a restart), and
 * with the task result's size given in the outcome (as the runtime may). */
enum { DRIVE_WALKED = 0, DRIVE_RAW = 1, DRIVE_COUNT = 2, DRIVE_COUNT_REPARSED = 3,
       DRIVE_COUNT_SIZED = 4 };

/* Drives m on `input` through the step API, answering every Task with a
 * string of n 'x' (n + 2 bytes of JSON), or "s" for resource sagad:small;
 * returns "output|events" printed. */
static char *drive_with_string(const asl_machine_t *m, const cJSON *input, size_t n, int mode)
{
    asl_env_t env = {.now_ms = 1700000000000, .raw_payloads = mode == DRIVE_RAW,
                     .count_events = mode >= DRIVE_COUNT};
    asl_step_t st;
    cJSON *all = cJSON_CreateArray();
    char *x = malloc(n + 1);
    memset(x, 'x', n);
    x[n] = '\0';
    assert_int_equal(asl_exec_start(m, input, NULL, &env, &st), 0);
    for (;;) {
        cJSON *e;
        while ((e = cJSON_DetachItemFromArray(st.events, 0)) != NULL)
            cJSON_AddItemToArray(all, e);
        if (st.kind != ASL_STEP_RUN_TASK)
            break;
        const char *answer = strcmp(st.handler, "small") == 0 ? "s" : x;
        asl_outcome_t oc = {.kind = ASL_OUTCOME_TASK_SUCCEEDED, .result = cJSON_CreateString(answer)};
        if (mode == DRIVE_COUNT_SIZED)
            oc.result_size = strlen(answer) + 2;
        cJSON *c = asl_step_take_cursor(&st);
        if (mode == DRIVE_COUNT_REPARSED) {
            char *text = cJSON_PrintUnformatted(c);
            cJSON_Delete(c);
            c = cJSON_Parse(text);
            free(text);
        }
        asl_step_clear(&st);
        assert_int_equal(asl_exec_resume(m, c, &oc, NULL, &env, &st, NULL), 0);
    }
    char *ev = asl_json_print(all);
    char *out = st.kind == ASL_STEP_SUCCEEDED ? asl_json_print(st.output) : NULL;
    size_t len = strlen(ev) + (out ? strlen(out) : 0) + 300;
    char *res = malloc(len);
    snprintf(res, len, "%s:%s:%s|%s", asl_step_kind_name(st.kind), out ? out : st.error.error,
             out ? "" : st.error.cause, ev);
    free(out);
    free(ev);
    free(x);
    cJSON_Delete(all);
    asl_step_clear(&st);
    return res;
}

/* Runs drive_with_string in every mode and checks they agree: the same
 * events with and without raw payloads, the same outcome when events are
 * only counted, with in-memory or reparsed cursors. Returns the raw run's. */
static char *drive_all_modes(const asl_machine_t *m, const cJSON *input, size_t n)
{
    char *walked = drive_with_string(m, input, n, DRIVE_WALKED);
    char *printed = drive_with_string(m, input, n, DRIVE_RAW);
    assert_string_equal(walked, printed);
    size_t outcome = (size_t)(strchr(printed, '|') - printed);
    for (int mode = DRIVE_COUNT; mode <= DRIVE_COUNT_SIZED; mode++) {
        char *counted = drive_with_string(m, input, n, mode);
        if (strlen(counted) != outcome + 3 || strncmp(counted, printed, outcome + 1) != 0 ||
            strcmp(counted + outcome + 1, "[]") != 0)
            fail_msg("mode %d: want %.*s|[], got %.200s", mode, (int)outcome, printed, counted);
        free(counted);
    }
    free(walked);
    return printed;
}

/* The payload limit gives the same errors, outputs and events whether the
 * sizes come from a walk or from the text printed for raw payloads. */
static void test_data_limit_raw_payloads(void **state)
{
    (void)state;
    asl_machine_t *m = compile(
        "{\"StartAt\":\"T\",\"States\":{"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\",\"Parameters\":{\"a.$\":\"$.a\","
        "\"pad\":\"0123456789\"},\"ResultPath\":\"$.r\",\"Catch\":[{\"ErrorEquals\":[\"States.DataLimitExceeded\"],"
        "\"ResultPath\":\"$.e\",\"Next\":\"H\"}],\"End\":true},"
        "\"H\":{\"Type\":\"Pass\",\"OutputPath\":\"$.e\",\"End\":true}}}");
    /* input {"a":"ab"} (10 bytes); output {"a":"ab","r":"x..."} is n + 17 bytes */
    cJSON *in = cJSON_Parse("{\"a\":\"ab\"}");
    static const struct { size_t n; const char *want; } cases[] = {
        {ASL_PAYLOAD_LIMIT - 17, "Succeeded:{\"a\":\"ab\",\"r\":\"xxx"},
        {ASL_PAYLOAD_LIMIT - 16, "Succeeded:{\"Error\":\"States.DataLimitExceeded\","
                                 "\"Cause\":\"The state output has"},
        {ASL_PAYLOAD_LIMIT - 2, "Succeeded:{\"Error\":\"States.DataLimitExceeded\","
                                "\"Cause\":\"The state output has"},
        {ASL_PAYLOAD_LIMIT - 1, "Succeeded:{\"Error\":\"States.DataLimitExceeded\","
                                "\"Cause\":\"The task result has"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *printed = drive_all_modes(m, in, cases[i].n);
        if (strncmp(printed, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("n=%zu: want %s, got %.200s", cases[i].n, cases[i].want, printed);
        free(printed);
    }
    cJSON_Delete(in);
    /* task input and execution input */
    size_t n = ASL_PAYLOAD_LIMIT - 7;   /* {"a":"x..."}: n + 8 bytes */
    char *big = malloc(n + 16);
    memcpy(big, "{\"a\":\"", 6);
    memset(big + 6, 'x', n);
    memcpy(big + 6 + n, "\"}", 3);
    in = cJSON_Parse(big);
    char *printed = drive_all_modes(m, in, 1);
    assert_non_null(strstr(printed, "The execution input has"));
    free(printed);
    cJSON_Delete(in);
    big[6 + n - 4] = '"';
    big[6 + n - 3] = '}';
    big[6 + n - 2] = '\0';    /* input of limit - 3 bytes; the task input is 19 more */
    in = cJSON_Parse(big);
    assert_non_null(in);
    printed = drive_all_modes(m, in, 1);
    /* the task input was refused (no TaskScheduled) and caught, but the
     * catcher's output (input plus the error under $.e) is too big as well */
    assert_null(strstr(printed, "\"TaskScheduled\""));
    assert_true(strncmp(printed, "Failed:States.DataLimitExceeded:The state output has", 52) == 0);
    free(printed);
    cJSON_Delete(in);
    big[6 + n - 24] = '"';
    big[6 + n - 23] = '}';
    big[6 + n - 22] = '\0';   /* now the task input is limit - 4 bytes */
    in = cJSON_Parse(big);
    assert_non_null(in);
    printed = drive_all_modes(m, in, 1);
    /* task input limit - 4 bytes, output {"a":"x...","r":"x"} limit - 15 */
    assert_non_null(strstr(printed, "\"TaskSucceeded\""));
    assert_true(strncmp(printed, "Succeeded:{\"a\":\"xxx", 19) == 0);
    free(printed);
    cJSON_Delete(in);
    free(big);
    asl_machine_free(m);
}

/* {"<key>": <n> copies of `unit` separated by `sep` (may be NULL)}. */
static cJSON *string_input(const char *key, const char *unit, const char *sep, size_t n)
{
    size_t lu = strlen(unit), ls = sep ? strlen(sep) : 0;
    char *str = malloc(n * (lu + ls) + 1);
    char *p = str;
    for (size_t i = 0; i < n; i++) {
        if (i && sep) {
            memcpy(p, sep, ls);
            p += ls;
        }
        memcpy(p, unit, lu);
        p += lu;
    }
    *p = '\0';
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, key, str);
    free(str);
    return in;
}

/* Runs `def` on `in` (taken) in every mode, answering Tasks with n 'x';
 * checks that the outcome starts with `want`. */
static void expect_limit(const char *def, cJSON *in, size_t n, const char *want)
{
    asl_machine_t *m = compile(def);
    char *printed = drive_all_modes(m, in, n);
    if (strncmp(printed, want, strlen(want)) != 0)
        fail_msg("n=%zu: want %s, got %.200s", n, want, printed);
    free(printed);
    cJSON_Delete(in);
    asl_machine_free(m);
}

/* The payload limit at its exact boundary for every check site, in every
 * mode, in particular when events are only counted and sizes come from
 * bounds carried across steps (in memory or lost with a reparsed cursor). */
static void test_data_limit_bounds(void **state)
{
    (void)state;
    const size_t L = ASL_PAYLOAD_LIMIT;
    const char *over_out = "Failed:States.DataLimitExceeded:The state output has";
    const char *over_task_in = "Failed:States.DataLimitExceeded:The task input has";
    const char *over_result = "Failed:States.DataLimitExceeded:The task result has";
    /* ResultPath merge, the input's bound from the step before (through a
     * Choice): {"a":"ab","r1":"s","r2":"x..."} is n + 27 bytes */
    const char *chain =
        "{\"StartAt\":\"T1\",\"States\":{"
        "\"T1\":{\"Type\":\"Task\",\"Resource\":\"sagad:small\",\"ResultPath\":\"$.r1\",\"Next\":\"C\"},"
        "\"C\":{\"Type\":\"Choice\",\"OutputPath\":\"$\",\"Choices\":[{\"Variable\":\"$.a\","
        "\"StringEquals\":\"no\",\"Next\":\"T1\"}],\"Default\":\"T2\"},"
        "\"T2\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\",\"ResultPath\":\"$.r2\",\"End\":true}}}";
    expect_limit(chain, cJSON_Parse("{\"a\":\"ab\"}"), L - 27, "Succeeded:{\"a\":\"ab\",\"r1\":\"s\",\"r2\":\"xx");
    expect_limit(chain, cJSON_Parse("{\"a\":\"ab\"}"), L - 26, over_out);
    expect_limit(chain, cJSON_Parse("{\"a\":\"ab\"}"), L - 2, over_out);
    expect_limit(chain, cJSON_Parse("{\"a\":\"ab\"}"), L - 1, over_result);
    /* the bound (input + result) is over the limit but ResultPath replaces
     * the big member: {"big":"x..."} is n + 10 bytes */
    const char *replace =
        "{\"StartAt\":\"T\",\"States\":{"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\",\"ResultPath\":\"$.big\",\"End\":true}}}";
    expect_limit(replace, string_input("big", "y", NULL, 200000), 100000, "Succeeded:{\"big\":\"xx");
    expect_limit(replace, string_input("big", "y", NULL, 200000), L - 10, "Succeeded:{\"big\":\"xx");
    expect_limit(replace, string_input("big", "y", NULL, 200000), L - 9, over_out);
    /* the merged document is over the limit, OutputPath keeps a part */
    expect_limit("{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\","
                 "\"ResultPath\":\"$.r\",\"OutputPath\":\"$.big\",\"End\":true}}}",
                 string_input("big", "y", NULL, 200000), 100000, "Succeeded:\"yyy");
    /* Parameters with an intrinsic that grows: {"p":["a",...]} is 4k + 7
     * bytes for k items */
    const char *split = "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\","
                        "\"Parameters\":{\"p.$\":\"States.StringSplit($.s, ',')\"},\"End\":true}}}";
    expect_limit(split, string_input("s", "a", ",", 65534), 0, "Succeeded:{\"p\":[\"a\",");
    expect_limit(split, string_input("s", "a", ",", 65535), 0, over_out);
    /* the same merged into the input (2k + 7 bytes): 6k + 19 bytes */
    const char *split_merge = "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\","
                              "\"Parameters\":{\"p.$\":\"States.StringSplit($.s, ',')\"},"
                              "\"ResultPath\":\"$.q\",\"End\":true}}}";
    expect_limit(split_merge, string_input("s", "a", ",", 43687), 0, "Succeeded:{\"s\":\"a,a");
    expect_limit(split_merge, string_input("s", "a", ",", 43688), 0, over_out);
    /* the same as a task input */
    const char *split_task = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
                             "\"Resource\":\"sagad:small\",\"Parameters\":{\"p.$\":"
                             "\"States.StringSplit($.s, ',')\"},\"ResultPath\":null,\"End\":true}}}";
    expect_limit(split_task, string_input("s", "a", ",", 65534), 0, "Succeeded:{\"s\":\"a,a");
    expect_limit(split_task, string_input("s", "a", ",", 65535), 0, over_task_in);
    /* two references to one big field: {"a":"x...","b":"x..."} is 2m + 15 */
    const char *twice = "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\","
                        "\"Resource\":\"sagad:small\",\"Parameters\":{\"a.$\":\"$.s\",\"b.$\":\"$.s\"},"
                        "\"ResultPath\":\"$.r\",\"OutputPath\":\"$.r\",\"End\":true}}}";
    expect_limit(twice, string_input("s", "x", NULL, 131064), 0, "Succeeded:\"s\"");
    expect_limit(twice, string_input("s", "x", NULL, 131065), 0, over_task_in);
    /* a Pass that doubles its input, then a Task that passes it on whole
     * (its task input needs no walk): 2m + 15 bytes again */
    const char *pass_task = "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\","
                            "\"Parameters\":{\"a.$\":\"$.s\",\"b.$\":\"$.s\"},\"Next\":\"T\"},"
                            "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:small\",\"InputPath\":\"$\","
                            "\"ResultPath\":\"$.a\",\"End\":true}}}";
    expect_limit(pass_task, string_input("s", "x", NULL, 131064), 0, "Succeeded:{\"a\":\"s\",\"b\":\"xx");
    expect_limit(pass_task, string_input("s", "x", NULL, 131065), 0, over_out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_raw_payloads_print_the_same),
        cmocka_unit_test(test_data_limit_raw_payloads),
        cmocka_unit_test(test_data_limit_bounds),
        cmocka_unit_test(test_raw_payloads_reused),
        cmocka_unit_test(test_parameters_and_context),
        cmocka_unit_test(test_task_builtins),
        cmocka_unit_test(test_retry_timing),
        cmocka_unit_test(test_retry_jitter),
        cmocka_unit_test(test_retrier_limit),
        cmocka_unit_test(test_catch),
        cmocka_unit_test(test_catch_sees_input_before_result_path),
        cmocka_unit_test(test_error_matching),
        cmocka_unit_test(test_data_limit),
        cmocka_unit_test(test_timeout_not_task_failed),
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_wait),
        cmocka_unit_test(test_succeed_fail),
        cmocka_unit_test(test_parallel),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_map_tolerated_failures),
        cmocka_unit_test(test_step_api_events),
        cmocka_unit_test(test_step_api_timeout_event),
        cmocka_unit_test(test_step_api_children),
        cmocka_unit_test(test_continue_and_limit),
        cmocka_unit_test(test_run_collects_events),
        cmocka_unit_test(test_pending_after_restart),
        cmocka_unit_test(test_parallel_retry_and_nested),
        cmocka_unit_test(test_catch_runtime_like_errors),
        cmocka_unit_test(test_heartbeat_and_timeout_paths),
        cmocka_unit_test(test_map_stops_after_failure),
        cmocka_unit_test(test_compile_without_problem_list),
        cmocka_unit_test(test_enter_cursor_redrive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
