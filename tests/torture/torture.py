"""kill -9 torture of the real daemon: cycle after cycle sagad starts on the
same database, clients start orders and executions of machines with Wait,
Parallel, Map, Retry/Catch and sagad:fail (and stop some), the disk fails
now and then, and the daemon is killed at a random moment. Between cycles the invariants are read from the SQLite file
(tests/torture/invariants.py); at the end the daemon drains everything and
every committed event must have reached a Redis subscriber.

    python3 tests/torture/torture.py [BUILD_DIR]     (make torture)

Environment: TORTURE_CYCLES (50), TORTURE_SEED (random), TORTURE_MAX_UP_S
(longest time a cycle runs before the kill, 2.5), TORTURE_CLIENTS (4),
TORTURE_DRAIN_S (180), TORTURE_FAULTS (0.3: the share of cycles in which the
disk fails for a while, through SAGAD_FAULT_FILE; 0 turns faults off).
Python 3 standard library only. Exits 1 on any violation, 0 otherwise."""
import http.client
import json
import os
import random
import re
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Daemon, Redis, Subscriber  # noqa: E402
from invariants import Checker, Start  # noqa: E402
from machines import MACHINES, make_input, pick  # noqa: E402

STOCK = {"coffee-beans": 1_000_000, "rare-tea": 60}


def env_num(name, default, kind=int):
    v = os.environ.get(name)
    return kind(v) if v not in (None, "") else default


class Clients:
    """Client threads that start work against the daemon's current port until
    told to stop. Every start has an idempotency key; one whose answer was
    lost (the kill) is retried with the same key and body in a later cycle."""

    def __init__(self, rng):
        self.rng = rng
        self.lock = threading.Lock()
        self.starts = []              # every Start ever made, in order
        self.unanswered = []          # Starts with no acknowledgement yet
        self.violations = []
        self.counter = 0
        self.requests = 0
        self.stops = 0
        self.unavailable = 0          # 503 answers (the disk faults)

    def new_start(self, rng):
        kind = pick(rng)
        with self.lock:
            self.counter += 1
            key = f"t{self.counter}-{kind}"
        if kind == "order":
            item = "rare-tea" if rng.random() < 0.25 else "coffee-beans"
            body = {"itemId": item, "quantity": rng.randint(1, 3), "firstname": "F",
                    "surname": "S", "street": "St", "zip": "1", "city": "C"}
            s = Start(key, kind, body, None)
        else:
            inp, expect = make_input(kind, rng)
            s = Start(key, kind, {"input": inp, "name": key}, expect)
        with self.lock:
            self.starts.append(s)
        return s

    def post(self, port, s):
        """One attempt; returns the HTTP status or None when the connection failed."""
        if s.kind == "order":
            path, headers = "/order", {"Idempotency-Key": s.key}
        else:
            path, headers = f"/state-machines/{s.kind}/executions", {}
        headers["Content-Type"] = "application/json"
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("POST", path, json.dumps(s.body), headers)
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            c.close()
        with self.lock:
            self.requests += 1
        if r.status in (200, 202):
            eid = json.loads(data)["executionId"]
            with self.lock:
                if s.eid is not None and s.eid != eid:
                    self.violations.append(f"key {s.key}: acknowledged as {s.eid}, then as {eid}")
                s.eid = s.eid or eid
                s.acks += 1
        elif r.status == 503:
            with self.lock:
                self.unavailable += 1
        else:
            with self.lock:
                self.violations.append(f"key {s.key}: unexpected {r.status} {data[:200]!r}")
        return r.status

    def stop_one(self, port, rng):
        """Stops a recent execution of a machine (not an order: a stopped
        saga does not compensate). 200 means it is ABORTED; 409 that it had
        already ended; a lost answer leaves it either way."""
        with self.lock:
            recent = [x for x in self.starts[-100:] if x.eid and x.kind != "order" and not x.stopped]
        if recent:
            self.stop_exec(port, rng.choice(recent))

    def stop_exec(self, port, s):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("POST", f"/executions/{s.eid}/stop", "{}", {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            with self.lock:
                s.stop_unknown = True
            return
        finally:
            c.close()
        with self.lock:
            self.requests += 1
            if r.status == 200:
                s.stopped = True
                self.stops += 1
            elif r.status == 503:
                # Not confirmed: a failed fsync may still have put the
                # stop on disk, where a restart finds it.
                s.stop_unknown = True
            elif r.status != 409:
                self.violations.append(f"stop of {s.eid}: unexpected {r.status} {data[:200]!r}")

    def run(self, port, stop, seed):
        rng = random.Random(seed)
        while not stop.is_set():
            if rng.random() < 0.04:
                self.stop_one(port, rng)
                continue
            with self.lock:
                s = self.unanswered.pop() if self.unanswered else None
            if s is None:
                if self.starts and rng.random() < 0.03:
                    # An acknowledged start asked again: the same execution.
                    with self.lock:
                        s = rng.choice([x for x in self.starts[-200:] if x.eid] or [None])
                s = s or self.new_start(rng)
            status = self.post(port, s)
            if s.kind in ("t-bigmap", "t-nested") and status == 202 and rng.random() < 0.5:
                self.stop_exec(port, s)       # while its children are queued
            if status is None or s.eid is None:
                with self.lock:
                    if s not in self.unanswered and s.eid is None:
                        self.unanswered.append(s)
                if status is None:
                    time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.01))


