"""The definition lifecycle against a real sagad: deleting a state machine
(refused while it runs, unless forced; versions number on), aliases and
NAME:ALIAS / NAME:N starts, the sagas_dir reload rule (a file becomes a
version only when it changed, never over a newer API version), the check
`systemctl reload` runs, and the operator's walk-through with sagactl."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, DaemonTestCase, binary


def pass_machine(result):
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": True}}}


def wait_machine(seconds):
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": True}}}


class LifecycleCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="sagad-lifecycle-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def ctl(self, *args):
        """Runs sagactl against self.d; returns (exit code, stdout, stderr)."""
        argv = [binary("sagactl"), "--url", "http://127.0.0.1:%d" % self.d.port] + list(args)
        env = dict(os.environ)
        env.pop("SAGAD_URL", None)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                           env=env)
        out, err = p.stdout.decode(), p.stderr.decode()
        self.assertNotRegex(err, r"ERROR: (Address|Leak)Sanitizer|runtime error:", err)
        return p.returncode, out, err

    def write(self, path, obj):
        with open(path, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return path

    def start(self, qualified, d=None):
        return (d or self.d).request("POST", "/state-machines/%s/executions?wait=10" % qualified,
                                     {"input": {}})


class Delete(LifecycleCase):
    def test_refused_while_running_then_forced_running_ones_finish(self):
        self.d = self.daemon()
        self.put("slow", wait_machine(2))
        self.put("slow", wait_machine(3))   # version 2
        st, _, b = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        self.assertEqual(st, 202, b)
        eid = b["executionId"]
        st, _, b = self.d.request("DELETE", "/state-machines/slow")
        self.assertEqual((st, b["error"], b["runningExecutions"]), (409, "ExecutionsRunning", 1), b)
        self.assertIn("1 execution of slow is running", b["message"])
        code, _, err = self.ctl("delete", "slow")
        self.assertEqual(code, 1, err)
        self.assertIn("force", err)
        st, _, _ = self.d.request("GET", "/state-machines/slow")
        self.assertEqual(st, 200)
        st, _, b = self.d.request("DELETE", "/state-machines/slow?force=maybe")
        self.assertEqual(st, 400, b)
        code, out, err = self.ctl("delete", "slow", "--force")
        self.assertEqual(code, 0, err)
        self.assertIn("slow deleted; 1 running execution finishes on its version", out)
        # Gone for lists, reads and starts (also of its versions) ...
        _, _, b = self.d.request("GET", "/state-machines")
        self.assertNotIn("slow", [m["name"] for m in b["stateMachines"]])
        for path in ("/state-machines/slow", "/state-machines/slow?version=1",
                     "/state-machines/slow/versions", "/state-machines/slow/aliases"):
            st, _, b = self.d.request("GET", path)
            self.assertEqual(st, 404, (path, b))
        for q in ("slow", "slow:1", "slow:2"):
            st, _, b = self.start(q)
            self.assertEqual(st, 404, (q, b))
        st, _, _ = self.d.request("DELETE", "/state-machines/slow")
        self.assertEqual(st, 404)
        # ... while the running execution finishes on its version.
        desc = self.d.wait_ended(eid, 10)
        self.assertEqual((desc["status"], desc["stateMachineVersion"]), ("SUCCEEDED", 2), desc)
        # Registering the name again numbers on: version 3, the only one listed.
        st, _, b = self.d.request("PUT", "/state-machines/slow", pass_machine("again"))
        self.assertEqual((st, b["version"]), (201, 3), b)
        _, _, b = self.d.request("GET", "/state-machines/slow/versions")
        self.assertEqual([v["version"] for v in b["versions"]], [3])
        st, _, b = self.start("slow")
        self.assertEqual((st, b["output"], b["stateMachineVersion"]), (200, "again", 3), b)
        # The old execution is still described (and graphed) with its version.
        st, _, desc = self.d.request("GET", "/executions/" + eid)
        self.assertEqual((st, desc["stateMachineVersion"]), (200, 2))
        # Across a restart too.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        _, _, b = self.d.request("GET", "/state-machines/slow")
        self.assertEqual(b["version"], 3)
        st, _, _ = self.start("slow:2")
        self.assertEqual(st, 404)

    def test_delete_without_running_executions_and_unknown(self):
        self.d = self.daemon()
        self.put("gone", pass_machine(1))
        self.assertEqual(self.run_to_end("gone", {})["status"], "SUCCEEDED")
        st, _, b = self.d.request("DELETE", "/state-machines/gone")
        self.assertEqual((st, b["deleted"], b["runningExecutions"]), (200, True, 0), b)
        code, _, err = self.ctl("delete", "never-was")
        self.assertEqual(code, 1)
        self.assertIn("no state machine named 'never-was'", err)


class Aliases(LifecycleCase):
    def test_alias_routes_and_qualified_starts(self):
        self.d = self.daemon()
        self.put("m", pass_machine("one"))
        self.put("m", pass_machine("two"))
        st, h, b = self.d.request("PUT", "/state-machines/m/aliases/prod", {"version": 2})
        self.assertEqual((st, b["name"], b["alias"], b["version"]), (201, "m", "prod", 2), b)
        self.assertEqual(h["location"], "/state-machines/m/aliases/prod")
        st, _, b = self.d.request("PUT", "/state-machines/m/aliases/prod", {"version": 1})
        self.assertEqual((st, b["version"]), (200, 1), b)
        self.d.request("PUT", "/state-machines/m/aliases/canary", {"version": 2})
        _, _, b = self.d.request("GET", "/state-machines/m/aliases")
        self.assertEqual([(a["alias"], a["version"]) for a in b["aliases"]],
                         [("canary", 2), ("prod", 1)])
        _, _, b = self.d.request("GET", "/state-machines/m/aliases/canary")
        self.assertEqual(b["version"], 2)
        self.assertTrue(b["updatedDate"].endswith("Z"))
        # Starts by alias, by version number, and the default (newest).
        for q, out, ver in (("m:prod", "one", 1), ("m:canary", "two", 2), ("m:1", "one", 1),
                            ("m", "two", 2)):
            st, _, b = self.start(q)
            self.assertEqual((st, b["output"], b["stateMachineVersion"], b["stateMachine"]),
                             (200, out, ver, "m"), (q, b))
        # GET of a qualified name describes that version.
        _, _, b = self.d.request("GET", "/state-machines/m:prod")
        self.assertEqual((b["version"], b["definition"]["States"]["P"]["Result"]), (1, "one"))
        for q, code in (("m:9", 404), ("m:nope", 404), ("m:a.b", 400), ("x:prod", 404),
                        ("m:", 400)):
            st, _, b = self.start(q)
            self.assertEqual(st, code, (q, b))
        # Bad alias names, bodies and targets.
        for alias, body, code in (("123", {"version": 1}, 400), ("a.b", {"version": 1}, 400),
                                  ("ok", {"version": 7}, 404), ("ok", {"version": "1"}, 400),
                                  ("ok", {"version": 1, "weight": 2}, 400),
                                  ("ok", {"version": 1.5}, 400)):
            st, _, b = self.d.request("PUT", "/state-machines/m/aliases/" + alias, body)
            self.assertEqual(st, code, (alias, body, b))
        st, _, b = self.d.request("PUT", "/state-machines/nope/aliases/prod", {"version": 1})
        self.assertEqual(st, 404, b)
        # Removing one.
        st, _, b = self.d.request("DELETE", "/state-machines/m/aliases/canary")
        self.assertEqual((st, b["deleted"]), (200, True))
        st, _, b = self.d.request("DELETE", "/state-machines/m/aliases/canary")
        self.assertEqual((st, b["error"]), (404, "AliasDoesNotExist"))
        st, _, b = self.d.request("GET", "/state-machines/m/aliases/canary")
        self.assertEqual(st, 404)
        st, _, _ = self.start("m:canary")
        self.assertEqual(st, 404)
        # Aliases survive a restart, and go with their machine.
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        _, _, b = self.d.request("GET", "/state-machines/m/aliases/prod")
        self.assertEqual(b["version"], 1)
        self.d.request("DELETE", "/state-machines/m")
        self.put("m", pass_machine("three"))
        _, _, b = self.d.request("GET", "/state-machines/m/aliases")
        self.assertEqual(b["aliases"], [])

    def test_describe_shows_the_alias_and_version_a_start_named(self):
        """A description says which alias (stateMachineAlias) and which
        version (stateMachineVersionNamed) its start named: both null for
        plain NAME. Kept when the alias moves, after a restart, in listings,
        and for an execution that ended in its first step as for one that
        is still running."""
        self.d = self.daemon()
        self.put("m", pass_machine("one"))
        self.put("m", wait_machine(60))
        self.d.request("PUT", "/state-machines/m/aliases/prod", {"version": 1})
        self.d.request("PUT", "/state-machines/m/aliases/canary", {"version": 2})

        def start(path, name=None):
            body = {"input": {}}
            if name:
                body["name"] = name
            st, _, b = self.d.request("POST", path, body)
            self.assertIn(st, (200, 202), (path, b))
            return b["executionId"]

        cases = {  # id: (alias, named version, version run, status)
            start("/state-machines/m:prod/executions?wait=10"): ("prod", 1, 1, "SUCCEEDED"),
            start("/state-machines/m:canary/executions"): ("canary", 2, 2, "RUNNING"),
            start("/state-machines/m:1/executions?wait=10"): (None, 1, 1, "SUCCEEDED"),
            start("/state-machines/m/executions?version=2"): (None, 2, 2, "RUNNING"),
            start("/state-machines/m/executions"): (None, None, 2, "RUNNING"),
        }
        # A repeat of a named start through another alias is the same
        # execution: it keeps what its first start named.
        first = start("/state-machines/m:prod/executions?wait=10", "once")
        self.assertEqual(start("/state-machines/m:prod/executions", "once"), first)
        cases[first] = ("prod", 1, 1, "SUCCEEDED")

        def check(where):
            for eid, (alias, named, ran, status) in cases.items():
                st, _, b = self.d.request("GET", "/executions/" + eid)
                self.assertEqual(st, 200, b)
                self.assertEqual((b["stateMachineAlias"], b["stateMachineVersionNamed"],
                                  b["stateMachineVersion"], b["status"]),
                                 (alias, named, ran, status), (where, b))
            _, _, page = self.d.request("GET", "/executions?machine=m&limit=100")
            listed = {e["executionId"]: (e["stateMachineAlias"], e["stateMachineVersionNamed"])
                      for e in page["executions"]}
            self.assertEqual(listed, {k: v[:2] for k, v in cases.items()}, where)

        check("first")
        # The history does not record what the start named: a start through
        # the alias and one of the same version by number record the same.
        by_alias, by_number = [k for k, v in cases.items() if v[:2] in (("prod", 1), (None, 1))
                               and v[3] == "SUCCEEDED" and k != first]
        histories = []
        for eid in (by_alias, by_number):
            _, _, h = self.d.request("GET", "/executions/%s/history" % eid)
            histories.append([(e["type"], e.get("details")) for e in h["events"]])
        self.assertEqual(histories[0], histories[1])
        self.assertNotIn("prod", json.dumps(histories[0]))
        # Moving the alias changes what later starts run, not what earlier
        # ones say they named.
        self.d.request("PUT", "/state-machines/m/aliases/prod", {"version": 2})
        check("after the move")
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        check("after a restart")

    def test_admin_scope_guards_alias_writes(self):
        """Alias and delete routes take the admin scope; reads the read scope."""
        import hashlib
        tokens = os.path.join(self.tmp, "tokens")
        with open(tokens, "w") as f:
            for name, scopes in (("reader", "read"), ("boss", "admin")):
                f.write("%s %s sha256:%s\n" % (name, scopes,
                                               hashlib.sha256(name.encode()).hexdigest()))
        self.d = self.daemon(auth_tokens_file=tokens)
        auth = {"Authorization": "Bearer boss"}
        st, _, _ = self.d.request("PUT", "/state-machines/m", pass_machine(1), headers=auth)
        self.assertEqual(st, 201)
        rd = {"Authorization": "Bearer reader"}
        for method, path, body in (("PUT", "/state-machines/m/aliases/a", {"version": 1}),
                                   ("DELETE", "/state-machines/m/aliases/a", None),
                                   ("DELETE", "/state-machines/m", None)):
            st, _, _ = self.d.request(method, path, body, headers=rd)
            self.assertEqual(st, 403, (method, path))
        st, _, _ = self.d.request("PUT", "/state-machines/m/aliases/a", {"version": 1}, headers=auth)
        self.assertEqual(st, 201)
        st, _, _ = self.d.request("GET", "/state-machines/m/aliases", headers=rd)
        self.assertEqual(st, 200)


class Reload(LifecycleCase):
    def hup(self):
        """SIGHUP and wait for the reload to finish; returns /healthz's sagas."""
        before = self.d.request("GET", "/healthz")[2]["sagas"]["loadedAt"]
        self.d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline:
            sg = self.d.request("GET", "/healthz")[2]["sagas"]
            if sg["loadedAt"] != before:
                return sg
            time.sleep(0.02)
        self.fail("no reload:\n" + self.d.stderr())

    def versions(self, name):
        _, _, b = self.d.request("GET", "/state-machines/%s/versions" % name)
        return [v["version"] for v in b["versions"]]

    def test_reload_creates_versions_only_for_changes_and_never_over_the_api(self):
        sagas = os.path.join(self.tmp, "sagas")
        os.mkdir(sagas)
        f = self.write(os.path.join(sagas, "m.asl.json"), pass_machine("file-1"))
        self.d = self.daemon(sagas_dir=sagas)
        _, _, b = self.d.request("GET", "/state-machines/m")
        self.assertEqual((b["version"], b["source"]), (1, "file:" + f))
        # Unchanged file: no version, at reload or restart.
        sg = self.hup()
        self.assertEqual((sg["loaded"], sg["unchanged"], sg["conflicts"]), (0, 1, []))
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.assertEqual(self.versions("m"), [1])
        # A changed file: a new version.
        self.write(f, pass_machine("file-2"))
        sg = self.hup()
        self.assertEqual((sg["loaded"], sg["unchanged"]), (1, 0))
        self.assertEqual(self.versions("m"), [2, 1])
        # An API version over it stays while the file does not change ...
        st, _, b = self.d.request("PUT", "/state-machines/m", pass_machine("api-3"))
        self.assertEqual((st, b["version"]), (200, 3))
        _, _, b = self.d.request("GET", "/state-machines/m")
        self.assertEqual(b["source"], "api")
        sg = self.hup()
        self.assertEqual((sg["loaded"], sg["unchanged"], sg["conflicts"]), (0, 1, []))
        self.assertEqual(self.start("m")[2]["output"], "api-3")
        # ... and when it does: logged, shown, not loaded; the API version stays.
        self.write(f, pass_machine("file-4"))
        sg = self.hup()
        self.assertEqual(sg["conflicts"], [{"name": "m", "apiVersion": 3, "fileVersion": 2}])
        self.assertEqual((sg["conflictCount"], sg["loaded"]), (1, 0))
        self.assertTrue(self.d.wait_log(r"m\.asl\.json changed, but state machine m version 3 "
                                        r"\(from the API\) is newer than the file's last version "
                                        r"\(version 2\)"), self.d.stderr())
        self.assertTrue(self.d.wait_log(r"1 changed file not loaded"), self.d.stderr())
        self.assertEqual(self.versions("m"), [3, 2, 1])
        self.assertEqual(self.start("m")[2]["output"], "api-3")
        # The explicit rule: deploying the file makes it current; reloads agree.
        code, out, err = self.ctl("deploy", f)
        self.assertEqual((code, out), (0, "m version 4\n"), err)
        sg = self.hup()
        self.assertEqual((sg["conflicts"], sg["unchanged"]), ([], 1))
        self.assertEqual(self.versions("m"), [4, 3, 2, 1])

    def test_file_for_a_name_the_api_made_is_a_conflict(self):
        sagas = os.path.join(self.tmp, "sagas")
        os.mkdir(sagas)
        self.d = self.daemon(sagas_dir=sagas)
        self.put("x", pass_machine("api"))
        self.write(os.path.join(sagas, "x.asl.json"), pass_machine("file"))
        sg = self.hup()
        self.assertEqual(sg["conflicts"], [{"name": "x", "apiVersion": 1, "fileVersion": None}])
        self.assertTrue(self.d.wait_log(r"file's last version \(none yet\)"), self.d.stderr())
        self.assertEqual(self.versions("x"), [1])
        # Deleting the machine lets the file register it again.
        self.d.request("DELETE", "/state-machines/x")
        sg = self.hup()
        self.assertEqual((sg["loaded"], sg["conflicts"]), (1, []))
        _, _, b = self.d.request("GET", "/state-machines/x")
        self.assertEqual((b["version"], b["source"][:5]), (2, "file:"))


