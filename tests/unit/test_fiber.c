/* Unit tests for core/fiber on a real libuv loop: switching between fibers
 * and the loop, waits on real pipes and timers, a thousand fibers at once,
 * deep stacks and the guard page, failure and shutdown leaving nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "core/fiber.h"

static uv_loop_t loop;

static int setup(void **state)
{
    (void)state;
    return uv_loop_init(&loop);
}

/* Every test must leave no fiber and no handle behind: the loop closes. */
static int teardown(void **state)
{
    (void)state;
    uv_run(&loop, UV_RUN_DEFAULT);
    if (fiber_count(NULL) != 0)
        return -1;
    return uv_loop_close(&loop);
}

static uint64_t now_ms(void)
{
    return uv_hrtime() / 1000000;
}

/* ---- switching ---- */

typedef struct {
    int steps;              /* done by the fiber */
    int turns;              /* loop turns seen by the check handle */
    int seen[64];           /* steps at each turn */
    int in_fiber, off_fiber;
    fiber_t *self;
    uv_loop_t *self_loop;
} pingpong_t;

static void pingpong_fiber(void *ud)
{
    pingpong_t *p = ud;
    p->in_fiber = fiber_in();
    p->self = fiber_self();
    p->self_loop = fiber_loop();
    for (int i = 0; i < 20; i++) {
        p->steps++;
        assert_int_equal(fiber_yield(), 0);
    }
}

static void on_check(uv_check_t *h)
{
    pingpong_t *p = h->data;
    if (p->turns < 64)
        p->seen[p->turns] = p->steps;
    p->turns++;
    if (fiber_count(&loop) == 0)
        uv_close((uv_handle_t *)h, NULL);
}

/* fiber_start runs the fiber at once up to its first wait; then each loop
 * turn resumes it exactly once. */
