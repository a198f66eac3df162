/* What the files of the state-machine registry share (machines.c,
 * machines_alias.c, machines_load.c): the registry object and storing a
 * version with its source. Not a public header. */
#ifndef SAGAD_ENGINE_MACHINES_INTERNAL_H
#define SAGAD_ENGINE_MACHINES_INTERNAL_H

#include "engine/machines.h"

struct machines_s {
    store_t *st;
    machine_ver_t **v;
    size_t n, cap;
    char *allow;            /* handler_allow; NULL: owned handlers serve their owner only */
    /* Other nodes write the same database (PostgreSQL): the newest version of
     * a name is read from it each time, and lists read every name. */
    int shared;
};

/* machines_put with the version's source ("api", "file:PATH"; borrowed). */
int machines_put_source(machines_t *reg, const char *name, const char *text, size_t len,
                        const char *source, asl_problems_t *problems, const machine_ver_t **out);

#endif
