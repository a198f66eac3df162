/* The web console: its files (ui/ at the repository root) compiled into the
 * binary and served under /ui/, every other /ui/... path answering the app's
 * page so that each view has a deep link. */
#ifndef SAGAD_API_UI_H
#define SAGAD_API_UI_H

#include "http/server.h"

/* GET and HEAD on /ui (a redirect to /ui/), /ui/{rest*} (index.html),
 * /ui/app.js, /ui/execution.js, /ui/app.css, /ui/favicon.svg and
 * /favicon.ico, all with Cache-Control: no-cache and a
 * Content-Security-Policy. Each file but the page has a strong ETag (as
 * http_respond_tagged gives); a matching If-None-Match gets 304.
 * Returns 0 or -1. */
int api_ui_register(http_server_t *srv);

#endif
