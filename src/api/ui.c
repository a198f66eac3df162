/* Serves the web console compiled in by src/ui/assets.S: the assets by name
 * with a strong ETag each (a reload revalidates them for a 304), index.html
 * for every other /ui/... path (the app routes on the client), and a
 * Content-Security-Policy that allows only our own scripts. */
#include "api/ui.h"
#include "core/hash.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
    char etag[24];   /* "\"" 16 hex digits "\"", or "" for none */
} ui_asset_t;

typedef enum ui_asset_id_e {
    UI_INDEX = 0,
    UI_APP_JS,
    UI_EXECUTION_JS,
    UI_APP_CSS,
    UI_FAVICON,
    UI_ASSET_COUNT
} ui_asset_id_t;

/* The files are constant, so one table for the process. */
static ui_asset_t assets[UI_ASSET_COUNT] = {
    [UI_INDEX] = {"text/html; charset=utf-8", ui_asset_index_html, ui_asset_index_html_end, ""},
    [UI_APP_JS] = {"text/javascript; charset=utf-8", ui_asset_app_js, ui_asset_app_js_end, ""},
    [UI_EXECUTION_JS] = {"text/javascript; charset=utf-8", ui_asset_execution_js,
                          ui_asset_execution_js_end, ""},
    [UI_APP_CSS] = {"text/css; charset=utf-8", ui_asset_app_css, ui_asset_app_css_end, ""},
    [UI_FAVICON] = {"image/svg+xml", ui_asset_favicon_svg, ui_asset_favicon_svg_end, ""},
};

/* Whether an If-None-Match value ("*", or a list of tags, weak or not)
 * names `etag`: the weak comparison, as RFC 9110 asks for If-None-Match. */
static int etag_listed(const char *header, const char *etag)
{
    size_t el = strlen(etag);
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == el && memcmp(p, etag, el) == 0)
            return 1;
        p = e;
    }
    return 0;
}

static void respond_asset(http_request_t *req, const ui_asset_t *a)
{
    if (a->etag[0])
        http_response_header(req, "ETag", a->etag);
    http_response_header(req, "Cache-Control", "no-cache");
    http_response_header(req, "X-Content-Type-Options", "nosniff");
    http_response_header(req, "Content-Security-Policy", UI_CSP);
    const char *inm = http_request_header(req, "If-None-Match");
    if (inm && a->etag[0] && etag_listed(inm, a->etag)) {
        http_respond(req, 304, NULL, NULL, 0);
        return;
    }
    http_respond(req, 200, a->content_type, a->start, (size_t)(a->end - a->start));
}

static void on_asset(http_request_t *req, void *ud)
{
    respond_asset(req, ud);
}

/* /ui without the slash: the page's relative links need the directory form. */
static void on_redirect(http_request_t *req, void *ud)
{
    (void)ud;
    http_response_header(req, "Location", "/ui/");
    http_respond_error(req, 301, "MovedPermanently", "the console is at /ui/");
}

static int route_both(http_server_t *srv, const char *pattern, http_handler_fn fn, void *ud)
{
    return http_server_route(srv, "GET", pattern, fn, ud) < 0 ||
                   http_server_route(srv, "HEAD", pattern, fn, ud) < 0
               ? -1
               : 0;
}

int api_ui_register(http_server_t *srv)
{
    /* The page itself (1 KB) has no validator: a navigation always gets a
     * 200, never a 304 that tools driving the browser take for an error. */
    for (int i = UI_INDEX + 1; i < UI_ASSET_COUNT; i++) {
        ui_asset_t *a = &assets[i];
        uint64_t h = hash_bytes(HASH_FNV1A_BASIS, a->start, (size_t)(a->end - a->start));
        snprintf(a->etag, sizeof a->etag, "\"%016" PRIx64 "\"", h);
    }
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
