/* Placeholder until the real server lands: refuses to start. */
#include "http/server.h"

#include <stdio.h>

int http_server_start(uv_loop_t *loop, const http_config_t *cfg, http_server_t **out,
                      char *err, size_t errlen)
{
    (void)loop; (void)cfg; (void)out;
    snprintf(err, errlen, "not implemented");
    return UV_ENOSYS;
}
int http_server_route(http_server_t *srv, const char *method, const char *pattern,
                      http_handler_fn fn, void *ud)
{
    (void)srv; (void)method; (void)pattern; (void)fn; (void)ud;
    return -1;
}
int http_server_port(const http_server_t *srv) { (void)srv; return 0; }
void http_server_close(http_server_t *srv, void (*done)(void *ud), void *ud) { (void)srv; done(ud); }
void http_respond_json(http_request_t *req, int status, const cJSON *json)
{
    (void)req; (void)status; (void)json;
}
