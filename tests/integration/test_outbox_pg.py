"""The outbox and its relay with several writers on one PostgreSQL database:
a row that commits after rows with larger seqs were published is published
too (no cursor skips it), exactly one node relays at a time, the one holding
the relay's advisory lock, and another takes over when its session ends,
publishing what waited in seq order."""
import json
import os
import subprocess
import time
import unittest

import pg
from harness import Daemon, Subscriber

RELAY_LOCK = 495555404112
QUICK = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


class OutboxOnPostgres(pg.ClusterTestCase):
    def psql_session(self, *lines):
        """A psql session of another writer, kept open: `lines` are sent now;
        end(p) or closing its stdin ends it."""
        p = subprocess.Popen([os.path.join(pg.BIN, "psql"), "-X", "-q", "-A", "-t", "-h",
                              "127.0.0.1", "-p", str(self.cluster.port), "-U", "postgres",
                              "-d", "postgres"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        p.stdin.write("".join(l + "\n" for l in lines + ("SELECT 'ready';",)).encode())
        p.stdin.flush()
        self.addCleanup(self.end, p)
        line = b" "
        while line and line.strip() != b"ready":   # void results print empty lines
            line = p.stdout.readline()
        self.assertEqual(line.strip(), b"ready")
        return p

    def node_with_events(self):
        """A sagad on the cluster with Redis and every status event on, the
        machine `quick` registered, and a subscriber: (daemon, subscriber)."""
        redis = self.redis()
        sub = Subscriber(redis.port)
        self.addCleanup(sub.close)
        d = self.daemon(database=self.cluster.uri(), redis=redis.address,
                        execution_events="all")
        self.put("quick", QUICK, d)
        return d, sub

    def test_a_row_committed_late_below_published_seqs_is_published(self):
        """Another writer draws a seq, then commits only after this node's
        rows with larger seqs are published: its row is published too (a
        cursor past the larger seqs would skip it for good), after them, in
        commit order."""
        d, sub = self.node_with_events()
        late = json.dumps({"id": "late", "source": "test", "detail-type": "Late",
                           "executionId": None, "detail": {}})
        writer = self.psql_session(
            "BEGIN;",
            "INSERT INTO outbox (event_id, payload, created_ms) VALUES ('late', '%s', 0);" % late)
        for i in range(3):
            self.run_to_end("quick", {"i": i}, d=d)
        got = sub.wait_for(6, timeout=10)
        self.assertEqual(len(got), 6)
        [(seq,)] = d.sql("SELECT seq FROM outbox WHERE event_id = 'late'") or [(None,)]
        self.assertIsNone(seq, "the uncommitted row is not visible yet")
        writer.stdin.write(b"COMMIT;\n")
        writer.stdin.close()
        self.assertEqual(writer.wait(10), 0)
        got = sub.wait_for(7, timeout=5)
        self.assertEqual([e["id"] for e in got[6:]], ["late"])
        deadline = time.time() + 5
        while d.sql("SELECT count(*) FROM outbox") != [(0,)] and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(d.sql("SELECT count(*) FROM outbox"), [(0,)])

    def hold_relay_role(self):
        """A session of another 'node' that holds the relay's lock until
        its psql ends."""
        return self.psql_session(f"SELECT pg_advisory_lock({RELAY_LOCK});")

    @staticmethod
    def end(p):
        if p.poll() is None:
            p.kill()
            p.wait()
        for f in (p.stdin, p.stdout):
            if not f.closed:
                f.close()

    def test_one_relay_at_a_time_and_a_takeover_in_order(self):
        other = self.hold_relay_role()
        d, sub = self.node_with_events()
        for i in range(5):
            self.run_to_end("quick", {"i": i}, d=d)
        waiting = [r[0] for r in d.sql("SELECT event_id FROM outbox ORDER BY seq")]
        self.assertEqual(len(waiting), 10, "RUNNING and SUCCEEDED of each execution")
        time.sleep(1.5)
        self.assertEqual(sub.events(), [], "a node without the role published")
        self.assertTrue(d.wait_log("another node relays the outbox", 5), d.stderr())
        # The holder's session ends (its node died): this one takes over
        # within a retry, publishes what waited in seq order, deletes it.
        other.stdin.close()
        self.assertEqual(other.wait(10), 0)
        got = sub.wait_for(len(waiting), timeout=10)
        self.assertEqual([e["id"] for e in got], waiting)
        self.assertTrue(d.wait_log(r"this node relays the outbox now", 5), d.stderr())
        deadline = time.time() + 10
        while d.sql("SELECT count(*) FROM outbox") != [(0,)] and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(d.sql("SELECT count(*) FROM outbox"), [(0,)])
        # Holding the role now, it relays new events at once.
        self.run_to_end("quick", {"i": 5}, d=d)
        self.assertEqual(len(sub.wait_for(len(waiting) + 2, timeout=5)), len(waiting) + 2)

    def node(self, node_id, **opts):
        """A sagad node; the test is skipped where this build runs one sagad
        per database (several nodes need the leases of issue 15)."""
        d = Daemon(node_id=node_id, **opts)
        self._daemons.append(d)
        try:
            return d.start()
        except RuntimeError as e:
            if "'node_id': unknown key" in str(e) or "in use by another sagad" in str(e):
                self.skipTest("this build runs one sagad per database: " + str(e).splitlines()[-1])
            raise

    def test_two_nodes_publish_each_event_once_in_order(self):
        """Two sagad nodes on one database, one Redis: every execution's
        events reach Redis once, RUNNING before its end, whichever node ran
        it; when the relaying node dies the other publishes what remains."""
        redis = self.redis()
        sub = Subscriber(redis.port)
        self.addCleanup(sub.close)
        opts = dict(database=self.cluster.uri(), redis=redis.address, execution_events="all",
                    lease_ms=1500)
        a, b = self.node("a", **opts), self.node("b", **opts)
        self.put("quick", QUICK, a)
        ids = [self.run_to_end("quick", {"i": i}, d=(a, b)[i % 2])["executionId"]
               for i in range(20)]
        evs = sub.wait_for(40, timeout=10)
        self.assertEqual(len(evs), 40)
        # Published and deleted: a kill now leaves nothing to publish twice.
        deadline = time.time() + 10
        while a.sql("SELECT count(*) FROM outbox") != [(0,)] and time.time() < deadline:
            time.sleep(0.05)
        relaying, other = (a, b) if "another node relays" in b.stderr() else (b, a)
        self.assertNotIn("another node relays", relaying.stderr())
        relaying.kill()
        ids += [self.run_to_end("quick", {"i": i}, d=other)["executionId"] for i in range(20, 25)]
        evs = sub.wait_for(50, timeout=15)
        time.sleep(0.5)
        evs = sub.events()
        per = {}
        for e in evs:
            per.setdefault(e["executionId"], []).append(e["detail"]["status"])
        self.assertEqual(sorted(per), sorted(ids))
        for eid in ids:
            self.assertEqual(per[eid], ["RUNNING", "SUCCEEDED"], eid)
        self.assertEqual(len({e["id"] for e in evs}), len(evs), "an event published twice")


if __name__ == "__main__":
    unittest.main()
