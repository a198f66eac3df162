/* State-machine registry: versions, checks on registering one, deleting a
 * name. Versions live in a flat array: there are few machines, and lookups
 * by name happen once per started execution. */
#include "machines_internal.h"
#include "engine/handler.h"
#include "core/log.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deleted name's versions stay (executions reference them) with
 * deleted_ms set; only undeleted ones are a name's current versions. */
static const char SQL_LATEST[] =
    "SELECT s.name, s.version, s.definition, s.created_ms, s.source, s.deleted_ms "
    "FROM state_machines s WHERE s.deleted_ms IS NULL AND s.version = "
    "(SELECT max(version) FROM state_machines WHERE name = s.name) ORDER BY s.name";
static const char SQL_VERSION[] =
    "SELECT name, version, definition, created_ms, source, deleted_ms FROM state_machines "
    "WHERE name = ? AND version = ?";
/* Deleted versions count: a re-created name numbers on. */
static const char SQL_NEWEST_LIVE[] =
    "SELECT max(version) FROM state_machines WHERE name = ? AND deleted_ms IS NULL";
static const char SQL_MAX_VERSION[] =
    "SELECT coalesce(max(version), 0) FROM state_machines WHERE name = ?";
static const char SQL_VERSIONS[] =
    "SELECT version, created_ms FROM state_machines WHERE name = ? AND deleted_ms IS NULL "
    "ORDER BY version DESC";
static const char SQL_INSERT[] =
    "INSERT INTO state_machines (name, version, definition, created_ms, source) "
    "VALUES (?, ?, ?, ?, ?)";
static const char SQL_RUNNING[] =
    "SELECT count(*) FROM executions WHERE machine = ? AND status = 'RUNNING'";
static const char SQL_DELETE[] =
    "UPDATE state_machines SET deleted_ms = ? WHERE name = ? AND deleted_ms IS NULL";
static const char SQL_DELETE_ALIASES[] = "DELETE FROM state_machine_aliases WHERE name = ?";

int machines_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 80)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.')
            return 0;
    }
    return 1;
}

static void ver_free(machine_ver_t *v)
{
    if (!v)
        return;
    free(v->name);
    free(v->definition);
    free(v->source);
    asl_machine_free(v->machine);
    free(v);
}

/* The handler (or activity) a Resource names, without a callback Task's
 * suffix, into name[256]. */
static asl_task_kind_t resource_name(const char *resource, char name[256])
{
    const char *base;
    size_t len;
    asl_task_kind_t kind = asl_task_kind(resource, &base, &len);
    if (kind == ASL_TASK_ACTIVITY)
        len = strlen(base);
    snprintf(name, 256, "%.*s", (int)(len < 256 ? len : 255), base);
    return kind;
}

static int check_handler(const char *handler, const char *state, void *ud)
{
    asl_problems_t *p = ud;
    char name[256];
    asl_task_kind_t kind = resource_name(handler, name);
    if (kind == ASL_TASK_ACTIVITY) {
        if (!asl_activity_name_valid(name))
            asl_problems_add(p, state, "Resource",
                             "'%s' is not an activity name: 1 to %d characters of A-Z a-z 0-9 "
                             "_ . -", name, ASL_ACTIVITY_NAME_MAX);
        return 0;
    }
    const char *off = handler_lookup(name) ? NULL : handler_off_reason(name);
    if (off)
        asl_problems_add(p, state, "Resource", "handler '%s' is switched off: %s", name, off);
    else if (!handler_lookup(name))
        asl_problems_add(p, state, "Resource",
                         "no handler named '%s' is registered in sagad%s", name,
                         kind == ASL_TASK_CALLBACK
                             ? " (a callback Task runs NAME, then waits for the report)"
                             : "; for a worker outside the daemon use sagad:activity:NAME");
    return 0;
}

