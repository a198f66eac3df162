"""Operations: `make install`/`make uninstall` lay out and remove exactly the
documented tree (the release's files only), the installed config is accepted
by sagad, the systemd unit passes `systemd-analyze verify`, the man pages
render without warnings; the operator's and the vendor's saga directories,
and `order_saga = off`."""
import filecmp
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import ROOT, Daemon, DaemonTestCase, binary, build_dir, is_asan, sqlite_only

PREFIX = "/usr/local"


def make(*args, destdir):
    # BUILD as the developer's own make spells it (relative to the tree):
    # an absolute one would rewrite the objects' dependency files with
    # absolute targets, and a later plain `make` would miss header changes.
    build = os.path.relpath(build_dir(), ROOT)
    if build.startswith(".."):
        build = build_dir()
    cmd = ["make", "--no-print-directory", "-C", ROOT, f"BUILD={build}",
           f"DESTDIR={destdir}", f"PREFIX={PREFIX}"]
    if is_asan():
        cmd.append("SANITIZE=1")
    p = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600)
    return p.returncode, p.stdout.decode(errors="replace")


def files_under(root, dirs=False):
    """The files (or the directories) under root, relative to it."""
    out = set()
    for d, subdirs, names in os.walk(root):
        for n in subdirs if dirs else names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def release_sagas():
    """The Makefile's SAGA_FILES: what `make install` ships."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"(?m)^SAGA_FILES := (.+)$", f.read())
    return sorted(m.group(1).split())


def config_keys(text):
    keys = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.append(line.split("=", 1)[0].strip())
    return keys


def daemon_keys():
    """The keys sagad itself lists in --help (the config table's names)."""
    out = subprocess.run([binary("sagad"), "--help"], stdout=subprocess.PIPE, check=True).stdout.decode()
    listed = out.split("Keys", 1)[1].split(":", 1)[1]
    return set(re.findall(r"[a-z_]+", listed.split(".", 1)[0]))


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="sagad-install-")
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def p(self, rel):
        return os.path.join(self.dest, rel.lstrip("/"))

    def install(self):
        code, out = make("install", destdir=self.dest)
        self.assertEqual(code, 0, out)
        return out

    def expected(self):
        sagas = release_sagas()
        files = {
            "usr/local/bin/sagad": (0o755, binary("sagad")),
            "usr/local/bin/sagactl": (0o755, binary("sagactl")),
            "usr/local/lib/systemd/system/sagad.service": (0o644, None),
            "etc/sagad/sagad.conf": (0o644, None),
            "usr/local/share/man/man1/sagactl.1": (0o644, os.path.join(ROOT, "man", "sagactl.1")),
            "usr/local/share/man/man8/sagad.8": (0o644, os.path.join(ROOT, "man", "sagad.8")),
        }
        for s in sagas:
            files["usr/local/share/sagad/sagas/" + s] = (0o644, os.path.join(ROOT, "sagas", s))
        return files

    def test_install_lays_out_the_tree_and_uninstall_removes_it(self):
        self.install()
        want = self.expected()
        self.assertEqual(files_under(self.dest), set(want))
        for rel, (mode, source) in want.items():
            st = os.stat(self.p(rel))
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, rel)
            if source:
                self.assertTrue(filecmp.cmp(self.p(rel), source, shallow=False), rel)
        self.assertTrue(os.path.isdir(self.p("usr/local/share/sagad/sagas")))

        with open(self.p("usr/local/lib/systemd/system/sagad.service")) as f:
            unit = f.read()
        self.assertNotRegex(unit, r"@[A-Z]+@")
        self.assertIn("\nExecStart=/usr/local/bin/sagad -c /etc/sagad/sagad.conf\n", unit)

        with open(self.p("etc/sagad/sagad.conf")) as f:
            conf = f.read()
        self.assertNotRegex(conf, r"@[A-Z]+@")
        self.assertRegex(conf, r"(?m)^sagas_dir = /etc/sagad/sagas$")
        self.assertRegex(conf, r"(?m)^vendor_sagas_dir = /usr/local/share/sagad/sagas$")
        self.assertRegex(conf, r"(?m)^order_saga = on$")
        self.assertTrue(os.path.isdir(self.p("etc/sagad/sagas")))
        self.assertRegex(conf, r"(?m)^database = /var/lib/sagad/sagad\.db$")

        code, out = make("uninstall", destdir=self.dest)
        self.assertEqual(code, 0, out)
        self.assertEqual(files_under(self.dest), set())
        self.assertFalse(os.path.exists(self.p("usr/local/share/sagad")))
        self.assertFalse(os.path.exists(self.p("etc/sagad")))

    def test_only_the_release_files_are_installed(self):
        # The list the Makefile ships is the sagas git tracks, no more, no less.
        git = shutil.which("git")
        if git and os.path.exists(os.path.join(ROOT, ".git")):
            p = subprocess.run([git, "-C", ROOT, "ls-files", "sagas"], stdout=subprocess.PIPE,
                               check=True)
            tracked = sorted(os.path.basename(f) for f in p.stdout.decode().split()
                             if f.endswith(".asl.json"))
            self.assertEqual(release_sagas(), tracked)
        # A definition a developer left in sagas/ (untracked) is not installed.
        stray = os.path.join(ROOT, "sagas", "zz-local-%d.asl.json" % os.getpid())
        with open(stray, "w") as f:
            f.write('{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}\n')
        try:
            self.install()
        finally:
            os.unlink(stray)
        self.assertEqual(files_under(self.dest), set(self.expected()))
        self.assertEqual(files_under(self.dest, dirs=True), {
            "etc", "etc/sagad", "etc/sagad/sagas", "usr", "usr/local", "usr/local/bin",
            "usr/local/lib", "usr/local/lib/systemd", "usr/local/lib/systemd/system",
            "usr/local/share", "usr/local/share/man", "usr/local/share/man/man1",
            "usr/local/share/man/man8", "usr/local/share/sagad", "usr/local/share/sagad/sagas"})
        self.assertEqual(os.listdir(self.p("etc/sagad/sagas")), [])

    def test_sagactl_hint_fits_how_it_runs(self):
        self.install()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            url = "http://127.0.0.1:%d" % s.getsockname()[1]  # closed once the block ends
        env = {k: v for k, v in os.environ.items() if k not in ("SAGAD_URL", "SAGAD_TOKEN")}
        for sagactl, installed in ((self.p("usr/local/bin/sagactl"), True),
                                   (binary("sagactl"), False)):
            p = subprocess.run([sagactl, "--url", url, "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env, timeout=30)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 3, err)
            self.assertIn("cannot reach sagad at " + url, err)
            if installed:
                self.assertIn("`systemctl status sagad`", err)
                self.assertIn("`journalctl -u sagad -e`", err)
                self.assertNotIn("make run", err)
            else:
                self.assertIn("start it (make run)", err)
                self.assertNotIn("systemctl", err)

    def test_uninstall_keeps_the_operators_sagas(self):
        self.install()
        mine = self.p("etc/sagad/sagas/mine.asl.json")
        with open(mine, "w") as f:
            f.write("{}\n")
        code, out = make("uninstall", destdir=self.dest)
        self.assertEqual(code, 0, out)
        self.assertIn("keeping " + self.p("etc/sagad/sagas"), out)
        self.assertEqual(files_under(self.dest), {"etc/sagad/sagas/mine.asl.json"})

    def test_edited_config_survives_install_and_uninstall(self):
        self.install()
        conf = self.p("etc/sagad/sagad.conf")
        with open(conf, "a") as f:
            f.write("log_level = debug\n")
        out = self.install()
        self.assertIn("keeping the existing", out)
        with open(conf) as f:
            self.assertTrue(f.read().endswith("log_level = debug\n"))
        code, out = make("uninstall", destdir=self.dest)
        self.assertEqual(code, 0, out)
        self.assertIn("keeping the edited", out)
        self.assertEqual(files_under(self.dest), {"etc/sagad/sagad.conf"})

    def test_unit_passes_systemd_analyze_verify(self):
        self.install()
        analyze = shutil.which("systemd-analyze")
        self.assertIsNotNone(analyze, "systemd-analyze is missing: run scripts/deps.sh test")
        # verify needs ExecStart to exist: point it at the installed copy.
        vdir = tempfile.mkdtemp(prefix="sagad-unit-")
        self.addCleanup(shutil.rmtree, vdir, ignore_errors=True)
        with open(self.p("usr/local/lib/systemd/system/sagad.service")) as f:
            unit = f.read()
        unit = unit.replace("ExecStart=/usr/local/bin/sagad", "ExecStart=" + self.p("usr/local/bin/sagad"))
        unit = unit.replace("ExecReload=/usr/local/bin/sagactl",
                            "ExecReload=" + self.p("usr/local/bin/sagactl"))
        path = os.path.join(vdir, "sagad.service")
        with open(path, "w") as f:
            f.write(unit)
        env = dict(os.environ, MANPATH=self.p("usr/local/share/man"))
        p = subprocess.run([analyze, "verify", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertEqual(p.stdout.decode().strip(), "")
        # The hardening must not regress: docs/operations.md quotes 1.2.
        p = subprocess.run([analyze, "security", "--offline=true", "--threshold=12", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode()[-3000:])
        self.assertIn("Overall exposure level for sagad.service: 1.2", p.stdout.decode())
        reload = "ExecReload=%s --config /etc/sagad/sagad.conf reload $MAINPID" % (
            self.p("usr/local/bin/sagactl"))
        for line in ("Type=notify", reload, "Restart=on-failure",
                     "StateDirectory=sagad", "DynamicUser=yes", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                     "PrivateDevices=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                     "SystemCallFilter=@system-service", "CapabilityBoundingSet="):
            self.assertRegex(unit, r"(?m)^" + re.escape(line) + "$")
        self.assertRegex(unit, r"(?m)^WatchdogSec=\d+s$")


class InstalledConfig(DaemonTestCase):
    def test_production_config_lists_every_key_and_is_accepted(self):
        with open(os.path.join(ROOT, "conf", "sagad.prod.conf")) as f:
            text = f.read()
        text = text.replace("@DATADIR@", os.path.join(ROOT, "x-share"))
        keys = config_keys(text)
        self.assertEqual(len(keys), len(set(keys)), "a key is set twice")
        self.assertEqual(set(keys), daemon_keys())
        d = Daemon(config_text=text)  # the harness overrides listen, database, sagas_dir, redis
        self._daemons.append(d)
        d.start()
        st, _, body = d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)


def pass_machine(tag):
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"from": tag}, "End": True}}}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)


