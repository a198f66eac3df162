/* The differential suite: runs every case of tests/asl/expected.json (made by
 * tests/asl/generate.js from the aws-local-stepfunctions oracle, or from a
 * documented override) through the engine's synchronous driver and checks
 * status, output (deep JSON equality) or error and cause. One cmocka test per
 * case, named after it. The test resources are described in tests/asl/README.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/exec.h"
#include "asl/run.h"
#include "asl/machine.h"

#define EXPECTED_PATH "tests/asl/expected.json"
#define MSG_MAX 4096
#define MAX_KEYS 32
/* Virtual clock start: 2023-11-14T22:13:20Z (cases with Timestamp waits rely on it). */
#define START_MS 1700000000000LL

/* ---- test resources (same behaviour as makeResources() in generate.js) --- */

typedef struct flaky_counter_s {
    char key[64];
    int calls;
} flaky_counter_t;

typedef struct run_ctx_s {
    flaky_counter_t counters[MAX_KEYS];
    size_t n_counters;
} run_ctx_t;

static int *flaky_slot(run_ctx_t *ctx, const char *key)
{
    for (size_t i = 0; i < ctx->n_counters; i++)
        if (strcmp(ctx->counters[i].key, key) == 0)
            return &ctx->counters[i].calls;
    if (ctx->n_counters == MAX_KEYS)
        return NULL;
    flaky_counter_t *c = &ctx->counters[ctx->n_counters++];
    snprintf(c->key, sizeof c->key, "%s", key);
    c->calls = 0;
    return &c->calls;
}

static const char *str_field(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int test_task(const char *resource, const cJSON *input, uint32_t attempt, void *ud,
                     cJSON **result, asl_error_t *err)
{
    run_ctx_t *ctx = ud;
    (void)attempt;
    if (strcmp(resource, "sagad:test.add") == 0) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(input, "a");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(input, "b");
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b))
            return asl_error_set(err, "TypeError", "a and b must be numbers");
        *result = cJSON_CreateNumber(a->valuedouble + b->valuedouble);
        return 0;
    }
    if (strcmp(resource, "sagad:test.fixed") == 0) {
        *result = cJSON_Parse("{\"status\":\"ok\",\"data\":{\"id\":7,\"tags\":[\"a\",\"b\"],"
                              "\"price\":12.5},\"meta\":{\"n\":2,\"next\":null}}");
        return 0;
    }
    if (strcmp(resource, "sagad:test.fail_if") == 0) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(input, "fail")))
            return asl_error_set(err, str_field(input, "error", "ItemFailed"), "%s",
                                 str_field(input, "cause", "item failed"));
        *result = cJSON_Duplicate(input, 1);
        return 0;
    }
    if (strcmp(resource, "sagad:test.flaky") == 0) {
        int *calls = flaky_slot(ctx, str_field(input, "key", ""));
        const cJSON *ft = cJSON_GetObjectItemCaseSensitive(input, "fail_times");
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive(input, "errors");
        if (calls == NULL || (!cJSON_IsNumber(ft) && !cJSON_IsArray(errors)))
            return asl_error_set(err, "TypeError", "bad test.flaky input");
        int n = ++*calls;
        if (cJSON_IsArray(errors)) {
            const cJSON *e = cJSON_GetArrayItem(errors, n - 1);
            if (cJSON_IsString(e))
                return asl_error_set(err, e->valuestring, "call %d", n);
        } else if (n <= ft->valuedouble) {
            return asl_error_set(err, str_field(input, "error", "Flaky"), "call %d", n);
        }
        *result = cJSON_Duplicate(input, 1);
        cJSON_AddNumberToObject(*result, "calls", n);
        return 0;
    }
    if (strcmp(resource, "sagad:test.hang") == 0) {
        /* Never answers: what the runtime reports once timeout_ms has passed. */
        return asl_error_set(err, ASL_E_TIMEOUT, "task timed out");
    }
    return 1; /* sagad:echo, sagad:fail: the driver's built-ins */
}

