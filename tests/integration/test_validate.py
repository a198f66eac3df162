"""`sagactl validate FILE`: every problem of an invalid definition is listed,
one per line, naming its state; exit 1 then, 0 with an OK line when valid, 2 on
usage errors."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import binary


VALID = {
    "Comment": "a small saga",
    "StartAt": "Check",
    "TimeoutSeconds": 30,
    "States": {
        "Check": {"Type": "Choice",
                  "Choices": [{"Variable": "$.quantity", "NumericGreaterThan": 0, "Next": "Reserve"}],
                  "Default": "Nothing"},
        "Reserve": {"Type": "Task", "Resource": "sagad:stock.reserve", "ResultPath": "$.r",
                    "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                    "Next": "Each"},
        "Each": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                 "ItemProcessor": {"StartAt": "One", "States": {
                     "One": {"Type": "Pass", "End": True}}}},
        "Failed": {"Type": "Fail", "Error": "OutOfStock"},
        "Nothing": {"Type": "Succeed"},
    },
}


class ValidateTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sagad-validate-")

    def tearDown(self):
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def validate(self, text, name="def.asl.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text if isinstance(text, str) else json.dumps(text))
        p = subprocess.run([binary("sagactl"), "validate", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def assertProblem(self, out, prefix, *words):
        """Some line starts with `prefix` (STATE.FIELD) and contains every word."""
        for line in out.splitlines():
            if line.startswith(prefix) and all(w in line for w in words):
                return
        self.fail("no line %r with %r in:\n%s" % (prefix, words, out))

    def test_valid_exits_zero(self):
        code, out, err = self.validate(VALID)
        self.assertEqual(code, 0, out + err)
        self.assertIn("OK", out)
        self.assertIn("5 states", out)

    def test_transition_problems_each_named(self):
        d = {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "Missing"},
            "B": {"Type": "Pass", "Next": "A", "End": True},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "A"}],
                  "End": True},
            "D": {"Type": "Fail", "Next": "A"},
            "E": {"Type": "Task", "Resource": "sagad:echo"},
        }}
        code, out, _ = self.validate(d)
        self.assertEqual(code, 1)
        self.assertProblem(out, "A.Next:", "Missing", "does not exist")
        self.assertProblem(out, "B.Next:", "Next and End")
        self.assertProblem(out, "C.End:", "Choice")
        self.assertProblem(out, "D.Next:", "Fail")
        self.assertProblem(out, "E.Next:", "required")
        for s in "BCDE":
            self.assertProblem(out, s + ":", "unreachable")
        self.assertEqual(len(out.strip().splitlines()), 9, out)

    def test_field_problems_each_named(self):
        d = {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": True,
                  "Bogus": 1, "InputPath": "$.a[",
                  "Retry": [{"ErrorEquals": ["States.ALL", "X"], "MaxAttempts": -1,
                             "BackoffRate": 0.5},
                            {"ErrorEquals": ["Y"]}],
                  "Catch": [{"ErrorEquals": ["X"], "Next": "Nowhere"}]},
        }}
        code, out, _ = self.validate(d)
        self.assertEqual(code, 1)
        self.assertProblem(out, "T.Resource:", "sagad:NAME")
        self.assertProblem(out, "T.Bogus:", "unknown field")
        self.assertProblem(out, "T.InputPath:")
        self.assertProblem(out, "T.Retry[0].ErrorEquals:", "States.ALL", "alone")
        self.assertProblem(out, "T.Retry[0].ErrorEquals:", "last")
        self.assertProblem(out, "T.Retry[0].MaxAttempts:", "negative")
        self.assertProblem(out, "T.Retry[0].BackoffRate:")
        self.assertProblem(out, "T.Catch[0].Next:", "Nowhere")

    def test_type_and_operator_problems(self):
        d = {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [
                {"Variable": "$.x", "NumericEquals": "one", "Next": "X"},
                {"Variable": "$.x", "NoSuchOperator": 1, "Next": "X"}], "Default": "X"},
            "X": {"Type": "Taks"},
        }}
        code, out, _ = self.validate(d)
        self.assertEqual(code, 1)
        self.assertProblem(out, "W.Seconds:", "only one")
        self.assertProblem(out, "C.Choices[0]")
        self.assertProblem(out, "C.Choices[1]")
        self.assertProblem(out, "X.Type:", "Taks")

    def test_nested_states_named(self):
        d = {"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "End": True, "Branches": [
                {"StartAt": "In", "States": {"In": {"Type": "Pass", "Next": "Out"}}}]}}}
        code, out, _ = self.validate(d)
        self.assertEqual(code, 1)
        self.assertProblem(out, "P/In.Next:", "Out")

    def test_whole_machine_rules(self):
        d = {"StartAt": "Fan", "States": {
            "Fan": {"Type": "Parallel", "Next": "Loop", "Branches": [
                {"StartAt": "Loop", "States": {"Loop": {"Type": "Pass", "Next": "Loop"}}}]},
            "Loop": {"Type": "Pass", "End": True}}}
        code, out, err = self.validate(d)
        self.assertEqual(code, 1, out + err)
        both = out + err
        self.assertIn("unique across the whole machine", both)
        self.assertIn("no terminal state", both)

    def test_json_syntax_error_has_line_and_column(self):
        code, out, _ = self.validate('{"StartAt": "A",\n "States": {"A": {"Type": "Pass",, "End": true}}}')
        self.assertEqual(code, 1)
        self.assertIn("line 2, column", out)

    def test_missing_start_and_states(self):
        code, out, _ = self.validate({"Comment": 3})
        self.assertEqual(code, 1)
        self.assertProblem(out, "StartAt:", "required")
        self.assertProblem(out, "States:", "required")
        self.assertProblem(out, "Comment:", "string")

    def test_usage_errors(self):
        p = subprocess.run([binary("sagactl"), "validate"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([binary("sagactl"), "validate", os.path.join(self.dir, "absent.json")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("absent.json", p.stderr.decode())

    def test_stdin(self):
        p = subprocess.run([binary("sagactl"), "validate", "-"], input=json.dumps(VALID).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_repository_sagas_are_valid(self):
        sagas = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "sagas")
        if not os.path.isdir(sagas):
            self.skipTest("no sagas/ directory on this branch")
        for f in sorted(os.listdir(sagas)):
            if f.endswith(".asl.json"):
                p = subprocess.run([binary("sagactl"), "validate", os.path.join(sagas, f)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
                self.assertEqual(p.returncode, 0, f + ": " + p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
