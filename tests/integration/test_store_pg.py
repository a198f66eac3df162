"""The PostgreSQL store behind the real daemon (one node; several: test_cluster): a
throwaway PostgreSQL 15 cluster (pg.py), sagad with --database=postgresql://,
executions of every state kind, the order saga, the list/count/stock reads,
recovery of a RUNNING Wait after a restart, migrations applied once, and a
clear exit 2 when the database is unreachable."""
import os
import subprocess
import time
import unittest

import pg
from harness import Daemon, binary, free_port

MIXED = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "F"},
        "F": {"Type": "Task", "Resource": "sagad:fail",
              "Parameters": {"error": "Pg.Error", "cause": "on purpose"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught",
                         "Next": "Fan"}], "End": True},
        "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Each", "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "Result": 1, "End": True}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Task", "Resource": "sagad:echo",
                                                "End": True}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.mapped", "Next": "Done",
                 "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}},
        "Done": {"Type": "Succeed"},
    },
}

WAIT3 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "Next": "S"},
                                    "S": {"Type": "Succeed"}}}

ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Ada", "surname": "L",
         "street": "1 Main St", "zip": "12345", "city": "Town"}

WAIT1 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
                                    "P": {"Type": "Pass", "Next": "S"},
                                    "S": {"Type": "Succeed"}}}



