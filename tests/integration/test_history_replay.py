"""The history of an execution's own frame is stored as a replay log (the
clock, random draws and task outcomes) and rebuilt on read by running the
engine again. These tests check, against a real sagad and its SQLite file,
that the rebuilt events are the ones the run produced: random intrinsics,
jittered retries across timers, Parallel/Map children (literal rows in
between), an asynchronous handler, and a kill -9 in the middle."""
import json
import time
import unittest

from harness import DaemonTestCase

MACHINE = {
    "StartAt": "Init",
    "States": {
        "Init": {"Type": "Pass", "Parameters": {
            "id.$": "States.UUID()", "r.$": "States.MathRandom(1, 1000000)",
            "entered.$": "$$.State.EnteredTime", "exec.$": "$$.Execution.Id",
            "items.$": "$.items"}, "Next": "Echo"},
        "Echo": {"Type": "Task", "Resource": "sagad:echo",
                 "ResultSelector": {"echoed.$": "$.id"}, "ResultPath": "$.echo", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "sagad:fail",
                  "Parameters": {"error": "Flaky.Error", "cause": "always"},
                  "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                             "MaxAttempts": 1, "JitterStrategy": "FULL"}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught",
                             "Next": "Fan"}], "End": True},
        "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Each", "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Parameters": {
                "u.$": "States.UUID()"}, "End": True}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Task", "Resource": "sagad:echo",
                                                "End": True}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "Next": "Create",
                 "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Parameters": {
                     "v.$": "$", "u.$": "States.UUID()"}, "End": True}}}},
        "Create": {"Type": "Task", "Resource": "sagad:orders.create",
                   "Parameters": {"itemId": "coffee-beans", "quantity": 1},
                   "ResultSelector": {"orderId.$": "$.orderId"}, "ResultPath": "$.order",
                   "Next": "Pay"},
        "Pay": {"Type": "Task", "Resource": "sagad:payment.process",
                "Parameters": {"orderId.$": "$.order.orderId", "amount": 1},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.payErr",
                           "Next": "Pick"}], "ResultPath": "$.paid", "Next": "Pick"},
        "Pick": {"Type": "Choice", "Choices": [
            {"Variable": "$.r", "NumericGreaterThan": 0, "Next": "Nap"}], "Default": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 2, "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


# The order handlers serve the order machine only, unless granted.
ALLOW = "replay: orders.create, payment.process"


# Deterministic machines (no random draws, no clock in a payload): the
# replayed history must equal the recorded one event for event.
SAME = {
    "passes": ({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Parameters": {
            "s.$": "States.Format('{} has {}', $.name, States.ArrayLength($.items))",
            "j.$": "States.JsonMerge($.a, $.b, false)", "n.$": "States.MathAdd($.x, 2)",
            "h.$": "States.Hash($.name, 'SHA-256')", "arr.$": "States.ArrayPartition($.items, 2)"},
            "ResultPath": "$.p", "Next": "B"},
        "B": {"Type": "Pass", "InputPath": "$.p", "Result": {"k": [1, 2, {"z": None}]},
              "ResultPath": "$.r", "OutputPath": "$.r", "Next": "C"},
        "C": {"Type": "Succeed"}}},
        {"name": "Ada", "items": [1, 2, 3, 4, 5], "a": {"x": 1}, "b": {"y": 2}, "x": 40}),
    "choice_fail": ({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [{"Variable": "$.n", "NumericGreaterThan": 3},
                     {"Variable": "$.s", "StringMatches": "ab*"}], "Next": "Big"},
            {"Variable": "$.n", "NumericLessThanEquals": 3, "Next": "Small"}],
              "Default": "Small"},
        "Big": {"Type": "Fail", "Error": "Too.Big", "Cause": "n > 3"},
        "Small": {"Type": "Succeed"}}}, {"n": 7, "s": "abbb"}),
    "tasks_retry_catch": ({"StartAt": "E", "States": {
        "E": {"Type": "Task", "Resource": "sagad:echo", "Parameters": {"v.$": "$.v", "c": 1},
              "ResultSelector": {"vv.$": "$.v"}, "ResultPath": "$.e", "Next": "F"},
        "F": {"Type": "Task", "Resource": "sagad:fail",
              "Parameters": {"error": "Boom", "cause.$": "States.Format('v={}', $.v)"},
              "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 3},
                        {"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 1}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "W"}],
              "End": True},
        "W": {"Type": "Wait", "Seconds": 0, "Next": "D"},
        "D": {"Type": "Pass", "End": True}}}, {"v": "x"}),
    "parallel_map": ({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "ResultPath": "$.par", "Next": "M", "Branches": [
            {"StartAt": "E1", "States": {"E1": {"Type": "Task", "Resource": "sagad:echo",
                                                "End": True}}},
            {"StartAt": "P2", "States": {"P2": {"Type": "Pass", "Result": 2, "End": True}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
              "ItemSelector": {"i.$": "$$.Map.Item.Value", "idx.$": "$$.Map.Item.Index"},
              "ToleratedFailureCount": 1, "ResultPath": "$.map", "Next": "Done",
              "ItemProcessor": {"StartAt": "T", "States": {
                  "T": {"Type": "Choice", "Choices": [
                      {"Variable": "$.i", "NumericEquals": 2, "Next": "Bad"}], "Default": "Ok"},
                  "Bad": {"Type": "Task", "Resource": "sagad:fail", "End": True},
                  "Ok": {"Type": "Task", "Resource": "sagad:echo", "End": True}}}},
        "Done": {"Type": "Succeed"}}}, {"items": [1, 2, 3]}),
    # Thousands of transitions without a wait: the engine yields
    # (ASL_STEP_CONTINUE) and the log spans several advances fed "no outcome".
    "long_loop": ({"StartAt": "Inc", "States": {
        "Inc": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "More"},
        "More": {"Type": "Choice", "Choices": [
            {"Variable": "$.i", "NumericLessThan": 1200, "Next": "Inc"}], "Default": "End"},
        "End": {"Type": "Succeed"}}}, {"i": 0}),
}


