/* Bearer tokens with scopes: the tokens file, the scope each route needs,
 * and the guard the HTTP server runs before every handler; and the same
 * entries' access keys for the AWS API, which signs with SigV4. */
#include "api/auth.h"
#include "api/sigv4.h"
#include "core/log.h"

#include <assert.h>
#include <errno.h>
#include <nettle/base16.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#define NAME_MAX_LEN AUTH_NAME_MAX
#define LINE_MAX_LEN 1024
#define SECRET_MAX_LEN 128

typedef struct token_s {
    char name[NAME_MAX_LEN + 1];
    unsigned scopes;                       /* 1 << auth_scope_t */
    uint8_t hash[SHA256_DIGEST_SIZE];
    char key_id[SIGV4_KEY_ID_MAX + 1];     /* "" when the entry has no access key */
    char secret[SECRET_MAX_LEN + 1];
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

/* "sigv4:KEYID:SECRET" into t's access key. */
static const char *parse_access_key(const char *s, token_t *t)
{
    const char *id = s + 6, *colon = strchr(id, ':');
    size_t idlen = colon ? (size_t)(colon - id) : 0;
    if (strncmp(s, "sigv4:", 6) != 0 || !colon)
        return "the fourth field must be sigv4:KEYID:SECRET";
    if (idlen == 0 || idlen > SIGV4_KEY_ID_MAX || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "abcdefghijklmnopqrstuvwxyz0123456789") != idlen)
        return "the access key id must be 1 to 128 letters and digits";
    size_t slen = strlen(colon + 1);
    if (slen == 0 || slen > SECRET_MAX_LEN)
        return "the secret access key must be 1 to 128 characters";
    memcpy(t->key_id, id, idlen);
    t->key_id[idlen] = '\0';
    memcpy(t->secret, colon + 1, slen + 1);
    return NULL;
}

/* Parses one non-comment line into t; NULL, or what is wrong. */
static const char *parse_line(char *line, token_t *t)
{
    memset(t, 0, sizeof *t);
    char *save = NULL;
    char *name = strtok_r(line, " \t", &save);
    char *scopes = strtok_r(NULL, " \t", &save);
    char *hash = strtok_r(NULL, " \t", &save);
    char *key = strtok_r(NULL, " \t", &save);
    if (!name || !scopes || !hash || strtok_r(NULL, " \t", &save))
        return "expected NAME SCOPES sha256:HEX [sigv4:KEYID:SECRET]";
    if (strlen(name) > NAME_MAX_LEN)
        return "the name is longer than 64 characters";
    snprintf(t->name, sizeof t->name, "%s", name);
    if (parse_scopes(scopes, &t->scopes) < 0)
        return "SCOPES must be a comma-separated list of read, start, worker, admin";
    if (parse_hash(hash, t->hash) < 0)
        return "the hash must be sha256: and 64 hex digits (sha256sum of the token)";
    return key ? parse_access_key(key, t) : NULL;
}

/* Frees a table of n entries, secrets wiped first. */
static void free_tokens(token_t *tokens, size_t n)
{
    if (tokens)
        explicit_bzero(tokens, n * sizeof *tokens);
    free(tokens);
}

/* What makes a table unusable as a whole: an access key id used twice, or
 * secrets in a file that others than its owner may read. NULL if none. */