/* 1 if `list` ("a.b, c.*") names `handler` exactly or by a prefix ending in '*'. */
static int list_names(const char *list, size_t len, const char *handler)
{
    const char *p = list, *end = list + len;
    while (p < end) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        if (p + n > end)
            n = (size_t)(end - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n && p[n - 1] == '*' ? strncmp(handler, p, n - 1) == 0
                                 : (n && strlen(handler) == n && strncmp(handler, p, n) == 0))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* 1 if handler_allow ("MACHINE: H, H; MACHINE: H") grants `handler` to `machine`. */
static int policy_allows(const char *policy, const char *machine, const char *handler)
{
    for (const char *p = policy; p && *p;) {
        p += strspn(p, " \t;");
        size_t n = strcspn(p, ";");
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *m = p;
            size_t ml = (size_t)(colon - p);
            while (ml && (m[ml - 1] == ' ' || m[ml - 1] == '\t'))
                ml--;
            if (strlen(machine) == ml && strncmp(machine, m, ml) == 0 &&
                list_names(colon + 1, (size_t)(p + n - colon - 1), handler))
                return 1;
        }
        p += n;
    }
    return 0;
}

typedef struct allow_check_s {
    const char *allow;
    const char *machine;
    asl_problems_t *problems;
} allow_check_t;

/* The owner of `handler` when `allow` does not grant it to `machine`, else NULL. */
static const char *denied_by(const char *allow, const char *machine, const char *handler)
{
    const handler_def_t *h = handler_lookup(handler);
    if (h && h->owner && strcmp(h->owner, machine) != 0 && !policy_allows(allow, machine, handler))
        return h->owner;
    return NULL;
}

static int check_owner(const char *resource, const char *state, void *ud)
{
    allow_check_t *c = ud;
    char name[256];
    if (resource_name(resource, name) == ASL_TASK_ACTIVITY)
        return 0;
    const char *owner = denied_by(c->allow, c->machine, name);
    if (owner)
        asl_problems_add(c->problems, state, "Resource",
                         "handler '%s' serves the %s state machine only; to let %s use it, add "
                         "%s:%s to handler_allow", name, owner, c->machine, c->machine, name);
    return 0;
}

/* Compiles text; on problems returns -1 and fills `problems` (may be NULL). */
static int compile(const char *text, size_t len, asl_problems_t *problems, asl_machine_t **out)
{
    asl_problems_t local;
    asl_problems_t *p = problems ? problems : &local;
    if (!problems)
        asl_problems_init(&local);
    size_t before = p->count;
    int rc = asl_machine_compile_text(text, len, out, p);
    if (rc == 0) {
        asl_machine_foreach_handler(*out, check_handler, p);
        if (p->count > before) {
            asl_machine_free(*out);
            *out = NULL;
            rc = -1;
        }
    }
    if (!problems)
        asl_problems_free(&local);
    return rc;
}

static machine_ver_t *ver_new(const char *name, int version, const char *text, size_t len,
                              int64_t created, const char *source, asl_problems_t *problems)
{
    machine_ver_t *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->name = strdup(name);
    v->definition = strndup(text, len);
    v->source = source ? strdup(source) : NULL;
    v->version = version;
    v->created_ms = created;
    if (!v->name || !v->definition || (source && !v->source) ||
        compile(text, len, problems, &v->machine) < 0) {
        ver_free(v);
        return NULL;
    }
    return v;
}

static int add(machines_t *reg, machine_ver_t *v)
{
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? reg->cap * 2 : 16;
        machine_ver_t **nv = realloc(reg->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        reg->v = nv;
        reg->cap = cap;
    }
    reg->v[reg->n++] = v;
    return 0;
}

static machine_ver_t *row_to_ver(store_stmt_t *s)
{
    const char *name = store_col_text(s, 0);
    const char *def = store_col_text(s, 2);
    int version = store_col_int(s, 1);
    size_t len = (size_t)store_col_bytes(s, 2);
    machine_ver_t *v = ver_new(name, version, def, len, store_col_int64(s, 3),
                               store_col_text(s, 4), NULL);
    if (v)
        v->deleted_ms = store_col_int64(s, 5);
    else
        log_warn("state machine %s version %d in the database does not compile any more",
                 name, version);
    return v;
}

