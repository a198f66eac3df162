"""Issue acceptance for runtime hardening, as a user would try it against a
real sagad: a fan-out far beyond the history limit (nested Map 1000 x 1000)
fails cleanly while the daemon keeps answering, stays small, and restarts at
once on the same database."""
import os
import threading
import time

from harness import DaemonTestCase, is_asan

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


class NestedMap(DaemonTestCase):
    def probe(self, d, stop, worst):
        """Times GET /healthz every 20 ms."""
        while not stop.is_set():
            t0 = time.monotonic()
            st, _, _ = d.request("GET", "/healthz", timeout=10)
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.02)

    def run_nested(self, d):
        """Runs the nested map once while probing: (description, slowest /healthz)."""
        worst, stop = [0.0], threading.Event()
        t = threading.Thread(target=self.probe, args=(d, stop, worst))
        t.start()
        try:
            st, _, body = d.request("POST", "/state-machines/nested/executions", {"input": {}})
            self.assertIn(st, (200, 202), body)
            desc = d.wait_ended(body["executionId"], timeout=60)
        finally:
            stop.set()
            t.join()
        return desc, worst[0]

    def test_nested_map_1000x1000_fails_and_daemon_stays_responsive(self):
        d = self.daemon()
        st, _, _ = d.request("PUT", "/state-machines/nested", NESTED)
        self.assertIn(st, (200, 201))
        release = not is_asan()   # run.py runs both builds in one process
        bound = 0.1 if release else 0.5
        desc, worst = self.run_nested(d)
        if worst >= bound:
            # One slow answer can be the machine (CI runs three suites on two
            # cores); a loop that blocks is slow every time.
            desc, again = self.run_nested(d)
            worst = min(worst, again)
        self.assertEqual(desc["status"], "FAILED", desc)
        self.assertEqual(desc["error"], "States.Runtime")
        self.assertIn("history_limit", desc["cause"])
        self.assertLess(worst, bound, "slowest /healthz in seconds, twice")
        peak = status_kb(d.proc.pid, "VmHWM")
        print(f"nested map 1000 x 1000: slowest /healthz {worst * 1000:.1f} ms, "
              f"peak RSS {peak / 1024:.1f} MiB")
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
