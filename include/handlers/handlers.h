/* Registration of Task handlers (engine/handler.h): the general-purpose
 * built-ins (builtin.h) and, for the domains, a list at a time. A domain's
 * handlers are registered by the domain (e.g. order/handlers.h). */
#ifndef SAGAD_HANDLERS_HANDLERS_H
#define SAGAD_HANDLERS_HANDLERS_H

#include "engine/handler.h"

/* sagad:echo, sagad:fail and sagad:http.invoke. Returns 0, or -1 when a name is already taken. */
int handlers_register_builtin(void);

/* Registers `n` definitions (borrowed: keep them static), logging the name
 * that fails. Returns 0, or -1 when a name is taken or the table is full
 * (the ones before it stay registered). */
int handlers_register_list(const handler_def_t *const *defs, int n);

#endif
