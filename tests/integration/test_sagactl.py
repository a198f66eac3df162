"""sagactl against a real sagad (and a real redis-server for `events`): every
command's output, --json passthrough, and the exit codes
(0 ok, 1 not found or failed, 2 usage, 3 daemon unreachable)."""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, DaemonTestCase, binary, free_port, is_asan

ORDER_SAGA = os.path.join(ROOT, "sagas", "order.asl.json")

SUCCEEDS = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.r", "Next": "S"},
    "S": {"Type": "Succeed"}}}

FAILS = {"StartAt": "T", "States": {
    "T": {"Type": "Task", "Resource": "sagad:fail", "Next": "Never"},
    "Never": {"Type": "Succeed"}}}

SLOW = {"StartAt": "Sleep", "States": {
    "Sleep": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

# Choice, Catch, Parallel and Map in one machine.
RICH = {"StartAt": "Route", "States": {
    "Route": {"Type": "Choice", "Choices": [
        {"Variable": "$.kind", "StringEquals": "fan", "Next": "Fan"},
        {"And": [{"Variable": "$.n", "IsNumeric": True},
                 {"Variable": "$.n", "NumericGreaterThan": 3}], "Next": "Each"}],
        "Default": "Nope"},
    "Fan": {"Type": "Parallel", "Next": "Each",
            "Catch": [{"ErrorEquals": ["Boom", "States.TaskFailed"], "Next": "Handled"}],
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {
                    "Right": {"Type": "Task", "Resource": "sagad:fail", "End": True}}}]},
    "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
             "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}},
    "Handled": {"Type": "Fail", "Error": "Handled"},
    "Nope": {"Type": "Fail", "Error": "NoRoute"},
    "Done": {"Type": "Succeed"}}}


def node_line(dot, name):
    """The declaration line of node `name` in a DOT text."""
    for line in dot.splitlines():
        if line.strip().startswith('"%s" [' % name):
            return line
    raise AssertionError("no node %r in:\n%s" % (name, dot))


def is_filled(dot, name):
    return "filled" in node_line(dot, name) and "fillcolor" in node_line(dot, name)


