/* Unit tests for the state-machine registry's lifecycle (engine/machines.h)
 * on a real SQLite file: alias names, resolving NAME / NAME:N / NAME:ALIAS,
 * deleting (refused while running, versions kept and numbered on, aliases
 * gone), and the sagas_dir rule (a file loads only when it changed, never
 * over a newer API version), plus the offline directory check and
 * handler_allow narrowed after a version was registered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/handler.h"
#include "engine/machines.h"
#include "handlers/handlers.h"
#include "store/db.h"
#include "testdb.h"

typedef struct fixture_s {
    char path[64];
    char dir[64];
    store_t *st;
    machines_t *reg;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->path, "/tmp/sagad-machines-XXXXXX");
    strcpy(f->dir, "/tmp/sagad-machines-dir-XXXXXX");
    if (testdb_path(f->path) < 0 || !mkdtemp(f->dir))
        return -1;
    char err[256];
    if (store_open(f->path, &f->st, err, sizeof err) < 0 || machines_open(f->st, &f->reg) < 0)
        return -1;
    *state = f;
    return 0;
}

static void write_file(const fixture_t *f, const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void remove_file(const fixture_t *f, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", f->dir, name);
    unlink(p);
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    machines_close(f->reg);
    store_close(f->st);
    testdb_remove(f->path);
    remove_file(f, "m.asl.json");
    remove_file(f, "bad.asl.json");
    rmdir(f->dir);
    free(f);
    return 0;
}

#define PASS(R) "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"Result\":" R ",\"End\":true}}}"

static int put(fixture_t *f, const char *name, const char *text)
{
    const machine_ver_t *v;
    int rc = machines_put(f->reg, name, text, strlen(text), NULL, &v);
    assert_true(rc > 0);
    return v->version;
}

static void test_alias_names(void **state)
{
    (void)state;
    assert_true(machines_valid_alias("prod"));
    assert_true(machines_valid_alias("v2-canary_1"));
    assert_true(machines_valid_alias("1a"));
    assert_false(machines_valid_alias(""));
    assert_false(machines_valid_alias("12"));
    assert_false(machines_valid_alias("a.b"));
    assert_false(machines_valid_alias("a:b"));
    char long_name[82];
    memset(long_name, 'a', 81);
    long_name[81] = '\0';
    assert_false(machines_valid_alias(long_name));
    long_name[80] = '\0';
    assert_true(machines_valid_alias(long_name));
}

static void test_resolve(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(put(f, "m", PASS("1")), 1);
    assert_int_equal(put(f, "m", PASS("2")), 2);
    int created = -1, err = 0;
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 1, &created), 0);
    assert_int_equal(created, 1);
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 2, &created), 0);
    assert_int_equal(created, 0);
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 3, NULL), MACHINES_ERR_NO_VERSION);
    assert_int_equal(machines_alias_put(f->reg, "m", "7", 1, NULL), MACHINES_ERR_NAME);
    assert_int_equal(machines_alias_put(f->reg, "x", "prod", 1, NULL), MACHINES_ERR_NOT_FOUND);
    assert_int_equal(machines_resolve(f->reg, "m", &err)->version, 2);
    assert_int_equal(machines_resolve(f->reg, "m:1", &err)->version, 1);
    assert_int_equal(machines_resolve(f->reg, "m:prod", &err)->version, 2);
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 1, NULL), 0);
    assert_int_equal(machines_resolve(f->reg, "m:prod", &err)->version, 1);
    static const struct {
        const char *q;
        int err;
    } bad[] = {{"m:3", MACHINES_ERR_NO_VERSION}, {"m:0", MACHINES_ERR_NO_VERSION},
               {"m:99999999999", MACHINES_ERR_NO_VERSION}, {"m:dev", MACHINES_ERR_NO_VERSION},
               {"m:", MACHINES_ERR_NAME}, {"m:a.b", MACHINES_ERR_NAME},
               {":prod", MACHINES_ERR_NAME}, {"x:prod", MACHINES_ERR_NOT_FOUND},
               {"x", MACHINES_ERR_NOT_FOUND}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = 0;
        assert_null(machines_resolve(f->reg, bad[i].q, &err));
        assert_int_equal(err, bad[i].err);
    }
    machines_alias_t a;
    assert_int_equal(machines_alias_get(f->reg, "m", "prod", &a), 0);
    assert_int_equal(a.version, 1);
    assert_int_equal(machines_alias_delete(f->reg, "m", "prod"), 0);
    assert_int_equal(machines_alias_delete(f->reg, "m", "prod"), MACHINES_ERR_NOT_FOUND);
    assert_int_equal(machines_alias_get(f->reg, "m", "prod", &a), MACHINES_ERR_NOT_FOUND);
}

static void count_alias(const machines_alias_t *a, void *ud)
{
    (void)a;
    (*(int *)ud)++;
}

static void test_delete(void **state)
{
    fixture_t *f = *state;
    put(f, "m", PASS("1"));
    put(f, "m", PASS("2"));
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 1, NULL), 0);
    assert_int_equal(sqlite3_exec(store_db(f->st),
        "INSERT INTO executions (id, machine, machine_version, name, status, input, start_ms) "
        "VALUES ('e1', 'm', 1, 'n1', 'RUNNING', '{}', 1), ('e2', 'm', 2, 'n2', 'SUCCEEDED', '{}', 1)",
        NULL, NULL, NULL), SQLITE_OK);
    const machine_ver_t *running = machines_get_version(f->reg, "m", 1);
    int64_t n = -1;
    assert_int_equal(machines_delete(f->reg, "m", 0, &n), MACHINES_ERR_RUNNING);
    assert_int_equal(n, 1);
    assert_non_null(machines_get(f->reg, "m"));
    assert_int_equal(machines_delete(f->reg, "m", 1, &n), 0);
    assert_int_equal(machines_delete(f->reg, "m", 1, &n), MACHINES_ERR_NOT_FOUND);
    /* Gone for starts and lists; the running execution's version stays. */
    int err = 0;
    assert_null(machines_get(f->reg, "m"));
    assert_null(machines_resolve(f->reg, "m:1", &err));
    assert_int_equal(err, MACHINES_ERR_NOT_FOUND);
    assert_true(running->deleted_ms > 0);
    assert_ptr_equal(machines_get_version(f->reg, "m", 1), running);
    assert_int_equal(testdb_int(f->st, "SELECT count(*) FROM state_machines WHERE name = 'm' AND "
                                       "deleted_ms IS NOT NULL"), 2);
    assert_int_equal(testdb_int(f->st, "SELECT count(*) FROM state_machine_aliases"), 0);
    /* Registered again: version 3, created; old aliases do not come back. */
    const machine_ver_t *v;
    assert_int_equal(machines_put(f->reg, "m", PASS("1"), strlen(PASS("1")), NULL, &v),
                     MACHINES_CREATED);
    assert_int_equal(v->version, 3);
    int aliases = 0;
    assert_int_equal(machines_alias_list(f->reg, "m", count_alias, &aliases), 0);
    assert_int_equal(aliases, 0);
    assert_int_equal(machines_alias_put(f->reg, "m", "prod", 1, NULL), MACHINES_ERR_NO_VERSION);
    /* A reopened registry sees the same. */
    machines_close(f->reg);
    assert_int_equal(machines_open(f->st, &f->reg), 0);
    assert_int_equal(machines_get(f->reg, "m")->version, 3);
    assert_int_equal(machines_get_version(f->reg, "m", 2)->deleted_ms > 0, 1);
}

