/* What every HTTP route group shares: the api_t context the routes borrow
 * and the request helpers (JSON body, ?limit). Each route group has its own
 * header and registration function; daemon/main.c registers them. */
#ifndef SAGAD_API_COMMON_H
#define SAGAD_API_COMMON_H

#include "api/auth.h"
#include "core/config.h"
#include "core/serial.h"
#include "core/jsonin.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "events/relay.h"
#include "http/server.h"
#include "store/db.h"

typedef struct api_s {
    uv_loop_t *loop;
    store_t *store;
    machines_t *machines;
    runtime_t *runtime;
    const config_t *cfg;
    /* Extra health facts (Redis, outbox); may be NULL. Adds members to `o`. */
    void (*health)(cJSON *o, void *ud);
    void *health_ud;
    /* The outbox relay, for /metrics; NULL when there is none. */
    relay_t *relay;
    /* Tokens and access keys; NULL when auth is off (AWS API: auth_check_sigv4). */
    auth_t *auth;
    /* Several nodes (PostgreSQL): the way to the others (cluster/forward.h),
     * for requests another node must answer (forward_request) and parked
     * activity polls (api/polls.h). NULL on one node. */
    struct forward_s *cluster;
    /* The daemon's serializer (core/serial.h); NULL when there is none. */
    serial_t *serial;
} api_t;

/* Helpers shared by the route modules. */

/* Parses the request body as JSON, strictly (core/jsonin.h: bad UTF-8, lone
 * surrogates, duplicate keys, integers beyond 2^53 are refused); on failure
 * answers 400 InvalidJson saying what and at which byte (503 OutOfMemory
 * without memory) and returns NULL. Caller frees with cJSON_Delete. */
cJSON *api_body_json(http_request_t *req);

/* Refuses a body object with a member not named in `fields` (NULL-ended):
 * answers 400 UnknownField naming the first such member and the fields
 * there are, and returns -1; a typo must not silently mean "absent".
 * Returns 0 otherwise (also when `body` is not an object). */
int api_body_only(http_request_t *req, const cJSON *body, const char *const *fields);

/* An optional query parameter (borrowed): absent and empty are both NULL. */
const char *api_query_opt(http_request_t *req, const char *name);

/* ?limit=N (1..1000) into *limit, left as is when absent. On a bad value
 * answers 400 and returns -1. */
int api_query_limit(http_request_t *req, int *limit);

/* The state machine the route's {name} names: its newest version, the
 * one ?version=N asks for, or the one NAME:N or NAME:ALIAS names (not of a
 * deleted name). Answers 400 (a bad N or qualifier) or 404 (no such machine
 * or version) and returns NULL otherwise. */
const machine_ver_t *api_machine_version(api_t *api, http_request_t *req);

/* api_machine_version, and into *named what the request named besides the
 * machine (named->alias borrowed from the request). */
const machine_ver_t *api_machine_version_named(api_t *api, http_request_t *req,
                                               runtime_named_t *named);

/* What naming `v` with `qualifier` (the text after "NAME:", "" for plain
 * NAME; borrowed by out->alias) names: an alias, a version, or neither. */
void api_named(const char *qualifier, const machine_ver_t *v, runtime_named_t *out);

/* Answers why machines_resolve(qualified) failed with `err`: 400, 404 or 503. */
void api_respond_unresolved(http_request_t *req, const char *qualified, int err);

/* Why a start of `mv` was refused with RUNTIME_ERR_NOT_ALLOWED, naming the
 * state, the handler and the handler_allow entry that would allow it, into
 * buf (MACHINES_WHY_SIZE + 512 is room for it). */
void api_denied_text(api_t *api, const machine_ver_t *mv, char *buf, size_t size);

/* 503 OutOfMemory: "<what> (out of memory); nothing was done, retry". */
void api_respond_no_memory(http_request_t *req, const char *what);

/* The answer for text jsonin refused with `rc`: 400 InvalidJson with e's
 * message, or 503 when memory ran out. */
void api_respond_bad_json(http_request_t *req, int rc, const jsonin_error_t *e);

#endif