int machines_open(store_t *st, machines_t **out)
{
    machines_t *reg = calloc(1, sizeof *reg);
    if (!reg)
        return -1;
    reg->st = st;
    reg->shared = store_backend(st) == STORE_BACKEND_POSTGRESQL;
    store_stmt_t *s = store_prepare(st, SQL_LATEST);
    if (!s) {
        free(reg);
        return -1;
    }
    while (store_step(s) == STORE_ROW) {
        machine_ver_t *v = row_to_ver(s);
        if (v && add(reg, v) < 0)
            ver_free(v);
    }
    store_reset(s);
    *out = reg;
    return 0;
}

void machines_close(machines_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        ver_free(reg->v[i]);
    free(reg->v);
    free(reg->allow);
    free(reg);
}

/* The newest undeleted version as the database has it now (shared). */
static const machine_ver_t *newest_shared(machines_t *reg, const char *name)
{
    store_stmt_t *s = store_prepare(reg->st, SQL_NEWEST_LIVE);
    if (!s)
        return NULL;
    store_bind_text(s, 1, name);
    int version = store_step(s) == STORE_ROW ? store_col_int(s, 0) : 0;
    store_reset(s);
    if (version <= 0)
        return NULL;
    machine_ver_t *v = (machine_ver_t *)machines_get_version(reg, name, version);
    if (v)
        v->deleted_ms = 0;
    return v;
}

const machine_ver_t *machines_get(machines_t *reg, const char *name)
{
    if (reg->shared && !store_in_txn(reg->st))
        return newest_shared(reg, name);
    machine_ver_t *best = NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (!reg->v[i]->deleted_ms && strcmp(reg->v[i]->name, name) == 0 &&
            (!best || reg->v[i]->version > best->version))
            best = reg->v[i];
    return best;
}

const machine_ver_t *machines_get_version(machines_t *reg, const char *name, int version)
{
    for (size_t i = 0; i < reg->n; i++)
        if (reg->v[i]->version == version && strcmp(reg->v[i]->name, name) == 0)
            return reg->v[i];
    store_stmt_t *s = store_prepare(reg->st, SQL_VERSION);
    if (!s)
        return NULL;
    store_bind_text(s, 1, name);
    store_bind_int(s, 2, version);
    machine_ver_t *v = NULL;
    if (store_step(s) == STORE_ROW)
        v = row_to_ver(s);
    store_reset(s);
    if (v && add(reg, v) < 0) {
        ver_free(v);
        v = NULL;
    }
    return v;
}

int machines_check_new(const asl_machine_t *m, const char *name, const char *handler_allow,
                       asl_problems_t *problems)
{
    size_t before = problems->count;
    asl_machine_foreach_handler(m, check_handler, problems);
    allow_check_t ac = {handler_allow, name, problems};
    asl_machine_foreach_handler(m, check_owner, &ac);
    asl_machine_lint(m, problems);
    return problems->count > before ? -1 : 0;
}

int machines_allows(const machines_t *reg, const char *machine, const char *handler)
{
    return denied_by(reg->allow, machine, handler) == NULL;
}

void machines_denial_why(const char *machine, const char *handler, char *buf, size_t size)
{
    const handler_def_t *h = handler_lookup(handler);
    snprintf(buf, size, "handler '%s' serves the %s state machine only and handler_allow does "
             "not grant it to %s; to let %s use it, add %s:%s to handler_allow and restart sagad",
             handler, h && h->owner ? h->owner : "(none)", machine, machine, machine, handler);
}

typedef struct denied_walk_s {
    const machines_t *reg;
    const char *machine;
    machines_denied_t *first;
    const machine_ver_t *log;   /* log each one found, of this version */
    int n;
} denied_walk_t;

static int count_denied(const char *resource, const char *state, void *ud)
{
    denied_walk_t *w = ud;
    char name[256];
    if (resource_name(resource, name) == ASL_TASK_ACTIVITY ||
        machines_allows(w->reg, w->machine, name))
        return 0;
    if (w->n++ == 0 && w->first) {
        snprintf(w->first->handler, sizeof w->first->handler, "%s", name);
        snprintf(w->first->state, sizeof w->first->state, "%s", state ? state : "");
    }
    if (w->log) {
        char why[MACHINES_WHY_SIZE];
        machines_denial_why(w->machine, name, why, sizeof why);
        log_warn("state machine %s version %d, state %s: %s. Until then new starts of this "
                 "version are refused and its running executions fail that Task with %s",
                 w->machine, w->log->version, state ? state : "?", why,
                 MACHINES_E_HANDLER_NOT_ALLOWED);
    }
    return 0;
}

