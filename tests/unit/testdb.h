/* Temporary SQLite files for the unit tests: a fresh path, and removing the
 * database with its -wal and -shm files. Header-only: each test binary is one
 * .c file linked with libsagad.a. */
#ifndef SAGAD_TESTS_TESTDB_H
#define SAGAD_TESTS_TESTDB_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
#endif