/* ---- comparison ---------------------------------------------------------- */

/* Exact JSON equality: numbers as doubles (==), objects regardless of key order. */
static int json_equal(const cJSON *a, const cJSON *b)
{
    if (a == NULL || b == NULL) /* a missing value equals only JSON null */
        return (a == NULL || cJSON_IsNull(a)) && (b == NULL || cJSON_IsNull(b));
    int ta = a->type & 0xff, tb = b->type & 0xff;
    if (ta != tb)
        return 0;
    if (cJSON_IsNumber(a))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return 0;
        return x == NULL && y == NULL;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return 0;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (y == NULL || !json_equal(x, y))
                return 0;
        }
        return 1;
    }
    return 1; /* null, true, false: the type says it all */
}

/* Checks one "match" rule against `out` and replaces the value by the
 * placeholder the expectation holds. Returns NULL or what is wrong. */
static const char *apply_rule(const cJSON *rule, cJSON *out, char *why, size_t whylen)
{
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(rule, "path");
    const char *type = str_field(rule, "type", "");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(rule, "regex");
    const cJSON *min = cJSON_GetObjectItemCaseSensitive(rule, "min");
    const cJSON *max = cJSON_GetObjectItemCaseSensitive(rule, "max");
    int n = cJSON_GetArraySize(path);
    cJSON *parent = out;
    for (int i = 0; i < n - 1 && parent; i++)
        parent = cJSON_GetObjectItemCaseSensitive(parent, cJSON_GetArrayItem(path, i)->valuestring);
    const char *last = n > 0 ? cJSON_GetArrayItem(path, n - 1)->valuestring : "";
    if (!cJSON_IsObject(parent)) {
        snprintf(why, whylen, "match path: no object holds '%s'", last);
        return why;
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, last);
    if (strcmp(type, "any") != 0) {
        if (v == NULL) {
            snprintf(why, whylen, "match path: '%s' missing", last);
            return why;
        }
        if ((strcmp(type, "string") == 0 && !cJSON_IsString(v)) ||
            (strcmp(type, "number") == 0 && !cJSON_IsNumber(v)) ||
            (strcmp(type, "integer") == 0 &&
             (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble))) {
            snprintf(why, whylen, "match: '%s' is not of type %s", last, type);
            return why;
        }
        if ((cJSON_IsNumber(min) && !(v->valuedouble >= min->valuedouble)) ||
            (cJSON_IsNumber(max) && !(v->valuedouble <= max->valuedouble))) {
            snprintf(why, whylen, "match: '%s' = %g out of range", last, v->valuedouble);
            return why;
        }
        if (cJSON_IsString(re)) {
            regex_t rx;
            if (regcomp(&rx, re->valuestring, REG_EXTENDED | REG_NOSUB) != 0) {
                snprintf(why, whylen, "match: bad regex /%s/", re->valuestring);
                return why;
            }
            int bad = !cJSON_IsString(v) || regexec(&rx, v->valuestring, 0, NULL, 0) != 0;
            regfree(&rx);
            if (bad) {
                snprintf(why, whylen, "match: '%s' does not match /%s/", last, re->valuestring);
                return why;
            }
        }
    }
    cJSON *ph = cJSON_CreateString("<match>");
    if (v)
        cJSON_ReplaceItemInObjectCaseSensitive(parent, last, ph);
    else
        cJSON_AddItemToObject(parent, last, ph);
    return NULL;
}

static void put_json(char *buf, size_t len, const char *label, const cJSON *v)
{
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, "%s%.900s%s", label, text ? text : "(none)",
                 text && strlen(text) > 900 ? "..." : "");
    free(text);
}

/* 1 if the problem is about `state` (NULL: the top level); nested states are
 * named "Outer/Inner". */