int machines_denied(const machines_t *reg, const machine_ver_t *v, machines_denied_t *first)
{
    denied_walk_t w = {reg, v->name, first, NULL, 0};
    asl_machine_foreach_handler(v->machine, count_denied, &w);
    return w.n;
}

int machines_set_allow(machines_t *reg, const char *handler_allow)
{
    char *copy = handler_allow && *handler_allow ? strdup(handler_allow) : NULL;
    if (handler_allow && *handler_allow && !copy)
        return -1;
    free(reg->allow);
    reg->allow = copy;
    /* Versions are checked as they are registered: a stored one registered
     * under a wider list is named here, once, for the operator. */
    for (size_t i = 0; i < reg->n; i++) {
        denied_walk_t w = {reg, reg->v[i]->name, NULL, reg->v[i], 0};
        if (!reg->v[i]->deleted_ms)
            asl_machine_foreach_handler(reg->v[i]->machine, count_denied, &w);
    }
    return 0;
}

int machines_versions(machines_t *reg, const char *name,
                      void (*fn)(int version, int64_t created_ms, void *ud), void *ud)
{
    store_stmt_t *s = store_prepare(reg->st, SQL_VERSIONS);
    if (!s)
        return -1;
    store_bind_text(s, 1, name);
    int rc, n = 0;
    while ((rc = store_step(s)) == STORE_ROW) {
        fn(store_col_int(s, 0), store_col_int64(s, 1), ud);
        n++;
    }
    store_reset(s);
    return rc == STORE_DONE ? n : -1;
}

int machines_put(machines_t *reg, const char *name, const char *text, size_t len,
                 asl_problems_t *problems, const machine_ver_t **out)
{
    return machines_put_source(reg, name, text, len, MACHINES_SOURCE_API, problems, out);
}

int machines_put_source(machines_t *reg, const char *name, const char *text, size_t len,
                        const char *source, asl_problems_t *problems, const machine_ver_t **out)
{
    const machine_ver_t *cur = machines_get(reg, name);
    if (cur && strlen(cur->definition) == len && memcmp(cur->definition, text, len) == 0) {
        *out = cur;
        return MACHINES_UNCHANGED;
    }
    /* The next version number comes from the table: a stored version that no
     * longer compiles is not in memory but still owns its number. */
    int version = cur ? cur->version + 1 : 1;
    store_stmt_t *q = store_prepare(reg->st, SQL_MAX_VERSION);
    if (q) {
        store_bind_text(q, 1, name);
        if (store_step(q) == STORE_ROW && store_col_int(q, 0) >= version)
            version = store_col_int(q, 0) + 1;
        store_reset(q);
    }
    int64_t now = store_now_ms();
    machine_ver_t *v = ver_new(name, version, text, len, now, source, problems);
    if (!v)
        return -1;
    /* Checked as a version is registered, not as stored ones load: a
     * definition accepted before keeps running its executions. */
    asl_problems_t local;
    asl_problems_init(&local);
    int refused = machines_check_new(v->machine, name, reg->allow, problems ? problems : &local) < 0;
    asl_problems_free(&local);
    if (refused) {
        ver_free(v);
        return -1;
    }
    store_stmt_t *s = store_prepare(reg->st, SQL_INSERT);
    if (!s) {
        ver_free(v);
        return -2;
    }
    store_bind_text(s, 1, v->name);
    store_bind_int(s, 2, v->version);
    store_bind_text(s, 3, v->definition);
    store_bind_int64(s, 4, now);
    store_bind_text(s, 5, v->source);
    if (store_exec_stmt(s) < 0 || add(reg, v) < 0) {
        ver_free(v);
        return -2;
    }
    *out = v;
    return cur ? MACHINES_UPDATED : MACHINES_CREATED;
}

/* Reads every name's newest version, for lists: names registered or
 * deleted by other nodes show as they do there. */
