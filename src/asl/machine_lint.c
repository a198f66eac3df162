/* Whole-machine rules AWS's validator applies beyond what each (sub)machine
 * needs to run: state names unique across every nested branch and Map
 * processor, and a terminal state reachable in every machine and branch.
 * Checked when a definition is registered, not when a stored one loads. */
#include "asl/machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 480   /* a path is cut here in messages */

typedef struct named_s {
    const char *name;
    char path[PATH_MAX_LEN];   /* "Par/0/Inner" for messages */
} named_t;

typedef struct names_s {
    named_t *v;
    size_t n, cap;
    int oom;
} names_t;

static void collect(const asl_machine_t *m, const char *prefix, names_t *out)
{
    for (size_t i = 0; i < asl_machine_state_count(m); i++) {
        const char *name = asl_machine_state_name(m, i);
        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 64;
            named_t *nv = realloc(out->v, cap * sizeof *nv);
            if (!nv) {
                out->oom = 1;
                return;
            }
            out->v = nv;
            out->cap = cap;
        }
        named_t *e = &out->v[out->n++];
        e->name = name;
        snprintf(e->path, sizeof e->path, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", name);
        char here[PATH_MAX_LEN];
        memcpy(here, e->path, sizeof here);   /* out->v may move below */
        for (size_t k = 0; k < asl_machine_state_branch_count(m, i); k++) {
            char sub[PATH_MAX_LEN + 24];
            snprintf(sub, sizeof sub, "%.*s/%zu", PATH_MAX_LEN - 1, here, k);
            collect(asl_machine_state_branch(m, i, k), sub, out);
        }
    }
}

static int by_name(const void *a, const void *b)
{
    const named_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->path, y->path);
}

static void unique_names(const asl_machine_t *m, asl_problems_t *p)
{
    names_t all = {0};
    collect(m, NULL, &all);
    if (all.oom) {
        asl_problems_add(p, NULL, NULL, "out of memory while checking the state names");
        free(all.v);
        return;
    }
    qsort(all.v, all.n, sizeof *all.v, by_name);
    for (size_t i = 1; i < all.n; i++)
        if (strcmp(all.v[i].name, all.v[i - 1].name) == 0)
            asl_problems_add(p, all.v[i].path, NULL,
                             "the state name \"%s\" is also used at %s; names must be unique "
                             "across the whole machine, nested branches and Map processors "
                             "included", all.v[i].name, all.v[i - 1].path);
    free(all.v);
}

static int is_terminal(const asl_machine_t *m, size_t i)
{
    asl_state_type_t t = asl_machine_state_type(m, i);
    return asl_machine_state_is_end(m, i) || t == ASL_STATE_SUCCEED || t == ASL_STATE_FAIL;
}

/* 1 if a terminal state is reachable from StartAt along Next, Default,
 * Choices and Catch; -1 without memory. */
static int reaches_end(const asl_machine_t *m)
{
    size_t n = asl_machine_state_count(m);
    unsigned char *seen = calloc(n ? n : 1, 1);
    size_t *stack = malloc((n ? n : 1) * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return -1;
    }
    size_t top = 0;
    int found = 0;
    stack[top++] = asl_machine_start_index(m);
    seen[asl_machine_start_index(m)] = 1;
    while (top && !found) {
        size_t i = stack[--top];
        if (is_terminal(m, i)) {
            found = 1;
            break;
        }
        const char *next[3] = {asl_machine_state_next(m, i), asl_machine_state_default(m, i), NULL};
        size_t nc = asl_machine_state_choice_count(m, i), nk = asl_machine_state_catch_count(m, i);
        for (size_t k = 0; k < 2 + nc + nk; k++) {
            const char *to = k < 2 ? next[k]
                             : k < 2 + nc ? asl_machine_state_choice_next(m, i, k - 2)
                                          : asl_machine_state_catch_next(m, i, k - 2 - nc);
            long j = to ? asl_machine_find_state(m, to) : -1;
            if (j >= 0 && !seen[j]) {
                seen[j] = 1;
                stack[top++] = (size_t)j;
            }
        }
    }
    free(seen);
    free(stack);
    return found;
}

static void terminals(const asl_machine_t *m, const char *owner, asl_problems_t *p)
{
    if (asl_machine_state_count(m) && reaches_end(m) == 0)
        asl_problems_add(p, owner, "StartAt",
                         "no terminal state (End, Succeed or Fail) can be reached from StartAt: "
                         "every path loops");
    for (size_t i = 0; i < asl_machine_state_count(m); i++)
        for (size_t k = 0; k < asl_machine_state_branch_count(m, i); k++) {
            char sub[PATH_MAX_LEN];
            snprintf(sub, sizeof sub, "%.200s%s%.200s/%zu", owner ? owner : "", owner ? "/" : "",
                     asl_machine_state_name(m, i), k);
            terminals(asl_machine_state_branch(m, i, k), sub, p);
        }
}

int asl_machine_lint(const asl_machine_t *m, asl_problems_t *problems)
{
    size_t before = problems->count;
    unique_names(m, problems);
    terminals(m, NULL, problems);
    return problems->count > before ? -1 : 0;
}
