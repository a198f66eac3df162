#!/usr/bin/env python3
"""Steps outside the daemon, measured (make bench): activity round trips per
second with N worker processes (poll, then report success; each round trip is
two HTTP requests and a commit), and the latency a token callback adds (POST
/tasks/success until its answer, which comes after the commit that records
it). One fresh sagad per run. Prints one `workers ...` line per N and one
`callback ...` line, key=value, for bench/report.py.
Usage: bench/workers.py BUILD_DIR [TASKS] [CALLBACKS]"""
import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Sagad:
    def __init__(self, build):
        self.dir = tempfile.mkdtemp(prefix="sagad-bench-workers-")
        self.log = open(os.path.join(self.dir, "sagad.log"), "w+")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, build, "sagad"), "--listen=127.0.0.1:0",
             f"--database={self.dir}/sagad.db", f"--sagas_dir={ROOT}/sagas", "--redis=",
             "--log_level=info"], stderr=self.log, stdout=subprocess.DEVNULL)
        self.port = None
        deadline = time.time() + 15
        while not self.port and time.time() < deadline:
            time.sleep(0.05)
            with open(self.log.name) as f:
                m = re.search(r"listening on .*:(\d+)$", f.read(), re.M)
            self.port = int(m.group(1)) if m else None
        if not self.port:
            raise SystemExit("sagad did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def request(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def worker(port, n_stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while True:
        st, task = request(conn, "POST", "/activities/bench/poll?wait=1", {"workerName": "w"})
        if st == 204:
            if n_stop.value:
                return
            continue
        request(conn, "POST", "/tasks/success",
                {"taskToken": task["taskToken"], "output": task["input"]})


def bench_workers(build, n_workers, tasks):
    d = Sagad(build)
    try:
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        request(c, "PUT", "/activities/bench")
        request(c, "PUT", "/state-machines/bench", {"StartAt": "W", "States": {"W": {
            "Type": "Task", "Resource": "sagad:activity:bench", "End": True}}})
        for i in range(tasks):
            request(c, "POST", "/state-machines/bench/executions", {"input": {"i": i}})
        stop = multiprocessing.Value("i", 0)
        procs = [multiprocessing.Process(target=worker, args=(d.port, stop))
                 for _ in range(n_workers)]
        t0 = time.time()
        for p in procs:
            p.start()
        while True:
            c.request("GET", "/metrics")
            body = c.getresponse().read().decode()
            waiting = int(re.search(r"^sagad_task_tokens_waiting (\d+)", body, re.M).group(1))
            if waiting == 0:
                break
            time.sleep(0.01)
        secs = time.time() - t0
        stop.value = 1
        for p in procs:
            p.join()
        return secs
    finally:
        d.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def bench_callback(build, n):
    d = Sagad(build)
    try:
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        request(c, "PUT", "/state-machines/cb", {"StartAt": "W", "States": {"W": {
            "Type": "Task", "Resource": "sagad:echo.waitForTaskToken",
            "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}})
        request(c, "PUT", "/state-machines/local", {"StartAt": "W", "States": {"W": {
            "Type": "Task", "Resource": "sagad:echo", "End": True}}})
        cb, local = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            request(c, "POST", "/state-machines/local/executions?wait=5", {"input": {}})
            local.append((time.perf_counter() - t0) * 1000)
            _, s = request(c, "POST", "/state-machines/cb/executions", {"input": {}})
            _, hist = request(c, "GET", f"/executions/{s['executionId']}/history")
            tok = [e["details"]["parameters"]["token"] for e in hist["events"]
                   if e["type"] == "TaskScheduled"][0]
            # The wait is armed once the start committed; the start answered after that.
            t0 = time.perf_counter()
            st, _ = request(c, "POST", "/tasks/success", {"taskToken": tok, "output": 1})
            cb.append((time.perf_counter() - t0) * 1000)
            assert st == 200, st
        return cb, local
    finally:
        d.close()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    ncb = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    for n in (1, 4, 16):
        secs = bench_workers(build, n, tasks)
        print(f"workers n={n} tasks={tasks} secs={secs:.2f} roundtrips_s={tasks / secs:.0f}",
              flush=True)
    cb, local = bench_callback(build, ncb)
    print(f"callback n={ncb} report_p50_ms={pct(cb, .5):.2f} report_p99_ms={pct(cb, .99):.2f} "
          f"local_start_wait_p50_ms={pct(local, .5):.2f} "
          f"local_start_wait_p99_ms={pct(local, .99):.2f}", flush=True)


if __name__ == "__main__":
    main()
