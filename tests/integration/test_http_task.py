"""HTTP tasks (sagad:http.invoke) against a real local HTTP server running in
a thread of this process: the result's shape, Idempotency-Key, Retry on 503,
http_task_allow, connection refused, timeouts, bodies that are not JSON,
query encoding, TLS verification, and a kill -9 while a request is held."""
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import DaemonTestCase, free_port


class Server:
    """A ThreadingHTTPServer whose answers the test chooses per path. Every
    request is recorded as (method, path, headers, body)."""

    def __init__(self, tls_context=None):
        self.requests = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.release = threading.Event()
        self.flaky_left = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status, body, ctype="application/json", extra=()):
                data = body if isinstance(body, bytes) else body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in extra:
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client is gone (the crash test)

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = urllib.parse.urlsplit(self.path).path
                with owner.lock:
                    owner.requests.append((self.command, self.path, dict(self.headers), body))
                    count = sum(1 for r in owner.requests if r[1].startswith(path))
                    owner.arrived.notify_all()
                if path == "/json":
                    self._answer(200, json.dumps({"ok": True, "got": body.decode()}),
                                 extra=[("X-Multi", "a"), ("X-Multi", "b")])
                elif path == "/flaky":
                    with owner.lock:
                        fail = owner.flaky_left > 0
                        owner.flaky_left -= 1
                    if fail:
                        self._answer(503, "busy, try again", "text/plain")
                    else:
                        self._answer(200, '{"second": true}')
                elif path == "/text":
                    self._answer(200, "plain <b>text</b>", "text/plain; charset=utf-8")
                elif path == "/badjson":
                    self._answer(200, "{not json", "application/json")
                elif path == "/echo":
                    self._answer(200, json.dumps({"query": urllib.parse.urlsplit(self.path).query}))
                elif path == "/slow":
                    time.sleep(3)
                    self._answer(200, "{}")
                elif path == "/hold":
                    # The first request is held until the test releases it.
                    if count == 1:
                        owner.release.wait(30)
                    self._answer(200, json.dumps({"attempt": count}))
                elif path == "/big":
                    self._answer(200, b"x" * (1024 * 1024 + 1), "text/plain")
                elif path == "/notfound":
                    self._answer(404, json.dumps({"message": "no such order"}))
                else:
                    self._answer(500, "unexpected path")

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls_context:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def base(self, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}"

    def wait_requests(self, path, n, timeout=20):
        with self.lock:
            self.arrived.wait_for(
                lambda: sum(1 for r in self.requests if r[1].startswith(path)) >= n, timeout)
            return [r for r in self.requests if r[1].startswith(path)]

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def task_machine(params, extra=None, catch=None):
    task = {"Type": "Task", "Resource": "sagad:http.invoke", "Parameters": params, "End": True}
    task.update(extra or {})
    states = {"Call": task}
    if catch:
        del task["End"]
        task["Next"] = "Done"
        task["Catch"] = [{"ErrorEquals": catch, "Next": "Caught", "ResultPath": "$.error"}]
        states["Done"] = {"Type": "Succeed"}
        states["Caught"] = {"Type": "Pass", "Result": "caught", "ResultPath": "$.caught",
                            "End": True}
    return {"StartAt": "Call", "States": states}