class SagaDirs(DaemonTestCase):
    """vendor_sagas_dir is loaded first, then each directory of sagas_dir; a
    later directory's file replaces an earlier one's of the same name."""

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="sagad-sagas-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        return d

    def names(self, d):
        st, _, body = d.request("GET", "/state-machines")
        self.assertEqual(st, 200, body)
        return sorted(m["name"] for m in body["stateMachines"])

    def test_vendor_first_the_operators_file_wins_and_is_logged(self):
        vendor, mine, more = self.tmpdir(), self.tmpdir(), self.tmpdir()
        shutil.copy(os.path.join(ROOT, "sagas", "order.asl.json"), vendor)
        write_json(os.path.join(vendor, "shared.asl.json"), pass_machine("vendor"))
        write_json(os.path.join(mine, "shared.asl.json"), pass_machine("mine"))
        write_json(os.path.join(mine, "twice.asl.json"), pass_machine("mine"))
        write_json(os.path.join(more, "twice.asl.json"), pass_machine("more"))
        write_json(os.path.join(more, "extra.asl.json"), pass_machine("more"))
        d = self.daemon(vendor_sagas_dir=vendor, sagas_dir=f"{mine}, {more}")
        self.assertEqual(self.names(d), ["extra", "order", "shared", "twice"])
        self.assertEqual(self.run_to_end("shared", {}, d=d)["output"], {"from": "mine"})
        self.assertEqual(self.run_to_end("twice", {}, d=d)["output"], {"from": "more"})
        log = d.stderr()
        self.assertIn(f"{vendor}/shared.asl.json: replaced by {mine}/shared.asl.json", log)
        self.assertIn(f"{mine}/twice.asl.json: replaced by {more}/twice.asl.json", log)
        # Each name was registered once: the replaced files were not loaded.
        for name in ("shared", "twice"):
            st, _, body = d.request("GET", f"/state-machines/{name}/versions")
            if st == 200:
                self.assertEqual(len(body["versions"]), 1, body)
        self.assertRegex(log, f"vendor_sagas_dir {re.escape(vendor)} and sagas_dir .* loaded")
        health = d.request("GET", "/healthz")[2]["sagas"]
        self.assertEqual((health["vendorDir"], health["failedFiles"]), (vendor, 0))
        # SIGHUP reloads in the same order: nothing changes, nothing fails.
        d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(d.wait_log(r"(?sm)SIGHUP.*sagas_dir .* loaded$"), d.stderr())
        self.assertEqual(self.run_to_end("shared", {}, d=d)["output"], {"from": "mine"})

    def test_one_sagas_dir_means_what_it_meant(self):
        d = self.daemon()  # the harness: sagas_dir = sagas/, no vendor_sagas_dir
        self.assertIn("order", self.names(d))
        health = d.request("GET", "/healthz")[2]["sagas"]
        self.assertEqual(health["dir"], os.path.join(ROOT, "sagas"))
        self.assertNotIn("vendorDir", health)
        self.assertRegex(d.stderr(), r"(?m) sagas_dir \S+ loaded$")


