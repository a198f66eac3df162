/* Fibers on a libuv loop: starting, suspending and resuming them, the waits
 * built on that (fd readiness, sleep, one loop turn), cancellation for
 * shutdown, and AddressSanitizer's stack-switch annotations. Switching and
 * stacks are in fiber_ctx.c. */
#include "core/fiber.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fiber_ctx.h"

#ifdef FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

typedef enum {
    FIBER_STATE_RUNNING,    /* on the CPU, or switched into another fiber */
    FIBER_STATE_SUSPENDED,  /* in fiber_suspend, or new and not yet entered */
    FIBER_STATE_DONE        /* fn returned; freed by whoever it switched to */
} fiber_state_t;

struct fiber_s {
    fiber_ctx_t ctx;            /* its registers while it is not running */
    fiber_stack_t stack;
    uv_loop_t *loop;
    void (*fn)(void *ud);
    void *ud;
    fiber_t *resumer;           /* who switched to it last; NULL: the thread's own stack */
    fiber_t *prev, *next;       /* the thread's list of live fibers */
    fiber_state_t state;
    bool canceled;
    int result;                 /* fiber_resume's, for fiber_suspend */
    /* Made on first use, closed when fn returns; the struct is freed when
     * the last close callback ran. */
    uv_timer_t timer;
    uv_idle_t idle;
    uv_check_t check;
    bool has_timer, has_turn;
    int closing;
#ifdef FIBER_ASAN
    void *fake_stack;           /* ASan's fake stack while it is switched out */
#endif
};

/* This thread's fibers. The thread's own stack (where the loop runs) is not
 * a fiber: `current` is NULL there and `main_ctx` holds its registers while
 * a fiber runs. */
static _Thread_local struct {
    fiber_t *current;
    fiber_t *live;
    fiber_ctx_t main_ctx;
    uint64_t started;
#ifdef FIBER_ASAN
    void *main_fake_stack;
    const void *main_bottom;    /* learnt from ASan on the first switch from it */
    size_t main_size;
#endif
} th;

/* ASan's contract: announce the destination stack before each switch
 * (passing NULL instead of a place to keep the fake stack when the fiber
 * leaving will never run again, which frees it) and confirm on arrival with
 * the fake stack kept when this context left. Arriving on a fiber from the
 * thread's stack also tells us where that stack is. */
static void asan_leave(void **fake_stack, const fiber_t *to)
{
#ifdef FIBER_ASAN
    if (to)
        __sanitizer_start_switch_fiber(fake_stack, to->stack.lo, to->stack.size);
    else
        __sanitizer_start_switch_fiber(fake_stack, th.main_bottom, th.main_size);
#else
    (void)fake_stack;
    (void)to;
#endif
}

static void asan_arrive_on(fiber_t *f)
{
#ifdef FIBER_ASAN
    bool from_main = f->resumer == NULL;
    __sanitizer_finish_switch_fiber(f->fake_stack, from_main ? &th.main_bottom : NULL,
                                    from_main ? &th.main_size : NULL);
#else
    (void)f;
#endif
}

static void **fake_stack_of(fiber_t *self)
{
#ifdef FIBER_ASAN
    return self ? &self->fake_stack : &th.main_fake_stack;
#else
    (void)self;
    return NULL;
#endif
}

static void asan_arrive_back(fiber_t *self)
{
#ifdef FIBER_ASAN
    __sanitizer_finish_switch_fiber(*fake_stack_of(self), NULL, NULL);
#else
    (void)self;
#endif
}

static void on_handle_closed(uv_handle_t *h)
{
    fiber_t *f = h->data;     /* every handle of a fiber points to it */
    if (--f->closing == 0)
        free(f);
}

/* Called once fn returned and the fiber switched away for good. */
static void fiber_destroy(fiber_t *f)
{
    assert(f->state == FIBER_STATE_DONE);
    if (f->prev)
        f->prev->next = f->next;
    else
        th.live = f->next;
    if (f->next)
        f->next->prev = f->prev;
    fiber_stack_put(&f->stack);
    if (f->has_timer) {
        f->closing++;
        uv_close((uv_handle_t *)&f->timer, on_handle_closed);
    }
    if (f->has_turn) {
        f->closing += 2;
        uv_close((uv_handle_t *)&f->idle, on_handle_closed);
        uv_close((uv_handle_t *)&f->check, on_handle_closed);
    }
    if (!f->closing)
        free(f);
}

