/* Unit tests for core/timefmt: RFC 3339 UTC with milliseconds for any epoch
 * milliseconds, checked against gmtime_r over years 0000-9999, before 1970
 * (rounded down), and at the ends of int64_t. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"

static void test_known_times(void **state)
{
    (void)state;
    char buf[TIMEFMT_MAX];
    assert_string_equal(timefmt_utc_ms(0, buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(timefmt_utc_ms(1553631253192LL, buf), "2019-03-26T20:14:13.192Z");
    assert_string_equal(timefmt_utc_ms(-1, buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal(timefmt_utc_ms(-123, buf), "1969-12-31T23:59:59.877Z");
    assert_string_equal(timefmt_utc_ms(-1000, buf), "1969-12-31T23:59:59.000Z");
    assert_string_equal(timefmt_utc_ms(-1001, buf), "1969-12-31T23:59:58.999Z");
    assert_string_equal(timefmt_utc_ms(951782400000LL, buf), "2000-02-29T00:00:00.000Z");
    assert_string_equal(timefmt_utc_ms(-62167219200000LL, buf), "0000-01-01T00:00:00.000Z");
    assert_string_equal(timefmt_utc_ms(-62167219200001LL, buf), "-0001-12-31T23:59:59.999Z");
    assert_string_equal(timefmt_utc_ms(253402300799999LL, buf), "9999-12-31T23:59:59.999Z");
    assert_string_equal(timefmt_utc_ms(253402300800000LL, buf), "+10000-01-01T00:00:00.000Z");
}

static void test_ends_of_int64(void **state)
{
    (void)state;
    char buf[TIMEFMT_MAX + 8];
    memset(buf, 'x', sizeof buf);
    timefmt_utc_ms(INT64_MIN, buf);
    assert_true(strlen(buf) < TIMEFMT_MAX);
    assert_int_equal(buf[0], '-');
    assert_string_equal(buf + strlen(buf) - 5, ".192Z");
    timefmt_utc_ms(INT64_MAX, buf);
    assert_true(strlen(buf) < TIMEFMT_MAX);
    assert_int_equal(buf[0], '+');
    assert_string_equal(buf + strlen(buf) - 5, ".807Z");
}

static void test_floor_sec(void **state)
{
    (void)state;
    int msec = -1;
    assert_int_equal(timefmt_floor_sec(1999, &msec), 1);
    assert_int_equal(msec, 999);
    assert_int_equal(timefmt_floor_sec(-123, &msec), -1);
    assert_int_equal(msec, 877);
    assert_int_equal(timefmt_floor_sec(-1000, &msec), -1);
    assert_int_equal(msec, 0);
    assert_int_equal(timefmt_floor_sec(-1001, NULL), -2);
}

/* Against gmtime_r over years 0000-9999: leap days, century rules, and
 * 200,000 times spread over the range. */
static void test_agrees_with_gmtime(void **state)
{
    (void)state;
    const int64_t lo = -62167219200000LL, hi = 253402300800000LL;
    int64_t fixed[] = {0, 1, 999, 1000, -999, -1000, -1001, 951782400000LL,
                       4107542399999LL /* 2100-02-28T23:59:59.999 */, 4107542400000LL,
                       -2203891200000LL /* 1900-02-28 */, -62135596800000LL /* year 1 */,
                       lo, hi - 1};
    const size_t nfixed = sizeof fixed / sizeof fixed[0];
    uint64_t x = 88172645463325252ull;
    char got[TIMEFMT_MAX], want[64];
    for (size_t i = 0; i < nfixed + 200000; i++) {
        int64_t t;
        if (i < nfixed) {
            t = fixed[i];
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            t = lo + (int64_t)(x % (uint64_t)(hi - lo));
        }
        int msec;
        time_t tt = (time_t)timefmt_floor_sec(t, &msec);
        struct tm tm;
        assert_non_null(gmtime_r(&tt, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
        assert_string_equal(timefmt_utc_ms(t, got), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_times),
        cmocka_unit_test(test_ends_of_int64),
        cmocka_unit_test(test_floor_sec),
        cmocka_unit_test(test_agrees_with_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
