"""Test harness: starts the real sagad (from $SAGAD_BUILD, default build/) on a
temporary database and a free loopback port, a real redis-server when asked,
and talks real HTTP. Python standard library only.

The same tests run on PostgreSQL when $SAGAD_TEST_BACKEND is "postgresql"
(tests/integration/pg.py sets it and gives each Daemon a database on a
throwaway cluster): tests read the database with sql(), and mark what only
SQLite has with sqlite_only(reason)."""
import functools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer")


def build_dir():
    return os.environ.get("SAGAD_BUILD", os.path.join(ROOT, "build"))


def binary(name):
    return os.path.join(build_dir(), name)


def is_asan():
    return os.path.basename(build_dir().rstrip("/")).endswith("asan")


def on_postgres():
    """Whether this run gives daemons PostgreSQL databases (pg.py)."""
    return os.environ.get("SAGAD_TEST_BACKEND") == "postgresql"


def sqlite_only(reason):
    """Skips a test (or every test of a class) on PostgreSQL, saying why:
    `reason` names the SQLite feature it is about. Checked when the test runs,
    so one process can run a module on both backends."""
    def wrap_test(fn):
        @functools.wraps(fn)
        def run(self, *a, **kw):
            if on_postgres():
                self.skipTest("SQLite only: " + reason)
            return fn(self, *a, **kw)
        return run

    def deco(obj):
        if isinstance(obj, type):
            for name in list(vars(obj)):
                if name.startswith("test"):
                    setattr(obj, name, wrap_test(getattr(obj, name)))
            return obj
        return wrap_test(obj)
    return deco


def is_pg_uri(database):
    return database.startswith(("postgresql://", "postgres://"))


_PSQL = "/usr/lib/postgresql/15/bin/psql"
# Each row as a JSON array of its values: integers stay numbers, NULL null.
_PG_ROWS = "SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM (\n{}\n) q;\n"


def _sql_params(query, args):
    """`query` with its ?s outside quotes as psql variables :'pN' (texts) or
    :pN (integers, checked), and psql's -v arguments for them."""
    out, argv, i, quote = [], [], 0, None
    for ch in query:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            v = args[i]
            i += 1
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise TypeError(f"sql(): parameter {i} must be int or str, not {type(v)}")
            out.append(f":p{i}" if isinstance(v, int) else f":'p{i}'")
            argv += ["-v", f"p{i}={v}"]
            continue
        out.append(ch)
    if i != len(args):
        raise TypeError(f"sql(): {len(args)} parameters for {i} placeholders")
    return "".join(out), argv