static int problem_names(const asl_problem_t *p, const char *state)
{
    if (state == NULL || p->state == NULL)
        return state == NULL && p->state == NULL;
    size_t ls = strlen(state), lp = strlen(p->state);
    return strcmp(p->state, state) == 0 ||
           (lp > ls && p->state[lp - ls - 1] == '/' && strcmp(p->state + lp - ls, state) == 0);
}

/* An invalid definition: compiling must fail with a problem naming the state. */
static int check_rejected(const cJSON *c, const cJSON *def, char *msg, size_t len)
{
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "problem_state");
    const char *state = cJSON_IsString(want) ? want->valuestring : NULL;
    asl_problems_t probs;
    asl_machine_t *m = NULL;
    int found = 0;

    asl_problems_init(&probs);
    if (asl_machine_compile(def, &m, &probs) == 0) {
        asl_machine_free(m);
        asl_problems_free(&probs);
        snprintf(msg, len, "definition accepted; expected a problem in %s",
                 state ? state : "the top level");
        return -1;
    }
    for (size_t i = 0; i < probs.count && !found; i++)
        found = problem_names(&probs.items[i], state);
    if (!found) {
        size_t used = (size_t)snprintf(msg, len, "no problem names %s; got:",
                                       state ? state : "the top level");
        for (size_t i = 0; i < probs.count && used < len; i++)
            used += (size_t)snprintf(msg + used, len - used, " [%s %s: %s]",
                                     probs.items[i].state ? probs.items[i].state : "-",
                                     probs.items[i].field ? probs.items[i].field : "-",
                                     probs.items[i].message);
    }
    asl_problems_free(&probs);
    return found ? 0 : -1;
}

/* Runs one case with children run one after another (interleave 0) or
 * round-robin (1); returns 0 or fills msg with the mismatch. Frees everything
 * it allocates before returning, so a failing assertion leaks nothing. */
