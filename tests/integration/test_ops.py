"""Operations: `make install`/`make uninstall` lay out and remove exactly the
documented tree, the installed config is accepted by sagad, the systemd unit
passes `systemd-analyze verify`, and the man pages render without warnings."""
import filecmp
import glob
import os
import re
import shutil
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


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


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
        sagas = sorted(os.path.basename(f) for f in glob.glob(os.path.join(ROOT, "sagas", "*.asl.json")))
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
        self.assertRegex(conf, r"(?m)^sagas_dir = /usr/local/share/sagad/sagas$")
        self.assertRegex(conf, r"(?m)^database = /var/lib/sagad/sagad\.db$")

        code, out = make("uninstall", destdir=self.dest)
        self.assertEqual(code, 0, out)
        self.assertEqual(files_under(self.dest), set())
        self.assertFalse(os.path.exists(self.p("usr/local/share/sagad")))
        self.assertFalse(os.path.exists(self.p("etc/sagad")))

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
        for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
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
