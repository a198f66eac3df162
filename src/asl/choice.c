/* Choice rules (stub: being implemented). */
#include "asl/choice.h"

int asl_choice_compile(const cJSON *rule, bool top_level, const char *state, const char *field, asl_problems_t *probs, asl_choice_t **out)
{ (void)rule; (void)top_level; *out = NULL; asl_problems_add(probs, state, field, "not implemented yet"); return -1; }
void asl_choice_free(asl_choice_t *c) { (void)c; }
const char *asl_choice_next(const asl_choice_t *c) { (void)c; return NULL; }
int asl_choice_eval(const asl_choice_t *c, const cJSON *input, const asl_eval_env_t *env, asl_error_t *err)
{ (void)c; (void)input; (void)env; return asl_error_set(err, ASL_E_RUNTIME, "not implemented yet"); }
