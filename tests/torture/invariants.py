"""The torture's invariants, read straight from the SQLite file (read-only,
while the daemon is dead or stopped): what the clients were told, what the
tables hold, and whether the two agree."""
import json
import sqlite3

ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# Events each ended execution of a machine must have committed exactly once,
# by detail-type; None: counted from the input (t-map).
EVENTS_WANTED = {
    "t-wait": {"Waited": 1},
    "t-parallel": {"Branch": 1},
    "t-retry": {"RetryExhausted": 1},
    "t-fail": {},
    "t-bigmap": {},
    "t-nested": {},
}

# Each query lists the rows that break the invariant it is named after.
ORDER_QUERIES = [
    ("orders charged twice",
     "SELECT order_id FROM payments WHERE status = 'CHARGED' GROUP BY order_id HAVING count(*) > 1"),
    ("payments that match no confirmed or refunded order",
     "SELECT p.payment_id, p.status, o.status FROM payments p "
     "LEFT JOIN orders o USING (order_id) WHERE o.order_id IS NULL "
     "OR (p.status = 'CHARGED' AND o.status = 'CANCELLED') "
     "OR (p.status = 'REFUNDED' AND o.status = 'PROCESSED') "
     "OR (p.status NOT IN ('CHARGED', 'REFUNDED'))"),
    ("processed orders without a charge",
     "SELECT o.order_id FROM orders o WHERE o.status = 'PROCESSED' AND NOT EXISTS "
     "(SELECT 1 FROM payments p WHERE p.order_id = o.order_id AND p.status = 'CHARGED')"),
    ("processed orders without their reservation",
     "SELECT o.order_id FROM orders o WHERE o.status = 'PROCESSED' AND NOT EXISTS "
     "(SELECT 1 FROM reservations r WHERE r.order_id = o.order_id AND r.status = 'RESERVED')"),
    ("cancelled orders still holding stock",
     "SELECT r.order_id FROM reservations r JOIN orders o USING (order_id) "
     "WHERE o.status = 'CANCELLED' AND r.status = 'RESERVED'"),
]


class Start:
    """One start the clients asked for, keyed by its idempotency key."""

    def __init__(self, key, kind, body, expect):
        self.key = key
        self.kind = kind              # "order" or a machine name
        self.body = body              # the exact body, re-sent on retries
        self.expect = expect          # (status, error) for machines, None for orders
        self.eid = None               # set once a 200/202 acknowledged it
        self.acks = 0
        self.stopped = False          # a stop was acknowledged (200): ABORTED
        self.stop_unknown = False     # a stop whose answer was lost: either end


