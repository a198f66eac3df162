#!/usr/bin/env python3
"""Runs the whole suite against one or more build directories and prints one
closing line "N passed, N failed".

For each build dir: every C unit test binary BUILD/tests/test_* (cmocka, TAP
output), then every Python integration test module tests/integration/test_*.py
with SAGAD_BUILD=BUILD so the harness starts BUILD/sagad.

With --pg BUILD, the integration modules again with BUILD's sagad on
PostgreSQL (a throwaway cluster, tests/integration/pg.py): every daemon that
names no database gets one there; what only SQLite has is skipped, saying why.

With --fuzz FUZZ_BUILD, also the libFuzzer targets on their saved inputs.

usage: tests/run.py [-k SUBSTRING] [--pg BUILD] [--fuzz FUZZ_BUILD] BUILD [BUILD ...]
"""
import argparse
import glob
import os
import re
import signal
import subprocess
import tempfile
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAP_RE = re.compile(r"^(not ok|ok) \d+ - (.*)$")


def run_unit(build, pattern, totals):
    for exe in sorted(glob.glob(os.path.join(build, "tests", "test_*"))):
        if not os.access(exe, os.X_OK) or exe.endswith(".d"):
            continue
        name = os.path.basename(exe)
        if pattern and pattern not in name:
            continue
        env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
        t0 = time.time()
        try:
            p = subprocess.run([exe], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=600)
            out, code = p.stdout.decode(errors="replace"), p.returncode
        except subprocess.TimeoutExpired as e:
            out, code = (e.stdout or b"").decode(errors="replace") + "\nTIMEOUT", -1
        passed = failed = 0
        for line in out.splitlines():
            m = TAP_RE.match(line)
            if m:
                if m.group(1) == "ok":
                    passed += 1
                else:
                    failed += 1
        if code != 0 and failed == 0:
            failed = 1  # crashed, sanitizer report or no TAP output
        if passed == 0 and failed == 0:
            failed = 1  # a test binary that runs no test is a defect
        ok = failed == 0
        print(f"[{build}] {name}: {passed} passed, {failed} failed ({time.time() - t0:.1f}s)")
        if not ok:
            print("\n".join("    " + l for l in out.splitlines()[-60:]))
        totals[0] += passed
        totals[1] += failed


class CountingResult(unittest.TextTestResult):
    pass


INTEGRATION = os.path.join(ROOT, "tests", "integration")
# Modules the PostgreSQL pass leaves out: static checks of the sources that
# start no daemon; every test_*_pg module and test_cluster (they run
# PostgreSQL clusters of their own in every pass already); the installed
# unit under systemd-nspawn and `make install` (which would also race the
# other passes' builds).
PG_PASS_SKIPS = {"test_layout", "test_cluster", "test_systemd_unit", "test_ops"}


def run_integration(build, pattern, totals, label=None, pg_pass=False):
    os.environ["SAGAD_BUILD"] = os.path.abspath(build)
    if INTEGRATION not in sys.path:
        sys.path.insert(0, INTEGRATION)
    loader = unittest.TestLoader()
    for path in sorted(glob.glob(os.path.join(INTEGRATION, "test_*.py"))):
        modname = os.path.splitext(os.path.basename(path))[0]
        if pg_pass and (modname in PG_PASS_SKIPS or modname.endswith("_pg")):
            continue
        suite = loader.loadTestsFromName(modname)
        if pattern:
            suite = unittest.TestSuite(
                t for t in _flatten(suite) if pattern in t.id() or pattern in modname)
        if suite.countTestCases() == 0:
            continue
        t0 = time.time()
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1, resultclass=CountingResult)
        res = runner.run(suite)
        # A test can both error and fail (in tearDown): count it once.
        bad = {id(t) for t, _ in res.failures + res.errors} | {id(t) for t in res.unexpectedSuccesses}
        failed = len(bad)
        passed = res.testsRun - failed - len(res.skipped)
        print(f"[{label or build}] {modname}: {passed} passed, {failed} failed, "
              f"{len(res.skipped)} skipped ({time.time() - t0:.1f}s)")
        totals[0] += passed
        totals[1] += failed
        totals[2] += len(res.skipped)


