"""Stopping a wide fan-out at once: a nested Map of N x N Pass items (60 x 60
by default, STOP_FANOUT_N) is started and stopped right away, a few times.
The daemon must answer /healthz promptly throughout, report each execution
ABORTED, exit 0 on SIGTERM and leave no sanitizer report. (It ran with
thousands of children queued when the stop ended the execution; before the
runtime fix ASan reported a heap use-after-free in the ready queue and the
release build could hang on SIGTERM.)

    python3 tests/torture/stop_fanout.py [BUILD_DIR]     (part of make torture)"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import Daemon  # noqa: E402

TRIES = 3


def nested_map():
    leaf = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Keep",
            "States": {"Keep": {"Type": "Pass", "End": True}}}
    row = {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Cells",
           "States": {"Cells": {"Type": "Map", "ItemsPath": "$", "End": True, "ItemProcessor": leaf}}}
    return {"StartAt": "Rows",
            "States": {"Rows": {"Type": "Map", "ItemsPath": "$.rows", "End": True, "ItemProcessor": row}}}


def run(d, n):
    """Returns a list of failures."""
    bad = []
    st, _, body = d.request("PUT", "/state-machines/fanout", nested_map())
    if st not in (200, 201):
        return [f"PUT /state-machines/fanout: {st} {body}"]
    rows = [list(range(n)) for _ in range(n)]
    for i in range(TRIES):
        st, _, body = d.request("POST", "/state-machines/fanout/executions", {"input": {"rows": rows}})
        if st != 202:
            bad.append(f"start {i}: {st} {body}")
            continue
        eid = body["executionId"]
        st, _, body = d.request("POST", f"/executions/{eid}/stop", {})
        if st not in (200, 409):
            bad.append(f"stop {i}: {st} {body}")
        t0 = time.time()
        st, _, _ = d.request("GET", "/healthz", timeout=5)
        ms = (time.time() - t0) * 1000
        if st != 200 or ms > 1000:
            bad.append(f"/healthz after stop {i}: {st} in {ms:.0f} ms")
        desc = d.wait_ended(eid, timeout=30)
        if desc.get("status") not in ("ABORTED", "SUCCEEDED"):
            bad.append(f"execution {eid}: {desc.get('status')} after the stop")
    return bad


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SAGAD_BUILD", "build")
    os.environ["SAGAD_BUILD"] = os.path.abspath(build)
    n = int(os.environ.get("STOP_FANOUT_N", "60"))
    d = Daemon().start()
    try:
        try:
            bad = run(d, n)
        except (OSError, ValueError, AttributeError) as e:
            bad = [f"the daemon stopped answering: {e!r}"]
        if d.proc.poll() is not None:
            bad.append(f"sagad died (exit {d.proc.returncode})")
        else:
            t0 = time.time()
            code = d.stop(timeout=10)
            if code != 0:
                bad.append(f"sagad exited {code} on SIGTERM after {time.time() - t0:.1f} s")
        report = d.sanitizer_report()
        if report:
            bad.append("sanitizer report:\n" + report[-4000:])
    finally:
        d.cleanup()
    print(f"stop_fanout: {TRIES} stops of a {n} x {n} nested Map: "
          + ("ok" if not bad else f"{len(bad)} failures"))
    for b in bad:
        print("FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
