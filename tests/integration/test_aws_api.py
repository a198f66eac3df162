"""The Step Functions API (POST / with X-Amz-Target) driven by clients no one
here wrote: the AWS SDK for JavaScript v3 (tests/aws/sfn.mjs) and the AWS CLI
v2 (Debian's awscli), each with --endpoint-url at a real sagad and dummy
credentials; plus the protocol's edges over raw HTTP."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, Daemon, DaemonTestCase, free_port

AWS_DIR = os.path.join(ROOT, "tests", "aws")
REGION, ACCOUNT = "eu-west-3", "123456789012"
# Debian's awscli; a pip or pyenv `aws` earlier on PATH may be another version.
AWS_CLI = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
AMZ = "application/x-amz-json-1.0"


def arn(kind, *rest):
    return ":".join(["arn:aws:states", REGION, ACCOUNT, kind] + list(rest))


def amz(d, action, body, headers=None):
    """One raw JSON 1.0 call: (status, headers, parsed body)."""
    h = {"X-Amz-Target": "AWSStepFunctions." + action, "Content-Type": AMZ}
    h.update(headers or {})
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return d.request("POST", "/", text, headers=h)


class SdkForJavaScript(unittest.TestCase):
    """One run of sfn.mjs against one daemon; one test per scenario, each
    asserting the facts the scenario reported."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("node"):
            raise RuntimeError("node is not installed (scripts/deps.sh test installs nodejs)")
        if not os.path.isdir(os.path.join(AWS_DIR, "node_modules", "@aws-sdk", "client-sfn")):
            raise RuntimeError("@aws-sdk/client-sfn is not installed: run `make aws-deps` "
                               "(make test does)")
        cls.d = Daemon(aws_region=REGION, aws_account=ACCOUNT)
        cls.d.start()
        try:
            p = subprocess.run(["node", os.path.join(AWS_DIR, "sfn.mjs"),
                                "--endpoint", "http://127.0.0.1:%d" % cls.d.port,
                                "--region", REGION, "--account", ACCOUNT],
                               cwd=AWS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=300)
        except BaseException:
            cls._stop()
            raise
        cls.output = p.stdout.decode(errors="replace")
        cls.results = {}
        for ln in cls.output.splitlines():
            if ln.startswith("RESULT "):
                r = json.loads(ln[7:])
                cls.results[r["name"]] = r
        if p.returncode != 0 or "DONE " not in cls.output:
            cls._stop()
            raise RuntimeError("sfn.mjs exited %d:\n%s" % (p.returncode, cls.output[-4000:]))

    @classmethod
    def _stop(cls):
        try:
            code = cls.d.stop()
            report = cls.d.sanitizer_report()
        finally:
            cls.d.cleanup()
        return code, report

    @classmethod
    def tearDownClass(cls):
        code, report = cls._stop()
        if code not in (0, None) or report:
            raise AssertionError("sagad exited %s on SIGTERM; %s" % (code, report))

    def facts(self, name):
        r = self.results.get(name)
        self.assertIsNotNone(r, "sfn.mjs reported nothing for %s:\n%s" % (name, self.output[-3000:]))
        self.assertTrue(r["ok"], "%s: %s" % (name, r.get("error")))
        return r["facts"]

    def test_create_and_describe_a_machine(self):
        f = self.facts("create_describe")
        self.assertEqual(f["arn"], arn("stateMachine", "sdk-pass"))
        self.assertEqual((f["existsError"], f["existsStatus"]), ("StateMachineAlreadyExists", 400))

    def test_start_with_a_name_then_the_same_name_again(self):
        f = self.facts("start_named_twice")
        self.assertTrue(f["sameArn"], "same name and input while running: the same execution")
        self.assertEqual((f["otherInput"], f["otherStatus"]), ("ExecutionAlreadyExists", 400))
        self.assertEqual(f["afterClose"], "ExecutionAlreadyExists")

    def test_stop(self):
        f = self.facts("start_named_twice")
        self.assertEqual((f["stoppedStatus"], f["stoppedError"], f["stoppedCause"]),
                         ("ABORTED", "Ops.Cancelled", "test"))

    def test_describe_an_execution(self):
        f = self.facts("describe_execution")
        self.assertEqual(f["status"], "SUCCEEDED")
        self.assertEqual(f["output"], {"x": "y", "r": {"ok": 1}})
        self.assertEqual(f["stateMachineArn"], arn("stateMachine", "sdk-pass"))

    def test_list_executions_in_pages(self):
        f = self.facts("list_paging")
        self.assertEqual((f["count"], f["unique"], f["pages"]), (5, 5, 3))
        self.assertTrue(f["allListed"])
        self.assertEqual((f["succeeded"], f["running"]), (5, 0))

    def test_history(self):
        f = self.facts("history")
        self.assertEqual(f["types"], ["ExecutionStarted", "PassStateEntered", "PassStateExited",
                                      "ExecutionSucceeded"])
        self.assertEqual(f["pagedIds"], f["ids"])
        self.assertEqual(f["reversedTypes"], list(reversed(f["types"])))
        self.assertEqual(f["startedInput"], "{}")
        self.assertIsNone(f["noDataInput"], "includeExecutionData false leaves the input out")
        self.assertEqual(json.loads(f["exitedOutput"]), {"r": {"ok": 1}})

    def test_start_sync_execution(self):
        f = self.facts("sync_execution")
        self.assertEqual(f["status"], "SUCCEEDED")
        self.assertEqual(f["output"], {"n": 5, "r": {"ok": 1}})

    def test_activity_worker_loop(self):
        f = self.facts("activity_worker")
        self.assertEqual((f["status"], f["output"]), ("SUCCEEDED", {"charged": 42}))
        self.assertEqual(f["types"], ["ExecutionStarted", "TaskStateEntered", "ActivityScheduled",
                                      "ActivityStarted", "ActivitySucceeded", "TaskStateExited",
                                      "ExecutionSucceeded"])
        self.assertEqual(f["scheduled"]["resource"], arn("activity", "sdk-charge"))
        self.assertEqual(json.loads(f["scheduled"]["input"]), {"amount": 42})
        self.assertEqual(f["scheduled"]["heartbeatInSeconds"], 30)
        self.assertEqual(json.loads(f["succeededOutput"]), {"charged": 42})

    def test_send_task_failure_caught_by_catch(self):
        f = self.facts("failure_caught")
        self.assertEqual(f["status"], "SUCCEEDED")
        self.assertEqual(f["output"]["compensation"], "refunded")
        self.assertEqual(f["output"]["error"], {"Error": "Payment.Declined", "Cause": "card expired"})
        self.assertEqual(f["reportAgain"], "TaskDoesNotExist")
        self.assertEqual(f["badToken"], "InvalidToken")

    def test_versions_aliases_and_delete(self):
        f = self.facts("versions_aliases")
        self.assertEqual(f["versions"], ["2", "1"])
        self.assertEqual(f["aliasRunStatus"], "SUCCEEDED", "the alias named version 1 (Pass)")
        self.assertEqual(f["aliasNow"], "2")
        self.assertEqual(f["aliases"], 1)
        self.assertEqual(f["split"], "ValidationException")
        self.assertEqual(f["gone"], "ResourceNotFound")
        self.assertEqual(f["deleted"], "StateMachineDoesNotExist")
        self.assertEqual(f["stillDescribed"], "SUCCEEDED")
        # What the start named, as the SDK reads it: the alias and the
        # version it named then (the alias moved to 2 and is gone since).
        self.assertEqual(f["startedAlias"], arn("stateMachine", "sdk-ver", "live"))
        self.assertEqual(f["startedVersion"], arn("stateMachine", "sdk-ver", "1"))

    def test_errors_in_aws_shape(self):
        f = self.facts("errors")
        want = {"missingExec": "ExecutionDoesNotExist", "missingMachine": "StateMachineDoesNotExist",
                "badArn": "InvalidArn", "badInput": "InvalidExecutionInput",
                "badName": "InvalidName", "lambda": "InvalidDefinition"}
        for key, name in want.items():
            self.assertEqual((f[key]["name"], f[key]["status"]), (name, 400), key)
        # Every unsupported resource is named, with where it is.
        self.assertIn("arn:aws:states:::lambda:invoke", f["lambda"]["message"])
        self.assertIn("/States/L/Resource", f["lambda"]["message"])
        self.assertIn("arn:aws:states:::sqs:sendMessage.waitForTaskToken", f["lambda"]["message"])
        self.assertEqual((f["validate"]["result"], f["validate"]["ok"]), ("FAIL", "OK"))
        self.assertGreaterEqual(f["validate"]["diagnostics"], 1)


