"""The installed unit under a real systemd. `make install` goes to a staging
directory; systemd-nspawn boots this machine's own /usr (`--volatile=yes`: a
fresh tmpfs root, nothing of the host written) with the staged /usr/local and
/etc/sagad bound in, and a oneshot unit drives sagad.service with systemctl:
start (Type=notify), the API and sagactl, reload, three periods of WatchdogSec,
stop, the sagactl hint, and a bad configuration (exit 2, not restarted).
Skipped where nspawn cannot boot (not root, no systemd-container, no
namespaces), and under the sanitizers (the unit runs the release build)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import is_asan
from test_ops import make

CHECK = r"""#!/bin/sh
# Runs inside the booted container, as root.
exec > /out/result 2>&1
step() { echo "== $*"; }
show() { systemctl show sagad -p ActiveState -p Result -p ExecMainStatus -p NRestarts -p MainPID "$@"; }
step unit; systemctl cat sagad | grep '^WatchdogSec='
# The shipped 30 s, made 3 s here so that a few periods pass quickly.
mkdir -p /run/systemd/system/sagad.service.d
printf '[Service]\nWatchdogSec=3s\n' > /run/systemd/system/sagad.service.d/watchdog.conf
systemctl daemon-reload
step start; systemctl start sagad; echo "rc=$?"; show -p Type -p WatchdogUSec
step healthz; curl -s -m 5 127.0.0.1:8080/healthz; echo
step sagactl; /usr/local/bin/sagactl --config /etc/sagad/sagad.conf machines; echo "rc=$?"
step reload
printf '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}' > /etc/sagad/sagas/mine.asl.json
systemctl reload sagad; echo "rc=$?"
# systemctl returns once sagad has reloaded: one look, no waiting.
curl -s -m 5 127.0.0.1:8080/state-machines; echo
step watchdog; sleep 10; show
step stop; systemctl stop sagad; echo "rc=$?"; show
step hint; /usr/local/bin/sagactl list; echo "rc=$?"
step badconfig; mkdir -p /run/systemd/system/sagad.service.d
printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/sagad -c /etc/sagad/sagad.conf --bogus=1 --log_level=loud\n' \
  > /run/systemd/system/sagad.service.d/bad.conf
systemctl daemon-reload; systemctl start sagad; echo "rc=$?"; sleep 3; show
step journal; journalctl -u sagad --no-pager -o cat
step state; stat -c '%U %a %n' /var/lib/private/sagad /var/lib/private/sagad/sagad.db
step done
systemctl poweroff
"""

UNIT = """[Unit]
Description=drive sagad.service (test_systemd_unit.py)
After=dbus.service network.target
[Service]
Type=oneshot
ExecStart=/ctl/check.sh
"""


def sections(text):
    out, name = {}, None
    for line in text.splitlines():
        m = re.match(r"== (\w+)$", line)
        if m:
            name = m.group(1)
            out[name] = ""
        elif name:
            out[name] += line + "\n"
    return out


def props(text):
    return dict(re.findall(r"(?m)^(\w+)=(.*)$", text))


class UnitUnderSystemd(unittest.TestCase):
    def setUp(self):
        if is_asan():
            self.skipTest("the unit runs the release build (run with build/)")
        nspawn = shutil.which("systemd-nspawn")
        if os.geteuid() != 0 or not nspawn or not os.path.exists("/usr/lib/systemd/systemd"):
            self.skipTest("needs root, systemd and systemd-nspawn (Debian systemd-container)")
        if not os.path.islink("/bin"):
            self.skipTest("--volatile=yes boots /usr only: needs a merged-/usr system")
        self.nspawn = nspawn
        self.dir = tempfile.mkdtemp(prefix="sagad-nspawn-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def boot(self):
        stage, out, ctl = (os.path.join(self.dir, d) for d in ("stage", "out", "ctl"))
        os.makedirs(out)
        os.makedirs(os.path.join(ctl, "system", "multi-user.target.wants"))
        code, log = make("install", destdir=stage)
        self.assertEqual(code, 0, log)
        with open(os.path.join(ctl, "check.sh"), "w") as f:
            f.write(CHECK)
        os.chmod(os.path.join(ctl, "check.sh"), 0o755)
        with open(os.path.join(ctl, "system", "sagad-check.service"), "w") as f:
            f.write(UNIT)
        os.symlink("../sagad-check.service",
                   os.path.join(ctl, "system", "multi-user.target.wants", "sagad-check.service"))
        name = "sagadtest%d" % os.getpid()
        self.addCleanup(shutil.rmtree, "/run/systemd/nspawn/propagate/" + name, ignore_errors=True)
        p = subprocess.run(
            [self.nspawn, "-D", "/", "--volatile=yes", "--boot", "--register=no", "--keep-unit",
             "--console=pipe", "-M", name,
             f"--bind-ro={stage}/usr/local:/usr/local", f"--bind={stage}/etc/sagad:/etc/sagad",
             f"--bind={out}:/out", f"--bind-ro={ctl}:/ctl",
             f"--bind-ro={ctl}/system:/etc/systemd/system"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        try:
            with open(os.path.join(out, "result")) as f:
                return f.read()
        except FileNotFoundError:
            self.skipTest("systemd-nspawn could not boot a container here:\n" +
                          p.stdout.decode(errors="replace")[-2000:])

    def test_the_installed_unit_runs_under_systemd(self):
        result = self.boot()
        s = sections(result)
        self.assertIn("done", s, result)
        start = props(s["start"])
        self.assertEqual(props(s["unit"]).get("WatchdogSec"), "30s", result)
        self.assertEqual((start["rc"], start["ActiveState"], start["Type"], start["WatchdogUSec"]),
                         ("0", "active", "notify", "3s"), result)
        self.assertIn('"status":"ok"', s["healthz"])
        self.assertIn('"dir":"/etc/sagad/sagas","vendorDir":"/usr/local/share/sagad/sagas"',
                      s["healthz"])
        self.assertRegex(s["sagactl"], r"(?m)^order\s")
        self.assertIn("rc=0", s["sagactl"])
        self.assertIn("rc=0", s["reload"])
        self.assertIn('"name":"mine"', s["reload"])
        # Watchdog pings kept it alive for three periods of WatchdogSec: same process.
        wd = props(s["watchdog"])
        self.assertEqual((wd["ActiveState"], wd["NRestarts"], wd["MainPID"]),
                         ("active", "0", start["MainPID"]), result)
        stop = props(s["stop"])
        self.assertEqual((stop["rc"], stop["Result"], stop["ExecMainStatus"]), ("0", "success", "0"))
        self.assertIn("`systemctl status sagad`", s["hint"])
        self.assertIn("rc=3", s["hint"])
        bad = props(s["badconfig"])
        # RestartPreventExitStatus=2: a configuration error is not retried.
        self.assertEqual((bad["ActiveState"], bad["ExecMainStatus"], bad["NRestarts"]),
                         ("failed", "2", "0"), result)
        self.assertIn("sagad: command line: key 'bogus': unknown key", s["journal"])
        self.assertIn("sagad: command line: key 'log_level': invalid value 'loud'", s["journal"])
        self.assertIn("info stopping (SIGTERM)", s["journal"])
        # DynamicUser with StateDirectory: the database belongs to the transient user.
        owners = re.findall(r"(?m)^(\S+) (\d+) (\S+)$", s["state"])
        self.assertEqual([(o[1], o[2]) for o in owners],
                         [("750", "/var/lib/private/sagad"), ("600", "/var/lib/private/sagad/sagad.db")])
        self.assertNotEqual(owners[0][0], "root")


if __name__ == "__main__":
    unittest.main()
