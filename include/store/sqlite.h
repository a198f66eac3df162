/* The SQLite side of the store: only for the store's own SQLite modules
 * (fault.c, wal.c, check.c) and for tests that seed or inspect a database
 * on the raw connection. Everything else uses store/db.h alone. */
#ifndef SAGAD_STORE_SQLITE_H
#define SAGAD_STORE_SQLITE_H

#include <sqlite3.h>

typedef struct store_s store_t;   /* store/db.h */

/* The store's connection (borrowed: closed by store_close). */
sqlite3 *store_db(store_t *st);

#endif
