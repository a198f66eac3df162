"""The web console as sagad serves it: index.html for every /ui/... path (deep
links at any depth, never a 304), the compiled-in assets byte for byte with
their content types, strong ETags and 304s, the /ui redirect, /favicon.ico, the
Content-Security-Policy, HEAD, and the API's 404 outside /ui."""
import os
import re
import unittest

from harness import ROOT, DaemonTestCase

UI_DIR = os.path.join(ROOT, "ui")
ASSETS = {
    "/ui/app.js": ("app.js", "text/javascript"),
    "/ui/execution.js": ("execution.js", "text/javascript"),
    "/ui/app.css": ("app.css", "text/css"),
    "/ui/favicon.svg": ("favicon.svg", "image/svg+xml"),
    "/favicon.ico": ("favicon.svg", "image/svg+xml"),
}


def ui_file(name):
    with open(os.path.join(UI_DIR, name), "rb") as f:
        return f.read()


class UiTest(DaemonTestCase):
    def get(self, d, path, headers=None, method="GET"):
        c = d.conn()
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def test_every_ui_path_is_the_app_page(self):
        d = self.daemon()
        index = ui_file("index.html")
        deep = "/ui" + "/x" * 40
        for path in ("/ui/", "/ui/executions", "/ui/executions/abc",
                     "/ui/executions/abc/", "/ui/state-machines/order",
                     "/ui/state-machines/a%20b/versions/2", "/ui/executions?status=FAILED",
                     deep):
            status, h, body = self.get(d, path)
            self.assertEqual(status, 200, path)
            self.assertEqual(h["content-type"], "text/html; charset=utf-8", path)
            self.assertEqual(body, index, path)
            self.assertEqual(h["cache-control"], "no-cache", path)

    def test_page_loads_assets_by_absolute_path_and_no_inline_script(self):
        index = ui_file("index.html").decode()
        refs = re.findall(r'(?:src|href)="([^"]*)"', index)
        self.assertIn("/ui/app.js", refs)
        self.assertIn("/ui/execution.js", refs)
        self.assertIn("/ui/app.css", refs)
        self.assertIn("/ui/favicon.svg", refs)
        for ref in refs:
            self.assertTrue(ref.startswith("/ui/") or ref.startswith("#"), ref)
        for tag in re.findall(r"<script[^>]*>[^<]*</script>", index):
            self.assertRegex(tag, r'^<script src="[^"]+"[^>]*></script>$')

    def test_assets_with_their_content_types(self):
        d = self.daemon()
        for path, (name, ctype) in ASSETS.items():
            status, h, body = self.get(d, path)
            self.assertEqual(status, 200, path)
            self.assertTrue(h["content-type"].startswith(ctype), (path, h["content-type"]))
            self.assertEqual(body, ui_file(name), path)
            self.assertEqual(int(h["content-length"]), len(body), path)
            self.assertEqual(h["cache-control"], "no-cache", path)
            self.assertEqual(h["x-content-type-options"], "nosniff", path)

    def test_strong_etags_and_304(self):
        d = self.daemon()
        tags = {}
        for path in ("/ui/app.js", "/ui/execution.js", "/ui/app.css", "/ui/favicon.svg"):
            status, h, _ = self.get(d, path)
            tag = h["etag"]
            self.assertRegex(tag, r'^"[0-9a-f]{16,}"$', path)   # strong: no W/
            self.assertEqual(self.get(d, path)[1]["etag"], tag, "stable")
            tags[path] = tag
            for inm in (tag, f'"nope", {tag}', f"W/{tag}", "*"):
                status, h2, body = self.get(d, path, {"If-None-Match": inm})
                self.assertEqual(status, 304, (path, inm))
                self.assertEqual(body, b"")
                self.assertEqual(h2["etag"], tag)
            status, _, body = self.get(d, path, {"If-None-Match": '"00000000000000000000000000000000"'})
            self.assertEqual(status, 200, path)
            self.assertTrue(body)
        self.assertEqual(len(set(tags.values())), 4, "each file has its own tag")
        # The page (any deep link) has no validator: a navigation is always a 200.
        for path in ("/ui/", "/ui/executions/x"):
            status, h, body = self.get(d, path, {"If-None-Match": "*"})
            self.assertEqual(status, 200, path)
            self.assertNotIn("etag", h, path)
            self.assertEqual(body, ui_file("index.html"))

    def test_ui_without_slash_redirects(self):
        d = self.daemon()
        for method in ("GET", "HEAD"):
            status, h, _ = self.get(d, "/ui", method=method)
            self.assertEqual(status, 301, method)
            self.assertEqual(h["location"], "/ui/")

    def test_content_security_policy(self):
        d = self.daemon()
        for path in ("/ui/", "/ui/executions/abc", "/ui/app.js"):
            csp = self.get(d, path)[1]["content-security-policy"]
            directives = {p.split()[0]: p.split()[1:] for p in csp.split(";") if p.strip()}
            self.assertEqual(directives["default-src"], ["'self'"], path)
            self.assertEqual(directives["script-src"], ["'self'"], "no inline scripts")
            self.assertEqual(directives["img-src"], ["'self'", "data:"])
            self.assertEqual(directives["frame-ancestors"], ["'none'"])

    def test_head_answers_headers_only(self):
        d = self.daemon()
        for path in ("/ui/", "/ui/executions/abc", "/ui/app.js", "/favicon.ico"):
            _, get_h, get_body = self.get(d, path)
            status, h, body = self.get(d, path, method="HEAD")
            self.assertEqual(status, 200, path)
            self.assertEqual(body, b"", path)
            self.assertEqual(int(h["content-length"]), len(get_body), path)
            self.assertEqual(h.get("etag"), get_h.get("etag"), path)
            self.assertEqual(h["content-type"], get_h["content-type"], path)

    def test_outside_ui_is_still_the_api(self):
        d = self.daemon()
        for path in ("/uix", "/uix/executions", "/nope/ui/x", "/executions/x/y/z"):
            status, h, body = d.request("GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(h["content-type"], "application/json", path)
            self.assertEqual(body["error"], "NotFound", path)
        status, h, body = d.request("POST", "/ui/executions", body={})
        self.assertEqual(status, 405)
        self.assertEqual(h["allow"], "GET, HEAD")
        # The API next to the console answers as before.
        self.assertEqual(d.request("GET", "/healthz")[0], 200)


if __name__ == "__main__":
    unittest.main()