static void test_load_rule(void **state)
{
    fixture_t *f = *state;
    machines_load_t l;
    write_file(f, "m.asl.json", PASS("\"file-1\""));
    assert_int_equal(machines_load_dir(f->reg, f->dir, &l), 0);
    assert_int_equal(l.loaded, 1);
    const machine_ver_t *v = machines_get(f->reg, "m");
    char source[128];
    snprintf(source, sizeof source, "file:%s/m.asl.json", f->dir);
    assert_string_equal(v->source, source);
    machines_load_dir(f->reg, f->dir, &l);
    assert_int_equal(l.loaded, 0);
    assert_int_equal(l.unchanged, 1);
    /* The API's version over it: the unchanged file leaves it current. */
    assert_int_equal(put(f, "m", PASS("\"api-2\"")), 2);
    assert_string_equal(machines_get(f->reg, "m")->source, MACHINES_SOURCE_API);
    machines_load_dir(f->reg, f->dir, &l);
    assert_int_equal(l.unchanged, 1);
    assert_int_equal(machines_get(f->reg, "m")->version, 2);
    /* A changed file does not replace it: a conflict naming both. */
    write_file(f, "m.asl.json", PASS("\"file-3\""));
    assert_int_equal(machines_load_dir(f->reg, f->dir, &l), 0);
    assert_int_equal(l.loaded, 0);
    assert_int_equal(l.conflicts, 1);
    assert_string_equal(l.conflict[0].name, "m");
    assert_int_equal(l.conflict[0].api_version, 2);
    assert_int_equal(l.conflict[0].file_version, 1);
    assert_int_equal(machines_get(f->reg, "m")->version, 2);
    assert_int_equal(testdb_int(f->st, "SELECT count(*) FROM state_machines"), 2);
    /* The file deployed through the API: no conflict, no new version. */
    assert_int_equal(put(f, "m", PASS("\"file-3\"")), 3);
    machines_load_dir(f->reg, f->dir, &l);
    assert_int_equal(l.conflicts + l.loaded, 0);
    assert_int_equal(l.unchanged, 1);
    /* A bad file fails alone. */
    write_file(f, "bad.asl.json", "{\"StartAt\":\"X\",\"States\":{}}");
    assert_int_equal(machines_load_dir(f->reg, f->dir, &l), 1);
    assert_int_equal(l.failed, 1);
}

