/* The pure ASL execution engine (stub: real implementation follows). */
#include "asl/exec.h"

#include <stdlib.h>
#include <string.h>

void asl_step_clear(asl_step_t *s)
{
    cJSON_Delete(s->cursor);
    cJSON_Delete(s->events);
    cJSON_Delete(s->task_input);
    free(s->task_token);
    for (size_t i = 0; i < s->n_children; i++)
        cJSON_Delete(s->children[i].input);
    free(s->children);
    cJSON_Delete(s->output);
    asl_error_clear(&s->error);
    memset(s, 0, sizeof *s);
}

cJSON *asl_step_take_cursor(asl_step_t *s)
{
    cJSON *c = s->cursor;
    s->cursor = NULL;
    return c;
}

static int stub_fail(asl_step_t *step)
{
    memset(step, 0, sizeof *step);
    step->kind = ASL_STEP_FAILED;
    step->events = cJSON_CreateArray();
    asl_error_set(&step->error, ASL_E_RUNTIME, "engine not implemented yet");
    return 0;
}

int asl_exec_start(const asl_machine_t *m, const cJSON *input,
                   const asl_exec_info_t *info, const asl_env_t *env, asl_step_t *step)
{
    (void)m; (void)input; (void)info; (void)env;
    return stub_fail(step);
}

int asl_exec_start_child(const asl_child_t *child, const asl_exec_info_t *info,
                         const asl_env_t *env, asl_step_t *step)
{
    (void)child; (void)info; (void)env;
    return stub_fail(step);
}

int asl_exec_resume(const asl_machine_t *m, cJSON *cursor, asl_outcome_t *outcome,
                    const asl_exec_info_t *info, const asl_env_t *env,
                    asl_step_t *step, asl_error_t *err)
{
    (void)m; (void)outcome; (void)info; (void)env; (void)err;
    cJSON_Delete(cursor);
    return stub_fail(step);
}

const char *asl_cursor_state(const cJSON *cursor)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cursor, "state");
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

const char *asl_step_kind_name(asl_step_kind_t k)
{
    switch (k) {
    case ASL_STEP_RUN_TASK: return "RunTask";
    case ASL_STEP_WAIT: return "Wait";
    case ASL_STEP_RETRY: return "Retry";
    case ASL_STEP_RUN_CHILDREN: return "RunChildren";
    case ASL_STEP_CONTINUE: return "Continue";
    case ASL_STEP_SUCCEEDED: return "Succeeded";
    case ASL_STEP_FAILED: return "Failed";
    }
    return "?";
}

int asl_error_matches(const char *pattern, const char *error, asl_state_type_t t)
{
    (void)t;
    return strcmp(pattern, error) == 0;
}

int asl_run(const asl_machine_t *m, const cJSON *input, const asl_run_opts_t *opts,
            asl_run_result_t *res)
{
    (void)m; (void)input; (void)opts;
    memset(res, 0, sizeof *res);
    res->status = ASL_STEP_FAILED;
    asl_error_set(&res->error, ASL_E_RUNTIME, "engine not implemented yet");
    return 0;
}

void asl_run_result_clear(asl_run_result_t *res)
{
    cJSON_Delete(res->output);
    asl_error_clear(&res->error);
    memset(res, 0, sizeof *res);
}
