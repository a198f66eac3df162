#!/usr/bin/env python3
"""What the console's reads cost on a full database (make bench): one fresh
sagad, N executions (a tenth FAILED, a few hundred RUNNING in a long Wait,
the rest SUCCEEDED), then each read the console makes while someone looks:
the first and a deep page of the list, a status filter, a prefix search, the
counts, a description, a history and, when the daemon draws graphs, an
execution's graph. Prints one `console ...` line per read, key=value
(p50/p99 in ms over R sequential requests on one keep-alive connection),
for bench/report.py.
Usage: bench/console.py BUILD_DIR [EXECUTIONS] [REPEATS]"""
import http.client
import json
import sys
import threading
import time

from workers import Sagad, request


def start_all(port, n):
    def part(k):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(k, n, 4):
            m = "fail" if i % 10 == 0 else ("wait" if i % 50 == 1 else "pass")
            request(c, "POST", f"/state-machines/{m}/executions",
                    {"input": {"i": i}, "name": f"exec-{i}"})
    threads = [threading.Thread(target=part, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed(conn, path, repeats):
    ms = []
    for _ in range(repeats):
        t = time.perf_counter()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return r.status, len(body), ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    d = Sagad(build)
    try:
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=60)
        request(c, "PUT", "/state-machines/pass", {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}})
        request(c, "PUT", "/state-machines/fail", {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "F"}, "F": {"Type": "Fail", "Error": "Bench"}}})
        request(c, "PUT", "/state-machines/wait", {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
        start_all(d.port, n)
        _, page = request(c, "GET", "/executions?limit=50")
        cursor = page["nextCursor"]
        for _ in range(19):
            _, page = request(c, "GET", f"/executions?limit=50&cursor={cursor}")
            cursor = page["nextCursor"] or cursor
        _, failed = request(c, "GET", "/executions?status=FAILED&limit=1")
        fid = failed["executions"][0]["executionId"]
        reads = [
            ("list_first", "/executions?limit=50"),
            ("list_page20", f"/executions?limit=50&cursor={cursor}"),
            ("list_failed", "/executions?status=FAILED&limit=50"),
            ("list_search", "/executions?q=exec-99&limit=50"),
            ("list_search_none", "/executions?q=nothing&limit=50"),
            ("counts", "/executions/counts"),
            ("describe", f"/executions/{fid}"),
            ("history", f"/executions/{fid}/history"),
            ("graph", f"/executions/{fid}/graph.svg"),
        ]
        for tag, path in reads:
            st, size, p50, p99 = timed(c, path, repeats)
            if st != 200:
                continue  # e.g. a build without graphs
            print(f"console read={tag} executions={n} bytes={size} p50_ms={p50:.2f} "
                  f"p99_ms={p99:.2f}", flush=True)
    finally:
        d.close()


if __name__ == "__main__":
    main()
