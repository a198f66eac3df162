/* hiredis' libuv adapter with hooks that report poll errors: the relay's
 * Redis socket on the daemon's loop. */
#include "redis_uv.h"

#include <hiredis.h>
#include <adapters/libuv.h>

/* hiredis 0.14's libuv adapter returns early when libuv reports a poll error
 * (libuv turns POLLERR, e.g. a refused connect or a reset socket, into
 * UV_EBADF and stops the handle), so hiredis would never notice. These hooks
 * replace the adapter's read/write hooks and hand errors to hiredis' own
 * handlers, which then read the socket error and disconnect; hiredis 1.0's
 * adapter does the same. The adapter's state and cleanup are kept. */
static void poll_cb(uv_poll_t *h, int status, int events)
{
    redisLibuvEvents *p = h->data;
    if (status != 0)
        events = p->events;
    if (p->context && (events & UV_READABLE))
        redisAsyncHandleRead(p->context);
    if (p->context && (events & UV_WRITABLE))
        redisAsyncHandleWrite(p->context);
}

static void watch(redisLibuvEvents *p, int add, int remove)
{
    p->events = (p->events | add) & ~remove;
    if (p->events)
        uv_poll_start(&p->handle, p->events, poll_cb);
    else
        uv_poll_stop(&p->handle);
}

static void add_read(void *d)
{
    watch(d, UV_READABLE, 0);
}

static void del_read(void *d)
{
    watch(d, 0, UV_READABLE);
}

static void add_write(void *d)
{
    watch(d, UV_WRITABLE, 0);
}

static void del_write(void *d)
{
    watch(d, 0, UV_WRITABLE);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (redisLibuvAttach(ac, loop) != REDIS_OK)
        return -1;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    return 0;
}