def set_fault(path, word):
    with open(path, "w") as f:
        f.write(word)


def disk_fault(path, rng, up):
    """Within the `up` seconds of a cycle, breaks the daemon's disk for a
    while (store/fault.h: failed writes, failed fsyncs or a full disk), then
    mends it; the kill may come before or after."""
    start = rng.uniform(0, up)
    length = rng.uniform(0.05, 0.6)
    time.sleep(start)
    set_fault(path, rng.choice(["write", "sync", "full"]))
    time.sleep(min(length, up - start))
    if length < up - start:
        set_fault(path, "")
        time.sleep(up - start - length)


def wait_drained(d, timeout):
    """Polls until no execution is RUNNING and the outbox is empty."""
    deadline = time.time() + timeout
    running = backlog = None
    while time.time() < deadline:
        _, _, body = d.request("GET", "/executions?status=RUNNING&limit=1")
        running = len(body["executions"])
        _, _, h = d.request("GET", "/healthz")
        backlog = h["outbox"]["backlog"]
        if running == 0 and backlog == 0:
            return True, 0, 0
        time.sleep(0.2)
    return False, running, backlog


def drain_and_check(d, clients, checker, sub, drain_s, fail):
    """With the daemon up: asks again the starts whose answer the last kill
    lost, waits until all has ended and is published, stops the daemon and
    checks the file and the subscriber."""
    with clients.lock:
        retry = list(clients.unanswered)
        clients.unanswered.clear()
    for s in retry:
        for _ in range(50):
            if clients.post(d.port, s) in (200, 202):
                break
            time.sleep(0.1)
    ok, running, backlog = wait_drained(d, drain_s)
    if not ok:
        fail(f"after {drain_s:.0f} s of drain: {running} running, outbox backlog {backlog}")
    code = d.stop()
    if code != 0:
        fail(f"sagad exited {code} on SIGTERM after the drain:\n{d.stderr()[-3000:]}")
    report = d.sanitizer_report()
    if report:
        fail(f"final: sanitizer report:\n{report[-6000:]}")
    for v in checker.check(clients.starts, final=True):
        fail(f"final: {v}")
    # Every committed event reached the subscriber, and nothing else did.
    committed = set(checker.committed)
    got = {e.get("id") for e in sub.wait_for(len(committed), timeout=15)}
    missing = committed - got
    if missing:
        fail(f"{len(missing)} committed events never published, e.g. {sorted(missing)[:3]}")
    phantom = got - committed
    if phantom:
        fail(f"{len(phantom)} published events were never committed, e.g. {sorted(phantom)[:3]}")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SAGAD_BUILD", "build")
    os.environ["SAGAD_BUILD"] = os.path.abspath(build)
    cycles = env_num("TORTURE_CYCLES", 50)
    seed = env_num("TORTURE_SEED", random.randrange(1 << 30))
    max_up = env_num("TORTURE_MAX_UP_S", 2.5, float)
    n_clients = env_num("TORTURE_CLIENTS", 4)
    drain_s = env_num("TORTURE_DRAIN_S", 180, float)
    fault_rate = env_num("TORTURE_FAULTS", 0.3, float)
    rng = random.Random(seed)
    print(f"torture: {cycles} cycles, seed {seed}, build {build}", flush=True)

    t0 = time.time()
    redis = Redis().start()
    sub = Subscriber(redis.port)
    d = Daemon(redis=redis.address, payment_latency_ms=30, payment_failure_rate=0.25)
    fault_file = os.path.join(d.dir, "fault")
    fault_env = {"SAGAD_FAULT_FILE": fault_file} if fault_rate > 0 else {}
    faults = 0
    checker = Checker(d.opts["database"], STOCK)
    clients = Clients(rng)
    violations, recovered, restart_ms, crashes, drain_time = [], [], [], 0, 0.0

    def fail(msg):
        violations.append(msg)
        print("VIOLATION:", msg, flush=True)

    try:
        for cycle in range(cycles):
            t_start = time.time()
            try:
                d.start(timeout=60, env=fault_env)
            except RuntimeError as e:
                fail(f"cycle {cycle}: {e}")
                break
            restart_ms.append((time.time() - t_start) * 1000)
            if cycle == 0:
                for item, qty in STOCK.items():
                    st, _, _ = d.request("PUT", f"/stock/{item}", {"quantity": qty})
                    assert st == 200, st
                for name, definition in MACHINES.items():
                    st, _, body = d.request("PUT", f"/state-machines/{name}", definition)
                    assert st in (200, 201), (name, body)

            stop = threading.Event()
            threads = [threading.Thread(target=clients.run, args=(d.port, stop, rng.random()))
                       for _ in range(n_clients)]
            for t in threads:
                t.start()
            # Mostly a while into the load; sometimes right after the start,
            # while recovery's work is still being committed.
            up = rng.uniform(0, 0.05) if rng.random() < 0.15 else rng.uniform(0.1, max_up)
            if cycle > 0 and rng.random() < fault_rate:
                faults += 1
                disk_fault(fault_file, rng, up)
            else:
                time.sleep(up)
            if d.proc.poll() is not None:
                crashes += 1
                fail(f"cycle {cycle}: sagad died by itself (exit {d.proc.returncode}):\n"
                     + d.stderr()[-3000:])
            # Recovery logs its count once its last chunk is done, which can
            # be after the daemon listens: read it at the end of the cycle.
            m = re.search(r"recovered (\d+) running", d.stderr())
            recovered.append(int(m.group(1)) if m else 0)
            d.kill()
            set_fault(fault_file, "")
            stop.set()
            for t in threads:
                t.join(30)
            report = d.sanitizer_report()
            if report:
                fail(f"cycle {cycle}: sanitizer report:\n{report[-6000:]}")
            for v in checker.check(clients.starts):
                fail(f"cycle {cycle}: {v}")
            acked = sum(1 for s in clients.starts if s.eid)
            print(f"cycle {cycle + 1}/{cycles}: up {up:.2f}s, recovered {recovered[-1]}, "
                  f"restart {restart_ms[-1]:.0f} ms, {acked} acknowledged starts", flush=True)
            if len(violations) > 50:
                break

        # The final drain: the daemon stays up until everything has ended and
        # every event is published, then stops gracefully.
        t_drain = time.time()
        try:
            d.start(timeout=60, env=fault_env)
        except RuntimeError as e:
            fail(f"final start: {e}")
        else:
            drain_and_check(d, clients, checker, sub, drain_s, fail)
        drain_time = time.time() - t_drain
        for v in clients.violations:
            fail(f"client: {v}")
    finally:
        d.cleanup()
        sub.close()
        redis.stop()

    acked = [s for s in clients.starts if s.eid]
    kinds = {}
    for s in acked:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    never = sum(1 for s in clients.starts if not s.eid)
    print("\ntorture summary")
    print(f"  seed {seed}, cycles {len(restart_ms)}, wall time {time.time() - t0:.0f} s "
          f"(final drain {drain_time:.1f} s)")
    print(f"  acknowledged starts {len(acked)} (orders {kinds.get('order', 0)}; "
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()) if k != "order")
          + f"); never acknowledged {never}; stops acknowledged {clients.stops}; "
          f"HTTP requests answered {clients.requests}, of them 503 {clients.unavailable}")
    print(f"  executions recovered at restarts: {sum(recovered)} over "
          f"{sum(1 for n in recovered if n)} restarts (max {max(recovered or [0])}); "
          f"disk faults injected in {faults} cycles; restart to listening: median {sorted(restart_ms)[len(restart_ms) // 2]:.0f} ms, "
          f"max {max(restart_ms):.0f} ms")
    print(f"  events committed {len(checker.committed)}, messages received {len(sub.events())}")
    print(f"  violations {len(violations)}, daemon crashes {crashes}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
