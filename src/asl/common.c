/* Problem lists and error values shared by the ASL modules. */
#include "asl/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return strdup("");
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void asl_problems_init(asl_problems_t *p)
{
    memset(p, 0, sizeof *p);
}

void asl_problems_add(asl_problems_t *p, const char *state, const char *field,
                      const char *fmt, ...)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        asl_problem_t *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return;
        p->items = items;
        p->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    asl_problem_t *it = &p->items[p->count++];
    it->state = dup_or_null(state);
    it->field = dup_or_null(field);
    it->message = vformat(fmt, ap);
    va_end(ap);
}

void asl_problems_free(asl_problems_t *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].state);
        free(p->items[i].field);
        free(p->items[i].message);
    }
    free(p->items);
    asl_problems_init(p);
}

cJSON *asl_problems_to_json(const asl_problems_t *p)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < p->count; i++) {
        cJSON *o = cJSON_CreateObject();
        const asl_problem_t *it = &p->items[i];
        if (it->state)
            cJSON_AddStringToObject(o, "state", it->state);
        else
            cJSON_AddNullToObject(o, "state");
        if (it->field)
            cJSON_AddStringToObject(o, "field", it->field);
        else
            cJSON_AddNullToObject(o, "field");
        cJSON_AddStringToObject(o, "message", it->message ? it->message : "");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

int asl_error_set(asl_error_t *e, const char *error, const char *fmt, ...)
{
    asl_error_clear(e);
    e->error = strdup(error);
    va_list ap;
    va_start(ap, fmt);
    e->cause = vformat(fmt, ap);
    va_end(ap);
    return -1;
}

void asl_error_clear(asl_error_t *e)
{
    free(e->error);
    free(e->cause);
    e->error = NULL;
    e->cause = NULL;
}

void asl_error_move(asl_error_t *dst, asl_error_t *src)
{
    asl_error_clear(dst);
    *dst = *src;
    src->error = NULL;
    src->cause = NULL;
}

asl_task_kind_t asl_task_kind(const char *handler, const char **base, size_t *base_len)
{
    static const size_t SUFFIX = sizeof ASL_TASK_CALLBACK_SUFFIX - 1;
    static const size_t PREFIX = sizeof ASL_TASK_ACTIVITY_PREFIX - 1;
    size_t n = handler ? strlen(handler) : 0;
    asl_task_kind_t kind = ASL_TASK_LOCAL;
    const char *b = handler ? handler : "";
    size_t bl = n;
    if (n > PREFIX && strncmp(handler, ASL_TASK_ACTIVITY_PREFIX, PREFIX) == 0) {
        kind = ASL_TASK_ACTIVITY;
        b = handler + PREFIX;
        bl = n - PREFIX;
    } else if (n > SUFFIX && strcmp(handler + n - SUFFIX, ASL_TASK_CALLBACK_SUFFIX) == 0) {
        kind = ASL_TASK_CALLBACK;
        bl = n - SUFFIX;
    }
    if (base)
        *base = b;
    if (base_len)
        *base_len = bl;
    return kind;
}

int asl_activity_name_valid(const char *name)
{
    size_t n = 0;
    if (!name)
        return 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= ASL_ACTIVITY_NAME_MAX;
}

char *asl_task_token_new(uint64_t (*draw)(void *ud), void *ud)
{
    static const char HEX[] = "0123456789abcdef";
    char *t = malloc(ASL_TASK_TOKEN_LEN + 1), *p = t;
    if (!t)
        return NULL;
    for (int i = 0; i < ASL_TASK_TOKEN_LEN / 16; i++) {
        uint64_t v = draw(ud);
        for (int j = 0; j < 16; j++, v >>= 4)
            *p++ = HEX[v & 15];
    }
    *p = '\0';
    return t;
}
