/* Temporary SQLite files for the unit tests: a fresh path, removing the
 * database with its -wal and -shm files, and reading one number from it.
 * Header-only: each test binary is one .c file linked with libsagad.a. */
#ifndef SAGAD_TESTS_TESTDB_H
#define SAGAD_TESTS_TESTDB_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/db.h"
#include "store/sqlite.h"

/* Removes `path` and its companion files (missing ones are fine). */
static inline void testdb_remove(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Fills `path` (a "...XXXXXX" template) with a unique name under /tmp that
 * does not exist yet. Returns 0 or -1. */
static inline int testdb_path(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    return 0;
}
/* The first column of the first row of `sql` as an integer, or INT64_MIN when
 * the statement fails or yields no row (tests compare it with the expected). */
static inline int64_t testdb_int(store_t *st, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return v;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}
#endif
