"""Bearer tokens against a real sagad: the tokens file (hashes only), each
scope, 401 with WWW-Authenticate and 403, what stays open, reload on SIGHUP,
a bad file refused with its line, the refusal to listen off loopback
without tokens, and sagactl's --token / SAGAD_TOKEN."""
import hashlib
import os
import re
import signal
import subprocess
import time

from harness import Daemon, DaemonTestCase, binary

WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 300, "End": True}}}
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}

TOKENS = {
    "ops": ("admin", "ops-secret-1"),
    "shop": ("start,read", "shop-secret-2"),
    "viewer": ("read", "viewer-secret-3"),
    "worker": ("worker", "worker-secret-4"),
}


def line(name, scopes, token):
    return "%s %s sha256:%s\n" % (name, scopes, hashlib.sha256(token.encode()).hexdigest())


class Auth(DaemonTestCase):
    def write_tokens(self, path, entries, extra=""):
        with open(path, "w") as f:
            f.write("# who may call sagad\n\n" + extra)
            for name, (scopes, token) in entries.items():
                f.write(line(name, scopes, token))

    def start(self, entries=TOKENS, **opts):
        d = Daemon(**opts)
        self._daemons.append(d)
        self.tokens = os.path.join(d.dir, "tokens")
        self.write_tokens(self.tokens, entries)
        d.opts["auth_tokens_file"] = self.tokens
        d.start()
        self.d = d
        return d

    def call(self, method, path, body=None, who=None, raw_token=None):
        token = raw_token if raw_token is not None else (TOKENS[who][1] if who else None)
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.d.request(method, path, body, headers=headers)

    def test_the_file_holds_no_secret(self):
        self.start()
        text = open(self.tokens).read()
        for _, token in TOKENS.values():
            self.assertNotIn(token, text)

    def test_each_scope(self):
        self.start()
        st, _, _ = self.call("PUT", "/state-machines/w", WAIT, who="ops")
        self.assertEqual(st, 201)
        self.assertEqual(self.call("PUT", "/state-machines/p", PASS, who="ops")[0], 201)
        # start: shop may, viewer and worker may not.
        st, _, b = self.call("POST", "/state-machines/w/executions", {"input": {}}, who="shop")
        self.assertEqual(st, 202, b)
        eid = b["executionId"]
        for who in ("viewer", "worker"):
            st, _, err = self.call("POST", "/state-machines/w/executions", {"input": {}}, who=who)
            self.assertEqual((st, err["error"]), (403, "Forbidden"), who)
            self.assertIn("start", err["message"])
            self.assertIn(who, err["message"])
        # read: everyone with read; the worker token has none.
        for who in ("viewer", "shop", "ops"):
            self.assertEqual(self.call("GET", "/executions/" + eid, who=who)[0], 200, who)
        self.assertEqual(self.call("GET", "/executions", who="worker")[0], 403)
        self.assertEqual(self.call("GET", "/metrics", who="viewer")[0], 200)
        # admin only: definitions, stock, stop.
        for who in ("shop", "viewer", "worker"):
            self.assertEqual(self.call("PUT", "/state-machines/x", PASS, who=who)[0], 403, who)
            self.assertEqual(self.call("PUT", "/stock/beans", {"quantity": 1}, who=who)[0], 403)
            self.assertEqual(self.call("POST", "/executions/%s/stop" % eid, {}, who=who)[0], 403)
        # worker: activities and task reports.
        self.assertEqual(self.call("PUT", "/activities/a", who="worker")[0], 200)
        self.assertEqual(self.call("POST", "/activities/a/poll?wait=0", who="worker")[0], 204)
        self.assertEqual(self.call("POST", "/activities/a/poll?wait=0", who="shop")[0], 403)
        st, _, err = self.call("POST", "/tasks/heartbeat", {"taskToken": "a" * 48}, who="worker")
        self.assertEqual(st, 404, err)   # let through: no such task
        self.assertEqual(self.call("POST", "/tasks/heartbeat", {"taskToken": "a" * 48},
                                   who="viewer")[0], 403)
        # Nothing the refused calls asked for happened.
        _, _, d = self.call("GET", "/executions/" + eid, who="ops")
        self.assertEqual(d["status"], "RUNNING")
        self.assertEqual(self.call("GET", "/state-machines/x", who="ops")[0], 404)
        self.assertEqual(self.call("POST", "/executions/%s/stop" % eid, {}, who="ops")[0], 200)
        # Redrive is admin only too.
        for who in ("shop", "viewer", "worker"):
            self.assertEqual(self.call("POST", "/executions/%s/redrive" % eid, who=who)[0], 403)
        self.assertEqual(self.call("GET", "/executions/" + eid, who="ops")[2]["status"], "ABORTED")
        st, _, d = self.call("POST", "/executions/%s/redrive" % eid, who="ops")
        self.assertEqual((st, d["status"]), (200, "RUNNING"))

    def test_missing_or_unknown_token_is_401(self):
        self.start()
        for token in (None, "wrong", "ops-secret-1x", ""):
            st, h, err = self.call("GET", "/executions", raw_token=token)
            self.assertEqual((st, err["error"]), (401, "Unauthorized"), token)
            self.assertTrue(h["www-authenticate"].startswith("Bearer"), h)
        for scheme in ("Basic b3BzOng=", "Bearerops-secret-1", "Token ops-secret-1"):
            st, _, _ = self.d.request("GET", "/executions", headers={"Authorization": scheme})
            self.assertEqual(st, 401, scheme)
        st, _, _ = self.d.request("GET", "/executions",
                                  headers={"Authorization": "bearer   ops-secret-1"})
        self.assertEqual(st, 200, "the scheme is case-insensitive")
        # Unknown routes still say 404 only to those who may read.
        self.assertEqual(self.call("GET", "/no/such/route")[0], 404)

    def test_health_and_console_files_stay_open(self):
        self.start()
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)
        for path in ("/ui/", "/ui/app.js", "/ui/executions/x", "/favicon.ico"):
            self.assertEqual(self.d.request("GET", path)[0], 200, path)
        # The data the console fetches is not open.
        self.assertEqual(self.d.request("GET", "/executions/counts")[0], 401)

    def test_denials_are_logged_boundedly(self):
        self.start()
        before = len(self.d.stderr_lines)
        t0 = time.monotonic()
        for _ in range(50):
            self.call("GET", "/executions", raw_token="nope")
        took = time.monotonic() - t0
        time.sleep(0.2)
        denied = [l for l in self.d.stderr_lines[before:] if "denied" in l]
        self.assertGreaterEqual(len(denied), 1)
        # At most one line a second: 3 unless a slow machine took 3 s or more.
        self.assertLessEqual(len(denied), max(3, 1 + int(took)), denied)
        self.assertIn("GET /executions denied (unknown token, 401)", denied[0])
        self.assertFalse(any("nope" in l for l in self.d.stderr_lines), "no token in the log")

    def test_sighup_reloads_and_a_broken_file_keeps_the_old_tokens(self):
        self.start()
        self.assertEqual(self.call("GET", "/executions", raw_token="new-secret")[0], 401)
        self.write_tokens(self.tokens, dict(TOKENS, new=("read", "new-secret")))
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.d.wait_log(r"SIGHUP: 5 tokens loaded", 10), self.d.stderr())
        self.assertEqual(self.call("GET", "/executions", raw_token="new-secret")[0], 200)
        with open(self.tokens, "a") as f:
            f.write("broken line\n")
        self.d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(self.d.wait_log(r"tokens:\d+: expected NAME SCOPES", 10), self.d.stderr())
        self.assertEqual(self.call("GET", "/executions", raw_token="new-secret")[0], 200)

    def run_refused(self, **opts):
        d = Daemon(**opts)
        self._daemons.append(d)
        p = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20)
        return p.returncode, p.stderr.decode()

    def test_bad_tokens_file_names_file_and_line(self):
        d = Daemon()
        self._daemons.append(d)
        path = os.path.join(d.dir, "tokens")
        cases = [
            ("ops admin sha256:abc\n", "hash must be sha256:"),
            ("ops root sha256:%s\n" % ("0" * 64), "SCOPES must be"),
            ("ops admin\n", "expected NAME SCOPES"),
            ("# only comments\n", "no tokens"),
        ]
        for text, want in cases:
            with open(path, "w") as f:
                f.write("# header\n" + text)
            code, err = self.run_refused(auth_tokens_file=path)
            self.assertEqual(code, 2, err)
            self.assertIn("auth_tokens_file", err)
            self.assertIn(want, err)
            if "only comments" not in text:
                self.assertIn(path + ":2:", err)
        code, err = self.run_refused(auth_tokens_file=os.path.join(d.dir, "missing"))
        self.assertEqual(code, 2)
        self.assertIn("cannot open", err)

    def test_off_loopback_needs_tokens_or_auth_none(self):
        code, err = self.run_refused(listen="0.0.0.0:0")
        self.assertEqual(code, 2, err)
        self.assertIn("auth_tokens_file", err)
        self.assertIn("auth = none", err)
        self.assertNotIn("listening on", err)
        d = Daemon(listen="0.0.0.0:0", auth="none")
        self._daemons.append(d)
        d.start()
        self.assertEqual(d.request("GET", "/executions")[0], 200)
        d2 = self.start(listen="0.0.0.0:0")
        self.assertEqual(d2.request("GET", "/executions")[0], 401)

    def test_sagactl_token_and_environment(self):
        d = self.start()
        url = "http://127.0.0.1:%d" % d.port
        env = {k: v for k, v in os.environ.items() if k not in ("SAGAD_TOKEN", "SAGAD_URL")}

        def ctl(*args, extra_env=None):
            p = subprocess.run([binary("sagactl"), "--url", url] + list(args),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                               env=dict(env, **(extra_env or {})))
            return p.returncode, p.stdout.decode(), p.stderr.decode()
        code, _, err = ctl("machines")
        self.assertEqual(code, 1)
        self.assertIn("--token or SAGAD_TOKEN", err)
        self.assertEqual(ctl("--token", "viewer-secret-3", "machines")[0], 0)
        self.assertEqual(ctl("machines", "--token=viewer-secret-3")[0], 0)
        self.assertEqual(ctl("machines", extra_env={"SAGAD_TOKEN": "viewer-secret-3"})[0], 0)
        code, _, err = ctl("--token", "viewer-secret-3", "stock", "set", "beans", "3")
        self.assertEqual(code, 1)
        self.assertIn("lacks the admin scope", err)
        code, out, err = ctl("stock", "set", "beans", "3", extra_env={"SAGAD_TOKEN": "ops-secret-1"})
        self.assertEqual(code, 0, err)
        self.assertTrue(re.search(r"beans\s+3", out), out)
