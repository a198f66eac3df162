/* The relay's Redis connection on the daemon's loop (private to events/):
 * hiredis' libuv adapter with its poll hooks fixed. */
#ifndef SAGAD_EVENTS_REDIS_UV_H
#define SAGAD_EVENTS_REDIS_UV_H

#include <uv.h>
#include <async.h>

/* Attaches `ac` to `loop`. 0, or -1 (out of memory, a second attach). */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
