/* AWS Signature Version 4: rebuilds the canonical request and the string to
 * sign the way AWS's signers do, derives the signing key from the secret and
 * compares signatures in constant time. No I/O: clock and keys come in. */
#include "api/sigv4.h"
#include "core/grow.h"

#include <ctype.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define STAMP_LEN 16                    /* 20150830T123600Z */

/* A growing string; `oom` sticks once memory ran out. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (grow_reserve(&b->p, &b->cap, b->len + n + 1, 1) < 0) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

static int unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes every byte but the unreserved ones (and '/' if asked),
 * with upper-case hex digits, as SigV4's UriEncode does. */
static void put_encoded(buf_t *b, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(b, e, 3);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX in s[0..n) into out (n bytes suffice); a '%' not followed by
 * two hex digits stays as it is. Returns the decoded length. */
static size_t pct_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void hex_lower(const uint8_t *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void sha256_hex(const void *p, size_t n, char out[2 * SHA256_DIGEST_SIZE + 1])
{
    uint8_t d[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, n, p);
    sha256_digest(&ctx, sizeof d, d);
    hex_lower(d, sizeof d, out);
}

static void hmac(const uint8_t *key, size_t klen, const char *msg, size_t mlen,
                 uint8_t out[SHA256_DIGEST_SIZE])
{
    struct hmac_sha256_ctx ctx;
    hmac_sha256_set_key(&ctx, klen, key);
    hmac_sha256_update(&ctx, mlen, (const uint8_t *)msg);
    hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
    explicit_bzero(&ctx, sizeof ctx);
}

/* ---- the Authorization header ------------------------------------------ */

typedef struct {
    const char *cred, *signed_headers, *signature;   /* into the header */
    size_t cred_len, sh_len, sig_len;
    /* the credential's five parts */
    char key_id[SIGV4_KEY_ID_MAX + 1];
    char date[9];
    char region[64], service[64], terminator[16];
} authz_t;

/* Copies the n bytes at s into dst[cap] when they fit; -1 otherwise. */
static int copy_part(char *dst, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int parse_credential(authz_t *a)
{
    char *dst[] = {a->key_id, a->date, a->region, a->service, a->terminator};
    size_t caps[] = {sizeof a->key_id, sizeof a->date, sizeof a->region, sizeof a->service,
                     sizeof a->terminator};
    const char *s = a->cred, *end = a->cred + a->cred_len;
    for (int i = 0; i < 5; i++) {
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *pe = i < 4 ? slash : end;
        if (!pe || (i == 4 && slash) || copy_part(dst[i], caps[i], s, (size_t)(pe - s)) < 0)
            return -1;
        s = pe + 1;
    }
    if (strlen(a->date) != 8 || strspn(a->date, "0123456789") != 8)
        return -1;
    return 0;
}

/* Splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
 * (parameters in any order, spaces after commas optional). */
static int parse_authz(const char *h, authz_t *a, char *msg)
{
    memset(a, 0, sizeof *a);
    size_t alen = strlen(ALGORITHM);
    if (strncmp(h, ALGORITHM, alen) != 0 || (h[alen] != ' ' && h[alen] != '\t')) {
        size_t n = strcspn(h, " \t");
        snprintf(msg, SIGV4_MSG_MAX, "Unsupported AWS 'algorithm': '%.*s'; only " ALGORITHM
                 " is accepted", (int)(n > 40 ? 40 : n), h);
        return -1;
    }
    for (const char *p = h + alen; *p;) {
        p += strspn(p, " \t,");
        if (!*p)
            break;
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        size_t vlen = eq ? n - (size_t)(eq + 1 - p) : 0;
        while (vlen && (eq[vlen] == ' ' || eq[vlen] == '\t'))
            vlen--;
        if (eq && eq - p == 10 && strncmp(p, "Credential", 10) == 0) {
            a->cred = eq + 1, a->cred_len = vlen;
        } else if (eq && eq - p == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
            a->signed_headers = eq + 1, a->sh_len = vlen;
        } else if (eq && eq - p == 9 && strncmp(p, "Signature", 9) == 0) {
            a->signature = eq + 1, a->sig_len = vlen;
        } else {
            size_t kl = eq ? (size_t)(eq - p) : n;
            snprintf(msg, SIGV4_MSG_MAX, "Authorization header has an unknown parameter '%.*s'",
                     (int)(kl > 40 ? 40 : kl), p);
            return -1;
        }
        p += n;
    }
    if (!a->cred || !a->signed_headers || !a->signature) {
        snprintf(msg, SIGV4_MSG_MAX, "%s%s%s", !a->cred ?
                 "Authorization header requires 'Credential' parameter. " : "",
                 !a->signature ? "Authorization header requires 'Signature' parameter. " : "",
                 !a->signed_headers ?
                 "Authorization header requires 'SignedHeaders' parameter. " : "");
        msg[strlen(msg) - 1] = '\0';
        return -1;
    }
    if (parse_credential(a) < 0) {
        snprintf(msg, SIGV4_MSG_MAX, "Credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/"
                 TERMINATOR " (access key id at most %d characters)", SIGV4_KEY_ID_MAX);
        return -1;
    }
    if (a->sig_len != 2 * SHA256_DIGEST_SIZE ||
        strspn(a->signature, "0123456789abcdefABCDEF") < a->sig_len) {
        snprintf(msg, SIGV4_MSG_MAX, "Signature must be %d hex digits", 2 * SHA256_DIGEST_SIZE);
        return -1;
    }
    /* Header names as the signer lists them: lower case, ';'-separated. */
    int host = 0;
    for (size_t i = 0, start = 0; i <= a->sh_len; i++) {
        char c = i < a->sh_len ? a->signed_headers[i] : ';';
        if (c == ';') {
            if (i == start) {
                snprintf(msg, SIGV4_MSG_MAX, "SignedHeaders has an empty name");
                return -1;
            }
            host |= i - start == 4 && strncmp(a->signed_headers + start, "host", 4) == 0;
            start = i + 1;
        } else if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' ||
                     c == '_' || c == '.')) {
            snprintf(msg, SIGV4_MSG_MAX, "SignedHeaders must list lower-case header names "
                     "separated by ';'");
            return -1;
        }
    }
    if (!host) {
        snprintf(msg, SIGV4_MSG_MAX, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
        return -1;
    }
    return 0;
}

/* ---- time --------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int to_epoch(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s};
    *out = (int64_t)timegm(&tm);
    return tm.tm_mday == d ? 0 : -1;   /* 31 February moved on: not a date */
}

/* "20150830T123600Z" */
static int parse_basic(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec;
    if (strlen(s) != STAMP_LEN || s[8] != 'T' || s[15] != 'Z' || digits(s, 4, &y) ||
        digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) || digits(s + 9, 2, &h) ||
        digits(s + 11, 2, &mi) || digits(s + 13, 2, &sec))
        return -1;
    return to_epoch(y, mo, d, h, mi, sec, out);
}