def open_ro(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def _envelopes(obj, out):
    """Collects every outbox envelope (id, source, detail-type) inside `obj`."""
    if isinstance(obj, dict):
        if isinstance(obj.get("id"), str) and "detail-type" in obj and "source" in obj:
            out[obj["id"]] = (obj.get("executionId"), obj["detail-type"])
        for v in obj.values():
            _envelopes(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _envelopes(v, out)


class Checker:
    """Accumulates what was committed across cycles (history rows and outbox
    rows are read once each) and checks the file after every cycle."""

    def __init__(self, db_path, initial_stock):
        self.db_path = db_path
        self.initial_stock = dict(initial_stock)
        self.committed = {}           # event id -> (executionId, detail-type)
        self._rows_seen = set()       # (execution_id, first_id) of history rows parsed

    def _collect_events(self, db):
        for eid, first, events, state in db.execute(
                "SELECT execution_id, first_id, events, state FROM history "
                "WHERE events LIKE '%detail-type%' OR state LIKE '%detail-type%'"):
            if (eid, first) in self._rows_seen:
                continue
            self._rows_seen.add((eid, first))
            for text in (events, state):
                if text:
                    _envelopes(json.loads(text), self.committed)
        for event_id, payload in db.execute("SELECT event_id, payload FROM outbox"):
            env = json.loads(payload)
            self.committed[event_id] = (env.get("executionId"), env.get("detail-type"))

    def check(self, starts, final=False):
        """Returns a list of violations (strings)."""
        bad = []
        db = open_ro(self.db_path)
        try:
            q = lambda sql, *a: db.execute(sql, a).fetchall()
            integrity = q("PRAGMA quick_check")
            if integrity != [("ok",)]:
                bad.append(f"quick_check: {integrity[:5]}")
            self._collect_events(db)
            execs = {r[0]: r[1:] for r in q("SELECT id, machine, status, error FROM executions")}

            # Every acknowledged start exists; ended ones ended as their machine must.
            for s in starts:
                if s.eid is None:
                    continue
                row = execs.get(s.eid)
                if row is None:
                    bad.append(f"acknowledged start {s.key} ({s.kind}) -> {s.eid} is not in the database")
                    continue
                machine, status, error = row
                want_machine = "order" if s.kind == "order" else s.kind
                if machine != want_machine:
                    bad.append(f"{s.eid}: machine {machine}, started as {want_machine}")
                if final and status not in ENDED:
                    bad.append(f"{s.eid} ({s.kind}) still {status} after the final drain")
                if s.stopped and status != "ABORTED":
                    bad.append(f"{s.eid} ({s.kind}) is {status} although its stop was acknowledged")
                elif not s.stopped and not s.stop_unknown and status == "ABORTED":
                    bad.append(f"{s.eid} ({s.kind}) ABORTED without an acknowledged stop")
                elif status in ENDED and s.expect and status != "ABORTED" and (status, error) != s.expect:
                    bad.append(f"{s.eid} ({s.kind}) ended {status}/{error}, expected {s.expect}")
            if final:
                running = q("SELECT id, machine FROM executions WHERE status = 'RUNNING'")
                if running:
                    bad.append(f"{len(running)} executions RUNNING after the final drain, e.g. {running[:3]}")

            # Histories are whole: the rows of each execution cover 1..max(last_id)
            # without a gap or an overlap.
            expect_next, broken = {}, set()
            for eid, first, last in q("SELECT execution_id, first_id, last_id FROM history "
                                      "ORDER BY execution_id, first_id"):
                want = expect_next.get(eid, 1)
                if first != want or last < first:
                    broken.add((eid, want, first, last))
                expect_next[eid] = last + 1
            for eid, want, first, last in sorted(broken)[:10]:
                bad.append(f"history of {eid}: row {first}..{last} where id {want} was due")
            no_history = [e for e in execs if e not in expect_next]
            if no_history:
                bad.append(f"{len(no_history)} executions without history, e.g. {no_history[:3]}")

            bad += self._check_orders(q, execs, final)
            bad += self._check_events(starts, execs, final)
        finally:
            db.close()
        return bad

    def _check_orders(self, q, execs, final):
        bad = []
        # Stock never negative and moved exactly by the reservations held.
        held = dict(q("SELECT item_id, sum(quantity) FROM reservations "
                      "WHERE status = 'RESERVED' GROUP BY item_id"))
        stock = dict(q("SELECT item_id, quantity FROM stock"))
        for item, initial in self.initial_stock.items():
            left = stock.get(item)
            if left is None or left < 0 or left != initial - (held.get(item) or 0):
                bad.append(f"stock of {item}: {left}, expected {initial} - {held.get(item) or 0} reserved")
        if final:
            sold = dict(q("SELECT item_id, sum(quantity) FROM orders WHERE status = 'PROCESSED' "
                          "GROUP BY item_id"))
            for item, initial in self.initial_stock.items():
                if stock.get(item) != initial - (sold.get(item) or 0):
                    bad.append(f"stock of {item}: {stock.get(item)} after the drain, "
                               f"expected {initial} - {sold.get(item) or 0} sold")

        for what, sql in ORDER_QUERIES:
            rows = q(sql)
            if rows:
                bad.append(f"{what}: {rows[:5]}")

        per_exec = {}
        for eid, status in q("SELECT execution_id, status FROM orders"):
            per_exec.setdefault(eid, []).append(status)
        for eid, (machine, status, _) in execs.items():
            if machine != "order" or status not in ENDED:
                continue
            got = per_exec.get(eid, [])
            want = {"SUCCEEDED": "PROCESSED", "FAILED": "CANCELLED"}.get(status)
            if got != [want]:
                bad.append(f"order execution {eid} ended {status} with orders {got}")
        for eid, got in per_exec.items():
            if len(got) > 1:
                bad.append(f"execution {eid} created {len(got)} orders")
        if final:
            charged = q("SELECT count(*) FROM payments WHERE status = 'CHARGED'")[0][0]
            processed = q("SELECT count(*) FROM orders WHERE status = 'PROCESSED'")[0][0]
            if charged != processed:
                bad.append(f"{charged} charges for {processed} processed orders")
            pending = q("SELECT count(*) FROM orders WHERE status = 'PENDING'")[0][0]
            if pending:
                bad.append(f"{pending} orders PENDING after the drain")
            left = q("SELECT count(*) FROM outbox")[0][0]
            if left:
                bad.append(f"{left} events still in the outbox after the drain")
        return bad

    def _check_events(self, starts, execs, final):
        """Each ended execution committed each of its events exactly once."""
        bad = []
        per = {}
        for _, (eid, dtype) in self.committed.items():
            per.setdefault(eid, {}).setdefault(dtype, 0)
            per[eid][dtype] += 1
        for s in starts:
            row = execs.get(s.eid) if s.eid else None
            if not row or row[1] not in ENDED:
                continue
            got = per.get(s.eid, {})
            if s.kind == "order":
                want = {"Processed": 1} if row[1] == "SUCCEEDED" else {"Cancelled": 1}
            elif s.kind == "t-map":
                items = s.body["input"]["items"]
                n = sum(1 for i in items if i["pub"] and not i["bad"])
                want = {"MapDone": 1, **({"Item": n} if n else {})}
            else:
                want = EVENTS_WANTED[s.kind]
            if row[1] == "ABORTED":
                # Stopped part-way: no event more than a whole run commits.
                if any(n > want.get(t, 0) for t, n in got.items()):
                    bad.append(f"aborted {s.kind} execution {s.eid} committed events {got}, "
                               f"more than {want}")
            elif got != want:
                bad.append(f"{s.kind} execution {s.eid} committed events {got}, expected {want}")
        return bad
