/* Payload templates (stub: being implemented). */
#include "asl/template.h"

int asl_template_compile(const cJSON *tmpl, const char *state, const char *field, asl_problems_t *probs, asl_template_t **out)
{ (void)tmpl; *out = NULL; asl_problems_add(probs, state, field, "not implemented yet"); return -1; }
void asl_template_free(asl_template_t *t) { (void)t; }
bool asl_template_is_literal(const asl_template_t *t) { (void)t; return true; }
int asl_template_eval(const asl_template_t *t, const cJSON *input, const asl_eval_env_t *env, cJSON **out, asl_error_t *err)
{ (void)t; (void)input; (void)env; *out = NULL; return asl_error_set(err, ASL_E_RUNTIME, "not implemented yet"); }