/* "Sun, 30 Aug 2015 12:36:00 GMT" (RFC 7231's IMF-fixdate) */
static int parse_http_date(const char *s, int64_t *out)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int y, d, h, mi, sec;
    const char *comma = strchr(s, ',');
    if (!comma || strlen(comma) != 26 || comma[1] != ' ' || comma[4] != ' ' ||
        comma[8] != ' ' || comma[13] != ' ' || comma[16] != ':' || comma[19] != ':' ||
        strcmp(comma + 22, " GMT") != 0 || digits(comma + 2, 2, &d) ||
        digits(comma + 9, 4, &y) || digits(comma + 14, 2, &h) || digits(comma + 17, 2, &mi) ||
        digits(comma + 20, 2, &sec))
        return -1;
    const char *m = NULL;
    for (int i = 0; i < 12 && !m; i++)
        if (strncmp(comma + 5, months + 3 * i, 3) == 0)
            m = months + 3 * i;
    if (!m)
        return -1;
    return to_epoch(y, (int)(m - months) / 3 + 1, d, h, mi, sec, out);
}

static void format_basic(int64_t t, char out[STAMP_LEN + 1])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, STAMP_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- the canonical request ---------------------------------------------- */

/* The path with empty and "." segments dropped and ".." applied, a trailing
 * '/' kept, each byte but unreserved ones and '/' percent-encoded (so a path
 * already encoded on the wire is encoded twice, as AWS's signers do). */
static void put_canonical_path(buf_t *b, const char *path)
{
    size_t n = strlen(path);
    const char **seg = malloc((n / 2 + 2) * sizeof *seg);
    size_t *len = malloc((n / 2 + 2) * sizeof *len);
    if (!seg || !len) {
        free(seg);
        free(len);
        b->oom = 1;
        return;
    }
    size_t depth = 0;
    for (const char *p = path; *p;) {
        p += *p == '/';
        size_t l = strcspn(p, "/");
        if (l == 2 && p[0] == '.' && p[1] == '.') {
            depth -= depth > 0;
        } else if (l > 0 && !(l == 1 && p[0] == '.')) {
            seg[depth] = p;
            len[depth++] = l;
        }
        p += l;
    }
    put(b, "/", 1);
    for (size_t i = 0; i < depth; i++) {
        put_encoded(b, seg[i], len[i], 0);
        if (i + 1 < depth)
            put(b, "/", 1);
    }
    if (depth && n && path[n - 1] == '/')
        put(b, "/", 1);
    free(seg);
    free(len);
}

