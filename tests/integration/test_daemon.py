"""sagad as a service: graceful SIGTERM/SIGINT (fast, exit 0, no sanitizer
report) and the sd_notify protocol seen by a real NOTIFY_SOCKET listener."""
import os
import signal
import socket
import tempfile
import time
import unittest

from harness import Daemon, DaemonTestCase


class NotifyListener:
    """An AF_UNIX datagram socket standing in for systemd."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sagad-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, state, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if state in self.messages:
                return True
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            self.messages.extend(data.decode().split("\n"))
        return state in self.messages

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class DaemonLifecycle(DaemonTestCase):
    def stop_timed(self, d, sig=signal.SIGTERM):
        t0 = time.time()
        code = d.stop(sig)
        return code, time.time() - t0

    def test_sigterm_idle_exits_0_within_a_second(self):
        d = self.daemon()
        self.assertEqual(d.request("GET", "/healthz")[0], 200)
        code, elapsed = self.stop_timed(d)
        self.assertEqual(code, 0, d.stderr())
        self.assertLess(elapsed, 1.0)
        self.assertIn("stopped", d.stderr())

    def test_sigterm_with_idle_keep_alive_connections(self):
        d = self.daemon()
        conns = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            self.assertIn(b"200 OK", s.recv(4096))
            conns.append(s)
        half = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        half.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # a request half sent
        conns.append(half)
        code, elapsed = self.stop_timed(d)
        self.assertEqual(code, 0, d.stderr())
        self.assertLess(elapsed, 1.0)
        for s in conns:
            s.settimeout(2)
            try:
                self.assertEqual(s.recv(4096), b"")  # closed by the daemon
            except ConnectionResetError:
                pass
            s.close()

    def test_sigint_exits_0(self):
        d = self.daemon()
        code, elapsed = self.stop_timed(d, signal.SIGINT)
        self.assertEqual(code, 0, d.stderr())
        self.assertLess(elapsed, 1.0)

    def test_sd_notify_ready_watchdog_stopping(self):
        n = NotifyListener()
        self.addCleanup(n.close)
        d = Daemon()
        self._daemons.append(d)
        d.start(env={"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "200000"})
        self.assertTrue(n.wait_for("READY=1"), n.messages)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)  # READY means serving
        n.messages.clear()
        self.assertTrue(n.wait_for("WATCHDOG=1", timeout=2), n.messages)
        n.messages.clear()
        self.assertTrue(n.wait_for("WATCHDOG=1", timeout=2), "watchdog is not periodic")
        self.assertNotIn("STOPPING=1", n.messages)
        d.proc.send_signal(signal.SIGTERM)
        self.assertTrue(n.wait_for("STOPPING=1"), n.messages)
        self.assertEqual(d.proc.wait(10), 0)

    def test_no_watchdog_without_watchdog_usec(self):
        n = NotifyListener()
        self.addCleanup(n.close)
        d = Daemon()
        self._daemons.append(d)
        env = {"NOTIFY_SOCKET": n.path}
        if "WATCHDOG_USEC" in os.environ:
            env["WATCHDOG_USEC"] = ""
        d.start(env=env)
        self.assertTrue(n.wait_for("READY=1"), n.messages)
        self.assertFalse(n.wait_for("WATCHDOG=1", timeout=0.5), n.messages)


if __name__ == "__main__":
    unittest.main()
