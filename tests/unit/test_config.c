/* Unit tests for the configuration parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static char *write_tmp(const char *text)
{
    static char path[64];
    strcpy(path, "/tmp/sagad-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults(void **state)
{
    (void)state;
    config_t c;
    config_defaults(&c);
    assert_string_equal(c.listen_host, "127.0.0.1");
    assert_int_equal(c.listen_port, 8080);
    assert_string_equal(c.database, "var/sagad.db");
    assert_string_equal(c.events_channel, "sagad.events");
    assert_int_equal(c.max_body_bytes, 262144);
    assert_true(c.payment_failure_rate > 0.19 && c.payment_failure_rate < 0.21);
}

static void test_file_then_args_win(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    char *p = write_tmp("# dev\nlisten = 0.0.0.0:9000  # trailing\nredis =\nlog_level = debug\n");
    assert_int_equal(config_load_file(&c, p, err), 0);
    assert_string_equal(c.listen_host, "0.0.0.0");
    assert_int_equal(c.listen_port, 9000);
    assert_string_equal(c.redis, "");
    char *args[] = {"--listen=[::1]:0", "--payment_failure_rate=0"};
    assert_int_equal(config_apply_args(&c, 2, args, err), 0);
    assert_string_equal(c.listen_host, "::1");
    assert_int_equal(c.listen_port, 0);
    assert_true(c.payment_failure_rate == 0.0);
    unlink(p);
}

static void test_errors_name_file_line_key(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX], want[128];
    config_defaults(&c);
    char *p = write_tmp("listen = 127.0.0.1:1\nmax_body_bytes = -5\n");
    assert_int_equal(config_load_file(&c, p, err), -1);
    snprintf(want, sizeof want, "%s:2: key 'max_body_bytes'", p);
    assert_non_null(strstr(err, want));
    unlink(p);
}

static void test_hostport(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(config_parse_hostport("127.0.0.1:80", host, sizeof host, &port), 0);
    assert_int_equal(port, 80);
    assert_int_equal(config_parse_hostport("[::1]:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(config_parse_hostport("::1:80", host, sizeof host, &port), -1);
    assert_int_equal(config_parse_hostport("h:65536", host, sizeof host, &port), -1);
    assert_int_equal(config_parse_hostport("h:", host, sizeof host, &port), -1);
    assert_int_equal(config_parse_hostport(":80", host, sizeof host, &port), -1);
}

static void test_values_checked(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_int_equal(config_set(&c, "payment_failure_rate", "nan", "x", 1, err), -1);
    assert_int_equal(config_set(&c, "payment_failure_rate", "1", "x", 1, err), 0);
    assert_int_equal(config_set(&c, "log_level", "loud", "x", 1, err), -1);
    assert_int_equal(config_set(&c, "redis", "/run/redis.sock", "x", 1, err), 0);
    assert_int_equal(config_set(&c, "redis", "nohost", "x", 1, err), -1);
    assert_int_equal(config_set(&c, "max_body_bytes", "12abc", "x", 1, err), -1);
    assert_int_equal(c.history_events, 0);
    assert_int_equal(config_set(&c, "history_format", "events", "x", 1, err), 0);
    assert_int_equal(c.history_events, 1);
    assert_int_equal(config_set(&c, "history_format", "replay", "x", 1, err), 0);
    assert_int_equal(c.history_events, 0);
    assert_int_equal(config_set(&c, "history_format", "json", "x", 4, err), -1);
    assert_non_null(strstr(err, "x:4: key 'history_format'"));
    assert_non_null(strstr(err, "replay or events"));
    assert_int_equal(config_set(&c, "unknown", "1", "x", 3, err), -1);
    assert_non_null(strstr(err, "x:3: key 'unknown'"));
}

static void test_events_stream_keys(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX], want[128];
    config_defaults(&c);
    assert_string_equal(c.events_stream, "sagad.events");
    assert_true(c.events_stream_maxlen == 1000000);
    char *p = write_tmp("events_stream =\nevents_stream_maxlen = 500\n");
    assert_int_equal(config_load_file(&c, p, err), 0);
    assert_string_equal(c.events_stream, "");
    assert_true(c.events_stream_maxlen == 500);
    unlink(p);
    p = write_tmp("events_stream = orders\n\nevents_stream_maxlen = 0\n");
    assert_int_equal(config_load_file(&c, p, err), -1);
    snprintf(want, sizeof want, "%s:3: key 'events_stream_maxlen'", p);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "from 1 to"));
    unlink(p);
    assert_int_equal(config_set(&c, "events_stream_maxlen", "1e6", "x", 1, err), -1);
    assert_int_equal(config_set(&c, "events_stream_maxlen", "1000000000001", "x", 1, err), -1);
    assert_int_equal(config_set(&c, "events_stream_maxlen", "1000000000000", "x", 1, err), 0);
    assert_true(c.events_stream_maxlen == 1000000000000LL);
}

static void test_execution_events_keys(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_int_equal(c.execution_events, CONFIG_EXEC_EVENTS_TERMINAL);
    assert_int_equal(c.execution_events_payload, 0);
    assert_int_equal(config_set(&c, "execution_events", "all", "x", 1, err), 0);
    assert_int_equal(c.execution_events, CONFIG_EXEC_EVENTS_ALL);
    assert_int_equal(config_set(&c, "execution_events", "off", "x", 1, err), 0);
    assert_int_equal(c.execution_events, CONFIG_EXEC_EVENTS_OFF);
    assert_int_equal(config_set(&c, "execution_events", "terminal", "x", 1, err), 0);
    assert_int_equal(c.execution_events, CONFIG_EXEC_EVENTS_TERMINAL);
    assert_int_equal(config_set(&c, "execution_events", "ALL", "x", 5, err), -1);
    assert_non_null(strstr(err, "x:5: key 'execution_events'"));
    assert_non_null(strstr(err, "off, terminal or all"));
    assert_int_equal(c.execution_events, CONFIG_EXEC_EVENTS_TERMINAL);
    assert_int_equal(config_set(&c, "execution_events_payload", "on", "x", 1, err), 0);
    assert_int_equal(c.execution_events_payload, 1);
    assert_int_equal(config_set(&c, "execution_events_payload", "off", "x", 1, err), 0);
    assert_int_equal(c.execution_events_payload, 0);
    assert_int_equal(config_set(&c, "execution_events_payload", "1", "x", 6, err), -1);
    assert_non_null(strstr(err, "x:6: key 'execution_events_payload'"));
}

static void test_payment_provider_keys(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_int_equal(c.payment_provider, CONFIG_PAYMENT_SIMULATOR);
    assert_string_equal(c.payment_activity, "payment");
    assert_string_equal(c.payment_url, "");
    assert_int_equal(config_check(&c, err), 0);
    assert_int_equal(config_set(&c, "payment_provider", "stripe", "x", 2, err), -1);
    assert_non_null(strstr(err, "x:2: key 'payment_provider'"));
    assert_int_equal(config_set(&c, "payment_provider", "activity", "x", 2, err), 0);
    assert_int_equal(c.payment_provider, CONFIG_PAYMENT_ACTIVITY);
    assert_int_equal(config_set(&c, "payment_activity", "shop.pay-1", "x", 3, err), 0);
    assert_string_equal(c.payment_activity, "shop.pay-1");
    assert_int_equal(config_set(&c, "payment_activity", "", "x", 3, err), -1);
    assert_int_equal(config_set(&c, "payment_activity", "a b", "x", 3, err), -1);
    char longname[80];
    memset(longname, 'a', 74);
    longname[74] = '\0';
    assert_int_equal(config_set(&c, "payment_activity", longname, "x", 3, err), -1);
    longname[73] = '\0';
    assert_int_equal(config_set(&c, "payment_activity", longname, "x", 3, err), 0);

    /* http needs a URL, wherever the two keys come from. */
    assert_int_equal(config_set(&c, "payment_provider", "http", "f.conf", 7, err), 0);
    assert_int_equal(config_check(&c, err), -1);
    assert_non_null(strstr(err, "f.conf:7: key 'payment_provider'"));
    assert_non_null(strstr(err, "payment_url"));
    assert_int_equal(config_set(&c, "payment_url", "ftp://pay", "x", 8, err), -1);
    assert_non_null(strstr(err, "x:8: key 'payment_url'"));
    assert_int_equal(config_set(&c, "payment_url", "http://", "x", 8, err), -1);
    assert_int_equal(config_set(&c, "payment_url", "http://a b", "x", 8, err), -1);
    assert_int_equal(config_set(&c, "payment_url", "https://pay.example/v1,http://x", "x", 8, err),
                     -1);
    assert_int_equal(config_set(&c, "payment_url", "https://pay.example/v1/", "x", 8, err), 0);
    assert_int_equal(config_check(&c, err), 0);
    assert_int_equal(config_set(&c, "payment_url", "", "x", 9, err), 0);
    assert_int_equal(config_check(&c, err), -1);
    assert_int_equal(config_set(&c, "payment_provider", "simulator", "x", 10, err), 0);
    assert_int_equal(config_check(&c, err), 0);
}

