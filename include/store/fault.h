/* Fault injection for tests: a thin SQLite VFS over the default one that makes
 * writes, syncs or both fail on demand, as a full disk or a dying device
 * would. Every connection opened after store_fault_install uses it (it
 * becomes the default VFS); with nothing armed it only forwards.
 *
 * The daemon installs it only when SAGAD_FAULT_FILE names a file: before
 * each write and sync the VFS then reads that file, whose first word arms a
 * fault ("write", "sync", "full") or, missing or empty, disarms it. That lets
 * an integration test break a running daemon's disk and mend it again. */
#ifndef SAGAD_STORE_FAULT_H
#define SAGAD_STORE_FAULT_H

#include <stdint.h>

typedef enum {
    STORE_FAULT_NONE = 0,
    STORE_FAULT_WRITE,      /* xWrite and xTruncate fail: SQLITE_IOERR_WRITE */
    STORE_FAULT_SYNC,       /* xSync fails: SQLITE_IOERR_FSYNC */
    STORE_FAULT_FULL        /* xWrite fails: SQLITE_FULL (disk full) */
} store_fault_kind_t;

/* Registers the VFS as the default. Idempotent. Returns 0 or a negative
 * SQLite result code. */
int store_fault_install(void);

/* As store_fault_install, then reads the arming from the file `path` (borrowed,
 * copied) before every write and sync. */
int store_fault_install_file(const char *path);

/* Arms a fault: the next `skip` operations of that kind succeed, then the
 * following `count` fail (count < 0: every one until disarmed). Thread-safe
 * (the WAL checkpoint thread writes through the VFS too). */
void store_fault_arm(store_fault_kind_t kind, int64_t skip, int64_t count);

void store_fault_disarm(void);

/* Operations failed since the process started. */
uint64_t store_fault_hits(void);

#endif
