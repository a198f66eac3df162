/* The general-purpose built-in handlers:
 *   sagad:echo  input: any JSON   result: a copy of the input
 *   sagad:fail  input: {"error"?: string, "cause"?: string}
 *               fails with Error = error (default "States.TaskFailed") and
 *               Cause = cause (default "sagad:fail was called"). */
#ifndef SAGAD_HANDLERS_BUILTIN_H
#define SAGAD_HANDLERS_BUILTIN_H

#include "engine/handler.h"

extern const handler_def_t handlers_echo;
extern const handler_def_t handlers_fail;

#endif
