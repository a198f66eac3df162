/* SQLite-style parameters as PostgreSQL's: a one-pass lexer that knows only
 * what can hide a '?': quoted strings, quoted identifiers and comments. */
#include "store/pg_sql.h"

#include <stdlib.h>
#include <string.h>

/* Where the quoted text or comment starting at p ends (just past it); p
 * itself when p starts none. An unterminated one runs to the end. */
static const char *skip_quoted(const char *p)
{
    if (*p == '\'' || *p == '"') {
        char q = *p++;
        for (; *p; p++)
            if (*p == q) {
                if (p[1] != q)   /* '' and "" are the quote itself */
                    return p + 1;
                p++;
            }
        return p;
    }
    if (p[0] == '-' && p[1] == '-') {
        const char *nl = strchr(p, '\n');
        return nl ? nl + 1 : p + strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *end = strstr(p + 2, "*/");
        return end ? end + 2 : p + strlen(p);
    }
    return p;
}

char *store_pg_sql(const char *sql, int *nparams)
{
    /* "?" -> "$999" at most: four bytes per byte is always enough. */
    size_t len = strlen(sql);
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    int highest = 0;
    for (const char *p = sql; *p;) {
        const char *end = skip_quoted(p);
        if (end != p) {
            memcpy(o, p, (size_t)(end - p));
            o += end - p;
            p = end;
            continue;
        }
        if (*p != '?') {
            *o++ = *p++;
            continue;
        }
        p++;
        long n;
        if (*p >= '0' && *p <= '9') {
            char *after;
            n = strtol(p, &after, 10);
            p = after;
        } else {
            n = highest + 1;
        }
        if (n < 1 || n > 999) {
            free(out);
            return NULL;
        }
        if (n > highest)
            highest = (int)n;
        *o++ = '$';
        char digits[4];
        int k = 0;
        do
            digits[k++] = (char)('0' + n % 10);
        while ((n /= 10) > 0);
        while (k)
            *o++ = digits[--k];
    }
    *o = '\0';
    *nparams = highest;
    return out;
}
