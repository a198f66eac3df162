/* Fibers: code that reads as synchronous (a store call that waits for
 * PostgreSQL) runs on its own stack and yields to the libuv loop while it
 * waits, so the loop never blocks. One thread, cooperative: a fiber runs until
 * it returns or waits, nothing preempts it. docs/architecture.md, "Fibers". */
#ifndef SAGAD_CORE_FIBER_H
#define SAGAD_CORE_FIBER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct fiber_s fiber_t;

/* Every fiber's stack: mmap'd with an inaccessible guard page below it, so an
 * overflow is a SIGSEGV at once, never a write into someone else's memory.
 * Today's deepest measured need (a start whose input nests 900 arrays) fits
 * in 128 KiB; cJSON alone takes 128 KiB to parse and print 1000 levels (its
 * limit). AddressSanitizer's redzones make frames two to three times larger,
 * so its builds get 1 MiB (pages are only backed once touched). */
#if defined(__SANITIZE_ADDRESS__)
#define FIBER_STACK_SIZE (1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_STACK_SIZE (1024 * 1024)
#endif
#endif
#ifndef FIBER_STACK_SIZE
#define FIBER_STACK_SIZE (256 * 1024)
#endif

/* What fiber_wait_fd waits for and returns (the same bits as libuv's). */
#define FIBER_READABLE UV_READABLE
#define FIBER_WRITABLE UV_WRITABLE

/* Results besides libuv's own negative codes (UV_ENOMEM, UV_EINVAL, ...). */
#define FIBER_ETIMEDOUT UV_ETIMEDOUT  /* the wait's time ran out */
#define FIBER_ECANCELED UV_ECANCELED  /* fiber_cancel / fiber_cancel_all */

/* Creates a fiber on `loop` and runs fn(ud) on it at once, until fn returns
 * or first waits; then fiber_start returns (the rest of fn runs from the
 * loop's callbacks as its waits end). The fiber's stack and handles are
 * freed when fn returns. Callable on the loop's thread, from a loop callback
 * or from another fiber. Returns 0, or a negative code (UV_EINVAL: NULL loop
 * or fn; UV_ENOMEM: no memory for the fiber or its stack) and then fn never
 * runs and nothing is left behind. `ud` is borrowed by fn. */
int fiber_start(uv_loop_t *loop, void (*fn)(void *ud), void *ud);

/* 1 when called on a fiber, 0 on the loop's own stack. */
int fiber_in(void);

/* The running fiber, or NULL off fibers. Borrowed: valid until its fn
 * returns. */
fiber_t *fiber_self(void);

/* The loop the running fiber belongs to (NULL off fibers). */
uv_loop_t *fiber_loop(void);

/* On a fiber only (asserted): yields to the loop until `fd` is ready for
 * `events` (FIBER_READABLE, FIBER_WRITABLE or both). `timeout_ms` < 0 waits
 * without limit; 0 only looks, without yielding; > 0 gives up after that
 * long. Returns the ready events (> 0, a subset of `events`), FIBER_ETIMEDOUT,
 * FIBER_ECANCELED, or another negative code: UV_EEXIST when some other
 * handle of the loop (a fiber's or not) is polling `fd` right now, UV_EBADF
 * when the fd is in error (POLLERR: e.g. a reset socket; read it to learn
 * why), UV_ENOMEM.
 * Each wait makes its own uv_poll_t and closes it before returning, so
 * successive waits on one fd (by one fiber or several, one after the other)
 * are safe, and closing the fd after a wait is safe. libuv forbids two
 * polls of one fd at once: never let two fibers wait on one fd at the same
 * time, stop your own uv_poll_t of an fd before a fiber waits on it, and
 * never close an fd some fiber is waiting on (cancel the fiber first).
 * Like uv_poll_init, this sets the fd non-blocking. */
int fiber_wait_fd(int fd, int events, int64_t timeout_ms);

/* On a fiber only: yields to the loop for `ms` milliseconds, counted from
 * now, not from the start of the loop's turn (0: as fiber_yield). Returns 0,
 * FIBER_ECANCELED, or UV_EINVAL for a negative `ms`. */
int fiber_sleep(int64_t ms);

/* On a fiber only: lets the loop poll its I/O once (without blocking) and
 * run the callbacks that are due, then resumes. Returns 0 or
 * FIBER_ECANCELED. */
int fiber_yield(void);

/* The two primitives the waits above are made of, for a module that keeps
 * its own handle (e.g. a connection's uv_poll_t that stays started while idle
 * to see NOTIFYs and hang-ups): the fiber records fiber_self() where the
 * handle's callback finds it, calls fiber_suspend, and the callback calls
 * fiber_resume(f, result).
 * fiber_suspend (on a fiber only) yields to the loop until fiber_resume;
 * returns fiber_resume's `result`, or FIBER_ECANCELED (at once, without
 * yielding, if the fiber was already cancelled). After FIBER_ECANCELED the
 * caller must forget where it recorded itself: nobody may resume it for
 * that wait any more. */
int fiber_suspend(void);

/* Switches to `f`, which must be suspended in fiber_suspend (asserted), and
 * returns when f waits again or returns (f may be freed by then). `result`
 * is fiber_suspend's return value. From a loop callback or from a fiber. */
void fiber_resume(fiber_t *f, int result);

/* Cancels `f`: its current wait (if any) ends now with FIBER_ECANCELED, and
 * every later wait returns FIBER_ECANCELED at once, without yielding, so a
 * fiber that propagates errors runs to its end. The fiber's own code decides
 * what to undo; a half-done PostgreSQL query, for instance, leaves its
 * connection unusable. */
void fiber_cancel(fiber_t *f);

/* For shutdown: cancels every fiber of `loop` but the caller (if on a fiber),
 * including the fibers that start while it runs, resuming the waiting ones
 * until none is left waiting. Returns how many fibers it cancelled. Then
 * uv_run the loop until its handles' close callbacks ran (fiber_count is
 * already 0 unless a fiber ignores FIBER_ECANCELED) before uv_loop_close. */
size_t fiber_cancel_all(uv_loop_t *loop);

/* Fibers of `loop` (NULL: of any loop of this thread) not yet returned. */
size_t fiber_count(const uv_loop_t *loop);

/* Counters of this thread, for tests and metrics. */
typedef struct fiber_stats_s {
    size_t live;            /* fibers not yet returned */
    size_t stacks_mapped;   /* stacks mmap'd: live fibers' plus cached */
    size_t stacks_cached;   /* freed stacks kept for the next fiber_start */
    uint64_t started;       /* fibers started since the thread began */
} fiber_stats_t;

void fiber_stats(fiber_stats_t *out);

#endif
