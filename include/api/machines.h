/* The HTTP routes of a state machine's lifecycle: deleting one and its
 * aliases (PUT/GET/DELETE /state-machines/{name}/aliases/{alias}). Listing,
 * registering and starting live with the executions (api/executions.h). */
#ifndef SAGAD_API_MACHINES_H
#define SAGAD_API_MACHINES_H

#include "api/common.h"

/* Registers DELETE /state-machines/{name} and the alias routes on `srv`.
 * `api` is borrowed and must outlive the server. Returns 0 or -1. */
int api_machines_register(http_server_t *srv, api_t *api);

#endif
