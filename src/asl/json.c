/* JSON helpers for the ASL engine (stub: being implemented). */
#include "asl/json.h"

#include <stdlib.h>
#include <string.h>

bool asl_json_equal(const cJSON *a, const cJSON *b) { (void)a; (void)b; return false; }
size_t asl_json_size(const cJSON *v, size_t limit) { (void)v; (void)limit; return 0; }
char *asl_json_print(const cJSON *v) { return cJSON_PrintUnformatted(v); }
int asl_json_check_limit(const cJSON *v, const char *what, asl_error_t *err)
{ (void)v; (void)what; (void)err; return 0; }
bool asl_json_is_integer(const cJSON *v, int64_t *out) { (void)v; (void)out; return false; }
cJSON *asl_json_parse(const char *text, size_t len) { return cJSON_ParseWithLength(text, len); }
bool asl_timestamp_parse(const char *s, asl_timestamp_t *out) { (void)s; (void)out; return false; }
int asl_timestamp_cmp(const asl_timestamp_t *a, const asl_timestamp_t *b) { (void)a; (void)b; return 0; }
int64_t asl_timestamp_to_ms(const asl_timestamp_t *t) { (void)t; return 0; }
char *asl_timestamp_format(int64_t ms, char *buf) { (void)ms; buf[0] = 0; return buf; }