static void test_ping_pong_with_loop(void **state)
{
    (void)state;
    pingpong_t p = {0};
    uv_check_t check;
    uv_check_init(&loop, &check);
    check.data = &p;
    uv_check_start(&check, on_check);
    p.off_fiber = fiber_in();
    assert_int_equal(fiber_start(&loop, pingpong_fiber, &p), 0);
    assert_int_equal(p.steps, 1);
    assert_int_equal(p.in_fiber, 1);
    assert_int_equal(p.off_fiber, 0);
    assert_int_equal(fiber_in(), 0);
    assert_null(fiber_self());
    assert_null(fiber_loop());
    assert_non_null(p.self);
    assert_ptr_equal(p.self_loop, &loop);
    assert_int_equal(fiber_count(&loop), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(p.steps, 20);
    for (int t = 0; t < 19; t++)
        assert_int_equal(p.seen[t], t + 2);
    assert_int_equal(fiber_count(&loop), 0);
}

typedef struct {
    char log[32];
    int n;
    fiber_t *sleeper;
} relay_t;

static void relay_add(relay_t *r, char c)
{
    r->log[r->n++] = c;
}

static void sleeper_fiber(void *ud)
{
    relay_t *r = ud;
    r->sleeper = fiber_self();
    relay_add(r, 'a');
    assert_int_equal(fiber_suspend(), 42);
    relay_add(r, 'b');
    assert_int_equal(fiber_suspend(), 43);
    relay_add(r, 'c');
}

static void waker_fiber(void *ud)
{
    relay_t *r = ud;
    relay_add(r, '1');
    fiber_resume(r->sleeper, 42);  /* runs it to its next suspend, then back here */
    relay_add(r, '2');
    assert_int_equal(fiber_yield(), 0);
    fiber_resume(r->sleeper, 43);  /* it returns: freed, control back here */
    relay_add(r, '3');
    assert_ptr_not_equal(fiber_self(), NULL);
}

/* A fiber resumes another directly; control comes back to the resuming
 * fiber, not the loop, both when the other waits and when it returns. */
static void test_resume_from_a_fiber(void **state)
{
    (void)state;
    relay_t r = {0};
    assert_int_equal(fiber_start(&loop, sleeper_fiber, &r), 0);
    assert_int_equal(fiber_start(&loop, waker_fiber, &r), 0);
    assert_string_equal(r.log, "a1b2");
    assert_int_equal(fiber_count(&loop), 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_string_equal(r.log, "a1b2c3");
}

static void inner_fiber(void *ud)
{
    int *log = ud;
    log[0] = 1;
    assert_int_equal(fiber_sleep(5), 0);
    log[2] = 3;
}

static void outer_fiber(void *ud)
{
    int *log = ud;
    fiber_t *me = fiber_self();
    assert_int_equal(fiber_start(&loop, inner_fiber, log), 0);
    assert_ptr_equal(fiber_self(), me);
    log[1] = 2;
    assert_int_equal(fiber_sleep(20), 0);
    log[3] = log[2] + 1;
}

/* A fiber starting a fiber: the new one runs to its first wait, then the
 * starter continues, still itself. */
static void test_start_from_a_fiber(void **state)
{
    (void)state;
    int log[4] = {0};
    assert_int_equal(fiber_start(&loop, outer_fiber, log), 0);
    assert_int_equal(log[0], 1);
    assert_int_equal(log[1], 2);
    assert_int_equal(fiber_count(&loop), 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(log[2], 3);
    assert_int_equal(log[3], 4);
}

static void rounding_fiber(void *ud)
{
    int *seen = ud;
    fesetround(FE_UPWARD);
    assert_int_equal(fiber_yield(), 0);
    seen[0] = fegetround();
    volatile double third = 1.0;
    third /= 3.0;
    seen[1] = third * 3.0 > 1.0;    /* rounded up: 0.333..4 * 3 */
}

static void on_rounding_check(uv_check_t *h)
{
    int *seen = h->data;
    seen[2] = fegetround();
    uv_close((uv_handle_t *)h, NULL);
}

/* The floating-point control words are callee-saved in the x86-64 ABI, so
 * they are part of a fiber's context: its rounding mode survives its
 * yields and does not leak into the loop. */
static void test_fp_control_is_per_fiber(void **state)
{
    (void)state;
    int seen[3] = {-1, -1, -1};
    uv_check_t check;
    uv_check_init(&loop, &check);
    check.data = seen;
    uv_check_start(&check, on_rounding_check);
    assert_int_equal(fiber_start(&loop, rounding_fiber, seen), 0);
    assert_int_equal(fegetround(), FE_TONEAREST);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(seen[0], FE_UPWARD);
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], FE_TONEAREST);
    assert_int_equal(fegetround(), FE_TONEAREST);
}

/* ---- waits on fds and timers ---- */

typedef struct {
    int fds[2];
    int results[4];
    char got[4];
    uint64_t waited_ms;
} pipe_wait_t;

static void write_byte(uv_timer_t *t)
{
    pipe_wait_t *w = t->data;
    static int n;
    char c = (char)('x' + n++ % 2);
    assert_int_equal(write(w->fds[1], &c, 1), 1);
}

static void reader_fiber(void *ud)
{
    pipe_wait_t *w = ud;
    for (int i = 0; i < 2; i++) {
        w->results[i] = fiber_wait_fd(w->fds[0], FIBER_READABLE, 5000);
        assert_int_equal(read(w->fds[0], &w->got[i], 1), 1);
    }
}

/* Readable after a write from a timer callback, twice on the same fd. */
static void test_wait_fd_readable(void **state)
{
    (void)state;
    pipe_wait_t w = {0};
    assert_int_equal(pipe(w.fds), 0);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &w;
    uv_timer_start(&t, write_byte, 10, 10);
    assert_int_equal(fiber_start(&loop, reader_fiber, &w), 0);
    assert_int_equal(w.got[0], 0);    /* waiting, not blocked in read */
    while (fiber_count(&loop))
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w.results[0], FIBER_READABLE);
    assert_int_equal(w.results[1], FIBER_READABLE);
    assert_int_equal(w.got[0] + w.got[1], 'x' + 'y');
    close(w.fds[0]);
    close(w.fds[1]);
}

