"""State machines and executions over real HTTP against a real sagad and a
real SQLite file: registration, starts (idempotent, ?wait), descriptions,
history, listing with cursors, stop, and durable timers across kill -9."""
import json
import time
import unittest

from harness import Daemon, DaemonTestCase, is_asan

PASS_WAIT = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 0, "Next": "S"},
        "S": {"Type": "Succeed"},
    },
}


def wait_machine(seconds):
    return {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": seconds, "Next": "S"},
        "S": {"Type": "Succeed"}}}


class StateMachines(DaemonTestCase):
    def test_put_get_versions_and_list(self):
        d = self.daemon()
        st, h, body = d.request("PUT", "/state-machines/m1", PASS_WAIT)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["version"], 1)
        self.assertEqual(h.get("location"), "/state-machines/m1")
        st, _, body = d.request("PUT", "/state-machines/m1", json.dumps(PASS_WAIT))
        self.assertEqual(st, 200, body)
        changed = dict(PASS_WAIT, Comment="v2")
        st, _, body = d.request("PUT", "/state-machines/m1", changed)
        self.assertEqual((st, body["version"]), (200, 2))
        st, _, body = d.request("GET", "/state-machines/m1")
        self.assertEqual(st, 200)
        self.assertEqual(body["definition"]["Comment"], "v2")
        st, _, body = d.request("GET", "/state-machines")
        self.assertIn("m1", [m["name"] for m in body["stateMachines"]])

    def test_versions_and_version_query(self):
        d = self.daemon()
        for c in ("v1", "v2", "v3"):
            st, _, _ = d.request("PUT", "/state-machines/m1", dict(PASS_WAIT, Comment=c))
            self.assertIn(st, (200, 201))
        st, _, body = d.request("GET", "/state-machines/m1/versions")
        self.assertEqual(st, 200, body)
        self.assertEqual([v["version"] for v in body["versions"]], [3, 2, 1])
        self.assertTrue(all(v["createdDate"].endswith("Z") for v in body["versions"]))
        st, _, body = d.request("GET", "/state-machines/m1?version=2")
        self.assertEqual((st, body["version"], body["definition"]["Comment"]), (200, 2, "v2"))
        st, _, body = d.request("GET", "/state-machines/m1?version=9")
        self.assertEqual((st, body["error"]), (404, "StateMachineVersionDoesNotExist"))
        for bad in ("0", "x", "", "1.5", "99999999999"):
            st, _, body = d.request("GET", "/state-machines/m1?version=" + bad)
            self.assertEqual(st, 400, bad)
        st, _, body = d.request("GET", "/state-machines/nope/versions")
        self.assertEqual((st, body["error"]), (404, "StateMachineDoesNotExist"))
        # A start may name the version it runs.
        st, _, body = d.request("POST", "/state-machines/m1/executions?version=1&wait=5",
                                {"input": {}})
        self.assertEqual(st, 200, body)
        st, _, desc = d.request("GET", "/executions/" + body["executionId"])
        self.assertEqual(desc.get("stateMachineVersion", desc.get("version")), 1, desc)

    def test_whole_machine_rules_of_aws(self):
        d = self.daemon()
        dup = {"StartAt": "Fan", "States": {
            "Fan": {"Type": "Parallel", "Next": "Done", "Branches": [
                {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}]},
            "Done": {"Type": "Succeed"}}}
        st, _, body = d.request("PUT", "/state-machines/dup", dup)
        self.assertEqual((st, body["error"]), (400, "InvalidDefinition"), body)
        self.assertIn("unique across the whole machine", body["message"])
        endless = {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}}
        st, _, body = d.request("PUT", "/state-machines/endless", endless)
        self.assertEqual(st, 400, body)
        self.assertIn("no terminal state", body["message"])
        branch = {"StartAt": "Fan", "States": {"Fan": {"Type": "Parallel", "End": True,
            "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "X"}}}]}}}
        st, _, body = d.request("PUT", "/state-machines/branch", branch)
        self.assertEqual(st, 400, body)
        self.assertEqual(body["problems"][0]["state"], "Fan/0")
        # 80 characters, counted as characters: 80 two-byte letters are fine.
        long_name = "\u00e9" * 80
        ok = {"StartAt": long_name, "States": {long_name: {"Type": "Succeed"}}}
        self.assertEqual(d.request("PUT", "/state-machines/long", ok)[0], 201)
        too_long = {"StartAt": long_name + "e", "States": {long_name + "e": {"Type": "Succeed"}}}
        self.assertEqual(d.request("PUT", "/state-machines/long2", too_long)[0], 400)

    def test_invalid_definition_lists_every_problem(self):
        d = self.daemon()
        bad = {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Bogus", "End": True}}}
        st, _, body = d.request("PUT", "/state-machines/bad", bad)
        self.assertEqual(st, 400)
        self.assertEqual(body["error"], "InvalidDefinition")
        states = {p["state"] for p in body["problems"]}
        self.assertIn("A", states)
        self.assertIn("B", states)
        self.assertGreaterEqual(len(body["problems"]), 2)
        st, _, _ = d.request("GET", "/state-machines/bad")
        self.assertEqual(st, 404)

    def test_not_json_and_bad_name(self):
        d = self.daemon()
        st, _, body = d.request("PUT", "/state-machines/x", "{not json")
        self.assertEqual(st, 400)
        self.assertIn("error", body)
        st, _, body = d.request("PUT", "/state-machines/bad%20name", PASS_WAIT)
        self.assertEqual((st, body["error"]), (400, "InvalidName"))

    def test_unknown_handler_is_a_problem(self):
        d = self.daemon()
        m = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "sagad:no.such", "End": True}}}
        st, _, body = d.request("PUT", "/state-machines/t", m)
        self.assertEqual(st, 400)
        self.assertEqual(body["problems"][0]["state"], "T")
        self.assertEqual(body["problems"][0]["field"], "Resource")


class Executions(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.daemon()
        st, _, _ = self.d.request("PUT", "/state-machines/m", PASS_WAIT)
        self.assertEqual(st, 201)

    def start(self, body, query=""):
        return self.d.request("POST", "/state-machines/m/executions" + query, body)

    def test_start_returns_202_location_then_succeeds(self):
        st, h, body = self.start({"input": {"a": 1}})
        self.assertEqual(st, 202, body)
        self.assertEqual(body["status"], "RUNNING")
        eid = body["executionId"]
        self.assertEqual(h["location"], f"/executions/{eid}")
        deadline = time.time() + 10
        while time.time() < deadline:
            st, _, desc = self.d.request("GET", f"/executions/{eid}")
            if desc["status"] != "RUNNING":
                break
            time.sleep(0.02)
        self.assertEqual(desc["status"], "SUCCEEDED")
        self.assertEqual(desc["output"], {"a": 1, "r": {"x": 1}})
        self.assertEqual(desc["stateMachine"], "m")
        self.assertEqual(desc["currentState"], "S")
        for k in ("executionId", "name", "startDate", "stopDate", "input", "error", "cause"):
            self.assertIn(k, desc)
        self.assertRegex(desc["startDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

    def test_wait_returns_full_description(self):
        st, _, body = self.start({"input": {"a": 2}}, "?wait=5")
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "SUCCEEDED")
        self.assertEqual(body["output"]["r"], {"x": 1})

    def test_wait_times_out_with_202(self):
        self.d.request("PUT", "/state-machines/slow", wait_machine(5))
        t0 = time.time()
        st, _, body = self.d.request("POST", "/state-machines/slow/executions?wait=0.3", {"input": {}})
        self.assertEqual(st, 202, body)
        self.assertLess(time.time() - t0, 3)

    def test_bad_wait_and_bad_body(self):
        st, _, body = self.start({"input": {}}, "?wait=61")
        self.assertEqual((st, body["error"]), (400, "InvalidParameter"))
        st, _, body = self.start("[1,2]")
        self.assertEqual(st, 400)
        st, _, body = self.start("{oops")
        self.assertEqual((st, body["error"]), (400, "InvalidJson"))
        st, _, body = self.d.request("POST", "/state-machines/nope/executions", {"input": {}})
        self.assertEqual((st, body["error"]), (404, "StateMachineDoesNotExist"))

    def test_idempotent_name(self):
        st1, _, b1 = self.start({"input": {"k": 1}, "name": "order-1"})
        st2, _, b2 = self.start({"input": {"k": 1}, "name": "order-1"})
        self.assertEqual(st1, 202)
        self.assertIn(st2, (200, 202))
        self.assertEqual(b1["executionId"], b2["executionId"])
        st3, _, b3 = self.start({"input": {"k": 2}, "name": "order-1"})
        self.assertEqual((st3, b3["error"]), (409, "ExecutionAlreadyExists"))
        _, _, lst = self.d.request("GET", "/executions?stateMachine=m")
        self.assertEqual(sum(1 for e in lst["executions"] if e["name"] == "order-1"), 1)

    def test_idempotent_name_in_one_pipeline_burst(self):
        """Two starts with one name in the same loop turn give one execution."""
        import socket
        body = json.dumps({"input": {"z": 1}, "name": "burst"}).encode()
        req = (b"POST /state-machines/m/executions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        s = socket.create_connection(("127.0.0.1", self.d.port))
        s.sendall(req * 2)
        data = b""
        deadline = time.time() + 10
        while data.count(b"executionId") < 2 and time.time() < deadline:
            data += s.recv(65536)
        s.close()
        ids = [json.loads(part.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0])["executionId"]
               for part in data.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(len(ids), 2)
        self.assertEqual(ids[0], ids[1])

    def test_history_events(self):
        _, _, body = self.start({"input": {}}, "?wait=5")
        st, _, h = self.d.request("GET", f"/executions/{body['executionId']}/history")
        self.assertEqual(st, 200)
        types = [e["type"] for e in h["events"]]
        self.assertEqual(types[0], "ExecutionStarted")
        self.assertEqual(types[-1], "ExecutionSucceeded")
        for t in ("PassStateEntered", "PassStateExited", "WaitStateEntered", "WaitStateExited",
                  "SucceedStateEntered"):
            self.assertIn(t, types)
        ids = [e["id"] for e in h["events"]]
        self.assertEqual(ids, list(range(1, len(ids) + 1)))
        self.assertEqual([e["previousEventId"] for e in h["events"]], [i - 1 for i in ids])
        for e in h["events"]:
            self.assertIn("timestamp", e)
            self.assertFalse([k for k in e["details"] if k.endswith("$")], e)
        # Payloads stored once are given back in full: each state's input is
        # the previous state's output.
        evs = h["events"]
        self.assertEqual(evs[0]["details"]["input"], {})
        self.assertEqual(evs[1]["details"]["input"], {})
        for prev, ev in zip(evs, evs[1:]):
            if ev["type"].endswith("StateEntered") and prev["type"].endswith("StateExited"):
                self.assertEqual(ev["details"]["input"], prev["details"]["output"])
        self.assertEqual(evs[-1]["details"]["output"], {"r": {"x": 1}})
        st, _, _ = self.d.request("GET", "/executions/nope/history")
        self.assertEqual(st, 404)
        self.assertIsNone(h["nextCursor"])

    def test_history_pages(self):
        _, _, body = self.start({"input": {}}, "?wait=5")
        url = f"/executions/{body['executionId']}/history"
        _, _, whole = self.d.request("GET", url)
        pages, cursor = [], None
        while True:
            st, _, page = self.d.request("GET", url + "?limit=3" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(st, 200, page)
            self.assertLessEqual(len(page["events"]), 3)
            pages.append(page["events"])
            cursor = page["nextCursor"]
            if cursor is None:
                break
            self.assertEqual(cursor, str(page["events"][-1]["id"]))
        self.assertEqual([e for p in pages for e in p], whole["events"])
        self.assertEqual(len(pages), (len(whole["events"]) + 2) // 3)
        _, _, tail = self.d.request("GET", url + "?cursor=2")
        self.assertEqual(tail["events"], whole["events"][2:])
        for bad in ("?cursor=x", "?cursor=-1", "?limit=0", "?limit=1001"):
            st, _, err = self.d.request("GET", url + bad)
            self.assertEqual((st, err["error"]), (400, "InvalidParameter"), bad)

    def test_list_filters_and_cursor(self):
        ids = []
        for i in range(5):
            _, _, b = self.start({"input": {"i": i}}, "?wait=5")
            ids.append(b["executionId"])
        seen, cursor, pages = [], None, 0
        while True:
            q = "/executions?stateMachine=m&limit=2" + (f"&cursor={cursor}" if cursor else "")
            st, _, page = self.d.request("GET", q)
            self.assertEqual(st, 200, page)
            seen += [e["executionId"] for e in page["executions"]]
            pages += 1
            cursor = page["nextCursor"]
            if not cursor:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, list(reversed(ids)))
        _, _, page = self.d.request("GET", "/executions?status=RUNNING&stateMachine=m")
        self.assertEqual(page["executions"], [])
        st, _, body = self.d.request("GET", "/executions?status=BOGUS")
        self.assertEqual(st, 400)
        st, _, body = self.d.request("GET", "/executions?cursor=garbage")
        self.assertEqual(st, 400)
        st, _, body = self.d.request("GET", "/executions?limit=0")
        self.assertEqual(st, 400)

    def test_search_by_name_or_id_prefix(self):
        ids = {}
        for name in ("order-7", "order-71", "refund-7"):
            _, _, b = self.start({"input": {}, "name": name}, "?wait=5")
            ids[name] = b["executionId"]

        def names(q):
            st, _, page = self.d.request("GET", "/executions?stateMachine=m&q=" + q)
            self.assertEqual(st, 200, page)
            return sorted(e["name"] for e in page["executions"])
        self.assertEqual(names("order-7"), ["order-7", "order-71"])
        self.assertEqual(names("refund"), ["refund-7"])
        self.assertEqual(names("der"), [])
        self.assertEqual(names("%25"), [])
        self.assertEqual(names(ids["order-71"]), ["order-71"])
        st, _, body = self.d.request("GET", "/executions?q=" + "x" * 129)
        self.assertEqual((st, body["error"]), (400, "InvalidParameter"))

    def test_counts_per_status(self):
        st, _, _ = self.d.request("PUT", "/state-machines/w", wait_machine(300))
        self.assertEqual(st, 201)
        for _ in range(2):
            self.start({"input": {}}, "?wait=5")
        st, _, b = self.d.request("POST", "/state-machines/w/executions", {"input": {}})
        self.assertEqual(st, 202, b)
        st, _, c = self.d.request("GET", "/executions/counts")
        self.assertEqual(st, 200, c)
        self.assertEqual(c, {"RUNNING": 1, "SUCCEEDED": 2, "FAILED": 0, "TIMED_OUT": 0,
                             "ABORTED": 0})
        _, _, c = self.d.request("GET", "/executions/counts?stateMachine=w")
        self.assertEqual((c["RUNNING"], c["SUCCEEDED"]), (1, 0))
        _, _, c = self.d.request("GET", "/executions/counts?stateMachine=nope")
        self.assertEqual(sum(c.values()), 0)

    def test_polling_revalidates_with_etag(self):
        st, _, b = self.d.request("PUT", "/state-machines/w", wait_machine(300))
        _, _, b = self.d.request("POST", "/state-machines/w/executions", {"input": {}})
        path = "/executions/" + b["executionId"]
        st, h, first = self.d.request("GET", path)
        self.assertEqual(st, 200)
        tag = h["etag"]
        self.assertRegex(tag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(h["cache-control"], "no-cache")
        st, h2, body = self.d.request("GET", path, headers={"If-None-Match": tag})
        self.assertEqual((st, body), (304, None))
        self.assertEqual(h2["etag"], tag)
        self.assertNotIn("content-length", h2)
        st, _, _ = self.d.request("GET", path, headers={"If-None-Match": 'W/"x", ' + "W/" + tag})
        self.assertEqual(st, 304)
        st, _, _ = self.d.request("GET", path, headers={"If-None-Match": '"other"'})
        self.assertEqual(st, 200)
        st, _, _ = self.d.request("POST", path + "/stop", {})
        self.assertEqual(st, 200)
        st, h3, now = self.d.request("GET", path, headers={"If-None-Match": tag})
        self.assertEqual((st, now["status"]), (200, "ABORTED"))
        self.assertNotEqual(h3["etag"], tag)
        # Errors and writes carry no tag.
        st, h4, _ = self.d.request("GET", "/executions/nope")
        self.assertEqual(st, 404)
        self.assertNotIn("etag", h4)

    def test_describe_long_polls_until_the_end(self):
        st, _, _ = self.d.request("PUT", "/state-machines/w1", wait_machine(1))
        _, _, b = self.d.request("POST", "/state-machines/w1/executions", {"input": {}})
        path = "/executions/" + b["executionId"]
        t0 = time.time()
        st, _, d = self.d.request("GET", path + "?wait=10")
        self.assertEqual((st, d["status"]), (200, "SUCCEEDED"))
        self.assertLess(time.time() - t0, 8)
        # Ended: at once. Still running when the time is up: its description.
        t0 = time.time()
        st, _, d = self.d.request("GET", path + "?wait=10")
        self.assertEqual((st, d["status"]), (200, "SUCCEEDED"))
        self.assertLess(time.time() - t0, 2)
        self.d.request("PUT", "/state-machines/w2", wait_machine(300))
        _, _, b = self.d.request("POST", "/state-machines/w2/executions", {"input": {}})
        t0 = time.time()
        st, _, d = self.d.request("GET", "/executions/" + b["executionId"] + "?wait=0.5")
        self.assertEqual((st, d["status"]), (200, "RUNNING"))
        self.assertGreaterEqual(time.time() - t0, 0.45)
        for bad in ("-1", "61", "x"):
            st, _, _ = self.d.request("GET", path + "?wait=" + bad)
            self.assertEqual(st, 400, bad)
        st, _, _ = self.d.request("GET", "/executions/nope?wait=1")
        self.assertEqual(st, 404)

    def test_unknown_body_fields_are_named(self):
        self.d.request("PUT", "/state-machines/w", wait_machine(300))
        _, _, b = self.d.request("POST", "/state-machines/w/executions", {"input": {}})
        eid = b["executionId"]
        cases = [
            ("POST", "/state-machines/m/executions", {"input": {}, "nmae": "x"}, "nmae"),
            ("POST", "/executions/%s/stop" % eid, {"error": "E", "reason": "r"}, "reason"),
            ("PUT", "/stock/beans", {"quantity": 1, "qty": 2}, "qty"),
            ("POST", "/tasks/success", {"taskToken": "a" * 48, "output": {}, "result": 1}, "result"),
            ("POST", "/tasks/failure", {"taskToken": "a" * 48, "Error": "E"}, "Error"),
            ("POST", "/tasks/heartbeat", {"taskToken": "a" * 48, "x": 1}, "x"),
            ("POST", "/activities/a/poll?wait=0", {"worker": "w"}, "worker"),
        ]
        self.d.request("PUT", "/activities/a")
        for method, path, body, field in cases:
            st, _, err = self.d.request(method, path, body)
            self.assertEqual((st, err["error"]), (400, "UnknownField"), path)
            self.assertIn("'%s'" % field, err["message"])
        # Nothing happened: no start, still running, no stock row.
        _, _, c = self.d.request("GET", "/executions/counts?stateMachine=m")
        self.assertEqual(sum(c.values()), 0)
        _, _, d = self.d.request("GET", "/executions/" + eid)
        self.assertEqual(d["status"], "RUNNING")
        self.assertEqual(self.d.request("GET", "/stock/beans")[0], 404)

    def test_json_answers_end_with_a_newline(self):
        c = self.d.conn()
        for method, path in (("GET", "/executions"), ("GET", "/executions/nope"),
                             ("GET", "/healthz"), ("GET", "/state-machines/m")):
            c.request(method, path)
            r = c.getresponse()
            body = r.read()
            self.assertTrue(body.endswith(b"}\n"), (path, body[-20:]))
            self.assertEqual(int(r.getheader("Content-Length")), len(body))
        c.close()

    def test_stop_aborts(self):
        self.d.request("PUT", "/state-machines/slow", wait_machine(30))
        _, _, b = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        eid = b["executionId"]
        st, _, body = self.d.request("POST", f"/executions/{eid}/stop",
                                     {"error": "Operator", "cause": "testing"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "ABORTED")
        self.assertEqual(body["error"], "Operator")
        st, _, body = self.d.request("POST", f"/executions/{eid}/stop")
        self.assertEqual((st, body["error"]), (409, "ExecutionNotRunning"))
        st, _, body = self.d.request("POST", "/executions/unknown/stop")
        self.assertEqual(st, 404)
        _, _, h = self.d.request("GET", f"/executions/{eid}/history")
        self.assertEqual(h["events"][-1]["type"], "ExecutionAborted")

    def test_unknown_execution_404(self):
        st, _, body = self.d.request("GET", "/executions/does-not-exist")
        self.assertEqual((st, body["error"]), (404, "ExecutionDoesNotExist"))


def start_body(input_json):
    """A start body whose input is the given raw JSON text (bytes)."""
    return b'{"input": ' + input_json + b'}'


# (raw input JSON, a fragment the 400 message must contain)
BAD_INPUTS = [
    (b'{"s": "\xc0\xaf"}', b"overlong"),
    (b'{"s": "\xe0\x80\xaf"}', b"overlong"),
    (b'{"s": "\xf5\x80\x80\x80"}', b"0xF5"),
    (b'{"s": "\xf4\x90\x80\x80"}', b"U+10FFFF"),
    (b'{"s": "ab\xe2\x82"}', b"truncated"),
    (b'{"s": "\x80"}', b"continuation"),
    (b'{"s": "\xed\xa0\x80"}', b"surrogate"),
    (b'{"s": "\xed\xbf\xbf"}', b"surrogate"),
    (b'{"s\xff": 1}', b"0xFF"),
    (b'{"s": "\\uD800"}', b"surrogate"),
    (b'{"s": "\\uDC00"}', b"surrogate"),
    (b'{"s": "\\uD800\\u0041"}', b"surrogate"),
    (b'{"s": "\\uDBFF\\uDBFF"}', b"surrogate"),
    (b'{"quantity": 1, "quantity": 5}', b'"quantity"'),
    (b'{"a": {"b": [{"k": 1, "j": 2, "k": 3}]}}', b'"k"'),
    (b'{"a": 1, "\\u0061": 2}', b'"a"'),
    (b'{"n": 9007199254740993}', b"9007199254740993"),
    (b'{"n": -9007199254740993}', b"-9007199254740993"),
    (b'{"n": 18446744073709551616}', b"18446744073709551616"),
    (b'[100000000000000000000000000000]', b"100000000000000000000000000000"),
    (b'{"n": 1e400}', b"1e400"),
    (b'{"s": "a\\u0000b"}', b"\\u0000"),
    (b'{"s": "tab\there"}', b"control"),
    (b'{"n": 01}', b"byte"),
]


class StrictJsonInput(DaemonTestCase):
    """Every JSON body the API accepts is checked strictly: invalid UTF-8,
    unpaired surrogates, duplicate keys and integers beyond 2^53 are refused
    with 400 InvalidJson saying what and where; nothing is started."""

    def setUp(self):
        super().setUp()
        self.d = self.daemon()
        st, _, _ = self.d.request("PUT", "/state-machines/m", PASS_WAIT)
        self.assertEqual(st, 201)

    def assert_invalid(self, method, path, body, fragment):
        st, _, reply = self.d.request(method, path, body, {"Content-Type": "application/json"})
        self.assertIsInstance(reply, dict, f"{body!r}: the reply is not JSON: {reply!r}")
        self.assertEqual((st, reply.get("error")), (400, "InvalidJson"), f"{body!r}: {reply}")
        self.assertIn(fragment.decode(), reply["message"], body)
        return reply["message"]

    def assert_nothing_started(self):
        st, _, listed = self.d.request("GET", "/executions")
        self.assertEqual(st, 200)
        self.assertEqual(listed["executions"], [])
        st, _, _ = self.d.request("GET", "/healthz")
        self.assertEqual(st, 200)

    def test_start_refuses_each_bad_input(self):
        for raw, fragment in BAD_INPUTS:
            with self.subTest(raw=raw):
                self.assert_invalid("POST", "/state-machines/m/executions", start_body(raw), fragment)
        self.assert_nothing_started()

    def test_order_refuses_each_bad_input(self):
        for raw, fragment in BAD_INPUTS:
            with self.subTest(raw=raw):
                self.assert_invalid("POST", "/order", raw, fragment)
        self.assert_nothing_started()

    def test_message_gives_the_byte_offset(self):
        body = b'{"input": {"s": "ok\xed\xa0\x80"}}'
        msg = self.assert_invalid("POST", "/state-machines/m/executions", body, b"surrogate")
        at = body.index(b"\xed")
        self.assertIn(f"byte {at}", msg)
        body = b'{"input": {"s": "\\uD800x"}}'
        msg = self.assert_invalid("POST", "/state-machines/m/executions", body, b"surrogate")
        at = body.index(b"\\")
        self.assertIn(f"byte {at}", msg)
        body = b'{"input": {}, "input": {"a": 1}}'
        msg = self.assert_invalid("POST", "/state-machines/m/executions", body, b'"input"')
        at = body.rindex(b'"input"')
        self.assertIn(f"byte {at}", msg)
        self.assert_nothing_started()

    def test_duplicate_top_level_key_and_name(self):
        self.assert_invalid("POST", "/state-machines/m/executions",
                            b'{"name": "a", "input": {}, "name": "b"}', b'"name"')
        self.assert_nothing_started()

    def test_stop_stock_and_definition_bodies_are_checked(self):
        self.d.request("PUT", "/state-machines/slow", wait_machine(30))
        _, _, b = self.d.request("POST", "/state-machines/slow/executions", {"input": {}})
        eid = b["executionId"]
        self.assert_invalid("POST", f"/executions/{eid}/stop",
                            b'{"error": "E", "cause": "\xed\xa0\x80"}', b"surrogate")
        self.assert_invalid("POST", f"/executions/{eid}/stop",
                            b'{"error": "E", "error": "F"}', b'"error"')
        st, _, desc = self.d.request("GET", f"/executions/{eid}")
        self.assertEqual(desc["status"], "RUNNING")
        self.assert_invalid("PUT", "/stock/beans", b'{"quantity": 1, "quantity": 2}', b'"quantity"')
        self.assertEqual(self.d.request("GET", "/stock/beans")[0], 404)
        dup_state = (b'{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, '
                     b'"A": {"Type": "Fail"}}}')
        self.assert_invalid("PUT", "/state-machines/dup", dup_state, b'"A"')
        self.assertEqual(self.d.request("GET", "/state-machines/dup")[0], 404)

    def test_valid_edge_cases_are_kept_exactly(self):
        raw = (b'{"emoji": "\xf0\x9f\x98\x80", "pair": "\\uD83D\\uDE00", "max": 9007199254740992, '
               b'"min": -9007199254740992, "big": 1e300, "last": "\xf4\x8f\xbf\xbf", '
               b'"nested": {"k": 1, "o": {"k": 2}}, "list": [{"k": 1}, {"k": 2}], "z": -0.5e-3}')
        st, _, b = self.d.request("POST", "/state-machines/m/executions?wait=5", start_body(raw))
        self.assertEqual(st, 200, b)
        want = json.loads(raw)
        self.assertEqual(b["input"], want)
        self.assertEqual(b["output"]["emoji"], "\U0001F600")
        self.assertEqual(b["output"]["pair"], "\U0001F600")
        self.assertEqual(b["output"]["max"], 2 ** 53)
        self.assertEqual(b["output"]["min"], -2 ** 53)
        self.assertEqual(b["output"]["big"], 1e300)


class Limits(DaemonTestCase):
    def test_async_task_timeout_is_states_timeout(self):
        """An asynchronous handler slower than TimeoutSeconds fails the task
        with States.Timeout, which Catch sees."""
        d = self.daemon(payment_latency_ms=5000,
                        handler_allow="slowpay: orders.create, payment.process")
        m = {"StartAt": "Create", "States": {
            "Create": {"Type": "Task", "Resource": "sagad:orders.create",
                       "Parameters": {"itemId": "coffee-beans", "quantity": 1}, "Next": "Pay"},
            "Pay": {"Type": "Task", "Resource": "sagad:payment.process", "TimeoutSeconds": 1,
                    "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err",
                               "Next": "TimedOut"}], "End": True},
            "TimedOut": {"Type": "Pass", "End": True}}}
        st, _, body = d.request("PUT", "/state-machines/slowpay", m)
        self.assertEqual(st, 201, body)
        t0 = time.time()
        st, _, desc = d.request("POST", "/state-machines/slowpay/executions?wait=10",
                                {"input": {"orderId": "o-1"}})
        self.assertEqual((st, desc["status"]), (200, "SUCCEEDED"), desc)
        self.assertEqual(desc["output"]["err"]["Error"], "States.Timeout")
        self.assertLess(time.time() - t0, 4)
        _, _, h = d.request("GET", f"/executions/{desc['executionId']}/history")
        self.assertIn("TaskTimedOut", [e["type"] for e in h["events"]])

    def test_history_limit_fails_the_execution(self):
        d = self.daemon(history_limit=50)
        # It loops for ever, though an end is reachable on paper (a machine
        # with no reachable end at all is refused when registered).
        loop = {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$", "IsPresent": True, "Next": "W"}], "Default": "Done"},
            "W": {"Type": "Wait", "Seconds": 0, "Next": "A"},
            "Done": {"Type": "Succeed"}}}
        self.assertEqual(d.request("PUT", "/state-machines/loop", loop)[0], 201)
        st, _, desc = d.request("POST", "/state-machines/loop/executions?wait=20", {"input": {}})
        self.assertEqual((st, desc["status"]), (200, "FAILED"), desc)
        self.assertEqual(desc["error"], "States.Runtime")
        self.assertIn("50", desc["cause"])
        _, _, h = d.request("GET", f"/executions/{desc['executionId']}/history")
        self.assertLessEqual(len(h["events"]), 50)
        self.assertEqual(h["events"][-1]["type"], "ExecutionFailed")

    def test_history_limit_inside_the_first_batch(self):
        # The Map's iterations cross the limit in the same transaction as the
        # start: the start is acknowledged and the execution ends FAILED.
        d = self.daemon(history_limit=300)
        fan = {"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.xs", "End": True,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}}}
        d.request("PUT", "/state-machines/fan", fan)
        st, _, body = d.request("POST", "/state-machines/fan/executions",
                                {"input": {"xs": list(range(100))}})
        self.assertEqual(st, 202, body)
        desc = d.wait_ended(body["executionId"])
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Runtime"), desc)
        self.assertIn("history_limit", desc["cause"])
        _, _, running = d.request("GET", "/executions?status=RUNNING")
        self.assertEqual(running["executions"], [])

    def test_nested_maps_fail_fast_and_restart_is_instant(self):
        # 200 x 200 iterations cannot fit: the fan-out is refused early, the
        # daemon answers /healthz quickly throughout and after a restart.
        d = self.daemon(history_limit=2000)
        inner = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        nested = {"StartAt": "O", "States": {"O": {
            "Type": "Map", "ItemsPath": "$.xs", "ItemSelector": {"ys.$": "$.ys"}, "End": True,
            "ItemProcessor": {"StartAt": "I", "States": {"I": {
                "Type": "Map", "ItemsPath": "$.ys", "End": True, "ItemProcessor": inner}}}}}}
        d.request("PUT", "/state-machines/nested", nested)
        xs = list(range(200))
        st, _, body = d.request("POST", "/state-machines/nested/executions",
                                {"input": {"xs": xs, "ys": xs}})
        self.assertEqual(st, 202, body)
        slowest = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            t0 = time.time()
            st, _, _ = d.request("GET", "/healthz")
            slowest = max(slowest, time.time() - t0)
            _, _, desc = d.request("GET", f"/executions/{body['executionId']}")
            if desc["status"] != "RUNNING":
                break
        self.assertEqual((desc["status"], desc["error"]), ("FAILED", "States.Runtime"), desc)
        self.assertIn("history_limit", desc["cause"])
        self.assertLess(slowest, 0.5 if is_asan() else 0.1)
        self.assertEqual(d.stop(), 0)
        t0 = time.time()
        d.start()
        st, _, _ = d.request("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertLess(time.time() - t0, 5)
        _, _, running = d.request("GET", "/executions?status=RUNNING")
        self.assertEqual(running["executions"], [])


class Restart(DaemonTestCase):
    def test_definitions_survive_restart(self):
        d = self.daemon()
        d.request("PUT", "/state-machines/keep", PASS_WAIT)
        self.assertEqual(d.stop(), 0)
        d.start()
        st, _, body = d.request("GET", "/state-machines/keep")
        self.assertEqual((st, body["version"]), (200, 1))
        st, _, body = d.request("GET", "/state-machines/order")
        self.assertEqual((st, body["version"]), (200, 1))
        st, _, body = d.request("POST", "/state-machines/keep/executions?wait=5", {"input": {}})
        self.assertEqual((st, body["status"]), (200, "SUCCEEDED"))
        self.assertNotIn("cannot store", d.stderr())


class Reload(DaemonTestCase):
    def test_sighup_reloads_sagas_dir(self):
        import os
        import shutil
        import signal
        import tempfile
        from harness import ROOT
        sagas = tempfile.mkdtemp(prefix="sagad-sagas-")
        self.addCleanup(shutil.rmtree, sagas, True)
        shutil.copy(os.path.join(ROOT, "sagas", "order.asl.json"), sagas)
        d = self.daemon(sagas_dir=sagas)
        st, _, _ = d.request("GET", "/state-machines/late")
        self.assertEqual(st, 404)
        with open(os.path.join(sagas, "late.asl.json"), "w") as f:
            json.dump(PASS_WAIT, f)
        with open(os.path.join(sagas, "broken.asl.json"), "w") as f:
            f.write('{"StartAt": "Nope", "States": {}}')
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while time.time() < deadline:
            st, _, body = d.request("GET", "/state-machines/late")
            if st == 200:
                break
            time.sleep(0.02)
        self.assertEqual((st, body["version"]), (200, 1))
        self.assertTrue(d.wait_log(r"broken\.asl\.json.*StartAt"), d.stderr())
        self.assertTrue(d.wait_log(r"sagas_dir .*: 1 file refused"), d.stderr())
        st, _, _ = d.request("GET", "/state-machines/broken")
        self.assertEqual(st, 404)
        # /healthz says how the last load went (and stays 200: sagad serves on).
        st, _, h = d.request("GET", "/healthz")
        self.assertEqual((st, h["sagas"]["failedFiles"], h["sagas"]["dir"]), (200, 1, sagas))
        self.assertTrue(h["sagas"]["loadedAt"].endswith("Z"))
        os.unlink(os.path.join(sagas, "broken.asl.json"))
        d.proc.send_signal(signal.SIGHUP)
        # Anchored per line: a later log line (the background integrity check)
        # may already follow the reload's own.
        self.assertTrue(d.wait_log(r"(?sm)SIGHUP.*SIGHUP.*sagas_dir \S+ loaded$"), d.stderr())
        self.assertEqual(d.request("GET", "/healthz")[2]["sagas"]["failedFiles"], 0)


class DurableTimers(DaemonTestCase):
    def test_wait_survives_kill9_without_restarting(self):
        """A Wait of 3 s interrupted by a restart after 1 s ends 3 s after its
        start (not at the restart), less than 3 s after the restart (the Wait
        does not begin again)."""
        d = self.daemon()
        d.request("PUT", "/state-machines/w3", wait_machine(3))
        started = time.time()
        _, _, b = d.request("POST", "/state-machines/w3/executions", {"input": {}})
        eid = b["executionId"]
        time.sleep(1.0)
        d.kill()
        d.start()
        restarted = time.time()
        st, _, desc = d.request("GET", f"/executions/{eid}")
        self.assertEqual(desc["status"], "RUNNING")
        deadline = time.time() + 10
        while time.time() < deadline:
            _, _, desc = d.request("GET", f"/executions/{eid}")
            if desc["status"] != "RUNNING":
                break
            time.sleep(0.02)
        ended = time.time()
        self.assertEqual(desc["status"], "SUCCEEDED")
        # From the start, not from the restart: how long the restart itself
        # took (seconds under ASan on a loaded machine) does not matter.
        self.assertGreater(ended - started, 2.9)
        self.assertLess(ended - restarted, 2.8)


if __name__ == "__main__":
    unittest.main()