static const char *check_table(const token_t *t, size_t n, FILE *f, char *why, size_t len)
{
    int secrets = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].key_id[0])
            continue;
        secrets = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(t[i].key_id, t[j].key_id) == 0) {
                snprintf(why, len, "access key id %s is given to both %s and %s", t[i].key_id,
                         t[j].name, t[i].name);
                return why;
            }
    }
    struct stat st;
    if (secrets && fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
        snprintf(why, len, "the file holds SigV4 secret keys but is readable by %s (mode %04o); "
                 "make it readable by its owner only (chmod 600)",
                 st.st_mode & S_IROTH ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
        return why;
    }
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
            /* Not realloc: the old block holds secrets and must be wiped. */
            token_t *nt = calloc(nc, sizeof *nt);
            if (!nt) {
                snprintf(err, AUTH_ERR_MAX, "%s: out of memory", path);
                rc = -1;
                break;
            }
            if (n)
                memcpy(nt, tokens, n * sizeof *nt);
            free_tokens(tokens, cap);
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
    char why[AUTH_ERR_MAX - 64];
    if (rc == 0 && check_table(tokens, n, f, why, sizeof why)) {
        snprintf(err, AUTH_ERR_MAX, "%s: %s", path, why);
        rc = -1;
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    if (rc == 0 && n == 0) {
        snprintf(err, AUTH_ERR_MAX, "%s: no tokens in the file; add a line NAME SCOPES sha256:HEX",
                 path);
        rc = -1;
    }
    if (rc < 0) {
        free_tokens(tokens, cap);
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
    free_tokens(a->tokens, a->n);
    a->tokens = tokens;
    a->n = n;
    return (int)n;
}

void auth_free(auth_t *a)
{
    if (!a)
        return;
    free_tokens(a->tokens, a->n);
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
    /* The Step Functions API authorizes each action itself (auth_check_sigv4). */
    {"POST", "/", AUTH_HANDLER},
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
    if (need == AUTH_OPEN || need == AUTH_HANDLER)
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

/* ---- the AWS API: SigV4 access keys ------------------------------------ */

static const char *request_header(void *ud, const char *name)
{
    return http_request_header(ud, name);
}

/* The entry with this access key id (ids are not secret; no constant time). */
static const token_t *entry_of_key(const auth_t *a, const char *key_id)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->tokens[i].key_id[0] && strcmp(a->tokens[i].key_id, key_id) == 0)
            return &a->tokens[i];
    return NULL;
}

static const char *entry_secret(void *ud, const char *key_id)
{
    const token_t *t = entry_of_key(ud, key_id);
    return t ? t->secret : NULL;
}

static int aws_deny(auth_t *a, const http_request_t *req, auth_aws_error_t *err, int status,
                    const char *type, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int aws_deny(auth_t *a, const http_request_t *req, auth_aws_error_t *err, int status,
                    const char *type, const char *who, const char *fmt, ...)
{
    err->status = status;
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    log_denied(a, req, who, type);
    return -1;
}

int auth_check_sigv4(auth_t *a, const http_request_t *req, auth_scope_t need,
                     char name[AUTH_NAME_MAX + 1], auth_aws_error_t *err)
{
    assert(need >= AUTH_READ && need <= AUTH_ADMIN);
    name[0] = '\0';
    memset(err, 0, sizeof *err);
    if (!a)
        return 0;
    const token_t *t;
    char who[SIGV4_KEY_ID_MAX + 16];
    const char *tok = bearer(req);
    if (tok) {
        if (!(t = find(a, tok)))
            return aws_deny(a, req, err, 400, "UnrecognizedClientException", "unknown token",
                            "The security token included in the request is invalid.");
        snprintf(who, sizeof who, "token %s", t->name);
    } else {
        size_t blen;
        const char *body = http_request_body(req, &blen);
        sigv4_request_t sr = {http_request_method(req), http_request_path(req),
                              http_request_raw_query(req), request_header, (void *)req,
                              body, blen};
        sigv4_verifier_t v = {entry_secret, a, (int64_t)time(NULL), SIGV4_SKEW_DEFAULT, "states"};
        sigv4_result_t res;
        int rc = sigv4_verify(&sr, &v, &res);
        snprintf(who, sizeof who, "key %s", res.key_id[0] ? res.key_id : "(none)");
        if (rc != SIGV4_OK)
            return aws_deny(a, req, err, sigv4_http_status(rc), sigv4_error_type(rc), who, "%s",
                            res.message);
        t = entry_of_key(a, res.key_id);
        assert(t);
    }
    if (!(t->scopes & (1u << need | 1u << AUTH_ADMIN)))
        return aws_deny(a, req, err, 400, "AccessDeniedException", who,
                        "'%s' (%s) is not authorized to perform this action: it lacks the %s "
                        "scope", t->name, who, scope_names[need]);
    snprintf(name, AUTH_NAME_MAX + 1, "%s", t->name);
    return 0;
}