def normalized(events, eid):
    """Event types and details, with the execution id (it is in task
    tokens) replaced: two daemons give their executions different ids."""
    return json.loads(json.dumps([[e["type"], e["details"]] for e in events]).replace(eid, "EID"))


class HistoryReplay(DaemonTestCase):
    def run_machine(self, d, kill_during_wait=False):
        st, _, body = d.request("PUT", "/state-machines/replay", MACHINE)
        self.assertIn(st, (200, 201), body)
        st, _, b = d.request("POST", "/state-machines/replay/executions",
                             {"input": {"items": [1, 2, 3]}})
        self.assertEqual(st, 202, b)
        eid = b["executionId"]
        if kill_during_wait:
            deadline = time.time() + 10
            while time.time() < deadline:
                _, _, h = d.request("GET", f"/executions/{eid}/history")
                if any(e["type"] == "WaitStateEntered" for e in h["events"]):
                    break
                time.sleep(0.05)
            d.kill()
            d.start()
        desc = d.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        st, _, h = d.request("GET", f"/executions/{eid}/history")
        self.assertEqual(st, 200)
        return eid, desc, h["events"]

    def check(self, d, eid, desc, evs):
        out = desc["output"]
        types = [e["type"] for e in evs]
        # Every stored event comes back once, numbered without gaps.
        [(last, logs)] = d.sql("SELECT max(last_id), sum(CASE WHEN frame = '' AND events LIKE '{%' "
                               "THEN 1 ELSE 0 END) FROM history WHERE execution_id = ?", eid)
        self.assertGreaterEqual(logs, 3, "the execution's own rows are replay logs")
        self.assertEqual([e["id"] for e in evs], list(range(1, last + 1)))
        self.assertEqual([e["previousEventId"] for e in evs], list(range(0, last)))
        # The rebuilt events carry the values of the real run: the random
        # UUID/number, the clock, the jittered retry, the handler results.
        self.assertEqual(evs[0]["details"]["input"], {"items": [1, 2, 3]})
        self.assertEqual(evs[-1]["type"], "ExecutionSucceeded")
        self.assertEqual(evs[-1]["details"]["output"], out)
        init = next(e for e in evs if e["type"] == "PassStateExited" and e["details"]["name"] == "Init")
        for k in ("id", "r", "entered", "exec"):
            self.assertEqual(init["details"]["output"][k], out[k], k)
        self.assertEqual(out["exec"], eid)
        self.assertEqual(out["echo"], {"echoed": out["id"]})
        self.assertEqual(types.count("TaskFailed"), 2)
        self.assertEqual(out["caught"]["Error"], "Flaky.Error")
        par = next(e for e in evs if e["type"] == "ParallelStateExited")
        self.assertEqual(par["details"]["output"]["fan"], out["fan"])
        mp = next(e for e in evs if e["type"] == "MapStateExited")
        self.assertEqual(mp["details"]["output"]["mapped"], out["mapped"])
        self.assertEqual([m["v"] for m in out["mapped"]], [1, 2, 3])
        self.assertIn("WaitStateEntered", types)
        top = set(MACHINE["States"])
        for prev, ev in zip(evs, evs[1:]):
            if (ev["type"].endswith("StateEntered") and prev["type"].endswith("StateExited")
                    and {ev["details"]["name"], prev["details"]["name"]} <= top):
                self.assertEqual(ev["details"]["input"], prev["details"]["output"])
            self.assertFalse([k for k in ev["details"] if k.endswith("$")], ev)

    def test_replayed_history_is_the_run(self):
        d = self.daemon(payment_latency_ms=50, payment_failure_rate=0, handler_allow=ALLOW)
        eid, desc, evs = self.run_machine(d)
        self.check(d, eid, desc, evs)
        # The asynchronous payment's result is the one it recorded.
        pay = [e for e in evs if e["type"] == "TaskSucceeded" and e["details"].get("resource") == "payment.process"]
        self.assertEqual(len(pay), 1, [e["type"] for e in evs])
        self.assertEqual(pay[0]["details"]["output"], desc["output"]["paid"])
        # Reading twice gives the same bytes.
        _, _, again = d.request("GET", f"/executions/{eid}/history")
        self.assertEqual(json.dumps(again["events"]), json.dumps(evs))

    def test_replay_equals_recorded_events(self):
        """history_format=events stores every event as it was produced; the
        default stores replay logs. Both daemons run the same machines."""
        got = {}
        for fmt in ("events", "replay"):
            d = self.daemon(history_format=fmt)
            for name, (machine, inp) in SAME.items():
                st, _, body = d.request("PUT", f"/state-machines/{name}", machine)
                self.assertIn(st, (200, 201), body)
                st, _, desc = d.request("POST", f"/state-machines/{name}/executions?wait=20",
                                        {"input": inp})
                self.assertEqual(st, 200, desc)
                _, _, h = d.request("GET", f"/executions/{desc['executionId']}/history")
                got[(fmt, name)] = (desc["status"], normalized(h["events"], desc["executionId"]))
            [(logs,)] = d.sql("SELECT count(*) FROM history WHERE frame = '' AND "
                              "events LIKE '{%'")
            [(yields,)] = d.sql("SELECT count(*) FROM history WHERE frame = '' AND "
                                "events LIKE '{\"steps\":[\"n\"%'")
            if fmt == "events":
                self.assertEqual(logs, 0)
            else:
                self.assertGreater(logs, len(SAME))
                self.assertGreater(yields, 0, "long_loop yielded between advances")
        for name in SAME:
            self.assertEqual(got[("replay", name)], got[("events", name)], name)
        self.assertEqual(got[("replay", "choice_fail")][0], "FAILED")
        self.assertGreater(len(got[("replay", "parallel_map")][1]), 30)

    def test_format_is_kept_per_execution(self):
        """An execution started with history_format=events keeps it after a
        restart with replay (a replay log needs every step logged), and the
        other way round; both histories come back whole."""
        wait = {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.a", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Pass", "End": True}}}
        for first, then in (("events", "replay"), ("replay", "events")):
            d = self.daemon(history_format=first)
            d.request("PUT", "/state-machines/w", wait)
            _, _, b = d.request("POST", "/state-machines/w/executions", {"input": {"x": 1}})
            eid = b["executionId"]
            d.kill()
            d.opts["history_format"] = then
            d.start()
            desc = d.wait_ended(eid)
            self.assertEqual(desc["status"], "SUCCEEDED", desc)
            _, _, h = d.request("GET", f"/executions/{eid}/history")
            types = [e["type"] for e in h["events"]]
            self.assertEqual(types, ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                                     "WaitStateEntered", "WaitStateExited", "PassStateEntered",
                                     "PassStateExited", "ExecutionSucceeded"])
            self.assertEqual(h["events"][-1]["details"]["output"], {"x": 1, "a": {"a": 1}})
            kinds = {r[0] for r in d.sql(
                "SELECT substr(events, 1, 1) FROM history WHERE execution_id = ? AND frame = '' "
                "AND events NOT LIKE '%ExecutionSucceeded%'", eid)}
            self.assertEqual(kinds, {"[" if first == "events" else "{"})

    def test_replay_uses_the_version_it_ran(self):
        """Replacing a definition does not change the history of executions
        that ran an earlier version, also after a restart."""
        d = self.daemon()
        v1 = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a",
                                                "End": True}}}
        v2 = {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b",
                                                "Next": "C"}, "C": {"Type": "Succeed"}}}
        d.request("PUT", "/state-machines/versions", v1)
        _, _, desc = d.request("POST", "/state-machines/versions/executions?wait=5", {"input": {}})
        st, _, body = d.request("PUT", "/state-machines/versions", v2)
        self.assertEqual((st, body["version"]), (200, 2), body)
        self.assertEqual(d.stop(), 0)
        d.start()
        _, _, h = d.request("GET", f"/executions/{desc['executionId']}/history")
        self.assertEqual([(e["type"], e["details"].get("name")) for e in h["events"]],
                         [("ExecutionStarted", None), ("PassStateEntered", "A"),
                          ("PassStateExited", "A"), ("ExecutionSucceeded", None)])
        self.assertEqual(h["events"][-1]["details"]["output"], {"a": 1})

    def test_replay_across_kill9(self):
        d = self.daemon(payment_latency_ms=0, payment_failure_rate=0, handler_allow=ALLOW)
        eid, desc, evs = self.run_machine(d, kill_during_wait=True)
        self.check(d, eid, desc, evs)


if __name__ == "__main__":
    unittest.main()
