/* A pass-through SQLite VFS with injectable write, sync and disk-full
 * failures (store/fault.h). Each file wraps the real VFS's file object,
 * allocated right behind ours as SQLite's own shims do. */
#include "store/fault.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fault_file_s {
    sqlite3_file base;
    sqlite3_file *real;           /* points just past this struct */
} fault_file_t;

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *real_vfs;
static char *fault_path;

static _Atomic int armed_kind;
static _Atomic int64_t armed_skip;
static _Atomic int64_t armed_count;
static _Atomic uint64_t hits;

void store_fault_arm(store_fault_kind_t kind, int64_t skip, int64_t count)
{
    atomic_store(&armed_kind, STORE_FAULT_NONE);
    atomic_store(&armed_skip, skip);
    atomic_store(&armed_count, count);
    atomic_store(&armed_kind, (int)kind);
}

void store_fault_disarm(void)
{
    atomic_store(&armed_kind, STORE_FAULT_NONE);
}

uint64_t store_fault_hits(void)
{
    return atomic_load(&hits);
}

/* With SAGAD_FAULT_FILE the file's first word is the arming, re-read before
 * every operation (tests only: it costs an open per write). */
static void read_fault_file(void)
{
    if (!fault_path)
        return;
    char word[16] = {0};
    FILE *f = fopen(fault_path, "r");
    if (f) {
        if (fscanf(f, "%15s", word) != 1)
            word[0] = 0;
        fclose(f);
    }
    store_fault_kind_t k = !strcmp(word, "write") ? STORE_FAULT_WRITE
                           : !strcmp(word, "sync") ? STORE_FAULT_SYNC
                           : !strcmp(word, "full") ? STORE_FAULT_FULL
                                                   : STORE_FAULT_NONE;
    if ((int)k != atomic_load(&armed_kind))
        store_fault_arm(k, 0, -1);
}

/* 1 if this operation must fail. `kinds` are the fault kinds that hit it. */
static int should_fail(int kind_a, int kind_b)
{
    read_fault_file();
    int k = atomic_load(&armed_kind);
    if (k == STORE_FAULT_NONE || (k != kind_a && k != kind_b))
        return 0;
    if (atomic_fetch_sub(&armed_skip, 1) > 0)
        return 0;
    atomic_store(&armed_skip, 0);
    int64_t c = atomic_load(&armed_count);
    if (c == 0)
        return 0;
    if (c > 0)
        atomic_fetch_sub(&armed_count, 1);
    atomic_fetch_add(&hits, 1);
    return 1;
}

#define REAL(f) (((fault_file_t *)(f))->real)

static int f_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    f->pMethods = NULL;
    return rc;
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (should_fail(STORE_FAULT_WRITE, STORE_FAULT_FULL))
        return atomic_load(&armed_kind) == STORE_FAULT_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (should_fail(STORE_FAULT_WRITE, STORE_FAULT_WRITE))
        return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (should_fail(STORE_FAULT_SYNC, STORE_FAULT_SYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device_chars(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
    3, f_close, f_read, f_write, f_truncate, f_sync, f_file_size, f_lock, f_unlock,
    f_check_reserved, f_file_control, f_sector_size, f_device_chars, f_shm_map,
    f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    fault_file_t *ff = (fault_file_t *)f;
    ff->real = (sqlite3_file *)&ff[1];
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    /* The shm and mmap methods exist only if the real file has them. */
    f->pMethods = ff->real->pMethods ? &fault_io : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *v_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return real_vfs->xDlOpen(real_vfs, name);
}

static void v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    real_vfs->xDlError(real_vfs, n, out);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return real_vfs->xDlSym(real_vfs, h, sym);
}

static void v_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    real_vfs->xDlClose(real_vfs, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xRandomness(real_vfs, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return real_vfs->xSleep(real_vfs, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return real_vfs->xCurrentTime(real_vfs, out);
}

static int v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return real_vfs->xGetLastError(real_vfs, n, out);
}

static int v_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int store_fault_install(void)
{
    if (real_vfs)
        return 0;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return -rc;
    sqlite3_vfs *r = sqlite3_vfs_find(NULL);
    if (!r)
        return -SQLITE_ERROR;
    fault_vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(fault_file_t) + r->szOsFile,
        .mxPathname = r->mxPathname,
        .zName = "sagad-fault",
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_current_time64,
    };
    real_vfs = r;
    rc = sqlite3_vfs_register(&fault_vfs, 1);
    if (rc != SQLITE_OK) {
        real_vfs = NULL;
        return -rc;
    }
    return 0;
}

int store_fault_install_file(const char *path)
{
    if (!fault_path && !(fault_path = strdup(path)))
        return -SQLITE_NOMEM;
    return store_fault_install();
}
