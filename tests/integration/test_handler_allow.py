"""handler_allow narrowed after a machine was registered: a real sagad is
restarted on the same database with a narrower list. New starts of a
version that uses a handler no longer granted are refused (REST and the
AWS JSON API), a running execution that reaches such a Task fails it with
sagad.HandlerNotAllowed (seen by its Catch) instead of running the handler,
start-up logs which stored machines lost a handler, and the machines that
keep their grants, and the order machine, run as before."""
import unittest

from harness import Daemon, DaemonTestCase

AMZ = "application/x-amz-json-1.0"
ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}


def release(catch=False, gate=False):
    """A machine whose Task "Release" runs sagad:stock.release (an order
    handler); with `gate` it first waits for an activity task, with `catch`
    it catches sagad.HandlerNotAllowed into $.caught."""
    task = {"Type": "Task", "Resource": "sagad:stock.release",
            "Parameters": {"orderId": "made-up"}, "End": True}
    if catch:
        task["Catch"] = [{"ErrorEquals": ["sagad.HandlerNotAllowed"], "ResultPath": "$.caught",
                          "Next": "Caught"}]
    states = {"Release": task, "Caught": {"Type": "Pass", "End": True}}
    if not catch:
        del states["Caught"]
    if gate:
        states["Gate"] = {"Type": "Task", "Resource": "sagad:activity:allow-gate",
                          "ResultPath": None, "Next": "Release"}
    return {"StartAt": "Gate" if gate else "Release", "States": states}


def in_branch():
    """release(gate=True) with Release inside a Parallel branch."""
    inner = release()
    return {"StartAt": "Gate", "States": {
        "Gate": {"Type": "Task", "Resource": "sagad:activity:allow-gate", "ResultPath": None,
                 "Next": "Both"},
        "Both": {"Type": "Parallel", "End": True, "Branches": [inner]}}}


def echo():
    return {"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "sagad:echo",
                                             "End": True}}}


