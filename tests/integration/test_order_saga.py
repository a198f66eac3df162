"""The order saga end to end: POST /order on a real sagad with a
real SQLite file, events seen by a real SUBSCRIBE client of a real
redis-server."""
import json
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import DaemonTestCase, RefusingProxy, Subscriber, free_port

ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}


def order(**over):
    o = dict(ORDER)
    o.update(over)
    return o


class OrderSaga(DaemonTestCase):
    def start_daemon(self, rate=0, **opts):
        self.r = self.redis()
        self.sub = Subscriber(self.r.port)
        self.addCleanup(self.sub.close)
        # These tests count the saga's own events; execution status events
        # have their tests in test_status_events.
        opts.setdefault("execution_events", "off")
        self.d = self.daemon(redis=self.r.address, payment_failure_rate=rate, **opts)
        return self.d

    def place(self, body, headers=None, wait=10):
        st, h, desc = self.d.request("POST", f"/order?wait={wait}", body, headers=headers)
        return st, desc

    def stock(self, item="coffee-beans"):
        st, _, body = self.d.request("GET", f"/stock/{item}")
        return body["quantity"] if st == 200 else None

    def set_stock(self, n, item="coffee-beans"):
        st, _, body = self.d.request("PUT", f"/stock/{item}", {"quantity": n})
        self.assertEqual(st, 200, body)

    def orders_of(self, execution_id):
        _, _, body = self.d.request("GET", "/orders?limit=1000")
        return [o for o in body["orders"] if o["executionId"] == execution_id]

    def test_success_processes_order_and_emits_processed(self):
        self.start_daemon(rate=0)
        self.assertEqual(self.stock(), 5)   # a fresh database is seeded
        st, desc = self.place(order(quantity=2))
        self.assertEqual(st, 200, desc)
        self.assertEqual(desc["status"], "SUCCEEDED")
        rows = self.orders_of(desc["executionId"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["status"], "PROCESSED")
        self.assertEqual(self.stock(), 3)
        st, _, one = self.d.request("GET", f"/orders/{rows[0]['orderId']}")
        self.assertEqual((st, one["status"]), (200, "PROCESSED"))
        evs = self.sub.wait_for(1)
        self.assertEqual(len(evs), 1)
        ev = evs[0]
        self.assertEqual(ev["detail-type"], "Processed")
        self.assertEqual(ev["source"], "sagad.order")
        self.assertEqual(ev["executionId"], desc["executionId"])
        self.assertEqual(ev["detail"]["orderId"], rows[0]["orderId"])
        self.assertRegex(ev["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertTrue(ev["id"])

    def test_out_of_stock_cancels_and_keeps_stock(self):
        self.start_daemon(rate=0)
        st, desc = self.place(order(quantity=6))
        self.assertEqual(desc["status"], "FAILED")
        self.assertEqual(desc["error"], "OutOfStock")
        rows = self.orders_of(desc["executionId"])
        self.assertEqual([r["status"] for r in rows], ["CANCELLED"])
        self.assertEqual(self.stock(), 5)
        evs = self.sub.wait_for(1)
        self.assertEqual([e["detail-type"] for e in evs], ["Cancelled"])
        self.assertEqual(evs[0]["executionId"], desc["executionId"])
        # A failed reservation charges nothing: no refund step ran.
        _, _, h = self.d.request("GET", f"/executions/{desc['executionId']}/history")
        entered = [e["details"].get("name") for e in h["events"] if e["type"].endswith("StateEntered")]
        self.assertNotIn("ProcessPayment", entered)
        self.assertNotIn("RefundPayment", entered)
        self.assertIn("CancelOrder", entered)

    def test_orders_page_and_filter_by_status(self):
        self.start_daemon(rate=0)
        self.set_stock(3)
        ids = []
        for _ in range(5):   # three processed, then two out of stock
            st, desc = self.place(order(quantity=1))
            ids.append(desc["executionId"])
        seen, cursor, pages = [], None, 0
        while True:
            q = "/orders?limit=2" + (f"&cursor={cursor}" if cursor else "")
            st, _, page = self.d.request("GET", q)
            self.assertEqual(st, 200, page)
            seen += [o["executionId"] for o in page["orders"]]
            pages += 1
            cursor = page["nextCursor"]
            if not cursor:
                break
        self.assertEqual((pages, seen), (3, list(reversed(ids))))
        _, _, page = self.d.request("GET", "/orders?status=CANCELLED")
        self.assertEqual([o["executionId"] for o in page["orders"]], [ids[4], ids[3]])
        self.assertIsNone(page["nextCursor"])
        _, _, page = self.d.request("GET", "/orders?status=PROCESSED&limit=1")
        self.assertEqual([o["executionId"] for o in page["orders"]], [ids[2]])
        for bad in ("status=DONE", "cursor=x", "cursor=-1", "limit=0"):
            st, _, body = self.d.request("GET", "/orders?" + bad)
            self.assertEqual((st, body["error"]), (400, "InvalidParameter"), bad)

    def test_payment_failure_compensates(self):
        self.start_daemon(rate=1)
        st, desc = self.place(order(quantity=2))
        self.assertEqual(desc["status"], "FAILED")
        self.assertEqual(desc["error"], "PaymentFailed")
        self.assertEqual([r["status"] for r in self.orders_of(desc["executionId"])], ["CANCELLED"])
        self.assertEqual(self.stock(), 5)
        evs = self.sub.wait_for(1)
        self.assertEqual([e["detail-type"] for e in evs], ["Cancelled"])
        _, _, h = self.d.request("GET", f"/executions/{desc['executionId']}/history")
        entered = [e["details"].get("name") for e in h["events"] if e["type"].endswith("StateEntered")]
        # A declined payment charged nothing: compensation enters at CancelReservation.
        for s in ("CancelReservation", "CancelOrder", "EmitFailureEvent"):
            self.assertIn(s, entered)
        self.assertNotIn("RefundPayment", entered)

    def test_invalid_input_does_nothing(self):
        self.start_daemon(rate=0)
        bad = [
            {k: v for k, v in ORDER.items() if k != "itemId"},
            order(quantity=0),
            order(quantity=-1),
            order(quantity=1.5),
            order(quantity="1"),
            order(itemId=7),
            order(firstname=None),
        ]
        for body in bad:
            st, desc = self.place(body)
            self.assertEqual(desc["status"], "SUCCEEDED", body)
            self.assertEqual(desc["currentState"], "DoNothing", body)
            self.assertEqual(self.orders_of(desc["executionId"]), [], body)
        self.assertEqual(self.stock(), 5)
        time.sleep(0.3)
        self.assertEqual(self.sub.events(), [])

    def test_body_not_an_object_starts_nothing(self):
        self.start_daemon(rate=0)
        for body in ("[1]", "\"x\"", "{broken", ""):
            st, _, err = self.d.request("POST", "/order", body,
                                        headers={"Content-Type": "application/json"})
            self.assertEqual(st, 400, body)
            self.assertIn("error", err)
            self.assertIn("message", err)
        _, _, lst = self.d.request("GET", "/executions")
        self.assertEqual(lst["executions"], [])

    def test_idempotency_key(self):
        self.start_daemon(rate=0)
        st1, _, b1 = self.d.request("POST", "/order", order(), headers={"Idempotency-Key": "k-1"})
        st2, _, b2 = self.d.request("POST", "/order", order(), headers={"Idempotency-Key": "k-1"})
        self.assertEqual(st1, 202)
        self.assertIn(st2, (200, 202))
        self.assertEqual(b1["executionId"], b2["executionId"])
        self.assertEqual(self.d.wait_ended(b1["executionId"])["status"], "SUCCEEDED")
        _, _, lst = self.d.request("GET", "/orders")
        self.assertEqual(len(lst["orders"]), 1)
        self.assertEqual(self.stock(), 4)
        st, _, err = self.d.request("POST", "/order", order(), headers={"Idempotency-Key": "k" * 81})
        self.assertEqual((st, err["error"]), (400, "InvalidIdempotencyKey"))

    def test_200_concurrent_orders_against_stock_50(self):
        self.start_daemon(rate=0)
        self.set_stock(50)

        def one(i):
            return self.place(order(), wait=30)

        with ThreadPoolExecutor(max_workers=200) as pool:
            results = list(pool.map(one, range(200)))
        statuses = [d["status"] for _, d in results]
        self.assertEqual(statuses.count("SUCCEEDED"), 50)
        self.assertEqual(statuses.count("FAILED"), 150)
        self.assertTrue(all(d["error"] == "OutOfStock" for _, d in results if d["status"] == "FAILED"))
        _, _, lst = self.d.request("GET", "/orders?limit=1000")
        st = [o["status"] for o in lst["orders"]]
        self.assertEqual((st.count("PROCESSED"), st.count("CANCELLED")), (50, 150))
        self.assertEqual(self.stock(), 0)
        evs = self.sub.wait_for(200)
        self.assertEqual(len(evs), 200)
        self.assertEqual(len({e["id"] for e in evs}), 200)
        # Published rows leave the outbox (their deletes ride later commits or
        # run when the relay idles) and nothing is sent twice meanwhile.
        deadline = time.time() + 5
        while time.time() < deadline:
            _, _, health = self.d.request("GET", "/healthz")
            if health["outbox"]["backlog"] == 0:
                break
            time.sleep(0.05)
        self.assertEqual(health["outbox"]["backlog"], 0)
        time.sleep(0.3)
        self.assertEqual(len(self.sub.events()), 200)
        kinds = [e["detail-type"] for e in evs]
        self.assertEqual((kinds.count("Processed"), kinds.count("Cancelled")), (50, 150))

    def test_failure_rate_1_cancels_everything(self):
        self.start_daemon(rate=1)
        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda i: self.place(order(quantity=1 + i % 2)), range(20)))
        for _, d in results:
            self.assertEqual((d["status"], d["error"]), ("FAILED", "PaymentFailed"))
        _, _, lst = self.d.request("GET", "/orders?limit=1000")
        self.assertEqual({o["status"] for o in lst["orders"]}, {"CANCELLED"})
        self.assertEqual(len(lst["orders"]), 20)
        self.assertEqual(self.stock(), 5)

    def test_redis_down_then_up_loses_no_event(self):
        self.start_daemon(rate=0)
        self.set_stock(1000)
        port = self.r.port
        self.sub.close()
        self.r.stop()
        results = []
        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda i: self.place(order()), range(50)))
        self.assertTrue(all(d["status"] == "SUCCEEDED" for _, d in results))
        _, _, health = self.d.request("GET", "/healthz")
        self.assertEqual(health["outbox"]["backlog"], 50)
        # Redis comes back refusing sagad (a password it does not send) until
        # the subscriber is listening, so no event can go out unseen.
        self.r.start(port, args=("--requirepass", "t0psecret"))
        self.sub = Subscriber(port, password="t0psecret")
        self.addCleanup(self.sub.close)
        subprocess.run(["redis-cli", "-p", str(port), "-a", "t0psecret", "--no-auth-warning",
                        "CONFIG", "SET", "requirepass", ""], check=True, capture_output=True)
        evs = self.sub.wait_for(50, timeout=20)
        self.assertEqual(len(evs), 50)
        self.assertEqual({e["executionId"] for e in evs}, {d["executionId"] for _, d in results})
        deadline = time.time() + 5
        while time.time() < deadline:
            _, _, health = self.d.request("GET", "/healthz")
            if health["outbox"]["backlog"] == 0:
                break
            time.sleep(0.05)
        self.assertEqual(health["outbox"]["backlog"], 0)


    def wait_backlog_empty(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, _, health = self.d.request("GET", "/healthz")
            if health["outbox"]["backlog"] == 0:
                break
            time.sleep(0.05)
        return health["outbox"]["backlog"]

    def test_redis_refusing_one_event_of_a_backlog_repeats_that_one_alone(self):
        """Redis refuses the third of 20 waiting events (a fault-injecting
        proxy renames that PUBLISH): it goes out again, alone; the 17 after
        it were out already and are not sent twice."""
        self.r = self.redis()
        self.sub = Subscriber(self.r.port)
        self.addCleanup(self.sub.close)
        port = free_port()
        self.d = self.daemon(redis=f"127.0.0.1:{port}", payment_failure_rate=0,
                             execution_events="off")
        self.set_stock(1000)
        for _ in range(20):
            self.assertEqual(self.place(order())[1]["status"], "SUCCEEDED")
        _, _, health = self.d.request("GET", "/healthz")
        self.assertEqual(health["outbox"]["backlog"], 20)
        proxy = RefusingProxy(port, self.r.port, nth=3)
        self.addCleanup(proxy.close)
        self.sub.wait_for(20, timeout=20)
        self.assertEqual(self.wait_backlog_empty(), 0)
        time.sleep(0.3)
        evs = self.sub.events()
        self.assertEqual(len(evs), 20, [e["id"] for e in evs])
        self.assertEqual(len({e["id"] for e in evs}), 20)
        self.assertIsNotNone(proxy.refused)
        # The refused event follows the ones sent after it: redelivery order.
        self.assertEqual(evs[-1]["id"], json.loads(proxy.refused)["id"])
        self.assertGreaterEqual(proxy.publishes, 21)


def one_task(resource, params):
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource,
                                             "Parameters": params, "End": True}}}


