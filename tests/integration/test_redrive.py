"""Redrive (POST /executions/{id}/redrive): an execution that ended FAILED,
TIMED_OUT or ABORTED runs again from the state it ended in, with that
state's input; what ran before is kept and not run again, the history goes
on with ExecutionRedriven, describe shows redriveCount/redriveDate, and the
refusals (running, succeeded, past retention, history gone, unknown id).
Activity tasks answered by this test are the outside world that fails and
is then fixed; both history formats; a kill -9 right after a redrive; a
database written by an older build."""
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

from harness import ROOT, Daemon, DaemonTestCase, binary
from test_status_events import status_events

SHIP = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"prepared": True}, "ResultPath": "$.prep",
                    "Next": "Reserve"},
        "Reserve": {"Type": "Task", "Resource": "sagad:activity:reserve",
                    "ResultPath": "$.reserved", "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": "sagad:activity:charge",
                   "ResultPath": "$.charge", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


class RedriveBase(DaemonTestCase):
    history_format = "replay"

    def setUp(self):
        super().setUp()
        self.d = self.daemon(history_format=self.history_format)
        for a in ("reserve", "charge"):
            st, _, body = self.d.request("PUT", f"/activities/{a}")
            self.assertEqual(st, 200, body)
        self.put("ship", SHIP)

    def poll(self, activity, d=None):
        st, _, task = (d or self.d).request("POST", f"/activities/{activity}/poll?wait=10",
                                            {"workerName": "test"}, timeout=20)
        self.assertEqual(st, 200, task)
        return task

    def succeed(self, task, output, d=None):
        st, _, body = (d or self.d).request("POST", "/tasks/success",
                                            {"taskToken": task["taskToken"], "output": output})
        self.assertEqual(st, 200, body)

    def fail_task(self, task, error, cause, d=None):
        st, _, body = (d or self.d).request("POST", "/tasks/failure",
                                            {"taskToken": task["taskToken"], "error": error,
                                             "cause": cause})
        self.assertEqual(st, 200, body)

    def start(self, inp, d=None):
        st, _, body = (d or self.d).request("POST", "/state-machines/ship/executions",
                                            {"input": inp})
        self.assertEqual(st, 202, body)
        return body["executionId"]

    def redrive(self, eid, d=None):
        return (d or self.d).request("POST", f"/executions/{eid}/redrive")

    def history(self, eid, d=None):
        st, _, h = (d or self.d).request("GET", f"/executions/{eid}/history")
        self.assertEqual(st, 200, h)
        return h["events"]

    def failed_at_charge(self):
        """An execution whose Reserve succeeded and whose Charge failed."""
        eid = self.start({"order": 7})
        self.succeed(self.poll("reserve"), {"held": 1})
        charge = self.poll("charge")
        self.fail_task(charge, "CardDeclined", "insufficient funds")
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "FAILED")
        self.assertEqual(desc["redriveCount"], 0)
        self.assertIsNone(desc["redriveDate"])
        return eid, charge


