/* Unit tests for api/auth's tokens file with SigV4 access keys: the optional
 * sigv4:KEYID:SECRET field, the refusal of a group- or world-readable file
 * that holds secrets, unique key ids, a reload that keeps the old table on
 * error, and POST / (the AWS API) left to its handler's own check. */
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

#include "api/auth.h"

#define HASH "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char path[64];

static void write_file(const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/sagad-test-auth-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* Loads `text` at `mode`; returns auth_load's result, *err filled. */
static int load(const char *text, mode_t mode, auth_t **a, char err[AUTH_ERR_MAX])
{
    write_file(text, mode);
    err[0] = '\0';
    *a = NULL;
    return auth_load(path, a, err);
}

static void test_access_key_field_loads_at_0600(void **state)
{
    (void)state;
    auth_t *a;
    char err[AUTH_ERR_MAX];
    assert_int_equal(load("ops admin " HASH " sigv4:AKIAOPS1:s3cr/et+Key\n"
                          "viewer read " HASH "\n", 0600, &a, err), 0);
    auth_free(a);
    /* Without any access key the file may stay world-readable (hashes only). */
    assert_int_equal(load("viewer read " HASH "\n", 0644, &a, err), 0);
    auth_free(a);
}

static void test_readable_file_with_secrets_is_refused(void **state)
{
    (void)state;
    static const mode_t modes[] = {0644, 0640, 0604};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        auth_t *a;
        char err[AUTH_ERR_MAX];
        assert_int_equal(load("ops admin " HASH " sigv4:AKIAOPS1:topsecret\n", modes[i], &a,
                              err), -1);
        assert_null(a);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "holds SigV4 secret keys but is readable by"));
        assert_non_null(strstr(err, "chmod 600"));
        assert_null(strstr(err, "topsecret"));
    }
}

static void test_bad_access_key_fields(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } cases[] = {
        {"ops admin " HASH " AKIAOPS1:secret\n", ":1: the fourth field must be sigv4:KEYID:SECRET"},
        {"ops admin " HASH " sigv4:AKIAOPS1\n", "the fourth field must be sigv4:KEYID:SECRET"},
        {"ops admin " HASH " sigv4::secret\n", "the access key id must be 1 to 128"},
        {"ops admin " HASH " sigv4:AKIA/OPS:secret\n", "the access key id must be 1 to 128"},
        {"ops admin " HASH " sigv4:AKIAOPS1:\n", "the secret access key must be 1 to 128"},
        {"ops admin " HASH " sigv4:AKIAOPS1:s extra\n", "expected NAME SCOPES sha256:HEX "
         "[sigv4:KEYID:SECRET]"},
        {"ops admin " HASH " sigv4:AKIAOPS1:a\nci start " HASH " sigv4:AKIAOPS1:b\n",
         "access key id AKIAOPS1 is given to both ops and ci"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        auth_t *a;
        char err[AUTH_ERR_MAX];
        if (load(cases[i].text, 0600, &a, err) != -1 || !strstr(err, cases[i].says))
            fail_msg("case %zu: %s", i, err);
    }
}

/* A reload that fails (here: the file became readable by others) keeps
 * what was loaded; a good one replaces it. */
static void test_reload_keeps_the_old_table_on_error(void **state)
{
    (void)state;
    auth_t *a;
    char err[AUTH_ERR_MAX];
    assert_int_equal(load("ops admin " HASH " sigv4:AKIAOPS1:secret\n", 0600, &a, err), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(auth_reload(a, err), -1);
    assert_non_null(strstr(err, "readable by everyone"));
    write_file("ops admin " HASH " sigv4:AKIAOPS1:secret\nci start " HASH
               " sigv4:AKIACI:other\n", 0600);
    assert_int_equal(auth_reload(a, err), 2);
    auth_free(a);
}

static void test_post_root_is_left_to_its_handler(void **state)
{
    (void)state;
    /* The guard leaves POST / to its handler, which checks per action. */
    assert_int_equal(auth_route_scope("POST", "/"), AUTH_HANDLER);
    assert_int_equal(auth_route_scope("POST", "/order"), AUTH_START);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_access_key_field_loads_at_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_file_with_secrets_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_access_key_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_the_old_table_on_error, setup,
                                        teardown),
        cmocka_unit_test(test_post_root_is_left_to_its_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