static int run_case(const cJSON *c, int interleave, char *msg, size_t len)
{
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(c, "definition");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(c, "input");
    const char *status = str_field(c, "status", "");
    asl_problems_t probs;
    asl_machine_t *m = NULL;
    int bad = 0;

    msg[0] = '\0';
    asl_problems_init(&probs);
    if (strcmp(status, "REJECTED") == 0)
        return check_rejected(c, def, msg, len);
    if (asl_machine_compile(def, &m, &probs) != 0) {
        size_t used = (size_t)snprintf(msg, len, "definition rejected:");
        for (size_t i = 0; i < probs.count && used < len; i++)
            used += (size_t)snprintf(msg + used, len - used, " [%s %s: %s]",
                                     probs.items[i].state ? probs.items[i].state : "-",
                                     probs.items[i].field ? probs.items[i].field : "-",
                                     probs.items[i].message);
        asl_problems_free(&probs);
        return -1;
    }
    asl_problems_free(&probs);

    run_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    asl_run_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.task = test_task;
    opts.task_ud = &ctx;
    opts.interleave = interleave;
    opts.start_ms = START_MS;
    asl_run_result_t res;
    memset(&res, 0, sizeof res);
    if (asl_run(m, input, &opts, &res) != 0) {
        snprintf(msg, len, "asl_run: out of memory");
        asl_machine_free(m);
        return -1;
    }

    const char *got = res.status == ASL_STEP_SUCCEEDED ? "SUCCEEDED"
                    : res.status == ASL_STEP_FAILED ? "FAILED" : "?";
    const cJSON *elapsed = cJSON_GetObjectItemCaseSensitive(c, "elapsed_ms");
    if (strcmp(got, status) != 0) {
        snprintf(msg, len, "status: expected %s, got %s", status, got);
        bad = 1;
    } else if (cJSON_IsNumber(elapsed) && (double)res.elapsed_ms != elapsed->valuedouble) {
        snprintf(msg, len, "virtual time: expected %.0f ms of waits and retry delays, got %lld ms",
                 elapsed->valuedouble, (long long)res.elapsed_ms);
        bad = 1;
    } else if (res.status == ASL_STEP_SUCCEEDED) {
        const cJSON *rules = cJSON_GetObjectItemCaseSensitive(c, "match");
        const cJSON *rule;
        char why[256];
        cJSON_ArrayForEach(rule, rules) {
            if (apply_rule(rule, res.output, why, sizeof why) != NULL) {
                snprintf(msg, len, "%s;", why);
                bad = 1;
                break;
            }
        }
        if (!bad && !json_equal(cJSON_GetObjectItemCaseSensitive(c, "output"), res.output))
            bad = 1;
    } else {
        /* null: the execution failed with no error name (a bare Fail state) */
        const char *exp_err = str_field(c, "error", "(null)");
        const cJSON *exp_cause = cJSON_GetObjectItemCaseSensitive(c, "cause");
        const char *err = res.error.error ? res.error.error : "(null)";
        const char *cause = res.error.cause;
        if (strcmp(exp_err, err) != 0) {
            bad = 1;
        } else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "compare_cause"))) {
            if (cJSON_IsString(exp_cause))
                bad = cause == NULL || strcmp(cause, exp_cause->valuestring) != 0;
            else /* null: no cause; an empty one is the same */
                bad = cause != NULL && cause[0] != '\0';
        }
        if (bad)
            snprintf(msg, len, "expected error %s / cause %s; got %s / %s", exp_err,
                     cJSON_IsString(exp_cause) ? exp_cause->valuestring : "(null)",
                     err, cause ? cause : "(null)");
    }
    if (bad && res.status == ASL_STEP_SUCCEEDED) {
        put_json(msg, len, strcmp(status, "SUCCEEDED") == 0 ? " expected output " : " ",
                 cJSON_GetObjectItemCaseSensitive(c, "output"));
        put_json(msg, len, " got output ", res.output);
    } else if (bad && res.status == ASL_STEP_FAILED && strcmp(status, "SUCCEEDED") == 0) {
        size_t used = strlen(msg);
        snprintf(msg + used, len - used, " (%s: %s)", res.error.error ? res.error.error : "(null)",
                 res.error.cause ? res.error.cause : "(null)");
    }
    asl_run_result_clear(&res);
    asl_machine_free(m);
    return bad ? -1 : 0;
}

/* Both scheduling modes must give the expected result: Parallel and Map
 * results are by index whatever order their children run in. */
static void test_case(void **state)
{
    static char msg[MSG_MAX];
    for (int interleave = 0; interleave <= 1; interleave++)
        if (run_case(*state, interleave, msg, sizeof msg) != 0)
            fail_msg("%s%s", interleave ? "[interleaved children] " : "", msg);
}

static cJSON *load_expected(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 262144;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    cJSON *doc = cJSON_Parse(buf);
    free(buf);
    return doc;
}

int main(void)
{
    const char *path = getenv("SAGAD_ASL_EXPECTED");
    if (path == NULL)
        path = EXPECTED_PATH;
    cJSON *doc = load_expected(path);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    int n = cJSON_GetArraySize(cases);
    if (doc == NULL || n == 0) {
        fprintf(stderr, "test_asl_diff: cannot load %s (run from the repository root)\n", path);
        cJSON_Delete(doc);
        return 1;
    }
    struct CMUnitTest *tests = calloc((size_t)n, sizeof *tests);
    if (tests == NULL) {
        cJSON_Delete(doc);
        return 1;
    }
    int i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        tests[i].name = str_field(c, "name", "?");
        tests[i].test_func = test_case;
        tests[i].initial_state = (void *)c;
        i++;
    }
    int failed = _cmocka_run_group_tests("asl_diff", tests, (size_t)n, NULL, NULL);
    free(tests);
    cJSON_Delete(doc);
    return failed;
}
