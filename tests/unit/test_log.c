/* Unit tests for core/log: its names live beside <syslog.h> (which defines
 * LOG_ERR, LOG_INFO, LOG_DEBUG... as macros: this file would not compile if
 * log.h reused them), level parsing, and the per-site rate limit that keeps
 * an error retried in a loop from flooding the log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "core/log.h"

static void test_levels_parse_beside_syslog(void **state)
{
    (void)state;
    log_level_t l;
    assert_int_equal(log_level_parse("warn", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("loud", &l), -1);
    /* syslog's own constants are untouched by log.h */
    assert_int_equal(LOG_ERR, 3);
    assert_int_equal(LOG_DEBUG, 7);
}

/* Lines written to stderr while `fn` runs. */
static int count_stderr_lines(void (*fn)(void))
{
    char path[] = "/tmp/sagad-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    int lines = 0;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    unlink(path);
    return lines;
}

static void flood(void)
{
    for (int i = 0; i < 1000; i++)
        log_error("disk full while committing batch %d", i);
}

static void test_repeated_errors_are_rate_limited(void **state)
{
    (void)state;
    int lines = count_stderr_lines(flood);
    assert_true(lines >= 1);
    assert_true(lines <= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_parse_beside_syslog),
        cmocka_unit_test(test_repeated_errors_are_rate_limited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
