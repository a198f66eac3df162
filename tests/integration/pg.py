"""Throwaway PostgreSQL 15 clusters for the integration tests: initdb once per
test run into a template, `cp -a` per cluster, pg_ctl on a free loopback port,
fsync and synchronous_commit on (kill tests are only honest with real
commits). As root the server runs as the `postgres` user (it refuses root).
Python standard library only."""
import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import harness
from harness import free_port

BIN = "/usr/lib/postgresql/15/bin"
_template = None


def available():
    """Why clusters cannot run here, or None when they can."""
    if not os.path.exists(os.path.join(BIN, "initdb")):
        return "PostgreSQL 15 is not installed (Debian package postgresql)"
    if os.getuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres user to run the server as"
    return None


def _as_server_user(argv):
    return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv


def _chown(path):
    if os.getuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _template_dir():
    """A fresh data directory made once per process (initdb takes seconds)."""
    global _template
    if _template is None:
        base = tempfile.mkdtemp(prefix="sagad-pg-template-")
        os.chmod(base, 0o755)
        _chown(base)
        data = os.path.join(base, "data")
        subprocess.run(_as_server_user([os.path.join(BIN, "initdb"), "-N", "-D", data,
                                        "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                        "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _template = base
        atexit.register(shutil.rmtree, base, True)
    return os.path.join(_template, "data")


class Cluster:
    """One PostgreSQL server on its own copy of the template."""

    def __init__(self, fsync=True):
        self.fsync = fsync
        self.dir = tempfile.mkdtemp(prefix="sagad-pg-")
        os.chmod(self.dir, 0o755)
        _chown(self.dir)
        self.data = os.path.join(self.dir, "data")
        subprocess.run(["cp", "-a", _template_dir(), self.data], check=True)
        self.port = None
        self.log = os.path.join(self.dir, "log")

    def _ctl(self, *args, check=True):
        return subprocess.run(_as_server_user([os.path.join(BIN, "pg_ctl"), "-D", self.data,
                                               *args]),
                              check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self):
        """Starts the server (on the same port after a stop). Retries while a
        killed postmaster's children still hold the data directory."""
        self.port = self.port or free_port()
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c shared_buffers=32MB -c max_connections=50 "
                f"-c fsync={'on' if self.fsync else 'off'} -c synchronous_commit=on")
        deadline = time.time() + 15
        while True:
            r = self._ctl("-w", "-l", self.log, "-o", opts, "start", check=False)
            if r.returncode == 0:
                return self
            if time.time() > deadline:
                raise RuntimeError("pg_ctl start failed: " + r.stderr.decode(errors="replace")
                                   + self.server_log()[-2000:])
            time.sleep(0.1)

    def stop(self, mode="fast"):
        """pg_ctl stop; mode "immediate" is a crash (recovery at the next start)."""
        self._ctl("-m", mode, "stop", check=False)

    def kill(self):
        """kill -9 the postmaster (its children exit on their own)."""
        pid_file = os.path.join(self.data, "postmaster.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.readline())
            os.kill(pid, 9)
        except (OSError, ValueError):
            pass

    def uri(self, db="postgres", user="postgres"):
        """What sagad's `database` takes."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="postgres"):
        """Runs `sql` with psql and returns its unaligned, tuples-only output."""
        r = subprocess.run([os.path.join(BIN, "psql"), "-X", "-A", "-t", "-q", "-v",
                            "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres", "-d", db, "-c", sql],
                           check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return r.stdout.decode().strip()

    def server_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class ClusterTestCase(harness.DaemonTestCase):
    """A DaemonTestCase with a fresh cluster per test (self.cluster), skipped
    saying why where PostgreSQL cannot run."""

    def setUp(self):
        why = available()
        if why:
            self.skipTest(why)
        super().setUp()
        self.cluster = Cluster().start()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.cluster.cleanup()


class Backend:
    """The integration suite on PostgreSQL, as a context manager: one cluster
    for the whole run; every Daemon that names no database gets a database of
    its own per work directory (a restart with the same workdir finds its
    data again), and harness.on_postgres() says so to the tests.

    Databases are reused: once the daemon that made a work directory is
    cleaned up, its database goes back to a pool, and the next daemon gets it
    emptied (its schema dropped: sagad migrates it again, seeding the domains'
    rows). A CREATE DATABASE per daemon costs more than many tests."""

    def __enter__(self):
        # fsync off: the suite kills sagad and the server's processes, never
        # the machine, and the kernel keeps what they wrote; synchronous_commit
        # stays on, so a killed server still loses no acknowledged commit.
        self.cluster = Cluster(fsync=False).start()
        self.by_dir, self.pool, self.count = {}, [], 0
        self.node_ids = None
        self.plain_init = harness.Daemon.__init__
        self.plain_cleanup = harness.Daemon.cleanup
        self.plain_env = os.environ.get("SAGAD_TEST_BACKEND")
        backend = self

        def init(daemon, workdir=None, config_text=None, **opts):
            backend.plain_init(daemon, workdir, config_text, **opts)
            if "database" not in opts:
                db = backend.database_for(daemon.dir)
                daemon.opts["database"] = backend.cluster.uri(db)
                # A restart on a new port is the same node: it takes its
                # executions back at once instead of after a lease.
                if "node_id" not in opts and backend.knows_node_id():
                    daemon.opts["node_id"] = db

        def cleanup(daemon):
            backend.plain_cleanup(daemon)
            if daemon.own_dir and daemon.dir in backend.by_dir:
                backend.pool.append(backend.by_dir.pop(daemon.dir))

        harness.Daemon.__init__ = init
        harness.Daemon.cleanup = cleanup
        os.environ["SAGAD_TEST_BACKEND"] = "postgresql"
        return self

    def knows_node_id(self):
        """Whether this build's sagad has the node_id key (several nodes per
        database); asked once, of the build under test."""
        if self.node_ids is None:
            p = subprocess.run([harness.binary("sagad"), "--node_id=probe", "--listen=nowhere"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
            self.node_ids = b"'node_id': unknown key" not in p.stderr
        return self.node_ids

    def database_for(self, workdir):
        """The database of `workdir`: its own, a pooled one emptied now (its
        daemons were all stopped by the test that used it), or a new one."""
        db = self.by_dir.get(workdir)
        if db:
            return db
        if self.pool:
            db = self.pool.pop()
            self.cluster.psql(AS_NEW, db)
        else:
            self.count += 1
            db = f"d{self.count}"
            self.cluster.psql(f"CREATE DATABASE {db}")
        self.by_dir[workdir] = db
        return db

    def __exit__(self, *exc):
        harness.Daemon.__init__ = self.plain_init
        harness.Daemon.cleanup = self.plain_cleanup
        if self.plain_env is None:
            os.environ.pop("SAGAD_TEST_BACKEND", None)
        else:
            os.environ["SAGAD_TEST_BACKEND"] = self.plain_env
        self.cluster.cleanup()
        return False


# Everything sagad made in a database, gone: a database as new.
AS_NEW = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"


def run_modules(names):
    """Runs integration modules on PostgreSQL (Backend), for trying them:
    `python3 tests/integration/pg.py test_executions test_order_saga`.
    tests/run.py --pg runs the whole suite this way."""
    import unittest

    with Backend():
        suite = unittest.defaultTestLoader.loadTestsFromNames(names)
        return unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()


if __name__ == "__main__":
    import sys
    sys.exit(0 if run_modules(sys.argv[1:]) else 1)
