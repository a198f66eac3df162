"""review: drawing a machine's graph must not stop the daemon. Graphviz's
layout runs on the event loop, so a 120-state machine (18 KB) freezes every
other request (and SIGTERM) for tens of seconds."""
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
        self.assertEqual(d.request("PUT", "/state-machines/big", tangled())[0], 201)
        t = threading.Thread(target=lambda: d.request("GET", "/state-machines/big/graph.svg", timeout=120),
                             daemon=True)
        t.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        st, _, _ = d.request("GET", "/healthz", timeout=120)
        self.assertEqual(st, 200)
        self.assertLess(time.monotonic() - t0, 2.0, "the event loop was blocked by the layout")
        t.join(120)
