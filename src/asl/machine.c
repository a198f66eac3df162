/* ASL definition parser and validator (stub: real implementation follows). */
#include "asl/machine.h"

#include <stdlib.h>
#include <string.h>

struct asl_machine_s {
    cJSON *def;
};

const char *asl_state_type_name(asl_state_type_t t)
{
    static const char *names[] = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int asl_machine_compile(const cJSON *definition, asl_machine_t **out, asl_problems_t *problems)
{
    (void)definition;
    *out = NULL;
    if (problems)
        asl_problems_add(problems, NULL, NULL, "not implemented yet");
    return -1;
}

int asl_machine_compile_text(const char *text, size_t len, asl_machine_t **out,
                             asl_problems_t *problems)
{
    (void)text;
    (void)len;
    return asl_machine_compile(NULL, out, problems);
}

void asl_machine_free(asl_machine_t *m)
{
    if (m) {
        cJSON_Delete(m->def);
        free(m);
    }
}

const cJSON *asl_machine_definition(const asl_machine_t *m) { return m->def; }
const char *asl_machine_comment(const asl_machine_t *m) { (void)m; return NULL; }
uint32_t asl_machine_timeout_seconds(const asl_machine_t *m) { (void)m; return 0; }
size_t asl_machine_state_count(const asl_machine_t *m) { (void)m; return 0; }
size_t asl_machine_start_index(const asl_machine_t *m) { (void)m; return 0; }
long asl_machine_find_state(const asl_machine_t *m, const char *name) { (void)m; (void)name; return -1; }
const char *asl_machine_state_name(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
asl_state_type_t asl_machine_state_type(const asl_machine_t *m, size_t i) { (void)m; (void)i; return ASL_STATE_PASS; }
const char *asl_machine_state_comment(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
const char *asl_machine_state_next(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
int asl_machine_state_is_end(const asl_machine_t *m, size_t i) { (void)m; (void)i; return 0; }
const char *asl_machine_state_default(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
size_t asl_machine_state_choice_count(const asl_machine_t *m, size_t i) { (void)m; (void)i; return 0; }
const char *asl_machine_state_choice_next(const asl_machine_t *m, size_t i, size_t k) { (void)m; (void)i; (void)k; return NULL; }
size_t asl_machine_state_catch_count(const asl_machine_t *m, size_t i) { (void)m; (void)i; return 0; }
const char *asl_machine_state_catch_next(const asl_machine_t *m, size_t i, size_t k) { (void)m; (void)i; (void)k; return NULL; }
const cJSON *asl_machine_state_catch_errors(const asl_machine_t *m, size_t i, size_t k) { (void)m; (void)i; (void)k; return NULL; }
size_t asl_machine_state_retry_count(const asl_machine_t *m, size_t i) { (void)m; (void)i; return 0; }
const char *asl_machine_state_resource(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
const char *asl_machine_state_handler(const asl_machine_t *m, size_t i) { (void)m; (void)i; return NULL; }
size_t asl_machine_state_branch_count(const asl_machine_t *m, size_t i) { (void)m; (void)i; return 0; }
const asl_machine_t *asl_machine_state_branch(const asl_machine_t *m, size_t i, size_t k) { (void)m; (void)i; (void)k; return NULL; }
int asl_machine_foreach_handler(const asl_machine_t *m,
                                int (*fn)(const char *handler, const char *state, void *ud),
                                void *ud)
{
    (void)m; (void)fn; (void)ud;
    return 0;
}
