"""sagactl's side of activities and task tokens against a real sagad:
`sagactl worker` serving an activity with a shell command (outputs, exit
codes and signals as Catch-able errors, heartbeats, a clean stop), `sagactl
task success|failure|heartbeat` with their exit codes, `sagactl activities`,
and the example workers of docs/workers.md (examples/workers/) serving
executions."""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, DaemonTestCase, binary, free_port  # noqa: E402

EXAMPLES = os.path.join(ROOT, "examples", "workers")
WORKERS_MD = os.path.join(ROOT, "docs", "workers.md")


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def activity_machine(activity, extra=None, catch=None):
    """One activity Task; with `catch` (error names) a Catch that puts the
    error in $.err and succeeds."""
    task = {"Type": "Task", "Resource": f"sagad:activity:{activity}", "End": True}
    task.update(extra or {})
    states = {"Work": task}
    if catch:
        task["Catch"] = [{"ErrorEquals": catch, "ResultPath": "$.err", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Work", "States": states}


class WorkerCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon()
        self.url = f"http://127.0.0.1:{self.d.port}"
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        super().tearDown()

    def ctl(self, *args, input=None, url=None):
        p = subprocess.run([binary("sagactl"), "--url", url or self.url, *args], input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def spawn(self, argv, env=None):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=dict(os.environ, **(env or {})))
        self.procs.append(p)
        return p

    def worker(self, activity, *opts, command):
        # --poll 2: a stop waits for the current poll, keep that short.
        return self.spawn([binary("sagactl"), "--url", self.url, "worker", activity, "--poll", "2",
                           *opts, "--", *command])

    def start(self, name, inp):
        st, _, body = self.d.request("POST", f"/state-machines/{name}/executions", {"input": inp})
        self.assertIn(st, (200, 201, 202), body)
        return body["executionId"]

    def ended(self, eid, timeout=30):
        desc = self.d.wait_ended(eid, timeout)
        self.assertNotEqual(desc["status"], "RUNNING", f"{eid} still running")
        return desc

    def wait_running(self, activity, timeout=10):
        """Until a worker has taken a task of `activity`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, _, lst = self.d.request("GET", "/activities")
            if any(a["name"] == activity and a["tasksRunning"] == 1 for a in lst["activities"]):
                return
            time.sleep(0.05)
        self.fail(f"no worker took the task of {activity}")

    def stop_worker(self, p, timeout=40):
        """SIGTERM, then the exit status and stderr."""
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=timeout)
        return p.returncode, err.decode()


class SagactlWorkerTest(WorkerCase):
    def test_shell_command_serves_an_activity(self):
        """Each task's input reaches the command on stdin and its stdout is
        the execution's output; two slots show up as two workers."""
        self.put("echoer", activity_machine("echoer"))
        p = self.worker("echoer", "--name", "sh-worker", "--concurrency", "2",
                        command=["sh", "-c", 'read -r x; printf \'{"got": %s, "by": "%s"}\' '
                                             '"$x" "$SAGAD_WORKER"'])
        ids = [self.start("echoer", {"n": i}) for i in range(6)]
        bys = set()
        for i, eid in enumerate(ids):
            desc = self.ended(eid)
            self.assertEqual(desc["status"], "SUCCEEDED", desc)
            self.assertEqual(desc["output"]["got"], {"n": i})
            bys.add(desc["output"]["by"])
        self.assertLessEqual(bys, {"sh-worker#1", "sh-worker#2"})
        _, _, lst = self.d.request("GET", "/activities")
        workers = {w["name"] for a in lst["activities"] if a["name"] == "echoer" for w in a["workers"]}
        self.assertEqual(workers, {"sh-worker#1", "sh-worker#2"})
        code, err = self.stop_worker(p)
        self.assertEqual(code, 0, err)

    def test_failures_reach_retry_and_catch(self):
        """A non-zero exit is Worker.ExitCode.N with the end of stderr as the
        cause, a signal Worker.Signal.N, stdout that is not JSON
        Worker.InvalidOutput; Catch sees each."""
        self.put("failing", activity_machine("failing", catch=["Worker.ExitCode.3"]))
        self.put("killed", activity_machine("killed"))
        self.put("garbled", activity_machine("garbled"))
        noise = "x" * 3000
        workers = [
            self.worker("failing", command=["sh", "-c", f"echo {noise} >&2; echo 'card declined' >&2; exit 3"]),
            self.worker("killed", command=["sh", "-c", "kill -9 $$"]),
            self.worker("garbled", command=["echo", "this is not JSON"]),
        ]
        desc = self.ended(self.start("failing", {"order": 1}))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"]["order"], 1)
        self.assertEqual(desc["output"]["err"]["Error"], "Worker.ExitCode.3")
        cause = desc["output"]["err"]["Cause"]
        self.assertTrue(cause.endswith("card declined\n"), cause)
        self.assertLessEqual(len(cause.encode()), 1024)
        desc = self.ended(self.start("killed", {}))
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "Worker.Signal.9"))
        desc = self.ended(self.start("garbled", {}))
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "Worker.InvalidOutput"))
        self.assertIn("this is not JSON", desc["cause"])
        for p in workers:
            self.assertEqual(self.stop_worker(p)[0], 0)

    def test_heartbeats_keep_a_long_task_alive(self):
        """HeartbeatSeconds 2 and a 5 s command: --heartbeat 1 keeps it alive;
        without heartbeats the attempt times out and the late report is
        refused (--once then exits 1)."""
        slow = ["sh", "-c", 'sleep 5; echo \'{"slow": true}\'']
        self.put("slow", activity_machine("slow", {"HeartbeatSeconds": 2}))
        p = self.worker("slow", "--heartbeat", "1", "--once", command=slow)
        desc = self.ended(self.start("slow", {}))
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"slow": True}), desc)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err.decode())

        p = self.worker("slow", "--heartbeat", "0", "--once", command=slow)
        desc = self.ended(self.start("slow", {}))
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.HeartbeatTimeout"))
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, err.decode())
        self.assertIn("TaskDoesNotExist", err.decode())

    def test_stop_signal_finishes_the_current_task(self):
        self.put("stopper", activity_machine("stopper"))
        p = self.worker("stopper", command=["sh", "-c", 'sleep 2; echo \'"finished"\''])
        eid = self.start("stopper", {})
        self.wait_running("stopper")
        code, err = self.stop_worker(p)
        self.assertEqual(code, 0, err)
        self.assertIn("stopping after the current poll and task", err)
        desc = self.ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", "finished"))

    def test_second_stop_signal_quits_at_once(self):
        """The second SIGTERM does not wait for the task: exit 1 at once, the
        command killed, nothing reported (the task stays the daemon's)."""
        self.put("forever", activity_machine("forever"))
        marker = os.path.join(self.d.dir, "command-pid")
        p = self.worker("forever", command=["sh", "-c", f'echo $$ > {marker}; exec sleep 60'])
        eid = self.start("forever", {})
        self.wait_running("forever")
        # Taken is not yet started: signal once the command runs.
        deadline = time.time() + 10
        pid = None
        while pid is None and time.time() < deadline:
            try:
                with open(marker) as f:
                    pid = int(f.read())
            except (OSError, ValueError):
                time.sleep(0.02)
        self.assertIsNotNone(pid, "the command did not start")
        p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(p.returncode, 1, err.decode())
        deadline = time.time() + 5
        while time.time() < deadline and alive(pid):
            time.sleep(0.05)
        self.assertFalse(alive(pid), "the command survived")
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["status"], "RUNNING")

    def test_worker_rides_out_a_daemon_crash(self):
        """kill -9 of sagad while the command runs: the worker retries its
        report and its polls until sagad is back; the task completes once."""
        d = self.daemon(listen=f"127.0.0.1:{free_port()}")
        self.d, self.url = d, f"http://127.0.0.1:{d.port}"
        self.put("crashy", activity_machine("crashy"))
        p = self.worker("crashy", command=["sh", "-c", 'read -r x; sleep 3; printf "%s" "$x"'])
        eid = self.start("crashy", {"survives": True})
        self.wait_running("crashy")
        d.kill()
        time.sleep(0.5)
        d.start()
        desc = self.ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"survives": True}))
        _, _, hist = d.request("GET", f"/executions/{eid}/history")
        self.assertEqual([e["type"] for e in hist["events"]].count("TaskSucceeded"), 1)
        # And it goes on serving.
        desc = self.ended(self.start("crashy", {"next": 1}))
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"next": 1}))
        code, err = self.stop_worker(p)
        self.assertEqual(code, 0, err)

    def test_usage_errors(self):
        self.assertEqual(self.ctl("worker", "a")[0], 2)
        self.assertEqual(self.ctl("worker", "a", "--", "/no/such/program")[0], 2)
        self.assertEqual(self.ctl("worker", "a", "--concurrency", "0", "--", "true")[0], 2)
        self.assertEqual(self.ctl("worker", "bad name!", "--", "true")[0], 2)
        self.assertEqual(self.ctl("worker", "a", "--", "true", url="http://127.0.0.1:1")[0], 3)


