/* Who may call what: bearer tokens from a file of SHA-256 hashes, each with
 * scopes, checked before every route's handler. The file holds no secret in
 * clear; a token is compared by its hash, in constant time over all entries. */
#ifndef SAGAD_API_AUTH_H
#define SAGAD_API_AUTH_H

#include <stddef.h>

#include "http/server.h"

typedef struct auth_s auth_t;

/* What a route needs. An admin token may do everything. */
typedef enum {
    AUTH_OPEN = 0,      /* no token: /healthz and the console's own files */
    AUTH_READ,          /* every other GET */
    AUTH_START,         /* starting executions and orders */
    AUTH_WORKER,        /* task reports, activity polls and creation */
    AUTH_ADMIN          /* definitions, stock, stop, and anything else */
} auth_scope_t;

#define AUTH_ERR_MAX 512

/* Reads a tokens file: one token a line, "NAME SCOPES sha256:HEX" with
 * SCOPES a comma-separated list of read, start, worker, admin, and HEX the
 * 64 hex digits of the SHA-256 of the token; blank lines and lines starting
 * with '#' are skipped. On success *out is the table (free with auth_free).
 * Returns 0, or -1 with `err` naming the file, the line and what is wrong
 * (nothing is loaded then). */
int auth_load(const char *path, auth_t **out, char err[AUTH_ERR_MAX]);

/* Reads the file again into `a`; on any problem keeps the tokens it had and
 * returns -1 with `err` set. Returns the number of tokens loaded. */
int auth_reload(auth_t *a, char err[AUTH_ERR_MAX]);

void auth_free(auth_t *a);

/* The scope that `method` on the route `pattern` (as registered, e.g.
 * "/executions/{id}/stop") needs. */
auth_scope_t auth_route_scope(const char *method, const char *pattern);

/* Makes `srv` check every request against `a` before its handler: no or an
 * unknown token is 401 with WWW-Authenticate: Bearer, a token without the
 * scope 403; denials are logged, at most one line a second. `a` is borrowed
 * until the server is closed. */
void auth_guard(http_server_t *srv, auth_t *a);

#endif
