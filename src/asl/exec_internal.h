/* Private to the files of the asl/exec module (src/asl/exec*.c): the state
 * of one engine call (run_t) and the functions the files share. The public
 * face is include/asl/exec.h. */
#ifndef SAGAD_ASL_EXEC_INTERNAL_H
#define SAGAD_ASL_EXEC_INTERNAL_H

#include "asl/exec.h"

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

/* Internal transitions one start/resume call may make before it yields
 * (ASL_STEP_CONTINUE), so a Pass/Choice loop cannot hog the event loop. */
#define STEP_BUDGET 1000

/* asl_exec_check_limit: the size of the payload is not known yet. */
#define SIZE_UNKNOWN SIZE_MAX

/* What a state function did: stopped with a filled step, moved to the next
 * state, raised r->err, or (Wait) found nothing to wait for. */
enum { R_STOP = 0, R_NEXT = 1, R_ERR = 2, R_WAITED = 3 };

/* Phases a cursor can be in. */
typedef enum { PH_ENTER = 0, PH_TASK, PH_WAIT, PH_RETRY, PH_CHILDREN } phase_t;

typedef struct run_s {
    const asl_machine_t *m;
    const asl_exec_info_t *info;
    const asl_env_t *env;
    asl_step_t *step;
    int lean;                   /* count events, build none (asl_env_t.count_events) */
    size_t transitions;         /* states entered during this call */
    size_t n_events;            /* events produced during this call */

    /* cursor */
    size_t state;
    cJSON *input;               /* raw input of the current state (owned) */
    /* An upper bound of input's printed size (SIZE_UNKNOWN: none), so that
     * the payload limit on what is built from it can often be proved
     * without a walk (see asl_exec_out_bound). Not printed in the cursor. */
    size_t in_size;
    int64_t entered_ms;
    uint64_t seq;               /* states entered since the start */
    uint32_t retries;           /* retries of the current state so far */
    uint32_t attempts[ASL_RETRIERS_MAX]; /* per retrier (validation caps their number) */
    int64_t wake_ms;
    long tolerated;             /* Map: failures tolerated; -1 = none configured */
    int child_kind;             /* 0 top level, else asl_child_kind_t */
    char *parent;               /* owned: parent state name (children only) */
    size_t index;

    asl_error_t err;            /* the error being handled (R_ERR) */

    /* Raw payloads printed in this call, borrowed from their events, so
     * that a value unchanged in between is not printed twice: the last
     * StateExited output (or the execution input) and the event count after
     * it, for the next StateEntered input and ExecutionSucceeded output; the
     * current state's StateEntered input, for a StateExited output that
     * passes it through (Choice, Succeed, Wait). */
    const cJSON *exit_value;
    const char *exit_text;
    size_t exit_event;
    const char *entered_text;
    size_t entered_event;
} run_t;

static inline const asl_state_t *cur(const run_t *r)
{
    return asl_machine_state(r->m, r->state);
}

static inline int64_t now_ms(const run_t *r)
{
    return r->env ? r->env->now_ms : 0;
}

/* exec_events.c */
void asl_exec_add_item(cJSON *obj, const char *static_key, cJSON *item);
cJSON *asl_exec_event(run_t *r, const char *type);
char *asl_exec_payload_text(const run_t *r, const cJSON *v, size_t *len);
const char *asl_exec_add_payload(run_t *r, cJSON *d, const char *key, const cJSON *v, char *text,
                                 const char *same);
const char *asl_exec_exit_text_of(const run_t *r, const cJSON *v);
void asl_exec_add_str(cJSON *d, const char *key, const char *s);
void asl_exec_add_num(cJSON *d, const char *key, double v);
void asl_exec_state_event(run_t *r, const char *suffix, const char *key, const cJSON *v, char *text,
                          int pass);
void asl_exec_add_ref(cJSON *obj, const char *key, const cJSON *v);
cJSON *asl_exec_build_context(const run_t *r, const char *token);
asl_eval_env_t asl_exec_eval_env(const run_t *r, const cJSON *ctx);

/* exec_data.c */
int asl_exec_output_path(run_t *r, cJSON *v, const cJSON *ctx, cJSON **out);
int asl_exec_result_path(const asl_path_t *p, int is_null, cJSON *in, cJSON *result, cJSON **out,
                         asl_error_t *err);
int asl_exec_input_view(run_t *r, const cJSON *ctx, const cJSON **view, cJSON **owned);
int asl_exec_effective_view(run_t *r, const cJSON *ctx, const asl_template_t *params,
                            const cJSON **view, cJSON **owned);
int asl_exec_effective_input(run_t *r, const cJSON *ctx, const asl_template_t *params, cJSON **out);
int asl_exec_view_output(run_t *r, const cJSON *view, cJSON *owned, const cJSON *ctx, cJSON **out,
                         int *pass);
int asl_exec_result_replaces(const asl_state_t *s);
int asl_exec_num_field(run_t *r, const asl_num_field_t *f, const cJSON *in, const cJSON *ctx,
                       const char *field, double min, int integer, double *out);
int asl_exec_check_limit(run_t *r, const cJSON *v, size_t known, size_t bound, const char *what,
                         size_t *size);
size_t asl_exec_out_bound(const run_t *r, const asl_path_t *p, int is_null, size_t in_sz,
                          const cJSON *result, size_t res_sz, int output);
size_t asl_exec_in_bound(const run_t *r);
size_t asl_exec_view_bound(const run_t *r);

/* exec_cursor.c */
const char *asl_exec_phase_name(phase_t ph);
void asl_exec_make_cursor(run_t *r, phase_t ph);
int asl_exec_load_cursor(run_t *r, cJSON *c, asl_error_t *err);

/* exec_end.c */
int asl_exec_fail(run_t *r);
int asl_exec_transition(run_t *r, cJSON *output, size_t size);
int asl_exec_handle_error(run_t *r);

/* exec_states.c */
void asl_exec_task_token(run_t *r, char **out);
int asl_exec_run_task(run_t *r, int emit);
int asl_exec_run_children(run_t *r, int emit);
int asl_exec_run_state(run_t *r);
int asl_exec_finish_wait(run_t *r);

/* exec_results.c */
int asl_exec_task_succeeded(run_t *r, cJSON *result, size_t result_size);
int asl_exec_children_done(run_t *r, cJSON *children);

#endif
