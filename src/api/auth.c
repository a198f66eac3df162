/* Bearer tokens with scopes: the tokens file, the scope each route needs,
 * and the guard the HTTP server runs before every handler. */
#include "api/auth.h"
#include "core/log.h"

#include <errno.h>
#include <nettle/base16.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define NAME_MAX_LEN 64
#define LINE_MAX_LEN 1024

typedef struct token_s {
    char name[NAME_MAX_LEN + 1];
    unsigned scopes;                       /* 1 << auth_scope_t */
    uint8_t hash[SHA256_DIGEST_SIZE];
} token_t;

struct auth_s {
    char *path;
    token_t *tokens;
    size_t n;
    /* Denials are logged at most once a second; the rest are counted. */
    uint64_t last_log_ms;
    uint64_t suppressed;
};

static const char *const scope_names[] = {"", "read", "start", "worker", "admin"};

static int parse_scopes(char *list, unsigned *out)
{
    *out = 0;
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        unsigned i = AUTH_READ;
        while (i <= AUTH_ADMIN && strcmp(s, scope_names[i]) != 0)
            i++;
        if (i > AUTH_ADMIN)
            return -1;
        *out |= 1u << i;
    }
    return *out ? 0 : -1;
}

/* "sha256:" and 64 hex digits into hash. */
static int parse_hash(const char *s, uint8_t hash[SHA256_DIGEST_SIZE])
{
    if (strncmp(s, "sha256:", 7) != 0 || strlen(s + 7) != 2 * SHA256_DIGEST_SIZE ||
        strspn(s + 7, "0123456789abcdefABCDEF") != 2 * SHA256_DIGEST_SIZE)
        return -1;
    struct base16_decode_ctx ctx;
    size_t n = SHA256_DIGEST_SIZE;
    base16_decode_init(&ctx);
    if (!base16_decode_update(&ctx, &n, hash, 2 * SHA256_DIGEST_SIZE, s + 7) ||
        !base16_decode_final(&ctx) || n != SHA256_DIGEST_SIZE)
        return -1;
    return 0;
}

/* Parses one non-comment line into t; NULL, or what is wrong. */
static const char *parse_line(char *line, token_t *t)
{
    char *save = NULL;
    char *name = strtok_r(line, " \t", &save);
    char *scopes = strtok_r(NULL, " \t", &save);
    char *hash = strtok_r(NULL, " \t", &save);
    if (!name || !scopes || !hash || strtok_r(NULL, " \t", &save))
        return "expected NAME SCOPES sha256:HEX";
    if (strlen(name) > NAME_MAX_LEN)
        return "the name is longer than 64 characters";
    snprintf(t->name, sizeof t->name, "%s", name);
    if (parse_scopes(scopes, &t->scopes) < 0)
        return "SCOPES must be a comma-separated list of read, start, worker, admin";
    if (parse_hash(hash, t->hash) < 0)
        return "the hash must be sha256: and 64 hex digits (sha256sum of the token)";
    return NULL;
}

/* Reads `path` into a new array; -1 with err set, nothing allocated. */
static int read_tokens(const char *path, token_t **out, size_t *nout, char err[AUTH_ERR_MAX])
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, AUTH_ERR_MAX, "%s: cannot open the tokens file: %s", path, strerror(errno));
        return -1;
    }
    token_t *tokens = NULL;
    size_t n = 0, cap = 0;
    char line[LINE_MAX_LEN + 2];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len > LINE_MAX_LEN && line[len - 1] != '\n') {
            snprintf(err, AUTH_ERR_MAX, "%s:%d: the line is longer than %d bytes", path, lineno,
                     LINE_MAX_LEN);
            rc = -1;
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line + strspn(line, " \t");
        if (!*p || *p == '#')
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 8;
            token_t *nt = realloc(tokens, nc * sizeof *nt);
            if (!nt) {
                snprintf(err, AUTH_ERR_MAX, "%s: out of memory", path);
                rc = -1;
                break;
            }
            tokens = nt;
            cap = nc;
        }
        const char *why = parse_line(p, &tokens[n]);
        if (why) {
            snprintf(err, AUTH_ERR_MAX, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
        n++;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, AUTH_ERR_MAX, "%s: cannot read the tokens file", path);
        rc = -1;
    }
    fclose(f);
    if (rc == 0 && n == 0) {
        snprintf(err, AUTH_ERR_MAX, "%s: no tokens in the file; add a line NAME SCOPES sha256:HEX",
                 path);
        rc = -1;
    }
    if (rc < 0) {
        free(tokens);
        return -1;
    }
    *out = tokens;
    *nout = n;
    return 0;
}

