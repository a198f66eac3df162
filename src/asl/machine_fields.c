/* Reading the fields of a definition: each typed getter reports a problem
 * naming the state and the field, and unknown fields are reported too. */
#include "machine_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void asl_machine_prob(ctx_t *c, const char *state, const char *field, const char *fmt, ...)
{
    c->count++;
    if (!c->probs)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    asl_problems_add(c->probs, state, field, "%s", msg);
}

const char *asl_state_type_name(asl_state_type_t t)
{
    static const char *names[] = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int asl_machine_type_from_name(const char *s, asl_state_type_t *t)
{
    for (int i = 0; i <= (int)ASL_STATE_MAP; i++) {
        if (strcmp(s, asl_state_type_name((asl_state_type_t)i)) == 0) {
            *t = (asl_state_type_t)i;
            return 0;
        }
    }
    return -1;
}

/* ---- field helpers ------------------------------------------------------ */

/* Field name "prefix.name" or "name". */
void asl_machine_fname(char *buf, size_t n, const char *prefix, const char *name)
{
    if (prefix && *prefix)
        snprintf(buf, n, "%s.%s", prefix, name);
    else
        snprintf(buf, n, "%s", name);
}

int asl_machine_contains_context(const cJSON *v)
{
    if (!v)
        return 0;
    if (cJSON_IsString(v))
        return strstr(v->valuestring, "$$") != NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (c->string && strstr(c->string, "$$"))
            return 1;
        if (asl_machine_contains_context(c))
            return 1;
    }
    return 0;
}

/* A non-negative integral number not above `max`. */
int asl_machine_get_uint(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                         double min, double max, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
        asl_machine_prob(c, st, field, "must be an integer, not %s",
                         cJSON_IsNumber(v) ? "a fraction" : asl_json_type_name(v));
        return -1;
    }
    if (v->valuedouble < min || v->valuedouble > max) {
        asl_machine_prob(c, st, field, "must be between %.0f and %.0f, got %.17g", min, max,
                         v->valuedouble);
        return -1;
    }
    *out = v->valuedouble;
    return 1;
}

const char *asl_machine_get_string(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                                   const char *shown)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v)) {
        asl_machine_prob(c, st, shown ? shown : field, "must be a string, not %s",
                         asl_json_type_name(v));
        return NULL;
    }
    return v->valuestring;
}

/* Compiles a path field. Returns 0 when absent, 1 when set (*out, or *is_null
 * for JSON null when allow_null), -1 on a problem. */
int asl_machine_get_path(ctx_t *c, const char *st, const cJSON *obj, const char *field,
                         const char *shown, unsigned flags, int allow_null, asl_path_t **out,
                         int *is_null)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (is_null)
        *is_null = 0;
    if (!v)
        return 0;
    if (cJSON_IsNull(v) && allow_null) {
        *is_null = 1;
        return 1;
    }
    if (!cJSON_IsString(v)) {
        asl_machine_prob(c, st, shown ? shown : field, "must be a %s string%s, not %s",
                         (flags & ASL_PATH_REFERENCE) ? "reference path" : "path",
                         allow_null ? " or null" : "", asl_json_type_name(v));
        return -1;
    }
    char msg[ASL_PATH_MSG_MAX] = "";
    if (asl_path_compile(v->valuestring, flags, out, msg, sizeof msg) != 0) {
        asl_machine_prob(c, st, shown ? shown : field, "%s", msg[0] ? msg : "invalid path");
        *out = NULL;
        return -1;
    }
    return 1;
}

/* A number given literally (`lit`) or by path (`path_field`), not both. */
void asl_machine_get_num_field(ctx_t *c, const char *st, const cJSON *obj, const char *lit,
                               const char *path_field, double min, double max, int integer,
                               asl_num_field_t *f)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, lit);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, path_field);
    if (v && p) {
        asl_machine_prob(c, st, lit, "%s and %s cannot both be set", lit, path_field);
        return;
    }
    if (v) {
        if (integer) {
            double d;
            if (asl_machine_get_uint(c, st, obj, lit, min, max, &d) == 1) {
                f->set = 1;
                f->value = d;
            }
        } else if (!cJSON_IsNumber(v)) {
            asl_machine_prob(c, st, lit, "must be a number, not %s", asl_json_type_name(v));
        } else if (v->valuedouble < min || v->valuedouble > max) {
            asl_machine_prob(c, st, lit, "must be between %.0f and %.0f, got %.17g", min, max,
                             v->valuedouble);
        } else {
            f->set = 1;
            f->value = v->valuedouble;
        }
    } else if (p) {
        if (asl_machine_get_path(c, st, obj, path_field, NULL, ASL_PATH_REFERENCE, 0, &f->path,
                                 NULL) == 1)
            f->set = 1;
    }
}

void asl_machine_free_num_field(asl_num_field_t *f)
{
    asl_path_free(f->path);
}

/* Rejects fields not in `allowed` (NULL-terminated). */
void asl_machine_check_fields(ctx_t *c, const char *st, const char *prefix, const cJSON *obj,
                              const char *const *allowed, const char *what)
{
    for (const cJSON *f = obj->child; f; f = f->next) {
        /* Next and End get their own messages (compile_transition). */
        int ok = !prefix && allowed != NULL && (strcmp(f->string, "Next") == 0 ||
                                                strcmp(f->string, "End") == 0) &&
                 strcmp(what, "a state machine") != 0 && strcmp(what, "a branch") != 0;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(f->string, *a) == 0) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            char fb[256];
            asl_machine_fname(fb, sizeof fb, prefix, f->string);
            asl_machine_prob(c, st, fb, "unknown field for %s", what);
        }
    }
}
