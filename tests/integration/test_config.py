"""Configuration errors stop sagad with exit 2 and name file, line and key."""
import os
import subprocess
import tempfile
import unittest

from harness import binary


def run_sagad(args, conf=None):
    with tempfile.TemporaryDirectory() as d:
        argv = [binary("sagad")]
        if conf is not None:
            path = os.path.join(d, "bad.conf")
            with open(path, "w") as f:
                f.write(conf)
            argv += ["-c", path]
        argv += args
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        return p.returncode, p.stderr.decode(), (path if conf is not None else None)


class ConfigErrors(unittest.TestCase):
    def test_unknown_key_in_file_exits_2_with_file_line_key(self):
        code, err, path = run_sagad([], "# comment\nlisten = 127.0.0.1:0\n\nbogus_key = 1\n")
        self.assertEqual(code, 2)
        self.assertIn(f"{path}:4", err)
        self.assertIn("bogus_key", err)

    def test_malformed_value_names_key(self):
        code, err, path = run_sagad([], "payment_failure_rate = 1.5\n")
        self.assertEqual(code, 2)
        self.assertIn(f"{path}:1", err)
        self.assertIn("payment_failure_rate", err)

    def test_bad_listen_address(self):
        code, err, path = run_sagad([], "listen = localhost\n")
        self.assertEqual(code, 2)
        self.assertIn(f"{path}:1", err)
        self.assertIn("listen", err)

    def test_line_without_equals(self):
        code, err, path = run_sagad([], "log_level = info\njust words\n")
        self.assertEqual(code, 2)
        self.assertIn(f"{path}:2", err)

    def test_unknown_command_line_key(self):
        code, err, _ = run_sagad(["--nope=1"])
        self.assertEqual(code, 2)
        self.assertIn("nope", err)
        self.assertIn("command line", err)

    def test_missing_config_file(self):
        code, err, _ = run_sagad(["-c", "/nonexistent/sagad.conf"])
        self.assertEqual(code, 2)
        self.assertIn("/nonexistent/sagad.conf", err)


if __name__ == "__main__":
    unittest.main()
