/* Intrinsic functions (stub: being implemented). */
#include "asl/intrinsic.h"

#include <stdio.h>

bool asl_intrinsic_is_call(const char *text) { (void)text; return false; }
int asl_intrinsic_compile(const char *text, asl_intrinsic_t **out, char *msg, size_t msglen)
{ (void)text; *out = NULL; if (msg && msglen) snprintf(msg, msglen, "not implemented yet"); return -1; }
void asl_intrinsic_free(asl_intrinsic_t *f) { (void)f; }
int asl_intrinsic_eval(const asl_intrinsic_t *f, const cJSON *input, const asl_eval_env_t *env, cJSON **out, asl_error_t *err)
{ (void)f; (void)input; (void)env; *out = NULL; return asl_error_set(err, ASL_E_INTRINSIC_FAILURE, "not implemented yet"); }