class SagactlTaskTest(WorkerCase):
    CALLBACK = {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "sagad:echo.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}}

    def token_of(self, eid):
        deadline = time.time() + 10
        while time.time() < deadline:
            _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
            for e in hist.get("events", []):
                tok = e.get("details", {}).get("parameters", {}).get("token")
                if e.get("type") == "TaskScheduled" and tok:
                    # The wait is armed once the token shows in /metrics.
                    _, _, text = self.d.request("GET", "/metrics")
                    if re.search(r"^sagad_task_tokens_waiting [1-9]", text, re.M):
                        return tok
            time.sleep(0.05)
        self.fail(f"no token for {eid}")

    def test_success_heartbeat_and_exit_codes(self):
        self.put("cb", self.CALLBACK)
        eid = self.start("cb", {})
        tok = self.token_of(eid)
        code, out, err = self.ctl("task", "heartbeat", tok)
        self.assertEqual(code, 0, err)
        self.assertIn("heartbeat sent", out)
        code, out, err = self.ctl("task", "success", tok, "-", input=b'{"paid": 42}')
        self.assertEqual(code, 0, err)
        desc = self.ended(eid)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"paid": 42}))
        # The same token again: TaskDoesNotExist, exit 1, nothing changes.
        code, _, err = self.ctl("task", "success", tok, '{"paid": 1}')
        self.assertEqual(code, 1)
        self.assertIn("TaskDoesNotExist", err)
        self.assertEqual(self.ctl("task", "heartbeat", tok)[0], 1)
        self.assertEqual(self.d.request("GET", f"/executions/{eid}")[2]["output"], {"paid": 42})
        # Malformed token (400 InvalidToken) and bad OUTPUT: usage, exit 2.
        code, _, err = self.ctl("task", "success", "not-a-token", "{}")
        self.assertEqual(code, 2)
        self.assertIn("InvalidToken", err)
        self.assertEqual(self.ctl("task", "success", tok, "{nope")[0], 2)
        self.assertEqual(self.ctl("task", "bogus", tok)[0], 2)
        self.assertEqual(self.ctl("task", "heartbeat", tok, url="http://127.0.0.1:1")[0], 3)

    def test_failure_with_error_and_cause(self):
        self.put("cb", self.CALLBACK)
        eid = self.start("cb", {})
        tok = self.token_of(eid)
        code, out, err = self.ctl("task", "failure", tok, "--error", "Payment.Declined",
                                  "--cause", "card expired", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), {})
        desc = self.ended(eid)
        self.assertEqual((desc["status"], desc["error"], desc["cause"]),
                         ("FAILED", "Payment.Declined", "card expired"))

    def test_activities_lists_and_creates(self):
        code, out, err = self.ctl("activities")
        self.assertEqual((code, out), (0, ""))
        self.assertIn("no activities", err)
        code, out, err = self.ctl("activities", "create", "shipping")
        self.assertEqual(code, 0, err)
        self.assertIn("activity shipping", out)
        self.put("ship", activity_machine("shipping"))
        self.start("ship", {})
        self.start("ship", {})
        st, _, task = self.d.request("POST", "/activities/shipping/poll?wait=5", {"workerName": "w-7"})
        self.assertEqual(st, 200)
        deadline = time.time() + 10
        while time.time() < deadline:   # until the second task is queued
            _, _, lst = self.d.request("GET", "/activities")
            if lst["activities"][0]["tasksWaiting"] == 1:
                break
            time.sleep(0.05)
        code, out, err = self.ctl("activities")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "WAITING", "RUNNING", "POLLS", "WORKERS"])
        self.assertEqual(lines[1].split()[:5], ["shipping", "1", "1", "0", "w-7"])
        code, out, _ = self.ctl("activities", "--json")
        a = json.loads(out)["activities"][0]
        self.assertEqual((a["name"], a["tasksWaiting"], a["tasksRunning"]), ("shipping", 1, 1))
        self.assertEqual(self.ctl("activities", "create", "bad name!")[0], 2)


