/* AWS Signature Version 4 verification (header form, AWS4-HMAC-SHA256), as
 * every AWS client signs its requests. Pure: the request, the clock and the
 * credentials are handed in; nothing is read, logged or kept. */
#ifndef SAGAD_API_SIGV4_H
#define SAGAD_API_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#define SIGV4_SKEW_DEFAULT 900     /* AWS accepts requests dated +-15 minutes */
#define SIGV4_KEY_ID_MAX 128       /* longest access key id */
#define SIGV4_MSG_MAX 512

/* Why a request is refused; each maps to one AWS error type (sigv4_error_type). */
typedef enum {
    SIGV4_OK = 0,
    SIGV4_ERR_MISSING = -1,     /* no Authorization header */
    SIGV4_ERR_MALFORMED = -2,   /* Authorization, date or scope not as SigV4 says */
    SIGV4_ERR_UNKNOWN_KEY = -3, /* the access key id is not configured */
    SIGV4_ERR_MISMATCH = -4,    /* the signature (or x-amz-content-sha256) is wrong */
    SIGV4_ERR_EXPIRED = -5,     /* dated outside now +- skew */
    SIGV4_ERR_NOMEM = -6
} sigv4_status_t;

/* The value of the header `name` (lower case) or NULL when absent. A header
 * sent several times is its values joined by "," in the order received. */
typedef const char *(*sigv4_header_fn)(void *ud, const char *name);

/* The secret access key of `key_id`, or NULL when there is none. Borrowed
 * for the duration of sigv4_verify. */
typedef const char *(*sigv4_secret_fn)(void *ud, const char *key_id);

typedef struct sigv4_request_s {
    const char *method;
    const char *path;        /* as on the wire: not percent-decoded, no query */
    const char *query;       /* as on the wire, without '?'; NULL or "" when none */
    sigv4_header_fn header;
    void *header_ud;
    const void *body;        /* borrowed; NULL when body_len is 0 */
    size_t body_len;
} sigv4_request_t;

typedef struct sigv4_verifier_s {
    sigv4_secret_fn secret;
    void *secret_ud;
    int64_t now;             /* the clock: seconds since the epoch, UTC */
    int skew;                /* seconds either side of now (SIGV4_SKEW_DEFAULT) */
    const char *service;     /* the credential scope must name it; NULL: any */
} sigv4_verifier_t;

typedef struct sigv4_result_s {
    /* The access key id the request names (empty when it names none): the
     * verified one on success, otherwise for the caller's log. */
    char key_id[SIGV4_KEY_ID_MAX + 1];
    /* On failure, what is wrong, in AWS's words where AWS has words; never
     * contains a secret or a signature. */
    char message[SIGV4_MSG_MAX];
} sigv4_result_t;

/* Verifies the Authorization header of `req`: the canonical request (method,
 * path with dot segments removed and each byte but unreserved ones and '/'
 * percent-encoded, query pairs decoded, re-encoded and sorted, the signed
 * headers lower-cased with their values trimmed and inner runs of spaces
 * collapsed, the SHA-256 of the body), the string to sign with the
 * timestamp of X-Amz-Date or else Date, and the HMAC-SHA256 key chain from
 * the secret; the signatures are compared in constant time. A present
 * X-Amz-Content-Sha256 must be the body's SHA-256 (unsigned and streaming
 * payloads are refused). Returns SIGV4_OK with out->key_id set, or a
 * negative sigv4_status_t with out->message set. */
int sigv4_verify(const sigv4_request_t *req, const sigv4_verifier_t *v, sigv4_result_t *out);

/* AWS's error type for a status of sigv4_verify: MissingAuthenticationTokenException,
 * IncompleteSignatureException, UnrecognizedClientException,
 * InvalidSignatureException (mismatch and expiry), InternalFailure. */
const char *sigv4_error_type(int status);

/* The HTTP status AWS answers with for that error: 403 for a missing
 * signature, 500 for SIGV4_ERR_NOMEM, otherwise 400. */
int sigv4_http_status(int status);

#endif
