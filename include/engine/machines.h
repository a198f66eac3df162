/* The registry of state machines: every version of every definition, stored
 * in the state_machines table and compiled once, each with its source; the
 * aliases that name a version; deleting a name. Definitions come from
 * sagas_dir at start and on SIGHUP, and from PUT /state-machines/{name}. */
#ifndef SAGAD_ENGINE_MACHINES_H
#define SAGAD_ENGINE_MACHINES_H

#include <stdint.h>

#include "asl/common.h"
#include "asl/machine.h"
#include "store/db.h"

typedef struct machines_s machines_t;

/* One version of a definition. Owned by the registry, valid until
 * machines_close (versions are never dropped while running). */
typedef struct machine_ver_s {
    char *name;
    int version;
    char *definition;        /* the JSON text as given */
    asl_machine_t *machine;  /* compiled */
    int64_t created_ms;
    char *source;            /* "api" or "file:PATH"; NULL when stored before
                              * sources were recorded */
    int64_t deleted_ms;      /* when its name was deleted; 0 while it has it */
} machine_ver_t;

/* Where a version comes from (machine_ver_t.source) when the API stores it. */
#define MACHINES_SOURCE_API "api"

/* Failures besides the -1 (invalid definition) and -2 (database) of
 * machines_put. */
typedef enum {
    MACHINES_ERR_INVALID = -1,    /* the definition has problems */
    MACHINES_ERR_STORE = -2,      /* the database failed; nothing changed */
    MACHINES_ERR_NOT_FOUND = -3,  /* no state machine (or alias) of that name */
    MACHINES_ERR_RUNNING = -4,    /* executions run (machines_delete without force) */
    MACHINES_ERR_NO_VERSION = -5, /* the machine has no such version (or alias) */
    MACHINES_ERR_NAME = -6        /* a malformed alias or qualified name */
} machines_err_t;

typedef enum {
    MACHINES_CREATED = 1,    /* first version */
    MACHINES_UPDATED = 2,    /* a new version */
    MACHINES_UNCHANGED = 3   /* same text as the latest version */
} machines_put_result_t;

/* Loads the latest version of every stored machine. Caller closes with
 * machines_close. Returns 0 or -1 (logged). */
int machines_open(store_t *st, machines_t **out);
void machines_close(machines_t *reg);

/* 1 if `name` is acceptable: 1-80 of [A-Za-z0-9_.-]. */
int machines_valid_name(const char *name);

/* Compiles and stores `text` as the newest version of `name` (writing in a
 * transaction of its own; none may be open). Returns a machines_put_result_t
 * with *out set, -1 with `problems` filled when the definition is invalid
 * (including Resources naming no registered handler), or -2 on a database
 * error. */
int machines_put(machines_t *reg, const char *name, const char *text, size_t len,
                 asl_problems_t *problems, const machine_ver_t **out);

/* The newest version (the default a start uses), or NULL; a deleted name
 * has none. */
const machine_ver_t *machines_get(machines_t *reg, const char *name);

/* A given version (loaded from the database when not in memory), or NULL.
 * Versions of a deleted name are found too (deleted_ms set): executions
 * that run or ran on them are still described and recovered with them. */
const machine_ver_t *machines_get_version(machines_t *reg, const char *name, int version);

/* What a start names: "NAME" (the newest version), "NAME:N" (version N) or
 * "NAME:ALIAS" (the version the alias names). Never a version of a deleted
 * name. Returns the version, or NULL with *err set to MACHINES_ERR_NOT_FOUND
 * (no machine NAME), MACHINES_ERR_NO_VERSION (no version N or alias ALIAS),
 * MACHINES_ERR_NAME (malformed) or MACHINES_ERR_STORE. */
const machine_ver_t *machines_resolve(machines_t *reg, const char *qualified, int *err);

/* Deletes `name`: it leaves listings, and starts of it (or of its versions
 * and aliases) find nothing. Refused with MACHINES_ERR_RUNNING while
 * executions of it are RUNNING (their count in *running, may be NULL),
 * unless `force`: then they keep running on their versions to the end.
 * Every version stays stored, marked deleted; its aliases go. Registering
 * the name again continues its version numbers (a deleted v2 is followed by
 * v3), so a version number never names two definitions. Writes in a
 * transaction of its own. Returns 0, MACHINES_ERR_NOT_FOUND,
 * MACHINES_ERR_RUNNING or MACHINES_ERR_STORE. */
int machines_delete(machines_t *reg, const char *name, int force, int64_t *running);

/* An alias: a name for one version of a machine, moved explicitly. */
typedef struct machines_alias_s {
    const char *name;        /* borrowed: valid during the callback / until the next call */
    const char *alias;
    int version;
    int64_t updated_ms;
} machines_alias_t;

/* 1 if `alias` is acceptable: 1-80 of [A-Za-z0-9_-], not all digits (those
 * are version numbers). */
int machines_valid_alias(const char *alias);

/* Creates or moves `alias` of `name` to `version` (which must exist and not
 * be deleted). *created (may be NULL) is 1 when the alias is new. Returns 0,
 * MACHINES_ERR_NAME, MACHINES_ERR_NOT_FOUND (no machine), MACHINES_ERR_NO_VERSION
 * or MACHINES_ERR_STORE. */
int machines_alias_put(machines_t *reg, const char *name, const char *alias, int version,
                       int *created);

/* Reads one alias into *out (texts borrowed from the arguments). Returns 0,
 * MACHINES_ERR_NOT_FOUND (no machine or no such alias) or MACHINES_ERR_STORE. */
int machines_alias_get(machines_t *reg, const char *name, const char *alias,
                       machines_alias_t *out);

