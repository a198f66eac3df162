/* Unit tests for engine/replay: a run's log, replayed, gives exactly the
 * events the run produced (random intrinsics, a retry across a timer, task
 * results and failures), and the log has the documented shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "asl/machine.h"
#include "engine/replay.h"

static const char MACHINE[] =
    "{\"StartAt\":\"Init\",\"States\":{"
    "\"Init\":{\"Type\":\"Pass\",\"Parameters\":{\"id.$\":\"States.UUID()\","
    "\"r.$\":\"States.MathRandom(1, 1000)\",\"t.$\":\"$$.State.EnteredTime\"},\"Next\":\"Echo\"},"
    "\"Echo\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"ResultPath\":\"$.echo\","
    "\"Next\":\"Flaky\"},"
    "\"Flaky\":{\"Type\":\"Task\",\"Resource\":\"sagad:fail\",\"Retry\":[{\"ErrorEquals\":"
    "[\"States.ALL\"],\"IntervalSeconds\":1,\"MaxAttempts\":2,\"JitterStrategy\":\"FULL\"}],"
    "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"ResultPath\":\"$.err\",\"Next\":\"Done\"}],"
    "\"End\":true},"
    "\"Done\":{\"Type\":\"Succeed\"}}}";

/* The run: the engine with events kept, its log written alongside, task
 * answers as the runtime would give them (echo; fail with a cause). Returns
 * the events; *logs gets one printed log per "advance" (here: per step that
 * waits for a timer, as the runtime would commit there). */
static cJSON *run(const asl_machine_t *m, const cJSON *input, const asl_exec_info_t *info,
                  cJSON *logs)
{
    cJSON *events = cJSON_CreateArray();
    replay_log_t lg;
    int64_t now = 1790000000000LL;
    assert_int_equal(replay_log_begin(&lg, now), 0);
    asl_env_t env = {.now_ms = now, .random64 = replay_log_rand, .random_ud = &lg};
    asl_step_t step;
    memset(&step, 0, sizeof step);
    assert_int_equal(replay_log_note(&lg, NULL), 0);
    assert_int_equal(asl_exec_start(m, input, info, &env, &step), 0);
    for (int guard = 0; guard < 50; guard++) {
        cJSON *ev;
        while ((ev = cJSON_DetachItemFromArray(step.events, 0)))
            cJSON_AddItemToArray(events, ev);
        if (step.kind == ASL_STEP_SUCCEEDED || step.kind == ASL_STEP_FAILED)
            break;
        asl_outcome_t oc = {0};
        if (step.kind == ASL_STEP_RUN_TASK && strcmp(step.handler, "echo") == 0) {
            oc.kind = ASL_OUTCOME_TASK_SUCCEEDED;
            oc.result = cJSON_Duplicate(step.task_input, 1);
        } else if (step.kind == ASL_STEP_RUN_TASK) {
            oc.kind = ASL_OUTCOME_TASK_FAILED;
            oc.error = "Flaky.Error";
            oc.cause = "no luck";
        } else {
            /* A timer: the runtime commits here and resumes later. */
            assert_int_equal(step.kind, ASL_STEP_RETRY);
            char *text = replay_log_finish(&lg);
            cJSON_AddItemToArray(logs, cJSON_CreateString(text));
            free(text);
            now = step.wake_at_ms;
            assert_int_equal(replay_log_begin(&lg, now), 0);
            env.now_ms = now;
            env.random_ud = &lg;
            oc.kind = ASL_OUTCOME_TIMER;
        }
        cJSON *cur = asl_step_take_cursor(&step);
        asl_step_clear(&step);
        assert_int_equal(replay_log_note(&lg, &oc), 0);
        if (oc.kind == ASL_OUTCOME_TASK_SUCCEEDED)
            assert_true(oc.result_size > 0);
        asl_error_t err = {0};
        assert_int_equal(asl_exec_resume(m, cur, &oc, info, &env, &step, &err), 0);
        asl_error_clear(&err);
    }
    assert_true(step.kind == ASL_STEP_SUCCEEDED);
    asl_step_clear(&step);
    char *last = replay_log_finish(&lg);
    cJSON_AddItemToArray(logs, cJSON_CreateString(last));
    free(last);
    return events;
}