int auth_load(const char *path, auth_t **out, char err[AUTH_ERR_MAX])
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        snprintf(err, AUTH_ERR_MAX, "%s: out of memory", path);
        return -1;
    }
    if (read_tokens(path, &a->tokens, &a->n, err) < 0) {
        auth_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

int auth_reload(auth_t *a, char err[AUTH_ERR_MAX])
{
    token_t *tokens;
    size_t n;
    if (read_tokens(a->path, &tokens, &n, err) < 0)
        return -1;
    free(a->tokens);
    a->tokens = tokens;
    a->n = n;
    return (int)n;
}

void auth_free(auth_t *a)
{
    if (!a)
        return;
    free(a->tokens);
    free(a->path);
    free(a);
}

/* Routes whose scope is not the default: reads are open for /healthz and
 * the console's own files (the page must load to ask for a token; the data
 * it then fetches is not open), read for other GETs; writes are admin. */
static const struct {
    const char *method, *pattern;
    auth_scope_t scope;
} policy[] = {
    {"POST", "/state-machines/{name}/executions", AUTH_START},
    {"POST", "/order", AUTH_START},
    {"POST", "/tasks/success", AUTH_WORKER},
    {"POST", "/tasks/failure", AUTH_WORKER},
    {"POST", "/tasks/heartbeat", AUTH_WORKER},
    {"POST", "/activities/{name}/poll", AUTH_WORKER},
    {"PUT", "/activities/{name}", AUTH_WORKER},
    /* The Step Functions API authorizes each action itself (api/aws.h). */
    {"POST", "/", AUTH_OPEN},
};

auth_scope_t auth_route_scope(const char *method, const char *pattern)
{
    int read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (read && (strcmp(pattern, "/healthz") == 0 || strcmp(pattern, "/favicon.ico") == 0 ||
                 strcmp(pattern, "/ui") == 0 || strncmp(pattern, "/ui/", 4) == 0))
        return AUTH_OPEN;
    for (size_t i = 0; i < sizeof policy / sizeof policy[0]; i++)
        if (strcmp(policy[i].method, method) == 0 && strcmp(policy[i].pattern, pattern) == 0)
            return policy[i].scope;
    return read ? AUTH_READ : AUTH_ADMIN;
}

/* The token of "Authorization: Bearer T", or NULL. */
static const char *bearer(const http_request_t *req)
{
    const char *h = http_request_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6 + strspn(h + 6, " \t");
    return *h ? h : NULL;
}

/* The entry whose hash is the token's: every entry is compared, in constant
 * time, so the time taken says nothing about which bytes matched. */
static const token_t *find(const auth_t *a, const char *token)
{
    uint8_t d[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    sha256_digest(&ctx, sizeof d, d);
    const token_t *hit = NULL;
    for (size_t i = 0; i < a->n; i++)
        if (memeql_sec(d, a->tokens[i].hash, sizeof d) && !hit)
            hit = &a->tokens[i];
    return hit;
}

static void log_denied(auth_t *a, const http_request_t *req, const char *who, const char *why)
{
    uint64_t now = uv_hrtime() / 1000000;
    if (a->last_log_ms && now - a->last_log_ms < 1000) {
        a->suppressed++;
        return;
    }
    if (a->suppressed)
        log_warn("auth: %s %s denied (%s, %s); %llu more denials in the last second not logged",
                 http_request_method(req), http_request_path(req), who, why,
                 (unsigned long long)a->suppressed);
    else
        log_warn("auth: %s %s denied (%s, %s)", http_request_method(req), http_request_path(req),
                 who, why);
    a->last_log_ms = now;
    a->suppressed = 0;
}

static int guard(http_request_t *req, void *ud)
{
    auth_t *a = ud;
    auth_scope_t need = auth_route_scope(http_request_method(req), http_request_route(req));
    if (need == AUTH_OPEN)
        return 0;
    const char *tok = bearer(req);
    const token_t *t = tok ? find(a, tok) : NULL;
    if (!t) {
        log_denied(a, req, tok ? "unknown token" : "no token", "401");
        http_response_header(req, "WWW-Authenticate", "Bearer realm=\"sagad\"");
        http_respond_error(req, 401, "Unauthorized",
                           "%s; send Authorization: Bearer <token> with a token from the "
                           "daemon's auth_tokens_file", tok ? "unknown token" : "no token");
        return -1;
    }
    if (!(t->scopes & (1u << need | 1u << AUTH_ADMIN))) {
        log_denied(a, req, t->name, "403");
        http_respond_error(req, 403, "Forbidden", "token '%s' lacks the %s scope this request needs",
                           t->name, scope_names[need]);
        return -1;
    }
    return 0;
}

void auth_guard(http_server_t *srv, auth_t *a)
{
    http_server_set_guard(srv, guard, a);
}