typedef struct {
    size_t key, val;   /* offsets into the encoded pairs' buffer */
    const char *base;
} qpair_t;

static int qpair_cmp(const void *x, const void *y)
{
    const qpair_t *a = x, *b = y;
    int c = strcmp(a->base + a->key, b->base + b->key);
    return c ? c : strcmp(a->base + a->val, b->base + b->val);
}

/* Each name=value decoded, encoded again, sorted by name then value. */
static void put_canonical_query(buf_t *b, const char *query)
{
    if (!query || !*query)
        return;
    size_t n = strlen(query), np = 0;
    buf_t enc = {0};
    char *tmp = malloc(n + 1);
    qpair_t *pairs = malloc((n / 2 + 1) * sizeof *pairs);
    for (const char *p = query; tmp && pairs && *p;) {
        size_t l = strcspn(p, "&");
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            pairs[np].key = enc.len;
            put_encoded(&enc, tmp, pct_decode(p, kl, tmp), 0);
            put(&enc, "", 1);   /* the NUL between name and value */
            pairs[np].val = enc.len;
            if (eq)
                put_encoded(&enc, tmp, pct_decode(eq + 1, l - kl - 1, tmp), 0);
            put(&enc, "", 1);
            np++;
        }
        p += l + (p[l] == '&');
    }
    if (!tmp || !pairs || enc.oom) {
        b->oom = 1;
    } else {
        for (size_t i = 0; i < np; i++)
            pairs[i].base = enc.p;
        qsort(pairs, np, sizeof *pairs, qpair_cmp);
        for (size_t i = 0; i < np; i++) {
            if (i)
                put(b, "&", 1);
            puts_(b, enc.p + pairs[i].key);
            put(b, "=", 1);
            puts_(b, enc.p + pairs[i].val);
        }
    }
    free(enc.p);
    free(tmp);
    free(pairs);
}

/* A header value trimmed, inner runs of white space made one space. */
static void put_trimmed(buf_t *b, const char *v)
{
    int first = 1;
    for (const char *p = v; *p;) {
        p += strspn(p, " \t");
        size_t l = strcspn(p, " \t");
        if (!l)
            break;
        if (!first)
            put(b, " ", 1);
        put(b, p, l);
        first = 0;
        p += l;
    }
}

/* Appends the canonical headers and signed headers lines; -1 naming the
 * first signed header the request lacks. */
static int put_canonical_headers(buf_t *b, const sigv4_request_t *req, const authz_t *a,
                                 char *msg)
{
    char name[128];
    for (size_t i = 0, start = 0; i <= a->sh_len; i++) {
        if (i < a->sh_len && a->signed_headers[i] != ';')
            continue;
        size_t l = i - start;
        if (copy_part(name, sizeof name, a->signed_headers + start, l) < 0) {
            snprintf(msg, SIGV4_MSG_MAX, "a signed header name is longer than %zu bytes",
                     sizeof name - 1);
            return -1;
        }
        const char *v = req->header(req->header_ud, name);
        if (!v) {
            snprintf(msg, SIGV4_MSG_MAX, "The request signature we calculated does not match "
                     "the signature you provided: signed header '%s' is not in the request", name);
            return -1;
        }
        puts_(b, name);
        put(b, ":", 1);
        put_trimmed(b, v);
        put(b, "\n", 1);
        start = i + 1;
    }
    put(b, "\n", 1);
    put(b, a->signed_headers, a->sh_len);
    put(b, "\n", 1);
    return 0;
}

/* ---- verification ------------------------------------------------------- */

/* The request's time and its basic-format stamp, from X-Amz-Date or Date. */
static int request_time(const sigv4_request_t *req, int64_t *t, char stamp[STAMP_LEN + 1],
                        char *msg)
{
    const char *xd = req->header(req->header_ud, "x-amz-date");
    const char *d = xd ? NULL : req->header(req->header_ud, "date");
    if (!xd && !d) {
        snprintf(msg, SIGV4_MSG_MAX, "Authorization header requires existence of either a "
                 "'X-Amz-Date' or a 'Date' header.");
        return -1;
    }
    if (xd ? parse_basic(xd, t) : parse_http_date(d, t)) {
        snprintf(msg, SIGV4_MSG_MAX, xd ? "X-Amz-Date must be in the ISO-8601 basic format "
                 "YYYYMMDD'T'HHMMSS'Z'" : "Date must be an HTTP date such as 'Sun, 30 Aug 2015 "
                 "12:36:00 GMT'");
        return -1;
    }
    format_basic(*t, stamp);
    return 0;
}

