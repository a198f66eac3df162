"""Execution status events against a real sagad: every state machine's
status changes become "Execution Status Change" outbox rows written with the
change (Redis is off, so the rows stay in the outbox and are read from the
SQLite file; one test reads them from a real Redis), filtered by
execution_events, with input and output only under
execution_events_payload = on."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from harness import DaemonTestCase, Subscriber, binary, sql

FAILS = {"StartAt": "P", "States": {
    "P": {"Type": "Pass", "Next": "F"},
    "F": {"Type": "Fail", "Error": "Custom.Broken", "Cause": "it broke"}}}
QUICK = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}


def waits(seconds, timeout=None):
    m = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": seconds, "Next": "S"}, "S": {"Type": "Succeed"}}}
    if timeout:
        m["TimeoutSeconds"] = timeout
    return m


DATE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def status_events(database):
    """The status events in the outbox, in the order they were written."""
    rows = sql(database, "SELECT payload FROM outbox ORDER BY seq")
    evs = [json.loads(p) for (p,) in rows]
    return [e for e in evs if e["source"] == "sagad.executions"]


class StatusEvents(DaemonTestCase):
    def run_one(self, machine, definition, inp=None, stop=False, **opts):
        """Starts a daemon with `opts`, runs one execution of `definition` to
        its end, stops the daemon and returns (description, status events)."""
        d = self.daemon(**opts)
        st, _, _ = d.request("PUT", f"/state-machines/{machine}", definition)
        self.assertEqual(st, 201)
        st, _, b = d.request("POST", f"/state-machines/{machine}/executions",
                             {"input": inp or {"a": 1}, "name": "run-1"})
        self.assertEqual(st, 202, b)
        eid = b["executionId"]
        if stop:
            st, _, b = d.request("POST", f"/executions/{eid}/stop",
                                 {"error": "Operator", "cause": "enough"})
            self.assertEqual(st, 200, b)
        desc = d.wait_ended(eid)
        self.assertEqual(d.stop(), 0)
        return desc, status_events(d.opts["database"])

    def assert_detail(self, ev, desc, status):
        self.assertEqual(ev["detail-type"], "Execution Status Change")
        self.assertEqual(ev["executionId"], desc["executionId"])
        det = ev["detail"]
        self.assertEqual(det["executionId"], desc["executionId"])
        self.assertEqual(det["stateMachine"], desc["stateMachine"])
        self.assertEqual(det["stateMachineVersion"], 1)
        self.assertEqual(det["name"], "run-1")
        self.assertEqual(det["status"], status)
        self.assertEqual(det["startDate"], desc["startDate"])
        self.assertRegex(det["startDate"], DATE)
        if status == "RUNNING":
            self.assertIsNone(det["stopDate"])
        else:
            self.assertEqual(det["stopDate"], desc["stopDate"])
            self.assertEqual(det["error"], desc.get("error"))
            self.assertEqual(det["cause"], desc.get("cause"))

    def test_failed_machine_emits_one_failed_event(self):
        desc, evs = self.run_one("breaks", FAILS)
        self.assertEqual(desc["status"], "FAILED")
        self.assertEqual(len(evs), 1, evs)
        self.assert_detail(evs[0], desc, "FAILED")
        self.assertEqual(evs[0]["detail"]["error"], "Custom.Broken")
        self.assertEqual(evs[0]["detail"]["cause"], "it broke")
        self.assertNotIn("input", evs[0]["detail"])
        self.assertNotIn("output", evs[0]["detail"])

    def test_off_emits_none(self):
        desc, evs = self.run_one("breaks", FAILS, execution_events="off")
        self.assertEqual(desc["status"], "FAILED")
        self.assertEqual(evs, [])

    def test_all_adds_running_across_two_transactions(self):
        desc, evs = self.run_one("waits", waits(1), execution_events="all")
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual([e["detail"]["status"] for e in evs], ["RUNNING", "SUCCEEDED"])
        self.assert_detail(evs[0], desc, "RUNNING")
        self.assert_detail(evs[1], desc, "SUCCEEDED")

    def test_all_in_one_advance_emits_running_then_end(self):
        desc, evs = self.run_one("quick", QUICK, execution_events="all")
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual([e["detail"]["status"] for e in evs], ["RUNNING", "SUCCEEDED"])
        self.assertNotEqual(evs[0]["id"], evs[1]["id"])

    def test_terminal_skips_running(self):
        desc, evs = self.run_one("waits", waits(1))
        self.assertEqual([e["detail"]["status"] for e in evs], ["SUCCEEDED"])
        self.assert_detail(evs[0], desc, "SUCCEEDED")

    def test_aborted_via_stop(self):
        desc, evs = self.run_one("slow", waits(30), stop=True)
        self.assertEqual(desc["status"], "ABORTED")
        self.assertEqual(len(evs), 1, evs)
        self.assert_detail(evs[0], desc, "ABORTED")
        self.assertEqual(evs[0]["detail"]["error"], "Operator")

    def test_timed_out(self):
        desc, evs = self.run_one("late", waits(30, timeout=1))
        self.assertEqual(desc["status"], "TIMED_OUT")
        self.assertEqual(len(evs), 1, evs)
        self.assert_detail(evs[0], desc, "TIMED_OUT")

    def test_payload_on_and_off(self):
        desc, evs = self.run_one("quick", QUICK, {"in": [1, 2]}, execution_events="all",
                                 execution_events_payload="on")
        self.assertEqual(len(evs), 2)
        self.assertEqual(evs[0]["detail"]["input"], {"in": [1, 2]})
        self.assertIsNone(evs[0]["detail"]["output"])
        self.assertEqual(evs[1]["detail"]["input"], {"in": [1, 2]})
        self.assertEqual(evs[1]["detail"]["output"], {"ok": 1})
        self.assertEqual(evs[1]["detail"]["output"], desc["output"])
        _, evs = self.run_one("quick", QUICK, {"in": 1}, execution_events_payload="off")
        self.assertEqual(len(evs), 1)
        self.assertNotIn("input", evs[0]["detail"])
        self.assertNotIn("output", evs[0]["detail"])


class Published(DaemonTestCase):
    def test_failed_machine_event_reaches_redis(self):
        r = self.redis()
        sub = Subscriber(r.port)
        self.addCleanup(sub.close)
        d = self.daemon(redis=r.address)
        self.assertEqual(d.request("PUT", "/state-machines/breaks", FAILS)[0], 201)
        st, _, b = d.request("POST", "/state-machines/breaks/executions?wait=10",
                             {"input": {}})
        self.assertEqual((st, b["status"]), (200, "FAILED"), b)
        sub.wait_for(1)
        time.sleep(0.3)   # nothing else arrives
        evs = sub.events()
        self.assertEqual(len(evs), 1, evs)
        ev = evs[0]
        self.assertEqual((ev["source"], ev["detail-type"]),
                         ("sagad.executions", "Execution Status Change"))
        self.assertEqual(ev["detail"]["executionId"], b["executionId"])
        self.assertEqual((ev["detail"]["status"], ev["detail"]["error"]),
                         ("FAILED", "Custom.Broken"))


class BadConfig(unittest.TestCase):
    def refused(self, key, value):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.conf")
            with open(path, "w") as f:
                f.write(f"log_level = info\n{key} = {value}\n")
            p = subprocess.run([binary("sagad"), "-c", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=20)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 2, err)
            self.assertIn(f"{path}:2", err)
            self.assertIn(key, err)

    def test_bad_values_exit_2_naming_the_key(self):
        self.refused("execution_events", "some")
        self.refused("execution_events", "")
        self.refused("execution_events_payload", "yes")


if __name__ == "__main__":
    unittest.main()
