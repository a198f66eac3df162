"""Issue acceptance for runtime hardening, as a user would try it against a
real sagad: a fan-out far beyond the history limit (nested Map 1000 x 1000)
fails cleanly while the daemon keeps answering, stays small, and restarts at
once on the same database."""
import os
import threading
import time

from harness import DaemonTestCase, is_asan, on_postgres

NESTED = {
    "StartAt": "Make",
    "States": {
        "Make": {"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 1000, 1)"},
                 "Next": "Outer"},
        "Outer": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
            "ItemProcessor": {"StartAt": "MakeInner", "States": {
                "MakeInner": {"Type": "Pass",
                              "Parameters": {"items.$": "States.ArrayRange(1, 1000, 1)"},
                              "Next": "Inner"},
                "Inner": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
                          "ItemProcessor": {"StartAt": "P", "States": {
                              "P": {"Type": "Pass", "End": True}}},
                          "End": True}}},
            "End": True},
    },
}

def status_kb(pid, key):
    """A memory figure of /proc/PID/status in KiB (VmHWM: the peak RSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def run_delay(path):
    """Seconds a thread has spent runnable but waiting for a CPU (the second
    field of its /proc schedstat)."""
    with open(path) as f:
        return int(f.read().split()[1]) / 1e9


class NestedMap(DaemonTestCase):
    def probe(self, d, stop, worst):
        """Times GET /healthz every 20 ms. What counts is how long the
        daemon's event loop (its main thread) kept the answer back: the time
        that thread or this one only waited for a CPU is left out, because
        on a loaded machine (the test passes run side by side on 2 cores)
        that is the machine's doing, not a blocked loop. A loop that is
        blocked is running, or waiting on I/O, and is still counted."""
        waits = (f"/proc/{d.proc.pid}/schedstat",
                 f"/proc/self/task/{threading.get_native_id()}/schedstat")
        while not stop.is_set():
            w0 = sum(run_delay(w) for w in waits)
            t0 = time.monotonic()
            st, _, _ = d.request("GET", "/healthz", timeout=10)
            took = time.monotonic() - t0
            waited = sum(run_delay(w) for w in waits) - w0
            worst[0] = max(worst[0], took - waited)
            worst[1] = max(worst[1], took)
            time.sleep(0.02)

    def run_nested(self, d):
        """Runs the nested map once while probing: (description, [slowest
        /healthz without CPU waits, slowest with them])."""
        worst, stop = [0.0, 0.0], threading.Event()
        t = threading.Thread(target=self.probe, args=(d, stop, worst))
        t.start()
        try:
            st, _, body = d.request("POST", "/state-machines/nested/executions", {"input": {}})
            self.assertIn(st, (200, 202), body)
            desc = d.wait_ended(body["executionId"], timeout=60)
        finally:
            stop.set()
            t.join()
        return desc, worst

    def test_nested_map_1000x1000_fails_and_daemon_stays_responsive(self):
        d = self.daemon()
        st, _, _ = d.request("PUT", "/state-machines/nested", NESTED)
        self.assertIn(st, (200, 201))
        release = not is_asan()   # run.py runs both builds in one process
        # On PostgreSQL the loop never blocks, but requests take turns with
        # the start's transaction, whose round trips make its turn longer.
        bound = 0.5 if not release else 0.3 if on_postgres() else 0.1
        desc, worst = self.run_nested(d)
        if worst[0] >= bound:
            # One slow answer can still be the machine; a blocked loop is
            # slow every time.
            desc, again = self.run_nested(d)
            worst = min(worst, again)
        self.assertEqual(desc["status"], "FAILED", desc)
        self.assertEqual(desc["error"], "States.Runtime")
        self.assertIn("history_limit", desc["cause"])
        peak = status_kb(d.proc.pid, "VmHWM")
        print(f"nested map 1000 x 1000: slowest /healthz {worst[0] * 1000:.1f} ms "
              f"({worst[1] * 1000:.1f} ms with waits for a CPU), peak RSS {peak / 1024:.1f} MiB")
        self.assertLess(worst[0], bound, "slowest /healthz in seconds")
        if release:
            self.assertLess(peak, 64 * 1024, "peak RSS in KiB")
        # Restart on that database is instant and describes the same.
        self.assertEqual(d.stop(), 0)
        t0 = time.monotonic()
        d.start()
        self.assertLess(time.monotonic() - t0, 3.0)
        _, _, again = d.request("GET", f"/executions/{desc['executionId']}")
        self.assertEqual((again["status"], again["error"], again["cause"]),
                         (desc["status"], desc["error"], desc["cause"]))
        st, _, _ = d.request("GET", "/healthz")
        self.assertEqual(st, 200)
