/* Unit tests for the small core helpers: grow_reserve (core/grow.h) keeps
 * every element and refuses overflowing sizes without touching the array,
 * hash_str (core/hash.h) is FNV-1a 64 with the published test vectors, and
 * exec_status (core/exec_status.h) names and parses every status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/exec_status.h"
#include "core/grow.h"
#include "core/hash.h"

static void test_grow_keeps_every_element(void **state)
{
    (void)state;
    int64_t *a = NULL;
    size_t n = 0, cap = 0;
    for (int64_t i = 0; i < 10000; i++) {
        assert_int_equal(grow_reserve(&a, &cap, n + 1, sizeof *a), 0);
        assert_true(cap >= n + 1);
        a[n++] = i;
    }
    for (size_t i = 0; i < n; i++)
        assert_int_equal(a[i], (int64_t)i);
    size_t before = cap;
    assert_int_equal(grow_reserve(&a, &cap, 5, sizeof *a), 0);   /* room already */
    assert_int_equal(cap, before);
    free(a);
}

/* Sizes that overflow size_t fail with -1 and leave the array as it was. */
static void test_grow_refuses_overflow(void **state)
{
    (void)state;
    const char **a = NULL;
    size_t cap = 0;
    assert_int_equal(grow_reserve(&a, &cap, 3, sizeof *a), 0);
    const char **kept = a;
    a[0] = "x";
    assert_int_equal(grow_reserve(&a, &cap, SIZE_MAX / 2 + 1, sizeof *a), -1);
    assert_int_equal(grow_reserve(&a, &cap, SIZE_MAX, 2), -1);
    assert_int_equal(grow_reserve(&a, &cap, 9, 0), -1);
    assert_ptr_equal(a, kept);
    assert_int_equal(cap, 8);
    assert_string_equal(a[0], "x");
    free(a);
}

/* Test vectors of the FNV reference (isthe.com/chongo/tech/comp/fnv). */
static void test_hash_is_fnv1a_64(void **state)
{
    (void)state;
    assert_true(hash_str("") == UINT64_C(0xcbf29ce484222325));
    assert_true(hash_str("") == UINT64_C(14695981039346656037));
    assert_true(hash_str("a") == UINT64_C(0xaf63dc4c8601ec8c));
    assert_true(hash_str("foobar") == UINT64_C(0x85944171f73967e8));
    assert_true(hash_bytes(hash_bytes(HASH_FNV1A_BASIS, "foo", 3), "bar", 3) ==
                hash_str("foobar"));
}

static void test_exec_status_names(void **state)
{
    (void)state;
    static const char *const want[] = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"};
    for (int i = 0; i < EXEC_STATUS_COUNT; i++) {
        exec_status_t s = EXEC_STATUS_ABORTED;
        assert_string_equal(exec_status_name((exec_status_t)i), want[i]);
        assert_int_equal(exec_status_parse(want[i], &s), 0);
        assert_int_equal(s, i);
        assert_non_null(strstr(EXEC_STATUS_ALL, want[i]));
    }
    assert_null(exec_status_name((exec_status_t)EXEC_STATUS_COUNT));
    exec_status_t s = EXEC_STATUS_FAILED;
    assert_int_equal(exec_status_parse("running", &s), -1);
    assert_int_equal(exec_status_parse("RUNNING ", &s), -1);
    assert_int_equal(exec_status_parse("", &s), -1);
    assert_int_equal(exec_status_parse(NULL, &s), -1);
    assert_int_equal(s, EXEC_STATUS_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_keeps_every_element),
        cmocka_unit_test(test_grow_refuses_overflow),
        cmocka_unit_test(test_hash_is_fnv1a_64),
        cmocka_unit_test(test_exec_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
