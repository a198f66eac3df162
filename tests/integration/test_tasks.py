"""Callback Tasks (.waitForTaskToken), activities and the /tasks/* reports,
against a real sagad over HTTP: tokens, reports, timeouts, Retry/Catch on
reported failures, long polls, and kill -9 while tasks wait."""
import json
import os
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, DaemonTestCase  # noqa: E402

TOKEN_RE = re.compile(r"^[0-9a-f]{48}$")


def callback_machine(extra=None, resource="sagad:echo.waitForTaskToken"):
    state = {"Type": "Task", "Resource": resource,
             "Parameters": {"token.$": "$$.Task.Token", "job.$": "$"}, "End": True}
    state.update(extra or {})
    return {"StartAt": "Wait", "States": {"Wait": state}}


def activity_machine(name="work", extra=None, more_states=None):
    state = {"Type": "Task", "Resource": f"sagad:activity:{name}", "End": True}
    state.update(extra or {})
    states = {"Work": state}
    states.update(more_states or {})
    return {"StartAt": "Work", "States": states}


class TasksCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon()

    def start(self, name, inp=None, d=None):
        st, _, body = (d or self.d).request("POST", f"/state-machines/{name}/executions",
                                            {"input": inp if inp is not None else {}})
        self.assertIn(st, (200, 201, 202), body)
        return body["executionId"]

    def token_of(self, eid, d=None, nth=-1, timeout=10):
        """The callback token from the execution's TaskScheduled parameters."""
        deadline = time.time() + timeout
        while True:
            _, _, hist = (d or self.d).request("GET", f"/executions/{eid}/history")
            toks = [e["details"]["parameters"]["token"] for e in hist.get("events", [])
                    if e.get("type") == "TaskScheduled"
                    and "token" in e["details"].get("parameters", {})]
            if toks and (nth == -1 or len(toks) > nth):
                return toks[nth]
            if time.time() > deadline:
                self.fail(f"no TaskScheduled token in {hist}")
            time.sleep(0.05)

    def report(self, kind, body, d=None):
        return (d or self.d).request("POST", f"/tasks/{kind}", body)

    def wait_tokens(self, n, d=None, timeout=10):
        """Until /metrics shows n tokens waiting (the wait is durable and armed)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, _, text = (d or self.d).request("GET", "/metrics")
            m = re.search(r"^sagad_task_tokens_waiting (\d+)", text, re.M)
            if m and int(m.group(1)) == n:
                return
            time.sleep(0.05)
        self.fail(f"tokens waiting never reached {n}")


class CallbackTest(TasksCase):
    def test_success_round_trip_and_second_success_changes_nothing(self):
        self.put("cb", callback_machine())
        eid = self.start("cb", {"n": 1})
        tok = self.token_of(eid)
        self.assertRegex(tok, TOKEN_RE)
        self.wait_tokens(1)
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["status"], "RUNNING")
        st, _, body = self.report("success", {"taskToken": tok, "output": {"paid": 42}})
        self.assertEqual((st, body), (200, {}))
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual(desc["output"], {"paid": 42})
        st, _, body = self.report("success", {"taskToken": tok, "output": {"paid": 1}})
        self.assertEqual((st, body["error"]), (404, "TaskDoesNotExist"))
        st, _, body = self.report("failure", {"taskToken": tok, "error": "X"})
        self.assertEqual(st, 404)
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["output"], {"paid": 42})
        # One TaskSucceeded in the history: the second report had no effect.
        _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
        self.assertEqual([e["type"] for e in hist["events"]].count("TaskSucceeded"), 1)

    def test_tokens_are_distinct_per_execution(self):
        self.put("cb", callback_machine())
        ids = [self.start("cb") for _ in range(5)]
        toks = {self.token_of(e) for e in ids}
        self.assertEqual(len(toks), 5)

    def test_reported_failure_is_caught(self):
        m = callback_machine({"Catch": [{"ErrorEquals": ["Payment.Declined"],
                                         "ResultPath": "$.err", "Next": "Handled"}]})
        del m["States"]["Wait"]["End"]
        m["States"]["Wait"]["Next"] = "Done"
        m["States"]["Done"] = {"Type": "Succeed"}
        m["States"]["Handled"] = {"Type": "Pass", "End": True}
        self.put("cbf", m)
        eid = self.start("cbf", {"order": 7})
        tok = self.token_of(eid)
        self.wait_tokens(1)
        st, _, _ = self.report("failure", {"taskToken": tok, "error": "Payment.Declined",
                                           "cause": "card expired"})
        self.assertEqual(st, 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual(desc["output"]["err"], {"Error": "Payment.Declined",
                                                 "Cause": "card expired"})

    def test_failure_without_error_is_task_failed(self):
        self.put("cb", callback_machine())
        eid = self.start("cb")
        tok = self.token_of(eid)
        self.wait_tokens(1)
        self.assertEqual(self.report("failure", {"taskToken": tok})[0], 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.TaskFailed"))

    def test_retry_issues_a_new_token_per_attempt(self):
        self.put("cbr", callback_machine({"Retry": [{"ErrorEquals": ["Flaky"],
                                                     "IntervalSeconds": 1,
                                                     "MaxAttempts": 2}]}))
        eid = self.start("cbr")
        first = self.token_of(eid, nth=0)
        self.wait_tokens(1)
        self.assertEqual(self.report("failure", {"taskToken": first, "error": "Flaky"})[0], 200)
        second = self.token_of(eid, nth=1)
        self.assertNotEqual(first, second)
        self.wait_tokens(1)
        self.assertEqual(self.report("success", {"taskToken": first, "output": 1})[0], 404)
        self.assertEqual(self.report("success", {"taskToken": second, "output": 2})[0], 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", 2))

    def test_heartbeat_timeout_fails_and_token_expires(self):
        self.put("hb", callback_machine({"HeartbeatSeconds": 1}))
        eid = self.start("hb")
        tok = self.token_of(eid)
        desc = self.d.wait_ended(eid, timeout=10)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.HeartbeatTimeout"))
        self.assertEqual(self.report("success", {"taskToken": tok, "output": 1})[0], 404)
        self.assertEqual(self.report("heartbeat", {"taskToken": tok})[0], 404)

    def test_heartbeats_keep_the_task_alive(self):
        self.put("hb", callback_machine({"HeartbeatSeconds": 1}))
        eid = self.start("hb")
        tok = self.token_of(eid)
        end = time.time() + 2.5
        while time.time() < end:
            st, _, body = self.report("heartbeat", {"taskToken": tok})
            self.assertEqual((st, body), (200, {}))
            time.sleep(0.3)
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["status"], "RUNNING")
        self.assertEqual(self.report("success", {"taskToken": tok, "output": "ok"})[0], 200)
        self.assertEqual(self.d.wait_ended(eid)["status"], "SUCCEEDED")

    def test_timeout_seconds(self):
        self.put("to", callback_machine({"TimeoutSeconds": 1}))
        eid = self.start("to")
        tok = self.token_of(eid)
        desc = self.d.wait_ended(eid, timeout=10)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Timeout"))
        self.assertEqual(self.report("success", {"taskToken": tok, "output": 1})[0], 404)

    def test_malformed_and_unknown_tokens(self):
        for body in ({"taskToken": "abc"}, {"taskToken": 5}, {}, [],
                     {"taskToken": "A" * 48}, {"taskToken": "0" * 47}):
            st, _, r = self.report("success", dict(body, output=1) if isinstance(body, dict)
                                   else body)
            self.assertEqual((st, r["error"]), (400, "InvalidToken"), body)
            st, _, r = self.report("heartbeat", body)
            self.assertEqual((st, r["error"]), (400, "InvalidToken"), body)
        st, _, r = self.report("success", {"taskToken": "0" * 48, "output": 1})
        self.assertEqual((st, r["error"]), (404, "TaskDoesNotExist"))
        st, _, r = self.report("failure", {"taskToken": "0" * 48, "error": 5})
        self.assertEqual(st, 400)
        st, _, r = self.report("success", {"taskToken": "0" * 48})
        self.assertEqual((st, r["error"]), (400, "InvalidOutput"))
        st, _, r = self.d.request("POST", "/tasks/success", "{not json")
        self.assertEqual((st, r["error"]), (400, "InvalidJson"))

    def test_stop_ends_the_wait(self):
        self.put("cb", callback_machine())
        eid = self.start("cb")
        tok = self.token_of(eid)
        self.wait_tokens(1)
        st, _, _ = self.d.request("POST", f"/executions/{eid}/stop", {})
        self.assertEqual(st, 200)
        self.assertEqual(self.d.wait_ended(eid)["status"], "ABORTED")
        self.assertEqual(self.report("success", {"taskToken": tok, "output": 1})[0], 404)
        self.wait_tokens(0)

    def test_report_overtaken_by_a_pipelined_stop_is_404(self):
        """A report and a stop sent in one write reach the daemon in the same
        loop turn; the stop ends the execution first, so the report is not
        recorded and must not be answered 200."""
        self.put("cb", callback_machine())
        eid = self.start("cb")
        tok = self.token_of(eid)
        self.wait_tokens(1)
        report = json.dumps({"taskToken": tok, "output": {"late": True}}).encode()
        stop = b"{}"
        raw = (b"POST /tasks/success HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s"
               b"POST /executions/%s/stop HTTP/1.1\r\nHost: x\r\nContent-Type: "
               b"application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
               % (len(report), report, eid.encode(), len(stop), stop))
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=10) as sock:
            sock.sendall(raw)
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
        self.assertEqual(len(statuses), 2, data)
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "ABORTED")
        _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
        recorded = any(e["type"] == "TaskSucceeded" for e in hist["events"])
        self.assertEqual(statuses[0] == b"200", recorded, data)
        self.assertEqual(statuses[0], b"404", data)
        self.wait_tokens(0)

    def test_callback_inside_map_iterations(self):
        m = {"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "End": True,
            "ItemProcessor": callback_machine()}}}
        self.put("cbm", m)
        eid = self.start("cbm", {"items": [1, 2, 3]})
        self.wait_tokens(3)
        _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
        toks = [e["details"]["parameters"]["token"] for e in hist["events"]
                if e.get("type") == "TaskScheduled"]
        self.assertEqual(len(set(toks)), 3)
        for i, t in enumerate(toks):
            self.assertEqual(self.report("success", {"taskToken": t, "output": i})[0], 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual(sorted(desc["output"]), [0, 1, 2])

    def test_unknown_base_handler_is_refused_at_registration(self):
        st, _, body = self.d.request("PUT", "/state-machines/bad",
                                     callback_machine(resource="sagad:nope.waitForTaskToken"))
        self.assertEqual(st, 400)
        self.assertIn("no handler named 'nope'", body["message"])
        st, _, body = self.d.request("PUT", "/state-machines/bad",
                                     activity_machine(name="bad name!"))
        self.assertEqual(st, 400)
        self.assertIn("not an activity name", body["message"])


class ActivityTest(TasksCase):
    def poll(self, name="work", wait=0, worker=None, d=None):
        body = {"workerName": worker} if worker else None
        return (d or self.d).request("POST", f"/activities/{name}/poll?wait={wait}", body)

    def test_put_is_idempotent_and_listed(self):
        st, _, a = self.d.request("PUT", "/activities/work")
        self.assertEqual(st, 200)
        self.assertEqual(a["name"], "work")
        time.sleep(0.01)
        st, _, b = self.d.request("PUT", "/activities/work")
        self.assertEqual((st, b["createdAt"]), (200, a["createdAt"]))
        self.assertEqual(self.d.request("PUT", "/activities/bad%20name")[0], 400)
        st, _, lst = self.d.request("GET", "/activities")
        self.assertEqual(st, 200)
        self.assertEqual([x["name"] for x in lst["activities"]], ["work"])
        self.assertEqual(lst["activities"][0]["tasksWaiting"], 0)

    def test_poll_unknown_and_empty(self):
        st, _, body = self.poll("nothing")
        self.assertEqual((st, body["error"]), (404, "ActivityDoesNotExist"))
        self.d.request("PUT", "/activities/work")
        t0 = time.time()
        st, _, body = self.poll(wait=0.3)
        self.assertEqual((st, body), (204, None))
        self.assertGreaterEqual(time.time() - t0, 0.25)
        self.assertEqual(self.poll(wait=61)[0], 400)
        self.assertEqual(self.poll(wait="x")[0], 400)

    def test_task_is_delivered_and_reported(self):
        self.put("act", activity_machine())
        eid = self.start("act", {"job": 7})
        deadline = time.time() + 5
        while True:
            _, _, lst = self.d.request("GET", "/activities")
            acts = {a["name"]: a for a in lst["activities"]}
            if acts.get("work", {}).get("tasksWaiting") == 1 or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(acts["work"]["tasksWaiting"], 1)
        st, _, task = self.poll(wait=5, worker="w1")
        self.assertEqual(st, 200)
        self.assertRegex(task["taskToken"], TOKEN_RE)
        self.assertEqual(task["input"], {"job": 7})
        _, _, lst = self.d.request("GET", "/activities")
        a = lst["activities"][0]
        self.assertEqual((a["tasksWaiting"], a["tasksRunning"]), (0, 1))
        self.assertEqual([w["name"] for w in a["workers"]], ["w1"])
        st, _, _ = self.report("success", {"taskToken": task["taskToken"], "output": {"done": 7}})
        self.assertEqual(st, 200)
        desc = self.d.wait_ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"done": 7}))
        self.assertEqual(self.poll(wait=0)[0], 204)

    def test_long_poll_wakes_when_a_task_arrives(self):
        self.put("act", activity_machine())
        self.d.request("PUT", "/activities/work")
        got = {}

        def poller():
            t0 = time.time()
            got["resp"] = self.poll(wait=10)
            got["secs"] = time.time() - t0

        th = threading.Thread(target=poller)
        th.start()
        time.sleep(0.5)
        eid = self.start("act", {"job": 1})
        th.join(15)
        st, _, task = got["resp"]
        self.assertEqual(st, 200)
        self.assertLess(got["secs"], 3)
        self.assertEqual(task["input"], {"job": 1})
        self.assertEqual(self.report("success", {"taskToken": task["taskToken"],
                                                 "output": 1})[0], 200)
        self.assertEqual(self.d.wait_ended(eid)["status"], "SUCCEEDED")

    def test_many_parked_polls_leave_the_daemon_responsive(self):
        import socket
        self.d.request("PUT", "/activities/work")
        n = 300
        socks = []
        # Long enough that the first poll is still parked when the last one
        # arrives on a slow, loaded machine.
        req = (b"POST /activities/work/poll?wait=4 HTTP/1.1\r\nHost: x\r\n"
               b"Content-Length: 0\r\n\r\n")
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", self.d.port))
            self.addCleanup(s.close)
            s.sendall(req)
            socks.append(s)
        deadline = time.time() + 3
        while True:
            _, _, text = self.d.request("GET", "/metrics")
            parked = int(re.search(r"^sagad_activity_polls_parked (\d+)", text, re.M).group(1))
            if parked >= n or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(parked, n)
        t0 = time.time()
        st, _, _ = self.d.request("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertLess(time.time() - t0, 0.5)
        answered = 0
        for s in socks:
            s.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            answered += data.startswith(b"HTTP/1.1 204")
            s.close()
        self.assertEqual(answered, n)

    def test_heartbeat_timeout_retries_on_another_worker(self):
        self.put("act", activity_machine(extra={
            "HeartbeatSeconds": 1,
            "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "IntervalSeconds": 1,
                       "MaxAttempts": 2}]}))
        eid = self.start("act", {"job": 3})
        st, _, first = self.poll(wait=5, worker="dies")
        self.assertEqual(st, 200)
        # The first worker never reports: the heartbeat clock fails it, Retry
        # queues the next attempt with a new token.
        st, _, second = self.poll(wait=10, worker="lives")
        self.assertEqual(st, 200)
        self.assertNotEqual(first["taskToken"], second["taskToken"])
        self.assertEqual(self.report("success", {"taskToken": first["taskToken"],
                                                 "output": 0})[0], 404)
        self.assertEqual(self.report("success", {"taskToken": second["taskToken"],
                                                 "output": "ok"})[0], 200)
        self.assertEqual(self.d.wait_ended(eid)["output"], "ok")

    def test_task_on_an_uncreated_activity_creates_it(self):
        self.put("act", activity_machine(name="fresh"))
        self.start("act")
        st, _, task = self.poll(name="fresh", wait=5)
        self.assertEqual(st, 200)
        self.report("success", {"taskToken": task["taskToken"], "output": 1})


class DurabilityTest(TasksCase):
    """kill -9 while tokens wait and activity tasks are delivered: after the
    restart every one completes exactly once."""

    def test_kill_while_tokens_wait_and_tasks_are_delivered(self):
        self.put("cb", callback_machine({"TimeoutSeconds": 300}))
        self.put("act", activity_machine())
        cb_ids = [self.start("cb", {"i": i}) for i in range(5)]
        act_ids = [self.start("act", {"i": i}) for i in range(4)]
        toks = {e: self.token_of(e) for e in cb_ids}
        delivered = []
        for _ in range(2):   # two delivered, two still queued
            st, _, task = self.request_poll()
            self.assertEqual(st, 200)
            delivered.append(task)
        self.wait_tokens(9)
        self.d.kill()
        self.d.start()
        self.wait_tokens(9)
        for e, t in toks.items():
            self.assertEqual(self.report("success", {"taskToken": t, "output": e})[0], 200)
        # The delivered tasks keep their tokens: their worker reports after the restart.
        for task in delivered:
            self.assertEqual(self.report("success", {"taskToken": task["taskToken"],
                                                     "output": task["input"]})[0], 200)
        # The two never delivered (and nothing else) are delivered now.
        rest = []
        while True:
            st, _, task = self.request_poll(wait=0.5)
            if st == 204:
                break
            rest.append(task)
        self.assertEqual(len(rest), 2)
        for task in rest:
            self.assertEqual(self.report("success", {"taskToken": task["taskToken"],
                                                     "output": task["input"]})[0], 200)
        for e in cb_ids:
            d = self.d.wait_ended(e)
            self.assertEqual((d["status"], d["output"]), ("SUCCEEDED", e))
        outs = sorted(self.d.wait_ended(e)["output"]["i"] for e in act_ids)
        self.assertEqual(outs, [0, 1, 2, 3])
        for e in cb_ids + act_ids:
            _, _, hist = self.d.request("GET", f"/executions/{e}/history")
            types = [x["type"] for x in hist["events"]]
            self.assertEqual(types.count("TaskSucceeded"), 1, e)
        # Every token is spent.
        for t in list(toks.values()) + [x["taskToken"] for x in delivered + rest]:
            self.assertEqual(self.report("success", {"taskToken": t, "output": 0})[0], 404)

    def test_delivered_unreported_task_is_queued_again_after_restart(self):
        self.put("act", activity_machine())
        eid = self.start("act", {"x": 1})
        st, _, task = self.request_poll()
        self.assertEqual(st, 200)
        self.d.kill()
        self.d.start()
        st, _, again = self.request_poll()
        self.assertEqual(st, 200)
        self.assertEqual(again["taskToken"], task["taskToken"])   # at-least-once, same token
        self.assertEqual(self.report("success", {"taskToken": task["taskToken"],
                                                 "output": "first"})[0], 200)
        self.assertEqual(self.report("success", {"taskToken": again["taskToken"],
                                                 "output": "second"})[0], 404)
        self.assertEqual(self.d.wait_ended(eid)["output"], "first")

    def test_history_replays_the_same_token_after_restart(self):
        self.put("cb", callback_machine())
        eid = self.start("cb")
        tok = self.token_of(eid)
        self.wait_tokens(1)
        self.d.kill()
        self.d.start()
        self.assertEqual(self.token_of(eid), tok)
        self.assertEqual(self.report("success", {"taskToken": tok, "output": 1})[0], 200)
        self.assertEqual(self.d.wait_ended(eid)["status"], "SUCCEEDED")
        self.assertEqual(self.token_of(eid), tok)

    def request_poll(self, wait=5):
        return self.d.request("POST", f"/activities/work/poll?wait={wait}")


if __name__ == "__main__":
    unittest.main()
