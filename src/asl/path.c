/* Compiled JSONPath (stub: being implemented). */
#include "asl/path.h"

#include <stdio.h>

int asl_path_compile(const char *text, unsigned flags, asl_path_t **out, char *msg, size_t msglen)
{ (void)text; (void)flags; *out = NULL; if (msg && msglen) snprintf(msg, msglen, "not implemented yet"); return -1; }
void asl_path_free(asl_path_t *p) { (void)p; }
const char *asl_path_text(const asl_path_t *p) { (void)p; return ""; }
bool asl_path_is_definite(const asl_path_t *p) { (void)p; return true; }
bool asl_path_is_context(const asl_path_t *p) { (void)p; return false; }
bool asl_path_is_root(const asl_path_t *p) { (void)p; return false; }
int asl_path_eval(const asl_path_t *p, const cJSON *input, const cJSON *context, cJSON **out, asl_error_t *err)
{ (void)p; (void)input; (void)context; *out = NULL; return asl_error_set(err, ASL_E_RUNTIME, "not implemented yet"); }
int asl_path_get(const asl_path_t *p, const cJSON *input, const cJSON *context, const cJSON **out)
{ (void)p; (void)input; (void)context; *out = NULL; return -1; }
int asl_path_set(const asl_path_t *p, cJSON **doc, cJSON *value, asl_error_t *err)
{ (void)p; (void)doc; cJSON_Delete(value); return asl_error_set(err, ASL_E_RESULT_PATH, "not implemented yet"); }
