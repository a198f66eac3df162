"""The web console in a real browser: a real sagad and redis-server seeded
with orders and custom executions, then tests/browser/console.mjs drives
Debian's chromium headless (puppeteer-core) through every view. One test per
scenario; any browser console error or uncaught exception fails it.

Screenshots go to BUILD/screenshots/. With SAGAD_UPDATE_SCREENSHOTS=1 a
release build also copies the two the README shows into docs/img/."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, Daemon, Redis, build_dir, is_asan

BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
README_SHOTS = {"readme-executions.png": "console-executions.png",
                "readme-execution.png": "console-execution.png"}

# Scenarios waiting for a missing piece (name -> what is missing): their tests
# are skipped saying so, and the browser does not run them. Delete an entry
# to unskip it.
PENDING = {}

ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}

FAIL_ERROR, FAIL_CAUSE = "ConsoleBoom", "the card reader caught fire"
# Prepare and Charge succeed, Explode fails uncaught, Never is not reached.
FAILING = {
    "Comment": "console test: fails uncaught in Explode",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"prepared": True}, "ResultPath": "$.prep",
                    "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": "sagad:echo",
                   "Parameters": {"charged.$": "$.marker", "receipt": "charge-receipt-7731"},
                   "ResultPath": "$.charge", "Next": "Explode"},
        "Explode": {"Type": "Task", "Resource": "sagad:fail",
                    "Parameters": {"error": FAIL_ERROR, "cause": FAIL_CAUSE}, "Next": "Never"},
        "Never": {"Type": "Pass", "End": True},
    },
}
# Try fails and is caught; Recover ends it SUCCEEDED.
CAUGHT = {
    "Comment": "console test: a caught failure",
    "StartAt": "Try",
    "States": {
        "Try": {"Type": "Task", "Resource": "sagad:fail",
                "Parameters": {"error": "Declined", "cause": "caught below"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught",
                           "Next": "Recover"}],
                "Next": "Recover"},
        "Recover": {"Type": "Pass", "End": True},
    },
}
WAITING = {
    "Comment": "console test: waits five minutes",
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 300, "Next": "Done"},
               "Done": {"Type": "Pass", "End": True}},
}
PAGED_ORDERS = 26
SHORT = {
    "Comment": "console test: waits two seconds",
    "StartAt": "Pause",
    "States": {"Pause": {"Type": "Wait", "Seconds": 2, "Next": "Finish"},
               "Finish": {"Type": "Pass", "End": True}},
}
ECHO = {
    "Comment": "console test: started from the form",
    "StartAt": "Greet",
    "States": {"Greet": {"Type": "Task", "Resource": "sagad:echo", "End": True}},
}


def _missing_tools():
    if not shutil.which("node"):
        return "node is not installed (scripts/deps.sh test installs nodejs)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (scripts/deps.sh test installs chromium)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "puppeteer-core")):
        return "puppeteer-core is not installed: run `npm ci --prefix tests/browser` (make test does)"
    return None


class BrowserRun(unittest.TestCase):
    """Starts redis-server and sagad, seeds, runs console.mjs once for the
    class; subclasses hold the tests, one a scenario."""
    daemon_opts = {}
    fresh_shots = False

    @classmethod
    def setUpClass(cls):
        missing = _missing_tools()
        if missing:
            raise RuntimeError("browser tests cannot run: " + missing)
        cls.t0 = time.time()
        cls.results, cls.done, cls.node_output = {}, None, ""
        cls.redis = Redis().start()
        cls.d = Daemon(redis=cls.redis.address, payment_failure_rate=0, **cls.daemon_opts)
        try:
            cls._prepare()
            cls.d.start()
            cls.seed = cls._seed()
            cls._run_browser()
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def _prepare(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        problems = cls._stop()
        print(f"\n[console] browser module {time.time() - cls.t0:.1f}s; "
              f"screenshots in {cls.shots}", flush=True)
        if problems:
            raise AssertionError(problems)

    @classmethod
    def _stop(cls):
        problems = None
        try:
            code = cls.d.stop()
            report = cls.d.sanitizer_report()
            if code not in (0, None):
                problems = f"sagad exited {code} on SIGTERM:\n" + cls.d.stderr()[-4000:]
            elif report:
                problems = "sanitizer report:\n" + report[-6000:]
        finally:
            cls.d.cleanup()
            cls.redis.stop()
        return problems

    headers = {}

    @classmethod
    def _req(cls, method, path, body=None, want=(200, 201, 202)):
        st, _, data = cls.d.request(method, path, body, headers=cls.headers)
        if st not in want:
            raise RuntimeError(f"{method} {path} answered {st}: {data}")
        return data

    @classmethod
    def _start(cls, machine, inp, name=None, wait=10):
        body = {"input": inp}
        if name:
            body["name"] = name
        q = f"?wait={wait}" if wait else ""
        return cls._req("POST", f"/state-machines/{machine}/executions{q}", body)

    @classmethod
    def _run_browser(cls):
        cls.shots = os.path.join(build_dir(), "screenshots")
        if cls.fresh_shots:
            shutil.rmtree(cls.shots, ignore_errors=True)
        os.makedirs(cls.shots, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(cls.seed, f)
            seed_path = f.name
        try:
            p = subprocess.run(
                ["node", os.path.join(BROWSER_DIR, "console.mjs"),
                 "--url", f"http://127.0.0.1:{cls.d.port}", "--shots", cls.shots,
                 "--seed", seed_path],
                cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                timeout=300, env=dict(os.environ, CHROMIUM=CHROMIUM))
        finally:
            os.unlink(seed_path)
        cls.node_output = p.stdout.decode(errors="replace")
        if os.environ.get("SAGAD_CONSOLE_VERBOSE") == "1":
            print(cls.node_output, flush=True)
        for line in cls.node_output.splitlines():
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                cls.results[r["name"]] = r
            elif line.startswith("DONE "):
                cls.done = json.loads(line[5:])
        if p.returncode != 0 or cls.done is None:
            raise RuntimeError(f"console.mjs exited {p.returncode}:\n{cls.node_output[-4000:]}")

    def scenario(self, name):
        """Asserts that the browser scenario ran and passed; returns its facts."""
        if name in PENDING:
            self.skipTest(PENDING[name])
        r = self.results.get(name)
        self.assertIsNotNone(r, f"console.mjs reported nothing for {name}:\n{self.node_output[-3000:]}")
        msg = r.get("error") or ""
        if r.get("browserErrors"):
            msg += "\nbrowser errors:\n  " + "\n  ".join(r["browserErrors"])
        self.assertTrue(r["ok"], f"{name}: {msg}\n(screenshot: {self.shots}/failed-{name}.png)")
        return r.get("facts") or {}


class Console(BrowserRun):
    fresh_shots = True

    @classmethod
    def _seed(cls):
        # More than a page (25) of orders, the oldest executions, for paging.
        cls._req("PUT", "/stock/coffee-beans", {"quantity": PAGED_ORDERS + 10})
        for i in range(PAGED_ORDERS):
            desc = cls._req("POST", "/order?wait=10", dict(ORDER, surname=f"Becker-{i}"))
            assert desc["status"] == "SUCCEEDED", desc
        ids, failed = [], []
        for qty in (1, 2, 1):
            desc = cls._req("POST", "/order?wait=10", dict(ORDER, quantity=qty))
            assert desc["status"] == "SUCCEEDED", desc
            ids.append(desc["executionId"])
        desc = cls._req("POST", "/order?wait=10", dict(ORDER, quantity=500))   # out of stock
        assert (desc["status"], desc["error"]) == ("FAILED", "OutOfStock"), desc
        ids.append(desc["executionId"])
        failed.append(desc["executionId"])
        for name, m in (("console-fail", FAILING), ("console-caught", CAUGHT),
                        ("console-wait", WAITING), ("console-echo", ECHO),
                        ("console-short", SHORT)):
            cls._req("PUT", f"/state-machines/{name}", m)
        fail = cls._start("console-fail", {"marker": "console-marker-5150"}, name="fail-1")
        assert fail["status"] == "FAILED", fail
        caught = cls._start("console-caught", {"k": 1})
        assert caught["status"] == "SUCCEEDED", caught
        echo = cls._start("console-echo", {"hello": "seed"})
        wait = cls._start("console-wait", {"nap": True}, wait=0)
        assert wait["status"] == "RUNNING", wait
        ids += [fail["executionId"], caught["executionId"], echo["executionId"], wait["executionId"]]
        failed.append(fail["executionId"])
        return {
            "allIds": ids, "failedIds": failed, "newestId": wait["executionId"],
            "failedCustomId": fail["executionId"], "failedCustomMarker": "console-marker-5150",
            "failError": FAIL_ERROR, "failCause": FAIL_CAUSE,
            "failedState": "Explode", "succeededStates": ["Prepare", "Charge"],
            "notReachedState": "Never",
            "outputState": "Charge", "outputMarker": "charge-receipt-7731",
            "caughtId": caught["executionId"], "caughtState": "Try", "recoverState": "Recover",
            "waitId": wait["executionId"],
            "startMachine": "console-echo", "startMachineMarker": "started from the form",
            "startMarker": "typed-in-the-browser", "startName": "from-the-form",
            "pagingMachine": "order", "searchPrefix": "fail-",
            "skip": sorted(PENDING),
            "shortMachine": "console-short", "shortWaitState": "Pause", "shortEndState": "Finish",
        }

    @classmethod
    def _run_browser(cls):
        super()._run_browser()
        if os.environ.get("SAGAD_UPDATE_SCREENSHOTS") == "1" and not is_asan():
            cls._update_readme_shots()

    @classmethod
    def _update_readme_shots(cls):
        dest = os.path.join(ROOT, "docs", "img")
        os.makedirs(dest, exist_ok=True)
        for src, name in README_SHOTS.items():
            path = os.path.join(cls.shots, src)
            if not os.path.exists(path):
                continue   # its scenario failed; the test says why
            shutil.copyfile(path, os.path.join(dest, name))
            if shutil.which("optipng"):
                subprocess.run(["optipng", "-quiet", "-o2", os.path.join(dest, name)], check=False)
            print(f"[console] updated docs/img/{name}", flush=True)

    def test_list_newest_first(self):
        facts = self.scenario("list")
        self.assertGreaterEqual(facts["rows"], len(self.seed["allIds"]))

    def test_status_counts(self):
        self.scenario("counts")

    def test_filter_failed_in_url(self):
        facts = self.scenario("filter_failed")
        self.assertEqual(facts["rows"], len(self.seed["failedIds"]))
        self.assertIn("status=FAILED", facts["url"])

    def test_filter_machine_search_paging(self):
        facts = self.scenario("filter_machine_search_paging")
        self.assertEqual(facts["total"], PAGED_ORDERS + 4)

    def test_open_failed_execution(self):
        self.scenario("open_failed")

    def test_graph_marks_failed_state(self):
        facts = self.scenario("graph_failed_state")
        self.assertIn("outcome-failed", facts["states"]["Explode"])

    def test_graph_labels_fit(self):
        self.scenario("graph_labels_fit")

    def test_state_output_and_error(self):
        self.scenario("state_detail")

    def test_event_table_one_row_per_event(self):
        facts = self.scenario("event_table")
        _, _, hist = self.d.request("GET", f"/executions/{self.seed['failedCustomId']}/history")
        self.assertEqual(facts["events"], len(hist["events"]))

    def test_timeline(self):
        self.scenario("timeline")

    def test_graph_marks_caught_state(self):
        self.scenario("caught_state")

    def test_keyboard_opens_state(self):
        self.scenario("keyboard")

    def test_deep_link_reload(self):
        self.scenario("deep_link_reload")

    def test_live_update_without_reload(self):
        facts = self.scenario("live_update")
        _, _, desc = self.d.request("GET", f"/executions/{facts['executionId']}")
        self.assertEqual(desc["status"], "SUCCEEDED")

    def test_polls_revalidate_with_etag(self):
        self.scenario("polls_revalidate")

    def test_stop_running_wait(self):
        self.scenario("stop_wait")
        _, _, desc = self.d.request("GET", f"/executions/{self.seed['waitId']}")
        self.assertEqual(desc["status"], "ABORTED")

    def test_redrive_stopped_wait(self):
        facts = self.scenario("redrive_wait")
        self.assertEqual(facts["redriveCount"], 1)
        _, _, desc = self.d.request("GET", f"/executions/{self.seed['waitId']}")
        self.assertEqual((desc["status"], desc["redriveCount"]), ("ABORTED", 1))
        _, _, h = self.d.request("GET", f"/executions/{self.seed['waitId']}/history")
        types = [e["type"] for e in h["events"]]
        self.assertEqual(types.count("ExecutionRedriven"), 1)
        self.assertEqual(types[-1], "ExecutionAborted")

    def test_start_from_form(self):
        facts = self.scenario("start_form")
        st, _, desc = self.d.request("GET", f"/executions/{facts['executionId']}")
        self.assertEqual(st, 200)
        self.assertEqual(desc["stateMachine"], "console-echo")
        self.assertEqual(desc["input"], {"fromConsole": self.seed["startMarker"]})
        self.assertEqual(desc["name"], self.seed["startName"])
        # The invalid JSON submitted first started nothing: the only
        # console-echo executions are the seeded one and this one.
        _, _, page = self.d.request("GET", "/executions?limit=100")
        echoes = [e for e in page["executions"] if e["stateMachine"] == "console-echo"]
        self.assertEqual(len(echoes), 2, echoes)

    def test_machines_view(self):
        self.scenario("machines")

    def test_orders_view(self):
        self.scenario("orders")

    def test_health_view(self):
        self.scenario("health")

    def test_phone_no_horizontal_overflow(self):
        self.scenario("phone")

    def test_no_browser_errors_anywhere(self):
        self.assertIsNotNone(self.done)
        self.assertEqual(self.done["browserErrors"], [])

    def test_screenshots_written(self):
        for name in ("executions", "executions-failed", "execution", "execution-state",
                     "execution-running", "machine", "machines", "orders", "health",
                     "phone-executions"):
            path = os.path.join(self.shots, name + ".png")
            self.assertTrue(os.path.exists(path), f"no screenshot {path}")
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", path)



class ConsoleTokens(BrowserRun):
    """A daemon that wants bearer tokens: the console asks for one in the
    page, once, and sends it with every call."""
    TOKEN = "console-test-" + "7f3a9c" * 6

    @classmethod
    def _prepare(cls):
        path = os.path.join(cls.d.dir, "tokens")
        with open(path, "w") as f:
            f.write(f"ops admin sha256:{hashlib.sha256(cls.TOKEN.encode()).hexdigest()}\n")
        cls.d.opts["auth_tokens_file"] = path
        cls.headers = {"Authorization": "Bearer " + cls.TOKEN}

    @classmethod
    def _seed(cls):
        st, _, _ = cls.d.request("GET", "/executions")
        assert st == 401, f"GET /executions without a token answered {st}"
        desc = cls._req("POST", "/order?wait=10", ORDER)
        return {"token": cls.TOKEN, "tokenExecutionId": desc["executionId"]}

    def test_token_prompt_once_per_tab(self):
        self.scenario("bearer_token")

    def test_no_other_browser_errors(self):
        self.assertIsNotNone(self.done)
        self.assertEqual(self.done["browserErrors"], [])


if __name__ == "__main__":
    unittest.main()