class AwsCli(DaemonTestCase):
    """The AWS CLI v2 from Debian, with --endpoint-url and dummy credentials."""

    def setUp(self):
        super().setUp()
        if not AWS_CLI:
            self.fail("the AWS CLI is not installed (scripts/deps.sh test installs awscli)")
        self.d = self.daemon(aws_region=REGION, aws_account=ACCOUNT, payment_failure_rate=0)
        self.home = tempfile.mkdtemp(prefix="sagad-awscli-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def aws(self, *args, ok=True):
        env = {"PATH": os.environ.get("PATH", ""), "HOME": self.home, "AWS_PAGER": "",
               "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-secret",
               "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.path.join(self.home, "none"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "none")}
        p = subprocess.run([AWS_CLI, "--endpoint-url", "http://127.0.0.1:%d" % self.d.port,
                            "--output", "json", "stepfunctions"] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        out, err = p.stdout.decode(), p.stderr.decode()
        if ok:
            self.assertEqual(p.returncode, 0, err)
            return json.loads(out) if out.strip() else {}
        self.assertNotEqual(p.returncode, 0, out)
        return err

    def create(self, name, definition):
        path = os.path.join(self.home, name + ".json")
        with open(path, "w") as f:
            json.dump(definition, f)
        r = self.aws("create-state-machine", "--name", name, "--definition", "file://" + path,
                     "--role-arn", "arn:aws:iam::%s:role/sfn" % ACCOUNT)
        self.assertEqual(r["stateMachineArn"], arn("stateMachine", name))
        return r["stateMachineArn"]

    def wait_end(self, execution_arn):
        deadline = time.time() + 15
        while True:
            d = self.aws("describe-execution", "--execution-arn", execution_arn)
            if d["status"] != "RUNNING" or time.time() > deadline:
                return d
            time.sleep(0.1)

    def test_machine_named_start_describe_list_history_stop(self):
        wait = self.create("cli-wait", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 120, "End": True}}})
        first = self.aws("start-execution", "--state-machine-arn", wait, "--name", "o-1",
                         "--input", '{"a": 1}')
        self.assertEqual(first["executionArn"], arn("execution", "cli-wait", "o-1"))
        # The CLI parses startDate (epoch seconds) and prints it as ISO 8601.
        self.assertRegex(first["startDate"], r"^\d{4}-\d\d-\d\dT")
        again = self.aws("start-execution", "--state-machine-arn", wait, "--name", "o-1",
                         "--input", '{"a":1}')
        self.assertEqual(again["executionArn"], first["executionArn"])
        err = self.aws("start-execution", "--state-machine-arn", wait, "--name", "o-1",
                       "--input", '{"a":2}', ok=False)
        self.assertIn("ExecutionAlreadyExists", err)
        for i in range(3):
            self.aws("start-execution", "--state-machine-arn", wait, "--name", "more-%d" % i)
        # --page-size 1 makes the CLI follow nextToken page by page.
        listed = self.aws("list-executions", "--state-machine-arn", wait, "--page-size", "1")
        self.assertEqual(sorted(e["name"] for e in listed["executions"]),
                         ["more-0", "more-1", "more-2", "o-1"])
        running = self.aws("list-executions", "--state-machine-arn", wait,
                           "--status-filter", "RUNNING")
        self.assertEqual(len(running["executions"]), 4)
        d = self.aws("describe-execution", "--execution-arn", first["executionArn"])
        self.assertEqual((d["status"], json.loads(d["input"])), ("RUNNING", {"a": 1}))
        stopped = self.aws("stop-execution", "--execution-arn", first["executionArn"],
                           "--error", "Ops.Cancelled", "--cause", "by the test")
        self.assertIn("stopDate", stopped)
        d = self.aws("describe-execution", "--execution-arn", first["executionArn"])
        self.assertEqual((d["status"], d["error"], d["cause"]),
                         ("ABORTED", "Ops.Cancelled", "by the test"))
        h = self.aws("get-execution-history", "--execution-arn", first["executionArn"],
                     "--page-size", "1")
        types = [e["type"] for e in h["events"]]
        self.assertEqual(types[0], "ExecutionStarted")
        self.assertEqual(types[-1], "ExecutionAborted")
        self.assertEqual([e["id"] for e in h["events"]], list(range(1, len(types) + 1)))
        rev = self.aws("get-execution-history", "--execution-arn", first["executionArn"],
                       "--reverse-order")
        self.assertEqual([e["type"] for e in rev["events"]], list(reversed(types)))

    def test_activity_worker_and_failure_caught(self):
        act = self.aws("create-activity", "--name", "cli-charge")["activityArn"]
        self.assertEqual(act, arn("activity", "cli-charge"))
        m = self.create("cli-charge", {"StartAt": "Charge", "States": {
            "Charge": {"Type": "Task", "Resource": "arn:aws:states:::activity:cli-charge",
                       "Catch": [{"ErrorEquals": ["Card.Declined"], "ResultPath": "$.why",
                                  "Next": "Refund"}], "End": True},
            "Refund": {"Type": "Pass", "Result": "refunded", "ResultPath": "$.compensation",
                       "End": True}}})
        ok = self.aws("start-execution", "--state-machine-arn", m, "--input", '{"amount": 3}')
        task = self.aws("get-activity-task", "--activity-arn", act, "--worker-name", "cli-worker")
        self.assertEqual(json.loads(task["input"]), {"amount": 3})
        self.aws("send-task-heartbeat", "--task-token", task["taskToken"])
        self.aws("send-task-success", "--task-token", task["taskToken"], "--task-output",
                 '{"charged": 3}')
        d = self.wait_end(ok["executionArn"])
        self.assertEqual((d["status"], json.loads(d["output"])), ("SUCCEEDED", {"charged": 3}))
        bad = self.aws("start-execution", "--state-machine-arn", m, "--input", '{"amount": 4}')
        task = self.aws("get-activity-task", "--activity-arn", act, "--worker-name", "cli-worker")
        self.aws("send-task-failure", "--task-token", task["taskToken"], "--error",
                 "Card.Declined", "--cause", "expired")
        d = self.wait_end(bad["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED")
        self.assertEqual(json.loads(d["output"]), {
            "amount": 4, "why": {"Error": "Card.Declined", "Cause": "expired"},
            "compensation": "refunded"})
        err = self.aws("send-task-success", "--task-token", task["taskToken"], "--task-output",
                       "{}", ok=False)
        self.assertIn("TaskDoesNotExist", err)
        listed = self.aws("list-activities")
        self.assertEqual([a["name"] for a in listed["activities"]], ["cli-charge"])

    def test_migration_walk_through(self):
        """docs/aws-compatibility.md's walk-through: the seed's order saga as
        exported from AWS (Lambda Tasks) is refused naming each Lambda Task
        and where it is; sagad's own order machine then runs through the
        same CLI calls."""
        with open(os.path.join(ROOT, "sagas", "order.asl.json")) as f:
            exported = json.load(f)
        tasks = []

        def to_lambda(states, where):
            for name, st in states.items():
                if st.get("Type") == "Task":
                    st["Resource"] = "arn:aws:states:::lambda:invoke"
                    tasks.append(where + name)
                for branch in st.get("Branches", []):
                    to_lambda(branch["States"], where)
        to_lambda(exported["States"], "")
        path = os.path.join(self.home, "exported.json")
        with open(path, "w") as f:
            json.dump(exported, f)
        # Debian's CLI (2.9) predates validate-state-machine-definition (the
        # SDK test runs it): creating answers the same list.
        err = self.aws("create-state-machine", "--name", "order-from-aws", "--definition",
                       "file://" + path, "--role-arn", "r", ok=False)
        self.assertIn("InvalidDefinition", err)
        self.assertEqual(err.count("'arn:aws:states:::lambda:invoke'"), len(tasks))
        for t in tasks:
            self.assertIn("/States/%s/Resource" % t, err)

        order = arn("stateMachine", "order")
        inp = json.dumps({"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura",
                          "surname": "Becker", "street": "Main Avenue 1", "zip": "12345",
                          "city": "Fancy Town"})
        started = self.aws("start-execution", "--state-machine-arn", order, "--name",
                           "order-4711", "--input", inp)
        d = self.wait_end(started["executionArn"])
        self.assertEqual(d["status"], "SUCCEEDED", d)
        err = self.aws("start-execution", "--state-machine-arn", order, "--name", "order-4711",
                       "--input", inp, ok=False)
        self.assertIn("ExecutionAlreadyExists", err)

    def test_delete_activity(self):
        act = self.aws("create-activity", "--name", "cli-gone")["activityArn"]
        self.assertEqual(self.aws("delete-activity", "--activity-arn", act), {})
        err = self.aws("describe-activity", "--activity-arn", act, ok=False)
        self.assertIn("ActivityDoesNotExist", err)
        names = [a["name"] for a in self.aws("list-activities")["activities"]]
        self.assertNotIn("cli-gone", names)
        # Gone after a restart too: its row was deleted.
        self.d.stop()
        self.d.start()
        err = self.aws("describe-activity", "--activity-arn", act, ok=False)
        self.assertIn("ActivityDoesNotExist", err)

    def test_errors(self):
        err = self.aws("describe-execution", "--execution-arn",
                       arn("execution", "nope", "x"), ok=False)
        self.assertIn("ExecutionDoesNotExist", err)
        err = self.aws("describe-state-machine", "--state-machine-arn", "arn:nope", ok=False)
        self.assertIn("InvalidArn", err)


class Protocol(DaemonTestCase):
    """The JSON 1.0 protocol's edges, over raw HTTP."""

    def setUp(self):
        super().setUp()
        self.d = self.daemon()

    def test_unknown_action_is_named(self):
        st, h, body = amz(self.d, "FrobnicateStateMachine", {})
        self.assertEqual(st, 400)
        self.assertEqual(body["__type"], "UnknownOperationException")
        self.assertIn("AWSStepFunctions.FrobnicateStateMachine", body["message"])
        self.assertEqual(h["content-type"], AMZ)

    def test_no_target(self):
        st, _, body = self.d.request("POST", "/", "{}", headers={"Content-Type": AMZ})
        self.assertEqual((st, body["__type"]), (400, "UnknownOperationException"))
        self.assertIn("X-Amz-Target", body["message"])

    def test_malformed_body(self):
        for text in ('{"name": ', "[1]", '{"a":1,"a":2}', "\xff"):
            st, _, body = amz(self.d, "CreateActivity", text.encode("latin-1"))
            self.assertEqual((st, body["__type"]), (400, "SerializationException"), text)
        st, _, body = amz(self.d, "CreateActivity", {"name": 5})
        self.assertEqual((st, body["__type"]), (400, "SerializationException"))
        self.assertIn("'name'", body["message"])
        st, _, body = amz(self.d, "CreateActivity", {})
        self.assertEqual((st, body["__type"]), (400, "ValidationException"))
        # The daemon keeps serving.
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)

    def test_unknown_members_are_ignored(self):
        st, _, body = amz(self.d, "CreateActivity", {"name": "a1", "tags": [], "newField": 1})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["activityArn"], "arn:aws:states:local:000000000000:activity:a1")
        self.assertIsInstance(body["creationDate"], float)

    def test_default_region_and_account(self):
        st, _, body = amz(self.d, "CreateStateMachine", {
            "name": "m", "roleArn": "r",
            "definition": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["stateMachineArn"], "arn:aws:states:local:000000000000:stateMachine:m")
        st, _, body = amz(self.d, "DescribeStateMachine", {
            "stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:m"})
        self.assertEqual((st, body["__type"]), (400, "StateMachineDoesNotExist"))
        self.assertIn("aws_region", body["message"])

    def test_both_apis_show_the_same_executions(self):
        self.put("echo1", json.dumps({"StartAt": "E", "States": {
            "E": {"Type": "Task", "Resource": "sagad:echo", "End": True}}}))
        st, _, body = amz(self.d, "StartExecution", {
            "stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:echo1",
            "input": '{"k": "v"}'})
        self.assertEqual(st, 200, body)
        exec_id = body["executionArn"].rsplit(":", 1)[1]
        rest = self.d.wait_ended(exec_id)
        self.assertEqual((rest["status"], rest["output"]), ("SUCCEEDED", {"k": "v"}))
        st, _, named = self.d.request("POST", "/state-machines/echo1/executions?wait=10",
                                      {"input": {"n": 1}, "name": "from-rest"})
        self.assertEqual(st, 200, named)
        st, _, body = amz(self.d, "DescribeExecution", {
            "executionArn": "arn:aws:states:local:000000000000:execution:echo1:from-rest"})
        self.assertEqual((st, body["status"], json.loads(body["output"])), (200, "SUCCEEDED", {"n": 1}))

    def test_http_invoke_resource_from_aws_runs(self):
        port = free_port()
        d = self.daemon(listen="127.0.0.1:%d" % port, http_task_allow="http://127.0.0.1:%d" % port,
                        database=os.path.join(self.d.dir, "second.db"))
        definition = {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
            "Parameters": {"ApiEndpoint": "http://127.0.0.1:%d/healthz" % port, "Method": "GET"},
            "ResultSelector": {"code.$": "$.StatusCode"}, "End": True}}}
        # As exported from AWS: an EventBridge connection sagad does not have.
        params = definition["States"]["Call"]["Parameters"]
        params["Authentication"] = {"ConnectionArn": "arn:aws:events:eu-west-3:1:connection/c"}
        st, _, body = amz(d, "CreateStateMachine", {"name": "call", "roleArn": "r",
                                                    "definition": json.dumps(definition)})
        self.assertEqual((st, body["__type"]), (400, "InvalidDefinition"))
        self.assertIn("/States/Call/Parameters", body["message"])
        self.assertIn("Authentication", body["message"])
        del params["Authentication"]
        st, _, body = amz(d, "CreateStateMachine", {"name": "call", "roleArn": "r",
                                                    "definition": json.dumps(definition)})
        self.assertEqual(st, 200, body)
        st, _, body = amz(d, "StartSyncExecution", {"stateMachineArn": body["stateMachineArn"]})
        self.assertEqual((st, body["status"]), (200, "SUCCEEDED"), body)
        self.assertEqual(json.loads(body["output"]), {"code": 200})

    def test_many_problems_are_counted(self):
        states = {"T%02d" % i: {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                "Next": "T%02d" % (i + 1)} for i in range(40)}
        states["T40"] = {"Type": "Succeed"}
        definition = json.dumps({"StartAt": "T00", "States": states})
        st, _, body = amz(self.d, "CreateStateMachine", {"name": "many", "roleArn": "r",
                                                         "definition": definition})
        self.assertEqual((st, body["__type"]), (400, "InvalidDefinition"))
        shown = body["message"].count("/Resource")
        self.assertGreater(shown, 5)
        self.assertIn(", and %d more (ValidateStateMachineDefinition lists them all)'" % (40 - shown),
                      body["message"])
        st, _, body = amz(self.d, "ValidateStateMachineDefinition", {"definition": definition})
        self.assertEqual((st, body["result"], len(body["diagnostics"])), (200, "FAIL", 40))

    def test_redrive(self):
        """RedriveExecution runs a failed execution again from the state it
        failed in (here a Fail state: it fails again), answers redriveDate,
        and DescribeExecution counts it; a succeeded one is refused saying
        why, and nothing changes."""
        self.put("fails", json.dumps({"StartAt": "F", "States": {
            "F": {"Type": "Fail", "Error": "Boom", "Cause": "always"}}}))
        ended = self.run_to_end("fails", {})
        self.assertEqual(ended["status"], "FAILED")
        execution = "arn:aws:states:local:000000000000:execution:fails:" + ended["executionId"]
        st, _, body = amz(self.d, "DescribeExecution", {"executionArn": execution})
        self.assertEqual((st, body["redriveCount"]), (200, 0))
        self.assertNotIn("redriveDate", body)
        st, _, body = amz(self.d, "RedriveExecution", {"executionArn": execution})
        self.assertEqual(st, 200, body)
        self.assertIsInstance(body["redriveDate"], (int, float))
        self.d.wait_ended(ended["executionId"])
        st, _, body = amz(self.d, "DescribeExecution", {"executionArn": execution})
        self.assertEqual((st, body["status"], body["error"], body["redriveCount"]),
                         (200, "FAILED", "Boom", 1))
        self.put("works", json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass",
                                                                        "End": True}}}))
        ok = self.run_to_end("works", {})
        arn = "arn:aws:states:local:000000000000:execution:works:" + ok["executionId"]
        st, _, body = amz(self.d, "RedriveExecution", {"executionArn": arn})
        self.assertEqual((st, body["__type"]), (400, "ExecutionNotRedrivable"))
        self.assertIn("succeeded", body["message"])
        st, _, body = amz(self.d, "RedriveExecution", {
            "executionArn": "arn:aws:states:local:000000000000:execution:fails:nope"})
        self.assertEqual((st, body["__type"]), (400, "ExecutionDoesNotExist"))

    def test_describe_and_list_name_the_version_and_alias_a_start_used(self):
        """As AWS: stateMachineVersionArn when the start named a version or
        an alias, stateMachineAliasArn when it named an alias, neither for
        an unqualified start; the same on ListExecutions' items and in the
        ExecutionStarted event. A REST start of NAME:ALIAS shows the same."""
        pass_def = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        self.put("dual", json.dumps(pass_def))
        self.put("dual", json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass",
                                                                       "End": True}}}))
        st, _, body = self.d.request("PUT", "/state-machines/dual/aliases/live", {"version": 1})
        self.assertEqual(st, 201, body)
        machine = "arn:aws:states:local:000000000000:stateMachine:dual"
        started = {}
        for qualifier in ("", ":2", ":live"):
            st, _, body = amz(self.d, "StartExecution", {"stateMachineArn": machine + qualifier,
                                                         "input": "{}"})
            self.assertEqual(st, 200, body)
            started[qualifier] = body["executionArn"]
        st, _, rest = self.d.request("POST", "/state-machines/dual:live/executions?wait=10",
                                     {"input": {}})
        self.assertEqual(st, 200, rest)
        started["rest:live"] = ("arn:aws:states:local:000000000000:execution:dual:"
                                + rest["executionId"])
        want = {"": (None, None), ":2": (machine + ":2", None),
                ":live": (machine + ":1", machine + ":live"),
                "rest:live": (machine + ":1", machine + ":live")}
        for key, execution in started.items():
            self.d.wait_ended(execution.rsplit(":", 1)[1])
            st, _, body = amz(self.d, "DescribeExecution", {"executionArn": execution})
            self.assertEqual(st, 200, body)
            self.assertEqual((body.get("stateMachineVersionArn"), body.get("stateMachineAliasArn"),
                              body["stateMachineArn"]), want[key] + (machine,), (key, body))
        st, _, body = amz(self.d, "ListExecutions", {"stateMachineArn": machine})
        self.assertEqual(st, 200, body)
        listed = {e["executionArn"]: (e.get("stateMachineVersionArn"), e.get("stateMachineAliasArn"))
                  for e in body["executions"]}
        self.assertEqual(listed, {started[k]: want[k] for k in started})
        # A version or alias ARN lists the executions associated with it:
        # started naming the version (an alias start names its version too),
        # or through the alias.
        for qualifier, keys in ((":2", {":2"}), (":1", {":live", "rest:live"}),
                                (":live", {":live", "rest:live"})):
            st, _, body = amz(self.d, "ListExecutions", {"stateMachineArn": machine + qualifier})
            self.assertEqual(st, 200, body)
            self.assertEqual({e["executionArn"] for e in body["executions"]},
                             {started[k] for k in keys}, qualifier)
        # The ExecutionStarted event says the same, as in AWS.
        for key, execution in started.items():
            st, _, body = amz(self.d, "GetExecutionHistory", {"executionArn": execution})
            self.assertEqual(st, 200, body)
            first = body["events"][0]
            self.assertEqual(first["type"], "ExecutionStarted")
            details = first["executionStartedEventDetails"]
            self.assertEqual((details.get("stateMachineVersionArn"),
                              details.get("stateMachineAliasArn")), want[key], (key, details))


class WithAuth(DaemonTestCase):
    """auth_tokens_file in force: the REST API takes bearer tokens; the AWS
    API refuses a request it cannot verify, in AWS's shape."""

    def test_signed_requests_are_refused_in_aws_shape(self):
        d = Daemon()
        self._daemons.append(d)
        path = os.path.join(d.dir, "tokens")
        with open(path, "w") as f:
            f.write("ops admin sha256:%s\n" % hashlib.sha256(b"ops-secret").hexdigest())
        d.opts["auth_tokens_file"] = path
        d.start()
        st, _, body = amz(d, "ListStateMachines", {}, headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/local/states/"
                             "aws4_request, SignedHeaders=host, Signature=00"})
        # Refused in AWS's shape, whichever of AWS's auth errors fits.
        self.assertIn(st, (400, 403))
        self.assertIn(body["__type"], ("AccessDeniedException", "UnrecognizedClientException",
                                       "InvalidSignatureException", "IncompleteSignatureException"))
        self.assertIn("ListStateMachines", body["message"])
        st, _, _ = d.request("GET", "/state-machines", headers={"Authorization": "Bearer ops-secret"})
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
