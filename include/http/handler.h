/* What a route leads to: the request type (opaque) and the handler signature,
 * shared by the router, which stores handlers, and the server, which calls
 * them, so that neither header needs the other. */
#ifndef SAGAD_HTTP_HANDLER_H
#define SAGAD_HTTP_HANDLER_H

typedef struct http_request_s http_request_t;

/* Called once per complete request whose method and path match a route.
 * The handler must eventually call exactly one http_respond* on `req`. */
typedef void (*http_handler_fn)(http_request_t *req, void *ud);

#endif
