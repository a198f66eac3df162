"""Configuration errors stop sagad with exit 2 and name file, line and key,
every one of them, before anything is created; so does a listen address
that cannot be bound."""
import os
import socket
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



class NothingTouchedBeforeGood(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sagad-config-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        self.db = os.path.join(self.dir, "state", "sagad.db")

    def run_conf(self, text, *args):
        path = os.path.join(self.dir, "sagad.conf")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([binary("sagad"), "-c", path, "--redis="] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        return p.returncode, p.stderr.decode(), path

    def assert_nothing_created(self):
        self.assertEqual(sorted(os.listdir(self.dir)), ["sagad.conf"])

    def test_every_problem_is_reported_and_nothing_created(self):
        code, err, path = self.run_conf(
            "listen = 127.0.0.1:0\n"
            f"database = {self.db}\n"
            "bogus_key = 1\n"
            "# fine\n"
            "log_level = loud\n"
            "max_connections = many\n")
        self.assertEqual(code, 2, err)
        lines = err.splitlines()
        self.assertEqual(len(lines), 3, err)
        self.assertIn(f"{path}:3: key 'bogus_key'", lines[0])
        self.assertIn(f"{path}:5: key 'log_level'", lines[1])
        self.assertIn(f"{path}:6: key 'max_connections'", lines[2])
        self.assert_nothing_created()

    def test_file_and_command_line_problems_together(self):
        code, err, path = self.run_conf("order_saga = maybe\n", "--sagas_dir=", "--nope=1",
                                        f"--database={self.db}")
        self.assertEqual(code, 2, err)
        self.assertEqual(len(err.splitlines()), 3, err)
        self.assertIn(f"{path}:1: key 'order_saga'", err)
        self.assertIn("command line: key 'sagas_dir'", err)
        self.assertIn("command line: key 'nope'", err)
        self.assert_nothing_created()

    def test_a_taken_listen_port_exits_before_the_database(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            code, err, _ = self.run_conf(f"listen = 127.0.0.1:{port}\ndatabase = {self.db}\n")
        self.assertEqual(code, 1, err)
        self.assertIn(f"key 'listen': cannot listen on 127.0.0.1:{port}: address already in use", err)
        self.assertIn("Nothing was opened", err)
        self.assert_nothing_created()

    def test_an_address_of_another_machine_is_a_configuration_error(self):
        # 192.0.2.0/24 is TEST-NET-1: never this machine's.
        code, err, _ = self.run_conf(f"listen = 192.0.2.1:8080\nauth = none\ndatabase = {self.db}\n")
        self.assertEqual(code, 2, err)
        self.assertIn("key 'listen': cannot listen on 192.0.2.1:8080", err)
        self.assert_nothing_created()

    def test_a_host_name_is_refused_as_listen(self):
        code, err, path = self.run_conf(f"listen = localhost:8080\ndatabase = {self.db}\n")
        self.assertEqual(code, 2, err)
        self.assertIn(f"{path}:1: key 'listen'", err)
        self.assertIn("numeric", err)
        self.assert_nothing_created()


if __name__ == "__main__":
    unittest.main()