class PostgresStore(pg.ClusterTestCase):
    def pg_daemon(self, **opts):
        # A fixed name: a restart is the same node and takes its executions back at once.
        opts.setdefault("node_id", "pgtest")
        return self.daemon(database=self.cluster.uri(), **opts)

    def test_store_api_unit_tests_on_a_real_server(self):
        """tests/unit/test_store_pg.c: values, errors, savepoints, waiting on a
        fiber, a lost connection, writes pipelined inside a savepoint."""
        self.cluster.psql("CREATE DATABASE unit")
        r = subprocess.run([binary("tests/test_store_pg")], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120,
                           env=dict(os.environ, SAGAD_TEST_PG_URI=self.cluster.uri("unit")))
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("[  PASSED  ] 1 test(s).", out)   # the offline group
        self.assertIn("[  PASSED  ] 11 test(s).", out)
        self.assertNotIn("SKIPPED", out)

    def test_every_state_kind_runs_and_records_history(self):
        d = self.pg_daemon()
        st, _, body = d.request("PUT", "/state-machines/mixed", MIXED)
        self.assertEqual(st, 201, body)
        st, _, body = d.request("POST", "/state-machines/mixed/executions?wait=10",
                                {"input": {"items": [1, 2, 3]}, "name": "first"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "SUCCEEDED", body)
        out = body["output"]
        self.assertEqual(out["r"], {"x": 1})
        self.assertEqual(out["caught"]["Error"], "Pg.Error")
        self.assertEqual(out["fan"][0], 1)
        self.assertEqual(out["mapped"], [1, 2, 3])
        eid = body["executionId"]
        st, _, desc = d.request("GET", f"/executions/{eid}")
        self.assertEqual((st, desc["status"], desc["name"]), (200, "SUCCEEDED", "first"))
        st, _, hist = d.request("GET", f"/executions/{eid}/history")
        self.assertEqual(st, 200, hist)
        types = [e["type"] for e in hist["events"]]
        self.assertEqual(types[0], "ExecutionStarted")
        self.assertEqual(types[-1], "ExecutionSucceeded")
        for t in ("WaitStateEntered", "TaskFailed", "ParallelStateEntered", "MapStateEntered"):
            self.assertIn(t, types)
        ids = [e["id"] for e in hist["events"]]
        self.assertEqual(ids, list(range(1, len(ids) + 1)))
        # The same name again is the same execution (UNIQUE (machine, name) on PostgreSQL).
        st, _, again = d.request("POST", "/state-machines/mixed/executions",
                                 {"input": {"items": [1, 2, 3]}, "name": "first"})
        self.assertEqual(again["executionId"], eid)
        st, _, listing = d.request("GET", "/executions?stateMachine=mixed")
        self.assertEqual(st, 200, listing)
        self.assertEqual([e["executionId"] for e in listing["executions"]], [eid])

    def test_order_saga_orders_stock_and_counts(self):
        d = self.pg_daemon(payment_failure_rate=0)
        st, _, body = d.request("POST", "/order?wait=10", ORDER)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "SUCCEEDED", body)
        self.assertEqual(body["output"]["status"], "PROCESSED")
        st, _, stock = d.request("GET", "/stock")
        self.assertEqual(st, 200, stock)
        self.assertEqual({s["itemId"]: s["quantity"] for s in stock["stock"]},
                         {"coffee-beans": 4})
        st, _, orders = d.request("GET", "/orders")
        self.assertEqual(st, 200, orders)
        self.assertEqual([o["status"] for o in orders["orders"]], ["PROCESSED"])
        st, _, counts = d.request("GET", "/executions/counts")
        self.assertEqual(st, 200, counts)
        self.assertEqual(counts["SUCCEEDED"], 1)
        self.assertEqual(counts["RUNNING"], 0)
        # The rows are PostgreSQL's, with the types the schema promises.
        self.assertEqual(self.cluster.psql("SELECT quantity FROM stock"), "4")
        self.assertEqual(self.cluster.psql(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'orders' AND column_name = 'rowid'"), "bigint")

    def test_a_write_failing_in_one_step_undoes_that_step_alone(self):
        """Writes inside an execution's step are pipelined: one that fails
        shows at the end of that step, which is rolled back alone; the batch
        commits, the other execution in it goes on, and the failed one runs
        again once the write can succeed."""
        d = self.pg_daemon()
        st, _, body = d.request("PUT", "/state-machines/wait1", WAIT1)
        self.assertIn(st, (200, 201), body)
        ids = {}
        for name in ("poisoned", "healthy"):
            st, _, body = d.request("POST", "/state-machines/wait1/executions",
                                    {"input": {}, "name": name})
            self.assertIn(st, (200, 201, 202), body)
            ids[name] = body["executionId"]
        # The step after the Wait records history: refused for one execution.
        self.cluster.psql(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.execution_id = '{ids['poisoned']}' THEN RAISE EXCEPTION 'refused'; "
            "END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER refuse BEFORE INSERT ON history FOR EACH ROW "
            "EXECUTE FUNCTION refuse()")
        _, _, health0 = d.request("GET", "/healthz")
        self.assertEqual(d.wait_ended(ids["healthy"])["status"], "SUCCEEDED")
        self.assertTrue(d.wait_log(r"step failed .*refused", timeout=10), d.stderr()[-3000:])
        _, _, desc = d.request("GET", f"/executions/{ids['poisoned']}")
        self.assertEqual(desc["status"], "RUNNING", desc)
        _, _, health = d.request("GET", "/healthz")
        self.assertEqual(health["database"]["failedCommits"],
                         health0["database"]["failedCommits"], health)
        self.cluster.psql("DROP TRIGGER refuse ON history")
        self.assertEqual(d.wait_ended(ids["poisoned"], timeout=20)["status"], "SUCCEEDED")

    def test_restart_continues_a_running_wait(self):
        d = self.pg_daemon()
        d.request("PUT", "/state-machines/w3", WAIT3)
        started = time.time()
        _, _, b = d.request("POST", "/state-machines/w3/executions", {"input": {}})
        eid = b["executionId"]
        time.sleep(1.0)
        d.kill()
        d.start()
        restarted = time.time()
        _, _, desc = d.request("GET", f"/executions/{eid}")
        self.assertEqual(desc["status"], "RUNNING", desc)
        deadline = time.time() + 10
        while time.time() < deadline and desc["status"] == "RUNNING":
            time.sleep(0.05)
            _, _, desc = d.request("GET", f"/executions/{eid}")
        ended = time.time()
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        # Due 3 s after the start, not at the restart (however long that
        # took on a loaded machine).
        self.assertGreater(ended - started, 2.9)
        self.assertLess(ended - restarted, 3.5)

    def test_second_open_migrates_nothing(self):
        d = self.pg_daemon()
        self.assertIn("schema migrated to version 5", d.stderr())
        self.assertEqual(d.stop(), 0)
        d.start()
        self.assertNotIn("schema migrated", d.stderr())
        self.assertEqual(self.cluster.psql("SELECT version FROM schema_version"), "8")

    def test_two_daemons_starting_together_migrate_once_and_both_join(self):
        """Migrations run once under an advisory lock; then both daemons run
        as nodes of one database, each with its own lease row."""
        a = Daemon(database=self.cluster.uri())
        b = Daemon(database=self.cluster.uri())
        self._daemons += [a, b]
        for d in (a, b):
            d.proc = subprocess.Popen(d.argv(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline and all(d.proc.poll() is None for d in (a, b)):
            try:
                if self.cluster.psql("SELECT count(*) FROM nodes") == "2":
                    break
            except subprocess.CalledProcessError:
                pass   # not migrated yet
            time.sleep(0.1)
        if self.cluster.psql("SELECT count(*) FROM nodes") != "2":
            for d in (a, b):
                if d.proc.poll() is None:
                    d.proc.kill()
            self.fail("both daemons should have joined; their logs:\n" + "".join(
                d.proc.stderr.read().decode(errors="replace") for d in (a, b)))
        for d in (a, b):
            self.assertIsNone(d.proc.poll())
            d.proc.terminate()
            self.assertEqual(d.proc.wait(10), 0)
        logs = "".join(d.proc.stderr.read().decode(errors="replace") for d in (a, b))
        for d in (a, b):
            d.proc.stderr.close()
            d.proc = None
        self.assertEqual(logs.count("schema migrated to version 1"), 1, logs)
        self.assertEqual(logs.count("joined with epoch 1"), 2, logs)
        self.assertNotIn("s3cret", logs)
        self.assertEqual(self.cluster.psql("SELECT count(*) FROM stock"), "1")


class Unreachable(unittest.TestCase):
    def test_unreachable_database_exits_2_naming_the_uri_without_password(self):
        port = free_port()
        d = Daemon(database=f"postgresql://sagad:s3cret@127.0.0.1:{port}/sagad")
        try:
            r = subprocess.run(d.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=30)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 2, err)
            self.assertIn(f"postgresql://sagad@127.0.0.1:{port}/sagad", err)
            self.assertIn("cannot connect to PostgreSQL", err)
            self.assertNotIn("s3cret", err)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