class RedriveTest(RedriveBase):
    def test_failed_task_redriven_goes_on_from_it(self):
        eid, charge = self.failed_at_charge()
        before = self.history(eid)
        st, _, body = self.redrive(eid)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "RUNNING")
        self.assertEqual(body["redriveCount"], 1)
        self.assertIsNotNone(body["redriveDate"])
        self.assertIsNone(body["error"])
        # The failed state runs again with the input it had; a new token.
        again = self.poll("charge")
        self.assertEqual(again["input"], charge["input"])
        self.assertEqual(again["input"], {"order": 7, "prep": {"prepared": True},
                                          "reserved": {"held": 1}})
        self.assertNotEqual(again["taskToken"], charge["taskToken"])
        self.succeed(again, {"paid": True})
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["charge"], {"paid": True})
        self.assertEqual(desc["redriveCount"], 1)
        events = self.history(eid)
        # The history goes on: the old events unchanged, ids keep increasing.
        self.assertEqual(events[:len(before)], before)
        self.assertEqual([e["id"] for e in events], list(range(1, len(events) + 1)))
        red = [e for e in events if e["type"] == "ExecutionRedriven"]
        self.assertEqual(len(red), 1)
        self.assertEqual(red[0]["id"], len(before) + 1)
        self.assertEqual(red[0]["details"], {"redriveCount": 1})
        entered = [e["details"]["name"] for e in events if e["type"].endswith("StateEntered")]
        self.assertEqual(entered, ["Prepare", "Reserve", "Charge", "Charge", "Done"])
        # Nothing before the failed state was scheduled again.
        scheduled = [e for e in events if e["type"] == "TaskScheduled"]
        self.assertEqual(len(scheduled), 3, scheduled)
        # Succeeded: no second redrive.
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["error"]), (409, "ExecutionNotRedrivable"))
        self.assertIn("succeeded", body["message"])

    def test_redrive_twice_then_counts(self):
        eid, _ = self.failed_at_charge()
        self.assertEqual(self.redrive(eid)[0], 200)
        self.fail_task(self.poll("charge"), "CardDeclined", "still no funds")
        self.assertEqual(self.d.wait_ended(eid)["status"], "FAILED")
        st, _, body = self.redrive(eid)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["redriveCount"], 2)
        _, _, counts = self.d.request("GET", "/executions/counts?machine=ship")
        self.assertEqual((counts["RUNNING"], counts["FAILED"]), (1, 0))
        _, _, listing = self.d.request("GET", "/executions?status=RUNNING")
        self.assertEqual([e["executionId"] for e in listing["executions"]], [eid])
        self.assertEqual(listing["executions"][0]["redriveCount"], 2)
        self.succeed(self.poll("charge"), {"paid": True})
        self.assertEqual(self.d.wait_ended(eid)["status"], "SUCCEEDED")
        events = self.history(eid)
        self.assertEqual([e["details"]["redriveCount"] for e in events
                          if e["type"] == "ExecutionRedriven"], [1, 2])
        self.assertEqual([e["id"] for e in events], list(range(1, len(events) + 1)))

    def test_long_poll_answers_after_the_redriven_end(self):
        eid, _ = self.failed_at_charge()
        self.assertEqual(self.redrive(eid)[0], 200)
        got = {}

        def wait():
            got["r"] = self.d.request("GET", f"/executions/{eid}?wait=20", timeout=30)

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.3)
        self.assertTrue(t.is_alive(), "the long poll must wait for the redriven run")
        self.succeed(self.poll("charge"), {"paid": True})
        t.join(30)
        st, _, desc = got["r"]
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"))

    def test_named_start_with_wait_joins_the_redriven_run(self):
        """A start repeated with the same name and input (what `sagactl start
        --wait` does) is the same execution: after a redrive it waits for the
        redriven run's end."""
        body = {"input": {"order": 9}, "name": "order-9"}
        st, _, b = self.d.request("POST", "/state-machines/ship/executions", body)
        eid = b["executionId"]
        self.succeed(self.poll("reserve"), {"held": 9})
        self.fail_task(self.poll("charge"), "CardDeclined", "no")
        self.assertEqual(self.d.wait_ended(eid)["status"], "FAILED")
        self.assertEqual(self.redrive(eid)[0], 200)
        got = {}

        def start_again():
            got["r"] = self.d.request("POST", "/state-machines/ship/executions?wait=20", body,
                                      timeout=30)

        t = threading.Thread(target=start_again)
        t.start()
        time.sleep(0.3)
        self.assertTrue(t.is_alive(), "the repeated start must wait for the redriven run")
        self.succeed(self.poll("charge"), {"paid": True})
        t.join(30)
        st, _, desc = got["r"]
        self.assertEqual((st, desc["executionId"], desc["status"]), (200, eid, "SUCCEEDED"))

    def test_refusals(self):
        eid = self.start({"order": 1})
        self.poll("reserve")  # taken, never answered: it keeps running
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["error"]), (409, "ExecutionNotRedrivable"))
        self.assertIn("running", body["message"])
        st, _, body = self.redrive("no-such-execution")
        self.assertEqual((st, body["error"]), (404, "ExecutionDoesNotExist"))
        st, _, body = self.d.request("POST", f"/executions/{eid}/redrive", {"force": True})
        self.assertEqual((st, body["error"]), (400, "UnknownField"))
        st, _, desc = self.d.request("GET", f"/executions/{eid}")
        self.assertEqual((desc["status"], desc["redriveCount"]), ("RUNNING", 0))

    def test_aborted_and_timed_out_are_redriven(self):
        # Aborted while Charge waited: Charge runs again.
        eid = self.start({"order": 2})
        self.succeed(self.poll("reserve"), {"held": 2})
        self.poll("charge")
        st, _, body = self.d.request("POST", f"/executions/{eid}/stop")
        self.assertEqual(body["status"], "ABORTED")
        self.assertEqual(self.redrive(eid)[0], 200)
        self.succeed(self.poll("charge"), {"paid": True})
        self.assertEqual(self.d.wait_ended(eid)["status"], "SUCCEEDED")
        # TimeoutSeconds count again from the redrive, not from the start.
        self.put("slowpay", {"TimeoutSeconds": 1, "StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": "sagad:activity:charge", "End": True}}})
        st, _, b = self.d.request("POST", "/state-machines/slowpay/executions", {"input": {}})
        tid = b["executionId"]
        self.assertEqual(self.d.wait_ended(tid)["status"], "TIMED_OUT")
        time.sleep(1.2)  # longer than TimeoutSeconds since the start
        st, _, body = self.redrive(tid)
        self.assertEqual((st, body["status"]), (200, "RUNNING"), body)
        self.succeed(self.poll("charge"), {"paid": "late"})
        desc = self.d.wait_ended(tid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"paid": "late"}))
        types = [e["type"] for e in self.history(tid)]
        self.assertEqual(types[types.index("ExecutionTimedOut") + 1], "ExecutionRedriven")

    def no_task(self, activity):
        st, _, body = self.d.request("POST", f"/activities/{activity}/poll?wait=0.3",
                                     {"workerName": "test"})
        self.assertEqual(st, 204, f"{activity} delivered a task again: {body}")

    def test_parallel_reruns_only_the_failed_branch(self):
        self.put("both", {"StartAt": "Both", "States": {"Both": {
            "Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "A", "States": {"A": {
                    "Type": "Task", "Resource": "sagad:activity:reserve", "End": True}}},
                {"StartAt": "B", "States": {"B": {
                    "Type": "Task", "Resource": "sagad:activity:charge", "End": True}}}]}}})
        st, _, b = self.d.request("POST", "/state-machines/both/executions", {"input": {"x": 1}})
        eid = b["executionId"]
        first_b = self.poll("charge")
        self.succeed(self.poll("reserve"), {"a": "kept"})
        time.sleep(0.2)   # the branch's success is committed before B fails
        self.fail_task(first_b, "CardDeclined", "no")
        self.assertEqual(self.d.wait_ended(eid)["status"], "FAILED")
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["status"]), (200, "RUNNING"), body)
        again = self.poll("charge")
        self.assertEqual(again["input"], {"x": 1})
        self.assertNotEqual(again["taskToken"], first_b["taskToken"])
        self.no_task("reserve")
        self.succeed(again, {"b": "new"})
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", [{"a": "kept"}, {"b": "new"}]))
        types = [e["type"] for e in self.history(eid)]
        self.assertEqual(types.count("ParallelStateEntered"), 1)
        self.assertEqual(types.count("ExecutionRedriven"), 1)

    def test_map_reruns_only_the_failed_iteration(self):
        self.put("items", {"StartAt": "Each", "States": {"Each": {
            "Type": "Map", "ItemsPath": "$.items", "End": True,
            "ItemProcessor": {"StartAt": "Do", "States": {"Do": {
                "Type": "Task", "Resource": "sagad:activity:charge", "End": True}}}}}})
        st, _, b = self.d.request("POST", "/state-machines/items/executions",
                                  {"input": {"items": [10, 11, 12]}})
        eid = b["executionId"]
        tasks = {}
        for _ in range(3):
            t = self.poll("charge")
            tasks[t["input"]] = t
        self.succeed(tasks[10], "ten")
        self.succeed(tasks[12], "twelve")
        time.sleep(0.2)
        self.fail_task(tasks[11], "Bad", "item 11")
        self.assertEqual(self.d.wait_ended(eid)["status"], "FAILED")
        self.assertEqual(self.redrive(eid)[0], 200)
        again = self.poll("charge")
        self.assertEqual(again["input"], 11)
        self.no_task("charge")
        self.succeed(again, "eleven")
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", ["ten", "eleven", "twelve"]))
        events = self.history(eid)
        after = events[[e["type"] for e in events].index("ExecutionRedriven"):]
        self.assertEqual([e["details"]["index"] for e in after if e["type"] == "MapIterationStarted"], [1])

    def test_kill9_after_redrive_recovers_it_running(self):
        eid, charge = self.failed_at_charge()
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["status"]), (200, "RUNNING"))
        self.d.kill()
        d2 = Daemon(workdir=self.d.dir, **{k: v for k, v in self.d.opts.items()})
        self._daemons.append(d2)
        d2.start()
        st, _, desc = d2.request("GET", f"/executions/{eid}")
        self.assertEqual((desc["status"], desc["redriveCount"]), ("RUNNING", 1))
        again = self.poll("charge", d2)
        self.assertEqual(again["input"], charge["input"])
        self.succeed(again, {"paid": True}, d2)
        self.assertEqual(d2.wait_ended(eid)["status"], "SUCCEEDED")
        events = self.history(eid, d2)
        self.assertEqual([e["type"] for e in events].count("ExecutionRedriven"), 1)
        self.assertEqual([e["id"] for e in events], list(range(1, len(events) + 1)))


