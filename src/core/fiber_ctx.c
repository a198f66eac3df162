/* Context switches and stacks for core/fiber: a hand-written x86-64 switch
 * (about 20 ns; glibc's swapcontext makes a system call per switch) with a
 * ucontext fallback, and guarded mmap'd stacks kept in a per-thread cache so
 * a fiber per request costs no mmap. */
#include "fiber_ctx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "core/fiber.h"

#ifdef FIBER_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifdef FIBER_CTX_ASM
/* SysV x86-64: rbx, rbp, r12-r15, the control bits of MXCSR and the x87
 * control word are callee-saved, so a switch (an ordinary call for the
 * compiler) pushes exactly those on the old stack, saves rsp in from->sp,
 * loads to->sp and pops the same from there. The caller-saved registers
 * were saved by the compiler around the call, as for any call. */
__asm__(".text\n"
        ".globl fiber_ctx_switch\n"
        ".hidden fiber_ctx_switch\n"
        ".type fiber_ctx_switch,@function\n"
        ".p2align 4\n"
        "fiber_ctx_switch:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq (%rsi), %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        ".size fiber_ctx_switch, .-fiber_ctx_switch\n");

/* The new stack looks as if fiber_ctx_switch had been called from entry's
 * caller: from the 16-byte aligned top, a NULL return address for entry (so
 * backtraces end there; entry never returns), entry's address for the
 * switch's ret, six zero registers (rbp = 0 also ends frame-pointer walks)
 * and the floating-point control words. entry then starts with rsp + 8
 * aligned to 16, as after a call. */
void fiber_ctx_make(fiber_ctx_t *ctx, const fiber_stack_t *stack, void (*entry)(void))
{
    uintptr_t top = ((uintptr_t)stack->lo + stack->size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)top;
    *--sp = 0;
    --sp;
    memcpy(sp, &entry, sizeof entry);
    for (int i = 0; i < 6; i++)
        *--sp = 0;
    uint32_t mxcsr;
    uint16_t x87cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87cw));
    *--sp = (uint64_t)mxcsr | (uint64_t)x87cw << 32;
    ctx->sp = sp;
}
#else
void fiber_ctx_switch(fiber_ctx_t *from, fiber_ctx_t *to)
{
    if (swapcontext(&from->uc, &to->uc) != 0)
        abort();
}

void fiber_ctx_make(fiber_ctx_t *ctx, const fiber_stack_t *stack, void (*entry)(void))
{
    if (getcontext(&ctx->uc) != 0)
        abort();
    ctx->uc.uc_stack.ss_sp = stack->lo;
    ctx->uc.uc_stack.ss_size = stack->size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, entry, 0);
}
#endif

/* Enough for the fibers a busy daemon has at once (a batch and the requests
 * waiting for a read session); beyond it freed stacks are unmapped. */
#define STACK_CACHE 64

static _Thread_local struct {
    char *cache[STACK_CACHE];   /* the `lo` of each cached stack */
    size_t cached, mapped;
} stacks;

static size_t guard_size(void)
{
    static size_t page;
    if (!page)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

int fiber_stack_get(fiber_stack_t *out)
{
    out->size = FIBER_STACK_SIZE;
    if (stacks.cached) {
        out->lo = stacks.cache[--stacks.cached];
        return 0;
    }
    size_t guard = guard_size();
    /* Reserved without access, then all but the lowest page opened: pages
     * are only backed once touched, and MAP_NORESERVE keeps untouched stack
     * out of the commit charge. */
    char *base = mmap(NULL, guard + FIBER_STACK_SIZE, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return UV_ENOMEM;
    if (mprotect(base + guard, FIBER_STACK_SIZE, PROT_READ | PROT_WRITE) != 0) {
        munmap(base, guard + FIBER_STACK_SIZE);
        return UV_ENOMEM;
    }
    out->lo = base + guard;
    stacks.mapped++;
    return 0;
}

void fiber_stack_put(const fiber_stack_t *s)
{
#ifdef FIBER_ASAN
    /* Frames that never returned (the fiber's entry, its last switch) left
     * their redzones poisoned; the next fiber must start from a clean stack. */
    __asan_unpoison_memory_region(s->lo, s->size);
#endif
    if (stacks.cached < STACK_CACHE) {
        stacks.cache[stacks.cached++] = s->lo;
        return;
    }
    size_t guard = guard_size();
    munmap(s->lo - guard, guard + s->size);
    stacks.mapped--;
}

void fiber_stack_counts(size_t *mapped, size_t *cached)
{
    *mapped = stacks.mapped;
    *cached = stacks.cached;
}
