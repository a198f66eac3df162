#!/usr/bin/env python3
"""PostgreSQL nodes, measured (make bench): the order saga from bench/loadgen
against 1, 2 and 3 sagad nodes on one throwaway PostgreSQL 15 cluster (a fresh
database per point), next to one SQLite node measured the same way in the same
run; then the failover time over K kill -9 rounds of 3 nodes under light order
load. With BENCH_BEFORE_BUILD (the build directory of an earlier commit,
named by BENCH_BEFORE_NAME) each round also runs 1 node of that build, for a
before/after comparison under the same load. Prints `pg_e2e ...` and
`pg_failover ...` lines, key=value, for bench/report.py.
Usage: bench/cluster.py BUILD_DIR [SECONDS] [CONNS] [KILLS] [LEASE_MS] [REPEAT]"""
import http.client
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import pg  # noqa: E402  (the test suite's throwaway clusters)
from harness import Daemon, Redis  # noqa: E402

ORDER = {"itemId": "coffee-beans", "quantity": 1, "firstname": "Laura", "surname": "Becker",
         "street": "Main Avenue 1", "zip": "12345", "city": "Fancy Town"}
WAIT1 = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "S"},
                                    "S": {"Type": "Succeed"}}}
FAILOVER_STOCK = 1000000
TICKS = os.sysconf("SC_CLK_TCK")


