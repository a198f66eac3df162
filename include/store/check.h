/* The database's integrity check: PRAGMA quick_check on a libuv worker thread
 * with its own read-only connection, started once the daemon serves, so a big
 * database never delays the start nor blocks the loop. The result goes to
 * store_health (integrity, for /healthz) and to the log. */
#ifndef SAGAD_STORE_CHECK_H
#define SAGAD_STORE_CHECK_H

#include "store/db.h"

#include <uv.h>

typedef struct store_check_s store_check_t;

/* Starts checking `st`'s file (borrowed: it must stay open until
 * store_check_stop). Sets the store's integrity to CHECKING now and to the
 * result when done. Returns 0 with *out set (NULL for a PostgreSQL store:
 * nothing to check, integrity stays UNKNOWN), or a negative code (logged). */
int store_check_start(uv_loop_t *loop, store_t *st, store_check_t **out);

/* Interrupts a running check and lets it go: after this the check never
 * touches the store again and frees itself. NULL is a no-op. */
void store_check_stop(store_check_t *c);

#endif
