"""The database under trouble: a second daemon on the same file, a disk that
fails (full, read-only, broken) under a running daemon or before it starts, and
a corrupted file. The disk breaks through the fault-injection VFS that sagad
installs when SAGAD_FAULT_FILE names a file (store/fault.h)."""
import os
import re
import sqlite3
import subprocess
import time
import unittest

from harness import Daemon, DaemonTestCase, binary, sqlite_only

MACHINE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


def run_once(d, timeout=10):
    """Runs sagad with d's arguments until it exits; returns (code, stderr)."""
    p = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stderr.decode(errors="replace")


class TwoDaemons(DaemonTestCase):
    @sqlite_only("the one-daemon lock file next to the database (<path>.lock naming its "
                 "pid); on PostgreSQL several nodes share one database")
    def test_second_daemon_on_the_same_database_exits_1_naming_the_first(self):
        first = self.daemon()
        second = Daemon(workdir=first.dir)
        t0 = time.time()
        code, err = run_once(second)
        self.assertLess(time.time() - t0, 1.0 + (4.0 if "asan" in binary("sagad") else 0))
        self.assertEqual(code, 1, err)
        self.assertIn(f"pid {first.proc.pid}", err)
        self.assertIn(first.opts["database"], err)
        # The first one is untouched and keeps serving.
        status, _, body = first.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        status, _, _ = first.request("PUT", "/state-machines/m", MACHINE)
        self.assertIn(status, (200, 201))

    def test_lock_is_released_when_the_holder_is_killed(self):
        first = self.daemon()
        first.kill()
        again = self.daemon(database=first.opts["database"])
        status, _, _ = again.request("GET", "/healthz")
        self.assertEqual(status, 200)


@sqlite_only("disk faults are injected through sagad's SQLite VFS (SAGAD_FAULT_FILE); "
             "a PostgreSQL server's disk is the server's")
class FailingDisk(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.fault = None

    def faulty_daemon(self, **opts):
        d = Daemon(**opts)
        self._daemons.append(d)
        self.fault = os.path.join(d.dir, "fault")
        open(self.fault, "w").close()
        return d.start(env={"SAGAD_FAULT_FILE": self.fault})

    def arm(self, word):
        with open(self.fault, "w") as f:
            f.write(word)

    def test_full_disk_is_reported_by_healthz_and_logged_boundedly(self):
        d = self.faulty_daemon()
        self.assertEqual(d.request("PUT", "/state-machines/m", MACHINE)[0], 201)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

        self.arm("full")
        lines_before = len(d.stderr_lines)
        status, _, body = d.request("POST", "/state-machines/m/executions?wait=5",
                                    {"input": {"x": 1}})
        self.assertEqual(status, 503, body)
        # Nothing was acknowledged: no execution is listed.
        _, _, listing = d.request("GET", "/executions")
        self.assertEqual(listing["executions"], [], listing)
        status, _, body = d.request("GET", "/healthz")
        self.assertEqual(status, 503, body)
        self.assertEqual(body["status"], "unavailable")
        db = body["database"]
        self.assertEqual(db["storage"], "failing")
        self.assertIn("full", db["lastError"])
        self.assertGreater(db["failingSinceMs"], 0)
        self.assertGreaterEqual(db["failedCommits"], 1)
        _, _, text = d.request("GET", "/metrics")
        failing = re.search(r"^sagad_sqlite_failing_transactions (\d+)$", text, re.M)
        self.assertGreater(int(failing.group(1)), 0, text)
        # Clients keep retrying for two seconds: the log stays bounded.
        t_end = time.time() + 2
        while time.time() < t_end:
            d.request("POST", "/state-machines/m/executions", {"input": {"x": 2}})
        time.sleep(0.2)
        log = d.stderr_lines[lines_before:]
        self.assertLess(len(log), 60, "\n".join(log[-80:]))
        self.assertNotIn("cannot rollback", "\n".join(log))
        self.assertTrue(any("suppressed" in l or "repeated" in l for l in log) or len(log) < 20,
                        "\n".join(log))

        self.arm("")
        status, _, body = d.request("POST", "/state-machines/m/executions?wait=5", {"input": {"x": 3}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "SUCCEEDED")
        status, _, body = d.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["database"]["storage"], "ok")

    def test_daemon_refuses_a_database_it_cannot_write(self):
        # Create the database, then start again with every write failing.
        first = Daemon()
        self._daemons.append(first)
        first.start()
        self.assertEqual(first.stop(), 0)
        d = Daemon(workdir=first.dir)
        self._daemons.append(d)
        fault = os.path.join(d.dir, "fault")
        with open(fault, "w") as f:
            f.write("write")
        p = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=10, env=dict(os.environ, SAGAD_FAULT_FILE=fault))
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertIn(d.opts["database"], err)
        self.assertIn("cannot write", err)
        self.assertNotIn("listening on", err)


@sqlite_only("corrupts the database file's pages and reads PRAGMA quick_check; a "
             "PostgreSQL database is no file of sagad's and has no quick_check")
class CorruptDatabase(DaemonTestCase):
    def test_corrupted_database_is_reported_by_the_log_and_healthz(self):
        d = self.daemon()
        self.assertEqual(d.request("PUT", "/state-machines/m", MACHINE)[0], 201)
        for i in range(300):
            d.request("POST", "/state-machines/m/executions",
                      {"input": {"pad": "x" * 500, "i": i}})
        self.assertEqual(d.stop(), 0)
        path = d.opts["database"]
        # Garbage over the middle of an index's pages: the rows stay readable,
        # the start path (schema, recovery) does not touch them.
        con = sqlite3.connect(path)
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = "
                           "'sqlite_autoindex_executions_1'").fetchone()[0]
        con.close()
        with open(path, "r+b") as f:
            f.seek((root - 1) * page_size + 100)
            f.write(os.urandom(page_size - 200))
        again = Daemon(workdir=d.dir)
        self._daemons.append(again)
        again.start()
        self.assertTrue(again.wait_log(r"database .*corrupt", 20), again.stderr())
        deadline = time.time() + 20
        while True:
            status, _, body = again.request("GET", "/healthz")
            if body["database"].get("integrity") != "checking" or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["database"]["integrity"], "corrupt")
        self.assertTrue(body["database"]["integrityErrors"], body)
        _, _, text = again.request("GET", "/metrics")
        self.assertRegex(text, r"(?m)^sagad_database_corrupt 1$")

    def test_clean_database_reports_integrity_ok(self):
        d = self.daemon()
        deadline = time.time() + 10
        while True:
            status, _, body = d.request("GET", "/healthz")
            if body["database"].get("integrity") == "ok" or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["database"]["integrity"], "ok")


if __name__ == "__main__":
    unittest.main()
