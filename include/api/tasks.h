/* Routes for steps outside the daemon: POST /tasks/success|failure|heartbeat,
 * PUT /activities/{name}, GET /activities, POST /activities/{name}/poll. */
#ifndef SAGAD_API_TASKS_H
#define SAGAD_API_TASKS_H

#include "api/common.h"

/* Adds the routes; `api` is borrowed for the server's life. 0 or -1. */
int api_tasks_register(http_server_t *srv, api_t *api);

#endif
