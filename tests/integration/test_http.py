"""The HTTP/1.1 layer of sagad over real sockets: pipelining order, many
keep-alive connections, limits (body, headers, connections, idle time),
malformed input and the JSON error shape."""
import json
import re
import resource
import select
import socket
import threading
import time
import unittest

from harness import DaemonTestCase


class RawConn:
    """A client socket that reads HTTP/1.1 responses one at a time."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self):
        """Returns (status, headers lower-cased, body bytes)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, timeout=3):
        """True once the peer has closed (EOF or reset) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n".encode()


class HttpTest(DaemonTestCase):
    def conn(self, d, **kw):
        c = RawConn(d.port, **kw)
        self.addCleanup(c.close)
        return c

    def assert_error(self, status, headers, body, code, name):
        self.assertEqual(status, code, body)
        self.assertEqual(headers["content-type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(doc["error"], name)
        self.assertIsInstance(doc["message"], str)
        self.assertTrue(doc["message"])
        return doc

    def test_healthz_keep_alive(self):
        d = self.daemon()
        c = self.conn(d)
        for _ in range(3):
            c.send(get("/healthz"))
            status, h, body = c.response()
            self.assertEqual(status, 200)
            self.assertEqual(h["connection"], "keep-alive")
            self.assertEqual(h["content-type"], "application/json")
            self.assertEqual(json.loads(body)["status"], "ok")

    def test_not_found_and_method_not_allowed(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(get("/no/such/thing"))
        doc = self.assert_error(*c.response(), 404, "NotFound")
        self.assertIn("/no/such/thing", doc["message"])
        c.send(b"DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        status, h, body = c.response()
        self.assert_error(status, h, body, 405, "MethodNotAllowed")
        self.assertEqual(h["allow"], "GET")
        # The connection is still usable after both errors.
        c.send(get("/healthz"))
        self.assertEqual(c.response()[0], 200)

    def test_head_gets_no_body(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + get("/healthz"))
        c.sock.settimeout(5)
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}\n"):
            data += c.sock.recv(4096)
        first, second = data.split(b"HTTP/1.1 ")[1:]
        self.assertTrue(first.startswith(b"405"))
        self.assertIn(b"Allow: GET", first)
        self.assertNotIn(b"Content-Length: 0", first)
        self.assertTrue(first.endswith(b"\r\n\r\n"), first)  # headers only
        self.assertTrue(second.startswith(b"200"))

    def test_100_pipelined_requests_in_one_send_answer_in_order(self):
        d = self.daemon()
        c = self.conn(d)
        # Even requests hit /healthz (200), odd ones a distinct 404 path that the
        # error message names, so both count and order are checked.
        paths = ["/healthz" if i % 2 == 0 else f"/missing/{i}" for i in range(100)]
        c.send(b"".join(get(p) for p in paths))
        for i, p in enumerate(paths):
            status, _, body = c.response()
            if p == "/healthz":
                self.assertEqual(status, 200, f"response {i}")
            else:
                self.assertEqual(status, 404, f"response {i}")
                self.assertIn(f"GET {p}", json.loads(body)["message"], f"response {i}")
        c.sock.settimeout(0.3)
        with self.assertRaises(socket.timeout):  # nothing beyond the 100 answers
            c.sock.recv(1)

    def test_pipelined_requests_split_across_sends(self):
        d = self.daemon()
        c = self.conn(d)
        data = b"".join(get(f"/x/{i}") for i in range(300))
        for off in range(0, len(data), 777):  # cuts requests at arbitrary bytes
            c.send(data[off:off + 777])
        for i in range(300):
            status, _, body = c.response()
            self.assertEqual(status, 404)
            self.assertIn(f"/x/{i}", json.loads(body)["message"])

    def test_1000_concurrent_keep_alive_connections(self):
        n = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            if hard != resource.RLIM_INFINITY and hard < n + 100:
                self.skipTest(f"RLIMIT_NOFILE hard limit {hard} is too low")
            resource.setrlimit(resource.RLIMIT_NOFILE, (n + 200, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        d = self.daemon()
        conns = [self.conn(d, timeout=30) for _ in range(n)]
        for c in conns:
            c.send(get("/healthz"))
        for c in conns:
            self.assertEqual(c.response()[0], 200)
        # Every connection is still open and served a second time.
        for c in conns:
            c.send(get("/healthz"))
        for c in conns:
            status, h, _ = c.response()
            self.assertEqual(status, 200)
            self.assertEqual(h["connection"], "keep-alive")

    def test_max_connections_closes_extra_connections(self):
        d = self.daemon(max_connections=3)
        conns = [self.conn(d) for _ in range(3)]
        for c in conns:
            c.send(get("/healthz"))
            self.assertEqual(c.response()[0], 200)
        extra = self.conn(d)
        self.assertTrue(extra.closed(timeout=3), "4th connection was not closed")
        conns[0].close()
        # The slot is free once the daemon has seen the close (asked on a
        # connection it already serves, not a fixed sleep).
        deadline = time.time() + 5
        while True:
            conns[1].send(get("/metrics"))
            status, _, body = conns[1].response()
            self.assertEqual(status, 200)
            n = int(re.search(rb"^sagad_http_connections (\d+)", body, re.M).group(1))
            if n <= 2 or time.time() > deadline:
                break
            time.sleep(0.05)
        again = self.conn(d)
        again.send(get("/healthz"))
        self.assertEqual(again.response()[0], 200)

    def test_10mb_body_gets_413_and_daemon_keeps_serving(self):
        d = self.daemon()
        c = self.conn(d)
        size = 10 * 1024 * 1024
        c.send(f"POST /order HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               f"Content-Length: {size}\r\n\r\n".encode())
        sent = []

        def push():
            try:
                block = b"x" * 65536
                for _ in range(size // len(block)):
                    c.sock.sendall(block)
                    sent.append(len(block))
            except OSError:
                pass  # the server may close once it has answered

        t = threading.Thread(target=push, daemon=True)
        t.start()
        status, h, body = c.response()
        self.assert_error(status, h, body, 413, "PayloadTooLarge")
        self.assertEqual(h["connection"], "close")
        self.assertTrue(c.closed(timeout=5))
        t.join(10)
        status, _, _ = d.request("GET", "/healthz")
        self.assertEqual(status, 200)

    def test_413_is_sent_before_the_body_arrives(self):
        d = self.daemon(max_body_bytes=1000)
        c = self.conn(d)
        # Only the headers: the answer must not wait for the declared body.
        c.send(b"PUT /anything HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n")
        self.assert_error(*c.response(), 413, "PayloadTooLarge")
        self.assertTrue(c.closed())

    def test_chunked_body_over_limit_gets_413(self):
        d = self.daemon(max_body_bytes=1000)
        c = self.conn(d)
        c.send(b"POST /unknown HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            c.send(b"190\r\n" + b"a" * 400 + b"\r\n")  # 400 bytes per chunk
        self.assert_error(*c.response(), 413, "PayloadTooLarge")
        self.assertTrue(c.closed())

    def test_chunked_body_is_read_and_connection_stays_in_sync(self):
        d = self.daemon(max_body_bytes=1000)
        c = self.conn(d)
        # A chunked body within the limit on a GET-only route: 405 comes only
        # after the whole body is consumed, then the next request is parsed.
        c.send(b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n"
               b"1f4\r\n" + b"b" * 500 + b"\r\n"
               b"0\r\n\r\n" + get("/healthz"))
        status, h, body = c.response()
        self.assert_error(status, h, body, 405, "MethodNotAllowed")
        self.assertEqual(h["connection"], "keep-alive")
        self.assertEqual(c.response()[0], 200)

    def test_64kb_of_headers_gets_431(self):
        d = self.daemon()
        c = self.conn(d)
        hdrs = "".join(f"X-Filler-{i}: {'v' * 1000}\r\n" for i in range(64))
        try:
            c.send(f"GET /healthz HTTP/1.1\r\nHost: t\r\n{hdrs}\r\n".encode())
        except OSError:
            pass  # the server may answer and close before reading it all
        status, h, body = c.response()
        self.assert_error(status, h, body, 431, "HeadersTooLarge")
        self.assertEqual(h["connection"], "close")
        self.assertTrue(c.closed())
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_garbage_gets_400_and_close(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")
        doc = self.assert_error(*c.response(), 400, "BadRequest")
        self.assertIn("malformed", doc["message"])
        self.assertTrue(c.closed())
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_request_line_without_http_version_gets_400(self):
        d = self.daemon()
        c = self.conn(d)
        # HTTP/0.9 style: no version on the request line, so no headers either.
        c.send(b"GET /healthz\r\n\r\n")
        status, h, body = c.response()
        doc = self.assert_error(status, h, body, 400, "BadRequest")
        self.assertIn("HTTP version", doc["message"])
        self.assertEqual(h["connection"], "close")
        self.assertTrue(c.closed())
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_bad_request_after_good_ones_keeps_order(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(get("/healthz") + get("/a") + b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n")
        self.assertEqual(c.response()[0], 200)
        self.assertEqual(c.response()[0], 404)
        self.assert_error(*c.response(), 400, "BadRequest")
        self.assertTrue(c.closed())

    def test_connection_close_is_honoured(self):
        d = self.daemon()
        c = self.conn(d)
        # The request after "Connection: close" must be ignored.
        c.send(get("/healthz", "Connection: close\r\n") + get("/healthz"))
        status, h, _ = c.response()
        self.assertEqual(status, 200)
        self.assertEqual(h["connection"], "close")
        self.assertTrue(c.closed())
        self.assertEqual(c.buf, b"")

    def test_http10_closes_unless_keep_alive(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
        status, h, _ = c.response()
        self.assertEqual((status, h["connection"]), (200, "close"))
        self.assertTrue(c.closed())
        k = self.conn(d)
        for _ in range(2):
            k.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            status, h, _ = k.response()
            self.assertEqual((status, h["connection"]), (200, "keep-alive"))

    def test_expect_100_continue(self):
        d = self.daemon()
        c = self.conn(d)
        c.send(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
               b"Expect: 100-continue\r\n\r\n")
        self.assertEqual(c.response()[0], 100)
        c.send(b"abcd")
        self.assertEqual(c.response()[0], 405)

    def test_idle_connection_closed_after_idle_timeout(self):
        d = self.daemon(idle_timeout_ms=300)
        c = self.conn(d)
        # Timed from before the request: the idle time begins after it, and
        # reading the answer may take this process a while on a loaded machine.
        t0 = time.time()
        c.send(get("/healthz"))
        self.assertEqual(c.response()[0], 200)
        self.assertTrue(c.closed(timeout=3), "idle connection stayed open")
        elapsed = time.time() - t0
        self.assertGreater(elapsed, 0.28)
        self.assertLess(elapsed, 2.0)
        # Activity keeps a connection open past the timeout: 0.6 s of
        # requests, each well within 0.3 s of the last.
        k = self.conn(d)
        for _ in range(6):
            k.send(get("/healthz"))
            self.assertEqual(k.response()[0], 200)
            time.sleep(0.1)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_slowloris_cannot_hold_every_slot(self):
        """Sockets that dribble one header byte per second used to hold every
        slot (the idle timer restarted on each byte) while fresh clients were
        closed at once. Now a fresh client evicts the longest-waiting of them,
        a keep-alive client that sent a request recently keeps its slot, and
        the dribblers get 408 at the head deadline."""
        n, deadline = 20, 2.5
        d = self.daemon(max_connections=n, header_timeout_ms=int(deadline * 1000))
        good = self.conn(d)
        good.send(get("/healthz"))
        self.assertEqual(good.response()[0], 200)
        head = get("/healthz")
        slow = []
        t0 = time.monotonic()
        for _ in range(n - 1):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            self.addCleanup(s.close)
            s.sendall(head[:1])
            slow.append(s)
        got = {s: b"" for s in slow}
        cut = {}  # socket -> seconds after its first byte when it was closed

        def dribble_until(t_end, sent):
            while time.monotonic() < t_end:
                live = [s for s in slow if s not in cut]
                if not live:
                    return
                for s in select.select(live, [], [], max(0, t_end - time.monotonic()))[0]:
                    try:
                        data = s.recv(4096)
                    except ConnectionResetError:
                        data = b""
                    got[s] += data
                    if not data:
                        cut[s] = time.monotonic() - t0
            for s in slow:
                if s not in cut:
                    try:
                        s.sendall(head[sent:sent + 1])
                    except OSError:
                        pass

        dribble_until(t0 + 1, 1)
        # Every slot is taken: the fresh client still gets an answer at once.
        t1 = time.monotonic()
        try:
            fresh = self.conn(d, timeout=1)
            fresh.send(get("/healthz"))
            status = fresh.response()[0]
        except (OSError, EOFError) as e:
            self.fail(f"fresh client refused while dribblers hold the slots: {e!r}")
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - t1, 1.0)
        good.send(get("/healthz"))
        self.assertEqual(good.response()[0], 200, "a recently active client was evicted")
        for i in range(2, 5):
            dribble_until(t0 + i, i)
        self.assertEqual(len(cut), n - 1, "dribblers still connected after the head deadline")
        timed_out = [s for s in slow if got[s]]
        self.assertGreaterEqual(len(timed_out), n - 2)  # one was evicted for the fresh client
        for s in timed_out:
            body = got[s].split(b"\r\n\r\n", 1)[1]
            self.assertTrue(got[s].startswith(b"HTTP/1.1 408 "), got[s])
            self.assertEqual(json.loads(body)["error"], "RequestTimeout")
            self.assertGreater(cut[s], deadline - 0.2)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_head_deadline_counts_from_first_byte_not_idle_time(self):
        d = self.daemon(header_timeout_ms=300, idle_timeout_ms=5000)
        c = self.conn(d)
        c.send(get("/healthz"))
        self.assertEqual(c.response()[0], 200)
        time.sleep(0.6)  # idle between requests: not the head deadline's business
        c.send(get("/healthz"))
        self.assertEqual(c.response()[0], 200)
        t0 = time.monotonic()
        c.send(b"GET /healthz HTTP/1.1\r\n")
        for b in b"Host: t\r\n":  # keeps sending, too slowly
            time.sleep(0.05)
            c.send(bytes([b]))
        status, h, body = c.response()
        doc = self.assert_error(status, h, body, 408, "RequestTimeout")
        self.assertIn("header_timeout_ms", doc["message"])
        self.assertEqual(h["connection"], "close")
        self.assertGreater(time.monotonic() - t0, 0.25)
        self.assertTrue(c.closed())

    def test_slow_body_gets_408(self):
        d = self.daemon(body_timeout_ms=800)
        c = self.conn(d)
        c.send(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
        t0 = time.monotonic()
        try:
            for _ in range(40):  # one byte per 100 ms: 10 s for the body
                c.send(b"x")
                if select.select([c.sock], [], [], 0.1)[0]:
                    break
        except OSError:
            pass
        status, h, body = c.response()
        doc = self.assert_error(status, h, body, 408, "RequestTimeout")
        self.assertIn("body_timeout_ms", doc["message"])
        self.assertGreater(time.monotonic() - t0, 0.7)
        self.assertTrue(c.closed())
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_client_that_stops_reading_is_closed_after_idle_timeout(self):
        """A client that pipelines requests and never reads the answers used to
        hold its connection forever (no timer runs while answers are queued)."""
        d = self.daemon(idle_timeout_ms=700)

        def open_connections():
            st, _, body = d.request("GET", "/metrics")
            self.assertEqual(st, 200)
            return int(re.search(r"^sagad_http_connections (\d+)", body, re.M).group(1))

        s = socket.socket()
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", d.port))
        s.settimeout(10)
        # Timed from before the requests: the stall, and so the idle timeout,
        # cannot begin earlier (a later t0 would also count the time the
        # /metrics requests below take on a busy daemon).
        sent = time.monotonic()
        # ~10 MB of answers: more than the socket buffers hold.
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * 3000)
        time.sleep(0.3)
        self.assertEqual(open_connections(), 2)  # the stalled one and this request's
        while open_connections() > 1 and time.monotonic() - sent < 5:
            time.sleep(0.2)
        self.assertEqual(open_connections(), 1, "a client reading nothing kept its connection")
        self.assertGreater(time.monotonic() - sent, 0.6)

    def test_random_traffic_and_abrupt_disconnects(self):
        """Valid, malformed and oversized requests cut at random points, with
        clients vanishing mid-request: the daemon keeps serving (and, under
        ASan, must stay clean through to SIGTERM)."""
        import random
        rnd = random.Random(1234)
        d = self.daemon(max_body_bytes=2000)
        samples = [
            get("/healthz"), get("/nope/%41?x=1"),
            b"POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"POST /x HTTP/1.1\r\nContent-Length: 999999\r\n\r\n",
            b"GET /\x00\x01 HTTP/1.1\r\n\r\n", b"\r\n\r\nzzz",
            get("/healthz", "Connection: close\r\n"),
        ]
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            data = b"".join(rnd.choice(samples) for _ in range(rnd.randint(1, 8)))
            cut = rnd.randint(1, len(data)) if rnd.random() < 0.5 else len(data)
            try:
                s.sendall(data[:cut])
                if rnd.random() < 0.5:
                    s.settimeout(0.02)  # a cut request gets no answer
                    s.recv(rnd.randint(1, 512))
            except OSError:
                pass
            if rnd.random() < 0.3:  # reset instead of a clean close
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        for _ in range(3):
            self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_ipv6_listen(self):
        try:
            s = socket.socket(socket.AF_INET6)
            s.bind(("::1", 0))
            s.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        d = self.daemon(listen="[::1]:0")
        c = self.conn(d, host="::1")
        c.send(get("/healthz"))
        self.assertEqual(c.response()[0], 200)


if __name__ == "__main__":
    unittest.main()
