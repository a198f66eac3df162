/* Waiting for executions another node runs (several nodes on one
 * database): one sweep every REMOTE_POLL_MS reads, for all of this node's
 * such waiters at once, which of their executions have ended. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SWEEP_IDS 256   /* execution ids per statement */

/* PostgreSQL only (the only backend with several nodes). */
static const char SQL_ENDED[] = "SELECT id FROM executions "
                                "WHERE id = ANY(string_to_array(?, ' ')) AND status <> 'RUNNING'";

static int arm(runtime_t *rt)
{
    if (rt->remote_tmr)
        return 0;
    rt->remote_tmr = timers_add(rt, store_now_ms() + REMOTE_POLL_MS, TMR_REMOTE_WAIT, rt);
    return rt->remote_tmr ? 0 : -1;
}

int remote_wait(runtime_t *rt, const char *execution_id, int64_t timeout_ms,
                void (*cb)(void *ud), void *ud)
{
    waiter_t *w = calloc(1, sizeof *w);
    if (!w || !(w->remote_id = strdup(execution_id))) {
        free(w);
        return RUNTIME_ERR_STORAGE;
    }
    if (arm(rt) < 0) {
        free(w->remote_id);
        free(w);
        return RUNTIME_ERR_STORAGE;
    }
    w->cb = cb;
    w->ud = ud;
    w->until_ms = timeout_ms > 0 ? store_now_ms() + timeout_ms : INT64_MAX;
    w->next = rt->remote_waiters;
    rt->remote_waiters = w;
    return RUNTIME_OK;
}

/* Marks the waiters from `from` (up to SWEEP_IDS of them, until `end`)
 * whose execution ended. */
static void mark_ended(runtime_t *rt, waiter_t *from, waiter_t *end)
{
    char ids[SWEEP_IDS * (RUNTIME_ID_SIZE + 1)];
    size_t len = 0;
    for (waiter_t *w = from; w != end; w = w->next) {
        size_t n = strlen(w->remote_id);
        if (len + n + 2 > sizeof ids)
            break;
        if (len)
            ids[len++] = ' ';
        memcpy(ids + len, w->remote_id, n);
        len += n;
    }
    ids[len] = '\0';
    store_stmt_t *s = store_prepare(rt->st, SQL_ENDED);
    if (!s)
        return;   /* the timeouts still count; the next sweep asks again */
    store_bind_text(s, 1, ids);
    while (store_step(s) == STORE_ROW) {
        const char *id = store_col_text(s, 0);
        for (waiter_t *w = from; w != end; w = w->next)
            if (strcmp(w->remote_id, id) == 0)
                w->ended = 1;
    }
    store_reset(s);
}

/* Answers the waiters taken off the list. */
static void wake(waiter_t *list)
{
    while (list) {
        waiter_t *w = list;
        list = w->next;
        w->cb(w->ud);
        free(w->remote_id);
        free(w);
    }
}

void remote_sweep(runtime_t *rt)
{
    rt->remote_tmr = NULL;
    waiter_t *from = rt->remote_waiters;
    while (from) {
        waiter_t *end = from;
        for (int n = 0; end && n < SWEEP_IDS; n++)
            end = end->next;
        mark_ended(rt, from, end);
        from = end;
    }
    /* Off the list first: a callback may wait again. */
    int64_t now = store_now_ms();
    waiter_t *done = NULL;
    for (waiter_t **pp = &rt->remote_waiters; *pp;) {
        waiter_t *w = *pp;
        if (w->ended || now >= w->until_ms) {
            *pp = w->next;
            w->next = done;
            done = w;
        } else {
            pp = &w->next;
        }
    }
    if (rt->remote_waiters && arm(rt) < 0) {
        /* Out of memory: they are answered now rather than never. */
        waiter_t **tail = &done;
        while (*tail)
            tail = &(*tail)->next;
        *tail = rt->remote_waiters;
        rt->remote_waiters = NULL;
    }
    wake(done);
}

void remote_close(runtime_t *rt)
{
    timers_cancel(&rt->remote_tmr);
    waiter_t *all = rt->remote_waiters;
    rt->remote_waiters = NULL;
    wake(all);
}