static void drain(uv_timer_t *t)
{
    pipe_wait_t *w = t->data;
    char buf[4096];
    while (read(w->fds[0], buf, sizeof buf) > 0)
        ;
}

static void writer_fiber(void *ud)
{
    pipe_wait_t *w = ud;
    w->results[0] = fiber_wait_fd(w->fds[1], FIBER_WRITABLE, -1);
    char buf[4096] = {0};
    while (write(w->fds[1], buf, sizeof buf) > 0)    /* fill it: non-blocking */
        ;
    assert_int_equal(errno, EAGAIN);
    w->results[1] = fiber_wait_fd(w->fds[1], FIBER_WRITABLE, 0);
    w->results[2] = fiber_wait_fd(w->fds[1], FIBER_READABLE | FIBER_WRITABLE, 5000);
}

/* Writable at once on an empty pipe; a full pipe waits until the loop
 * drains it. The wait sets the fd non-blocking, as uv_poll_init does. */
static void test_wait_fd_writable(void **state)
{
    (void)state;
    pipe_wait_t w = {0};
    assert_int_equal(pipe(w.fds), 0);
    fcntl(w.fds[0], F_SETFL, O_NONBLOCK);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &w;
    uv_timer_start(&t, drain, 20, 0);
    assert_int_equal(fiber_start(&loop, writer_fiber, &w), 0);
    assert_int_equal(w.results[0], 0);    /* even writable needs a loop turn */
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w.results[0], FIBER_WRITABLE);
    assert_int_equal(w.results[1], FIBER_ETIMEDOUT);
    assert_int_equal(w.results[2], FIBER_WRITABLE);
    assert_true(fcntl(w.fds[1], F_GETFL) & O_NONBLOCK);
    close(w.fds[0]);
    close(w.fds[1]);
}

static void timeout_fiber(void *ud)
{
    pipe_wait_t *w = ud;
    uint64_t t0 = now_ms();
    w->results[0] = fiber_wait_fd(w->fds[0], FIBER_READABLE, 30);
    w->waited_ms = now_ms() - t0;
    w->results[1] = fiber_wait_fd(w->fds[0], FIBER_READABLE, 0);
    assert_int_equal(write(w->fds[1], "z", 1), 1);
    w->results[2] = fiber_wait_fd(w->fds[0], FIBER_READABLE, 0);
    w->results[3] = fiber_wait_fd(w->fds[0], FIBER_READABLE, 1000);
}

/* No data: FIBER_ETIMEDOUT after the timeout, not before; a zero timeout
 * looks without yielding; data present: readable. */
static void test_wait_fd_timeout(void **state)
{
    (void)state;
    pipe_wait_t w = {0};
    assert_int_equal(pipe(w.fds), 0);
    assert_int_equal(fiber_start(&loop, timeout_fiber, &w), 0);
    assert_int_equal(w.results[0], 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w.results[0], FIBER_ETIMEDOUT);
    assert_true(w.waited_ms >= 29);
    assert_true(w.waited_ms < 2000);
    assert_int_equal(w.results[1], FIBER_ETIMEDOUT);
    assert_int_equal(w.results[2], FIBER_READABLE);
    assert_int_equal(w.results[3], FIBER_READABLE);
    close(w.fds[0]);
    close(w.fds[1]);
}

static void broken_pipe_fiber(void *ud)
{
    int *rc = ud;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    rc[0] = fiber_wait_fd(fds[1], FIBER_WRITABLE, 0);
    rc[1] = fiber_wait_fd(fds[1], FIBER_WRITABLE, 1000);
    close(fds[1]);
    assert_int_equal(pipe(fds), 0);
    close(fds[1]);
    rc[2] = fiber_wait_fd(fds[0], FIBER_READABLE, 0);
    rc[3] = fiber_wait_fd(fds[0], FIBER_READABLE, 1000);
    close(fds[0]);
}

/* A pipe whose reader is gone is in error for the writer (UV_EBADF); one
 * whose writer is gone is readable (read then returns 0): the same with a
 * zero timeout as through the loop. */
