/* Who may call what: bearer tokens from a file of SHA-256 hashes, each with
 * scopes, checked before every route's handler. A token is compared by its
 * hash, in constant time over all entries. An entry may also carry an AWS
 * access key (id and secret) for the AWS API, whose clients sign with SigV4:
 * the file then holds secrets and must be readable by its owner only. */
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
    AUTH_ADMIN,         /* definitions, stock, stop, and anything else */
    AUTH_HANDLER        /* the guard lets it through; the handler checks per
                           request with auth_check_sigv4 (the AWS API, POST /) */
} auth_scope_t;

#define AUTH_ERR_MAX 512
#define AUTH_NAME_MAX 64

/* Reads a tokens file: one token a line,
 *     NAME SCOPES sha256:HEX [sigv4:KEYID:SECRET]
 * with SCOPES a comma-separated list of read, start, worker, admin, HEX the
 * 64 hex digits of the SHA-256 of the token, and optionally an AWS access
 * key: KEYID 1-128 letters and digits (unique in the file), SECRET 1-128
 * characters without blanks (what AWS_SECRET_ACCESS_KEY holds); blank lines
 * and lines starting with '#' are skipped. A file with any access key that
 * its group or others may read is refused. On success *out is the table
 * (free with auth_free; secrets are wiped). Returns 0, or -1 with `err`
 * naming the file, the line and what is wrong (nothing is loaded then). */
int auth_load(const char *path, auth_t **out, char err[AUTH_ERR_MAX]);

/* Reads the file again into `a`; on any problem keeps the tokens it had and
 * returns -1 with `err` set. Returns the number of tokens loaded. */
int auth_reload(auth_t *a, char err[AUTH_ERR_MAX]);

void auth_free(auth_t *a);

/* The scope that `method` on the route `pattern` (as registered, e.g.
 * "/executions/{id}/stop") needs; POST "/" is AUTH_HANDLER. */
auth_scope_t auth_route_scope(const char *method, const char *pattern);

/* An AWS-shaped refusal: answer `status` with {"__type": type, "message":
 * message}. */
typedef struct auth_aws_error_s {
    int status;                  /* 400; 403 when the request is not signed */
    const char *type;            /* static: UnrecognizedClientException, ... */
    char message[AUTH_ERR_MAX];
} auth_aws_error_t;

/* The check the AWS API handler runs first, for the scope its action needs
 * (its action table: read for Describe*, List*, Get* and Validate*; start
 * for StartExecution, StartSyncExecution; worker for GetActivityTask,
 * SendTask* and CreateActivity; admin for the rest). `a` NULL (auth off: no tokens file, or auth =
 * none) accepts every request, signed or not, unchecked, with name "".
 * Otherwise the request must carry a SigV4 Authorization for service
 * "states" (any region) by an access key of the tokens file, dated within
 * 15 minutes of now (or an Authorization: Bearer token of the file), and
 * that entry must have `need` or admin. Returns 0 with `name` the entry's
 * name, or -1 with `err` filled: MissingAuthenticationTokenException (403),
 * IncompleteSignatureException, UnrecognizedClientException (unknown key or
 * token), InvalidSignatureException (wrong signature, "Signature expired"),
 * AccessDeniedException (the entry lacks the scope). Denials are logged as
 * auth_guard's are, naming the entry or key id, never a secret or a
 * signature. `req` is borrowed. */
int auth_check_sigv4(auth_t *a, const http_request_t *req, auth_scope_t need,
                     char name[AUTH_NAME_MAX + 1], auth_aws_error_t *err);

/* Makes `srv` check every request against `a` before its handler: no or an
 * unknown token is 401 with WWW-Authenticate: Bearer, a token without the
 * scope 403; denials are logged, at most one line a second. `a` is borrowed
 * until the server is closed. */
void auth_guard(http_server_t *srv, auth_t *a);

#endif
