"""GET /state-machines/{name}/graph.svg and GET /executions/{id}/graph.svg
on a real sagad: SVG drawn by libgvc with a <g id="state:PATH"
class="node state outcome-X"> per state, the version an execution ran, the
outcomes of failed, caught and running executions, Map iteration counts,
404/400 answers, ETag revalidation, and `sagactl graph --svg` printing the
same drawing."""
import json
import os
import re
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from harness import ROOT, DaemonTestCase, binary

SVG_NS = "{http://www.w3.org/2000/svg}"

LINE = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Next": "T"},
    "T": {"Type": "Task", "Resource": "sagad:fail", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

LINE_V2 = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Next": "B"},
    "B": {"Type": "Pass", "Next": "T"},
    "T": {"Type": "Task", "Resource": "sagad:fail", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}

# A Parallel whose failing branch is caught, or a Map over the items.
RICH = {"StartAt": "Route", "States": {
    "Route": {"Type": "Choice", "Choices": [
        {"Variable": "$.kind", "StringEquals": "fan", "Next": "Fan"}], "Default": "Each"},
    "Fan": {"Type": "Parallel", "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {
                    "Right": {"Type": "Task", "Resource": "sagad:fail", "End": True}}}]},
    "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
             "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}}},
    "Handled": {"Type": "Pass", "End": True},
    "Done": {"Type": "Succeed"}}}

SLOW = {"StartAt": "Sleep", "States": {
    "Sleep": {"Type": "Wait", "Seconds": 600, "Next": "Done"},
    "Done": {"Type": "Succeed"}}}


def states(svg):
    """{PATH: [classes]} of the state nodes of an SVG document."""
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(SVG_NS + "g"):
        gid = g.get("id", "")
        if gid.startswith("state:"):
            out[gid[len("state:"):]] = g.get("class", "").split()
    return out


def outcome(svg, path):
    cls = states(svg)[path]
    assert cls[:2] == ["node", "state"], cls
    found = [c[len("outcome-"):] for c in cls if c.startswith("outcome-")]
    return found[0] if found else None