class ReloadCheck(LifecycleCase):
    """What the unit's ExecReload runs before signalling sagad."""

    def exec_reload_commands(self, sysconfdir):
        cmds = []
        with open(os.path.join(ROOT, "conf", "sagad.service")) as f:
            for line in f:
                if line.startswith("ExecReload="):
                    cmd = line[len("ExecReload="):].strip()
                    cmd = cmd.replace("@BINDIR@", os.path.dirname(binary("sagactl")))
                    cmds.append(shlex.split(cmd.replace("@SYSCONFDIR@", sysconfdir)))
        return cmds

    def test_exec_reload_check_fails_on_a_bad_file(self):
        etc = os.path.join(self.tmp, "etc")
        sagas = os.path.join(etc, "sagad", "sagas")
        os.makedirs(sagas)
        self.write(os.path.join(etc, "sagad", "sagad.conf"), "sagas_dir = %s\n" % sagas)
        cmds = self.exec_reload_commands(etc)
        # The check first, then the signal: a failing check stops the reload.
        self.assertEqual(len(cmds), 2, cmds)
        self.assertEqual(cmds[1][-2:], ["reload", "$MAINPID"])
        check = cmds[0]
        shutil.copy(os.path.join(ROOT, "sagas", "order.asl.json"), sagas)
        self.write(os.path.join(sagas, "p.asl.json"), pass_machine(1))
        p = subprocess.run(check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("p.asl.json: OK", p.stdout.decode())
        self.write(os.path.join(sagas, "broken.asl.json"), '{"StartAt": "Nope", "States": {}}')
        self.write(os.path.join(sagas, "bad name!.asl.json"), pass_machine(1))
        self.write(os.path.join(sagas, "nohandler.asl.json"), {
            "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "sagad:nope", "End": True}}})
        p = subprocess.run(check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 1, out)
        self.assertRegex(out, r"broken\.asl\.json: StartAt")
        self.assertIn("bad name!.asl.json: 'bad name!' is not a valid state machine name", out)
        self.assertIn("nohandler.asl.json: T.Resource: no handler named 'nope'", out)
        self.assertIn("3 files with problems", p.stderr.decode())
        # The daemon refuses the same files at its reload.
        self.d = self.daemon(sagas_dir=sagas)
        self.assertEqual(self.d.request("GET", "/healthz")[2]["sagas"]["failedFiles"], 3)

    def test_exec_reload_returns_once_sagad_has_reloaded(self):
        """The unit's second ExecReload signals sagad and returns only after
        the reload: the new machine is there at once; refused files fail it."""
        etc = os.path.join(self.tmp, "etc")
        sagas = os.path.join(etc, "sagad", "sagas")
        os.makedirs(sagas)
        self.d = self.daemon(sagas_dir=sagas)
        self.write(os.path.join(etc, "sagad", "sagad.conf"),
                   "sagas_dir = %s\nlisten = 127.0.0.1:%d\n" % (sagas, self.d.port))
        signal_and_wait = [a.replace("$MAINPID", str(self.d.proc.pid))
                           for a in self.exec_reload_commands(etc)[1]]
        for n in range(3):
            self.write(os.path.join(sagas, "q%d.asl.json" % n), pass_machine(n))
            p = subprocess.run(signal_and_wait, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
            self.assertEqual((p.returncode, p.stdout), (0, b"reloaded\n"), p.stderr)
            st, _, b = self.d.request("GET", "/state-machines/q%d" % n)
            self.assertEqual(st, 200, b)
        self.assertEqual(self.d.request("GET", "/healthz")[2]["sagas"]["reloads"], 3)
        self.write(os.path.join(sagas, "broken.asl.json"), '{"StartAt": "Nope", "States": {}}')
        p = subprocess.run(signal_and_wait, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("1 definition file was refused", p.stderr.decode())
        self.assertEqual(self.d.request("GET", "/healthz")[2]["sagas"]["reloads"], 4)
        # Not sagad's pid: the signal cannot be sent, nothing waits.
        p = subprocess.run(signal_and_wait[:-1] + ["999999999"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot signal process 999999999", p.stderr.decode())


class Walkthrough(LifecycleCase):
    def test_deploy_alias_and_roll_back_with_sagactl(self):
        """Deploy v1 and v2, alias prod to v2 and start it, roll prod back to
        v1 and start it again: all with sagactl."""
        self.d = self.daemon()
        f = os.path.join(self.tmp, "shop.asl.json")
        self.write(f, pass_machine("v1"))
        code, out, err = self.ctl("deploy", f)
        self.assertEqual((code, out), (0, "shop version 1\n"), err)
        self.write(f, pass_machine("v2"))
        code, out, err = self.ctl("deploy", f)
        self.assertEqual((code, out), (0, "shop version 2\n"), err)
        code, out, err = self.ctl("alias", "shop", "prod", "2")
        self.assertEqual((code, out), (0, "shop:prod -> version 2\n"), err)

        def start_prod():
            code, out, err = self.ctl("start", "shop:prod", "--wait", "30")
            self.assertEqual(code, 0, err)
            code, out, err = self.ctl("--json", "list", "--machine", "shop", "--limit", "1")
            self.assertEqual(code, 0, err)
            eid = json.loads(out)["executions"][0]["executionId"]
            code, out, err = self.ctl("--json", "status", eid)
            self.assertEqual(code, 0, err)
            return json.loads(out)

        desc = start_prod()
        self.assertEqual((desc["stateMachineVersion"], desc["output"]), (2, "v2"), desc)
        self.assertEqual((desc["stateMachineAlias"], desc["stateMachineVersionNamed"]),
                         ("prod", 2), desc)
        # The human status names the alias the start went through.
        code, out, err = self.ctl("status", desc["executionId"])
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"Machine +shop \(version 2, alias prod\)\n")
        code, out, err = self.ctl("alias", "shop", "prod", "1")
        self.assertEqual((code, out), (0, "shop:prod -> version 1\n"), err)
        code, out, err = self.ctl("aliases", "shop")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"ALIAS +VERSION +UPDATED\nprod +1 ")
        desc = start_prod()
        self.assertEqual((desc["stateMachineVersion"], desc["output"]), (1, "v1"), desc)
        code, out, err = self.ctl("start", "shop:2", "--wait", "30")
        self.assertEqual(code, 0, err)
        # A start by number names no alias; sagactl start --wait prints the
        # description as status does.
        self.assertRegex(out, r"Machine +shop \(version 2\)\n")
        code, out, err = self.ctl("unalias", "shop", "prod")
        self.assertEqual((code, out), (0, "shop:prod removed\n"), err)
        code, out, err = self.ctl("start", "shop:prod")
        self.assertEqual(code, 1, out)
        self.assertIn("no version or alias 'prod'", err)
        code, out, err = self.ctl("aliases", "shop")
        self.assertEqual((code, out), (0, ""), err)
        self.assertIn("shop has no aliases", err)
        code, out, err = self.ctl("alias", "shop", "prod", "x")
        self.assertEqual(code, 2, err)

    def test_help_names_the_lifecycle_verbs(self):
        p = subprocess.run([binary("sagactl"), "--help"], stdout=subprocess.PIPE, timeout=30)
        usage = p.stdout.decode()
        self.assertIn("start MACHINE[:ALIAS]", usage)
        for cmd in ("delete", "aliases", "alias", "unalias"):
            self.assertRegex(usage, r"(?m)^  %s [A-Z]" % cmd)
            p = subprocess.run([binary("sagactl"), cmd, "--help"], stdout=subprocess.PIPE,
                               timeout=30)
            self.assertEqual(p.returncode, 0)
            self.assertTrue(p.stdout.decode().startswith("usage: sagactl " + cmd), p.stdout)
        with open(os.path.join(ROOT, "man", "sagactl.1")) as f:
            man = f.read()
        for synopsis in (r".B delete \\fIMACHINE", r".BI aliases \" MACHINE\"",
                         r".B alias \\fIMACHINE ALIAS VERSION", r".B unalias \\fIMACHINE ALIAS",
                         r".B validate \\fIDIR"):
            self.assertRegex(man, "(?m)^" + synopsis)


if __name__ == "__main__":
    unittest.main()
