/* The PostgreSQL store's parameter translation (store/pg_sql.h): ?N and
 * SQLite's numbering of plain ?, and the quoted texts and comments it must
 * leave alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "store/pg_sql.h"

static void expect(const char *in, const char *want, int want_n)
{
    int n = -1;
    char *out = store_pg_sql(in, &n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(n, want_n);
    free(out);
}

static void test_numbered(void **state)
{
    (void)state;
    expect("SELECT a FROM t WHERE b = ?1 AND c = ?2", "SELECT a FROM t WHERE b = $1 AND c = $2", 2);
    expect("SELECT ?5, ?4", "SELECT $5, $4", 5);
    expect("UPDATE t SET x = ?12 WHERE y = ?3", "UPDATE t SET x = $12 WHERE y = $3", 12);
    expect("SELECT 1", "SELECT 1", 0);
}

static void test_plain_follows_highest(void **state)
{
    (void)state;
    expect("INSERT INTO t VALUES (?, ?, ?)", "INSERT INTO t VALUES ($1, $2, $3)", 3);
    /* SQLite: a plain ? is one more than the largest number assigned so far. */
    expect("SELECT ?3, ?, ?1, ?", "SELECT $3, $4, $1, $5", 5);
}

static void test_quoted_and_comments(void **state)
{
    (void)state;
    expect("SELECT '?1', ?1", "SELECT '?1', $1", 1);
    expect("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    expect("SELECT \"col?\" FROM t WHERE x = ?", "SELECT \"col?\" FROM t WHERE x = $1", 1);
    expect("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2", 2);
    expect("SELECT /* ?9 */ ?", "SELECT /* ?9 */ $1", 1);
    expect("SELECT 'open ?", "SELECT 'open ?", 0);
}

static void test_out_of_range(void **state)
{
    (void)state;
    int n;
    assert_null(store_pg_sql("SELECT ?0", &n));
    assert_null(store_pg_sql("SELECT ?1000", &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbered),
        cmocka_unit_test(test_plain_follows_highest),
        cmocka_unit_test(test_quoted_and_comments),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