class RedriveStatusEventsTest(DaemonTestCase):
    def test_redrive_emits_running(self):
        """With execution_events = all, a redrive is a status change to
        RUNNING, committed with it, and the new end is one more event."""
        d = self.d = self.daemon(execution_events="all")
        on_sqlite(self)   # reads the outbox from the SQLite file
        self.put("slow", {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30,
                                                            "End": True}}}, d)
        st, _, b = d.request("POST", "/state-machines/slow/executions", {"input": {}})
        eid = b["executionId"]
        for _ in range(2):
            self.assertEqual(d.request("POST", f"/executions/{eid}/stop")[2]["status"], "ABORTED")
            if _ == 0:
                self.assertEqual(d.request("POST", f"/executions/{eid}/redrive")[0], 200)
        self.assertEqual(d.stop(), 0)
        evs = [e for e in status_events(d.opts["database"]) if e["executionId"] == eid]
        self.assertEqual([e["detail"]["status"] for e in evs],
                         ["RUNNING", "ABORTED", "RUNNING", "ABORTED"])
        self.assertEqual(len({e["id"] for e in evs}), 4)
        self.assertIsNone(evs[2]["detail"]["stopDate"])


class RedriveEventsFormatTest(RedriveTest):
    """The same with history_format = events (no replay logs)."""
    history_format = "events"