static void test_wait_fd_error_and_hangup(void **state)
{
    (void)state;
    int rc[4] = {0};
    assert_int_equal(fiber_start(&loop, broken_pipe_fiber, rc), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(rc[0], UV_EBADF);
    assert_int_equal(rc[1], UV_EBADF);
    assert_int_equal(rc[2], FIBER_READABLE);
    assert_int_equal(rc[3], FIBER_READABLE);
}

static void bad_args_fiber(void *ud)
{
    int *rc = ud;
    rc[0] = fiber_wait_fd(-1, FIBER_READABLE, 10);
    rc[1] = fiber_wait_fd(0, 0, 10);
    rc[2] = fiber_wait_fd(0, 64, 10);
    rc[3] = fiber_sleep(-1);
}

static void test_wait_bad_arguments(void **state)
{
    (void)state;
    int rc[4] = {0};
    assert_int_equal(fiber_start(&loop, bad_args_fiber, rc), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rc[i], UV_EINVAL);
}

typedef struct {
    int fds[2], other[2];
    int first, second, conflict, third;
    int phase;
} shared_fd_t;

static void first_waiter(void *ud)
{
    shared_fd_t *s = ud;
    s->first = fiber_wait_fd(s->fds[0], FIBER_READABLE, 5000);
    char c;
    assert_int_equal(read(s->fds[0], &c, 1), 1);
    s->phase = 1;
    /* Now waits elsewhere while the second fiber waits on the first fd:
     * nothing this fiber did on that fd may silence the other's wait. */
    s->third = fiber_wait_fd(s->other[0], FIBER_READABLE, 5000);
}

static void second_waiter(void *ud)
{
    shared_fd_t *s = ud;
    while (s->phase == 0)
        assert_int_equal(fiber_yield(), 0);
    s->second = fiber_wait_fd(s->fds[0], FIBER_READABLE, 5000);
    assert_int_equal(write(s->other[1], "o", 1), 1);
}

static void conflicting_waiter(void *ud)
{
    shared_fd_t *s = ud;
    s->conflict = fiber_wait_fd(s->fds[0], FIBER_READABLE, 5000);
}

static void feed(uv_timer_t *t)
{
    shared_fd_t *s = t->data;
    if (s->phase == 1 && !s->second)
        assert_int_equal(write(s->fds[1], "b", 1), 1);
    else if (!s->first)
        assert_int_equal(write(s->fds[1], "a", 1), 1);
    if (s->second)
        uv_close((uv_handle_t *)t, NULL);
}

/* Successive waits on one fd by different fibers work, and a fiber that
 * waited on it earlier cannot disturb a later waiter; two waits on one fd
 * at once are refused (UV_EEXIST), not left to misbehave in libuv. */
static void test_wait_fd_shared_between_fibers(void **state)
{
    (void)state;
    shared_fd_t s = {0};
    assert_int_equal(pipe(s.fds), 0);
    assert_int_equal(pipe(s.other), 0);
    assert_int_equal(fiber_start(&loop, first_waiter, &s), 0);
    assert_int_equal(fiber_start(&loop, conflicting_waiter, &s), 0);
    assert_int_equal(s.conflict, UV_EEXIST);
    assert_int_equal(fiber_start(&loop, second_waiter, &s), 0);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &s;
    uv_timer_start(&t, feed, 5, 5);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(s.first, FIBER_READABLE);
    assert_int_equal(s.second, FIBER_READABLE);
    assert_int_equal(s.third, FIBER_READABLE);
    for (int i = 0; i < 2; i++) {
        close(s.fds[i]);
        close(s.other[i]);
    }
}

typedef struct {
    int fds[2];
    uv_poll_t own;
    int busy, waited, own_events;
} own_poll_t;

static void on_own_poll(uv_poll_t *h, int status, int events)
{
    own_poll_t *o = h->data;
    o->own_events = status < 0 ? status : events;
    uv_close((uv_handle_t *)h, NULL);
}

static void own_poll_fiber(void *ud)
{
    own_poll_t *o = ud;
    o->busy = fiber_wait_fd(o->fds[0], FIBER_READABLE, 1000);
    uv_poll_stop(&o->own);
    assert_int_equal(write(o->fds[1], "w", 1), 1);
    o->waited = fiber_wait_fd(o->fds[0], FIBER_READABLE, 1000);
    char c;
    assert_int_equal(read(o->fds[0], &c, 1), 1);
    uv_poll_start(&o->own, UV_READABLE, on_own_poll);
    assert_int_equal(write(o->fds[1], "o", 1), 1);
}

/* A module's own poll of a socket (kept to see NOTIFYs while idle): while
 * it runs a fiber's wait on the fd is refused; stopped, the fiber waits;
 * started again after, it still sees the fd (the fiber's closing handle did
 * not silence it). */
static void test_wait_fd_beside_own_poll(void **state)
{
    (void)state;
    own_poll_t o = {0};
    assert_int_equal(pipe(o.fds), 0);
    assert_int_equal(uv_poll_init(&loop, &o.own, o.fds[0]), 0);
    o.own.data = &o;
    uv_poll_start(&o.own, UV_READABLE, on_own_poll);
    assert_int_equal(fiber_start(&loop, own_poll_fiber, &o), 0);
    assert_int_equal(o.busy, UV_EEXIST);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(o.waited, FIBER_READABLE);
    assert_int_equal(o.own_events, UV_READABLE);
    close(o.fds[0]);
    close(o.fds[1]);
}

typedef struct {
    uint64_t waited_ms;
    int turns, turns_before, turns_after;
} sleeper_t;

static void count_turn(uv_prepare_t *h)
{
    sleeper_t *s = h->data;
    s->turns++;
    if (!fiber_count(&loop))
        uv_close((uv_handle_t *)h, NULL);
}

static void sleep_fiber(void *ud)
{
    sleeper_t *s = ud;
    uint64_t t0 = now_ms();
    assert_int_equal(fiber_sleep(25), 0);
    s->waited_ms = now_ms() - t0;
    s->turns_before = s->turns;
    assert_int_equal(fiber_sleep(0), 0);
    s->turns_after = s->turns;
}

/* fiber_sleep(25) lasts 25 ms; fiber_sleep(0) lets the loop poll its I/O
 * once (a prepare handle runs just before each poll). */
static void test_sleep(void **state)
{
    (void)state;
    sleeper_t s = {0};
    uv_prepare_t prepare;
    uv_prepare_init(&loop, &prepare);
    prepare.data = &s;
    uv_prepare_start(&prepare, count_turn);
    assert_int_equal(fiber_start(&loop, sleep_fiber, &s), 0);
    assert_int_equal(s.waited_ms, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(s.waited_ms >= 24 && s.waited_ms < 2000);
    assert_int_equal(s.turns_after, s.turns_before + 1);
}

/* ---- many fibers ---- */

#define MANY 1000

typedef struct {
    int id;
    int64_t result;
    int order;
} worker_t;

static int finish_order;

static void worker_fiber(void *ud)
{
    worker_t *w = ud;
    int64_t acc = 0;
    for (int k = 1; k <= 10; k++) {
        acc += (int64_t)w->id * k;
        if (k % 2)
            assert_int_equal(fiber_yield(), 0);
        else
            assert_int_equal(fiber_sleep((w->id * 7 + k) % 5), 0);
    }
    w->result = acc;
    w->order = finish_order++;
}

/* A thousand fibers alive at once, interleaved through yields and timers,
 * each computing its own result on its own stack. */
static void test_many_fibers(void **state)
{
    (void)state;
    worker_t *ws = calloc(MANY, sizeof *ws);
    assert_non_null(ws);
    finish_order = 0;
    for (int i = 0; i < MANY; i++) {
        ws[i].id = i;
        assert_int_equal(fiber_start(&loop, worker_fiber, &ws[i]), 0);
    }
    assert_int_equal(fiber_count(&loop), MANY);
    fiber_stats_t st;
    fiber_stats(&st);
    assert_int_equal(st.live, MANY);
    assert_true(st.stacks_mapped >= MANY);
    uv_run(&loop, UV_RUN_DEFAULT);
    int out_of_start_order = 0;
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(ws[i].result, (int64_t)i * 55);
        if (ws[i].order != i)
            out_of_start_order = 1;
    }
    assert_true(out_of_start_order);    /* the timers really interleaved them */
    fiber_stats(&st);
    assert_int_equal(st.live, 0);
    assert_int_equal(st.stacks_mapped, st.stacks_cached);   /* the rest unmapped */
    assert_true(st.stacks_cached <= 64);
    free(ws);
}

static void quick_fiber(void *ud)
{
    (*(int *)ud)++;
}

/* A fiber per request costs no mmap: finished fibers' stacks are reused. */
static void test_stacks_are_reused(void **state)
{
    (void)state;
    int n = 0;
    assert_int_equal(fiber_start(&loop, quick_fiber, &n), 0);
    fiber_stats_t before, after;
    fiber_stats(&before);
    for (int i = 0; i < 500; i++)
        assert_int_equal(fiber_start(&loop, quick_fiber, &n), 0);
    fiber_stats(&after);
    assert_int_equal(n, 501);
    assert_int_equal(after.stacks_mapped, before.stacks_mapped);
    assert_int_equal(after.started, before.started + 500);
    assert_int_equal(after.live, 0);
}

/* ---- stacks ---- */

/* About 1 KiB of stack per level, kept live across the recursion. */
static int64_t recurse(int depth, int yield_at_bottom)
{
    volatile char frame[1000];
    for (size_t i = 0; i < sizeof frame; i += 64)
        frame[i] = (char)(depth + (int)i);
    int64_t sum = 0;
    if (depth > 0)
        sum = recurse(depth - 1, yield_at_bottom);
    else if (yield_at_bottom)
        assert_int_equal(fiber_yield(), 0);     /* the deep stack survives a switch */
    for (size_t i = 0; i < sizeof frame; i += 64)
        sum += frame[i];
    return sum;
}

static void deep_fiber(void *ud)
{
    int64_t *out = ud;
    out[0] = recurse(190, 1);
}

/* 190 levels of 1 KiB (about 200 KiB) fit a fiber's stack. */
static void test_deep_recursion(void **state)
{
    (void)state;
    int64_t got = 0;
    int64_t want = recurse(190, 0);
    assert_int_equal(fiber_start(&loop, deep_fiber, &got), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(got, want);
}

static void nested_json_fiber(void *ud)
{
    int *ok = ud;
    enum { LEVELS = CJSON_NESTING_LIMIT };
    char *text = malloc(2 * LEVELS + 1);
    assert_non_null(text);
    for (int i = 0; i < LEVELS; i++) {
        text[i] = '[';
        text[2 * LEVELS - 1 - i] = ']';
    }
    text[2 * LEVELS] = '\0';
    cJSON *doc = cJSON_Parse(text);
    cJSON *copy = cJSON_Duplicate(doc, 1);
    char *printed = cJSON_PrintUnformatted(copy);
    *ok = doc && printed && strcmp(printed, text) == 0;
    free(printed);
    cJSON_Delete(copy);
    cJSON_Delete(doc);
    free(text);
}

/* The deepest JSON the daemon accepts (cJSON's nesting limit) is parsed,
 * copied and printed on a fiber's stack: cJSON recurses once per level. */
static void test_deepest_json_fits(void **state)
{
    (void)state;
    int ok = 0;
    assert_int_equal(fiber_start(&loop, nested_json_fiber, &ok), 0);
    assert_int_equal(ok, 1);
}

static volatile uintptr_t guard_lo, guard_hi;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr;
    _exit(a >= guard_lo && a < guard_hi ? 42 : 43);
}

static void overflow_fiber(void *ud)
{
    (void)ud;
    /* The stack's top is within a few hundred bytes above this frame; the
     * guard page is the page just below FIBER_STACK_SIZE under the top. */
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    guard_lo = here - FIBER_STACK_SIZE - 2 * 4096;
    guard_hi = here - FIBER_STACK_SIZE + 4096;
    recurse(100000, 0);
    _exit(44);
}

/* Overflowing a fiber's stack faults on the guard page below it (checked
 * in a child on the signal's own stack) rather than writing past it. */
static void test_stack_overflow_hits_guard_page(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char altstack[64 * 1024];
        stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
        struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK};
        if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGSEGV, &sa, NULL) != 0)
            _exit(45);
        uv_loop_t child;
        uv_loop_init(&child);
        fiber_start(&child, overflow_fiber, NULL);
        _exit(46);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 42);
}