def run_on_tty(argv, env, stderr_to_tty=False):
    """Runs argv with stdout (and stderr if asked) on a pseudo-terminal;
    returns (exit code, the bytes the terminal got, stderr bytes or b"")."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, env=env,
                         stderr=slave if stderr_to_tty else subprocess.PIPE)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    code = p.wait(30)
    err = b""
    if p.stderr:
        err = p.stderr.read()
        p.stderr.close()
    return code, data, err


class SagactlTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="sagactl-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)
        super().tearDown()

    def start_daemon(self, **opts):
        self.d = self.daemon(**opts)
        self.url = "http://127.0.0.1:%d" % self.d.port
        return self.d

    def ctl(self, *args, url=True, stdin=None, timeout=120, env=None):
        """Runs sagactl; returns (exit code, stdout, stderr). Fails the test
        on a sanitizer report."""
        argv = [binary("sagactl")] + list(args)
        if url:
            argv += ["--url", self.url]
        e = dict(os.environ)
        e.pop("SAGAD_URL", None)
        e.update(env or {})
        p = subprocess.run(argv, input=stdin.encode() if isinstance(stdin, str) else stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=e)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertNotRegex(err, r"ERROR: (Address|Leak)Sanitizer|runtime error:", err)
        return p.returncode, out, err

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    # ---- status ----------------------------------------------------------------

    def test_status_succeeded_failed_running(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        self.put("bad", FAILS)
        self.put("slow", SLOW)
        ok = self.run_to_end("ok", {"a": 1})
        code, out, err = self.ctl("status", ok["executionId"])
        self.assertEqual(code, 0, err)
        self.assertIn(ok["executionId"], out)
        self.assertRegex(out, r"(?m)^Machine\s+ok\b")
        self.assertRegex(out, r"(?m)^Status\s+SUCCEEDED$")
        self.assertRegex(out, r"(?m)^State\s+S \(final\)$")
        self.assertRegex(out, r"(?m)^Started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ \((just now|\d+s ago)\)$")
        self.assertRegex(out, r"(?m)^Stopped\s+\d{4}-")
        self.assertRegex(out, r"(?m)^Duration\s+\d+\.\d+s$")
        # The output, pretty-printed.
        self.assertRegex(out, r'(?m)^Output$')
        self.assertRegex(out, r'(?m)^  \{$')
        self.assertRegex(out, r'(?m)^      "ok": true$')
        self.assertNotIn("\033[", out, "no colour when stdout is not a terminal")

        bad = self.run_to_end("bad", {"error": "CardDeclined", "cause": "insufficient funds"})
        code, out, err = self.ctl("status", bad["executionId"])
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^Status\s+FAILED$")
        self.assertRegex(out, r"(?m)^State\s+T \(final\)$")
        self.assertRegex(out, r"(?m)^Error\s+CardDeclined$")
        self.assertRegex(out, r"(?m)^Cause\s+insufficient funds$")

        st, _, run = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        self.assertEqual(st, 202)
        deadline = time.time() + 10
        while time.time() < deadline:
            code, out, err = self.ctl("status", run["executionId"])
            if "Sleep (current)" in out:
                break
            time.sleep(0.05)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^Status\s+RUNNING$")
        self.assertRegex(out, r"(?m)^State\s+Sleep \(current\)$")
        self.assertRegex(out, r"(?m)^Stopped\s+-$")
        self.assertRegex(out, r"(?m)^Duration\s+.* so far$")

    def test_status_json_is_the_daemons_json(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        ok = self.run_to_end("ok", {"a": 1})
        code, out, _ = self.ctl("status", ok["executionId"], "--json")
        self.assertEqual(code, 0)
        c = self.d.conn()
        c.request("GET", "/executions/" + ok["executionId"])
        raw = c.getresponse().read().decode()
        c.close()
        self.assertEqual(out.rstrip("\n"), raw.rstrip("\n"))
        # --json before the command works too.
        code, out2, _ = self.ctl("--json", "status", ok["executionId"])
        self.assertEqual((code, out2), (0, out))

    def test_unknown_execution_exits_1(self):
        self.start_daemon()
        for cmd in ("status", "history"):
            code, out, err = self.ctl(cmd, "no-such-execution")
            self.assertEqual(code, 1, err)
            self.assertEqual(out, "")
            self.assertIn("no-such-execution", err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_daemon_unreachable_exits_3_naming_url(self):
        url = "http://127.0.0.1:%d" % free_port()
        for args in (["status", "x"], ["list"], ["stock"], ["order"], ["graph", "order"]):
            code, out, err = self.ctl(*args, "--url", url, url=False)
            self.assertEqual(code, 3, (args, err))
            self.assertIn(url, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        # SAGAD_URL is the default when --url is absent.
        code, _, err = self.ctl("list", url=False, env={"SAGAD_URL": url})
        self.assertEqual(code, 3)
        self.assertIn(url, err)

    def test_daemon_address_forms(self):
        self.start_daemon()
        port = self.d.port
        ok = lambda code_out_err: self.assertEqual(code_out_err[0], 0, code_out_err[2])
        ok(self.ctl("stock", "--url", "127.0.0.1:%d" % port, url=False))
        ok(self.ctl("stock", "--url", "http://localhost:%d/" % port, url=False))
        ok(self.ctl("--url=http://127.0.0.1:%d" % port, "stock", url=False))
        ok(self.ctl("stock", url=False, env={"SAGAD_URL": self.url}))
        conf = self.write("sagad.conf", "listen = 0.0.0.0:%d\n" % port)
        ok(self.ctl("stock", "--config", conf, url=False))
        for bad in ("https://127.0.0.1:%d" % port, "http://127.0.0.1:99999", "http://:80"):
            code, _, err = self.ctl("stock", "--url", bad, url=False)
            self.assertEqual(code, 2, (bad, err))
            self.assertIn(bad, err)

    def test_usage_errors_exit_2(self):
        self.url = "http://127.0.0.1:%d" % free_port()  # never contacted
        cases = [
            [],
            ["no-such-command"],
            ["status"],
            ["status", "a", "b"],
            ["list", "--bogus"],
            ["list", "--status", "WHATEVER"],
            ["list", "--limit", "0"],
            ["list", "--limit"],
            ["stock", "set", "tea"],
            ["stock", "set", "tea", "minus"],
            ["start"],
            ["start", "m", os.path.join(self.tmp, "absent.json")],
            ["start", "m", "--wait", "soon"],
            ["order", "--quantity", "two"],
            ["graph"],
            ["events", "--redis", "nonsense"],
        ]
        for args in cases:
            code, out, err = self.ctl(*args)
            self.assertEqual(code, 2, (args, out, err))
            self.assertTrue(err.strip(), args)
        code, out, _ = self.ctl("start", "m", "-", stdin="{not json")
        self.assertEqual(code, 2)

    def test_colour_only_on_a_terminal_without_no_color(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        ok = self.run_to_end("ok", {})

        def on_tty(extra_env, *extra_args):
            env = {k: v for k, v in os.environ.items() if k not in ("SAGAD_URL", "NO_COLOR")}
            env.update(extra_env)
            code, data, err = run_on_tty([binary("sagactl"), "--url", self.url, "status",
                                          ok["executionId"]] + list(extra_args), env)
            self.assertEqual(code, 0, err)
            return data.decode()

        self.assertIn("\033[32mSUCCEEDED", on_tty({}))
        self.assertIn("\033[32mSUCCEEDED", on_tty({"NO_COLOR": ""}))
        self.assertNotIn("\033[", on_tty({"NO_COLOR": "1"}))
        self.assertNotIn("\033[", on_tty({}, "--no-color"))

    def test_server_text_cannot_drive_the_terminal(self):
        """Control characters in an Error/Cause (C0, DEL, C1) reach a terminal
        escaped, never raw; --json to a pipe still carries the exact string."""
        self.start_daemon()
        cause = "\u001b[31mred\u001b]0;owned\u0007 csi\u009b2J del\u007f\nline two"
        self.put("evil", {"StartAt": "F", "States": {
            "F": {"Type": "Fail", "Error": "Bad\u001b[31mError", "Cause": cause}}})
        ex = self.run_to_end("evil", {})
        self.assertEqual((ex["status"], ex["cause"]), ("FAILED", cause))
        eid = ex["executionId"]

        def on_tty(*args):
            env = {k: v for k, v in os.environ.items() if k != "SAGAD_URL"}
            env["NO_COLOR"] = "1"
            return run_on_tty([binary("sagactl"), "--url", self.url] + list(args), env,
                              stderr_to_tty=True)[1]

        for args in (["status", eid], ["history", eid], ["--json", "status", eid],
                     ["status", "no-such-\x1b[31m-id"]):
            with self.subTest(args=args):
                data = on_tty(*args)
                for raw in (b"\x1b", b"\x07", b"\x7f", b"\xc2\x9b"):
                    self.assertNotIn(raw, data, data)
        status = on_tty("status", eid).decode()
        self.assertIn("Bad\\x1b[31mError", status)
        self.assertIn("\\x1b[31mred\\x1b]0;owned\\x07 csi\\u009b2J del\\x7f", status)
        self.assertIn("\nline two", status.replace("\r\n", "\n"))
        history = on_tty("history", eid).decode()
        self.assertIn("Bad\\x1b[31mError: \\x1b[31mred", history)
        as_json = on_tty("--json", "status", eid).decode()
        self.assertIn("\\u001b[31mred", as_json)
        self.assertIn("\\u009b2J", as_json)
        self.assertEqual(json.loads(as_json)["cause"], cause)
        self.assertIn("no-such-\\x1b[31m-id", on_tty("status", "no-such-\x1b[31m-id").decode())
        # Not a terminal: the daemon's JSON, exactly.
        code, out, _ = self.ctl("--json", "status", eid)
        self.assertEqual(json.loads(out)["cause"], cause)
        self.assertEqual(json.loads(out)["error"], "Bad\u001b[31mError")
        self.assertIn("\u009b", out)

    def test_help(self):
        code, out, _ = self.ctl("--help", url=False)
        self.assertEqual(code, 0)
        for cmd in ("status", "list", "history", "stop", "start", "order", "stock", "machines",
                    "versions", "deploy", "validate", "graph", "events"):
            self.assertIn(cmd, out)
            code, out2, err = self.ctl(cmd, "--help", url=False)
            self.assertEqual(code, 0, err)
            self.assertTrue(out2.startswith("usage: sagactl " + cmd), out2)
            self.assertIn("exit status", out2)

    # ---- list and history ------------------------------------------------------

    def test_list_filters(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        self.put("bad", FAILS)
        oks = [self.run_to_end("ok", {"i": i})["executionId"] for i in range(3)]
        bads = [self.run_to_end("bad", {"error": "E"})["executionId"] for i in range(2)]
        code, out, _ = self.ctl("list")
        self.assertEqual(code, 0)
        lines = out.strip().splitlines()
        self.assertRegex(lines[0],
                         r"^EXECUTION\s+MACHINE\s+STATUS\s+STATE\s+STARTED\s+DURATION\s+ERROR$")
        self.assertEqual(len(lines), 6)
        # Newest first.
        self.assertTrue(lines[1].startswith(bads[-1]))
        # Columns are aligned: STATUS starts at the same offset on every line.
        col = lines[0].index("STATUS")
        for line in lines[1:]:
            self.assertRegex(line[col:], r"^(SUCCEEDED|FAILED)\s")

        code, out, _ = self.ctl("list", "--status", "FAILED")
        ids = {l.split()[0] for l in out.strip().splitlines()[1:]}
        self.assertEqual((code, ids), (0, set(bads)))
        code, out, _ = self.ctl("list", "--machine", "ok")
        ids = {l.split()[0] for l in out.strip().splitlines()[1:]}
        self.assertEqual(ids, set(oks))
        code, out, _ = self.ctl("list", "--machine", "ok", "--status", "succeeded", "--limit", "2")
        ids = [l.split()[0] for l in out.strip().splitlines()[1:]]
        self.assertEqual(ids, [oks[2], oks[1]])
        code, out, _ = self.ctl("list", "--machine", "ok", "--status", "FAILED")
        self.assertEqual((code, out), (0, ""))
        code, out, _ = self.ctl("list", "--limit", "1", "--json")
        body = json.loads(out)
        self.assertEqual(len(body["executions"]), 1)
        self.assertIsNotNone(body["nextCursor"])
        # The error column shows what failed; without failures there is none.
        code, out, _ = self.ctl("list", "--status", "FAILED")
        for line in out.strip().splitlines()[1:]:
            self.assertTrue(line.rstrip().endswith(" E"), line)
        code, out, _ = self.ctl("list", "--machine", "ok")
        self.assertNotIn("ERROR", out)

    def test_list_pages_and_search(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        ids = []
        for i in range(5):
            st, _, b = self.d.request("POST", "/state-machines/ok/executions?wait=10",
                                      {"input": {}, "name": "batch-%d" % i})
            ids.append(b["executionId"])
        seen, cursor = [], None
        for _ in range(3):
            args = ["list", "--limit", "2"] + (["--cursor", cursor] if cursor else [])
            code, out, err = self.ctl(*args)
            self.assertEqual(code, 0, err)
            seen += [l.split()[0] for l in out.strip().splitlines()[1:]]
            m = re.search(r"--cursor (\S+)`", err)
            cursor = m.group(1) if m else None
        self.assertEqual(seen, list(reversed(ids)))
        self.assertIsNone(cursor)
        code, out, _ = self.ctl("list", "--search", "batch-3")
        self.assertEqual([l.split()[0] for l in out.strip().splitlines()[1:]], [ids[3]])
        code, out, err = self.ctl("list", "--search", "nothing-like-it")
        self.assertEqual((code, out), (0, ""))
        self.assertIn("no executions match", err)

    def test_stop(self):
        self.start_daemon()
        self.put("slow", SLOW)
        st, _, b = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        code, out, err = self.ctl("stop", b["executionId"], "--error", "Ops.Cancelled",
                                  "--cause", "by hand")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^Status\s+ABORTED$")
        self.assertRegex(out, r"(?m)^Error\s+Ops.Cancelled$")
        _, _, d = self.d.request("GET", "/executions/" + b["executionId"])
        self.assertEqual((d["status"], d["error"], d["cause"]), ("ABORTED", "Ops.Cancelled", "by hand"))
        code, _, err = self.ctl("stop", b["executionId"])
        self.assertEqual(code, 1)
        self.assertIn("already ended", err)
        code, _, err = self.ctl("stop", "no-such-execution")
        self.assertEqual(code, 1)
        self.assertIn("sagactl list", err)
        code, _, err = self.ctl("stop")
        self.assertEqual(code, 2)

    def test_machines_versions_deploy(self):
        self.start_daemon()
        path = self.write("greeter.asl.json", json.dumps(SUCCEEDS))
        code, out, err = self.ctl("deploy", path)
        self.assertEqual((code, out), (0, "greeter version 1\n"), err)
        code, out, err = self.ctl("deploy", path)
        self.assertEqual((code, out), (0, "greeter version 1\n"), "same text: no new version")
        self.write("greeter.asl.json", json.dumps(dict(SUCCEEDS, Comment="v2")))
        code, out, err = self.ctl("deploy", path)
        self.assertEqual((code, out), (0, "greeter version 2\n"), err)
        code, out, err = self.ctl("deploy", "-", "--name", "other", stdin=json.dumps(SLOW))
        self.assertEqual((code, out), (0, "other version 1\n"), err)
        code, _, err = self.ctl("deploy", "-", stdin=json.dumps(SLOW))
        self.assertEqual(code, 2)
        self.assertIn("--name", err)
        bad = self.write("bad.json", json.dumps({"StartAt": "X", "States": {}}))
        code, _, err = self.ctl("deploy", bad)
        self.assertEqual(code, 2)
        self.assertIn("problem", err)
        self.assertEqual(self.d.request("GET", "/state-machines/bad")[0], 404)
        code, _, err = self.ctl("deploy", os.path.join(self.tmp, "missing.json"))
        self.assertEqual(code, 2)
        self.assertIn("cannot read", err)

        code, out, err = self.ctl("machines")
        self.assertEqual(code, 0, err)
        lines = out.strip().splitlines()
        self.assertRegex(lines[0], r"^MACHINE\s+VERSION\s+REGISTERED$")
        rows = {l.split()[0]: l for l in lines[1:]}
        self.assertRegex(rows["greeter"], r"^greeter\s+2\s+\d{4}-")
        self.assertRegex(rows["other"], r"^other\s+1\s+")
        code, out, err = self.ctl("versions", "greeter")
        self.assertEqual(code, 0, err)
        self.assertEqual([l.split()[0] for l in out.strip().splitlines()], ["VERSION", "2", "1"])
        code, out, _ = self.ctl("versions", "greeter", "--json")
        self.assertEqual([v["version"] for v in json.loads(out)["versions"]], [2, 1])
        code, _, err = self.ctl("versions", "nope")
        self.assertEqual(code, 1)
        self.assertIn("sagactl machines", err)

    def test_version(self):
        code, out, _ = self.ctl("--version", url=False)
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^sagactl \d+\.\d+\.\d+\n$")
        _, dout, _ = (lambda p: (p.returncode, p.stdout.decode(), p.stderr))(
            subprocess.run([binary("sagad"), "--version"], stdout=subprocess.PIPE))
        self.assertEqual(out.split()[1], dout.split()[1], "one version for both")

    def test_history_one_line_per_event(self):
        self.start_daemon()
        self.put("bad", FAILS)
        ex = self.run_to_end("bad", {"error": "Nope", "cause": "multi\nline"})
        _, _, hist = self.d.request("GET", "/executions/%s/history" % ex["executionId"])
        events = hist["events"]
        code, out, _ = self.ctl("history", ex["executionId"])
        self.assertEqual(code, 0)
        lines = out.rstrip("\n").split("\n")
        self.assertEqual(len(lines), len(events), out)
        for line, ev in zip(lines, events):
            self.assertRegex(line, r"^%d\s+\+\d+\.\d+s\s+%s\b" % (ev["id"], ev["type"]))
        self.assertRegex(lines[0], r"^1\s+\+0\.000s\s+ExecutionStarted")
        self.assertIn("Nope: multi line", lines[-1])
        code, out, _ = self.ctl("history", ex["executionId"], "--json")
        self.assertEqual(json.loads(out), hist)

    def test_history_verbose_shows_payloads(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        ex = self.run_to_end("ok", {"who": "Laura"})
        _, _, hist = self.d.request("GET", "/executions/%s/history" % ex["executionId"])
        for flag in ("-v", "--verbose"):
            code, out, err = self.ctl("history", ex["executionId"], flag)
            self.assertEqual(code, 0, err)
            lines = out.rstrip("\n").split("\n")
            payloads = [l.strip() for l in lines if re.match(r"^\s+(input|output): ", l)]
            want = []
            for ev in hist["events"]:
                for k in ("input", "output"):
                    if k in ev["details"]:
                        want.append("%s: %s" % (k, json.dumps(ev["details"][k], separators=(",", ":"))))
            self.assertEqual(payloads, want, out)
            self.assertIn('output: {"who":"Laura","r":{"ok":true}}', payloads)
            # Every event still has its own line.
            self.assertEqual(len(lines), len(hist["events"]) + len(want))

    # ---- start, order, stock ---------------------------------------------------

    def test_start_from_file_and_stdin_with_wait(self):
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        self.put("bad", FAILS)
        path = self.write("in.json", '{"from": "file"}\n')
        code, out, err = self.ctl("start", "ok", path, "--wait")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^Status\s+SUCCEEDED$")
        self.assertIn('"from": "file"', out)
        code, out, err = self.ctl("start", "ok", "-", "--wait", "--json", stdin='{"from": "stdin"}')
        self.assertEqual(code, 0, err)
        d = json.loads(out)
        self.assertEqual((d["status"], d["output"]["from"]), ("SUCCEEDED", "stdin"))
        # A failed execution makes --wait exit 1.
        code, out, _ = self.ctl("start", "bad", "-", "--wait", "30", stdin='{"error": "Broken"}')
        self.assertEqual(code, 1)
        self.assertRegex(out, r"(?m)^Error\s+Broken$")
        # Without --wait: the id, and the execution exists.
        code, out, _ = self.ctl("start", "ok", "--name", "named-1")
        self.assertEqual(code, 0)
        eid = out.strip()
        st, _, desc = self.d.request("GET", "/executions/" + eid)
        self.assertEqual((st, desc["name"]), (200, "named-1"))
        # An unknown machine is "not found".
        code, _, err = self.ctl("start", "no-such-machine")
        self.assertEqual(code, 1)
        self.assertIn("no-such-machine", err)

    def test_start_keeps_numbers_and_refuses_bad_json_locally(self):
        """The input file reaches the daemon exactly (2^53, 0.30000000000000004),
        the human Output shows it exactly, and input the daemon would refuse
        (a duplicate key) is refused before sending, naming the key."""
        self.start_daemon()
        self.put("ok", SUCCEEDS)
        path = self.write("in.json", '{"big": 9007199254740992, "tiny": 0.30000000000000004}')
        code, out, err = self.ctl("start", "ok", path, "--wait", "--json")
        self.assertEqual(code, 0, err)
        self.assertIn('"big":9007199254740992', out)
        self.assertIn('"tiny":0.30000000000000004', out)
        d = json.loads(out)
        self.assertEqual(d["input"], {"big": 2 ** 53, "tiny": 0.30000000000000004})
        code, out, err = self.ctl("status", d["executionId"])
        self.assertEqual(code, 0, err)
        self.assertIn('"big": 9007199254740992', out)
        self.assertIn('"tiny": 0.30000000000000004', out)
        dup = self.write("dup.json", '{"quantity": 1, "quantity": 5}')
        code, out, err = self.ctl("start", "ok", dup)
        self.assertEqual(code, 2)
        self.assertIn('duplicate key "quantity" at byte 16', err)
        self.assertEqual(len(self.d.request("GET", "/executions")[2]["executions"]), 1)

    def test_wait_spans_several_wait_requests(self):
        """--wait SECONDS bounds the wait (exit 1 while still running); plain
        --wait waits for the end. Each start happens once."""
        self.start_daemon()
        self.put("w", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "S"}, "S": {"Type": "Succeed"}}})
        t0 = time.time()
        code, out, err = self.ctl("start", "w", "--wait", "0.3")
        self.assertEqual(code, 1, "still running after 0.3 s is not success")
        self.assertIn("still RUNNING", err)
        self.assertLess(time.time() - t0, 5)
        code, out, err = self.ctl("start", "w", "--wait")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"(?m)^Status\s+SUCCEEDED$")
        # Only the executions sagactl started, each once.
        _, _, lst = self.d.request("GET", "/executions?stateMachine=w")
        self.assertEqual(len(lst["executions"]), 2)

    def test_stock_and_stock_set(self):
        self.start_daemon()
        code, out, _ = self.ctl("stock", "set", "green-tea", "7")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"(?m)^green-tea\s+7\s+\d{4}-")
        code, out, _ = self.ctl("stock")
        self.assertEqual(code, 0)
        lines = out.strip().splitlines()
        self.assertRegex(lines[0], r"^ITEM\s+QUANTITY\s+UPDATED$")
        rows = {l.split()[0]: int(l.split()[1]) for l in lines[1:]}
        self.assertEqual(rows["green-tea"], 7)
        self.assertIn("coffee-beans", rows)
        code, out, _ = self.ctl("stock", "green-tea", "--json")
        self.assertEqual((code, json.loads(out)["quantity"]), (0, 7))
        st, _, body = self.d.request("GET", "/stock/green-tea")
        self.assertEqual(body["quantity"], 7)
        code, out, err = self.ctl("stock", "no-such-item")
        self.assertEqual(code, 1)
        self.assertIn("no-such-item", err)
        code, _, _ = self.ctl("stock", "set", "green-tea", "0")
        self.assertEqual(self.d.request("GET", "/stock/green-tea")[2]["quantity"], 0)

    @unittest.skipUnless(os.path.exists(ORDER_SAGA), "needs sagas/order.asl.json")
    def test_order_wait(self):
        self.start_daemon(payment_failure_rate=0)
        self.ctl("stock", "set", "mug", "3")
        code, out, err = self.ctl("order", "--item", "mug", "--quantity", "2", "--wait")
        self.assertEqual(code, 0, out + err)
        self.assertRegex(out, r"(?m)^Status\s+SUCCEEDED$")
        self.assertEqual(self.d.request("GET", "/stock/mug")[2]["quantity"], 1)
        code, out, err = self.ctl("order", "--item", "mug", "--quantity", "5", "--wait")
        self.assertEqual(code, 1)
        self.assertRegex(out, r"(?m)^Error\s+OutOfStock$")
        # The same idempotency key is the same execution.
        code, a, _ = self.ctl("order", "--item", "mug", "--idempotency-key", "k-1")
        code2, b, _ = self.ctl("order", "--item", "mug", "--idempotency-key", "k-1")
        self.assertEqual((code, code2), (0, 0))
        self.assertEqual(a, b)

    # ---- graph -----------------------------------------------------------------

    def dot_svg(self, dot):
        p = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode() + dot)
        self.assertIn(b"<svg", p.stdout)
        return p.stdout.decode()

    @unittest.skipUnless(shutil.which("dot"), "needs graphviz (scripts/deps.sh test installs it)")
    def test_graph_is_valid_dot(self):
        self.start_daemon()
        self.put("rich", RICH)
        code, dot, err = self.ctl("graph", "rich")
        self.assertEqual(code, 0, err)
        self.assertTrue(dot.startswith('digraph "rich" {'))
        svg = self.dot_svg(dot)
        for state in ("Route", "Fan", "Left", "Right", "Each", "One", "Handled", "Nope", "Done"):
            self.assertIn(">%s</text>" % state, svg)
        # Choice rules and Default label their edges.
        self.assertRegex(dot, r'"Route" -> "Fan" \[label="\$\.kind == \\"fan\\""')
        self.assertRegex(dot, r'"Route" -> "Each" \[label="\$\.n is numeric && \$\.n > 3"')
        self.assertRegex(dot, r'"Route" -> "Nope" \[label="Default"')
        # Catch is dashed and names its errors.
        self.assertRegex(dot, r'"Fan" -> "Handled" \[label="catch Boom, States.TaskFailed", style="dashed"')
        # Parallel branches and the Map processor are clusters.
        self.assertRegex(dot, r'subgraph "cluster_Fan" \{')
        self.assertRegex(dot, r'subgraph "cluster_Fan/0/" \{')
        self.assertRegex(dot, r'subgraph "cluster_Fan/1/" \{')
        self.assertRegex(dot, r'subgraph "cluster_Each" \{')
        cluster = dot[dot.index('subgraph "cluster_Fan/1/"'):]
        self.assertLess(cluster.index('"Fan/1/Right" ['), cluster.index("}"))
        # No outcomes without --execution.
        self.assertNotIn("outcome-", dot)
        code, _, err = self.ctl("graph", "no-such-machine")
        self.assertEqual(code, 1)

    @unittest.skipUnless(shutil.which("dot"), "needs graphviz")
    def test_graph_execution_marks_path(self):
        self.start_daemon()
        self.put("rich", RICH)
        ex = self.run_to_end("rich", {"kind": "fan", "error": "Boom", "items": [1]})
        self.assertEqual(ex["status"], "FAILED")
        code, dot, err = self.ctl("graph", "rich", "--execution", ex["executionId"])
        self.assertEqual(code, 0, err)
        self.dot_svg(dot)
        for s in ("Route", "Fan", "Fan/0/Left", "Fan/1/Right", "Handled"):
            self.assertTrue(is_filled(dot, s), s)
        for s in ("Each", "Each/0/One", "Nope", "Done"):
            self.assertFalse(is_filled(dot, s), s)
        self.assertIn('class="state outcome-failed"', node_line(dot, "Fan/1/Right"))
        self.assertIn('class="state outcome-succeeded"', node_line(dot, "Fan/0/Left"))
        self.assertIn('class="state outcome-caught"', node_line(dot, "Fan"))
        self.assertRegex(dot, r'"Fan" -> "Handled" \[.*penwidth')
        # An execution of another machine is a usage error.
        self.put("ok", SUCCEEDS)
        other = self.run_to_end("ok", {})
        code, _, err = self.ctl("graph", "rich", "--execution", other["executionId"])
        self.assertEqual(code, 2, err)

    def test_graph_running_execution_marks_current_state(self):
        self.start_daemon()
        self.put("slow", SLOW)
        st, _, run = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        self.assertEqual(st, 202)
        deadline = time.time() + 10
        while time.time() < deadline:
            code, dot, err = self.ctl("graph", "slow", "--execution", run["executionId"])
            if "outcome-running" in dot:
                break
            time.sleep(0.05)
        self.assertEqual(code, 0, err)
        self.assertIn('class="state outcome-running"', node_line(dot, "Sleep"))
        self.assertFalse(is_filled(dot, "Done"))
        self.assertIn("(RUNNING)", dot)

    @unittest.skipUnless(os.path.exists(ORDER_SAGA) and shutil.which("dot"),
                         "needs sagas/order.asl.json and graphviz")
    def test_graph_order_compensation(self):
        self.start_daemon(payment_failure_rate=1)
        code, out, err = self.ctl("order", "--wait", "--json")
        self.assertEqual(code, 1, err)
        ex = json.loads(out)
        self.assertEqual((ex["status"], ex["error"]), ("FAILED", "PaymentFailed"))
        code, dot, err = self.ctl("graph", "order", "--execution", ex["executionId"])
        self.assertEqual(code, 0, err)
        self.dot_svg(dot)
        _, _, hist = self.d.request("GET", "/executions/%s/history" % ex["executionId"])
        entered = {e["details"]["name"] for e in hist["events"] if e["type"].endswith("StateEntered")}
        compensation = {"RefundPayment", "CancelReservation", "CancelOrder", "EmitFailureEvent"}
        self.assertTrue({"CancelOrder", "EmitFailureEvent"} <= entered, entered)
        for s in entered:
            self.assertTrue(is_filled(dot, s), s)
        for s in compensation & entered:
            self.assertIn("outcome-succeeded", node_line(dot, s))
        for s in ("ConfirmOrder", "EmitSuccessEvent", "DoNothing"):
            self.assertFalse(is_filled(dot, s), s)
        # The payment failed and its Catch led to the compensation.
        self.assertIn("outcome-caught", node_line(dot, "ProcessPayment"))
        self.assertIn("outcome-failed", node_line(dot, "OrderFailed"))

    # ---- events ----------------------------------------------------------------

    def events_proc(self, *args):
        argv = [binary("sagactl"), "events"] + list(args)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The subscription is confirmed on stderr before anything is published.
        ready, _, _ = select.select([p.stderr], [], [], 15)
        self.assertTrue(ready, "sagactl events did not subscribe")
        line = p.stderr.readline().decode()
        self.assertIn("subscribed to", line)
        return p

    def read_line(self, p, timeout=15):
        ready, _, _ = select.select([p.stdout], [], [], timeout)
        self.assertTrue(ready, "no event line within %ss" % timeout)
        return p.stdout.readline().decode()

    def stop_events(self, p):
        p.send_signal(signal.SIGINT)
        code = p.wait(15)
        err = p.stderr.read().decode()
        self.assertNotRegex(err, r"ERROR: (Address|Leak)Sanitizer|runtime error:", err)
        self.assertEqual(code, 0, err)

    def test_events_prints_published_event_and_exits_0_on_sigint(self):
        r = self.redis()
        # Streams off in the configuration: pub/sub on events_channel.
        conf = self.write("sagad.conf", "redis = %s\nevents_channel = test.chan\nevents_stream =\n"
                          % r.address)
        p = self.events_proc("--config", conf)
        env = {"id": "e1", "source": "sagad.order", "detail-type": "Cancelled",
               "time": "2026-11-25T12:00:00Z", "executionId": "x-1",
               "detail": {"orderId": "o-9", "itemId": "tea", "quantity": 2}}
        subprocess.run(["redis-cli", "-p", str(r.port), "PUBLISH", "test.chan", json.dumps(env)],
                       stdout=subprocess.DEVNULL, check=True, timeout=10)
        line = self.read_line(p)
        self.assertRegex(line, r"^2026-11-25T12:00:00Z\s+Cancelled\s+x-1\s+orderId=o-9\s+itemId=tea\s+quantity=2$")
        self.stop_events(p)
        # Redis down: exit 3 naming the address.
        code, _, err = self.ctl("events", "--redis", "127.0.0.1:%d" % free_port(), url=False)
        self.assertEqual(code, 3)
        self.assertIn("127.0.0.1:", err)

    def test_events_on_a_terminal_are_escaped(self):
        """Order fields come from customers: an itemId with ESC or U+009B, and a
        payload that is not JSON, reach the terminal escaped."""
        import pty
        r = self.redis()
        master, slave = pty.openpty()
        env = dict(os.environ, NO_COLOR="1")
        p = subprocess.Popen([binary("sagactl"), "events", "--redis", r.address, "--channel", "c"],
                             stdout=slave, stderr=subprocess.PIPE, env=env)
        os.close(slave)
        try:
            ready, _, _ = select.select([p.stderr], [], [], 15)
            self.assertTrue(ready, "sagactl events did not subscribe")
            self.assertIn("subscribed to", p.stderr.readline().decode())
            env_ = {"detail-type": "Cancelled", "time": "t", "executionId": "x\u001b]0;t\u0007",
                    "detail": {"itemId": "\u001b[2Jtea\u009b", "quantity": 1}}
            for payload in (json.dumps(env_), "not json \x1b[31m"):
                subprocess.run(["redis-cli", "-p", str(r.port), "PUBLISH", "c", payload],
                               stdout=subprocess.DEVNULL, check=True, timeout=10)
            data = b""
            deadline = time.time() + 15
            while data.count(b"\n") < 2 and time.time() < deadline:
                if select.select([master], [], [], 1)[0]:
                    data += os.read(master, 4096)
        finally:
            self.stop_events(p)
            os.close(master)
        for raw in (b"\x1b", b"\x07", b"\xc2\x9b"):
            self.assertNotIn(raw, data, data)
        text = data.decode()
        self.assertIn("x\\x1b]0;t\\x07", text)
        self.assertIn("itemId=\\x1b[2Jtea\\u009b", text)
        self.assertIn("not json \\x1b[31m", text)

    @unittest.skipUnless(os.path.exists(ORDER_SAGA), "needs sagas/order.asl.json")
    def test_events_of_a_placed_order(self):
        r = self.redis()
        self.start_daemon(redis=r.address, events_channel="orders.test", payment_failure_rate=0)
        p = self.events_proc("--redis", r.address, "--channel", "orders.test", "--json")
        code, out, err = self.ctl("order", "--wait")
        self.assertEqual(code, 0, err)
        eid = re.search(r"(?m)^Execution\s+(\S+)$", out).group(1)
        event = json.loads(self.read_line(p))
        self.assertEqual(event["detail-type"], "Processed")
        self.assertEqual(event["executionId"], eid)
        self.stop_events(p)


if __name__ == "__main__":
    unittest.main()
