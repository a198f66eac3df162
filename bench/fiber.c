/* bench/fiber: what core/fiber costs. `make build/bench/fiber`, then
 *   fiber [N]
 * prints one line of key=value pairs, each the best of 5 runs of N (default
 * 1,000,000): switch_ns, one switch (half a resume + suspend pair, no libuv);
 * start_ns, fiber_start of a fiber that returns at once, stack from the
 * cache; yield_ns, a fiber_yield through a real loop turn (idle + check
 * handles, epoll with a zero timeout), the cost a "yield after every
 * statement" store mode adds per statement. */
#include "core/fiber.h"

#include <stdio.h>
#include <stdlib.h>

static fiber_t *parked;

static void suspender(void *ud)
{
    (void)ud;
    parked = fiber_self();
    while (fiber_suspend() == 0)
        ;
}

static void noop(void *ud)
{
    (void)ud;
}

static void yielder(void *ud)
{
    long n = *(long *)ud;
    for (long i = 0; i < n; i++)
        fiber_yield();
}

static double ns_per(uint64_t t0, long n)
{
    return (double)(uv_hrtime() - t0) / (double)n;
}

static double min_of(double a, double b)
{
    return a < b ? a : b;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0)
        return 2;
    uv_loop_t loop;
    uv_loop_init(&loop);
    double sw = 1e9, st = 1e9, yd = 1e9;
    long yields = n / 10 + 1;
    for (int run = 0; run < 5; run++) {
        if (fiber_start(&loop, suspender, NULL) != 0)
            return 1;
        uint64_t t0 = uv_hrtime();
        for (long i = 0; i < n; i++)
            fiber_resume(parked, 0);
        sw = min_of(sw, ns_per(t0, 2 * n));
        fiber_cancel(parked);

        t0 = uv_hrtime();
        for (long i = 0; i < n; i++)
            if (fiber_start(&loop, noop, NULL) != 0)
                return 1;
        st = min_of(st, ns_per(t0, n));

        if (fiber_start(&loop, yielder, &yields) != 0)
            return 1;
        t0 = uv_hrtime();
        uv_run(&loop, UV_RUN_DEFAULT);
        yd = min_of(yd, ns_per(t0, yields));
    }
    fiber_stats_t stats;
    fiber_stats(&stats);
    printf("switch_ns=%.1f start_ns=%.1f yield_ns=%.0f stacks_mapped=%zu\n", sw, st, yd,
           stats.stacks_mapped);
    return uv_loop_close(&loop) ? 1 : 0;
}