/* ---- failure and shutdown ---- */

static void never_runs(void *ud)
{
    (*(int *)ud)++;
}

static void parked_fiber(void *ud)
{
    int *canceled = ud;
    if (fiber_suspend() == FIBER_ECANCELED)
        (*canceled)++;
}

/* The child's exit code: 0, or the number of the failed check. */
static int start_without_memory(void)
{
    uv_loop_t l;
    uv_loop_init(&l);
    /* Empty the inherited stack cache so the next fiber_start must mmap. */
    fiber_stats_t st;
    fiber_stats(&st);
    int canceled = 0;
    size_t parked = st.stacks_cached;
    for (size_t i = 0; i < parked; i++)
        if (fiber_start(&l, parked_fiber, &canceled) != 0)
            return 1;
    fiber_stats(&st);
    if (st.stacks_cached != 0)
        return 2;
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld", &pages) != 1)
        return 3;
    fclose(f);
    struct rlimit old, lim;
    getrlimit(RLIMIT_AS, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 64 * 1024;
    if (setrlimit(RLIMIT_AS, &lim) != 0)
        return 4;
    int ran = 0;
    int rc = fiber_start(&l, never_runs, &ran);
    setrlimit(RLIMIT_AS, &old);
    if (rc != UV_ENOMEM)
        return 5;
    if (ran)
        return 6;
    fiber_stats_t after;
    fiber_stats(&after);
    if (after.live != st.live || after.stacks_mapped != st.stacks_mapped ||
        after.started != st.started)
        return 7;
    if (fiber_start(&l, never_runs, &ran) != 0 || ran != 1)
        return 8;
    if (fiber_cancel_all(&l) != parked || canceled != (int)parked)
        return 9;
    uv_run(&l, UV_RUN_DEFAULT);
    if (fiber_count(NULL) != 0 || uv_loop_close(&l) != 0)
        return 10;
    return 0;
}

/* A failed fiber_start never calls fn and leaves no fiber, stack or handle:
 * bad arguments, and (in a child under an address-space limit) no memory. */
static void test_start_failure_leaves_nothing(void **state)
{
    (void)state;
    int ran = 0;
    fiber_stats_t before, after;
    fiber_stats(&before);
    assert_int_equal(fiber_start(NULL, never_runs, &ran), UV_EINVAL);
    assert_int_equal(fiber_start(&loop, NULL, &ran), UV_EINVAL);
    fiber_stats(&after);
    assert_int_equal(ran, 0);
    assert_memory_equal(&before, &after, sizeof before);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(start_without_memory());
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct {
    int fds[2];
    int fd_rc, sleep_rc, yield_rc, park_rc, after_rc, late_rc;
    int late_ran;
    uint64_t after_ms;
} shutdown_t;

static void fd_victim(void *ud)
{
    shutdown_t *s = ud;
    s->fd_rc = fiber_wait_fd(s->fds[0], FIBER_READABLE, -1);
    /* Cancelled for good: later waits fail at once. */
    uint64_t t0 = now_ms();
    s->after_rc = fiber_sleep(60000);
    s->after_ms = now_ms() - t0;
}

static void sleep_victim(void *ud)
{
    shutdown_t *s = ud;
    s->sleep_rc = fiber_sleep(60000);
}

static void yield_victim(void *ud)
{
    shutdown_t *s = ud;
    int rc;
    while ((rc = fiber_yield()) == 0)
        ;
    s->yield_rc = rc;
}

static void park_victim(void *ud)
{
    shutdown_t *s = ud;
    s->park_rc = fiber_suspend();
}

static void late_fiber(void *ud)
{
    shutdown_t *s = ud;
    s->late_rc = fiber_sleep(1);
    s->late_ran = 1;
}

static void on_shutdown(uv_timer_t *t)
{
    shutdown_t *s = t->data;
    assert_int_equal(fiber_cancel_all(&loop), 4);
    assert_int_equal(fiber_count(&loop), 0);
    assert_int_equal(fiber_start(&loop, late_fiber, s), 0);
    uv_close((uv_handle_t *)t, NULL);
}

/* Shutdown: fiber_cancel_all ends every wait with FIBER_ECANCELED (fd,
 * timer, idle, bare suspend); the fibers return, their handles close, and
 * the loop ends and closes (teardown checks uv_loop_close). */
static void test_cancel_all_lets_the_loop_close(void **state)
{
    (void)state;
    shutdown_t s = {0};
    assert_int_equal(pipe(s.fds), 0);
    assert_int_equal(fiber_start(&loop, fd_victim, &s), 0);
    assert_int_equal(fiber_start(&loop, sleep_victim, &s), 0);
    assert_int_equal(fiber_start(&loop, yield_victim, &s), 0);
    assert_int_equal(fiber_start(&loop, park_victim, &s), 0);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &s;
    uv_timer_start(&t, on_shutdown, 20, 0);
    uint64_t t0 = now_ms();
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(now_ms() - t0 < 5000);
    assert_int_equal(s.fd_rc, FIBER_ECANCELED);
    assert_int_equal(s.sleep_rc, FIBER_ECANCELED);
    assert_int_equal(s.yield_rc, FIBER_ECANCELED);
    assert_int_equal(s.park_rc, FIBER_ECANCELED);
    assert_int_equal(s.after_rc, FIBER_ECANCELED);
    assert_true(s.after_ms < 1000);
    assert_int_equal(s.late_ran, 1);            /* started after: not cancelled */
    assert_int_equal(s.late_rc, 0);
    close(s.fds[0]);
    close(s.fds[1]);
}

static void cancel_target(void *ud)
{
    int *rc = ud;
    rc[0] = fiber_sleep(60000);
    rc[1] = fiber_yield();
}

static void canceller(void *ud)
{
    fiber_t **target = ud;
    fiber_cancel(*target);
}

static void self_recording(void *ud)
{
    void **slot = ud;
    slot[0] = fiber_self();
    int *rc = slot[1];
    cancel_target(rc);
}

/* fiber_cancel of one fiber, from another fiber: only that one ends. */
static void test_cancel_one_fiber(void **state)
{
    (void)state;
    int rc_a[2] = {1, 1};
    int rc_b[2] = {1, 1};
    void *a[2] = {NULL, rc_a};
    void *b[2] = {NULL, rc_b};
    assert_int_equal(fiber_start(&loop, self_recording, a), 0);
    assert_int_equal(fiber_start(&loop, self_recording, b), 0);
    assert_int_equal(fiber_start(&loop, canceller, &a[0]), 0);
    assert_int_equal(rc_a[0], FIBER_ECANCELED);
    assert_int_equal(rc_a[1], FIBER_ECANCELED);
    assert_int_equal(fiber_count(&loop), 1);
    assert_int_equal(rc_b[0], 1);
    fiber_t *fb = b[0];
    fiber_cancel(fb);
    assert_int_equal(rc_b[0], FIBER_ECANCELED);
    assert_int_equal(fiber_count(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ping_pong_with_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_from_a_fiber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_from_a_fiber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fp_control_is_per_fiber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_error_and_hangup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_shared_between_fibers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_fd_beside_own_poll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sleep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_fibers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stacks_are_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_recursion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deepest_json_fits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_overflow_hits_guard_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_failure_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_all_lets_the_loop_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_one_fiber, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
