/* Loading sagas_dir (at start and on SIGHUP) by one rule: a file becomes a
 * version only when it changed, and never over a newer API version; and
 * checking a directory offline, for `systemctl reload` to refuse bad files. */
#include "machines_internal.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The newest undeleted version that came from one file. */
static const char SQL_LAST_FROM[] =
    "SELECT version, definition FROM state_machines WHERE name = ? AND source = ? "
    "AND deleted_ms IS NULL ORDER BY version DESC LIMIT 1";

static const char SUFFIX[] = ".asl.json";

/* A whole file, NUL-terminated (its length in *len). Caller frees; NULL
 * with errno set. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (cap - n < 4097) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A state machine file of `dir`: its name and path. */
typedef struct saga_file_s {
    char name[256];
    char path[4352];
} saga_file_t;

/* The next DIR/NAME.asl.json entry of d into *f; 0 at the end. */
static int next_file(DIR *d, const char *dir, saga_file_t *f)
{
    struct dirent *e;
    size_t sl = sizeof SUFFIX - 1;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n <= sl || strcmp(e->d_name + n - sl, SUFFIX) != 0)
            continue;
        snprintf(f->name, sizeof f->name, "%.*s", (int)(n - sl), e->d_name);
        snprintf(f->path, sizeof f->path, "%s/%s", dir, e->d_name);
        return 1;
    }
    return 0;
}

#define BAD_NAME "'%s' is not a valid state machine name ([A-Za-z0-9_.-], 1-80)"