def on_sqlite(test):
    """Skips a test that edits or copies the SQLite file itself when the
    daemon runs on PostgreSQL (tests/integration/pg.py)."""
    if str(test.d.opts["database"]).startswith("postgres"):
        test.skipTest("edits the SQLite database file")


class RedriveStoredTest(RedriveBase):
    """Refusals that depend on what is stored: retention and a pruned history."""

    def setUp(self):
        super().setUp()
        on_sqlite(self)

    def edit_db(self, sql, args):
        self.d.stop()
        db = sqlite3.connect(self.d.opts["database"])
        db.execute(sql, args)
        db.commit()
        db.close()
        self.d.start()

    def test_older_than_retention_is_refused(self):
        eid, _ = self.failed_at_charge()
        # Stopped 169 hours ago; the default retention_hours is 168.
        self.edit_db("UPDATE executions SET stop_ms = stop_ms - 169 * 3600 * 1000 WHERE id = ?",
                     (eid,))
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["error"]), (409, "ExecutionNotRedrivable"))
        self.assertIn("retention_hours", body["message"])
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["status"], "FAILED")

    def test_pruned_history_is_refused(self):
        eid, _ = self.failed_at_charge()
        self.edit_db("DELETE FROM history WHERE execution_id = ? AND first_id = 1", (eid,))
        st, _, body = self.redrive(eid)
        self.assertEqual((st, body["error"]), (409, "ExecutionNotRedrivable"))
        self.assertIn("history", body["message"])