def say(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def proc_s(pid):
    """(CPU seconds, seconds spent waiting for a CPU) of one process so far;
    (0, 0) once it is gone. The wait shows how much the shared box held it back."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/schedstat") as f:
            wait_ns = int(f.read().split()[1])
        return (int(fields[11]) + int(fields[12])) / TICKS, wait_ns / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def group_s(pids):
    got = [proc_s(p) for p in pids]
    return sum(c for c, _ in got), sum(w for _, w in got)


def postgres_pids(cluster):
    """The postmaster and all its children (backends, walwriter, checkpointer)."""
    if cluster is None:
        return []
    try:
        with open(os.path.join(cluster.data, "postmaster.pid")) as f:
            root = int(f.readline())
    except (OSError, ValueError):
        return []
    pids = [root]
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def pct(xs, p):
    """Nearest rank."""
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, -(-int(p * len(xs) * 1000) // 1000) - 1))]


def request(port, method, path, body=None, conn=None, timeout=10):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=None if body is None else json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        if conn is None:
            c.close()


class Bench:
    def __init__(self, build, secs, conns):
        self.build = build
        self.secs = secs
        self.conns = conns
        self.tmp = tempfile.mkdtemp(prefix="sagad-bench-cluster-")
        self.sagas = os.path.join(self.tmp, "sagas")
        os.makedirs(self.sagas)
        saga = os.environ.get("BENCH_SAGA") or os.path.join(ROOT, "sagas", "order.asl.json")
        shutil.copy(saga, os.path.join(self.sagas, "order.asl.json"))
        self.body = os.path.join(self.tmp, "order.json")
        with open(self.body, "w") as f:
            f.write(json.dumps(ORDER))
        self.redis = Redis().start()
        self.cluster = None
        self.nodes = []

    def close(self):
        for d in self.nodes:
            d.cleanup()
        self.nodes = []
        if self.cluster:
            self.cluster.cleanup()
        self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_nodes(self, n, database, **opts):
        """One after the other: the first creates the schema."""
        self.nodes = []
        for i in range(n):
            extra = dict(opts, node_id=f"n{i + 1}") if database.startswith("postgresql:") else opts
            d = Daemon(database=database, sagas_dir=self.sagas, redis=self.redis.address,
                       payment_failure_rate=0, **extra)
            self.nodes.append(d)
            d.start()
        return self.nodes

    def stop_nodes(self):
        for d in self.nodes:
            d.stop()
            d.cleanup()
        self.nodes = []

    def new_database(self, name):
        self.cluster.psql(f"CREATE DATABASE {name}")
        return self.cluster.uri(name)

    # ---- throughput ---------------------------------------------------------

    def throughput(self, n_nodes, split=False, run=0, before=None):
        """The order saga on n_nodes PostgreSQL nodes (n_nodes 0: one SQLite
        node). One loadgen spreads its connections over the nodes; with split,
        each node gets its own loadgen ordering its own item (its own stock
        row), to show what the one stock row costs. With before, the nodes
        are that build directory's sagad."""
        backend = "sqlite" if n_nodes == 0 else "postgresql"
        db = f"bench_n{n_nodes}" + ("_split" if split else "") + ("_before" if before else "") \
            + f"_{run}"
        ours = os.environ["SAGAD_BUILD"]
        if before:
            os.environ["SAGAD_BUILD"] = before
        try:
            self.measure(n_nodes, split, run, backend, db, before)
        finally:
            os.environ["SAGAD_BUILD"] = ours

    def measure(self, n_nodes, split, run, backend, db, before):
        if n_nodes == 0:
            db_file = os.path.join(self.tmp, f"sqlite{run}", "sagad.db")
            os.makedirs(os.path.dirname(db_file))
            nodes = self.start_nodes(1, db_file)
        else:
            nodes = self.start_nodes(n_nodes, self.new_database(db))
        loadgen = os.path.join(ROOT, self.build, "bench", "loadgen")
        if split:
            runs = []
            for i, d in enumerate(nodes):
                item = f"bench-item-{i + 1}"
                body = os.path.join(self.tmp, f"{item}.json")
                with open(body, "w") as f:
                    f.write(json.dumps(dict(ORDER, itemId=item)))
                st, _ = request(d.port, "PUT", f"/stock/{item}", {"quantity": 1000000000})
                assert st == 200, st
                conns = self.conns // len(nodes) + (i < self.conns % len(nodes))
                runs.append([loadgen, "-p", str(d.port), "-c", str(conns), "-d", str(self.secs),
                             "-b", body])
        else:
            st, _ = request(nodes[0].port, "PUT", "/stock/coffee-beans", {"quantity": 1000000000})
            assert st == 200, st
            runs = [[loadgen, "-p", ",".join(str(d.port) for d in nodes), "-c", str(self.conns),
                     "-d", str(self.secs), "-b", self.body]]
        say(f"postgresql nodes: {backend} x{len(nodes)}{', one item per node' if split else ''}, "
            f"{self.conns} connections for {self.secs}s")
        pids = [d.proc.pid for d in nodes]
        pg_pids = postgres_pids(self.cluster) if n_nodes else []
        node0, pg0 = group_s(pids), group_s(pg_pids)
        lg0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = [subprocess.Popen(r, stdout=subprocess.PIPE) for r in runs]
        outs = [p.communicate()[0].decode().strip() for p in procs]
        if any(p.returncode for p in procs):
            raise SystemExit(f"loadgen failed: {outs}")
        lg1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        node1, pg1 = group_s(pids), group_s(postgres_pids(self.cluster) if n_nodes else [])
        lg_cpu = (lg1.ru_utime + lg1.ru_stime) - (lg0.ru_utime + lg0.ru_stime)
        counts = "SELECT (SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'), " \
                 "(SELECT count(*) FROM executions WHERE status = 'FAILED'), " \
                 "(SELECT count(*) FROM executions WHERE status = 'RUNNING'), " \
                 "(SELECT count(*) FROM executions), " \
                 "(SELECT max(stop_ms) - min(stop_ms) FROM executions WHERE stop_ms IS NOT NULL)"
        for _ in range(300):   # drain: every accepted saga ends (at once: they are synchronous)
            if n_nodes:
                row = self.cluster.psql(counts, db=db).split("|")
            else:
                with sqlite3.connect(db_file, timeout=5) as c:
                    row = [str(x) for x in c.execute(counts).fetchone()]
            if row[2] == "0":
                break
            time.sleep(0.1)
        self.stop_nodes()
        kv = [dict(x.split("=", 1) for x in o.split()) for o in outs]
        # Several loadgens (split): counts add up, latencies are the worst of them.
        lg = {"conns": sum(int(k["conns"]) for k in kv), "secs": max(float(k["secs"]) for k in kv)}
        for key in ("ok", "non2xx", "errors", "reconnects"):
            lg[key] = sum(int(k[key]) for k in kv)
        lg["rps"] = f'{sum(float(k["rps"]) for k in kv):.1f}'
        for key in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"):
            lg[key] = max(float(k[key]) for k in kv)
        succeeded, failed, running, executions, span = row
        print(f"pg_e2e backend={backend} nodes={len(nodes)} split={int(split)} c={self.conns} "
              f"before={int(bool(before))} "
              f"duration_s={self.secs:g} "
              + " ".join(f"{k}={v}" for k, v in lg.items())
              + f" succeeded={succeeded} failed={failed} running={running} "
              f"executions={executions} span_ms={span or 0} "
              f"cpu_sagad_s={node1[0] - node0[0]:.2f} cpu_postgres_s={pg1[0] - pg0[0]:.2f} "
              f"cpu_loadgen_s={lg_cpu:.2f} waitcpu_sagad_s={node1[1] - node0[1]:.2f} "
              f"waitcpu_postgres_s={pg1[1] - pg0[1]:.2f}", flush=True)

    # ---- failover -----------------------------------------------------------

    def failover(self, kills, lease_ms):
        uri = self.new_database("bench_failover")
        nodes = self.start_nodes(3, uri, lease_ms=lease_ms)
        up_at = [time.monotonic()] * 3
        port = nodes[0].port
        st, _ = request(port, "PUT", "/stock/coffee-beans", {"quantity": FAILOVER_STOCK})
        assert st == 200, st
        st, _ = request(port, "PUT", "/state-machines/wait1", WAIT1)
        assert st in (200, 201), st
        say(f"postgresql failover: {kills} rounds of kill -9 on 3 nodes, lease_ms {lease_ms}")

        stop = threading.Event()
        acked = [0, 0, 0]   # orders answered 2xx, answered otherwise, lost to a kill

        def light_load(k):
            i = k
            while not stop.is_set():
                i += 1
                d = nodes[i % 3]
                p = d.port if d.proc is not None else None
                if p:
                    try:
                        st, _ = request(p, "POST", "/order", ORDER, timeout=10)
                        acked[0 if 200 <= st < 300 else 1] += 1
                    except (OSError, http.client.HTTPException, ValueError):
                        acked[2] += 1
                time.sleep(0.02)

        load = [threading.Thread(target=light_load, args=(k,)) for k in range(2)]
        for t in load:
            t.start()
        # A node claims only after a whole lease of steady renewals of its own
        # (first renewal lease_ms/3 after it starts): wait until both survivors
        # of the next kill qualify, as long-running survivors would.
        steady = 4 * lease_ms / 3000 + 0.2
        times, lost = [], 0
        try:
            for r in range(kills):
                v = r % 3
                survivor = nodes[(r + 1) % 3]
                time.sleep(max(0.0, max(up_at[i] for i in range(3) if i != v) + steady
                                - time.monotonic()))
                st, body = request(nodes[v].port, "POST", "/state-machines/wait1/executions",
                                   {"input": {}})
                assert st in (200, 201, 202), (st, body)
                eid = body["executionId"]
                killed_at = time.monotonic()
                nodes[v].kill()
                conn = http.client.HTTPConnection("127.0.0.1", survivor.port, timeout=10)
                deadline = killed_at + 2 * lease_ms / 1000 + 10
                status = "RUNNING"
                while time.monotonic() < deadline:
                    _, desc = request(None, "GET", f"/executions/{eid}", conn=conn)
                    status = desc.get("status")
                    if status != "RUNNING":
                        break
                    time.sleep(0.02)
                ended = time.monotonic() - killed_at
                conn.close()
                if status == "SUCCEEDED":
                    times.append(ended * 1000)
                else:
                    lost += 1
                    say(f"round {r + 1}: execution {eid} is {status} after {ended:.1f}s")
                nodes[v].start()   # same node_id: a new epoch
                up_at[v] = time.monotonic()
        finally:
            stop.set()
            for t in load:
                t.join(30)
        # Afterwards nothing is stuck and stock moved exactly by the processed orders.
        deadline = time.time() + 60
        running = "?"
        while time.time() < deadline:
            running = self.cluster.psql("SELECT count(*) FROM executions WHERE status = 'RUNNING'",
                                        db="bench_failover")
            if running == "0":
                break
            time.sleep(0.2)
        sold = int(self.cluster.psql("SELECT coalesce(sum(quantity), 0) FROM orders "
                                     "WHERE status = 'PROCESSED'", db="bench_failover"))
        left = int(self.cluster.psql("SELECT quantity FROM stock WHERE item_id = 'coffee-beans'",
                                     db="bench_failover"))
        executions = self.cluster.psql("SELECT count(*) FROM executions", db="bench_failover")
        self.stop_nodes()
        ms = times or [0]
        print(f"pg_failover lease_ms={lease_ms} kills={kills} ended={len(times)} lost={lost} "
              f"min_ms={min(ms):.0f} p50_ms={pct(ms, .5):.0f} p90_ms={pct(ms, .9):.0f} "
              f"max_ms={max(ms):.0f} all_ms={','.join(f'{x:.0f}' for x in ms)} "
              f"orders_acked={acked[0]} orders_non2xx={acked[1]} orders_lost={acked[2]} "
              f"executions={executions} "
              f"running_after={running} stock_initial={FAILOVER_STOCK} sold={sold} left={left} "
              f"stock_ok={int(left == FAILOVER_STOCK - sold)}", flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 8
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    kills = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    lease_ms = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
    repeat = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    why = pg.available()
    if why:
        say(f"postgresql nodes skipped: {why}")
        print(f'pg_skipped reason="{why}"', flush=True)
        return
    os.environ["SAGAD_BUILD"] = os.path.join(ROOT, build)
    version = subprocess.run([os.path.join(pg.BIN, "postgres"), "--version"], check=True,
                             stdout=subprocess.PIPE).stdout.decode().split()[2]
    before = os.environ.get("BENCH_BEFORE_BUILD")
    before_name = os.environ.get("BENCH_BEFORE_NAME", before or "")
    print(f'pg_meta start={time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())} '
          f'postgres={version} cpus={os.cpu_count()} load_before="{loadavg()}"'
          + (f' before_name="{before_name}"' if before else ''), flush=True)
    b = Bench(build, secs, conns)
    try:
        b.cluster = pg.Cluster().start()
        # Rounds over all points, so that a busy moment of the shared machine
        # does not hit one point only; report.py keeps the best of each.
        for r in range(repeat):
            b.throughput(0, run=r)
            if before:
                b.throughput(1, run=r, before=os.path.abspath(before))
            for n in (1, 2, 3):
                b.throughput(n, run=r)
            b.throughput(3, split=True, run=r)
        if kills > 0:
            b.failover(kills, lease_ms)
    finally:
        b.close()
    print(f'pg_meta_end end={time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())} '
          f'load_after="{loadavg()}"', flush=True)


if __name__ == "__main__":
    main()