static void test_replay_gives_the_run(void **state)
{
    (void)state;
    asl_machine_t *m;
    asl_problems_t p;
    asl_problems_init(&p);
    assert_int_equal(asl_machine_compile_text(MACHINE, strlen(MACHINE), &m, &p), 0);
    asl_problems_free(&p);
    cJSON *input = cJSON_Parse("{\"x\":1}");
    asl_exec_info_t info = {.execution_id = "e-1", .execution_name = "n-1",
                            .execution_input = input, .start_time_ms = 1790000000000LL,
                            .state_machine_id = "m", .state_machine_name = "m",
                            .instance_id = "e-1"};
    cJSON *logs = cJSON_CreateArray();
    cJSON *events = run(m, input, &info, logs);
    /* Three advances: start..first retry wait, second wait, the end. */
    assert_int_equal(cJSON_GetArraySize(logs), 3);
    cJSON *first = cJSON_Parse(cJSON_GetArrayItem(logs, 0)->valuestring);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(first, "steps"), 0)->valuestring, "s");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(first, "rnd")) >= 2);
    cJSON_Delete(first);

    replay_t *rp = replay_new(m, "m", "e-1", "n-1", cJSON_Duplicate(input, 1), 1790000000000LL);
    assert_non_null(rp);
    cJSON *again = cJSON_CreateArray();
    const cJSON *text;
    cJSON_ArrayForEach(text, logs) {
        cJSON *log = cJSON_Parse(text->valuestring);
        assert_int_equal(replay_row(rp, log, again), 0);
        cJSON_Delete(log);
    }
    replay_free(rp);
    assert_int_equal(cJSON_GetArraySize(again), cJSON_GetArraySize(events));
    assert_true(cJSON_Compare(again, events, 1));

    /* A log whose first step is not the start cannot be replayed alone. */
    rp = replay_new(m, "m", "e-1", "n-1", cJSON_Duplicate(input, 1), 1790000000000LL);
    cJSON *second = cJSON_Parse(cJSON_GetArrayItem(logs, 1)->valuestring);
    cJSON *out = cJSON_CreateArray();
    assert_int_equal(replay_row(rp, second, out), -1);
    cJSON_Delete(second);
    cJSON_Delete(out);
    replay_free(rp);

    cJSON_Delete(again);
    cJSON_Delete(events);
    cJSON_Delete(logs);
    cJSON_Delete(input);
    asl_machine_free(m);
}

/* A redrive's row ("rd"): its ExecutionRedriven event, then the rows after
 * it go on from its cursor, after a run that had failed; an "rd" without a
 * cursor breaks the replay. */
static void test_replay_redrive_row(void **state)
{
    (void)state;
    static const char def[] =
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:x\","
        "\"End\":true}}}";
    asl_problems_t p;
    asl_problems_init(&p);
    asl_machine_t *m = NULL;
    assert_int_equal(asl_machine_compile_text(def, strlen(def), &m, &p), 0);
    asl_problems_free(&p);
    cJSON *input = cJSON_Parse("{\"k\":1}");
    replay_t *rp = replay_new(m, "m", "e-1", NULL, cJSON_Duplicate(input, 1), 1790000000000LL);
    cJSON *out = cJSON_CreateArray();
    cJSON *failed = cJSON_Parse("{\"now\":1790000000001,\"steps\":[\"s\",{\"e\":\"Boom\",\"c\":\"x\"}]}");
    assert_int_equal(replay_row(rp, failed, out), 0);
    int n = cJSON_GetArraySize(out);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(out, n - 1), "type")->valuestring,
                        "ExecutionFailed");
    cJSON *rd = cJSON_Parse("{\"now\":1790000000002,\"rd\":{\"n\":1},\"steps\":[]}");
    cJSON_AddItemToObject(cJSON_GetObjectItem(rd, "rd"), "c", asl_exec_enter_cursor(m, "T", input, 1));
    assert_int_equal(replay_row(rp, rd, out), 0);
    assert_int_equal(cJSON_GetArraySize(out), n + 1);
    const cJSON *ev = cJSON_GetArrayItem(out, n);
    assert_string_equal(cJSON_GetObjectItem(ev, "type")->valuestring, "ExecutionRedriven");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "details"), "redriveCount")->valueint, 1);
    cJSON *again = cJSON_Parse("{\"now\":1790000000003,\"steps\":[\"n\",{\"r\":{\"ok\":true}}]}");
    assert_int_equal(replay_row(rp, again, out), 0);
    ev = cJSON_GetArrayItem(out, n + 1);
    assert_string_equal(cJSON_GetObjectItem(ev, "type")->valuestring, "TaskStateEntered");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "details"), "input"),
                              input, 1));
    int total = cJSON_GetArraySize(out);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(out, total - 1), "type")->valuestring,
                        "ExecutionSucceeded");
    cJSON *bad = cJSON_Parse("{\"now\":1790000000004,\"rd\":{\"n\":2},\"steps\":[]}");
    assert_int_equal(replay_row(rp, bad, out), -1);
    assert_int_equal(cJSON_GetArraySize(out), total);
    cJSON_Delete(failed);
    cJSON_Delete(rd);
    cJSON_Delete(again);
    cJSON_Delete(bad);
    cJSON_Delete(out);
    cJSON_Delete(input);
    replay_free(rp);
    asl_machine_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_gives_the_run),
        cmocka_unit_test(test_replay_redrive_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