FIXTURES = os.path.join(ROOT, "tests", "fixtures")
OLD = "ve9526e2"
OLD_UNCAUGHT = "01a24335-0c4a-727d-b0aa-c510ad0ab1d4"   # FAILED at Task F (sagad:fail)
OLD_TIMEOUT = "01a24335-0c59-7035-939a-6ed5c9216391"    # TIMED_OUT at Wait Sleep
OLD_ABORTED = "01a24335-1055-70f9-8b94-1104812e3ede"    # ABORTED at Wait Sleep (3600 s)


class RedriveOldDatabaseTest(DaemonTestCase):
    """Executions recorded by an older build (replay logs without "rd")."""

    def setUp(self):
        super().setUp()
        work = tempfile.mkdtemp(prefix="sagad-redrive-old-")
        self.addCleanup(shutil.rmtree, work, True)
        shutil.copyfile(os.path.join(FIXTURES, OLD + ".db"), os.path.join(work, "sagad.db"))
        # retention_hours = 0 keeps them (and redrivable) however old.
        self.d = self.daemon(workdir=work, retention_hours=0, payment_failure_rate=0)
        on_sqlite(self)

    def test_old_executions_are_redriven(self):
        for eid, final, n in ((OLD_UNCAUGHT, "FAILED", None), (OLD_TIMEOUT, "TIMED_OUT", None)):
            with self.subTest(execution=eid):
                _, _, before = self.d.request("GET", f"/executions/{eid}/history")
                st, _, body = self.d.request("POST", f"/executions/{eid}/redrive")
                self.assertEqual((st, body["redriveCount"]), (200, 1), body)
                desc = self.d.wait_ended(eid)
                # The cause is still there: it ends the same way again.
                self.assertEqual(desc["status"], final, desc)
                _, _, h = self.d.request("GET", f"/executions/{eid}/history")
                events = h["events"]
                self.assertEqual(events[:len(before["events"])], before["events"])
                self.assertEqual(events[len(before["events"])]["type"], "ExecutionRedriven")
                self.assertEqual([e["id"] for e in events], list(range(1, len(events) + 1)))
                self.assertEqual(events[-1]["type"], before["events"][-1]["type"])
        st, _, body = self.d.request("POST", f"/executions/{OLD_ABORTED}/redrive")
        self.assertEqual((st, body["status"]), (200, "RUNNING"))
        _, _, h = self.d.request("GET", f"/executions/{OLD_ABORTED}/history")
        self.assertEqual([e["type"] for e in h["events"]][-2:],
                         ["ExecutionRedriven", "WaitStateEntered"])
        st, _, body = self.d.request("POST", f"/executions/{OLD_ABORTED}/stop")
        self.assertEqual(body["status"], "ABORTED")