def run_fuzz(build, totals):
    """The libFuzzer targets as regression tests: every saved crash input
    (tests/fuzz/crashes/, each one a fixed defect) and every seed of both
    corpora must run clean under ASan/UBSan. No fuzzing: -runs=0."""
    runs = [(f"crash {os.path.basename(f)}", "fuzz_runtime", [f])
            for f in sorted(glob.glob(os.path.join(ROOT, "tests", "fuzz", "crashes", "*")))]
    runs.append(("corpus", "fuzz_asl", [os.path.join(ROOT, "tests", "fuzz", "corpus")]))
    runs.append(("corpus-runtime", "fuzz_runtime",
                 [os.path.join(ROOT, "tests", "fuzz", "corpus-runtime")]))
    for name, target, args in runs:
        exe = os.path.join(build, target)
        t0 = time.time()
        try:
            p = subprocess.run([exe, "-runs=0", "-rss_limit_mb=2048"] + args, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            out, ok = p.stdout.decode(errors="replace"), p.returncode == 0
        except (OSError, subprocess.TimeoutExpired) as e:
            out, ok = str(e), False
        print(f"[{build}] {target} {name}: {1 if ok else 0} passed, {0 if ok else 1} failed "
              f"({time.time() - t0:.1f}s)")
        if not ok:
            print("\n".join("    " + l for l in out.splitlines()[-60:]))
        totals[0 if ok else 1] += 1


def run_integration_pg(build, pattern, totals):
    """The integration modules once more, on PostgreSQL."""
    use_build(build)
    if INTEGRATION not in sys.path:
        sys.path.insert(0, INTEGRATION)
    import pg
    why = pg.available()
    if why:
        print(f"[{build} pg] cannot run the suite on PostgreSQL: {why}: 0 passed, 1 failed")
        totals[1] += 1
        return
    t0 = time.time()
    with pg.Backend():
        run_integration(build, pattern, totals, label=f"{build} pg", pg_pass=True)
    print(f"[{build} pg] the PostgreSQL pass took {time.time() - t0:.1f}s")


def use_build(build):
    """The sanitizers' options for an ASan build, none otherwise."""
    if build.rstrip("/").endswith("asan"):
        os.environ.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1:exitcode=66")
        os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        os.environ.setdefault("LSAN_OPTIONS", "suppressions=" + os.path.join(ROOT, "tests", "lsan.supp"))
    else:
        os.environ.pop("ASAN_OPTIONS", None)
        os.environ.pop("UBSAN_OPTIONS", None)
        os.environ.pop("LSAN_OPTIONS", None)


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--pg", metavar="BUILD",
                    help="also run the integration modules with BUILD on PostgreSQL")
    ap.add_argument("--pg-only", metavar="BUILD", help=argparse.SUPPRESS)
    ap.add_argument("--fuzz", metavar="FUZZ_BUILD",
                    help="also run the fuzz targets of FUZZ_BUILD on their saved inputs")
    ap.add_argument("builds", nargs="+")
    args = ap.parse_args()
    # SIGTERM unwinds like an exception, so the PostgreSQL pass stops its cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.chdir(ROOT)
    totals = [0, 0, 0]
    if args.pg_only:
        run_integration_pg(args.pg_only, args.pattern, totals)
        print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
        sys.exit(1 if totals[1] else 0)
    # The PostgreSQL pass runs beside the others, in a process of its own
    # (its tests mostly wait on sockets and timers); its output follows theirs.
    pg_pass = None
    if args.pg and not args.unit_only:
        out = tempfile.TemporaryFile()
        cmd = [sys.executable, os.path.abspath(__file__), "--pg-only", args.pg]
        if args.pattern:
            cmd += ["-k", args.pattern]
        pg_pass = (subprocess.Popen(cmd + args.builds[:1], stdout=out, stderr=subprocess.STDOUT,
                                    cwd=ROOT), out)
    for b in args.builds:
        use_build(b)
        run_unit(b, args.pattern, totals)
        if not args.unit_only:
            run_integration(b, args.pattern, totals)
    if pg_pass:
        proc, out = pg_pass
        proc.wait()
        out.seek(0)
        text = out.read().decode(errors="replace").rstrip("\n").splitlines()
        print("\n".join(text[:-1]))
        m = re.match(r"(\d+) passed, (\d+) failed, (\d+) skipped", text[-1] if text else "")
        if m:
            for i in range(3):
                totals[i] += int(m.group(i + 1))
        else:
            print(f"[{args.pg} pg] the PostgreSQL pass ended without its count: 0 passed, 1 failed")
            totals[1] += 1
    if args.fuzz:
        run_fuzz(args.fuzz, totals)
    line = f"{totals[0]} passed, {totals[1]} failed"
    if totals[2]:
        line += f", {totals[2]} skipped"
    print(line)
    sys.exit(1 if totals[1] else 0)


if __name__ == "__main__":
    main()
