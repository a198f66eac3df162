/* The runtime's wake-ups (Wait/Retry timers, task timeouts and heartbeats,
 * execution timeouts, waiters' timeouts): one min-heap on one uv timer. A
 * cancelled entry stays in the heap with no target until it comes due. */
#include "internal.h"

#include <assert.h>

static void heap_swap(runtime_t *rt, size_t a, size_t b)
{
    tmr_t *t = rt->heap[a];
    rt->heap[a] = rt->heap[b];
    rt->heap[b] = t;
}

static void heap_up(runtime_t *rt, size_t i)
{
    while (i > 0 && rt->heap[(i - 1) / 2]->due > rt->heap[i]->due) {
        heap_swap(rt, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_down(runtime_t *rt, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < rt->nheap && rt->heap[l]->due < rt->heap[m]->due)
            m = l;
        if (r < rt->nheap && rt->heap[r]->due < rt->heap[m]->due)
            m = r;
        if (m == i)
            return;
        heap_swap(rt, i, m);
        i = m;
    }
}

tmr_t *timers_add(runtime_t *rt, int64_t due, tmr_kind_t kind, void *target)
{
    if (grow_reserve(&rt->heap, &rt->capheap, rt->nheap + 1, sizeof *rt->heap) < 0)
        return NULL;
    tmr_t *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    t->due = due;
    t->kind = kind;
    t->target = target;
    rt->heap[rt->nheap++] = t;
    heap_up(rt, rt->nheap - 1);
    if (rt->heap[0] == t)
        timers_rearm(rt);
    return t;
}

void timers_cancel(tmr_t **t)
{
    if (*t)
        (*t)->target = NULL;
    *t = NULL;
}

/* A task's TimeoutSeconds or HeartbeatSeconds ran out (`t` has just fired
 * and is freed by the caller): the call is cancelled, the task fails. */
static void task_expired(runtime_t *rt, tmr_t *t, const char *error, const char *cause)
{
    frame_t *fr = t->target;
    assert(t == fr->timeout_tmr || t == fr->heartbeat_tmr);
    if (t == fr->heartbeat_tmr && fr->hb_due > store_now_ms()) {
        /* Heartbeats came meanwhile (frame_heartbeat): wait for their deadline. */
        fr->heartbeat_tmr = timers_add(rt, fr->hb_due, TMR_TASK_HEARTBEAT, fr);
        if (fr->heartbeat_tmr)
            return;
    }
    if (t == fr->timeout_tmr)
        fr->timeout_tmr = NULL;
    else
        fr->heartbeat_tmr = NULL;
    timers_cancel(&fr->timeout_tmr);
    timers_cancel(&fr->heartbeat_tmr);
    frame_free_call(fr, 1);
    tasks_unlink(fr);   /* its token is no longer reportable */
    frame_set_failure(fr, error, cause);
    frame_enqueue(rt, fr);
}

static void fire(runtime_t *rt, tmr_t *t)
{
    switch (t->kind) {
    case TMR_FRAME: {
        frame_t *fr = t->target;
        fr->tmr = NULL;
        frame_clear_outcome(fr);
        fr->out.kind = ASL_OUTCOME_TIMER;
        fr->has_outcome = 1;
        frame_enqueue(rt, fr);
        break;
    }
    case TMR_TASK_TIMEOUT:
        task_expired(rt, t, ASL_E_TIMEOUT,
                     "the task did not finish within TimeoutSeconds");
        break;
    case TMR_TASK_HEARTBEAT:
        task_expired(rt, t, ASL_E_HEARTBEAT_TIMEOUT,
                     "the task sent no heartbeat within HeartbeatSeconds");
        break;
    case TMR_EXEC_TIMEOUT: {
        exec_t *ex = t->target;
        ex->timeout_tmr = NULL;
        exec_set_control(ex, CTL_TIMEOUT, ASL_E_TIMEOUT,
                         "the execution did not finish within the state machine's "
                         "TimeoutSeconds");
        frame_enqueue(rt, ex->root);
        break;
    }
    case TMR_POLL:
    case TMR_DELIVER:
        tasks_fire(rt, t);
        break;
    case TMR_REMOTE_WAIT:
        remote_sweep(rt);
        break;
    case TMR_WAITER: {
        waiter_t *w = t->target;
        waiter_t **pp = &w->ex->waiters;
        while (*pp && *pp != w)
            pp = &(*pp)->next;
        if (*pp)
            *pp = w->next;
        w->tmr = NULL;
        w->cb(w->ud);
        free(w);
        break;
    }
    }
}

static void wheel_sweep(runtime_t *rt)
{
    int64_t now = store_now_ms();
    while (rt->nheap && rt->heap[0]->due <= now) {
        tmr_t *t = rt->heap[0];
        rt->heap[0] = rt->heap[--rt->nheap];
        heap_down(rt, 0);
        if (t->target)
            fire(rt, t);
        free(t);
    }
}

/* The sweep as the serializer's entry point (holding `dispatching` from
 * on_wheel until it has run). */
static void wheel_entry(void *ud)
{
    runtime_t *rt = ud;
    wheel_sweep(rt);
    rt->wheel_queued = 0;
    rt->dispatching--;
    timers_rearm(rt);
    pump_settle_close(rt);
}

static void on_wheel(uv_timer_t *h)
{
    runtime_t *rt = h->data;
    if (rt->wheel_queued)
        return;   /* the queued sweep fires whatever is due by its turn */
    rt->dispatching++;
    if (rt->serial) {
        rt->wheel_queued = 1;
        if (serial_run(rt->serial, wheel_entry, rt) == 0)
            return;
        rt->wheel_queued = 0;
        rt->dispatching--;
        uv_timer_start(&rt->wheel, on_wheel, 100, 0);   /* out of memory: soon again */
        return;
    }
    wheel_sweep(rt);
    rt->dispatching--;
    timers_rearm(rt);
    pump_settle_close(rt);
}

void timers_rearm(runtime_t *rt)
{
    while (rt->nheap && !rt->heap[0]->target) {
        free(rt->heap[0]);
        rt->heap[0] = rt->heap[--rt->nheap];
        heap_down(rt, 0);
    }
    if (!rt->nheap || rt->closing) {
        uv_timer_stop(&rt->wheel);
        return;
    }
    int64_t delay = rt->heap[0]->due - store_now_ms();
    uv_timer_start(&rt->wheel, on_wheel, delay > 0 ? (uint64_t)delay : 0, 0);
}
