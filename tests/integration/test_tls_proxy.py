"""TLS through a reverse proxy, as docs/operations.md shows it: the nginx
server block from the docs, run for real by Debian's nginx with a fresh
self-signed certificate, in front of a real sagad; the quick start (an
order, then its execution) goes through it over HTTPS, with bearer tokens,
ETag revalidation and a long poll."""
import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time

from harness import ROOT, Daemon, DaemonTestCase, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}


def docs_server_block():
    with open(os.path.join(ROOT, "docs", "operations.md")) as f:
        text = f.read()
    m = re.search(r"## TLS: a reverse proxy in front.*?```nginx\n(.*?)```", text, re.S)
    assert m, "docs/operations.md has no nginx block under its TLS section"
    return m.group(1)


class TlsProxy(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="sagad-tls-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cert = os.path.join(self.tmp, "cert.pem")
        key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", key, "-out", self.cert], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token = "tls-test-token"
        tokens = os.path.join(self.tmp, "tokens")
        with open(tokens, "w") as f:
            f.write("client admin sha256:%s\n" % hashlib.sha256(self.token.encode()).hexdigest())
        self.d = self.daemon(auth_tokens_file=tokens, payment_failure_rate=0)
        self.port = free_port()
        block = docs_server_block()
        block = block.replace("listen 8443 ssl;", "listen 127.0.0.1:%d ssl;" % self.port)
        block = block.replace("/etc/ssl/sagad/fullchain.pem", self.cert)
        block = block.replace("/etc/ssl/sagad/privkey.pem", key)
        block = block.replace("http://127.0.0.1:8080", "http://127.0.0.1:%d" % self.d.port)
        self.assertIn(str(self.d.port), block)
        conf = os.path.join(self.tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write("worker_processes 1;\nerror_log %s/error.log;\npid %s/nginx.pid;\n"
                    "events { worker_connections 64; }\nhttp {\n"
                    "access_log off;\nclient_body_temp_path %s;\nproxy_temp_path %s;\n%s}\n"
                    % (self.tmp, self.tmp, self.tmp, self.tmp, block))
        self.nginx = subprocess.Popen([NGINX, "-c", conf, "-p", self.tmp, "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.stop_nginx)
        self.ctx = ssl.create_default_context(cafile=self.cert)
        deadline = time.time() + 10
        while True:
            try:
                self.request("GET", "/healthz")
                break
            except OSError:
                if self.nginx.poll() is not None or time.time() > deadline:
                    raise AssertionError("nginx did not start: %s" % self.nginx.stderr.read())
                time.sleep(0.1)

    def stop_nginx(self):
        if self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(10)

    def request(self, method, path, body=None, headers=None, token=True):
        c = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=30)
        try:
            h = dict(headers or {})
            if token:
                h["Authorization"] = "Bearer " + self.token
            if body is not None:
                body = json.dumps(body)
                h["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, \
                (json.loads(data) if data else None)
        finally:
            c.close()

    def test_quick_start_through_tls(self):
        st, _, h = self.request("GET", "/healthz", token=False)
        self.assertEqual((st, h["status"]), (200, "ok"))
        # Without the token the proxy passes sagad's 401 through.
        st, hdr, _ = self.request("POST", "/order", {"itemId": "coffee-beans", "quantity": 1},
                                  token=False)
        self.assertEqual(st, 401)
        self.assertTrue(hdr["www-authenticate"].startswith("Bearer"))
        st, _, desc = self.request("POST", "/order?wait=10", ORDER)
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)
        path = "/executions/" + desc["executionId"]
        st, hdr, again = self.request("GET", path)
        self.assertEqual((st, again["status"]), (200, "SUCCEEDED"))
        st, _, _ = self.request("GET", path, headers={"If-None-Match": hdr["etag"]})
        self.assertEqual(st, 304, "ETag revalidation passes the proxy")
        self.assertEqual(self.d.request("GET", "/stock/coffee-beans",
                                        headers={"Authorization": "Bearer " + self.token})[2]
                         ["quantity"], 4)

    def test_long_poll_through_tls(self):
        st, _, _ = self.request("PUT", "/state-machines/nap", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "End": True}}})
        self.assertEqual(st, 201)
        st, _, b = self.request("POST", "/state-machines/nap/executions", {"input": {}})
        t0 = time.time()
        st, _, d = self.request("GET", "/executions/%s?wait=20" % b["executionId"])
        self.assertEqual((st, d["status"]), (200, "SUCCEEDED"))
        self.assertGreater(time.time() - t0, 1.0)