class HttpTask(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.srv = Server()
        self.addCleanup(self.srv.close)
        self.d = self.daemon(http_task_allow=self.srv.base() + "/")

    def run_machine(self, name, machine, inp=None, d=None, timeout=20):
        d = d or self.d
        st, _, body = d.request("PUT", f"/state-machines/{name}", machine)
        self.assertIn(st, (200, 201), body)
        st, _, body = d.request("POST", f"/state-machines/{name}/executions",
                                {"input": inp or {}})
        self.assertEqual(st, 202, body)
        return d.wait_ended(body["executionId"], timeout)

    def test_200_json_result_shape_and_idempotency_key(self):
        desc = self.run_machine("ok", task_machine({
            "ApiEndpoint": self.srv.base() + "/json", "Method": "POST",
            "Headers": {"X-Custom": "yes", "X-Number": 7},
            "RequestBody": {"orderId": "o-1", "amount": 12}}))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        out = desc["output"]
        self.assertEqual(sorted(out), ["Headers", "ResponseBody", "StatusCode", "StatusText"])
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["StatusText"], "OK")
        self.assertEqual(out["Headers"]["content-type"], ["application/json"])
        self.assertEqual(out["Headers"]["x-multi"], ["a", "b"])
        self.assertEqual(out["ResponseBody"]["ok"], True)
        # The body went out as JSON, with the JSON content type.
        self.assertEqual(json.loads(out["ResponseBody"]["got"]), {"orderId": "o-1", "amount": 12})
        (method, _, headers, _), = self.srv.wait_requests("/json", 1)
        self.assertEqual(method, "POST")
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(headers["X-Custom"], "yes")
        self.assertEqual(headers["X-Number"], "7")
        # The key is the task token: "<execution id>:<state>:<entry>:<attempt>".
        self.assertRegex(headers["Idempotency-Key"], "^" + desc["executionId"] + r":Call:\d+:0$")
        _, _, metrics = self.d.request("GET", "/metrics")
        self.assertIn('sagad_http_task_responses_total{code="200",class="2xx"} 1', metrics)
        self.assertIn("sagad_http_task_duration_seconds_count 1", metrics)

    def test_503_then_retry_succeeds_with_a_key_per_attempt(self):
        self.srv.flaky_left = 1
        desc = self.run_machine("flaky", task_machine(
            {"ApiEndpoint": self.srv.base() + "/flaky", "Method": "GET"},
            {"Retry": [{"ErrorEquals": ["States.Http.StatusCode.503"], "IntervalSeconds": 1,
                        "MaxAttempts": 2}]}))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["ResponseBody"], {"second": True})
        reqs = self.srv.wait_requests("/flaky", 2)
        self.assertEqual(len(reqs), 2)
        keys = [r[2]["Idempotency-Key"] for r in reqs]
        # The key is the task token, which names the attempt: a retry is a new
        # request with a new key; only a resend of the same attempt (after a
        # crash) repeats one.
        eid = desc["executionId"]
        self.assertRegex(keys[0], "^" + eid + r":Call:\d+:0$")
        self.assertEqual(keys[1], keys[0][:-1] + "1")

    def test_non_2xx_error_name_and_cause(self):
        desc = self.run_machine("nf", task_machine(
            {"ApiEndpoint": self.srv.base() + "/notfound", "Method": "DELETE"}))
        self.assertEqual(desc["status"], "FAILED", desc)
        self.assertEqual(desc["error"], "States.Http.StatusCode.404")
        self.assertIn("404", desc["cause"])
        self.assertIn("no such order", desc["cause"])

    def test_host_not_allowed_is_forbidden_and_caught(self):
        desc = self.run_machine("forbidden", task_machine(
            {"ApiEndpoint": "http://localhost:1/elsewhere", "Method": "GET"},
            catch=["States.Http.Forbidden"]))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["caught"], "caught")
        self.assertEqual(desc["output"]["error"]["Error"], "States.Http.Forbidden")
        # A prefix admits its path and below, not a longer host or port.
        port = self.srv.port
        for url in (f"http://localhost:{port}/json", f"http://127.0.0.1.evil.example:{port}/json",
                    f"http://127.0.0.1:{port}@evil.example/json"):
            desc = self.run_machine("forbidden2", task_machine({"ApiEndpoint": url,
                                                                "Method": "GET"}))
            self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Http.Forbidden"),
                             url)
        _, _, metrics = self.d.request("GET", "/metrics")
        self.assertIn('sagad_http_task_errors_total{kind="forbidden"} 4', metrics)

    def test_empty_allow_list_refuses_every_http_task(self):
        d = self.daemon()
        desc = self.run_machine("none", task_machine(
            {"ApiEndpoint": self.srv.base() + "/json", "Method": "GET"}), d=d)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Http.Forbidden"))
        self.assertEqual(self.srv.requests, [])

    def test_connection_refused_is_socket_error(self):
        port = free_port()
        d = self.daemon(http_task_allow=f"http://127.0.0.1:{port}")
        desc = self.run_machine("refused", task_machine(
            {"ApiEndpoint": f"http://127.0.0.1:{port}/x", "Method": "GET"}), d=d)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Http.Socket"), desc)

    def test_timeout_seconds_cancels_the_request(self):
        t0 = time.time()
        desc = self.run_machine("slow", task_machine(
            {"ApiEndpoint": self.srv.base() + "/slow", "Method": "GET"}, {"TimeoutSeconds": 1}))
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Timeout"), desc)
        self.assertLess(time.time() - t0, 2.9)

    def test_http_task_timeout_ms_fails_with_states_timeout(self):
        d = self.daemon(http_task_allow=self.srv.base(), http_task_timeout_ms=300)
        desc = self.run_machine("slow2", task_machine(
            {"ApiEndpoint": self.srv.base() + "/slow", "Method": "GET"}), d=d)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Timeout"), desc)
        self.assertIn("http_task_timeout_ms", desc["cause"])

    def test_bodies_that_are_not_json_stay_strings(self):
        desc = self.run_machine("text", task_machine(
            {"ApiEndpoint": self.srv.base() + "/text", "Method": "PUT",
             "RequestBody": "raw body"}))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["ResponseBody"], "plain <b>text</b>")
        (_, _, headers, body), = self.srv.wait_requests("/text", 1)
        self.assertEqual(body, b"raw body")
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        desc = self.run_machine("badjson", task_machine(
            {"ApiEndpoint": self.srv.base() + "/badjson", "Method": "GET"}))
        self.assertEqual(desc["output"]["ResponseBody"], "{not json")

    def test_body_over_1_mib_fails_clearly(self):
        desc = self.run_machine("big", task_machine(
            {"ApiEndpoint": self.srv.base() + "/big", "Method": "GET"}))
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.TaskFailed"), desc)
        self.assertIn("larger than", desc["cause"])
        self.assertIn("1 MiB", desc["cause"])

    def test_query_parameters_are_url_encoded(self):
        desc = self.run_machine("query", task_machine(
            {"ApiEndpoint": self.srv.base() + "/echo?fixed=1", "Method": "GET",
             "QueryParameters": {"q": "a b&c=d/é", "n": [1, 2], "flag": True}}))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["ResponseBody"]["query"],
                         "fixed=1&q=a%20b%26c%3Dd%2F%C3%A9&n=1&n=2&flag=true")

    def test_bad_parameters_fail_clearly(self):
        cases = [
            ({"Method": "GET"}, "ApiEndpoint"),
            ({"ApiEndpoint": self.srv.base() + "/json"}, "Method"),
            ({"ApiEndpoint": self.srv.base() + "/json", "Method": "BREW"}, "BREW"),
            ({"ApiEndpoint": self.srv.base() + "/json", "Method": "GET",
              "Headers": {"Idempotency-Key": "mine"}}, "Idempotency-Key"),
            ({"ApiEndpoint": self.srv.base() + "/json", "Method": "GET",
              "Headers": {"X-Obj": {"a": 1}}}, "X-Obj"),
            ({"ApiEndpoint": self.srv.base() + "/json", "Method": "GET",
              "Authentication": {"ConnectionArn": "arn:x"}}, "Authentication"),
            ({"ApiEndpoint": "ftp://127.0.0.1/x", "Method": "GET"}, "URL"),
            # The cause quotes the name cut at 80 bytes, inside a character:
            # what is stored stays valid UTF-8.
            ({"ApiEndpoint": self.srv.base() + "/json", "Method": "GET",
              "Headers": {"a" + "\u00e9" * 50: "x"}}, "is not a header name"),
        ]
        for params, word in cases:
            desc = self.run_machine("bad", task_machine(params))
            self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.TaskFailed"),
                             params)
            self.assertIn(word, desc["cause"])
        self.assertEqual(self.srv.requests, [])

    def test_wait_for_task_token_sends_the_token_then_waits(self):
        machine = task_machine({"ApiEndpoint": self.srv.base() + "/json", "Method": "POST",
                                "RequestBody": {"token.$": "$$.Task.Token"}})
        machine["States"]["Call"]["Resource"] = "sagad:http.invoke.waitForTaskToken"
        st, _, body = self.d.request("PUT", "/state-machines/cb", machine)
        self.assertIn(st, (200, 201), body)
        st, _, body = self.d.request("POST", "/state-machines/cb/executions", {"input": {}})
        eid = body["executionId"]
        (_, _, headers, sent), = self.srv.wait_requests("/json", 1)
        token = json.loads(sent)["token"]
        self.assertRegex(token, "^[0-9a-f]{48}$")
        # The callback token is the key: the same one the service reports with.
        self.assertEqual(headers["Idempotency-Key"], token)
        time.sleep(0.3)
        _, _, desc = self.d.request("GET", f"/executions/{eid}")
        self.assertEqual(desc["status"], "RUNNING")
        st, _, body = self.d.request("POST", "/tasks/success",
                                     {"taskToken": token, "output": {"done": True}})
        self.assertEqual(st, 200, body)
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"done": True}))

    def start_callback(self, extra=None, catch=None):
        """A .waitForTaskToken HTTP task; returns (execution id, the token the
        local service received)."""
        machine = task_machine({"ApiEndpoint": self.srv.base() + "/json", "Method": "POST",
                                "RequestBody": {"token.$": "$$.Task.Token"}}, extra, catch)
        machine["States"]["Call"]["Resource"] = "sagad:http.invoke.waitForTaskToken"
        name = f"cb{len(self.srv.requests)}"
        st, _, body = self.d.request("PUT", f"/state-machines/{name}", machine)
        self.assertIn(st, (200, 201), body)
        before = len([r for r in self.srv.requests if r[1] == "/json"])
        st, _, body = self.d.request("POST", f"/state-machines/{name}/executions", {"input": {}})
        reqs = self.srv.wait_requests("/json", before + 1)
        return body["executionId"], json.loads(reqs[-1][3])["token"]

    def test_callback_failure_is_caught(self):
        eid, token = self.start_callback(catch=["Service.Refused"])
        st, _, _ = self.d.request("POST", "/tasks/failure", {"taskToken": token,
                                                             "error": "Service.Refused",
                                                             "cause": "no capacity"})
        self.assertEqual(st, 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual(desc["output"]["caught"], "caught")
        self.assertEqual(desc["output"]["error"], {"Error": "Service.Refused",
                                                   "Cause": "no capacity"})

    def test_callback_heartbeat_timeout(self):
        eid, token = self.start_callback(extra={"HeartbeatSeconds": 1})
        desc = self.d.wait_ended(eid, timeout=10)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.HeartbeatTimeout"))
        st, _, body = self.d.request("POST", "/tasks/success", {"taskToken": token, "output": 1})
        self.assertEqual((st, body["error"]), (404, "TaskDoesNotExist"))

    def test_callback_double_success_has_one_effect(self):
        eid, token = self.start_callback()
        first = self.d.request("POST", "/tasks/success", {"taskToken": token, "output": "one"})
        second = self.d.request("POST", "/tasks/success", {"taskToken": token, "output": "two"})
        self.assertEqual(first[0], 200)
        self.assertEqual((second[0], second[2]["error"]), (404, "TaskDoesNotExist"))
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", "one"))
        _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
        self.assertEqual([e["type"] for e in hist["events"]].count("TaskSucceeded"), 1)

    def test_config_rejects_a_bad_allow_list(self):
        from harness import Daemon
        for bad in ("ftp://x", "http://", "http://a,", "http://a?x=1"):
            d = Daemon(http_task_allow=bad)
            try:
                p = subprocess.run(d.argv(), stderr=subprocess.PIPE, timeout=10)
            finally:
                d.cleanup()
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"key 'http_task_allow'", p.stderr)


