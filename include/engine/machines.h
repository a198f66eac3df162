/* The registry of state machines: every version of every definition, stored
 * in the state_machines table and compiled once. Definitions come from
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
} machine_ver_t;

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

/* The newest version, or NULL. */
const machine_ver_t *machines_get(machines_t *reg, const char *name);

/* A given version (loaded from the database when not in memory), or NULL. */
const machine_ver_t *machines_get_version(machines_t *reg, const char *name, int version);

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
 * refused with a problem saying so; stored versions load as they are.
 * Returns 0 or -1 (out of memory). */
int machines_set_allow(machines_t *reg, const char *handler_allow);

/* Calls fn for every stored version of `name`, newest first (a stored
 * version that no longer compiles included). Returns how many, or -1 on a
 * database error. */
int machines_versions(machines_t *reg, const char *name,
                      void (*fn)(int version, int64_t created_ms, void *ud), void *ud);

/* Calls fn for the newest version of every machine, in name order. */
void machines_foreach(machines_t *reg, void (*fn)(const machine_ver_t *v, void *ud), void *ud);

/* Loads every DIR/NAME.asl.json. A file with problems is logged (file,
 * state, field) and skipped. Returns the number of files that failed. */
int machines_load_dir(machines_t *reg, const char *dir);

/* Loads several directories as one, dirs[0] first: a NAME.asl.json that a
 * later directory also has is skipped (logged), the later one wins. Returns
 * the number of files that failed. */
int machines_load_dirs(machines_t *reg, const char *const *dirs, int n);

#endif
