"""GET /metrics: the Prometheus text format 0.0.4, checked by a strict parser
(promtool is not a test dependency: the Debian package weighs ~100 MB), and
counters that move by exactly what the requests and executions did."""
import math
import re
import time
import unittest

from harness import DaemonTestCase

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(f"bad sample value {text!r}")
    return float(text)


def parse_labels(text, lineno):
    """Parses `a="x",b="y"` (the inside of the braces) strictly."""
    labels = {}
    i = 0
    while i < len(text):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", text[i:])
        if not m:
            raise ValueError(f"line {lineno}: bad label at {text[i:]!r}")
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(text):
                raise ValueError(f"line {lineno}: unterminated label value")
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise ValueError(f"line {lineno}: bad escape \\{nxt}")
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError(f"line {lineno}: raw newline in a label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            raise ValueError(f"line {lineno}: label {name} twice")
        labels[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise ValueError(f"line {lineno}: expected ',' between labels")
            i += 1
            if i == len(text):
                raise ValueError(f"line {lineno}: trailing comma")
    return labels


def family_of(sample, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[: -len(suffix)]
            if types.get(base) in ("histogram", "summary"):
                if suffix == "_bucket" and types[base] != "histogram":
                    break
                return base
    return sample


def parse_exposition(text):
    """Returns {(name, frozenset(labels)): value}; raises ValueError on any
    departure from the 0.0.4 text format or from the metric-type rules."""
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    types, helps, samples = {}, {}, {}
    seen_families, current = set(), None
    by_family = {}
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            raise ValueError(f"line {lineno}: empty line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME_RE.match(name):
                    raise ValueError(f"line {lineno}: bad metric name {name!r}")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError(f"line {lineno}: bad TYPE line")
                    if name in types:
                        raise ValueError(f"line {lineno}: second TYPE for {name}")
                    if name in seen_families:
                        raise ValueError(f"line {lineno}: TYPE for {name} after its samples")
                    types[name] = parts[3]
                else:
                    if name in helps:
                        raise ValueError(f"line {lineno}: second HELP for {name}")
                    helps[name] = parts[3] if len(parts) == 4 else ""
            continue
        m = re.fullmatch(r"([^{} ]+)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?", line)
        if not m:
            raise ValueError(f"line {lineno}: not a sample line: {line!r}")
        name, labeltext, value = m.group(1), m.group(2), m.group(3)
        if not NAME_RE.match(name):
            raise ValueError(f"line {lineno}: bad metric name {name!r}")
        labels = parse_labels(labeltext, lineno) if labeltext else {}
        v = parse_value(value)
        fam = family_of(name, types)
        if fam != current:
            if fam in seen_families:
                raise ValueError(f"line {lineno}: samples of {fam} are not contiguous")
            seen_families.add(fam)
            current = fam
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError(f"line {lineno}: duplicate series {name}{labels}")
        samples[key] = v
        by_family.setdefault(fam, []).append((name, labels, v))
        t = types.get(fam, "untyped")
        if t == "counter" and (v < 0 or math.isnan(v)):
            raise ValueError(f"line {lineno}: counter {name} is {v}")
        if t == "histogram" and name == fam:
            raise ValueError(f"line {lineno}: histogram {fam} has a bare sample")
        if t == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise ValueError(f"line {lineno}: bucket without le")
    for fam, t in types.items():
        rows = by_family.get(fam, [])
        if t == "histogram":
            check_histogram(fam, rows)
        if t == "counter" and not fam.endswith("_total"):
            raise ValueError(f"counter {fam} should end in _total")
    for fam in seen_families:
        if fam not in helps:
            raise ValueError(f"{fam} has no HELP")
    return samples, types


def check_histogram(fam, rows):
    groups = {}
    for name, labels, v in rows:
        rest = frozenset((k, x) for k, x in labels.items() if k != "le")
        groups.setdefault(rest, []).append((name, labels, v))
    for rest, items in groups.items():
        buckets = [(parse_value(l["le"]), v) for n, l, v in items if n == fam + "_bucket"]
        counts = [v for n, _, v in items if n == fam + "_count"]
        sums = [v for n, _, v in items if n == fam + "_sum"]
        if not buckets or len(counts) != 1 or len(sums) != 1:
            raise ValueError(f"histogram {fam}: needs buckets, one _sum and one _count")
        les = [le for le, _ in buckets]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ValueError(f"histogram {fam}: le not strictly increasing")
        if les[-1] != math.inf:
            raise ValueError(f"histogram {fam}: no +Inf bucket")
        vals = [v for _, v in buckets]
        if any(b < a for a, b in zip(vals, vals[1:])):
            raise ValueError(f"histogram {fam}: buckets are not cumulative")
        if vals[-1] != counts[0]:
            raise ValueError(f"histogram {fam}: +Inf bucket {vals[-1]} != count {counts[0]}")


class ParserSelfTest(unittest.TestCase):
    """The checker must reject what Prometheus rejects, or it proves nothing."""

    GOOD = ("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 1\n"
            "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 3.5\nh_count 2\n")

    def test_accepts_valid(self):
        samples, types = parse_exposition(self.GOOD)
        self.assertEqual(samples[("a_total", frozenset({("x", 'q"\\\n')}))], 1)
        self.assertEqual(types["h"], "histogram")

    def test_rejects(self):
        bad = [
            self.GOOD[:-1],                                              # no final newline
            self.GOOD.replace('x="q', 'x="\\tq'),                        # bad escape
            self.GOOD.replace("a_total{", "a-total{"),                   # bad name
            self.GOOD.replace("h_count 2", "h_count 3"),                 # +Inf != count
            self.GOOD.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 3'),  # not cumulative
            self.GOOD + "a_total{x=\"z\"} 2\n",                          # family split
            self.GOOD + "# TYPE a_total counter\n",                      # TYPE twice
            self.GOOD.replace("} 1\n#", "} -1\n#", 1),                   # negative counter
            self.GOOD.replace("a_total{", "a_total{x=\"1\",", 1),        # label twice
            self.GOOD.replace(" 3.5", " 3.5.1"),                         # bad value
            self.GOOD + "\n",                                            # empty line
            self.GOOD.replace("# HELP h H.\n", ""),                      # no HELP
        ]
        for text in bad:
            with self.assertRaises(ValueError, msg=text):
                parse_exposition(text)


PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                   "B": {"Type": "Pass", "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Task", "Resource": "sagad:fail", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
SLOW = {"TimeoutSeconds": 1, "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 30, "End": True}}}
EMIT = {"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "sagad:events.publish",
                                         "Parameters": {"detailType": "Pinged"}, "End": True}}}


class Metrics(DaemonTestCase):
    def scrape(self, d):
        st, h, body = d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        samples, types = parse_exposition(body)
        return samples, types

    @staticmethod
    def val(samples, name, **labels):
        return samples.get((name, frozenset(labels.items())))

    def start(self, d, machine, wait=True):
        path = f"/state-machines/{machine}/executions" + ("?wait=10" if wait else "")
        st, _, body = d.request("POST", path, {"input": {}})
        self.assertIn(st, (200, 202), body)
        return body

    def test_families_and_types(self):
        d = self.daemon()
        samples, types = self.scrape(d)
        want = {
            "sagad_executions_started_total": "counter",
            "sagad_executions_finished_total": "counter",
            "sagad_executions_open": "gauge",
            "sagad_state_transitions_total": "counter",
            "sagad_step_latency_seconds": "histogram",
            "sagad_sqlite_commits_total": "counter",
            "sagad_sqlite_commit_seconds": "summary",
            "sagad_outbox_backlog": "gauge",
            "sagad_events_published_total": "counter",
            "sagad_events_publish_failures_total": "counter",
            "sagad_redis_connected": "gauge",
            "sagad_redis_connects_total": "counter",
            "sagad_http_requests_total": "counter",
            "sagad_http_connections": "gauge",
            "sagad_start_time_seconds": "gauge",
            "sagad_machine_executions_started_total": "counter",
            "sagad_machine_executions_finished_total": "counter",
        }
        for name, t in want.items():
            self.assertEqual(types.get(name), t, name)
        self.assertAlmostEqual(self.val(samples, "sagad_start_time_seconds"), time.time(), delta=60)
        for status in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"):
            self.assertEqual(self.val(samples, "sagad_executions_finished_total", status=status), 0)

    def test_counters_move_with_executions(self):
        # Counts only what EMIT publishes: no execution status events.
        d = self.daemon(execution_events="off")
        for name, definition in (("two", PASS), ("boom", FAIL), ("sleepy", WAIT), ("emit", EMIT)):
            self.assertIn(d.request("PUT", f"/state-machines/{name}", definition)[0], (200, 201))
        before, _ = self.scrape(d)
        v = self.val
        self.assertEqual(v(before, "sagad_executions_started_total"), 0)

        for _ in range(3):
            self.assertEqual(self.start(d, "two")["status"], "SUCCEEDED")
        self.assertEqual(self.start(d, "boom")["status"], "FAILED")
        self.assertEqual(self.start(d, "emit")["status"], "SUCCEEDED")
        sleeping = self.start(d, "sleepy", wait=False)["executionId"]

        mid, _ = self.scrape(d)
        self.assertEqual(v(mid, "sagad_executions_started_total"), 6)
        self.assertEqual(v(mid, "sagad_executions_finished_total", status="SUCCEEDED"), 4)
        self.assertEqual(v(mid, "sagad_executions_finished_total", status="FAILED"), 1)
        self.assertEqual(v(mid, "sagad_executions_open"), 1)
        # two: 2 states x 3, boom 1, emit 1, sleepy 1 (entered the Wait)
        self.assertEqual(v(mid, "sagad_state_transitions_total"), 9)
        # No Redis configured: the event stays in the outbox.
        self.assertEqual(v(mid, "sagad_outbox_backlog"), 1)
        steps = v(mid, "sagad_step_latency_seconds_count")
        self.assertGreaterEqual(steps, 6)
        self.assertEqual(v(mid, "sagad_step_latency_seconds_bucket", le="+Inf"), steps)
        self.assertGreater(v(mid, "sagad_step_latency_seconds_sum"), 0)
        self.assertGreaterEqual(v(mid, "sagad_sqlite_commits_total", result="ok"), 1)
        self.assertEqual(v(mid, "sagad_sqlite_commit_seconds_count"),
                         v(mid, "sagad_sqlite_commits_total", result="ok") +
                         v(mid, "sagad_sqlite_commits_total", result="error"))

        m_started = "sagad_machine_executions_started_total"
        m_finished = "sagad_machine_executions_finished_total"
        self.assertEqual(v(mid, m_started, machine="two"), 3)
        self.assertEqual(v(mid, m_started, machine="boom"), 1)
        self.assertEqual(v(mid, m_started, machine="sleepy"), 1)
        self.assertEqual(v(mid, m_finished, machine="two", status="SUCCEEDED"), 3)
        self.assertEqual(v(mid, m_finished, machine="two", status="FAILED"), 0)
        self.assertEqual(v(mid, m_finished, machine="boom", status="FAILED"), 1)
        self.assertEqual(v(mid, m_finished, machine="sleepy", status="ABORTED"), 0)

        st, _, _ = d.request("POST", f"/executions/{sleeping}/stop", {})
        self.assertEqual(st, 200)
        after, _ = self.scrape(d)
        self.assertEqual(v(after, m_finished, machine="sleepy", status="ABORTED"), 1)
        self.assertEqual(v(after, "sagad_executions_finished_total", status="ABORTED"), 1)
        self.assertEqual(v(after, "sagad_executions_open"), 0)

        self.assertIn(d.request("PUT", "/state-machines/slow", SLOW)[0], (200, 201))
        self.assertEqual(self.start(d, "slow")["status"], "TIMED_OUT")
        late, _ = self.scrape(d)
        self.assertEqual(v(late, "sagad_executions_finished_total", status="TIMED_OUT"), 1)
        self.assertEqual(v(late, m_finished, machine="slow", status="TIMED_OUT"), 1)
        self.assertEqual(v(late, "sagad_executions_started_total"), 7)
        self.assertGreater(v(after, "sagad_sqlite_commits_total", result="ok"),
                           v(mid, "sagad_sqlite_commits_total", result="ok"))

    def test_http_requests_by_route_and_status(self):
        d = self.daemon()
        for _ in range(3):
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
        self.assertEqual(d.request("GET", "/executions/no-such-id")[0], 404)
        self.assertEqual(d.request("GET", "/no/such/route")[0], 404)
        self.assertEqual(d.request("DELETE", "/healthz")[0], 405)
        self.assertEqual(d.request("PUT", "/stock/beans", "{not json")[0], 400)
        first, _ = self.scrape(d)
        v = self.val
        self.assertEqual(v(first, "sagad_http_requests_total", method="GET", route="/healthz", status="200"), 3)
        self.assertEqual(v(first, "sagad_http_requests_total", method="GET",
                           route="/executions/{id}", status="404"), 1)
        self.assertEqual(v(first, "sagad_http_requests_total", method="GET",
                           route="unmatched", status="404"), 1)
        self.assertEqual(v(first, "sagad_http_requests_total", method="DELETE",
                           route="unmatched", status="405"), 1)
        self.assertEqual(v(first, "sagad_http_requests_total", method="PUT",
                           route="/stock/{itemId}", status="400"), 1)
        # The scrape itself is counted once its response has gone out.
        second, _ = self.scrape(d)
        self.assertEqual(v(second, "sagad_http_requests_total", method="GET",
                           route="/metrics", status="200"), 1)
        self.assertGreaterEqual(v(second, "sagad_http_connections"), 1)

    def wait_for(self, d, pred, timeout=10):
        deadline = time.time() + timeout
        while True:
            samples, _ = self.scrape(d)
            if pred(samples) or time.time() > deadline:
                return samples
            time.sleep(0.05)

    def test_outbox_and_redis_through_an_outage(self):
        r = self.redis()
        d = self.daemon(redis=r.address, execution_events="off")
        v = self.val
        self.assertIn(d.request("PUT", "/state-machines/emit", EMIT)[0], (200, 201))
        self.assertEqual(self.start(d, "emit")["status"], "SUCCEEDED")
        s = self.wait_for(d, lambda s: v(s, "sagad_events_published_total") == 1)
        self.assertEqual(v(s, "sagad_events_published_total"), 1)
        self.assertEqual(v(s, "sagad_outbox_backlog"), 0)
        self.assertEqual(v(s, "sagad_redis_connected"), 1)
        self.assertEqual(v(s, "sagad_redis_connects_total", result="ok"), 1)

        port = r.port
        r.stop()
        s = self.wait_for(d, lambda s: v(s, "sagad_redis_connected") == 0)
        self.assertEqual(v(s, "sagad_redis_connected"), 0)
        self.assertEqual(self.start(d, "emit")["status"], "SUCCEEDED")
        s = self.wait_for(d, lambda s: v(s, "sagad_redis_connects_total", result="error") >= 1)
        self.assertGreaterEqual(v(s, "sagad_redis_connects_total", result="error"), 1)
        self.assertEqual(v(s, "sagad_outbox_backlog"), 1)
        self.assertEqual(v(s, "sagad_events_published_total"), 1)

        r.start(port)
        s = self.wait_for(d, lambda s: v(s, "sagad_events_published_total") == 2)
        self.assertEqual(v(s, "sagad_events_published_total"), 2)
        self.assertEqual(v(s, "sagad_outbox_backlog"), 0)
        self.assertEqual(v(s, "sagad_redis_connected"), 1)


if __name__ == "__main__":
    unittest.main()