class HttpTaskTls(DaemonTestCase):
    @unittest.skipUnless(shutil.which("openssl"), "needs openssl to make a certificate")
    def test_untrusted_certificate_is_a_socket_error(self):
        tmp = tempfile.mkdtemp(prefix="sagad-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv = Server(ctx)
        self.addCleanup(srv.close)
        d = self.daemon(http_task_allow=srv.base("https"))
        st, _, _ = d.request("PUT", "/state-machines/tls", task_machine(
            {"ApiEndpoint": srv.base("https") + "/json", "Method": "GET"}))
        st, _, body = d.request("POST", "/state-machines/tls/executions", {"input": {}})
        desc = d.wait_ended(body["executionId"], 20)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Http.Socket"), desc)
        self.assertEqual(srv.requests, [])


class HttpTaskCrash(DaemonTestCase):
    def test_kill9_mid_request_resends_with_the_same_key(self):
        srv = Server()
        self.addCleanup(srv.close)
        d = self.daemon(http_task_allow=srv.base())
        st, _, _ = d.request("PUT", "/state-machines/hold", task_machine(
            {"ApiEndpoint": srv.base() + "/hold", "Method": "POST", "RequestBody": {"n": 1}}))
        st, _, body = d.request("POST", "/state-machines/hold/executions", {"input": {}})
        self.assertEqual(st, 202, body)
        eid = body["executionId"]
        first = srv.wait_requests("/hold", 1)
        self.assertEqual(len(first), 1)
        d.kill()
        srv.release.set()
        d.start()
        desc = d.wait_ended(eid, 20)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        reqs = srv.wait_requests("/hold", 2)
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[0][2]["Idempotency-Key"], reqs[1][2]["Idempotency-Key"])
        self.assertEqual(reqs[0][3], reqs[1][3])
        self.assertEqual(desc["output"]["ResponseBody"], {"attempt": 2})

    def test_sigterm_mid_request_stops_cleanly_and_resends(self):
        srv = Server()
        self.addCleanup(srv.close)
        d = self.daemon(http_task_allow=srv.base())
        d.request("PUT", "/state-machines/hold", task_machine(
            {"ApiEndpoint": srv.base() + "/hold", "Method": "GET"}))
        st, _, body = d.request("POST", "/state-machines/hold/executions", {"input": {}})
        eid = body["executionId"]
        srv.wait_requests("/hold", 1)
        # The request in flight is abandoned (its connection closed) and the
        # client's handles freed: exit 0 and, under ASan, nothing leaked.
        self.assertEqual(d.stop(), 0, d.stderr()[-3000:])
        self.assertIsNone(d.sanitizer_report(), d.sanitizer_report())
        srv.release.set()
        d.start()
        desc = d.wait_ended(eid, 20)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        reqs = srv.wait_requests("/hold", 2)
        self.assertEqual(reqs[0][2]["Idempotency-Key"], reqs[1][2]["Idempotency-Key"])


if __name__ == "__main__":
    unittest.main()