class DomainGuards(DaemonTestCase):
    """The order handlers keep their invariants whichever machine calls
    them, and only machines handler_allow names may call them at all."""
    start_daemon = OrderSaga.start_daemon
    place = OrderSaga.place
    stock = OrderSaga.stock
    orders_of = OrderSaga.orders_of

    def run_one(self, name, resource, params):
        st, _, body = self.d.request("PUT", "/state-machines/" + name, one_task(resource, params))
        self.assertIn(st, (200, 201), body)
        st, _, desc = self.d.request("POST", f"/state-machines/{name}/executions?wait=10",
                                     {"input": {}})
        self.assertEqual(st, 200, desc)
        return desc

    def payments(self, order_id):
        return [r[0] for r in self.sql("SELECT status FROM payments WHERE order_id = ?", order_id)]

    def test_other_machines_cannot_use_order_handlers_unless_allowed(self):
        self.start_daemon()
        for res in ("stock.reserve", "orders.cancel", "payment.refund", "orders.create"):
            st, _, body = self.d.request("PUT", "/state-machines/probe",
                                         one_task("sagad:" + res, {"orderId": "x"}))
            self.assertEqual((st, body["error"]), (400, "InvalidDefinition"), res)
            self.assertIn("probe:%s to handler_allow" % res, body["message"])
        self.assertEqual(self.d.request("GET", "/state-machines/probe")[0], 404)
        # Handlers without an owner stay open to every machine.
        st, _, _ = self.d.request("PUT", "/state-machines/probe", one_task("sagad:echo", {}))
        self.assertEqual(st, 201)

    def test_reserve_only_for_a_pending_order_of_that_item_and_quantity(self):
        self.start_daemon(handler_allow="probe: stock.*, orders.create")
        desc = self.run_one("probe", "sagad:stock.reserve",
                        {"orderId": "made-up", "itemId": "coffee-beans", "quantity": 5})
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "InvalidOrderState"), desc)
        self.assertIn("no PENDING order 'made-up'", desc["cause"])
        self.assertEqual(self.stock(), 5)
        st, _, body = self.d.request("PUT", "/state-machines/mk",
                                     one_task("sagad:orders.create",
                                              {"itemId": "coffee-beans", "quantity": 1}))
        self.assertEqual(st, 400, "mk is not allowed orders.create")
        self.start_daemon(handler_allow="probe: stock.*; mk: orders.create")
        order = self.run_one("mk", "sagad:orders.create", {"itemId": "coffee-beans", "quantity": 1})
        oid = order["output"]["orderId"]
        for wrong in ({"quantity": 4}, {"itemId": "tea"}):
            params = dict({"orderId": oid, "itemId": "coffee-beans", "quantity": 1}, **wrong)
            desc = self.run_one("probe", "sagad:stock.reserve", params)
            self.assertEqual(desc["error"], "InvalidOrderState", (wrong, desc))
        self.assertEqual(self.stock(), 5)
        desc = self.run_one("probe", "sagad:stock.reserve",
                        {"orderId": oid, "itemId": "coffee-beans", "quantity": 1})
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(self.stock(), 4)

    def test_release_does_not_give_back_the_stock_of_a_processed_order(self):
        # stock.release must not return a shipped (PROCESSED, charged)
        # order's stock, whichever machine asks; once refunded, as the saga
        # compensates after ConfirmOrder, it does.
        self.start_daemon(rate=0, handler_allow="probe: stock.release; refund: payment.refund")
        st, desc = self.place(order(quantity=1))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        oid = self.orders_of(desc["executionId"])[0]["orderId"]
        self.assertEqual(self.d.request("GET", f"/orders/{oid}")[2]["status"], "PROCESSED")
        before = self.stock()
        self.run_one("probe", "sagad:stock.release", {"orderId": oid})
        self.assertEqual(self.stock(), before, "a PROCESSED order's stock came back")
        self.run_one("refund", "sagad:payment.refund", {"orderId": oid})
        out = self.run_one("probe", "sagad:stock.release", {"orderId": oid})["output"]
        self.assertEqual(out["released"], 1, out)
        self.assertEqual(self.stock(), before + 1)

    def test_a_charged_order_is_not_cancelled_until_refunded(self):
        self.start_daemon(rate=0, handler_allow="probe: orders.cancel; refund: payment.refund")
        st, desc = self.place(order(quantity=1))
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        oid = self.orders_of(desc["executionId"])[0]["orderId"]
        bad = self.run_one("probe", "sagad:orders.cancel", {"orderId": oid})
        self.assertEqual((bad["status"], bad["error"]), ("FAILED", "InvalidOrderState"), bad)
        self.assertIn("is PROCESSED with its payment charged", bad["cause"])
        self.assertIn("refund it first", bad["cause"])
        self.assertEqual(self.d.request("GET", f"/orders/{oid}")[2]["status"], "PROCESSED")
        self.assertEqual(self.payments(oid), ["CHARGED"])
        first = self.run_one("refund", "sagad:payment.refund", {"orderId": oid})
        self.assertEqual((first["status"], first["output"]["refunded"]), ("SUCCEEDED", 1), first)
        self.assertGreater(first["output"]["amount"], 0)
        self.assertEqual(self.payments(oid), ["REFUNDED"])
        ok = self.run_one("probe", "sagad:orders.cancel", {"orderId": oid})
        self.assertEqual((ok["status"], ok["output"]["status"]), ("SUCCEEDED", "CANCELLED"), ok)
        # Refunding again refunds nothing more and answers as the first
        # refund did; cancelling again is idempotent.
        again = self.run_one("refund", "sagad:payment.refund", {"orderId": oid})
        self.assertEqual((again["output"]["refunded"], again["output"]["amount"]),
                         (1, first["output"]["amount"]), again)
        self.assertEqual(self.payments(oid), ["REFUNDED"])
        self.assertEqual(self.run_one("probe", "sagad:orders.cancel", {"orderId": oid})["status"],
                         "SUCCEEDED")

    def test_handler_allow_syntax_errors_name_the_key(self):
        import subprocess as sp
        from harness import Daemon
        for bad in ("probe", "probe:", ": stock.reserve", "a: x; b"):
            d = Daemon(handler_allow=bad)
            self._daemons.append(d)
            p = sp.run(d.argv(), stdout=sp.DEVNULL, stderr=sp.PIPE, timeout=20)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("handler_allow", p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