static void collect(const char *problem, void *ud)
{
    char *all = ud;
    strncat(all, problem, 4095 - strlen(all));
    strncat(all, "\n", 4095 - strlen(all));
}

/* config_load goes on past each problem and reports it; the file's lines
 * and the command line's arguments alike. */
static void test_load_reports_every_problem(void **state)
{
    (void)state;
    config_t c;
    char all[4096] = "";
    char *p = write_tmp("bogus = 1\nlisten = 127.0.0.1:9\nlog_level = loud\nno equals\n");
    char *args[] = {"--max_connections=0", "--order_saga=off", "plain"};
    assert_int_equal(config_load(&c, p, 3, args, collect, all), 5);
    char want[128];
    int lines = 0;
    for (const char *q = all; (q = strchr(q, '\n')); q++)
        lines++;
    assert_int_equal(lines, 5);
    snprintf(want, sizeof want, "%s:1: key 'bogus'", p);
    assert_non_null(strstr(all, want));
    snprintf(want, sizeof want, "%s:3: key 'log_level'", p);
    assert_non_null(strstr(all, want));
    snprintf(want, sizeof want, "%s:4: key 'no equals'", p);
    assert_non_null(strstr(all, want));
    assert_non_null(strstr(all, "command line: key 'max_connections'"));
    assert_non_null(strstr(all, "command line: argument 'plain'"));
    /* What parsed is set. */
    assert_int_equal(c.listen_port, 9);
    assert_int_equal(c.order_saga, 0);
    /* The consistency checks run once every value parsed: two at once. */
    all[0] = '\0';
    char *bad[] = {"--listen=0.0.0.0:1", "--payment_provider=http"};
    assert_int_equal(config_load(&c, NULL, 2, bad, collect, all), 2);
    assert_non_null(strstr(all, "key 'listen'"));
    assert_non_null(strstr(all, "key 'payment_provider'"));
    unlink(p);
}

