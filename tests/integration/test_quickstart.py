"""The README quick start as a user runs it: `make run`'s script (Redis started
on demand, sagad with the development config), the README's curl line, then
`sagactl status` of the execution it started."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, binary, free_port


def readme_curl():
    text = open(os.path.join(ROOT, "README.md")).read()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    lines, cmd = block.splitlines(), []
    for line in lines:
        cmd.append(line)
        if not line.rstrip().endswith("\\"):
            break
    return "\n".join(cmd)


class QuickStart(unittest.TestCase):
    def test_readme_quick_start(self):
        tmp = tempfile.mkdtemp(prefix="sagad-qs-")
        self.addCleanup(shutil.rmtree, tmp, True)
        port, rport = free_port(), free_port()
        conf = os.path.join(tmp, "sagad.conf")
        with open(os.path.join(ROOT, "conf", "sagad.conf")) as f:
            text = f.read()
        text = re.sub(r"(?m)^listen = .*$", f"listen = 127.0.0.1:{port}", text)
        text = re.sub(r"(?m)^database = .*$", f"database = {tmp}/sagad.db", text)
        text = re.sub(r"(?m)^redis = .*$", f"redis = 127.0.0.1:{rport}", text)
        with open(conf, "w") as f:
            f.write(text)
        env = dict(os.environ, SAGAD_CONF=conf, SAGAD_BIN=binary("sagad"))
        proc = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh")], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
            subprocess.run(["redis-cli", "-p", str(rport), "shutdown", "nosave"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop)
        log = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            log.append(line)
            if "listening on" in line:
                break
        self.assertTrue(any("listening on" in l for l in log), "".join(log))
        self.assertTrue(any("starting a local redis-server" in l for l in log), "".join(log))

        cmd = readme_curl().replace("localhost:8080", f"127.0.0.1:{port}")
        self.assertIn("curl -X POST", cmd)
        out = subprocess.run(["bash", "-c", cmd + " -s"], capture_output=True, text=True, timeout=20)
        reply = json.loads(out.stdout)
        self.assertEqual(reply["status"], "RUNNING")
        eid = reply["executionId"]
        deadline = time.time() + 10
        while True:   # the saga runs on after the 202
            st = subprocess.run([binary("sagactl"), "--url", f"http://127.0.0.1:{port}", "status",
                                 eid], capture_output=True, text=True, timeout=20)
            if st.returncode != 0 or not re.search(r"(?m)^Status\s+RUNNING$", st.stdout) or \
                    time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertIn(eid, st.stdout)
        self.assertIn("order", st.stdout)
        self.assertRegex(st.stdout, r"SUCCEEDED|FAILED")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(20), 0)
        # The Redis that `make run` started is gone with it.
        self.assertIn("stopping the redis-server", proc.stderr.read())
        ping = subprocess.run(["redis-cli", "-p", str(rport), "ping"], capture_output=True,
                              text=True, timeout=10)
        self.assertNotIn("PONG", ping.stdout)


if __name__ == "__main__":
    unittest.main()