static int same_text(const char *a, const char *b, size_t blen)
{
    return a && strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* The file's last version (0: none) into *version; 1 if its text is `text`.
 * -1 on a database error. */
static int last_from_file(machines_t *reg, const char *name, const char *source,
                          const char *text, size_t len, int *version)
{
    store_stmt_t *s = store_prepare(reg->st, SQL_LAST_FROM);
    if (!s)
        return -1;
    store_bind_text(s, 1, name);
    store_bind_text(s, 2, source);
    int rc = store_step(s), same = 0;
    *version = 0;
    if (rc == STORE_ROW) {
        *version = store_col_int(s, 0);
        const char *def = store_col_text(s, 1);
        same = def && (size_t)store_col_bytes(s, 1) == len && memcmp(def, text, len) == 0;
    }
    store_reset(s);
    return rc < 0 ? -1 : same;
}

static void note_conflict(machines_load_t *out, const char *name, int api_version, int file_version)
{
    if (out->conflicts < MACHINES_CONFLICTS_MAX) {
        snprintf(out->conflict[out->conflicts].name, sizeof out->conflict[0].name, "%.80s", name);
        out->conflict[out->conflicts].api_version = api_version;
        out->conflict[out->conflicts].file_version = file_version;
    }
    out->conflicts++;
}

static void log_problems(const char *path, const asl_problems_t *p)
{
    for (size_t i = 0; i < p->count; i++)
        log_error("%s: state %s, field %s: %s", path,
                  p->items[i].state ? p->items[i].state : "(top level)",
                  p->items[i].field ? p->items[i].field : "-", p->items[i].message);
}

/* Loads one file by the rule of machines_load_dir, counting into *out. */
static void load_file(machines_t *reg, const saga_file_t *f, const char *text, size_t len,
                      machines_load_t *out)
{
    char source[sizeof f->path + 8];
    snprintf(source, sizeof source, "file:%s", f->path);
    const machine_ver_t *cur = machines_get(reg, f->name);
    if (cur && same_text(cur->definition, text, len)) {
        out->unchanged++;
        return;
    }
    int file_version;
    int same = last_from_file(reg, f->name, source, text, len, &file_version);
    if (same < 0) {
        log_error("%s: cannot read its versions from the database", f->path);
        out->failed++;
        return;
    }
    if (same) {
        /* Unchanged since it was loaded; a newer version (the API's) stays. */
        out->unchanged++;
        return;
    }
    if (cur && cur->source && strcmp(cur->source, MACHINES_SOURCE_API) == 0) {
        char last[48] = "none yet";
        if (file_version)
            snprintf(last, sizeof last, "version %d", file_version);
        log_warn("%s changed, but state machine %s version %d (from the API) is newer than the "
                 "file's last version (%s); the file is not loaded and version %d stays the "
                 "default: deploy the file (sagactl deploy) or move an alias to choose",
                 f->path, f->name, cur->version, last, cur->version);
        note_conflict(out, f->name, cur->version, file_version);
        return;
    }
    asl_problems_t p;
    asl_problems_init(&p);
    const machine_ver_t *v;
    int rc = machines_put_source(reg, f->name, text, len, source, &p, &v);
    if (rc == MACHINES_ERR_INVALID) {
        log_problems(f->path, &p);
        out->failed++;
    } else if (rc < 0) {
        log_error("%s: cannot store the definition", f->path);
        out->failed++;
    } else if (rc == MACHINES_UNCHANGED) {
        out->unchanged++;
    } else {
        log_info("state machine %s version %d loaded from %s", f->name, v->version, f->path);
        out->loaded++;
    }
    asl_problems_free(&p);
}

/* 1 if a directory after dirs[i] has the file NAME.asl.json too: that one
 * wins (logged). */
static int replaced_later(const char *const *dirs, int n, int i, const saga_file_t *f)
{
    char path[4352];
    for (int j = n - 1; j > i; j--) {
        snprintf(path, sizeof path, "%s/%s%s", dirs[j], f->name, SUFFIX);
        if (access(path, F_OK) == 0) {
            log_info("%s: replaced by %s", f->path, path);
            return 1;
        }
    }
    return 0;
}

/* Loads dirs[i], skipping the files a later directory replaces. */
static void load_dir(machines_t *reg, const char *const *dirs, int ndirs, int i,
                     machines_load_t *out)
{
    const char *dir = dirs[i];
    DIR *d = opendir(dir);
    if (!d) {
        log_warn("sagas_dir %s: %s; no state machines loaded from files", dir, strerror(errno));
        return;
    }
    saga_file_t f;
    while (next_file(d, dir, &f)) {
        if (replaced_later(dirs, ndirs, i, &f))
            continue;
        if (!machines_valid_name(f.name)) {
            log_error("%s: " BAD_NAME, f.path, f.name);
            out->failed++;
            continue;
        }
        size_t len;
        char *text = read_file(f.path, &len);
        if (!text) {
            log_error("%s: cannot read: %s", f.path, strerror(errno));
            out->failed++;
            continue;
        }
        load_file(reg, &f, text, len, out);
        free(text);
    }
    closedir(d);
}

int machines_load_dirs(machines_t *reg, const char *const *dirs, int n, machines_load_t *out)
{
    machines_load_t local;
    out = out ? out : &local;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++)
        load_dir(reg, dirs, n, i, out);
    return out->failed;
}

int machines_load_dir(machines_t *reg, const char *dir, machines_load_t *out)
{
    return machines_load_dirs(reg, &dir, 1, out);
}

/* The problems of one file as machines_load_dir would find them. */
static void check_file(const saga_file_t *f, const char *handler_allow, asl_problems_t *p)
{
    if (!machines_valid_name(f->name)) {
        asl_problems_add(p, NULL, NULL, BAD_NAME, f->name);
        return;
    }
    size_t len;
    char *text = read_file(f->path, &len);
    if (!text) {
        asl_problems_add(p, NULL, NULL, "cannot read: %s", strerror(errno));
        return;
    }
    asl_machine_t *m = NULL;
    if (asl_machine_compile_text(text, len, &m, p) == 0)
        machines_check_new(m, f->name, handler_allow, p);
    asl_machine_free(m);
    free(text);
}

int machines_check_dir(const char *dir, const char *handler_allow,
                       void (*fn)(const char *path, const asl_problems_t *problems, void *ud),
                       void *ud)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int bad = 0;
    saga_file_t f;
    while (next_file(d, dir, &f)) {
        asl_problems_t p;
        asl_problems_init(&p);
        check_file(&f, handler_allow, &p);
        bad += p.count > 0;
        fn(f.path, &p, ud);
        asl_problems_free(&p);
    }
    closedir(d);
    return bad;
}