class OrderSagaOff(DaemonTestCase):
    """order_saga = off: no order routes, handlers or vendor machine; other
    machines run."""

    def test_off_removes_routes_handlers_and_the_vendor_machine(self):
        mine = tempfile.mkdtemp(prefix="sagad-sagas-")
        self.addCleanup(shutil.rmtree, mine, ignore_errors=True)
        write_json(os.path.join(mine, "hello.asl.json"), pass_machine("mine"))
        d = self.daemon(order_saga="off", vendor_sagas_dir=os.path.join(ROOT, "sagas"),
                        sagas_dir=mine)
        for method, path in (("POST", "/order"), ("GET", "/orders"), ("GET", "/orders/x"),
                             ("GET", "/stock"), ("GET", "/stock/coffee-beans"),
                             ("PUT", "/stock/coffee-beans")):
            st, _, body = d.request(method, path, {"quantity": 1} if method != "GET" else None)
            self.assertEqual(st, 404, (method, path, body))
        st, _, body = d.request("GET", "/state-machines")
        self.assertEqual([m["name"] for m in body["stateMachines"]], ["hello"])
        self.assertEqual(d.request("GET", "/state-machines/order")[0], 404)
        self.assertNotIn("vendorDir", d.request("GET", "/healthz")[2]["sagas"])
        # A machine naming an order handler is refused, saying why.
        rogue = {"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": "sagad:orders.create",
                                                  "End": True}}}
        st, _, body = d.request("PUT", "/state-machines/rogue", rogue)
        self.assertEqual(st, 400, body)
        text = json.dumps(body)
        self.assertIn("orders.create", text)
        self.assertIn("order_saga = off", text)
        for handler in ("stock.reserve", "payment.process", "orders.cancel"):
            rogue["States"]["C"]["Resource"] = "sagad:" + handler
            st, _, body = d.request("PUT", "/state-machines/rogue", rogue)
            self.assertEqual(st, 400, body)
            self.assertIn("order_saga = off", json.dumps(body))
        # Other machines, and the general handlers, run.
        self.assertEqual(self.run_to_end("hello", {}, d=d)["output"], {"from": "mine"})
        echo = {"StartAt": "E", "States": {
            "E": {"Type": "Task", "Resource": "sagad:echo", "Next": "Pub"},
            "Pub": {"Type": "Task", "Resource": "sagad:events.publish",
                    "Parameters": {"detailType": "Hello"}, "End": True}}}
        self.put("echo", echo, d=d)
        self.assertEqual(self.run_to_end("echo", {"a": 1}, d=d)["status"], "SUCCEEDED")

    def test_on_by_default_and_explicitly(self):
        d = self.daemon(order_saga="on")
        self.assertEqual(d.request("GET", "/stock")[0], 200)
        self.assertEqual(d.request("GET", "/state-machines/order")[0], 200)