/* Checks X-Amz-Content-Sha256 when present and gives the payload hash the
 * canonical request ends with. */
static int payload_hash(const sigv4_request_t *req, char out[2 * SHA256_DIGEST_SIZE + 1],
                        char *msg)
{
    sha256_hex(req->body_len ? req->body : "", req->body_len, out);
    const char *claimed = req->header(req->header_ud, "x-amz-content-sha256");
    if (!claimed)
        return SIGV4_OK;
    if (strcmp(claimed, "UNSIGNED-PAYLOAD") == 0 || strncmp(claimed, "STREAMING-", 10) == 0) {
        snprintf(msg, SIGV4_MSG_MAX, "x-amz-content-sha256 '%.40s' is not accepted: the body "
                 "must be signed", claimed);
        return SIGV4_ERR_MALFORMED;
    }
    if (strcasecmp(claimed, out) != 0) {
        snprintf(msg, SIGV4_MSG_MAX, "The provided 'x-amz-content-sha256' header does not "
                 "match what was computed.");
        return SIGV4_ERR_MISMATCH;
    }
    memcpy(out, claimed, 2 * SHA256_DIGEST_SIZE);
    return SIGV4_OK;
}

/* The scope's date, service and terminator against the request's. */
static int check_scope(const authz_t *a, const char *stamp, const char *service, char *msg)
{
    if (strncmp(a->date, stamp, 8) != 0) {
        snprintf(msg, SIGV4_MSG_MAX, "Date in Credential scope does not match YYYYMMDD from "
                 "ISO-8601 version of date from HTTP: '%s' != '%.8s', from '%s'.", a->date,
                 stamp, stamp);
        return SIGV4_ERR_MISMATCH;
    }
    if (strcmp(a->terminator, TERMINATOR) != 0) {
        snprintf(msg, SIGV4_MSG_MAX, "Credential should be scoped with a valid terminator: '"
                 TERMINATOR "', not '%s'.", a->terminator);
        return SIGV4_ERR_MALFORMED;
    }
    if (service && strcmp(a->service, service) != 0) {
        snprintf(msg, SIGV4_MSG_MAX, "Credential should be scoped to correct service: '%s'.",
                 service);
        return SIGV4_ERR_MISMATCH;
    }
    return SIGV4_OK;
}

static int check_skew(int64_t t, const char *stamp, const sigv4_verifier_t *v, char *msg)
{
    char lo[STAMP_LEN + 1], hi[STAMP_LEN + 1], now[STAMP_LEN + 1];
    format_basic(v->now, now);
    if (t < v->now - v->skew) {
        format_basic(v->now - v->skew, lo);
        snprintf(msg, SIGV4_MSG_MAX, "Signature expired: %s is now earlier than %s (%s - %d "
                 "min.)", stamp, lo, now, v->skew / 60);
        return SIGV4_ERR_EXPIRED;
    }
    if (t > v->now + v->skew) {
        format_basic(v->now + v->skew, hi);
        snprintf(msg, SIGV4_MSG_MAX, "Signature not yet current: %s is still later than %s (%s "
                 "+ %d min.)", stamp, hi, now, v->skew / 60);
        return SIGV4_ERR_EXPIRED;
    }
    return SIGV4_OK;
}

/* The signature of `sts` under the key derived from `secret`. */
static int sign(const char *secret, const authz_t *a, const char *sts,
                uint8_t sig[SHA256_DIGEST_SIZE])
{
    size_t sl = strlen(secret);
    uint8_t *k0 = malloc(sl + 4);
    if (!k0)
        return SIGV4_ERR_NOMEM;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl);
    uint8_t k[SHA256_DIGEST_SIZE];
    hmac(k0, sl + 4, a->date, strlen(a->date), k);
    explicit_bzero(k0, sl + 4);
    free(k0);
    hmac(k, sizeof k, a->region, strlen(a->region), k);
    hmac(k, sizeof k, a->service, strlen(a->service), k);
    hmac(k, sizeof k, TERMINATOR, strlen(TERMINATOR), k);
    hmac(k, sizeof k, sts, strlen(sts), sig);
    explicit_bzero(k, sizeof k);
    return SIGV4_OK;
}