/* Calls fn for every alias of `name`, in alias order. Returns how many,
 * MACHINES_ERR_NOT_FOUND (no machine) or MACHINES_ERR_STORE (then fn may
 * have been called for some). */
int machines_alias_list(machines_t *reg, const char *name,
                        void (*fn)(const machines_alias_t *a, void *ud), void *ud);

/* Removes an alias. Returns 0, MACHINES_ERR_NOT_FOUND or MACHINES_ERR_STORE. */
int machines_alias_delete(machines_t *reg, const char *name, const char *alias);

/* What a definition registered as `name` must pass beyond compiling, as
 * machines_put checks it: every Resource names a registered handler (or is
 * an activity), a handler with an owner only where handler_allow grants it
 * (`handler_allow` may be NULL), and the whole-machine rules
 * (asl_machine_lint). Needs only the handler registry, so sagactl validate
 * runs it offline. Adds the problems; returns 0, or -1 when it added any. */
int machines_check_new(const asl_machine_t *m, const char *name, const char *handler_allow,
                       asl_problems_t *problems);

/* Which machines may use a handler that has an owner (engine/handler.h)
 * besides the owner: "MACHINE: HANDLER, PREFIX*; MACHINE: ..." (the
 * handler_allow key; copied). A version registered afterwards (machines_put,
 * machines_load_dir) whose Task names an owned handler it is not granted is
 * refused with a problem saying so. Stored versions load as they are, and a
 * warning names every loaded one (the newest of each name) with a Task the
 * list does not grant: the runtime refuses its starts and fails those Tasks
 * (machines_allows). Returns 0 or -1 (out of memory). */
int machines_set_allow(machines_t *reg, const char *handler_allow);

/* The Task error of a Task whose handler handler_allow does not grant to
 * the execution's machine (any more): the handler is not run. */
#define MACHINES_E_HANDLER_NOT_ALLOWED "sagad.HandlerNotAllowed"

/* 1 if `machine` may run the handler named `handler` (no "sagad:") under
 * the handler_allow set last: it has no owner, is the machine's own, or the
 * list grants it; also 1 for a name no handler has (nothing to refuse). */
int machines_allows(const machines_t *reg, const char *machine, const char *handler);

/* A Task of a version whose handler `machine` is not granted. */
typedef struct machines_denied_s {
    char handler[256];
    char state[256];
} machines_denied_t;

/* How many Task Resources of `v` (nested branches included) name a handler
 * machines_allows refuses to v's machine; the first into *first (may be
 * NULL). 0: every start of v may run. */
int machines_denied(const machines_t *reg, const machine_ver_t *v, machines_denied_t *first);

/* Room for machines_denial_why's text with its NUL. */
#define MACHINES_WHY_SIZE 1024

/* Why `machine` may not run `handler` and which handler_allow entry would
 * let it, for people (into buf, truncated to `size`). */
void machines_denial_why(const char *machine, const char *handler, char *buf, size_t size);

/* Calls fn for every stored version of `name`, newest first (a stored
 * version that no longer compiles included; versions of a deleted name
 * not). Returns how many, or -1 on a database error. */
int machines_versions(machines_t *reg, const char *name,
                      void (*fn)(int version, int64_t created_ms, void *ud), void *ud);

/* Calls fn for the newest version of every machine, in name order (deleted
 * names left out). */
void machines_foreach(machines_t *reg, void (*fn)(const machine_ver_t *v, void *ud), void *ud);

#define MACHINES_CONFLICTS_MAX 8

/* What one load of sagas_dir did, for /healthz. */
typedef struct machines_load_s {
    int loaded;       /* files that became a new version */
    int unchanged;    /* files with the text of the newest version or of their last version */
    int failed;       /* files refused (problems logged) */
    int conflicts;    /* changed files not loaded: an API version is newer */
    /* The first conflicts: the name, its current (API) version and the
     * file's last version (0: none yet). */
    struct {
        char name[81];
        int api_version, file_version;
    } conflict[MACHINES_CONFLICTS_MAX];
} machines_load_t;

/* Loads every DIR/NAME.asl.json by one rule: a file becomes a new version
 * of NAME (source "file:DIR/NAME.asl.json") only when its text differs from
 * the newest version and from the last version that came from that file;
 * and never over a newer version from the API: when the newest version came
 * from the API and the file changed since its last version, the file is not
 * loaded and a warning names both (the API version stays the default until
 * an operator deploys the file or moves an alias). A file with problems is
 * logged (file, state, field) and skipped. `out` (may be NULL) gets the
 * counts. Returns the number of files that failed. */
int machines_load_dir(machines_t *reg, const char *dir, machines_load_t *out);

/* Checks every DIR/NAME.asl.json offline as machines_load_dir would before
 * storing it (name, readable, compiles, machines_check_new with
 * `handler_allow`), without a database. Calls fn once per file with its
 * problems (none when fine; `problems` borrowed) and, for an unreadable
 * file or a bad name, one problem saying so. Returns the number of files
 * with problems, or -1 when DIR cannot be read (errno set). */
int machines_check_dir(const char *dir, const char *handler_allow,
                       void (*fn)(const char *path, const asl_problems_t *problems, void *ud),
                       void *ud);

/* Loads several directories as one, dirs[0] first, each by the rule of
 * machines_load_dir: a NAME.asl.json that a later directory also has is
 * skipped (logged), the later one wins. `out` (may be NULL) gets the counts
 * of all of them. Returns the number of files that failed. */
int machines_load_dirs(machines_t *reg, const char *const *dirs, int n, machines_load_t *out);

#endif
