"""Upgrades lose nothing: a database written by an earlier commit of main
(tests/fixtures/TAG.db, made by tests/fixtures/make_fixture.py with that
build) opens in this build, every execution describes the same, every
history replays to the same events, the waiting executions keep waiting,
and the daemon keeps working on it."""
import json
import os
import shutil
import sqlite3
import tempfile

from harness import ROOT, DaemonTestCase, sqlite_only

FIXTURES = os.path.join(ROOT, "tests", "fixtures")
TAGS = ("v9fdb03c", "ve9526e2", "vdd8d491", "vb21aa69")
# Fixtures made before the shipped order saga last changed (its Comment):
# loading it adds a version.
ORDER_CHANGED_SINCE = {"v9fdb03c"}
ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Ada", "surname": "Lovelace",
         "street": "1 Analytical Row", "zip": "10001", "city": "London"}


@sqlite_only("the fixtures are SQLite database files written by earlier builds; the "
             "PostgreSQL store's first release has no older databases to open")
class Upgrade(DaemonTestCase):
    def open_fixture(self, tag):
        """The current sagad on a copy of the fixture (the test never
        writes the committed file)."""
        with open(os.path.join(FIXTURES, tag + ".expected.json")) as f:
            expected = json.load(f)
        work = tempfile.mkdtemp(prefix="sagad-upgrade-")
        self.addCleanup(shutil.rmtree, work, True)
        shutil.copyfile(os.path.join(FIXTURES, tag + ".db"), os.path.join(work, "sagad.db"))
        d = self.daemon(workdir=work, payment_failure_rate=0)
        return d, expected

    def get(self, d, path):
        st, _, body = d.request("GET", path)
        self.assertEqual(st, 200, f"GET {path}: {body}")
        return body

    def without_added(self, desc, want):
        """A description without the fields added since a fixture was made
        (those `want` lacks), after checking they say what an old execution
        is: redriveCount (0) and redriveDate (null), added with redrives;
        stateMachineAlias and stateMachineVersionNamed (null: rows from
        before say nothing of what their start named)."""
        if "redriveCount" not in want:
            self.assertEqual(desc.pop("redriveCount"), 0)
            self.assertIsNone(desc.pop("redriveDate"))
        if "stateMachineAlias" not in want:
            self.assertIsNone(desc.pop("stateMachineAlias"))
            self.assertIsNone(desc.pop("stateMachineVersionNamed"))
        return desc

    def check_same(self, d, expected, tag):
        # Every field as the old build gave it. Only the fields without_added
        # lists have been added since, so the rest of the description is
        # compared whole.
        for eid in expected["ids"]:
            with self.subTest(tag=tag, execution=eid, what="describe"):
                want = expected["executions"][eid]
                self.assertEqual(self.without_added(self.get(d, f"/executions/{eid}"), want), want)
        for eid in expected["ids"]:
            with self.subTest(tag=tag, execution=eid, what="history"):
                got = self.get(d, f"/executions/{eid}/history")
                want = expected["histories"][eid]
                self.assertEqual(len(got["events"]), len(want["events"]))
                for g, w in zip(got["events"], want["events"]):
                    self.assertEqual(g, w, f"event {w['id']} ({w['type']}) of {eid}")
                self.assertEqual(got, want)

    def check_listing(self, d, expected, tag, new=()):
        """The listing as recorded, after the executions started since
        (newest first: they come first)."""
        got = self.get(d, "/executions?limit=1000")
        self.assertEqual([e["executionId"] for e in got["executions"][:len(new)]], list(new))
        got["executions"] = [self.without_added(e, w) for e, w in
                             zip(got["executions"][len(new):], expected["listing"]["executions"])]
        self.assertEqual(got, expected["listing"], tag)

    def check_machines(self, d, expected, tag):
        """The stored machines as recorded, except when the shipped order
        saga has changed since (its Comment only): loading it adds version 2,
        with version 1 kept for the executions that ran it."""
        got = {m["name"]: m for m in self.get(d, "/state-machines")["stateMachines"]}
        want = {m["name"]: m for m in expected["stateMachines"]["stateMachines"]}
        self.assertEqual(sorted(got), sorted(want))
        bump = 1 if tag in ORDER_CHANGED_SINCE else 0
        self.assertEqual(got["order"]["version"], want["order"]["version"] + bump)
        for name in want:
            if name != "order":
                self.assertEqual(got[name], want[name])

    def test_descriptions_and_histories_are_the_same(self):
        for tag in TAGS:
            d, expected = self.open_fixture(tag)
            # The fixture holds both history formats: replay logs ('{' rows)
            # and, for executions started with history_format=events, events
            # only ('[' rows).
            db = sqlite3.connect(os.path.join(d.dir, "sagad.db"))
            try:
                kinds = dict(db.execute(
                    "SELECT execution_id, group_concat(DISTINCT substr(events, 1, 1)) "
                    "FROM history WHERE frame = '' GROUP BY execution_id").fetchall())
            finally:
                db.close()
            self.assertEqual(sorted(kinds), sorted(expected["ids"]))
            self.assertIn("[", kinds.values())
            self.assertTrue(any("{" in k for k in kinds.values()))
            self.check_same(d, expected, tag)
            self.check_listing(d, expected, tag)
            self.check_machines(d, expected, tag)

    def outbox(self, path):
        db = sqlite3.connect(path)
        try:
            return db.execute("SELECT seq, event_id, payload, created_ms FROM outbox "
                              "ORDER BY seq").fetchall()
        finally:
            db.close()

    def test_orders_stock_and_outbox_are_the_same(self):
        for tag in TAGS:
            d, expected = self.open_fixture(tag)
            # The same orders; the answer has gained nextCursor (null: one
            # page) since the older fixtures were made.
            got = self.get(d, "/orders?limit=1000")
            self.assertIsNone(got.pop("nextCursor"), tag)
            want = dict(expected["orders"])
            self.assertIsNone(want.pop("nextCursor", None), tag)
            self.assertEqual(got, want, tag)
            self.assertEqual(self.get(d, "/stock/coffee-beans"), expected["stock"], tag)
            # The events the old build could not publish (no Redis) still wait.
            then = os.path.join(tempfile.mkdtemp(prefix="sagad-upgrade-"), "then.db")
            self.addCleanup(shutil.rmtree, os.path.dirname(then), True)
            shutil.copyfile(os.path.join(FIXTURES, tag + ".db"), then)
            rows = self.outbox(then)
            # (Builds with execution status events also left one per end.)
            orders = [r for r in rows if json.loads(r[2])["source"] == "sagad.order"]
            self.assertEqual(len(orders), 3, "Processed and two Cancelled")
            self.assertEqual(self.outbox(os.path.join(d.dir, "sagad.db")), rows)
            health = self.get(d, "/healthz")
            self.assertEqual(health["outbox"]["backlog"], len(rows))
            self.assertEqual(health["executions"]["running"], len(expected["waiting"]))
            self.assertTrue(d.wait_log(r"recovered 3 running executions"), d.stderr())

    def test_waiting_executions_keep_waiting_and_can_be_stopped(self):
        for tag in TAGS:
            d, expected = self.open_fixture(tag)
            waiting = expected["waiting"]
            self.assertEqual(sorted(waiting), ["map_sleep", "sleep_day", "sleep_day_events"])
            # The Wait state's timer is still in the database, due when it was.
            db = sqlite3.connect(os.path.join(d.dir, "sagad.db"))
            try:
                timers = [list(r) for r in db.execute(
                    "SELECT execution_id, frame, due_ms FROM timers "
                    "ORDER BY execution_id, frame")]
            finally:
                db.close()
            self.assertEqual(timers, expected["timers"])
            for key in ("sleep_day", "sleep_day_events"):
                desc = self.get(d, f"/executions/{waiting[key]}")
                self.assertEqual((desc["status"], desc["currentState"]), ("RUNNING", "Sleep"))
                self.assertIn(waiting[key], [t[0] for t in timers if t[1] == ""])
                evs = self.get(d, f"/executions/{waiting[key]}/history")["events"]
                self.assertEqual(evs[-1]["type"], "WaitStateEntered")
            desc = self.get(d, f"/executions/{waiting['map_sleep']}")
            self.assertEqual((desc["status"], desc["currentState"]), ("RUNNING", "Each"))
            for key, eid in sorted(waiting.items()):
                st, _, body = d.request("POST", f"/executions/{eid}/stop",
                                        {"error": "Upgrade", "cause": key})
                self.assertEqual(st, 200, body)
                self.assertEqual((body["status"], body["error"], body["cause"]),
                                 ("ABORTED", "Upgrade", key))
                evs = self.get(d, f"/executions/{eid}/history")["events"]
                self.assertEqual(evs[-1]["type"], "ExecutionAborted")
                # What came before the stop is what the old build recorded.
                old = expected["histories"][eid]["events"]
                self.assertEqual(evs[:len(old)], old)
            # Their timers went with them.
            db = sqlite3.connect(os.path.join(d.dir, "sagad.db"))
            try:
                self.assertEqual(db.execute("SELECT count(*) FROM timers").fetchone()[0], 0)
            finally:
                db.close()

    def test_new_order_succeeds_and_a_restart_works(self):
        for tag in TAGS:
            d, expected = self.open_fixture(tag)
            st, _, desc = d.request("POST", "/order?wait=10", ORDER)
            self.assertEqual(st, 200, desc)
            self.assertEqual(desc["status"], "SUCCEEDED", desc)
            self.assertEqual(self.get(d, "/stock/coffee-beans")["quantity"],
                             expected["stock"]["quantity"] - 1)
            self.assertEqual(d.stop(), 0, d.stderr()[-3000:])
            d.start()
            self.assertEqual(self.get(d, f"/executions/{desc['executionId']}"), desc)
            self.check_same(d, expected, tag)
            self.check_listing(d, expected, tag, new=[desc["executionId"]])
            for eid in expected["waiting"].values():
                self.assertEqual(self.get(d, f"/executions/{eid}")["status"], "RUNNING")
