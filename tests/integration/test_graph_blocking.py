"""Drawing a machine's graph must not stop the daemon: Graphviz lays out a
tangled 70-state machine for seconds (120 states: tens of seconds), so the
layout runs off the event loop; a machine too big to draw is refused."""
import threading
import time

from harness import DaemonTestCase


def tangled(n=120):
    st = {}
    for i in range(n):
        nxt = "S%d" % (i + 1)
        if i % 3 == 0 and i + 3 < n:
            st["S%d" % i] = {"Type": "Choice", "Default": nxt, "Choices": [
                {"Variable": "$.x", "NumericEquals": k, "Next": "S%d" % ((i * 7 + k * 13) % n)}
                for k in range(6)]}
        else:
            st["S%d" % i] = {"Type": "Pass", "Next": nxt} if i < n - 1 else {"Type": "Succeed"}
    return {"StartAt": "S0", "States": st}


class GraphBlocking(DaemonTestCase):
    def test_healthz_answers_while_a_graph_is_drawn(self):
        d = self.daemon()
        self.assertEqual(d.request("PUT", "/state-machines/big", tangled(70))[0], 201)
        t = threading.Thread(target=lambda: d.request("GET", "/state-machines/big/graph.svg", timeout=120),
                             daemon=True)
        t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        st, _, _ = d.request("GET", "/healthz", timeout=120)
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 2.0, "the event loop was blocked by the layout")
        t.join(120)

    def test_too_big_to_draw_is_422(self):
        d = self.daemon()
        states = {"S%d" % i: {"Type": "Pass", "Next": "S%d" % (i + 1)} for i in range(500)}
        states["S500"] = {"Type": "Succeed"}
        self.assertEqual(d.request("PUT", "/state-machines/huge",
                                   {"StartAt": "S0", "States": states})[0], 201)
        st, _, body = d.request("GET", "/state-machines/huge/graph.svg")
        self.assertEqual((st, body["error"]), (422, "GraphTooLarge"), body)
        self.assertIn("sagactl graph", body["message"])
        self.assertEqual(d.request("GET", "/healthz")[0], 200)
