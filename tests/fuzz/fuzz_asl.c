/* libFuzzer target for the ASL engine: parse + validate a definition, and if
 * it compiles, run it with the synchronous driver on a fixed input (bounded
 * transitions) and drive a few steps of the step API through a printed and
 * re-parsed cursor, as the runtime does. Build: make fuzz. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asl/exec.h"
#include "asl/run.h"
#include "asl/machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *INPUT =
    "{\"a\":1,\"b\":\"two\",\"items\":[1,{\"x\":2},\"3\"],\"t\":\"2026-01-01T00:00:00Z\","
    "\"error\":\"Boom\",\"cause\":\"fuzz\",\"n\":null,\"f\":1.5,\"o\":{\"p\":[true,false]}}";

/* A few steps of the step API with canned outcomes. */
static void step_api(const asl_machine_t *m, const cJSON *in)
{
    asl_env_t env = {.now_ms = 1767225600000LL};
    asl_exec_info_t info = {.execution_id = "fz", .execution_name = "fz",
                            .execution_input = in, .state_machine_name = "fz"};
    asl_step_t st;
    if (asl_exec_start(m, in, &info, &env, &st) != 0)
        return;
    for (int i = 0; i < 8 && st.cursor; i++) {
        asl_outcome_t oc = {0};
        switch (st.kind) {
        case ASL_STEP_RUN_TASK:
            if (i & 1) {
                oc.kind = ASL_OUTCOME_TASK_FAILED;
                oc.error = (i & 2) ? "States.Timeout" : "Boom";
                oc.cause = "c";
            } else {
                oc.kind = ASL_OUTCOME_TASK_SUCCEEDED;
                oc.result = cJSON_Duplicate(st.task_input, 1);
            }
            break;
        case ASL_STEP_WAIT:
        case ASL_STEP_RETRY:
            oc.kind = ASL_OUTCOME_TIMER;
            env.now_ms = st.wake_at_ms;
            break;
        case ASL_STEP_RUN_CHILDREN:
            oc.kind = ASL_OUTCOME_CHILDREN;
            oc.children = cJSON_CreateArray();
            for (size_t k = 0; k < st.n_children; k++) {
                cJSON *r = cJSON_CreateObject();
                if ((k + (size_t)i) % 3 == 2) {
                    cJSON_AddStringToObject(r, "error", "ChildFailed");
                    cJSON_AddStringToObject(r, "cause", "c");
                } else {
                    cJSON_AddItemToObject(r, "output", cJSON_Duplicate(st.children[k].input, 1));
                }
                cJSON_AddItemToArray(oc.children, r);
            }
            break;
        default:
            break;
        }
        /* a restart at this point must rebuild the same request */
        asl_step_t again;
        if (asl_exec_pending(m, st.cursor, &info, &env, &again, NULL) == 0) {
            if (again.kind != st.kind)
                __builtin_trap();
            asl_step_clear(&again);
        }
        char *txt = cJSON_PrintUnformatted(st.cursor);
        cJSON *cur = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        asl_step_clear(&st);
        if (!cur) {
            cJSON_Delete(oc.result);
            cJSON_Delete(oc.children);
            return;
        }
        if (asl_exec_resume(m, cur, &oc, &info, &env, &st, NULL) != 0)
            return;
    }
    asl_step_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    asl_problems_t probs;
    asl_problems_init(&probs);
    asl_machine_t *m = NULL;
    int rc = asl_machine_compile_text((const char *)data, size, &m, &probs);
    if (rc == 0) {
        cJSON *in = cJSON_Parse(INPUT);
        cJSON *events = (size & 1) ? cJSON_CreateArray() : NULL;
        asl_run_opts_t o = {.max_transitions = 300, .interleave = (int)(size & 2), .events = events};
        asl_run_result_t res;
        if (asl_run(m, in, &o, &res) == 0)
            asl_run_result_clear(&res);
        step_api(m, in);
        cJSON_Delete(events);
        cJSON_Delete(in);
        asl_machine_free(m);
    } else {
        cJSON *j = asl_problems_to_json(&probs);
        cJSON_Delete(j);
    }
    asl_problems_free(&probs);
    return 0;
}