class Shop:
    """The outside world of the walk-through: a payment endpoint that fails
    (503) until the test fixes it, and a count of every call per path."""

    def __init__(self):
        self.calls = {}
        self.keys = {}
        self.broken = True
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                owner.calls[self.path] = owner.calls.get(self.path, 0) + 1
                owner.keys.setdefault(self.path, []).append(self.headers.get("Idempotency-Key"))
                status = 503 if self.path == "/charge" and owner.broken else 200
                body = json.dumps({"ok": status == 200, "path": self.path}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class RedriveWalkthroughTest(DaemonTestCase):
    """The operator's story with sagactl: a checkout saga fails because the
    payment provider is down; once it is back, `sagactl redrive --wait`
    finishes it, and the stock reservation before it is not made twice."""

    def ctl(self, *args):
        p = subprocess.run([binary("sagactl"), "--url", f"http://127.0.0.1:{self.d.port}"] +
                           list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_fix_the_cause_then_redrive(self):
        shop = Shop()
        self.addCleanup(shop.close)
        self.d = self.daemon(http_task_allow=shop.base + "/")

        def call(path, nxt):
            state = {"Type": "Task", "Resource": "sagad:http.invoke",
                     "Parameters": {"ApiEndpoint": shop.base + path, "Method": "POST",
                                    "RequestBody.$": "$"},
                     "ResultSelector": {"ok.$": "$.ResponseBody.ok"},
                     "ResultPath": "$." + path.strip("/")}
            state.update({"Next": nxt} if nxt else {"End": True})
            return state

        self.put("checkout", {"StartAt": "Reserve", "States": {
            "Reserve": call("/reserve", "Charge"), "Charge": call("/charge", "Ship"),
            "Ship": call("/ship", None)}})
        work = tempfile.mkdtemp(prefix="sagad-redrive-walk-")
        self.addCleanup(shutil.rmtree, work, True)
        order = os.path.join(work, "order.json")
        with open(order, "w") as f:
            json.dump({"order": 42}, f)
        code, out, err = self.ctl("start", "checkout", order, "--wait", "30")
        self.assertEqual(code, 1, out + err)
        self.assertIn("FAILED", out)
        self.assertIn("States.Http.StatusCode.503", out)
        eid = next(line.split()[-1] for line in out.splitlines() if "execution" in line.lower())
        _, _, listing = self.d.request("GET", "/executions?status=FAILED")
        self.assertEqual([e["executionId"] for e in listing["executions"]], [eid])
        self.assertEqual(shop.calls, {"/reserve": 1, "/charge": 1})

        shop.broken = False   # the provider is back
        code, out, err = self.ctl("redrive", eid, "--wait", "30")
        self.assertEqual(code, 0, out + err)
        self.assertIn("SUCCEEDED", out)
        self.assertRegex(out, r"Redriven +1 time, last ")
        # Reserved once, charged again (a new Idempotency-Key), shipped once.
        self.assertEqual(shop.calls, {"/reserve": 1, "/charge": 2, "/ship": 1})
        self.assertNotEqual(shop.keys["/charge"][0], shop.keys["/charge"][1])
        desc = self.d.request("GET", f"/executions/{eid}")[2]
        self.assertEqual(desc["output"], {"order": 42, "reserve": {"ok": True},
                                          "charge": {"ok": True}, "ship": {"ok": True}})
        code, out, err = self.ctl("history", eid)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"ExecutionRedriven +redrive 1")
        # Succeeded: a second redrive is refused, and says why.
        code, out, err = self.ctl("redrive", eid)
        self.assertEqual(code, 1)
        self.assertIn("succeeded", err)
        code, out, err = self.ctl("redrive", "no-such-id")
        self.assertEqual(code, 1)
        code, out, err = self.ctl("redrive", "--help")
        self.assertEqual(code, 0)
        self.assertIn("redrive EXECUTION-ID", out)
        code, out, err = self.ctl("--help")
        self.assertIn("redrive EXECUTION-ID", out + err)


if __name__ == "__main__":
    import unittest
    unittest.main()