static void refresh_shared(machines_t *reg)
{
    store_stmt_t *s = store_prepare(reg->st, SQL_LATEST);
    if (!s)
        return;
    char **names = NULL;
    int *vers = NULL;
    size_t k = 0, cap = 0;
    while (store_step(s) == STORE_ROW) {
        if (k == cap) {
            cap = cap ? 2 * cap : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            int *nv = nn ? realloc(vers, cap * sizeof *nv) : NULL;
            if (nn)
                names = nn;
            if (!nv)
                break;
            vers = nv;
        }
        if ((names[k] = strdup(store_col_text(s, 0))))
            vers[k++] = store_col_int(s, 1);
    }
    store_reset(s);
    /* A name the database no longer lists was deleted elsewhere. */
    for (size_t i = 0; i < reg->n; i++) {
        int listed = 0;
        for (size_t j = 0; j < k && !listed; j++)
            listed = strcmp(reg->v[i]->name, names[j]) == 0;
        if (!listed && !reg->v[i]->deleted_ms)
            reg->v[i]->deleted_ms = store_now_ms();
    }
    for (size_t j = 0; j < k; j++) {
        machine_ver_t *v = (machine_ver_t *)machines_get_version(reg, names[j], vers[j]);
        if (v)
            v->deleted_ms = 0;
        free(names[j]);
    }
    free(names);
    free(vers);
}

static int cmp_ver_name(const void *a, const void *b)
{
    const machine_ver_t *x = *(machine_ver_t *const *)a, *y = *(machine_ver_t *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->version > y->version) - (x->version < y->version);
}

void machines_foreach(machines_t *reg, void (*fn)(const machine_ver_t *v, void *ud), void *ud)
{
    if (reg->shared && !store_in_txn(reg->st))
        refresh_shared(reg);
    qsort(reg->v, reg->n, sizeof *reg->v, cmp_ver_name);
    const machine_ver_t *best = NULL;   /* the newest undeleted of the current name */
    for (size_t i = 0; i < reg->n; i++) {
        if (!reg->v[i]->deleted_ms)
            best = reg->v[i];
        if (i + 1 == reg->n || strcmp(reg->v[i]->name, reg->v[i + 1]->name) != 0) {
            if (best)
                fn(best, ud);
            best = NULL;
        }
    }
}

int machines_delete(machines_t *reg, const char *name, int force, int64_t *running)
{
    if (!machines_get(reg, name))
        return MACHINES_ERR_NOT_FOUND;
    assert(!store_in_txn(reg->st));
    store_stmt_t *q = store_prepare(reg->st, SQL_RUNNING);
    if (!q)
        return MACHINES_ERR_STORE;
    store_bind_text(q, 1, name);
    int rc = store_step(q);
    int64_t n = rc == STORE_ROW ? store_col_int64(q, 0) : 0;
    store_reset(q);
    if (rc != STORE_ROW)
        return MACHINES_ERR_STORE;
    if (running)
        *running = n;
    if (n > 0 && !force)
        return MACHINES_ERR_RUNNING;
    int64_t now = store_now_ms();
    store_stmt_t *d = NULL, *a = NULL;
    rc = store_begin(reg->st);
    if (rc == 0 && (d = store_prepare(reg->st, SQL_DELETE))) {
        store_bind_int64(d, 1, now);
        store_bind_text(d, 2, name);
        rc = store_exec_stmt(d);
    }
    if (rc == 0 && d && (a = store_prepare(reg->st, SQL_DELETE_ALIASES))) {
        store_bind_text(a, 1, name);
        rc = store_exec_stmt(a);
    }
    if (rc == 0 && d && a)
        rc = store_commit(reg->st);
    else if (rc == 0)
        rc = MACHINES_ERR_STORE;
    if (rc != 0) {
        if (store_in_txn(reg->st))
            store_rollback(reg->st);
        return MACHINES_ERR_STORE;
    }
    /* In memory the versions stay: executions running on them hold them. */
    for (size_t i = 0; i < reg->n; i++)
        if (!reg->v[i]->deleted_ms && strcmp(reg->v[i]->name, name) == 0)
            reg->v[i]->deleted_ms = now;
    log_info("state machine %s deleted (%lld execution%s still running on it)", name,
             (long long)n, n == 1 ? "" : "s");
    return 0;
}