class NarrowedAllow(DaemonTestCase):
    def restart(self, handler_allow):
        """Stops self.d (it must exit 0) and starts a sagad on its database
        with `handler_allow` instead: self.d is the new one."""
        old = self.d
        self.assertEqual(old.stop(), 0, old.stderr()[-4000:])
        self.d = Daemon(workdir=old.dir, **dict(old.opts, handler_allow=handler_allow))
        self._daemons.append(self.d)
        return self.d.start()

    def start(self, qualified, wait=10):
        return self.d.request("POST", "/state-machines/%s/executions?wait=%d" % (qualified, wait),
                              {"input": {}})

    def amz(self, action, body):
        return self.d.request("POST", "/", body,
                              headers={"X-Amz-Target": "AWSStepFunctions." + action,
                                       "Content-Type": AMZ})

    def gate(self):
        """Takes the allow-gate activity task and reports it done."""
        st, _, task = self.d.request("POST", "/activities/allow-gate/poll?wait=10",
                                     {"workerName": "test"}, timeout=20)
        self.assertEqual(st, 200, task)
        st, _, body = self.d.request("POST", "/tasks/success",
                                     {"taskToken": task["taskToken"], "output": {}})
        self.assertEqual(st, 200, body)

    def test_new_starts_are_refused_naming_the_handler_and_the_key(self):
        self.d = self.daemon(handler_allow="probe: stock.*; keep: stock.release",
                             payment_failure_rate=0)
        self.put("probe", echo())        # version 1: no order handler
        self.put("probe", release())     # version 2
        self.put("keep", release())
        self.restart("keep: stock.release")
        self.assertTrue(self.d.wait_log(r"probe.*stock\.release.*handler_allow"), self.d.stderr())
        self.assertNotRegex(self.d.stderr(), r"state machine keep\b.*handler_allow")

        st, _, body = self.start("probe")
        self.assertEqual((st, body["error"]), (409, "HandlerNotAllowed"), body)
        self.assertIn("stock.release", body["message"])
        self.assertIn("probe:stock.release", body["message"])
        self.assertIn("handler_allow", body["message"])
        st, _, body = self.start("probe:2")
        self.assertEqual((st, body["error"]), (409, "HandlerNotAllowed"), body)
        self.assertEqual(self.d.request("GET", "/executions?machine=probe")[2]["executions"], [])
        # The version without the handler, and a machine that keeps its grant, start.
        st, _, desc = self.start("probe:1")
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)
        st, _, desc = self.start("keep")
        self.assertEqual(st, 200, desc)
        self.assertNotEqual(desc.get("error"), "sagad.HandlerNotAllowed", desc)

        # Described and listed as before.
        st, _, m = self.d.request("GET", "/state-machines/probe")
        self.assertEqual((st, m["version"]), (200, 2), m)
        names = [x["name"] for x in self.d.request("GET", "/state-machines")[2]["stateMachines"]]
        self.assertIn("probe", names)

        arn = "arn:aws:states:local:000000000000:stateMachine:probe"
        for action in ("StartExecution", "StartSyncExecution"):
            st, h, body = self.amz(action, {"stateMachineArn": arn, "input": "{}"})
            self.assertEqual((st, body["__type"]), (400, "HandlerNotAllowed"), (action, body))
            self.assertEqual(h.get("x-amzn-errortype"), "HandlerNotAllowed")
            self.assertIn("probe:stock.release", body["message"])
            self.assertIn("handler_allow", body["message"])
        st, _, body = self.amz("StartExecution", {"stateMachineArn": arn + ":1"})
        self.assertEqual(st, 200, body)
        st, _, body = self.amz("DescribeStateMachine", {"stateMachineArn": arn})
        self.assertEqual((st, body["name"]), (200, "probe"), body)

        # The order machine owns the handlers: untouched by the list.
        st, _, desc = self.d.request("POST", "/order?wait=10", ORDER)
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)

    def test_a_running_execution_fails_the_task_instead_of_running_the_handler(self):
        self.d = self.daemon(handler_allow="caught: stock.release; plain: stock.release; "
                                           "branch: stock.*")
        self.put("caught", release(catch=True, gate=True))
        self.put("plain", release(gate=True))
        self.put("branch", in_branch())
        ids = {}
        for name in ("caught", "plain", "branch"):
            st, _, body = self.d.request("POST", "/state-machines/%s/executions" % name,
                                         {"input": {"n": 1}})
            self.assertEqual(st, 202, body)
            ids[name] = body["executionId"]
        self.restart("")
        self.assertTrue(self.d.wait_log(r"caught.*stock\.release.*handler_allow"), self.d.stderr())
        self.assertTrue(self.d.wait_log(r"plain.*stock\.release.*handler_allow"), self.d.stderr())
        for _ in ids:
            self.gate()

        desc = self.d.wait_ended(ids["caught"], timeout=30)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        caught = desc["output"]["caught"]
        self.assertEqual(caught["Error"], "sagad.HandlerNotAllowed", caught)
        self.assertIn("'stock.release'", caught["Cause"])
        self.assertIn("caught:stock.release", caught["Cause"])
        self.assertIn("handler_allow", caught["Cause"])

        desc = self.d.wait_ended(ids["plain"], timeout=30)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "sagad.HandlerNotAllowed"),
                         desc)
        st, _, h = self.d.request("GET", "/executions/%s/history" % ids["plain"])
        self.assertEqual(st, 200, h)
        types = [e["type"] for e in h["events"]]
        # Release's events, after the gate's: it failed without running.
        rel = h["events"][len(types) - 1 - types[::-1].index("TaskStateEntered"):]
        self.assertEqual(rel[0]["details"]["name"], "Release", rel[0])
        self.assertEqual([e["type"] for e in rel],
                         ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskFailed",
                          "ExecutionFailed"])
        self.assertEqual(rel[3]["details"]["error"], "sagad.HandlerNotAllowed", rel[3])
        self.assertIn("plain:stock.release", rel[3]["details"]["cause"])

        # A Task in a Parallel branch is checked as it is dispatched too.
        desc = self.d.wait_ended(ids["branch"], timeout=30)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "sagad.HandlerNotAllowed"),
                         desc)
        self.assertIn("branch:stock.release", desc["cause"])



if __name__ == "__main__":
    unittest.main()