/* From the running context (a fiber or the thread's stack) into `f`, until
 * f switches back: it waits, or fn returned (then f is freed here). */
static void switch_into(fiber_t *f)
{
    fiber_t *self = th.current;
    f->resumer = self;
    f->state = FIBER_STATE_RUNNING;
    th.current = f;
    asan_leave(fake_stack_of(self), f);
    fiber_ctx_switch(self ? &self->ctx : &th.main_ctx, &f->ctx);
    asan_arrive_back(self);
    assert(th.current == self);
    if (f->state == FIBER_STATE_DONE)
        fiber_destroy(f);
}

/* On f's stack: back to whoever switched into f. Returns when f is resumed,
 * unless f is done. */
static void switch_out(fiber_t *f)
{
    fiber_t *to = f->resumer;
    th.current = to;
    asan_leave(f->state == FIBER_STATE_DONE ? NULL : fake_stack_of(f), to);
    fiber_ctx_switch(&f->ctx, to ? &to->ctx : &th.main_ctx);
    asan_arrive_on(f);
}

/* The first code on a new fiber's stack. */
static void fiber_entry(void)
{
    fiber_t *f = th.current;
    asan_arrive_on(f);      /* with a NULL fake stack: calloc'd */
    f->fn(f->ud);
    f->state = FIBER_STATE_DONE;
    switch_out(f);
    abort();    /* a finished fiber is never resumed */
}

int fiber_start(uv_loop_t *loop, void (*fn)(void *ud), void *ud)
{
    if (!loop || !fn)
        return UV_EINVAL;
    fiber_t *f = calloc(1, sizeof *f);
    if (!f)
        return UV_ENOMEM;
    int rc = fiber_stack_get(&f->stack);
    if (rc < 0) {
        free(f);
        return rc;
    }
    fiber_ctx_make(&f->ctx, &f->stack, fiber_entry);
    f->loop = loop;
    f->fn = fn;
    f->ud = ud;
    f->state = FIBER_STATE_SUSPENDED;
    f->next = th.live;
    if (th.live)
        th.live->prev = f;
    th.live = f;
    th.started++;
    switch_into(f);
    return 0;
}

int fiber_in(void)
{
    return th.current != NULL;
}

fiber_t *fiber_self(void)
{
    return th.current;
}

uv_loop_t *fiber_loop(void)
{
    return th.current ? th.current->loop : NULL;
}

int fiber_suspend(void)
{
    fiber_t *f = th.current;
    assert(f && "fiber_suspend outside a fiber");
    if (f->canceled)
        return FIBER_ECANCELED;
    f->state = FIBER_STATE_SUSPENDED;
    switch_out(f);
    return f->result;
}

void fiber_resume(fiber_t *f, int result)
{
    assert(f && f->state == FIBER_STATE_SUSPENDED);
    f->result = result;
    switch_into(f);
}

void fiber_cancel(fiber_t *f)
{
    f->canceled = true;
    if (f->state == FIBER_STATE_SUSPENDED)
        fiber_resume(f, FIBER_ECANCELED);
}

size_t fiber_cancel_all(uv_loop_t *loop)
{
    size_t n = 0;
    /* Resuming one may end, start or cancel others: rescan from the head
     * after each. A cancelled fiber never suspends again, so this ends. */
    for (;;) {
        fiber_t *f = th.live;
        while (f && (f->loop != loop || f == th.current || f->canceled))
            f = f->next;
        if (!f)
            return n;
        n++;
        fiber_cancel(f);
    }
}

size_t fiber_count(const uv_loop_t *loop)
{
    size_t n = 0;
    for (const fiber_t *f = th.live; f; f = f->next)
        if (!loop || f->loop == loop)
            n++;
    return n;
}

void fiber_stats(fiber_stats_t *out)
{
    out->live = fiber_count(NULL);
    fiber_stack_counts(&out->stacks_mapped, &out->stacks_cached);
    out->started = th.started;
}

/* ---- waits ---- */

static fiber_t *waiting_fiber(void)
{
    fiber_t *f = th.current;
    assert(f && "a fiber wait outside a fiber");
    return f;
}

static void on_timer(uv_timer_t *t)
{
    fiber_resume(t->data, FIBER_ETIMEDOUT);
}

/* Starts f's one-shot timer; the loop's clock is brought up to now first,
 * since a fiber may have run long since the loop's turn began. */
