#!/usr/bin/env python3
"""A complete sagad activity worker in Python 3, standard library only.

It serves one activity: long-polls for tasks, runs work() on each input,
sends heartbeats while work() runs, and reports the result (or the failure)
with the task token. The token is the idempotency key: a task may be
delivered more than once (after a daemon restart or a timed-out attempt),
so work() must be safe to repeat for the same token.

usage: worker.py [--url URL] [--name WORKER] [--heartbeat SECONDS] [--poll SECONDS] ACTIVITY
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request


class StepError(Exception):
    """A failure with a name that Retry and Catch can match."""

    def __init__(self, error, cause):
        super().__init__(cause)
        self.error, self.cause = error, cause


def work(task_input, token):
    """The step itself; replace it with yours. `token` identifies the task:
    pass it on as an idempotency key to whatever you call."""
    name = task_input.get("name") if isinstance(task_input, dict) else None
    if not isinstance(name, str) or not name:
        raise StepError("Greeting.NoName", "the input has no name")
    time.sleep(float(task_input.get("seconds", 0)))  # pretend to be slow
    return {"greeting": f"Hello, {name}!"}


class Sagad:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def call(self, method, path, body=None, timeout=30):
        """Returns (HTTP status, parsed JSON or None). Raises OSError when
        the daemon cannot be reached."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, None

    def report(self, kind, body):
        """POST /tasks/KIND, retried while the daemon is unreachable or
        answers 5xx. Returns the final status."""
        delay = 0.5
        for _ in range(12):
            try:
                status, reply = self.call("POST", f"/tasks/{kind}", body)
                if status < 500:
                    if status == 404:
                        log("task %s...: the daemon no longer knows it (already reported "
                            "or timed out)" % body["taskToken"][:12])
                    return status
            except OSError as e:
                log(f"cannot report ({e}); retrying")
            time.sleep(delay)
            delay = min(delay * 2, 15)
        return None


def log(msg):
    print(f"worker: {msg}", file=sys.stderr, flush=True)


def heartbeats(sagad, token, every, done):
    """Until `done` is set: a heartbeat every `every` seconds."""
    while not done.wait(every):
        try:
            status, _ = sagad.call("POST", "/tasks/heartbeat", {"taskToken": token}, timeout=10)
            if status == 404:
                log(f"task {token[:12]}...: timed out; its result will be refused")
                return
        except OSError as e:
            log(f"heartbeat failed ({e})")


def serve(sagad, activity, worker, every, wait, stop):
    status, reply = sagad.call("PUT", f"/activities/{activity}")
    if status != 200:
        sys.exit(f"worker: cannot create activity {activity}: {status} {reply}")
    log(f"serving activity {activity} at {sagad.url} as {worker}")
    delay = 0.5
    while not stop.is_set():
        try:
            status, task = sagad.call("POST", f"/activities/{activity}/poll?wait={wait}",
                                      {"workerName": worker}, timeout=wait + 20)
        except OSError as e:
            log(f"poll failed ({e}); retrying in {delay:.1f}s")
            stop.wait(delay)
            delay = min(delay * 2, 15)
            continue
        delay = 0.5
        if status == 204:
            continue  # nothing arrived in time: poll again
        if status != 200:
            sys.exit(f"worker: poll answered {status} {task}")
        token = task["taskToken"]
        done = threading.Event()
        if every > 0:
            threading.Thread(target=heartbeats, args=(sagad, token, every, done),
                             daemon=True).start()
        try:
            output = work(task["input"], token)
            sagad.report("success", {"taskToken": token, "output": output})
        except StepError as e:
            sagad.report("failure", {"taskToken": token, "error": e.error, "cause": e.cause})
        except Exception as e:  # a bug in work(): report it rather than lose the task
            sagad.report("failure", {"taskToken": token, "error": "Worker.Exception",
                                     "cause": f"{type(e).__name__}: {e}"[:1000]})
        finally:
            done.set()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("activity")
    p.add_argument("--url", default=os.environ.get("SAGAD_URL", "http://127.0.0.1:8080"))
    p.add_argument("--name", default=f"{socket.gethostname()}-{os.getpid()}")
    p.add_argument("--heartbeat", type=float, default=10,
                   help="seconds between heartbeats (below the Task's HeartbeatSeconds)")
    p.add_argument("--poll", type=int, default=20, choices=range(1, 61), metavar="SECONDS",
                   help="how long one long poll waits (1-60); a stop waits at most this long")
    args = p.parse_args()
    # SIGINT/SIGTERM: finish the current poll and task, then exit 0.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve(Sagad(args.url), args.activity, args.name, args.heartbeat, args.poll, stop)


if __name__ == "__main__":
    main()
