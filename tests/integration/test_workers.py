"""Activity workers as separate processes, the way users run them: 200
executions served by 4 Python workers (standard library only), and a worker
killed with kill -9 in the middle of a task whose HeartbeatSeconds then hands
the next attempt to another worker."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import DaemonTestCase, is_asan  # noqa: E402

# A minimal worker: long-polls, heartbeats while it "works", reports. With
# HANG set it takes one task and then works forever without heartbeats (the
# process the test kills).
WORKER = r'''
import json, os, sys, time, urllib.request
base, activity, name = sys.argv[1], sys.argv[2], sys.argv[3]
hang = os.environ.get("HANG") == "1"
log = open(sys.argv[4], "a", buffering=1)

def call(path, body, timeout=30):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        data = r.read()
        return r.status, (json.loads(data) if data else None)

while True:
    try:
        st, task = call(f"/activities/{activity}/poll?wait=5", {"workerName": name}, 10)
    except Exception:
        time.sleep(0.1)
        continue
    if st != 200:
        continue
    log.write(json.dumps({"worker": name, "token": task["taskToken"],
                          "input": task["input"]}) + "\n")
    if hang:
        time.sleep(3600)
    time.sleep(0.005)
    call("/tasks/heartbeat", {"taskToken": task["taskToken"]})
    out = {"n": task["input"]["n"], "by": name, "square": task["input"]["n"] ** 2}
    try:
        call("/tasks/success", {"taskToken": task["taskToken"], "output": out})
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
'''


class WorkersTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon()
        self.dir = tempfile.mkdtemp(prefix="sagad-workers-")
        self.script = os.path.join(self.dir, "worker.py")
        with open(self.script, "w") as f:
            f.write(WORKER)
        self.log = os.path.join(self.dir, "deliveries.log")
        self.procs = []
        st, _, _ = self.d.request("PUT", "/activities/square")
        self.assertEqual(st, 200)
        st, _, body = self.d.request("PUT", "/state-machines/squares", {
            "StartAt": "Square",
            "States": {"Square": {
                "Type": "Task", "Resource": "sagad:activity:square",
                "HeartbeatSeconds": 2,
                "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"],
                           "IntervalSeconds": 1, "MaxAttempts": 3}],
                "End": True}}})
        self.assertIn(st, (200, 201), body)

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    def worker(self, name, hang=False):
        env = dict(os.environ, HANG="1" if hang else "0")
        p = subprocess.Popen([sys.executable, self.script, f"http://127.0.0.1:{self.d.port}",
                              "square", name, self.log], env=env)
        self.procs.append(p)
        return p

    def deliveries(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def start_all(self, n):
        ids = []
        for i in range(n):
            st, _, body = self.d.request("POST", "/state-machines/squares/executions",
                                         {"input": {"n": i}, "name": f"sq-{i}"})
            self.assertIn(st, (200, 201, 202), body)
            ids.append(body["executionId"])
        return ids

    def test_200_executions_4_workers_one_killed_mid_task(self):
        # The doomed worker starts first and alone, so it surely takes a task.
        doomed = self.worker("doomed", hang=True)
        ids = self.start_all(200)
        deadline = time.time() + 10
        while not self.deliveries() and time.time() < deadline:
            time.sleep(0.05)
        taken = self.deliveries()
        self.assertEqual([x["worker"] for x in taken], ["doomed"])
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        for i in range(4):
            self.worker(f"w{i}")
        limit = 120 if is_asan() else 60
        deadline = time.time() + limit
        pending = list(ids)
        while pending and time.time() < deadline:
            _, _, desc = self.d.request("GET", f"/executions/{pending[0]}")
            if desc["status"] == "RUNNING":
                time.sleep(0.1)
                continue
            pending.pop(0)
        self.assertEqual(pending, [], "executions still running")
        workers_seen = set()
        for i, eid in enumerate(ids):
            desc = self.d.request("GET", f"/executions/{eid}")[2]
            self.assertEqual(desc["status"], "SUCCEEDED", desc)
            self.assertEqual(desc["output"]["n"], i)
            self.assertEqual(desc["output"]["square"], i * i)
            workers_seen.add(desc["output"]["by"])
        self.assertNotIn("doomed", workers_seen)
        self.assertGreaterEqual(len(workers_seen), 2)
        # The killed worker's task failed its heartbeat and was retried by
        # another worker, with a new token.
        victim = taken[0]
        eid = ids[victim["input"]["n"]]
        _, _, hist = self.d.request("GET", f"/executions/{eid}/history")
        errors = [e["details"].get("error") for e in hist["events"]
                  if e["type"] in ("TaskFailed", "TaskTimedOut")]
        self.assertEqual(errors, ["States.HeartbeatTimeout"])
        again = [x for x in self.deliveries() if x["input"]["n"] == victim["input"]["n"]]
        self.assertEqual(len(again), 2)
        self.assertNotEqual(again[0]["token"], again[1]["token"])
        _, _, lst = self.d.request("GET", "/activities")
        a = lst["activities"][0]
        self.assertEqual((a["tasksWaiting"], a["tasksRunning"]), (0, 0))
        self.assertGreaterEqual(len(a["workers"]), 4)


if __name__ == "__main__":
    unittest.main()