class ExampleWorkersTest(WorkerCase):
    """The workers docs/workers.md shows, run as users run them."""

    def test_python_example_serves_an_activity(self):
        self.put("greet", activity_machine("greet", {"HeartbeatSeconds": 2},
                                           catch=["Greeting.NoName"]))
        p = self.spawn([sys.executable, os.path.join(EXAMPLES, "worker.py"), "--url", self.url,
                        "--name", "py-1", "--heartbeat", "1", "--poll", "2", "greet"])
        names = ["Ada", "Grace", "Barbara"]
        ids = [self.start("greet", {"name": n}) for n in names]
        slow = self.start("greet", {"name": "Edsger", "seconds": 4})   # lives on heartbeats
        nameless = self.start("greet", {})
        for n, eid in zip(names, ids):
            desc = self.ended(eid)
            self.assertEqual((desc["status"], desc["output"]),
                             ("SUCCEEDED", {"greeting": f"Hello, {n}!"}))
        desc = self.ended(slow)
        self.assertEqual((desc["status"], desc["output"]),
                         ("SUCCEEDED", {"greeting": "Hello, Edsger!"}), desc)
        desc = self.ended(nameless)
        self.assertEqual(desc["output"]["err"]["Error"], "Greeting.NoName")
        code, err = self.stop_worker(p)
        self.assertEqual(code, 0, err)

    def test_shell_example_serves_an_activity(self):
        self.put("words", activity_machine("words"))
        p = self.spawn(["sh", os.path.join(EXAMPLES, "worker.sh"), "words"],
                       env={"SAGAD_URL": self.url, "POLL_SECONDS": "2"})
        one = self.start("words", {"text": "the quick  brown fox"})
        bad = self.start("words", {"text": 7})
        desc = self.ended(one)
        self.assertEqual((desc["status"], desc["output"]), ("SUCCEEDED", {"words": 4}))
        desc = self.ended(bad)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "WordCount.NoText"))
        code, err = self.stop_worker(p)
        self.assertEqual(code, 0, err)

    def test_workers_md_shows_the_examples_as_they_are(self):
        with open(WORKERS_MD) as f:
            doc = f.read()
        for name in ("worker.py", "worker.sh"):
            with open(os.path.join(EXAMPLES, name)) as f:
                self.assertIn(f.read(), doc, f"docs/workers.md must show examples/workers/{name}")
