/* Aliases of state machines (a name for one version, moved explicitly) and
 * resolving what a start names: NAME, NAME:N or NAME:ALIAS. Aliases live in
 * the database only: a start reads one row. */
#include "machines_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_GET[] =
    "SELECT version, updated_ms FROM state_machine_aliases WHERE name = ? AND alias = ?";
static const char SQL_LIST[] =
    "SELECT alias, version, updated_ms FROM state_machine_aliases WHERE name = ? ORDER BY alias";
static const char SQL_INSERT[] =
    "INSERT INTO state_machine_aliases (name, alias, version, updated_ms) VALUES (?, ?, ?, ?)";
static const char SQL_MOVE[] =
    "UPDATE state_machine_aliases SET version = ?, updated_ms = ? WHERE name = ? AND alias = ?";
static const char SQL_DELETE[] = "DELETE FROM state_machine_aliases WHERE name = ? AND alias = ?";

#define ALIAS_MAX 80

int machines_valid_alias(const char *alias)
{
    size_t n = strlen(alias);
    int digits = 1;
    if (n == 0 || n > ALIAS_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)alias[i];
        if (!isalnum(c) && c != '_' && c != '-')
            return 0;
        digits &= isdigit(c) != 0;
    }
    return !digits;
}

/* The undeleted `version` of `name`, or NULL. */
static const machine_ver_t *live_version(machines_t *reg, const char *name, int version)
{
    const machine_ver_t *v = machines_get_version(reg, name, version);
    return v && !v->deleted_ms ? v : NULL;
}

int machines_alias_get(machines_t *reg, const char *name, const char *alias,
                       machines_alias_t *out)
{
    if (!machines_get(reg, name))
        return MACHINES_ERR_NOT_FOUND;
    store_stmt_t *s = store_prepare(reg->st, SQL_GET);
    if (!s)
        return MACHINES_ERR_STORE;
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, alias);
    int rc = store_step(s);
    if (rc == STORE_ROW) {
        out->name = name;
        out->alias = alias;
        out->version = store_col_int(s, 0);
        out->updated_ms = store_col_int64(s, 1);
    }
    store_reset(s);
    return rc == STORE_ROW ? 0 : rc == STORE_DONE ? MACHINES_ERR_NOT_FOUND : MACHINES_ERR_STORE;
}

int machines_alias_put(machines_t *reg, const char *name, const char *alias, int version,
                       int *created)
{
    if (!machines_valid_alias(alias))
        return MACHINES_ERR_NAME;
    if (!machines_get(reg, name))
        return MACHINES_ERR_NOT_FOUND;
    if (!live_version(reg, name, version))
        return MACHINES_ERR_NO_VERSION;
    machines_alias_t old;
    int rc = machines_alias_get(reg, name, alias, &old);
    if (rc != 0 && rc != MACHINES_ERR_NOT_FOUND)
        return rc;
    int is_new = rc == MACHINES_ERR_NOT_FOUND;
    store_stmt_t *s = store_prepare(reg->st, is_new ? SQL_INSERT : SQL_MOVE);
    if (!s)
        return MACHINES_ERR_STORE;
    int64_t now = store_now_ms();
    if (is_new) {
        store_bind_text(s, 1, name);
        store_bind_text(s, 2, alias);
        store_bind_int(s, 3, version);
        store_bind_int64(s, 4, now);
    } else {
        store_bind_int(s, 1, version);
        store_bind_int64(s, 2, now);
        store_bind_text(s, 3, name);
        store_bind_text(s, 4, alias);
    }
    if (store_exec_stmt(s) < 0)
        return MACHINES_ERR_STORE;
    if (created)
        *created = is_new;
    return 0;
}

int machines_alias_list(machines_t *reg, const char *name,
                        void (*fn)(const machines_alias_t *a, void *ud), void *ud)
{
    if (!machines_get(reg, name))
        return MACHINES_ERR_NOT_FOUND;
    store_stmt_t *s = store_prepare(reg->st, SQL_LIST);
    if (!s)
        return MACHINES_ERR_STORE;
    store_bind_text(s, 1, name);
    int rc, n = 0;
    while ((rc = store_step(s)) == STORE_ROW) {
        machines_alias_t a = {name, store_col_text(s, 0), store_col_int(s, 1),
                              store_col_int64(s, 2)};
        fn(&a, ud);
        n++;
    }
    store_reset(s);
    return rc == STORE_DONE ? n : MACHINES_ERR_STORE;
}

int machines_alias_delete(machines_t *reg, const char *name, const char *alias)
{
    if (!machines_get(reg, name))
        return MACHINES_ERR_NOT_FOUND;
    store_stmt_t *s = store_prepare(reg->st, SQL_DELETE);
    if (!s)
        return MACHINES_ERR_STORE;
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, alias);
    if (store_exec_stmt(s) < 0)
        return MACHINES_ERR_STORE;
    return store_changes(reg->st) > 0 ? 0 : MACHINES_ERR_NOT_FOUND;
}

const machine_ver_t *machines_resolve(machines_t *reg, const char *qualified, int *err)
{
    int dummy;
    err = err ? err : &dummy;
    const char *colon = strchr(qualified, ':');
    size_t nl = colon ? (size_t)(colon - qualified) : strlen(qualified);
    char name[96];
    if (nl == 0 || nl >= sizeof name) {
        *err = nl ? MACHINES_ERR_NOT_FOUND : MACHINES_ERR_NAME;
        return NULL;
    }
    memcpy(name, qualified, nl);
    name[nl] = '\0';
    const machine_ver_t *v = machines_get(reg, name);
    if (!v) {
        *err = MACHINES_ERR_NOT_FOUND;
        return NULL;
    }
    if (!colon)
        return v;
    const char *q = colon + 1;
    if (*q && strspn(q, "0123456789") == strlen(q)) {
        errno = 0;
        char *end;
        long n = strtol(q, &end, 10);
        v = errno == 0 && n >= 1 && n <= 0x7fffffff ? live_version(reg, name, (int)n) : NULL;
        if (!v)
            *err = MACHINES_ERR_NO_VERSION;
        return v;
    }
    if (!machines_valid_alias(q)) {
        *err = MACHINES_ERR_NAME;
        return NULL;
    }
    machines_alias_t a;
    int rc = machines_alias_get(reg, name, q, &a);
    if (rc != 0) {
        *err = rc == MACHINES_ERR_NOT_FOUND ? MACHINES_ERR_NO_VERSION : rc;
        return NULL;
    }
    /* Deleting a version never happens without deleting its aliases, but a
     * stored version may no longer compile. */
    v = live_version(reg, name, a.version);
    if (!v)
        *err = MACHINES_ERR_NO_VERSION;
    return v;
}