static int bad_files;

static void on_checked(const char *path, const asl_problems_t *p, void *ud)
{
    (void)ud;
    if (p->count)
        bad_files += strstr(path, "bad.asl.json") != NULL;
}

static void test_check_dir(void **state)
{
    fixture_t *f = *state;
    write_file(f, "m.asl.json", PASS("1"));
    assert_int_equal(machines_check_dir(f->dir, NULL, on_checked, NULL), 0);
    write_file(f, "bad.asl.json", "{\"StartAt\":\"X\",\"States\":{}}");
    bad_files = 0;
    assert_int_equal(machines_check_dir(f->dir, NULL, on_checked, NULL), 1);
    assert_int_equal(bad_files, 1);
    assert_int_equal(machines_check_dir("/nonexistent-sagad-dir", NULL, on_checked, NULL), -1);
}

static int own_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    (void)call;
    (void)input;
    (void)err;
    *result = cJSON_CreateObject();
    return 0;
}

static const handler_def_t own_thing = {.name = "own.thing", .run = own_run, .owner = "owner"};

#define OWN_IN_BRANCH \
    "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"End\":true," \
    "\"Branches\":[{\"StartAt\":\"E\",\"States\":{\"E\":{\"Type\":\"Task\"," \
    "\"Resource\":\"sagad:echo\",\"Next\":\"T\"},\"T\":{\"Type\":\"Task\"," \
    "\"Resource\":\"sagad:own.thing\",\"End\":true}}}]}}}"

static void test_allow_narrowed(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(machines_set_allow(f->reg, "other: own.*"), 0);
    put(f, "other", OWN_IN_BRANCH);
    const machine_ver_t *v = machines_get(f->reg, "other");
    assert_non_null(v);
    assert_int_equal(machines_denied(f->reg, v, NULL), 0);
    assert_true(machines_allows(f->reg, "other", "own.thing"));

    /* Narrowed: the stored version stays, its Task in a branch is named. */
    assert_int_equal(machines_set_allow(f->reg, "another: own.thing"), 0);
    machines_denied_t d;
    assert_int_equal(machines_denied(f->reg, v, &d), 1);
    assert_string_equal(d.handler, "own.thing");
    assert_string_equal(d.state, "T");
    assert_false(machines_allows(f->reg, "other", "own.thing"));
    assert_true(machines_allows(f->reg, "owner", "own.thing"));
    assert_true(machines_allows(f->reg, "another", "own.thing"));
    assert_true(machines_allows(f->reg, "other", "echo"));
    assert_true(machines_allows(f->reg, "other", "no.such.handler"));
    char why[MACHINES_WHY_SIZE];
    machines_denial_why("other", "own.thing", why, sizeof why);
    assert_non_null(strstr(why, "serves the owner state machine only"));
    assert_non_null(strstr(why, "add other:own.thing to handler_allow"));

    assert_int_equal(machines_set_allow(f->reg, NULL), 0);
    assert_int_equal(machines_denied(f->reg, v, NULL), 1);
    assert_int_equal(machines_set_allow(f->reg, "other: own.thing"), 0);
    assert_int_equal(machines_denied(f->reg, v, NULL), 0);
}

int main(void)
{
    if (handlers_register_builtin() < 0 || handler_register(&own_thing) < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_names),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allow_narrowed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