class GraphSvgTest(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon()

    def run_to_end(self, name, inp):
        return super().run_to_end(name, inp, wait=10)

    def svg(self, path, status=200):
        st, h, body = self.d.request("GET", path)
        self.assertEqual(st, status, body)
        if status == 200:
            self.assertEqual(h["content-type"], "image/svg+xml; charset=utf-8")
            self.assertTrue(body.lstrip().startswith("<?xml"), body[:200])
            self.assertIn("<svg", body)
        return body

    def ctl(self, *args):
        env = dict(os.environ, SAGAD_URL="http://127.0.0.1:%d" % self.d.port, NO_COLOR="1")
        p = subprocess.run([binary("sagactl")] + list(args), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_machine_graph_has_every_state(self):
        svg = self.svg("/state-machines/order/graph.svg")
        with open(os.path.join(ROOT, "sagas", "order.asl.json")) as f:
            names = set(json.load(f)["States"])
        got = states(svg)
        self.assertEqual(set(got), names)
        for path, cls in got.items():
            # No execution: a plain state, no outcome.
            self.assertEqual(cls, ["node", "state"], path)
        self.assertIn('<g id="state:CreateOrder" class="node state">', svg)
        # The same drawing again, and a 304 for a browser that has it.
        st, h, again = self.d.request("GET", "/state-machines/order/graph.svg")
        self.assertEqual((st, again), (200, svg))
        self.assertEqual(h["cache-control"], "no-cache")
        st, h2, body = self.d.request("GET", "/state-machines/order/graph.svg",
                                      headers={"If-None-Match": h["etag"]})
        self.assertEqual((st, body, h2["etag"]), (304, None, h["etag"]))

    def test_versions_and_errors(self):
        self.put("line", LINE)
        self.put("line", LINE_V2)
        self.assertIn("B", states(self.svg("/state-machines/line/graph.svg")))
        self.assertIn("B", states(self.svg("/state-machines/line/graph.svg?version=2")))
        self.assertEqual(set(states(self.svg("/state-machines/line/graph.svg?version=1"))),
                         {"A", "T", "Done"})
        body = self.svg("/state-machines/line/graph.svg?version=3", 404)
        self.assertEqual(body["error"], "StateMachineDoesNotExist")
        for bad in ("0", "-1", "x", "", "1.5"):
            body = self.svg("/state-machines/line/graph.svg?version=" + bad, 400)
            self.assertEqual(body["error"], "InvalidParameter", bad)
        body = self.svg("/state-machines/no-such/graph.svg", 404)
        self.assertEqual(body["error"], "StateMachineDoesNotExist")
        body = self.svg("/executions/no-such-id/graph.svg", 404)
        self.assertEqual(body["error"], "ExecutionDoesNotExist")
        # The daemon keeps serving.
        self.svg("/state-machines/line/graph.svg")

    def test_failed_execution_marks_failing_state(self):
        self.put("line", LINE)
        ex = self.run_to_end("line", {})
        self.assertEqual(ex["status"], "FAILED")
        # A newer version does not change what the execution ran.
        self.put("line", LINE_V2)
        svg = self.svg("/executions/%s/graph.svg" % ex["executionId"])
        self.assertEqual(set(states(svg)), {"A", "T", "Done"})
        self.assertIn('<g id="state:T" class="node state outcome-failed">', svg)
        self.assertEqual(outcome(svg, "A"), "succeeded")
        self.assertEqual(outcome(svg, "Done"), "notreached")
        # Painted onto the machine's drawing: the same geometry.
        machine = self.svg("/state-machines/line/graph.svg?version=1")
        self.assertEqual(re.search(r'viewBox="[^"]*"', svg).group(0),
                         re.search(r'viewBox="[^"]*"', machine).group(0))

    def test_caught_parallel_and_map_iterations(self):
        self.put("rich", RICH)
        ex = self.run_to_end("rich", {"kind": "fan"})
        self.assertEqual(ex["status"], "SUCCEEDED")
        svg = self.svg("/executions/%s/graph.svg" % ex["executionId"])
        want = {"Route": "succeeded", "Fan": "caught", "Fan/0/Left": "succeeded",
                "Fan/1/Right": "failed", "Handled": "succeeded", "Each": "notreached",
                "Each/0/One": "notreached", "Done": "notreached"}
        self.assertEqual({p: outcome(svg, p) for p in want}, want)
        # Route -> Fan -> Handled (the catch), and the start: bold.
        self.assertGreaterEqual(len(re.findall(r'<g id="edge:\d+" class="edge taken">', svg)), 3)
        ex = self.run_to_end("rich", {"kind": "map", "items": [1, 2, 3]})
        self.assertEqual(ex["status"], "SUCCEEDED")
        svg = self.svg("/executions/%s/graph.svg" % ex["executionId"])
        self.assertEqual(outcome(svg, "Each"), "succeeded")
        self.assertEqual(outcome(svg, "Each/0/One"), "succeeded")
        self.assertEqual(outcome(svg, "Fan"), "notreached")
        self.assertIn(">Each (Map: 3 iterations)</text>", svg)

    def test_running_then_stopped(self):
        self.put("slow", SLOW)
        st, _, run = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        self.assertEqual(st, 202)
        path = "/executions/%s/graph.svg" % run["executionId"]
        deadline = time.time() + 10
        while outcome(self.svg(path), "Sleep") != "running" and time.time() < deadline:
            time.sleep(0.05)
        svg = self.svg(path)
        self.assertEqual((outcome(svg, "Sleep"), outcome(svg, "Done")), ("running", "notreached"))
        st, h, _ = self.d.request("GET", path)
        st, _, _ = self.d.request("POST", "/executions/%s/stop" % run["executionId"], {})
        self.assertEqual(st, 200)
        # A new event: a new drawing, not the cached one (nor a 304).
        st, h2, svg = self.d.request("GET", path, headers={"If-None-Match": h["etag"]})
        self.assertEqual(st, 200)
        self.assertNotEqual(h2["etag"], h["etag"])
        self.assertEqual(outcome(svg, "Sleep"), "failed")

    def test_sagactl_graph_svg_is_the_servers(self):
        self.put("line", LINE)
        ex = self.run_to_end("line", {})
        code, out, err = self.ctl("graph", "line", "--svg")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, self.svg("/state-machines/line/graph.svg"))
        code, out, err = self.ctl("graph", "line", "--execution", ex["executionId"], "--svg")
        self.assertEqual(code, 0, err)
        self.assertEqual(out, self.svg("/executions/%s/graph.svg" % ex["executionId"]))
        self.assertEqual(outcome(out, "T"), "failed")
        # Without --svg it is still DOT.
        code, out, err = self.ctl("graph", "line")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith('digraph "line" {'), out[:100])
        self.assertRegex(out, r'"T" \[label="T\\nsagad:fail", id="state:T"')


if __name__ == "__main__":
    unittest.main()
