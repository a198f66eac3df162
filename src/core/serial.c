/* The serializer: a FIFO of fibers waiting for their turn and the one fiber
 * whose turn it is. The leaving holder hands the turn to the first waiter
 * before resuming it, so a newcomer can never overtake the queue. */
#include "core/serial.h"
#include "core/fiber.h"

#include <assert.h>
#include <stdlib.h>

typedef struct turn_s {
    serial_t *s;
    void (*fn)(void *ud);
    void *ud;
    fiber_t *fiber;
    struct turn_s *next;
} turn_t;

struct serial_s {
    uv_loop_t *loop;
    int enabled;
    fiber_t *holder;        /* the fiber whose turn it is, or NULL */
    turn_t *head, *tail;    /* waiting, oldest first */
    size_t pending;         /* queued + running */
};

serial_t *serial_new(uv_loop_t *loop, int enabled)
{
    serial_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->loop = loop;
    s->enabled = enabled;
    return s;
}

void serial_free(serial_t *s)
{
    if (!s)
        return;
    assert(!s->holder && !s->head && s->pending == 0);
    free(s);
}

int serial_inside(const serial_t *s)
{
    if (!s || !s->enabled)
        return 1;
    return s->holder && s->holder == fiber_self();
}

size_t serial_pending(const serial_t *s)
{
    return s ? s->pending : 0;
}

/* Ends the running turn and hands it to the oldest waiter. */
static void leave(serial_t *s)
{
    turn_t *next = s->head;
    if (!next) {
        s->holder = NULL;
        return;
    }
    s->head = next->next;
    if (!s->head)
        s->tail = NULL;
    s->holder = next->fiber;
    fiber_resume(next->fiber, 0);
}

static void turn_main(void *ud)
{
    turn_t *t = ud;
    serial_t *s = t->s;
    t->fiber = fiber_self();
    if (s->holder) {
        t->next = NULL;
        if (s->tail)
            s->tail->next = t;
        else
            s->head = t;
        s->tail = t;
        /* Nothing cancels these fibers: the daemon drains its entry points
         * at shutdown instead (each store call would fail once cancelled). */
        int rc = fiber_suspend();
        assert(rc == 0 && s->holder == t->fiber);
        (void)rc;
    } else {
        s->holder = t->fiber;
    }
    void (*fn)(void *) = t->fn;
    void *fud = t->ud;
    free(t);
    fn(fud);
    s->pending--;
    leave(s);
}

int serial_run(serial_t *s, void (*fn)(void *ud), void *ud)
{
    if (serial_inside(s)) {
        fn(ud);
        return 0;
    }
    turn_t *t = calloc(1, sizeof *t);
    if (!t)
        return UV_ENOMEM;
    t->s = s;
    t->fn = fn;
    t->ud = ud;
    s->pending++;
    int rc = fiber_start(s->loop, turn_main, t);
    if (rc < 0) {
        s->pending--;
        free(t);
    }
    return rc;
}
