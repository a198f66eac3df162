/* One at a time: the daemon's entry points (HTTP handlers, the runtime's
 * batches and timers, the relay, reloads) each run to their end before the
 * next starts, as they do on one thread with a synchronous database. When
 * the database answers asynchronously (PostgreSQL), each entry point runs on
 * a fiber and holds the serializer while its statements wait, so the loop
 * keeps serving I/O and queues the next entry points in arrival order,
 * without any of them seeing another's half-done work. */
#ifndef SAGAD_CORE_SERIAL_H
#define SAGAD_CORE_SERIAL_H

#include <stddef.h>
#include <uv.h>

typedef struct serial_s serial_t;

/* A serializer for `loop`. `enabled` 0: serial_run calls at once (SQLite:
 * nothing ever waits, and this costs nothing). NULL when out of memory. */
serial_t *serial_new(uv_loop_t *loop, int enabled);

/* Frees it; nothing may be running or queued (asserted). NULL is a no-op. */
void serial_free(serial_t *s);

/* Runs fn(ud) once, after every earlier entry point has ended: at once when
 * `s` is NULL or disabled, or when called from inside the running entry
 * point (a nested call runs inline, as it would on one thread); otherwise
 * on a fresh fiber that first waits for its turn (FIFO). fn may therefore
 * run after serial_run returns: `ud` must stay valid until fn has run.
 * Returns 0, or a negative libuv code (UV_ENOMEM) and then fn never runs. */
int serial_run(serial_t *s, void (*fn)(void *ud), void *ud);

/* 1 while called from inside a running entry point (or `s` is disabled). */
int serial_inside(const serial_t *s);

/* Entry points queued or running now (for /healthz and tests). */
size_t serial_pending(const serial_t *s);

#endif