/* The canonical request's hash, then the string to sign, into sts. */
static int string_to_sign(const sigv4_request_t *req, const authz_t *a, const char *stamp,
                          const char *payload, buf_t *sts, char *msg)
{
    buf_t c = {0};
    puts_(&c, req->method);
    put(&c, "\n", 1);
    put_canonical_path(&c, req->path);
    put(&c, "\n", 1);
    put_canonical_query(&c, req->query);
    put(&c, "\n", 1);
    int rc = put_canonical_headers(&c, req, a, msg);
    puts_(&c, payload);
    if (rc == 0 && !c.oom) {
        char h[2 * SHA256_DIGEST_SIZE + 1];
        sha256_hex(c.p, c.len, h);
        puts_(sts, ALGORITHM "\n");
        puts_(sts, stamp);
        put(sts, "\n", 1);
        const char *parts[] = {a->date, a->region, a->service, TERMINATOR};
        for (int i = 0; i < 4; i++) {
            puts_(sts, parts[i]);
            put(sts, i < 3 ? "/" : "\n", 1);
        }
        puts_(sts, h);
    }
    free(c.p);
    if (rc < 0)
        return SIGV4_ERR_MISMATCH;
    return c.oom || sts->oom ? SIGV4_ERR_NOMEM : SIGV4_OK;
}

int sigv4_verify(const sigv4_request_t *req, const sigv4_verifier_t *v, sigv4_result_t *out)
{
    memset(out, 0, sizeof *out);
    char *msg = out->message;
    const char *h = req->header(req->header_ud, "authorization");
    if (!h) {
        snprintf(msg, SIGV4_MSG_MAX, "Missing Authentication Token: sign the request with "
                 "AWS Signature Version 4");
        return SIGV4_ERR_MISSING;
    }
    authz_t a;
    if (parse_authz(h, &a, msg) < 0)
        return SIGV4_ERR_MALFORMED;
    memcpy(out->key_id, a.key_id, sizeof out->key_id);
    int64_t t;
    char stamp[STAMP_LEN + 1], payload[2 * SHA256_DIGEST_SIZE + 1];
    if (request_time(req, &t, stamp, msg) < 0)
        return SIGV4_ERR_MALFORMED;
    int rc = check_scope(&a, stamp, v->service, msg);
    if (rc)
        return rc;
    const char *secret = v->secret(v->secret_ud, a.key_id);
    if (!secret) {
        snprintf(msg, SIGV4_MSG_MAX, "The security token included in the request is invalid.");
        return SIGV4_ERR_UNKNOWN_KEY;
    }
    if ((rc = check_skew(t, stamp, v, msg)) || (rc = payload_hash(req, payload, msg)))
        return rc;
    buf_t sts = {0};
    uint8_t want[SHA256_DIGEST_SIZE], got[SHA256_DIGEST_SIZE];
    rc = string_to_sign(req, &a, stamp, payload, &sts, msg);
    if (rc == SIGV4_OK)
        rc = sign(secret, &a, sts.p, want);
    free(sts.p);
    if (rc == SIGV4_ERR_NOMEM)
        snprintf(msg, SIGV4_MSG_MAX, "out of memory");
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof got; i++)
        got[i] = (uint8_t)(hexval(a.signature[2 * i]) << 4 | hexval(a.signature[2 * i + 1]));
    int same = memeql_sec(want, got, sizeof want);
    explicit_bzero(want, sizeof want);
    if (!same) {
        snprintf(msg, SIGV4_MSG_MAX, "The request signature we calculated does not match the "
                 "signature you provided. Check your AWS Secret Access Key and signing method.");
        return SIGV4_ERR_MISMATCH;
    }
    return SIGV4_OK;
}

const char *sigv4_error_type(int status)
{
    switch (status) {
    case SIGV4_ERR_MISSING: return "MissingAuthenticationTokenException";
    case SIGV4_ERR_MALFORMED: return "IncompleteSignatureException";
    case SIGV4_ERR_UNKNOWN_KEY: return "UnrecognizedClientException";
    case SIGV4_ERR_MISMATCH:
    case SIGV4_ERR_EXPIRED: return "InvalidSignatureException";
    case SIGV4_OK: return "";
    default: return "InternalFailure";
    }
}

int sigv4_http_status(int status)
{
    switch (status) {
    case SIGV4_OK: return 200;
    case SIGV4_ERR_MISSING: return 403;
    case SIGV4_ERR_NOMEM: return 500;
    default: return 400;
    }
}
