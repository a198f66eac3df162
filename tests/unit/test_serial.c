/* Unit tests for core/serial on a real libuv loop: entry points run one at
 * a time in arrival order while their holders wait on real timers, nested
 * calls run inline, and a disabled serializer calls at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/fiber.h"
#include "core/serial.h"

static uv_loop_t loop;

static int setup(void **state)
{
    (void)state;
    return uv_loop_init(&loop);
}

static int teardown(void **state)
{
    (void)state;
    uv_run(&loop, UV_RUN_DEFAULT);
    if (fiber_count(NULL) != 0)
        return -1;
    return uv_loop_close(&loop);
}

typedef struct {
    serial_t *s;
    char log[64];
    size_t n;
    int inside_now;     /* how many entry points are between their start and end */
    int max_inside;
    int runs;
} trace_t;

typedef struct {
    trace_t *t;
    char name;
    int64_t sleep_ms;
} entry_t;

static void note(trace_t *t, char c)
{
    if (t->n + 1 < sizeof t->log)
        t->log[t->n++] = c;
}

static void entry(void *ud)
{
    entry_t *e = ud;
    trace_t *t = e->t;
    assert_true(serial_inside(t->s));
    t->inside_now++;
    if (t->inside_now > t->max_inside)
        t->max_inside = t->inside_now;
    note(t, e->name);
    if (e->sleep_ms)
        assert_int_equal(fiber_sleep(e->sleep_ms), 0);
    note(t, (char)(e->name - 'a' + 'A'));
    t->runs++;
    t->inside_now--;
}

static void test_one_at_a_time_in_order(void **state)
{
    (void)state;
    trace_t t = {.s = serial_new(&loop, 1)};
    assert_non_null(t.s);
    entry_t a = {&t, 'a', 30}, b = {&t, 'b', 5}, c = {&t, 'c', 0};
    assert_int_equal(serial_run(t.s, entry, &a), 0);
    /* a holds the turn while it sleeps: b and c wait for it, in order. */
    assert_int_equal(serial_run(t.s, entry, &b), 0);
    assert_int_equal(serial_run(t.s, entry, &c), 0);
    assert_string_equal(t.log, "a");
    assert_int_equal(serial_pending(t.s), 3);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(t.log, "aAbBcC");
    assert_int_equal(t.max_inside, 1);
    assert_int_equal(serial_pending(t.s), 0);
    serial_free(t.s);
}

static void test_free_turn_runs_at_once(void **state)
{
    (void)state;
    trace_t t = {.s = serial_new(&loop, 1)};
    entry_t c = {&t, 'c', 0};
    assert_int_equal(serial_run(t.s, entry, &c), 0);
    /* Nothing waited: it ran to its end inside serial_run. */
    assert_string_equal(t.log, "cC");
    assert_int_equal(serial_pending(t.s), 0);
    serial_free(t.s);
}

typedef struct {
    trace_t *t;
    entry_t inner;
} nest_t;

static void nesting(void *ud)
{
    nest_t *n = ud;
    note(n->t, 'n');
    assert_int_equal(fiber_sleep(1), 0);
    /* Called from inside the running entry point: runs inline, not after. */
    assert_int_equal(serial_run(n->t->s, entry, &n->inner), 0);
    note(n->t, 'N');
}

static void test_nested_runs_inline(void **state)
{
    (void)state;
    trace_t t = {.s = serial_new(&loop, 1)};
    nest_t n = {&t, {&t, 'i', 0}};
    entry_t later = {&t, 'l', 0};
    assert_int_equal(serial_run(t.s, nesting, &n), 0);
    assert_int_equal(serial_run(t.s, entry, &later), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(t.log, "niINlL");
    serial_free(t.s);
}

static void test_disabled_calls_at_once(void **state)
{
    (void)state;
    trace_t t = {.s = serial_new(&loop, 0)};
    entry_t a = {&t, 'a', 0}, b = {&t, 'b', 0};
    assert_int_equal(serial_run(t.s, entry, &a), 0);
    assert_int_equal(serial_run(t.s, entry, &b), 0);
    assert_string_equal(t.log, "aAbB");
    /* No fiber was involved. */
    fiber_stats_t fs;
    fiber_stats(&fs);
    assert_int_equal(fs.live, 0);
    assert_true(serial_inside(t.s));
    serial_free(t.s);
    /* NULL behaves as disabled. */
    t.s = NULL;
    entry_t c = {&t, 'c', 0};
    assert_int_equal(serial_run(NULL, entry, &c), 0);
}

/* Many queued entry points: the hand-off chain runs every one once. */
static void test_many_waiters(void **state)
{
    (void)state;
    trace_t t = {.s = serial_new(&loop, 1)};
    entry_t first = {&t, 'a', 10};
    entry_t rest[40];
    assert_int_equal(serial_run(t.s, entry, &first), 0);
    for (int i = 0; i < 40; i++) {
        rest[i] = (entry_t){&t, 'b', i % 3 == 0 ? 1 : 0};
        assert_int_equal(serial_run(t.s, entry, &rest[i]), 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(t.max_inside, 1);
    assert_int_equal(serial_pending(t.s), 0);
    assert_int_equal(t.runs, 41);
    serial_free(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_at_a_time_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_turn_runs_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_runs_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_calls_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_waiters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
