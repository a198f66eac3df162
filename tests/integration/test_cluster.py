"""Several sagad nodes on one PostgreSQL 15 database (a throwaway cluster):
orders flow into three nodes, one is killed with kill -9, and the survivors
take over its executions once its lease expires. Afterwards every
acknowledged start has ended, stock moved exactly by the processed orders,
each execution has one order event, and a Wait started on the killed node
ended about lease_ms after the kill, once. Also: a node that cannot renew
its lease commits nothing more, and /healthz shows the node."""
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import unittest

import pg
from harness import Daemon

LEASE_MS = 2000
STOCK = 100000
WAIT1 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "S"},
                                    "S": {"Type": "Succeed"}}}


def order(q):
    return {"itemId": "coffee-beans", "quantity": q, "firstname": "F", "surname": "S",
            "street": "St", "zip": "1", "city": "C"}


class Failover(pg.ClusterTestCase):
    def sql(self, query):
        return self.cluster.psql(query)

    def node(self, name, **opts):
        return self.daemon(database=self.cluster.uri(), node_id=name, lease_ms=LEASE_MS,
                           payment_latency_ms=150, payment_failure_rate=0.2, **opts)

    def post_order(self, d, key, body, deadline):
        while time.time() < deadline and d.proc is not None:
            try:
                c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
                c.request("POST", "/order", json.dumps(body),
                          {"Content-Type": "application/json", "Idempotency-Key": key})
                r = c.getresponse()
                data = r.read()
                c.close()
                if r.status in (200, 202):
                    return json.loads(data)["executionId"]
                if r.status >= 500:
                    time.sleep(0.05)
                    continue
                self.fail(f"unexpected {r.status}: {data!r}")
            except (OSError, http.client.HTTPException):
                return None   # that node is gone: the client tries another
        return None

    def test_kill9_of_one_node_of_three_loses_nothing_and_repeats_nothing(self):
        nodes = [self.node(f"n{i}") for i in (1, 2, 3)]
        n1, n2, n3 = nodes
        st, _, _ = n1.request("PUT", "/stock/coffee-beans", {"quantity": STOCK})
        self.assertEqual(st, 200)
        self.put("w", WAIT1, d=n1)
        self.assertEqual(self.sql("SELECT string_agg(node_id, ',' ORDER BY node_id) FROM nodes"),
                         "n1,n2,n3")

        acked = {}
        lock = threading.Lock()
        stop = threading.Event()
        deadline = time.time() + 90

        def client(k):
            i = 0
            while not stop.is_set():
                i += 1
                key = f"c{k}-{i}"
                q = 1 + i % 3
                for attempt in range(3):
                    # Round robin over the nodes; a dead one sends us on.
                    d = nodes[(k + i + attempt) % 3]
                    if d.proc is None:
                        continue
                    eid = self.post_order(d, key, order(q), deadline)
                    if eid:
                        with lock:
                            acked[key] = (eid, q)
                        break
                time.sleep(0.01)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        # A Wait on the node about to die, then kill -9 while orders run.
        st, _, body = n3.request("POST", "/state-machines/w/executions", {"input": {}})
        self.assertIn(st, (200, 201, 202), body)
        wait_id = body["executionId"]
        n3_running = int(self.sql("SELECT count(*) FROM executions WHERE owner = 'n3' "
                                  "AND status = 'RUNNING'"))
        n3.kill()
        killed_at = time.time()
        # The Wait ends on a survivor about lease_ms after the kill.
        ended = None
        while time.time() < killed_at + LEASE_MS / 1000 + 10:
            _, _, desc = n1.request("GET", f"/executions/{wait_id}")
            if desc.get("status") != "RUNNING":
                ended = time.time() - killed_at
                break
            time.sleep(0.05)
        self.assertEqual(desc.get("status"), "SUCCEEDED", desc)
        self.assertGreater(ended, LEASE_MS / 1000 * 0.8, "not before the lease ran out")
        self.assertLess(ended, LEASE_MS / 1000 + 3.0, "about lease_ms after the kill")
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(60)
        print(f"acknowledged {len(acked)}; n3 held {n3_running} running at the kill; "
              f"the Wait ended {ended:.2f} s after it")
        self.assertGreater(n3_running, 0, "the kill hit executions in flight")

        # Every acknowledged start ends without further help.
        wait_deadline = time.time() + 60
        while time.time() < wait_deadline:
            if self.sql("SELECT count(*) FROM executions WHERE status = 'RUNNING'") == "0":
                break
            time.sleep(0.2)
        self.assertEqual(self.sql("SELECT count(*) FROM executions WHERE status = 'RUNNING'"), "0")
        ids = {eid for eid, _ in acked.values()}
        rows = dict(line.split("|") for line in
                    self.sql("SELECT id, status FROM executions").splitlines())
        for eid in ids:
            self.assertIn(rows.get(eid), ("SUCCEEDED", "FAILED"), eid)
        # The survivors own what n3 had.
        self.assertEqual(self.sql("SELECT count(*) FROM executions WHERE owner = 'n3' "
                                  "AND status = 'RUNNING'"), "0")
        # The Wait ran once: one exit from its Wait state, one end.
        _, _, h = n2.request("GET", f"/executions/{wait_id}/history")
        types = [e["type"] for e in h["events"]]
        self.assertEqual(types.count("WaitStateExited"), 1, types)
        self.assertEqual(types.count("ExecutionSucceeded"), 1, types)

        # Stock moved exactly by the processed orders; one order per execution.
        sold = int(self.sql("SELECT coalesce(sum(quantity), 0) FROM orders "
                            "WHERE status = 'PROCESSED'"))
        left = int(self.sql("SELECT quantity FROM stock WHERE item_id = 'coffee-beans'"))
        self.assertEqual(left, STOCK - sold)
        self.assertGreater(sold, 0)
        self.assertEqual(self.sql("SELECT execution_id FROM orders GROUP BY execution_id "
                                  "HAVING count(*) > 1"), "")
        self.assertEqual(self.sql("SELECT order_id FROM payments WHERE status = 'CHARGED' "
                                  "GROUP BY order_id HAVING count(*) > 1"), "")
        # One order event per execution (Redis is off: they wait in the outbox).
        per = {}
        for line in self.sql("SELECT payload FROM outbox ORDER BY seq").splitlines():
            e = json.loads(line)
            if e["source"] == "sagad.order":
                per[e["executionId"]] = per.get(e["executionId"], 0) + 1
        self.assertEqual(set(per), ids)
        self.assertEqual(set(per.values()), {1})

    def test_any_node_serves_reads_waits_and_new_definitions(self):
        """A machine registered through one node starts on another; an
        execution run by one node is described, listed, waited for
        (?wait) and its history read through the other."""
        a = self.node("a")
        b = self.node("b")
        self.put("w", WAIT1, d=a)
        st, _, body = b.request("GET", "/state-machines")
        self.assertIn("w", [m["name"] for m in body["stateMachines"]], body)
        st, _, body = b.request("POST", "/state-machines/w/executions", {"input": {"n": 1}})
        self.assertIn(st, (200, 201, 202), body)
        self.assertEqual(self.sql(f"SELECT owner FROM executions WHERE id = "
                                  f"'{body['executionId']}'"), "b")
        st, _, body = a.request("POST", "/state-machines/w/executions", {"input": {"n": 2}})
        eid = body["executionId"]
        st, _, desc = b.request("GET", f"/executions/{eid}")
        self.assertEqual((st, desc["status"]), (200, "RUNNING"), desc)
        t0 = time.time()
        st, _, desc = b.request("GET", f"/executions/{eid}?wait=10", timeout=15)
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)
        self.assertLess(time.time() - t0, 3)
        st, _, h = b.request("GET", f"/executions/{eid}/history")
        self.assertEqual(h["events"][-1]["type"], "ExecutionSucceeded")
        st, _, body = b.request("GET", "/executions?stateMachine=w")
        self.assertEqual(len(body["executions"]), 2)
        # Many waiters on b for a's executions, and one whose wait runs out.
        ids = [a.request("POST", "/state-machines/w/executions", {"input": {}})[2]["executionId"]
               for _ in range(10)]
        self.put("w30", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 30, "Next": "S"}, "S": {"Type": "Succeed"}}}, d=a)
        long_id = a.request("POST", "/state-machines/w30/executions", {"input": {}})[2]["executionId"]
        got = []

        def wait(eid, secs):
            got.append((eid, b.request("GET", f"/executions/{eid}?wait={secs}", timeout=20)[2]["status"]))

        threads = [threading.Thread(target=wait, args=(ids[i % 10], 10)) for i in range(30)]
        threads.append(threading.Thread(target=wait, args=(long_id, 1)))
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(sorted(st for eid, st in got if eid != long_id), ["SUCCEEDED"] * 30)
        self.assertEqual([st for eid, st in got if eid == long_id], ["RUNNING"])

    def test_stops_and_task_reports_reach_the_node_that_runs_it(self):
        """A stop and a task report sent to a node that does not run the
        execution are replayed to the one that does, whose answer comes back."""
        a = self.node("a")
        b = self.node("b")
        st, _, _ = a.request("PUT", "/activities/work", {})
        self.assertIn(st, (200, 201))
        self.put("act", {"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "sagad:activity:work", "End": True}}}, d=a)
        self.put("w30", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 30, "Next": "S"}, "S": {"Type": "Succeed"}}}, d=a)
        st, _, body = a.request("POST", "/state-machines/act/executions", {"input": {"x": 1}})
        eid = body["executionId"]
        st, _, task = a.request("POST", "/activities/work/poll?wait=5", timeout=10)
        self.assertEqual(st, 200, task)
        st, _, body = b.request("POST", "/tasks/success",
                                {"taskToken": task["taskToken"], "output": {"done": True}})
        self.assertEqual((st, body), (200, {}))
        desc = b.wait_ended(eid)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        # The same token again, through either node: the first report won.
        st, _, body = b.request("POST", "/tasks/success",
                                {"taskToken": task["taskToken"], "output": {}})
        self.assertEqual(st, 404, body)
        st, _, body = a.request("POST", "/state-machines/w30/executions", {"input": {}})
        wid = body["executionId"]
        st, _, body = b.request("POST", f"/executions/{wid}/stop", {"error": "Ops.Stop"})
        self.assertEqual((st, body.get("status")), (200, "ABORTED"), body)
        self.assertEqual(self.sql(f"SELECT status FROM executions WHERE id = '{wid}'"), "ABORTED")

    def activity_task(self, d):
        """An activity execution started and polled on `d`: (id, token)."""
        st, _, body = d.request("POST", "/state-machines/act/executions", {"input": {}})
        self.assertIn(st, (200, 201, 202), body)
        st, _, task = d.request("POST", "/activities/work/poll?wait=5", timeout=10)
        self.assertEqual(st, 200, task)
        return body["executionId"], task["taskToken"]

    def put_activity_machine(self, d):
        st, _, _ = d.request("PUT", "/activities/work", {})
        self.assertIn(st, (200, 201))
        self.put("act", {"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "sagad:activity:work", "End": True}}}, d=d)

    def test_an_aws_task_report_is_offered_to_every_other_node(self):
        """Three nodes: SendTaskSuccess (AWS JSON 1.0) sent to a node that
        does not know the token reaches the one that does, past a third
        that answers TaskDoesNotExist."""
        a, b, c = self.node("a"), self.node("b"), self.node("c")
        self.put_activity_machine(a)
        eid, token = self.activity_task(c)
        st, _, body = a.request("POST", "/", json.dumps({"taskToken": token, "output": "{}"}),
                                {"X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
                                 "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(st, 200, body)
        self.assertEqual(a.wait_ended(eid)["status"], "SUCCEEDED")

    def aws(self, d, action, body):
        return d.request("POST", "/", json.dumps(body),
                         {"X-Amz-Target": "AWSStepFunctions." + action,
                          "Content-Type": "application/x-amz-json-1.0"}, timeout=70)

    def test_workers_may_poll_any_node(self):
        """Activity tasks queued on node a reach workers that poll only node
        b (REST and AWS), each task once; polls parked on b before the task
        was queued take it; activities created or deleted through one node
        are known to the other."""
        a, b = self.node("a"), self.node("b")
        self.put_activity_machine(a)
        st, _, acts = b.request("GET", "/activities")
        self.assertEqual([x["name"] for x in acts["activities"]], ["work"])
        # Polls parked on b before any task exists.
        got, lock = [], threading.Lock()

        def worker():
            while True:
                st, _, task = b.request("POST", "/activities/work/poll?wait=4", timeout=10)
                if st == 204:
                    return
                self.assertEqual(st, 200, task)
                with lock:
                    got.append(task["taskToken"])
                st, _, body = b.request("POST", "/tasks/success",
                                        {"taskToken": task["taskToken"], "output": {"ok": 1}})
                self.assertEqual(st, 200, body)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        ids = []
        for _ in range(6):
            st, _, body = a.request("POST", "/state-machines/act/executions", {"input": {}})
            self.assertIn(st, (200, 201, 202), body)
            ids.append(body["executionId"])
        for t in threads:
            t.join(30)
        self.assertEqual(len(got), 6, got)
        self.assertEqual(len(set(got)), 6, got)
        for eid in ids:
            self.assertEqual(a.wait_ended(eid)["status"], "SUCCEEDED")
        self.assertEqual(self.sql("SELECT count(*) FROM executions WHERE owner = 'a'"), "6")
        # The AWS API on b: GetActivityTask, then SendTaskFailure.
        st, _, body = a.request("POST", "/state-machines/act/executions", {"input": {"n": 7}})
        eid = body["executionId"]
        arn = "arn:aws:states:local:000000000000:activity:work"
        st, _, task = self.aws(b, "GetActivityTask", {"activityArn": arn, "workerName": "w"})
        self.assertEqual(st, 200, task)
        self.assertEqual(json.loads(task["input"]), {"n": 7})
        st, _, body = self.aws(b, "SendTaskFailure", {"taskToken": task["taskToken"],
                                                      "error": "Boom"})
        self.assertEqual(st, 200, body)
        self.assertEqual(a.wait_ended(eid)["status"], "FAILED")
        # A stop while b's polls look at a: they are answered, b exits cleanly.
        answers = []

        def parked():
            answers.append(b.request("POST", "/activities/work/poll?wait=30", timeout=40)[0])

        threads = [threading.Thread(target=parked) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        self.assertEqual(b.stop(), 0, b.stderr())
        for t in threads:
            t.join(10)
        self.assertEqual(sorted(answers), [204, 204])
        b.start()
        # Deleted through a: b no longer knows it.
        st, _, body = self.aws(a, "DeleteActivity", {"activityArn": arn})
        self.assertEqual(st, 200, body)
        st, _, body = self.aws(b, "DescribeActivity", {"activityArn": arn})
        self.assertEqual((st, body.get("__type")), (400, "ActivityDoesNotExist"), body)

    def test_short_polls_look_elsewhere_and_no_poll_outlives_its_wait(self):
        """A poll that does not wait (wait=0) on b gets a task queued on a; a
        poll on b with a frozen peer answers within its wait; an activity
        deleted through a and created again through b has its row again."""
        a, b = self.node("a"), self.node("b")
        self.put_activity_machine(a)
        st, _, body = a.request("POST", "/state-machines/act/executions", {"input": {"k": 1}})
        eid = body["executionId"]
        st, _, task = b.request("POST", "/activities/work/poll?wait=0")
        self.assertEqual(st, 200, task)
        self.assertEqual(json.loads(json.dumps(task["input"])), {"k": 1})
        self.assertEqual(b.request("POST", "/tasks/success",
                                   {"taskToken": task["taskToken"], "output": {}})[0], 200)
        self.assertEqual(a.wait_ended(eid)["status"], "SUCCEEDED")
        # a frozen (its lease still valid): b's poll ends about when it should.
        a.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.time()
            st, _, _ = b.request("POST", "/activities/work/poll?wait=1", timeout=10)
            took = time.time() - t0
        finally:
            a.proc.send_signal(signal.SIGCONT)
        self.assertEqual(st, 204)
        self.assertLess(took, 1.6)
        # Delete through a after b has seen the activity, create through b.
        arn = "arn:aws:states:local:000000000000:activity:work"
        self.assertEqual(b.request("GET", "/activities")[0], 200)
        self.assertEqual(self.aws(a, "DeleteActivity", {"activityArn": arn})[0], 200)
        st, _, body = self.aws(b, "CreateActivity", {"name": "work"})
        self.assertEqual(st, 200, body)
        self.assertEqual(self.sql("SELECT count(*) FROM activities WHERE name = 'work'"), "1")
        st, _, body = self.aws(a, "DescribeActivity", {"activityArn": arn})
        self.assertEqual(st, 200, body)

    def test_a_report_during_a_takeover_is_503_then_succeeds(self):
        """The node that runs a task dies: until a survivor has taken its
        executions, a report gets 503 with Retry-After (not a final 404);
        afterwards the same token is reported successfully."""
        a, b = self.node("a"), self.node("b")
        self.put_activity_machine(a)
        eid, token = self.activity_task(b)
        b.kill()
        st, h, body = a.request("POST", "/tasks/success", {"taskToken": token, "output": {}})
        self.assertEqual((st, body["error"]), (503, "TakeoverInProgress"), body)
        self.assertEqual(h.get("retry-after"), "1")
        # An AWS client gets it in AWS's shape (its SDK retries a 503).
        st, h, body = self.aws(a, "SendTaskSuccess", {"taskToken": token, "output": "{}"})
        self.assertEqual((st, body.get("__type")), (503, "TakeoverInProgress"), body)
        self.assertEqual(h.get("content-type"), "application/x-amz-json-1.0")
        deadline = time.time() + LEASE_MS / 1000 * 2 + 5
        while time.time() < deadline:
            st, _, body = a.request("POST", "/tasks/success", {"taskToken": token, "output": {}})
            if st != 503:
                break
            time.sleep(0.2)
        self.assertEqual(st, 200, body)
        self.assertEqual(a.wait_ended(eid)["status"], "SUCCEEDED")

    def test_a_restart_under_the_same_name_waits_for_the_old_batch(self):
        """A transaction that holds the node's row as a running batch does
        (FOR KEY SHARE) delays the next process under that name until it
        ends, so nothing the old process commits comes after the new one
        read its executions back."""
        a = self.node("same")
        self.assertEqual(a.stop(), 0)
        holder = threading.Thread(target=self.sql, args=(
            "BEGIN; SELECT 1 FROM nodes WHERE node_id = 'same' FOR KEY SHARE; "
            "SELECT pg_sleep(3); COMMIT;",))
        holder.start()
        time.sleep(0.5)
        t0 = time.time()
        self.node("same")
        waited = time.time() - t0
        holder.join()
        self.assertGreater(waited, 2.0)

    def test_a_node_refuses_to_join_beside_a_single_node_sagad(self):
        """A sagad from before nodes holds advisory lock 495555404100 and
        fences nobody: a node does not start beside it."""
        holder = threading.Thread(target=self.sql, args=(
            "SELECT pg_advisory_lock(495555404100), pg_sleep(4)",))
        holder.start()
        time.sleep(0.5)
        d = Daemon(database=self.cluster.uri(), node_id="late")
        try:
            r = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=30)
            err = r.stderr.decode(errors="replace")
            self.assertNotEqual(r.returncode, 0, err)
            self.assertIn("an older sagad", err)
        finally:
            d.cleanup()
            holder.join()

    def test_nodes_starting_together_do_not_mistake_each_other_for_an_older_sagad(self):
        """Every joining node probes for an older sagad at once; one node's
        probe (held here by psql) must not make another refuse to start."""
        holder = threading.Thread(target=self.sql, args=(
            "SELECT pg_advisory_lock_shared(495555404100), pg_sleep(4)",))
        holder.start()
        try:
            time.sleep(0.5)
            d = self.node("together")
            self.assertIn("joined with epoch", d.stderr())
        finally:
            holder.join()

    def test_the_loop_serves_while_a_batch_waits_for_postgresql(self):
        """psql holds the stock row: an order's batch waits on its lock, and
        meanwhile the loop still serves (the console's files answer at once);
        once the lock goes, the order completes."""
        d = self.node("solo")
        st, _, _ = d.request("PUT", "/stock/coffee-beans", {"quantity": 10})
        self.assertEqual(st, 200)
        holder = threading.Thread(target=self.sql, args=(
            "BEGIN; SELECT quantity FROM stock WHERE item_id = 'coffee-beans' FOR UPDATE; "
            "SELECT pg_sleep(2); COMMIT;",))
        holder.start()
        time.sleep(0.3)
        result = {}

        def order_now():
            result["id"] = self.post_order(d, "held", order(1), time.time() + 20)
        t = threading.Thread(target=order_now)
        t.start()
        time.sleep(0.3)
        worst = 0
        for _ in range(5):
            t0 = time.time()
            st, _, _ = d.request("GET", "/ui/")
            worst = max(worst, time.time() - t0)
            self.assertEqual(st, 200)
        self.assertLess(worst, 0.5, "the loop answered while the batch waited")
        self.assertTrue(t.is_alive() or holder.is_alive(), "the order did wait for the lock")
        holder.join()
        t.join(20)
        self.assertTrue(result.get("id"))
        self.assertIn(d.wait_ended(result["id"])["status"], ("SUCCEEDED", "FAILED"))

    def test_healthz_names_the_node(self):
        d = self.node("alpha")
        st, _, body = d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["node"]["id"], "alpha")
        self.assertEqual(body["node"]["epoch"], 1)
        self.assertEqual(body["node"]["leaseMs"], LEASE_MS)
        self.assertFalse(body["node"]["fenced"])

    def test_a_node_whose_lease_is_taken_commits_nothing_and_exits(self):
        """Another process takes the node's name (a new epoch): the first
        node's next batch finds its fence gone and the node exits 3."""
        a = self.node("dup")
        self.put("w", WAIT1, d=a)
        self.sql("UPDATE nodes SET epoch = epoch + 1 WHERE node_id = 'dup'")
        # The start never commits: the node exits before it could answer.
        with self.assertRaises((OSError, http.client.HTTPException)):
            a.request("POST", "/state-machines/w/executions", {"input": {}})
        code = a.proc.wait(10)
        self.assertEqual(code, 3, a.stderr()[-2000:])
        self.assertIn("fenced", a.stderr())
        self.assertEqual(self.sql("SELECT count(*) FROM executions"), "0")
        a.proc = None

    def test_a_frozen_node_loses_its_executions_and_exits_when_it_thaws(self):
        """SIGSTOP one node: once its lease expires the other takes its
        Waits over and ends them, once each; thawed, the frozen node finds
        its epoch taken, commits nothing more and exits 3."""
        a, b = self.node("a"), self.node("b")
        self.put("w2", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 2, "Next": "S"}, "S": {"Type": "Succeed"}}}, d=b)
        ids = []
        for _ in range(5):
            st, _, body = b.request("POST", "/state-machines/w2/executions", {"input": {}})
            self.assertIn(st, (200, 201, 202), body)
            ids.append(body["executionId"])
        b.proc.send_signal(signal.SIGSTOP)
        try:
            for eid in ids:
                self.assertEqual(a.wait_ended(eid, timeout=LEASE_MS / 1000 * 3 + 10)["status"],
                                 "SUCCEEDED")
            self.assertEqual(self.sql("SELECT count(*) FROM executions WHERE owner = 'a'"), "5")
        finally:
            b.proc.send_signal(signal.SIGCONT)
        self.assertEqual(b.proc.wait(LEASE_MS / 1000 + 10), 3, b.stderr()[-2000:])
        b.proc = None
        for eid in ids:
            types = [e["type"] for e in a.request("GET", f"/executions/{eid}/history")[2]["events"]]
            self.assertEqual((types.count("WaitStateExited"), types.count("ExecutionSucceeded")),
                             (1, 1), types)

    def test_a_clean_stop_hands_executions_over_at_once(self):
        a = self.node("a")
        b = self.node("b")
        self.put("w5", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3, "Next": "S"}, "S": {"Type": "Succeed"}}}, d=a)
        st, _, body = a.request("POST", "/state-machines/w5/executions", {"input": {}})
        self.assertIn(st, (200, 201, 202), body)
        eid = body["executionId"]
        self.assertEqual(a.stop(), 0)
        # b takes it within a lease renewal period, not after a whole lease.
        deadline = time.time() + LEASE_MS / 1000
        owner = None
        while time.time() < deadline:
            owner = self.sql(f"SELECT owner FROM executions WHERE id = '{eid}'")
            if owner == "b":
                break
            time.sleep(0.05)
        self.assertEqual(owner, "b")
        self.assertEqual(b.wait_ended(eid, timeout=10)["status"], "SUCCEEDED")


    def test_a_postgres_restart_is_survived(self):
        """The server crashes (pg_ctl stop -m immediate) under orders and a
        Wait: sagad reports the outage in /healthz, answers errors instead of
        hanging, reconnects when the server is back, and every acknowledged
        order and the Wait end; nothing is done twice."""
        d = self.node("solo")
        st, _, _ = d.request("PUT", "/stock/coffee-beans", {"quantity": STOCK})
        self.assertEqual(st, 200)
        self.put("w", WAIT1, d=d)
        st, _, body = d.request("POST", "/state-machines/w/executions", {"input": {}})
        self.assertIn(st, (200, 201, 202), body)
        wait_id = body["executionId"]
        acked = {}
        for i in range(20):
            eid = self.post_order(d, f"before-{i}", order(1), time.time() + 10)
            self.assertTrue(eid)
            acked[f"before-{i}"] = eid
        self.cluster.stop("immediate")
        down_at = time.time()
        st, _, body = d.request("GET", "/healthz", timeout=15)
        self.assertEqual(st, 503, body)
        self.assertFalse(body["database"]["writable"])
        self.assertIn("lastError", body["database"])
        # A start during the outage gets an error, not a hang.
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=15)
        c.request("POST", "/order", json.dumps(order(1)), {"Content-Type": "application/json",
                                                           "Idempotency-Key": "during"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertGreaterEqual(r.status, 500)
        time.sleep(max(0, 3.0 - (time.time() - down_at)))   # longer than the lease
        self.cluster.start()
        deadline = time.time() + 20
        while time.time() < deadline:
            st, _, body = d.request("GET", "/healthz")
            if st == 200:
                break
            time.sleep(0.1)
        self.assertEqual(st, 200, body)
        self.assertIsNone(d.proc.poll(), "the node lives on (its epoch was nobody's to take)")
        for i in range(10):
            eid = self.post_order(d, f"after-{i}", order(1), time.time() + 10)
            self.assertTrue(eid, d.stderr()[-3000:])
            acked[f"after-{i}"] = eid
        self.assertEqual(d.wait_ended(wait_id, timeout=15)["status"], "SUCCEEDED")
        for key, eid in acked.items():
            self.assertIn(d.wait_ended(eid, timeout=15)["status"], ("SUCCEEDED", "FAILED"), key)
        _, _, h = d.request("GET", f"/executions/{wait_id}/history")
        types = [e["type"] for e in h["events"]]
        self.assertEqual(types.count("WaitStateExited"), 1, types)
        sold = int(self.sql("SELECT coalesce(sum(quantity), 0) FROM orders "
                            "WHERE status = 'PROCESSED'"))
        left = int(self.sql("SELECT quantity FROM stock WHERE item_id = 'coffee-beans'"))
        self.assertEqual(left, STOCK - sold)
        self.assertIn("reconnected", d.stderr())


if __name__ == "__main__":
    unittest.main()
