/* The value types of the Step Functions API: ARNs, names, timestamps as
 * epoch seconds, and payloads carried as JSON text. */
#include "aws_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARN_PREFIX "arn:aws:states:"

static const char *const kinds[] = {
    [API_AWS_ARN_STATE_MACHINE] = "stateMachine",
    [API_AWS_ARN_EXECUTION] = "execution",
    [API_AWS_ARN_ACTIVITY] = "activity",
};

int api_aws_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 80)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || strchr("<>{}[]?*\"#%\\^|~`$&,;:/", c))
            return 0;
    }
    return 1;
}

/* Copies the next ':'-separated field of *p into out (size n); 0, or -1
 * when it does not fit. Advances *p past the ':' (or to the end). */
static int field(const char **p, char *out, size_t n)
{
    size_t len = strcspn(*p, ":");
    if (len >= n)
        return -1;
    memcpy(out, *p, len);
    out[len] = '\0';
    *p += len + ((*p)[len] == ':');
    return 0;
}

int api_aws_arn_parse(const char *arn, api_aws_arn_kind_t kind, const char *region,
                      const char *account, api_aws_arn_t *out)
{
    memset(out, 0, sizeof *out);
    if (!arn || strncmp(arn, ARN_PREFIX, sizeof ARN_PREFIX - 1) != 0)
        return API_AWS_ARN_MALFORMED;
    const char *p = arn + sizeof ARN_PREFIX - 1;
    char reg[64], acct[32], type[32];
    if (field(&p, reg, sizeof reg) < 0 || field(&p, acct, sizeof acct) < 0 ||
        field(&p, type, sizeof type) < 0 || strcmp(type, kinds[kind]) != 0 || !*reg || !*acct)
        return API_AWS_ARN_MALFORMED;
    if (field(&p, out->name, sizeof out->name) < 0 || !api_aws_name_valid(out->name))
        return API_AWS_ARN_MALFORMED;
    int has_qualifier = p[-1] == ':';
    if (has_qualifier && (kind == API_AWS_ARN_ACTIVITY ||
                          field(&p, out->qualifier, sizeof out->qualifier) < 0 ||
                          !api_aws_name_valid(out->qualifier) || p[-1] == ':'))
        return API_AWS_ARN_MALFORMED;
    if (kind == API_AWS_ARN_EXECUTION && !has_qualifier)
        return API_AWS_ARN_MALFORMED;
    if (strcmp(reg, region) != 0 || strcmp(acct, account) != 0)
        return API_AWS_ARN_ELSEWHERE;
    return API_AWS_ARN_OK;
}

char *api_aws_arn_format(char buf[API_AWS_ARN_MAX], api_aws_arn_kind_t kind, const char *region,
                         const char *account, const char *name, const char *qualifier)
{
    snprintf(buf, API_AWS_ARN_MAX, ARN_PREFIX "%s:%s:%s:%s%s%s", region, account, kinds[kind], name,
             qualifier && *qualifier ? ":" : "", qualifier ? qualifier : "");
    return buf;
}

double api_aws_epoch(const char *t)
{
    int y, mo, d, h, mi, s, ms, n = 0;
    if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &s, &ms, &n) != 7 ||
        n != 24 || t[n])
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    return (double)timegm(&tm) + ms / 1000.0;
}

void aws_add_ms(cJSON *o, const char *key, int64_t ms)
{
    cJSON_AddNumberToObject(o, key, (double)ms / 1000.0);
}

void aws_add_date(cJSON *o, const char *key, const cJSON *src, const char *from)
{
    double t = api_aws_epoch(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, from)));
    if (t >= 0)
        cJSON_AddNumberToObject(o, key, t);
}

void aws_add_payload(cJSON *o, const char *key, const cJSON *v, int in_history)
{
    if (!v)
        return;
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
        return;
    cJSON_AddStringToObject(o, key, text);
    free(text);
    char dkey[64];
    snprintf(dkey, sizeof dkey, "%sDetails", key);
    cJSON *d = cJSON_AddObjectToObject(o, dkey);
    if (in_history)
        cJSON_AddBoolToObject(d, "truncated", 0);
    else
        cJSON_AddBoolToObject(d, "included", 1);
}

const char *aws_execution_name(const cJSON *d)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "name"));
    return name ? name : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "executionId"));
}
