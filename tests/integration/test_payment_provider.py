"""The order saga's payment served outside sagad (config payment_provider):
by activity workers (a Python worker thread polling payment.charge and
payment.refund) and by an HTTP provider (a local http.server), with the
payments table and GET /orders/{id} as they are with the simulator."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Daemon, DaemonTestCase, binary, is_asan

ORDER = {"itemId": "coffee-beans", "quantity": 2, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}
WAIT = 30 if is_asan() else 15


def post_json(base, path, body, timeout=10):
    """POST JSON; returns (status, parsed body or None)."""
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
            return r.status, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        data = e.read()
        return e.code, (json.loads(data) if data else None)


class Worker(threading.Thread):
    """An activity worker: long-polls `activity` and reports what `answer`
    returns for each task: ("success", output) or ("failure", error, cause),
    or None to keep the task unanswered."""

    def __init__(self, daemon, activity, answer):
        super().__init__(daemon=True)
        self.d, self.activity, self.answer = daemon, activity, answer
        self.tasks = []
        self.reports = []
        self.polls_refused = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                st, task = post_json(f"http://127.0.0.1:{self.d.port}",
                                     f"/activities/{self.activity}/poll?wait=1",
                                     {"workerName": "test-worker"}, timeout=5)
            except OSError:
                time.sleep(0.05)   # sagad is restarting
                continue
            if st != 200:
                if st != 204:
                    self.polls_refused.append(st)
                    time.sleep(0.05)
                continue
            self.tasks.append(task)
            verdict = self.answer(task)
            if verdict is None:
                continue
            if verdict[0] == "success":
                body = {"taskToken": task["taskToken"], "output": verdict[1]}
            else:
                body = {"taskToken": task["taskToken"], "error": verdict[1], "cause": verdict[2]}
            st, _ = post_json(f"http://127.0.0.1:{self.d.port}", f"/tasks/{verdict[0]}", body)
            self.reports.append((task["taskToken"], st))

    def stop(self):
        self.halt.set()
        self.join(10)


class Provider:
    """A payment provider on a local http.server: POST /charges answers
    `charge_status` (with a paymentId on 2xx), POST /refunds 200 (or the
    first of `refund_statuses` while some are left); every request is kept
    with its headers and body."""

    def __init__(self, charge_status=200):
        self.charge_status = charge_status
        self.refund_statuses = []
        self.requests = []
        self.stall = threading.Event()          # set: /charges never answers
        self.refund_hold = threading.Event()    # set: /refunds waits until cleared
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, dict(self.headers), body))
                if self.path == "/pay/v1/charges":
                    if outer.stall.is_set():
                        time.sleep(60)
                        return
                    if outer.charge_status == "drop":   # the connection ends, no answer
                        self.close_connection = True
                        return
                    status = outer.charge_status
                    reply = ({"paymentId": "prov-" + body["orderId"][:8]} if status < 300
                             else {"message": "card declined" if status == 402 else "boom"})
                elif self.path == "/pay/v1/refunds":
                    while outer.refund_hold.is_set():
                        time.sleep(0.02)
                    status = outer.refund_statuses.pop(0) if outer.refund_statuses else 200
                    reply = {"refundId": "ref-1"} if status < 300 else {"message": "boom"}
                else:
                    status, reply = 404, {}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass   # sagad was killed while the request was held

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/pay/v1/"

    def paths(self):
        return [p for p, _, _ in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PaymentCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.workers = []

    def tearDown(self):
        for w in self.workers:
            w.stop()
        super().tearDown()

    def start(self, **opts):
        self.d = self.daemon(**opts)
        return self.d

    def worker(self, activity, answer):
        w = Worker(self.d, activity, answer)
        self.workers.append(w)
        w.start()
        return w

    def place(self, wait=WAIT, **over):
        body = dict(ORDER, **over)
        st, _, desc = self.d.request("POST", f"/order?wait={wait}", body, timeout=wait + 10)
        self.assertIn(st, (200, 202), desc)
        return desc

    def order_of(self, execution_id):
        _, _, body = self.d.request("GET", "/orders?limit=1000")
        rows = [o for o in body["orders"] if o["executionId"] == execution_id]
        self.assertEqual(len(rows), 1, body)
        st, _, one = self.d.request("GET", f"/orders/{rows[0]['orderId']}")
        self.assertEqual(st, 200, one)
        return one

    def stock(self):
        return self.d.request("GET", "/stock/coffee-beans")[2]["quantity"]

    def payments(self, order_id):
        return self.sql("SELECT payment_id, amount, status, token, execution_id FROM payments "
                        "WHERE order_id = ? ORDER BY created_ms", order_id)

    def entered(self, execution_id):
        _, _, h = self.d.request("GET", f"/executions/{execution_id}/history")
        return [e["details"].get("name") for e in h["events"] if e["type"].endswith("StateEntered")]

    def simulated_order(self):
        """An order placed with the simulator, to compare with."""
        sim = Daemon(payment_failure_rate=0)
        self._daemons.append(sim)
        sim.start()
        st, _, desc = sim.request("POST", f"/order?wait={WAIT}", ORDER, timeout=WAIT + 10)
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)
        _, _, body = sim.request("GET", "/orders?limit=1")
        return sim.request("GET", f"/orders/{body['orders'][0]['orderId']}")[2]

    def assert_like_simulated(self, order):
        sim = self.simulated_order()
        self.assertEqual(sorted(order), sorted(sim))
        for k in sim:
            if k not in ("orderId", "executionId", "createdAt", "updatedAt"):
                self.assertEqual(order[k], sim[k], k)


def charge_and_refund(*refunds):
    """A machine that creates an order, charges 7 for it, then refunds it once
    per (state name, ResultPath) in `refunds`, in that order."""
    chain = [("Create", {"Type": "Task", "Resource": "sagad:orders.create",
                         "Parameters": {"itemId": "coffee-beans", "quantity": 1},
                         "ResultSelector": {"orderId.$": "$.orderId"}, "ResultPath": "$.order"}),
             ("Charge", {"Type": "Task", "Resource": "sagad:payment.process",
                         "Parameters": {"orderId.$": "$.order.orderId", "amount": 7},
                         "ResultPath": "$.payment"})]
    chain += [(name, {"Type": "Task", "Resource": "sagad:payment.refund",
                      "Parameters": {"orderId.$": "$.order.orderId"}, "ResultPath": path})
              for name, path in refunds]
    for (_, state), (following, _) in zip(chain, chain[1:]):
        state["Next"] = following
    chain[-1][1]["End"] = True
    return {"StartAt": "Create", "States": dict(chain)}


REFUND_TWICE = charge_and_refund(("Refund", "$.first"), ("Again", "$.second"))


def refund_only(retries=0):
    """A machine that refunds the order its input names."""
    state = {"Type": "Task", "Resource": "sagad:payment.refund",
             "Parameters": {"orderId.$": "$.orderId"}, "End": True}
    if retries:
        state["Retry"] = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1,
                           "MaxAttempts": retries, "BackoffRate": 1}]
    return {"StartAt": "Refund", "States": {"Refund": state}}


class RefundGuards:
    """Mixed into both outside providers: a refund reaches the provider once
    per charge, whatever machine asks and however often."""
    ALLOW = "twice: orders.create, payment.*; refund: payment.refund; refund2: payment.refund"

    def run_machine(self, name, definition, input=None, wait=WAIT):
        st, _, body = self.d.request("PUT", "/state-machines/" + name, definition)
        self.assertIn(st, (200, 201), body)
        st, _, desc = self.d.request("POST", f"/state-machines/{name}/executions?wait={wait}",
                                     {"input": input or {}}, timeout=wait + 10)
        self.assertIn(st, (200, 202), desc)
        return desc

    def refund_calls(self):
        raise NotImplementedError

    def charged_order(self):
        """An order charged 7 by a machine of its own."""
        desc = self.run_machine("twice", charge_and_refund())
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        return desc["output"]["order"]["orderId"]

    def test_a_second_refund_answers_the_first_and_calls_nothing(self):
        self.start(handler_allow=self.ALLOW)
        self.serve_charges()
        self.serve_refunds()
        desc = self.run_machine("twice", REFUND_TWICE)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        out = desc["output"]
        oid = out["order"]["orderId"]
        self.assertEqual(out["first"], {"orderId": oid, "refunded": 1, "amount": 7})
        self.assertEqual(out["second"], out["first"])
        self.assertEqual(self.refund_calls(), 1)
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])
        # Another machine, later: the same answer, still one call out.
        again = self.run_machine("refund", refund_only(), {"orderId": oid})
        self.assertEqual((again["status"], again["output"]), ("SUCCEEDED", out["first"]), again)
        self.assertEqual(self.refund_calls(), 1)

    def test_a_refund_of_nothing_charged_calls_nothing(self):
        self.start(handler_allow=self.ALLOW)
        desc = self.run_machine("refund", refund_only(), {"orderId": "made-up"})
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        self.assertEqual(desc["output"], {"orderId": "made-up", "refunded": 0, "amount": 0})
        self.assertEqual(self.refund_calls(), 0)


class ActivityProvider(PaymentCase, RefundGuards):
    def start(self, **opts):
        return super().start(payment_provider="activity", payment_failure_rate=1, **opts)

    def serve_charges(self):
        self.worker("payment.charge", lambda t: ("success", {"paymentId": "p-" + t["taskToken"][:8]}))

    def serve_refunds(self):
        self.refunder = self.worker("payment.refund", lambda t: ("success", {"ok": True}))

    def refund_calls(self):
        if not hasattr(self, "refunder"):
            self.serve_refunds()
        time.sleep(1)   # a task handed out would be taken by now
        return len(self.refunder.tasks)

    def test_workers_can_poll_before_the_first_order(self):
        self.start(payment_activity="shop.pay")
        acts = self.d.request("GET", "/activities")[2]["activities"]
        self.assertEqual(sorted(a["name"] for a in acts), ["shop.pay.charge", "shop.pay.refund"])
        for name in ("shop.pay.charge", "shop.pay.refund"):
            st, body = post_json(f"http://127.0.0.1:{self.d.port}", f"/activities/{name}/poll?wait=0",
                                 {"workerName": "early"})
            self.assertEqual((st, body), (204, None), name)
        # A restart keeps them (creating them again changes nothing).
        self.d.stop()
        self.d.start()
        acts = self.d.request("GET", "/activities")[2]["activities"]
        self.assertEqual(sorted(a["name"] for a in acts), ["shop.pay.charge", "shop.pay.refund"])

    def test_worker_charges_and_the_order_is_processed(self):
        self.start()
        w = self.worker("payment.charge",
                        lambda t: ("success", {"paymentId": "w-" + t["input"]["orderId"]}))
        desc = self.place()
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "PROCESSED")
        self.assertEqual(self.stock(), 3)
        # The worker got the Task's input; its paymentId is recorded, once.
        self.assertEqual([t["input"] for t in w.tasks], [{"orderId": order["orderId"], "amount": 2}])
        self.assertRegex(w.tasks[0]["taskToken"], r"^[0-9a-f]{48}$")
        rows = self.payments(order["orderId"])
        self.assertEqual([r[:3] for r in rows], [("w-" + order["orderId"], 2, "CHARGED")])
        self.assertEqual(rows[0][4], desc["executionId"])
        _, _, hist = self.d.request("GET", f"/executions/{desc['executionId']}/history")
        done = [e for e in hist["events"] if e["type"] == "TaskSucceeded"]
        self.assertIn({"paymentId": "w-" + order["orderId"], "orderId": order["orderId"],
                       "amount": 2, "status": "CHARGED"}, [e["details"].get("output") for e in done])
        self.assertEqual(w.reports, [(w.tasks[0]["taskToken"], 200)])
        self.assertEqual(w.polls_refused, [])
        self.assert_like_simulated(order)

    def test_worker_decline_cancels_and_releases_stock(self):
        self.start()
        self.worker("payment.charge", lambda t: ("failure", "PaymentFailed", "card declined"))
        refunds = self.worker("payment.refund", lambda t: ("success", {}))
        desc = self.place()
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "PaymentFailed"), desc)
        self.assertEqual(desc["cause"], "card declined")
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "CANCELLED")
        self.assertEqual(self.stock(), 5)
        self.assertEqual(self.payments(order["orderId"]), [])
        # A decline charged nothing: no refund.
        entered = self.entered(desc["executionId"])
        self.assertIn("CancelReservation", entered)
        self.assertNotIn("RefundPayment", entered)
        self.assertEqual(refunds.tasks, [])

    def test_failed_charge_is_refunded_through_the_worker(self):
        self.start()
        self.worker("payment.charge", lambda t: ("failure", "ProviderUnavailable", "try later"))
        refunds = self.worker("payment.refund", lambda t: ("success", {"refunded": True}))
        desc = self.place()
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "ProviderUnavailable"), desc)
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "CANCELLED")
        self.assertEqual(self.stock(), 5)
        self.assertIn("RefundPayment", self.entered(desc["executionId"]))
        self.assertEqual([t["input"] for t in refunds.tasks], [{"orderId": order["orderId"]}])
        self.assertEqual(refunds.reports, [(refunds.tasks[0]["taskToken"], 200)])

    def test_a_paymentid_reported_twice_is_refused_and_refunded(self):
        """A provider id already recorded for another charge cannot be a
        second payments row: the step fails clearly and the saga refunds."""
        self.start()
        self.worker("payment.charge", lambda t: ("success", {"paymentId": "same"}))
        refunds = self.worker("payment.refund", lambda t: ("success", {}))
        first = self.place()
        self.assertEqual(first["status"], "SUCCEEDED", first)
        second = self.place()
        self.assertEqual((second["status"], second["error"]), ("FAILED", "States.TaskFailed"),
                         second)
        self.assertIn("'same'", second["cause"])
        order = self.order_of(second["executionId"])
        self.assertEqual(order["status"], "CANCELLED")
        self.assertEqual(self.payments(order["orderId"]), [])
        self.assertEqual([t["input"] for t in refunds.tasks], [{"orderId": order["orderId"]}])
        self.assertEqual(self.stock(), 3)
        self.assertEqual(self.d.request("GET", "/healthz")[0], 200)

    def test_charge_then_refund_marks_the_row_refunded(self):
        """A machine of one's own: an order, a recorded charge, then its
        refund through the worker flips the row to REFUNDED."""
        self.start(handler_allow="charge-refund: orders.create, payment.*")
        self.worker("payment.charge", lambda t: ("success", {"paymentId": "p-1"}))
        refunds = self.worker("payment.refund", lambda t: ("success", {"ok": True}))
        st, _, body = self.d.request("PUT", "/state-machines/charge-refund",
                                     charge_and_refund(("Refund", "$")))
        self.assertIn(st, (200, 201), body)
        st, _, desc = self.d.request("POST", f"/state-machines/charge-refund/executions?wait={WAIT}",
                                     {"input": {}}, timeout=WAIT + 10)
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        oid = desc["output"]["orderId"]
        self.assertEqual(desc["output"], {"orderId": oid, "refunded": 1, "amount": 7})
        self.assertEqual([r[:3] for r in self.payments(oid)], [("p-1", 7, "REFUNDED")])
        self.assertEqual([t["input"] for t in refunds.tasks], [{"orderId": oid}])

    def test_no_charge_for_an_order_that_does_not_exist(self):
        """Whichever machine calls it, payment.process charges only a PENDING
        order: no worker is asked, nothing is recorded."""
        self.start(handler_allow="charge-nothing: payment.process")
        charges = self.worker("payment.charge", lambda t: ("success", {"paymentId": "p-9"}))
        st, _, body = self.d.request("PUT", "/state-machines/charge-nothing", {
            "StartAt": "Charge", "States": {
                "Charge": {"Type": "Task", "Resource": "sagad:payment.process",
                           "Parameters": {"orderId": "made-up", "amount": 7}, "End": True}}})
        self.assertIn(st, (200, 201), body)
        st, _, desc = self.d.request("POST", f"/state-machines/charge-nothing/executions?wait={WAIT}",
                                     {"input": {}}, timeout=WAIT + 10)
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "OrderNotFound"), desc)
        self.assertEqual(self.payments("made-up"), [])
        self.assertEqual(charges.tasks, [])

    def test_prefix_names_the_activities(self):
        self.start(payment_activity="shop.pay")
        w = self.worker("shop.pay.charge", lambda t: ("success", {}))
        desc = self.place()
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        order = self.order_of(desc["executionId"])
        rows = self.payments(order["orderId"])
        self.assertEqual(len(rows), 1)
        self.assertRegex(rows[0][0], r"^[0-9a-f-]{36}$")   # no paymentId reported: a UUID
        self.assertEqual(len(w.tasks), 1)
        names = [a["name"] for a in self.d.request("GET", "/activities")[2]["activities"]]
        self.assertIn("shop.pay.charge", names)

    def test_kill9_while_a_charge_is_delivered_completes_once(self):
        self.start()
        held = []
        w = self.worker("payment.charge", lambda t: held.append(t))   # takes, never answers
        desc = self.place(wait=0)
        eid = desc["executionId"]
        deadline = time.time() + WAIT
        while not held and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(held), 1, "the worker got no charge")
        token = held[0]["taskToken"]
        w.stop()
        self.d.kill()
        self.d.start()
        st, body = post_json(f"http://127.0.0.1:{self.d.port}", "/tasks/success",
                             {"taskToken": token, "output": {"paymentId": "after-crash"}})
        self.assertEqual((st, body), (200, {}))
        done = self.d.wait_ended(eid, timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        order = self.order_of(eid)
        self.assertEqual(order["status"], "PROCESSED")
        self.assertEqual([r[:3] for r in self.payments(order["orderId"])],
                         [("after-crash", 2, "CHARGED")])
        # The token is spent: a second report changes nothing, nothing is queued.
        st, body = post_json(f"http://127.0.0.1:{self.d.port}", "/tasks/success",
                             {"taskToken": token, "output": {"paymentId": "again"}})
        self.assertEqual((st, body["error"]), (404, "TaskDoesNotExist"))
        st, _ = post_json(f"http://127.0.0.1:{self.d.port}", "/activities/payment.charge/poll?wait=0",
                          {})
        self.assertEqual(st, 204)
        self.assertEqual(len(self.payments(order["orderId"])), 1)
        self.assertEqual(self.stock(), 3)

    def test_concurrent_refund_hands_out_one_task(self):
        """A refund that finds another refund of the order in progress fails
        RefundInProgress and hands out nothing; once the first is done a
        retry answers its result."""
        self.start(handler_allow=self.ALLOW)
        self.serve_charges()
        held = []
        w = self.worker("payment.refund", lambda t: held.append(t))   # takes, answers later
        first = self.run_machine("refund", refund_only(), {"orderId": self.charged_order()}, wait=0)
        deadline = time.time() + WAIT
        while not held and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(held), 1)
        oid = held[0]["input"]["orderId"]
        second = self.run_machine("refund2", refund_only(), {"orderId": oid})
        self.assertEqual((second["status"], second.get("error")), ("FAILED", "RefundInProgress"), second)
        self.assertIn(oid, second["cause"])
        time.sleep(1.5)
        self.assertEqual(len(held), 1, "a second refund task was handed out")
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDING"])
        st, _ = post_json(f"http://127.0.0.1:{self.d.port}", "/tasks/success",
                          {"taskToken": held[0]["taskToken"], "output": {}})
        self.assertEqual(st, 200)
        done = self.d.wait_ended(first["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        want = {"orderId": oid, "refunded": 1, "amount": 7}
        self.assertEqual(done["output"], want)
        again = self.run_machine("refund2", refund_only(), {"orderId": oid})
        self.assertEqual((again["status"], again["output"]), ("SUCCEEDED", want), again)
        time.sleep(1)
        self.assertEqual(len(held), 1)
        w.stop()



    def test_kill9_while_a_refund_is_delivered_completes_once(self):
        """The claim survives the crash: the same task is delivered again
        and its report refunds the order once."""
        self.start(handler_allow=self.ALLOW)
        self.serve_charges()
        oid = self.charged_order()
        held = []
        w = self.worker("payment.refund", lambda t: held.append(t))   # takes, never answers
        first = self.run_machine("refund", refund_only(), {"orderId": oid}, wait=0)
        deadline = time.time() + WAIT
        while not held and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(held), 1)
        w.stop()
        self.d.kill()
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDING"])
        self.d.start()
        st, body = post_json(f"http://127.0.0.1:{self.d.port}", "/tasks/success",
                             {"taskToken": held[0]["taskToken"], "output": {}})
        self.assertEqual((st, body), (200, {}))
        done = self.d.wait_ended(first["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        self.assertEqual(done["output"], {"orderId": oid, "refunded": 1, "amount": 7})
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])
        st, _ = post_json(f"http://127.0.0.1:{self.d.port}", "/activities/payment.refund/poll?wait=0",
                          {})
        self.assertEqual(st, 204)


class HttpProvider(PaymentCase, RefundGuards):
    def setUp(self):
        super().setUp()
        self.p = Provider()
        self.addCleanup(self.p.close)

    def start(self, **opts):
        # http_task_allow stays empty: the operator's payment_url needs no entry.
        return super().start(payment_provider="http", payment_url=self.p.url(),
                             payment_failure_rate=1, **opts)

    def serve_charges(self):
        pass

    def serve_refunds(self):
        pass

    def refund_calls(self):
        return self.p.paths().count("/pay/v1/refunds")

    def refund_requests(self):
        return [(h["Idempotency-Key"], b) for p, h, b in self.p.requests if p == "/pay/v1/refunds"]

    def wait_refund_requests(self, n):
        deadline = time.time() + WAIT
        while self.refund_calls() < n and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.refund_calls(), n)

    def test_concurrent_refund_sends_once(self):
        """While one refund of an order is out, another fails RefundInProgress
        without a request; once the first is done a retry answers its result."""
        self.start(handler_allow=self.ALLOW)
        oid = self.charged_order()
        self.p.refund_hold.set()
        first = self.run_machine("refund", refund_only(), {"orderId": oid}, wait=0)
        self.wait_refund_requests(1)
        second = self.run_machine("refund2", refund_only(), {"orderId": oid})
        self.assertEqual((second["status"], second.get("error")), ("FAILED", "RefundInProgress"), second)
        self.assertIn(oid, second["cause"])
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDING"])
        self.p.refund_hold.clear()
        done = self.d.wait_ended(first["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        want = {"orderId": oid, "refunded": 1, "amount": 7}
        again = self.run_machine("refund2", refund_only(), {"orderId": oid})
        self.assertEqual((again["status"], again["output"]), ("SUCCEEDED", want), again)
        self.assertEqual(self.refund_calls(), 1)
        self.assertEqual([b["amount"] for _, b in self.refund_requests()], [7])
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])

    def test_kill9_while_refunding_sends_the_same_key_once_more(self):
        self.start(handler_allow=self.ALLOW)
        oid = self.charged_order()
        self.p.refund_hold.set()
        first = self.run_machine("refund", refund_only(), {"orderId": oid}, wait=0)
        self.wait_refund_requests(1)
        self.d.kill()
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDING"])
        self.p.refund_hold.clear()
        self.d.start()
        done = self.d.wait_ended(first["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        sent = self.refund_requests()
        self.assertEqual(len(sent), 2)
        self.assertEqual(sent[0], sent[1])
        self.assertRegex(sent[0][0], "^" + first["executionId"] + r":Refund:\d+:0$")
        self.assertEqual(sent[0][1]["amount"], 7)
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])

    def test_a_stopped_refund_is_finished_by_the_next_under_its_key(self):
        """A claim whose execution was stopped while its refund was out is
        taken over by the next refund of the order: same key, same amount."""
        self.start(handler_allow=self.ALLOW)
        oid = self.charged_order()
        self.p.refund_hold.set()
        first = self.run_machine("refund", refund_only(), {"orderId": oid}, wait=0)
        self.wait_refund_requests(1)
        st, _, body = self.d.request("POST", f"/executions/{first['executionId']}/stop", {})
        self.assertEqual(st, 200, body)
        self.assertEqual(self.d.wait_ended(first["executionId"])["status"], "ABORTED")
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDING"])
        self.p.refund_hold.clear()
        second = self.run_machine("refund2", refund_only(), {"orderId": oid})
        self.assertEqual((second["status"], second["output"]),
                         ("SUCCEEDED", {"orderId": oid, "refunded": 1, "amount": 7}), second)
        sent = self.refund_requests()
        self.assertEqual(len(sent), 2)
        self.assertEqual(sent[0], sent[1])
        self.assertRegex(sent[0][0], "^" + first["executionId"] + r":Refund:\d+:0$")
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])

    def test_a_retried_refund_sends_the_first_key_again(self):
        """A refund attempt that failed may still have refunded: the retry
        asks again under the same Idempotency-Key for the same amount."""
        self.start(handler_allow=self.ALLOW)
        oid = self.charged_order()
        self.p.refund_statuses = [503]
        desc = self.run_machine("refund", refund_only(retries=2), {"orderId": oid})
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        sent = self.refund_requests()
        self.assertEqual(len(sent), 2)
        self.assertEqual(sent[0], sent[1])
        self.assertRegex(sent[0][0], r":Refund:\d+:0$")
        self.assertEqual([r[2] for r in self.payments(oid)], ["REFUNDED"])

    def test_200_charges_with_the_idempotency_key(self):
        self.start()
        desc = self.place()
        self.assertEqual(desc["status"], "SUCCEEDED", desc)
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "PROCESSED")
        self.assertEqual(self.stock(), 3)
        self.assertEqual(self.p.paths(), ["/pay/v1/charges"])
        _, headers, body = self.p.requests[0]
        self.assertEqual(body, {"orderId": order["orderId"], "amount": 2,
                                "executionId": desc["executionId"]})
        # The key is the call's token, the payments row's key too.
        key = headers["Idempotency-Key"]
        self.assertRegex(key, "^" + desc["executionId"] + r":ProcessPayment:\d+:0$")
        self.assertEqual(headers["Content-Type"], "application/json")
        rows = self.payments(order["orderId"])
        self.assertEqual(rows, [("prov-" + order["orderId"][:8], 2, "CHARGED", key,
                                 desc["executionId"])])
        self.assert_like_simulated(order)

    def test_402_declines_and_releases_stock(self):
        self.p.charge_status = 402
        self.start()
        desc = self.place()
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "PaymentFailed"), desc)
        self.assertIn("card declined", desc["cause"])
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "CANCELLED")
        self.assertEqual(self.stock(), 5)
        self.assertEqual(self.payments(order["orderId"]), [])
        self.assertEqual(self.p.paths(), ["/pay/v1/charges"])
        self.assertNotIn("RefundPayment", self.entered(desc["executionId"]))

    def test_500_takes_the_refund_path(self):
        self.p.charge_status = 500
        self.start()
        desc = self.place()
        self.assertEqual((desc["status"], desc["error"]),
                         ("FAILED", "States.Http.StatusCode.500"), desc)
        order = self.order_of(desc["executionId"])
        self.assertEqual(order["status"], "CANCELLED")
        self.assertEqual(self.stock(), 5)
        self.assertIn("RefundPayment", self.entered(desc["executionId"]))
        self.assertEqual(self.p.paths(), ["/pay/v1/charges", "/pay/v1/refunds"])
        _, headers, body = self.p.requests[1]
        self.assertEqual(body, {"orderId": order["orderId"], "amount": 0,
                                "executionId": desc["executionId"]})
        self.assertRegex(headers["Idempotency-Key"],
                         "^" + desc["executionId"] + r":RefundPayment:\d+:0$")
        self.assertEqual(self.payments(order["orderId"]), [])

    def test_charge_without_answer_takes_the_refund_path(self):
        self.p.charge_status = "drop"
        self.start()
        desc = self.place()
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Http.Socket"), desc)
        self.assertEqual(self.order_of(desc["executionId"])["status"], "CANCELLED")
        self.assertEqual(self.stock(), 5)
        self.assertEqual(self.p.paths(), ["/pay/v1/charges", "/pay/v1/refunds"])

    def test_kill9_mid_charge_resends_with_the_same_key(self):
        self.p.stall.set()
        self.start()
        desc = self.place(wait=0)
        deadline = time.time() + WAIT
        while not self.p.requests and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.p.paths(), ["/pay/v1/charges"])
        self.d.kill()
        self.p.stall.clear()
        self.d.start()
        done = self.d.wait_ended(desc["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        self.assertEqual(self.p.paths(), ["/pay/v1/charges"] * 2)
        keys = {h["Idempotency-Key"] for _, h, _ in self.p.requests}
        order = self.order_of(desc["executionId"])
        rows = self.payments(order["orderId"])
        self.assertEqual(len(rows), 1)
        self.assertEqual(keys, {rows[0][3]})


    def test_sigterm_mid_charge_exits_0_and_charges_after_restart(self):
        self.p.stall.set()
        self.start()
        desc = self.place(wait=0)
        deadline = time.time() + WAIT
        while not self.p.requests and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.p.paths(), ["/pay/v1/charges"])
        self.assertEqual(self.d.stop(), 0, self.d.stderr()[-3000:])
        self.assertIsNone(self.d.sanitizer_report())
        self.p.stall.clear()
        self.d.start()
        done = self.d.wait_ended(desc["executionId"], timeout=WAIT)
        self.assertEqual(done["status"], "SUCCEEDED", done)
        self.assertEqual(len({h["Idempotency-Key"] for _, h, _ in self.p.requests}), 1)


class ProviderConfig(unittest.TestCase):
    def run_sagad(self, *args):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([binary("sagad"), f"--database={d}/x.db", "--listen=127.0.0.1:0",
                                "--redis=", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=20)
        return p.returncode, p.stderr.decode()

    def test_http_without_url_is_refused(self):
        code, err = self.run_sagad("--payment_provider=http")
        self.assertEqual(code, 2)
        self.assertIn("command line: key 'payment_provider'", err)
        self.assertIn("payment_url", err)

    def test_bad_values_name_the_key(self):
        for arg, key in (("--payment_provider=paypal", "payment_provider"),
                         ("--payment_url=ftp://x", "payment_url"),
                         ("--payment_activity=no spaces", "payment_activity")):
            code, err = self.run_sagad(arg)
            self.assertEqual(code, 2, arg)
            self.assertIn(f"key '{key}'", err)

    def test_conf_file_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.conf")
            with open(path, "w") as f:
                f.write("# payment\npayment_provider = http\n")
            code, err = self.run_sagad("-c", path)
        self.assertEqual(code, 2)
        self.assertIn(f"{path}:2: key 'payment_provider'", err)


if __name__ == "__main__":
    unittest.main()