def sql(database, query, *args):
    """Runs one SELECT with ? parameters on `database` (a SQLite path or a
    postgresql:// URI, as sagad's `database`) and returns its rows as a list
    of tuples of int, str, float or None, the same on both backends. Write
    SQL both dialects take (CASE instead of summing booleans, no
    group_concat). SQLite reads through the sqlite3 module; PostgreSQL through
    psql, which must be installed (scripts/deps.sh test)."""
    if not is_pg_uri(database):
        db = sqlite3.connect(database, timeout=10)
        try:
            return [tuple(r) for r in db.execute(query, args).fetchall()]
        finally:
            db.close()
    text, argv = _sql_params(query, args)
    p = subprocess.run([_PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", *argv,
                        "-d", database, "-f", "-"],
                       input=_PG_ROWS.format(text).encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"psql failed on {query!r}: " + p.stderr.decode(errors="replace"))
    return [tuple(v for _, v in pairs)
            for pairs in json.loads(p.stdout, object_pairs_hook=lambda pairs: pairs)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    """A throwaway redis-server on a free loopback port."""

    def __init__(self):
        self.port = None
        self.proc = None

    def start(self, port=None, args=()):
        for _ in range(20):
            self.port = port or free_port()
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no", *args],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 5
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
                        s.sendall(b"PING\r\n")
                        if s.recv(16).startswith((b"+PONG", b"-NOAUTH")):
                            return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
            if port:
                break
        raise RuntimeError("could not start redis-server")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


class Daemon:
    """A real sagad process. `opts` become --key=value arguments."""

    def __init__(self, workdir=None, config_text=None, **opts):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="sagad-test-")
        self.opts = {
            "listen": "127.0.0.1:0",
            "database": os.path.join(self.dir, "sagad.db"),
            "sagas_dir": os.path.join(ROOT, "sagas"),
            "redis": "",
            "log_level": "info",
        }
        self.opts.update({k: str(v) for k, v in opts.items()})
        self.config_text = config_text
        self.proc = None
        self.port = None
        self.stderr_lines = []
        self._lock = threading.Lock()
        self._reader = None

    def argv(self):
        args = [binary("sagad")]
        if self.config_text is not None:
            path = os.path.join(self.dir, "sagad.conf")
            with open(path, "w") as f:
                f.write(self.config_text)
            args += ["-c", path]
        args += [f"--{k}={v}" for k, v in self.opts.items()]
        return args

    def start(self, timeout=15, env=None):
        self.stderr_lines = []
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=ROOT,
                                     env=dict(os.environ, **(env or {})))
        ready = threading.Event()

        def reader(proc):
            for raw in proc.stderr:
                line = raw.decode(errors="replace").rstrip("\n")
                with self._lock:
                    self.stderr_lines.append(line)
                m = re.search(r"listening on \[?([^\]]+?)\]?:(\d+)$", line)
                if m:
                    self.port = int(m.group(2))
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=reader, args=(self.proc,), daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or self.port is None:
            code = self.proc.poll()
            self.kill()
            raise RuntimeError(f"sagad did not start (exit {code}):\n" + self.stderr())
        return self

    def sql(self, query, *args):
        """Rows of `query` on this daemon's database (harness.sql)."""
        return sql(self.opts["database"], query, *args)

    def stderr(self):
        with self._lock:
            return "\n".join(self.stderr_lines)

    def wait_log(self, pattern, timeout=10):
        """Until `pattern` matches the stderr so far. ^ and $ match at each
        line: other subsystems (the background integrity check, the relay)
        may log after the line waited for, so it need not be the last."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if re.search(pattern, self.stderr(), re.M):
                return True
            time.sleep(0.02)
        return False

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, headers dict lower-cased, parsed JSON or raw text)."""
        c = self.conn(timeout)
        try:
            hdrs = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            h = {k.lower(): v for k, v in r.getheaders()}
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = data.decode(errors="replace")
            return r.status, h, parsed
        finally:
            c.close()

    def wait_ended(self, execution_id, timeout=15):
        """Polls GET /executions/{id} until it is no longer RUNNING; returns it."""
        deadline = time.time() + timeout
        while True:
            _, _, desc = self.request("GET", f"/executions/{execution_id}")
            if desc.get("status") != "RUNNING" or time.time() > deadline:
                return desc
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stops the daemon and returns its exit status."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._reader:
            self._reader.join(5)
        self.proc = None
        return code

    def kill(self):
        """kill -9: the crash the durability tests are about."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._reader:
            self._reader.join(5)
        self.proc = None

    def sanitizer_report(self):
        text = self.stderr()
        return text if any(m in text for m in SANITIZER_MARKS) else None

    def cleanup(self):
        self.kill()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class DaemonTestCase(unittest.TestCase):
    """Base class: self.daemon(...) starts a sagad that is stopped with SIGTERM
    at the end of the test, which must then exit 0 with no sanitizer report."""

    def setUp(self):
        self._daemons = []
        self._redis = []
        # Runs even when a subclass's setUp fails or skips after starting a
        # daemon (then tearDown does not run): no daemon outlives its test.
        self.addCleanup(self._reap)

    def _reap(self):
        for d in self._daemons:
            if d.proc is not None and d.proc.poll() is None:
                d.kill()
        for r in self._redis:
            r.stop()

    def daemon(self, **opts):
        d = Daemon(**opts)
        self._daemons.append(d)
        return d.start()

    def put(self, name, definition, d=None):
        """Registers a state machine on `d` (default self.d): 200 or 201."""
        st, _, body = (d or self.d).request("PUT", "/state-machines/" + name, definition)
        self.assertIn(st, (200, 201), body)

    def run_to_end(self, name, inp, wait=30, d=None):
        """Starts `name` with input `inp` and waits for its end: the description."""
        st, _, body = (d or self.d).request(
            "POST", "/state-machines/%s/executions?wait=%d" % (name, wait), {"input": inp})
        self.assertEqual(st, 200, body)
        return body

    def sql(self, query, *args, d=None):
        """Rows of `query` on the database of `d` (default self.d, else the
        last daemon started): harness.sql, on either backend."""
        return (d or getattr(self, "d", None) or self._daemons[-1]).sql(query, *args)

    def redis(self):
        r = Redis().start()
        self._redis.append(r)
        return r

    def tearDown(self):
        try:
            for d in self._daemons:
                if d.proc is not None and d.proc.poll() is None:
                    code = d.stop()
                    self.assertEqual(code, 0, "sagad did not exit 0 on SIGTERM:\n" + d.stderr()[-4000:])
                report = d.sanitizer_report()
                self.assertIsNone(report, "sanitizer report:\n" + (report or "")[-6000:])
        finally:
            for d in self._daemons:
                d.cleanup()
            for r in self._redis:
                r.stop()


class RefusingProxy:
    """Fault injection between sagad and a real redis-server: a TCP proxy on
    `port` that forwards every command, except that the `nth` PUBLISH (from
    1, counted over all connections) reaches Redis as an unknown command,
    so Redis refuses exactly that one."""

    def __init__(self, port, redis_port, nth):
        self.redis_port, self.nth, self.publishes = redis_port, nth, 0
        self.refused = None          # the payload of the refused PUBLISH
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _command(buf):
        """(end, args) of the RESP command at the start of buf, or None
        while it is incomplete."""
        if not buf.startswith(b"*") or b"\r\n" not in buf:
            return None
        head, pos = buf.split(b"\r\n", 1)[0], buf.index(b"\r\n") + 2
        args = []
        for _ in range(int(head[1:])):
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            n = int(buf[pos + 1:eol])
            if len(buf) < eol + 2 + n + 2:
                return None
            args.append(buf[eol + 2:eol + 2 + n])
            pos = eol + 2 + n + 2
        return pos, args

    def _accept(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.redis_port), 5)
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()

    def _up(self, client, upstream):
        buf = b""
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                buf += chunk
                out = b""
                while (cmd := self._command(buf)) is not None:
                    end, args = cmd
                    raw, buf = buf[:end], buf[end:]
                    if args and args[0].upper() == b"PUBLISH":
                        self.publishes += 1
                        if self.publishes == self.nth:
                            self.refused = args[2]
                            raw = raw.replace(b"PUBLISH", b"PUBLISX", 1)
                    out += raw
                upstream.sendall(out)
        except OSError:
            pass
        for s in (client, upstream):
            s.close()

    def _down(self, upstream, client):
        try:
            while (chunk := upstream.recv(65536)):
                client.sendall(chunk)
        except OSError:
            pass
        for s in (client, upstream):
            s.close()

    def close(self):
        self.lsock.close()


class Subscriber:
    """A real Redis pub/sub client (RESP over a socket) collecting messages of
    one channel in a background thread."""

    def __init__(self, port, channel="sagad.events", password=None):
        self.messages = []
        self._lock = threading.Lock()
        self.sock = socket.create_connection(("127.0.0.1", port), 5)
        if password:
            pw = password.encode()
            self.sock.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw))
            if not self.sock.recv(64).startswith(b"+OK"):
                raise RuntimeError("AUTH failed")
        ch = channel.encode()
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(ch), ch))
        self._buf = b""
        self._confirmed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._confirmed.wait(5):
            raise RuntimeError("SUBSCRIBE not confirmed")

    def _read_line(self):
        while b"\r\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self._buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n + 2:]
        return data

    def _read_value(self):
        line = self._read_line()
        t, rest = line[:1], line[1:]
        if t == b"*":
            return [self._read_value() for _ in range(int(rest))]
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._read_exact(n)
        if t == b":":
            return int(rest)
        return rest

    def _run(self):
        self.sock.settimeout(None)
        try:
            while True:
                v = self._read_value()
                if isinstance(v, list) and v and v[0] == b"subscribe":
                    self._confirmed.set()
                elif isinstance(v, list) and len(v) == 3 and v[0] == b"message":
                    with self._lock:
                        self.messages.append(json.loads(v[2]))
        except (EOFError, OSError, ValueError):
            pass

    def events(self):
        with self._lock:
            return list(self.messages)

    def wait_for(self, n, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.events()) >= n:
                return self.events()
            time.sleep(0.02)
        return self.events()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(2)
