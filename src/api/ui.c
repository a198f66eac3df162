/* Serves the web console compiled in by src/ui/assets.S: the assets by name
 * with a strong ETag each (a reload revalidates them for a 304), index.html
 * for every other /ui/... path (the app routes on the client), and a
 * Content-Security-Policy that allows only our own scripts. */
#include "api/ui.h"

#include <stddef.h>

extern const char ui_asset_index_html[], ui_asset_index_html_end[];
extern const char ui_asset_app_js[], ui_asset_app_js_end[];
extern const char ui_asset_execution_js[], ui_asset_execution_js_end[];
extern const char ui_asset_app_css[], ui_asset_app_css_end[];
extern const char ui_asset_favicon_svg[], ui_asset_favicon_svg_end[];

/* Scripts and styles only from /ui/; inline style attributes stay allowed
 * because the graph SVG the app inlines carries them. */
#define UI_CSP "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " \
               "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " \
               "form-action 'self'"

typedef struct ui_asset_s {
    const char *content_type;
    const char *start;
    const char *end;
    int tagged;      /* answered with an ETag (and 304s) */
} ui_asset_t;

typedef enum ui_asset_id_e {
    UI_INDEX = 0,
    UI_APP_JS,
    UI_EXECUTION_JS,
    UI_APP_CSS,
    UI_FAVICON,
    UI_ASSET_COUNT
} ui_asset_id_t;

/* The files are constant, so one table for the process (not const: routes
 * take a plain pointer). */
static ui_asset_t assets[UI_ASSET_COUNT] = {
    [UI_INDEX] = {"text/html; charset=utf-8", ui_asset_index_html, ui_asset_index_html_end, 0},
    [UI_APP_JS] = {"text/javascript; charset=utf-8", ui_asset_app_js, ui_asset_app_js_end, 1},
    [UI_EXECUTION_JS] = {"text/javascript; charset=utf-8", ui_asset_execution_js,
                          ui_asset_execution_js_end, 1},
    [UI_APP_CSS] = {"text/css; charset=utf-8", ui_asset_app_css, ui_asset_app_css_end, 1},
    [UI_FAVICON] = {"image/svg+xml", ui_asset_favicon_svg, ui_asset_favicon_svg_end, 1},
};

/* The files' ETags and 304s are http_respond_tagged's (a hash of the body,
 * as for every JSON answer); the page itself gets no validator, so that a
 * navigation always gets a 200, never a 304 that tools driving a browser
 * take for an error. */
static void on_asset(http_request_t *req, void *ud)
{
    const ui_asset_t *a = ud;
    http_response_header(req, "X-Content-Type-Options", "nosniff");
    http_response_header(req, "Content-Security-Policy", UI_CSP);
    size_t len = (size_t)(a->end - a->start);
    if (a->tagged) {
        http_respond_tagged(req, a->content_type, a->start, len);
        return;
    }
    http_response_header(req, "Cache-Control", "no-cache");
    http_respond(req, 200, a->content_type, a->start, len);
}

/* /ui without the slash: one address for the page, /ui/. */
static void on_redirect(http_request_t *req, void *ud)
{
    (void)ud;
    http_response_header(req, "Location", "/ui/");
    http_respond_error(req, 301, "MovedPermanently", "the console is at /ui/");
}

static int route_both(http_server_t *srv, const char *pattern, http_handler_fn fn, void *ud)
{
    if (http_server_route(srv, "GET", pattern, fn, ud) < 0)
        return -1;
    return http_server_route(srv, "HEAD", pattern, fn, ud);
}

int api_ui_register(http_server_t *srv)
{
    int rc = 0;
    rc |= route_both(srv, "/ui", on_redirect, NULL);
    rc |= route_both(srv, "/ui/{rest*}", on_asset, &assets[UI_INDEX]);
    rc |= route_both(srv, "/ui/app.js", on_asset, &assets[UI_APP_JS]);
    rc |= route_both(srv, "/ui/execution.js", on_asset, &assets[UI_EXECUTION_JS]);
    rc |= route_both(srv, "/ui/app.css", on_asset, &assets[UI_APP_CSS]);
    rc |= route_both(srv, "/ui/favicon.svg", on_asset, &assets[UI_FAVICON]);
    rc |= route_both(srv, "/favicon.ico", on_asset, &assets[UI_FAVICON]);
    return rc < 0 ? -1 : 0;
}
