"""Events in a Redis Stream: a real sagad appends every event it publishes to
a real redis-server's stream (events_stream), so consumers that were not
connected read them later with consumer groups, across crashes of sagad and
restarts of Redis."""
import json
import re
import select
import signal
import socket
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import DaemonTestCase, binary

ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}
STREAM = "sagad.events"


class Resp:
    """A minimal synchronous Redis client (RESP2 over a socket)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _value(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._value() for _ in range(n)]
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b":":
            return int(rest)
        if t == b"-":
            return RuntimeError(rest.decode())
        return rest.decode()

    def __call__(self, *args):
        parts = [str(a).encode() if not isinstance(a, bytes) else a for a in args]
        msg = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(msg)
        return self._value()


def entries(reply):
    """[(entry id, envelope)] of an XREAD/XREADGROUP/XRANGE reply."""
    if reply is None:
        return []
    if reply and isinstance(reply[0], list) and len(reply[0]) == 2 and \
            isinstance(reply[0][0], bytes) and isinstance(reply[0][1], list) and \
            reply[0][1] and isinstance(reply[0][1][0], list):
        reply = [e for _, es in reply for e in es]  # XREAD: [[stream, entries]]
    out = []
    for eid, fields in reply:
        d = dict(zip(fields[::2], fields[1::2]))
        out.append((eid.decode(), json.loads(d[b"event"])))
    return out


def whole_stream(r):
    return entries(r("XRANGE", STREAM, "-", "+"))


class Streams(DaemonTestCase):
    def start_daemon(self, redis=None, **opts):
        self.r = redis or self.redis()
        self.d = self.daemon(redis=self.r.address, payment_failure_rate=0.3, **opts)
        self.set_stock(100000)
        return self.d

    def client(self):
        c = Resp(self.r.port)
        self.addCleanup(c.close)
        return c

    def set_stock(self, n):
        st, _, body = self.d.request("PUT", "/stock/coffee-beans", {"quantity": n})
        self.assertEqual(st, 200, body)

    def place(self, n, wait=10, threads=8):
        def one(_):
            st, _, desc = self.d.request("POST", f"/order?wait={wait}", ORDER)
            self.assertIn(st, (200, 201, 202), desc)
            return desc["executionId"]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(one, range(n)))

    def health(self):
        return self.d.request("GET", "/healthz")[2]

    def wait_backlog(self, pred, timeout=20):
        deadline = time.time() + timeout
        while True:
            h = self.health()
            if pred(h["outbox"]["backlog"]) or time.time() > deadline:
                return h["outbox"]["backlog"]
            time.sleep(0.05)

    def metric(self, name):
        _, _, text = self.d.request("GET", "/metrics")
        m = re.search(r"(?m)^%s (\d+)$" % re.escape(name), text)
        return int(m.group(1)) if m else None

    def order_events(self, es):
        return [(eid, e) for eid, e in es if e.get("source") == "sagad.order"]

    def test_group_from_0_reads_each_of_100_order_and_status_events_once(self):
        self.start_daemon()
        ids = self.place(100)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        c = self.client()
        self.assertEqual(c("XGROUP", "CREATE", STREAM, "g", "0"), "OK")
        got = []
        while True:
            batch = entries(c("XREADGROUP", "GROUP", "g", "c1", "COUNT", "37", "STREAMS", STREAM, ">"))
            if not batch:
                break
            got += batch
            for eid, _ in batch:
                self.assertEqual(c("XACK", STREAM, "g", eid), 1)
        orders = self.order_events(got)
        self.assertEqual(len(orders), 100)
        self.assertEqual(len({e["id"] for _, e in orders}), 100)
        self.assertEqual(sorted(e["executionId"] for _, e in orders), sorted(ids))
        for _, e in orders:
            self.assertIn(e["detail-type"], ("Processed", "Cancelled"))
        # And each execution's status event (execution_events = terminal by
        # default), every envelope id once across both kinds.
        status = [e for _, e in got if e["source"] == "sagad.executions"]
        self.assertEqual(len(status), 100)
        self.assertEqual(sorted(e["executionId"] for e in status), sorted(ids))
        for e in status:
            self.assertEqual(e["detail-type"], "Execution Status Change")
            self.assertIn(e["detail"]["status"], ("SUCCEEDED", "FAILED"))
        self.assertEqual(len({e["id"] for _, e in got}), len(got))
        self.assertEqual(len(got), 200)
        # Nothing pending, nothing more to read.
        self.assertEqual(c("XPENDING", STREAM, "g")[0], 0)
        h = self.health()
        self.assertEqual(h["redis"]["stream"]["name"], STREAM)
        self.assertEqual(h["redis"]["stream"]["length"], c("XLEN", STREAM))
        self.assertEqual(self.metric("sagad_events_stream_append_failures_total"), 0)
        self.assertGreaterEqual(self.metric("sagad_events_stream_appended_total"), 100)

    def test_kill_9_while_publishing_loses_no_committed_event(self):
        self.start_daemon()
        # A burst in flight when sagad dies: some orders committed with their
        # events unpublished or published but not yet deleted.
        with ThreadPoolExecutor(max_workers=8) as pool:
            futs = [pool.submit(self.d.request, "POST", "/order?wait=0", ORDER) for _ in range(120)]
            time.sleep(0.4)
            self.d.kill()
            for f in futs:
                try:
                    f.result()
                except Exception:
                    pass
        self.d.start()
        _, _, body = self.d.request("GET", "/orders?limit=1000")
        orders = body["orders"]
        self.assertGreater(len(orders), 0)
        for o in orders:
            self.assertNotEqual(self.d.wait_ended(o["executionId"], timeout=30).get("status"),
                                "RUNNING")
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        es = self.order_events(whole_stream(self.client()))
        # Every order has its one event in the stream at least once...
        self.assertEqual({e["executionId"] for _, e in es}, {o["executionId"] for o in orders})
        # ...and a copy of an event is the same envelope, same id.
        by_exec = {}
        for _, e in es:
            by_exec.setdefault(e["executionId"], []).append(e)
        for copies in by_exec.values():
            self.assertEqual(len({c["id"] for c in copies}), 1, copies)
            self.assertTrue(all(c == copies[0] for c in copies), copies)
        # The same for the status event each ended execution committed.
        status = {}
        for _, e in whole_stream(self.client()):
            if e["source"] == "sagad.executions":
                status.setdefault(e["executionId"], []).append(e)
        self.assertEqual(set(status), {o["executionId"] for o in orders})
        for copies in status.values():
            self.assertEqual(len({c["id"] for c in copies}), 1, copies)
            self.assertTrue(all(c == copies[0] for c in copies), copies)
            self.assertIn(copies[0]["detail"]["status"], ("SUCCEEDED", "FAILED"))

    def test_redis_restarted_without_persistence_stream_recreated(self):
        self.start_daemon()
        first = self.place(5)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        c = self.client()
        self.assertEqual(len(self.order_events(whole_stream(c))), 5)
        c.close()
        port = self.r.port
        self.r.stop()
        self.r.start(port)  # empty: --save "" --appendonly no
        second = self.place(5)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        es = self.order_events(whole_stream(self.client()))
        self.assertEqual(sorted(e["executionId"] for _, e in es), sorted(second))
        self.assertFalse(set(first) & {e["executionId"] for _, e in es})

    def test_empty_events_stream_appends_nothing(self):
        self.start_daemon(events_stream="")
        self.place(3)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        self.assertEqual(self.client()("EXISTS", STREAM), 0)
        self.assertNotIn("length", self.health()["redis"]["stream"])

    def test_wrongtype_key_keeps_rows_until_deleted(self):
        r = self.redis()
        c = Resp(r.port)
        self.addCleanup(c.close)
        self.assertEqual(c("SET", STREAM, "not a stream"), "OK")
        # Only the orders' own events, so that the backlog is one row per order.
        self.start_daemon(redis=r, execution_events="off")
        ids = self.place(3)
        deadline = time.time() + 10
        while (self.metric("sagad_events_stream_append_failures_total") or 0) < 3 and \
                time.time() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(self.metric("sagad_events_stream_append_failures_total"), 3)
        time.sleep(1.5)  # several retries with back-off: the rows stay, one log line
        h = self.health()
        self.assertEqual(h["outbox"]["backlog"], 3)
        self.assertGreaterEqual(h["outbox"]["appendFailures"], 3)
        self.assertEqual(len(re.findall(r"refused XADD", self.d.stderr())), 1, self.d.stderr())
        self.assertIn("WRONGTYPE", self.d.stderr())
        self.assertEqual(c("DEL", STREAM), 1)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        self.assertTrue(self.d.wait_log(r"XADD to stream 'sagad.events' succeeds again"),
                        self.d.stderr())
        es = self.order_events(whole_stream(c))
        self.assertEqual(sorted(e["executionId"] for _, e in es), sorted(ids))

    # sagactl events reading the stream.

    def events_proc(self, *args):
        p = subprocess.Popen([binary("sagactl"), "events", "--redis", self.r.address, "--json",
                              *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([p.stderr], [], [], 15)
        self.assertTrue(ready, "sagactl events did not start")
        self.assertIn("reading stream", p.stderr.readline().decode())
        lines = []
        t = threading.Thread(target=lambda: lines.extend(json.loads(l) for l in p.stdout),
                             daemon=True)
        t.start()
        return p, t, lines

    def stop_events(self, proc):
        p, t, lines = proc
        p.send_signal(signal.SIGINT)
        code = p.wait(15)
        t.join(5)
        err = p.stderr.read().decode()
        self.assertNotRegex(err, r"ERROR: (Address|Leak)Sanitizer|runtime error:", err)
        self.assertEqual(code, 0, err)
        return [e for e in lines if e.get("source") == "sagad.order"]

    def wait_printed(self, proc, exec_ids, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline and \
                not set(exec_ids) <= {e.get("executionId") for e in list(proc[2])}:
            time.sleep(0.05)
        time.sleep(0.3)  # anything extra would show now

    def test_sagactl_group_consumer_reads_each_event_once_across_runs(self):
        self.start_daemon()
        first = self.place(5)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        p = self.events_proc("--group", "g", "--consumer", "c", "--from", "0")
        self.wait_printed(p, first)
        run1 = self.stop_events(p)
        # Away while more orders happen; the next run catches up.
        second = self.place(5)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        p = self.events_proc("--group", "g", "--consumer", "c")
        self.wait_printed(p, second)
        run2 = self.stop_events(p)
        self.assertEqual(sorted(e["executionId"] for e in run1), sorted(first))
        self.assertEqual(sorted(e["executionId"] for e in run2), sorted(second))
        ids = [e["id"] for e in run1 + run2]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(self.client()("XPENDING", STREAM, "g")[0], 0)

    def test_sagactl_events_from_0_and_by_default_only_new(self):
        self.start_daemon()
        old = self.place(3)
        self.assertEqual(self.wait_backlog(lambda b: b == 0), 0)
        p = self.events_proc("--from", "0")
        self.wait_printed(p, old)
        self.assertEqual(sorted(e["executionId"] for e in self.stop_events(p)), sorted(old))
        p = self.events_proc()
        new = self.place(2)
        self.wait_printed(p, new)
        self.assertEqual(sorted(e["executionId"] for e in self.stop_events(p)), sorted(new))

    def test_sagactl_events_rejects_stream_options_with_a_channel(self):
        self.r = self.redis()
        for args in (["--channel", "c", "--from", "0"], ["--group", "g"],
                     ["--channel", "c", "--stream", "s"]):
            out = subprocess.run([binary("sagactl"), "events", "--redis", self.r.address, *args],
                                 capture_output=True, timeout=10)
            self.assertEqual(out.returncode, 2, (args, out.stderr))


if __name__ == "__main__":
    unittest.main()