static void test_sagas_dirs(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX], buf[2 * CONFIG_DIRS_TEXT_MAX];
    const char *dirs[CONFIG_SAGAS_DIRS_MAX + 1];
    config_defaults(&c);
    assert_int_equal(c.order_saga, 1);
    assert_int_equal(config_sagas_dirs(&c, buf, dirs), 1);
    assert_string_equal(dirs[0], "sagas");
    assert_int_equal(config_set(&c, "vendor_sagas_dir", "/usr/share/sagad/sagas", "x", 1, err), 0);
    assert_int_equal(config_set(&c, "sagas_dir", "/etc/sagad/sagas , /srv/more", "x", 2, err), 0);
    assert_int_equal(config_sagas_dirs(&c, buf, dirs), 3);
    assert_string_equal(dirs[0], "/usr/share/sagad/sagas");
    assert_string_equal(dirs[1], "/etc/sagad/sagas");
    assert_string_equal(dirs[2], "/srv/more");
    /* order_saga = off: the vendor directory (the order saga) is not loaded. */
    assert_int_equal(config_set(&c, "order_saga", "off", "x", 3, err), 0);
    assert_int_equal(config_sagas_dirs(&c, buf, dirs), 2);
    assert_string_equal(dirs[0], "/etc/sagad/sagas");
    assert_int_equal(config_set(&c, "sagas_dir", "", "x", 4, err), -1);
    assert_int_equal(config_set(&c, "sagas_dir", "a,,b", "x", 4, err), -1);
    assert_int_equal(config_set(&c, "sagas_dir", "a,b,c,d,e,f,g,h,i", "x", 4, err), -1);
    assert_int_equal(config_set(&c, "sagas_dir", "a,b,c,d,e,f,g,h", "x", 4, err), 0);
    assert_int_equal(config_set(&c, "vendor_sagas_dir", "a,b", "x", 5, err), -1);
    assert_int_equal(config_set(&c, "vendor_sagas_dir", "", "x", 5, err), 0);
    assert_int_equal(config_set(&c, "order_saga", "yes", "x", 6, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_file_then_args_win),
        cmocka_unit_test(test_errors_name_file_line_key),
        cmocka_unit_test(test_events_stream_keys),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_values_checked),
        cmocka_unit_test(test_payment_provider_keys),
        cmocka_unit_test(test_execution_events_keys),
        cmocka_unit_test(test_load_reports_every_problem),
        cmocka_unit_test(test_sagas_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
