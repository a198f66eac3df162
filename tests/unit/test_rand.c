/* Unit tests for core/rand: UUIDv7 text (RFC 9562 layout) and its time prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rand.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_uuid_layout(void **state)
{
    (void)state;
    char prev[RAND_UUID_LEN] = "";
    int seen_variant[4] = {0};
    for (int n = 0; n < 20000; n++) {
        char id[RAND_UUID_LEN];
        uint64_t t0 = now_ms();
        assert_ptr_equal(rand_uuid(id), id);
        uint64_t t1 = now_ms();
        assert_int_equal(strlen(id), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                assert_int_equal(id[i], '-');
            else
                assert_non_null(strchr("0123456789abcdef", id[i]));
        }
        assert_int_equal(id[14], '7');                     /* version */
        const char *v = strchr("89ab", id[19]);             /* variant 10xx */
        assert_non_null(v);
        seen_variant[v - "89ab"]++;
        /* The first 48 bits are the Unix time in milliseconds. */
        char ms_hex[13];
        memcpy(ms_hex, id, 8);
        memcpy(ms_hex + 8, id + 9, 4);
        ms_hex[12] = '\0';
        uint64_t ms = strtoull(ms_hex, NULL, 16);
        assert_true(ms >= t0 && ms <= t1);
        assert_string_not_equal(id, prev);
        memcpy(prev, id, sizeof prev);
    }
    for (int i = 0; i < 4; i++)
        assert_true(seen_variant[i] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
