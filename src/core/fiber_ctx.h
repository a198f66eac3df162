/* The machine-dependent half of core/fiber: saving and switching register
 * contexts, and the fibers' guarded stacks with their cache. Private to
 * src/core/fiber*.c. */
#ifndef SAGAD_CORE_FIBER_CTX_H
#define SAGAD_CORE_FIBER_CTX_H

#include <stddef.h>

/* AddressSanitizer must be told about every stack switch (and only then can
 * be): gcc says so with __SANITIZE_ADDRESS__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FIBER_ASAN 1
#endif
#endif

/* x86-64 switches with a few instructions of our own; elsewhere (or built
 * with -DFIBER_UCONTEXT, to test the fallback) with glibc's swapcontext,
 * which costs a sigprocmask system call per switch. */
#if defined(__x86_64__) && !defined(FIBER_UCONTEXT)
#define FIBER_CTX_ASM 1
typedef struct fiber_ctx_s {
    void *sp;            /* where the context's registers were pushed */
} fiber_ctx_t;
#else
#include <ucontext.h>
typedef struct fiber_ctx_s {
    ucontext_t uc;
} fiber_ctx_t;
#endif

/* A stack: `lo` is its lowest usable byte, `size` its usable length; the
 * guard page lies just below `lo`. */
typedef struct fiber_stack_s {
    char *lo;
    size_t size;
} fiber_stack_t;

/* Saves the running context in `from` and continues the one saved in `to`.
 * Returns when something switches back to `from`. */
void fiber_ctx_switch(fiber_ctx_t *from, fiber_ctx_t *to);

/* Prepares `ctx` so the first switch to it calls entry() on `stack`, with the
 * caller's floating-point control settings. entry must never return. */
void fiber_ctx_make(fiber_ctx_t *ctx, const fiber_stack_t *stack, void (*entry)(void));

/* A stack of FIBER_STACK_SIZE from this thread's cache, else freshly
 * mmap'd. Returns 0 or UV_ENOMEM. */
int fiber_stack_get(fiber_stack_t *out);

/* Gives a stack back: cached for reuse, or unmapped when the cache is full. */
void fiber_stack_put(const fiber_stack_t *s);

/* This thread's stacks: mapped in all, and of those, cached. */
void fiber_stack_counts(size_t *mapped, size_t *cached);

#endif