@sqlite_only("`sqlite3 DB .backup` of the live file and PRAGMA integrity_check; "
             "PostgreSQL is backed up with its own tools (pg_dump, pg_basebackup)")
class LiveBackup(DaemonTestCase):
    """docs/operations.md: `sqlite3 DB ".backup FILE"` on a running daemon gives
    a consistent copy that another sagad opens and continues from."""

    def test_backup_of_a_live_database(self):
        sqlite3 = shutil.which("sqlite3")
        self.assertIsNotNone(sqlite3, "sqlite3 is missing: run scripts/deps.sh test")
        d = self.daemon()
        nap = {"StartAt": "N", "States": {"N": {"Type": "Wait", "Seconds": 3600, "End": True}}}
        quick = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        self.assertEqual(d.request("PUT", "/state-machines/nap", nap)[0], 201)
        self.assertEqual(d.request("PUT", "/state-machines/quick", quick)[0], 201)
        napping = [d.request("POST", "/state-machines/nap/executions", {"input": {"i": i}})[2]["executionId"]
                   for i in range(5)]
        for i in range(5):
            self.assertEqual(d.request("POST", "/state-machines/quick/executions?wait=10",
                                       {"input": {"i": i}})[0], 200)
        backup = os.path.join(d.dir, "backup.db")
        p = subprocess.run([sqlite3, d.opts["database"], f".backup {backup}"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        # The daemon keeps writing while and after the copy is taken.
        self.assertEqual(d.request("POST", "/state-machines/quick/executions?wait=10", {"input": {}})[0], 200)
        p = subprocess.run([sqlite3, backup, "PRAGMA integrity_check"], stdout=subprocess.PIPE, timeout=60)
        self.assertEqual(p.stdout.decode().strip(), "ok")

        restored = self.daemon(database=backup)
        st, _, body = restored.request("GET", "/executions?limit=100")
        self.assertEqual(st, 200)
        statuses = sorted(e["status"] for e in body["executions"])
        self.assertEqual(statuses, ["RUNNING"] * 5 + ["SUCCEEDED"] * 5)
        for ex in napping:
            self.assertEqual(restored.request("GET", f"/executions/{ex}")[2]["status"], "RUNNING")
        st, _, body = restored.request("POST", f"/executions/{napping[0]}/stop", {})
        self.assertEqual(st, 200, body)


class ManPages(unittest.TestCase):
    def test_man_pages_render_without_warnings(self):
        man = shutil.which("man")
        self.assertIsNotNone(man, "man is missing: run scripts/deps.sh test")
        for page, title in (("sagad.8", "SAGAD(8)"), ("sagactl.1", "SAGACTL(1)")):
            p = subprocess.run([man, "--warnings", "-l", os.path.join(ROOT, "man", page)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"),
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(p.stderr.decode(), "", page)
            out = re.sub(r".\x08", "", p.stdout.decode())  # overstrike bold/underline
            self.assertTrue(out.startswith(title), out[:200])
            for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"):
                self.assertRegex(out, r"(?m)^" + section + "$", page)

    def test_sagad_man_page_documents_every_key(self):
        with open(os.path.join(ROOT, "man", "sagad.8")) as f:
            text = f.read()
        for key in daemon_keys():
            self.assertRegex(text, r'(?m)^\.BR ' + key + r' " \(default ', key)


if __name__ == "__main__":
    unittest.main()