static void timer_arm(fiber_t *f, uint64_t ms)
{
    if (!f->has_timer) {
        uv_timer_init(f->loop, &f->timer);
        f->timer.data = f;
        f->has_timer = true;
    }
    uv_update_time(f->loop);
    uv_timer_start(&f->timer, on_timer, ms, 0);
}

int fiber_sleep(int64_t ms)
{
    fiber_t *f = waiting_fiber();
    if (ms < 0)
        return UV_EINVAL;
    if (ms == 0)
        return fiber_yield();   /* a zero timer could starve the I/O, see there */
    if (f->canceled)
        return FIBER_ECANCELED;
    timer_arm(f, (uint64_t)ms);
    int rc = fiber_suspend();
    uv_timer_stop(&f->timer);
    return rc == FIBER_ETIMEDOUT ? 0 : rc;
}

static void on_idle(uv_idle_t *h)
{
    (void)h;
}

static void on_check(uv_check_t *h)
{
    fiber_resume(h->data, 0);
}

int fiber_yield(void)
{
    fiber_t *f = waiting_fiber();
    if (f->canceled)
        return FIBER_ECANCELED;
    /* Resumed by a check handle, after the loop polled its I/O; the active
     * idle handle (doing nothing) makes that poll not block. Not a zero
     * timer: libuv 1.44 runs a timer started from a timer callback in the
     * same turn, so fibers yielding there would starve the I/O. */
    if (!f->has_turn) {
        uv_idle_init(f->loop, &f->idle);
        uv_check_init(f->loop, &f->check);
        f->idle.data = f;
        f->check.data = f;
        f->has_turn = true;
    }
    uv_idle_start(&f->idle, on_idle);
    uv_check_start(&f->check, on_check);
    int rc = fiber_suspend();
    uv_idle_stop(&f->idle);
    uv_check_stop(&f->check);
    return rc;
}

/* One per fd wait, closed when the wait ends (see fiber_wait_fd). */
typedef struct {
    uv_poll_t poll;
    fiber_t *f;
} fd_wait_t;

static void on_poll(uv_poll_t *h, int status, int events)
{
    fd_wait_t *w = h->data;
    fiber_resume(w->f, status < 0 ? status : events);
}

static void on_poll_closed(uv_handle_t *h)
{
    free(h->data);
}

/* fiber_wait_fd with a zero timeout: readiness now, from poll(2). */
static int poll_now(int fd, int events)
{
    struct pollfd p = {.fd = fd};
    if (events & FIBER_READABLE)
        p.events |= POLLIN;
    if (events & FIBER_WRITABLE)
        p.events |= POLLOUT;
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return FIBER_ETIMEDOUT;
    /* As libuv reports them: an error is UV_EBADF, a hang-up every event
     * asked for (reading or writing then tells what happened). */
    if (p.revents & (POLLNVAL | POLLERR))
        return UV_EBADF;
    if (p.revents & POLLHUP)
        return events;
    return ((p.revents & POLLIN) ? FIBER_READABLE : 0) |
           ((p.revents & POLLOUT) ? FIBER_WRITABLE : 0);
}

/* Why a uv_poll_t per wait rather than one kept per fd: stopping or closing
 * a poll handle removes its fd from epoll whatever other handle now watches
 * that fd, so a kept handle could, when finally closed, silence a newer wait
 * on the same fd (or on a new socket that reuses the number). Closed while
 * the fd is certainly still the one it was made for, it cannot. The cost is
 * one ioctl (uv_poll_init's FIONBIO) and a small malloc per wait. */
int fiber_wait_fd(int fd, int events, int64_t timeout_ms)
{
    fiber_t *f = waiting_fiber();
    if (fd < 0 || !events || (events & ~(FIBER_READABLE | FIBER_WRITABLE)))
        return UV_EINVAL;
    if (f->canceled)
        return FIBER_ECANCELED;
    if (timeout_ms == 0)
        return poll_now(fd, events);
    fd_wait_t *w = malloc(sizeof *w);
    if (!w)
        return UV_ENOMEM;
    int rc = uv_poll_init(f->loop, &w->poll, fd);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->f = f;
    w->poll.data = w;
    uv_poll_start(&w->poll, events, on_poll);
    if (timeout_ms > 0)
        timer_arm(f, (uint64_t)timeout_ms);
    do
        rc = fiber_suspend();
    while (rc >= 0 && !(rc & events));     /* libuv reports asked-for events only */
    if (timeout_ms > 0)
        uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&w->poll, on_poll_closed);
    return rc < 0 ? rc : (rc & events);
}
