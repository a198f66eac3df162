#!/bin/sh
# `make bench`: runs every benchmark of docs/BENCHMARKS.md once, prints one
# table and rewrites docs/BENCHMARKS.md and docs/bench.png.
#   end to end  sagad on a fresh database per point, POST /order from
#               bench/loadgen at each concurrency for BENCH_SECONDS, every
#               point BENCH_REPEAT times (the best is reported)
#   engine      the same saga through the runtime without HTTP (file, :memory:)
#               and through the pure engine with trivial handlers
#   peer        the same saga on aws-local-stepfunctions (Node, in memory)
#   floor       the bare SQLite writes of one saga, same batching
#   workers     activity round trips with N worker processes, and the latency
#               of a task token callback (bench/workers.py)
#   console     the reads of the web console on 10,000 executions (bench/console.py)
#   postgresql  the order saga on 1, 2 and 3 sagad nodes on one PostgreSQL 15,
#               next to one SQLite node, and the failover time over 20 kill -9
#               (bench/cluster.py, about 3 minutes)
#   profile     perf on sagad when hardware counters work, else callgrind on
#               the engine-only benchmark
# Usage: bench/run.sh BUILD_DIR (make bench passes it). Knobs: BENCH_SECONDS,
# BENCH_CONCURRENCY, BENCH_N, BENCH_PEER_N, BENCH_SAGA, BENCH_KEEP=1 (keep the
# temporary directory with the raw results), BENCH_PERF=1 (sample sagad with
# perf's default event even without hardware counters). PostgreSQL part:
# BENCH_CLUSTER_SECONDS, BENCH_CLUSTER_CONCURRENCY, BENCH_CLUSTER_REPEAT,
# BENCH_KILLS, BENCH_LEASE_MS; BENCH_ONLY=cluster runs that part alone and
# rewrites only its section of docs/BENCHMARKS.md.
set -eu

BUILD=${1:-build}
SECS=${BENCH_SECONDS:-8}
CONCS=${BENCH_CONCURRENCY:-"1 8 64 256"}
N=${BENCH_N:-10000}
REPEAT=${BENCH_REPEAT:-2}
PEER_N=${BENCH_PEER_N:-20000}
ROOT=$(pwd)
B="$ROOT/$BUILD/bench"

# The order saga as shipped; BENCH_SAGA overrides (an absolute path).
SAGA=${BENCH_SAGA:-"$ROOT/sagas/order.asl.json"}

TMP=$(mktemp -d /tmp/sagad-bench.XXXXXX)
RES="$TMP/results.txt"
: >"$RES"
REDIS_PID=""
SAGAD_PID=""
cleanup() {
    [ -n "$SAGAD_PID" ] && kill "$SAGAD_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "${BENCH_KEEP:-}" ]; then say "results kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
record() { printf '%s %s\n' "$1" "$2" >>"$RES"; }

record meta "start=$(date -u +%Y-%m-%dT%H:%M:%SZ) saga=${SAGA#$ROOT/} secs=$SECS repeat=$REPEAT n=$N peer_n=$PEER_N \
cpus=$(nproc) load_before=\"$(cut -d' ' -f1-3 /proc/loadavg)\" sqlite=$(sqlite3 --version | cut -d' ' -f1) \
node=$(node --version 2>/dev/null || echo none) kernel=$(uname -r)"

# ---- PostgreSQL nodes (run near the end; alone with BENCH_ONLY=cluster) ------
cluster_bench() {
    say "postgresql: the order saga on 1, 2 and 3 nodes and one SQLite node; failover over ${BENCH_KILLS:-20} kills"
    python3 bench/cluster.py "$BUILD" "${BENCH_CLUSTER_SECONDS:-5}" "${BENCH_CLUSTER_CONCURRENCY:-64}" \
        "${BENCH_KILLS:-20}" "${BENCH_LEASE_MS:-2000}" "${BENCH_CLUSTER_REPEAT:-2}" | while read -r tag rest; do
        record "$tag" "$rest"
    done
}
if [ "${BENCH_ONLY:-}" = cluster ]; then
    cluster_bench
    python3 bench/report.py --cluster-only "$RES" docs/BENCHMARKS.md
    exit 0
fi

# ---- the peer's dependencies (bench/peer/node_modules, gitignored) ----------
PEER=1
command -v node >/dev/null 2>&1 || { PEER=0; say "node is missing: the peer is skipped"; }
if [ "$PEER" = 1 ] && [ ! -d bench/peer/node_modules/aws-local-stepfunctions ]; then
    say "npm install aws-local-stepfunctions into bench/peer/node_modules"
    (cd bench/peer && npm install --no-audit --no-fund --loglevel=error >/dev/null) ||
        { PEER=0; say "npm install failed: the peer is skipped"; }
fi

# ---- end to end ----------------------------------------------------------------
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
BODY="$TMP/order.json"
printf '%s' '{"itemId":"coffee-beans","quantity":1,"firstname":"Laura","surname":"Becker","street":"Main Avenue 1","zip":"12345","city":"Fancy Town"}' >"$BODY"

PERF_OK=${BENCH_PERF:-0}
if command -v perf >/dev/null 2>&1 && perf stat -e instructions true 2>&1 | grep -q '[0-9] *instructions'; then
    PERF_OK=1
fi

for c in $(for r in $(seq "$REPEAT"); do echo $CONCS; done); do
    d="$TMP/e2e-$c"
    rm -rf "$d"
    mkdir -p "$d/sagas"
    cp "$SAGA" "$d/sagas/order.asl.json"
    "$ROOT/$BUILD/sagad" --listen=127.0.0.1:0 --database="$d/sagad.db" --sagas_dir="$d/sagas" \
        --redis="127.0.0.1:$RPORT" --payment_failure_rate=0 --log_level=info 2>"$d/sagad.log" &
    SAGAD_PID=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$d/sagad.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { say "sagad did not start:"; cat "$d/sagad.log" >&2; exit 1; }
    curl -sf -X PUT "http://127.0.0.1:$port/stock/coffee-beans" -H 'Content-Type: application/json' \
        --data '{"quantity": 1000000000}' >/dev/null
    say "end to end: concurrency $c for ${SECS}s (port $port)"
    if [ "$PERF_OK" = 1 ] && [ "$c" = 64 ] && [ ! -f "$TMP/perf.data" ]; then
        perf record -F 999 -g -o "$TMP/perf.data" -p "$SAGAD_PID" -- sleep "$SECS" >/dev/null 2>&1 &
        PERF_PID=$!
    fi
    cpu0=$(awk '{print $14, $15}' "/proc/$SAGAD_PID/stat")
    lg=$("$B/loadgen" -p "$port" -c "$c" -d "$SECS" -b "$BODY")
    cpu1=$(awk '{print $14, $15}' "/proc/$SAGAD_PID/stat")
    # Drain: every accepted saga has ended (they are synchronous, so at once).
    for _ in $(seq 300); do
        running=$(sqlite3 "$d/sagad.db" "PRAGMA busy_timeout=2000; SELECT count(*) FROM executions WHERE status = 'RUNNING'" | tail -1)
        [ "$running" = 0 ] && break
        sleep 0.1
    done
    hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SAGAD_PID/status")
    kill -TERM "$SAGAD_PID"
    wait "$SAGAD_PID" || say "sagad exited with status $?"
    SAGAD_PID=""
    stats=$(sqlite3 -separator ' ' "$d/sagad.db" "SELECT
        'succeeded=' || (SELECT count(*) FROM executions WHERE status = 'SUCCEEDED'),
        'failed=' || (SELECT count(*) FROM executions WHERE status = 'FAILED'),
        'running=' || (SELECT count(*) FROM executions WHERE status = 'RUNNING'),
        'executions=' || (SELECT count(*) FROM executions),
        'span_ms=' || (SELECT max(stop_ms) - min(stop_ms) FROM executions WHERE stop_ms IS NOT NULL)")
    bytes=$(cat "$d/sagad.db" "$d/sagad.db-wal" 2>/dev/null | wc -c)
    ticks=$(getconf CLK_TCK)
    cpu=$(echo "$cpu0 $cpu1" | awk -v t="$ticks" '{printf "user_s=%.2f sys_s=%.2f", ($3-$1)/t, ($4-$2)/t}')
    record e2e "c=$c $lg $stats rss_kb=$hwm db_bytes=$bytes $cpu"
    if [ -n "${PERF_PID:-}" ]; then
        wait "$PERF_PID" || true
        PERF_PID=""
        perf report -i "$TMP/perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | sed 's/[ -]*$//' | head -30 >"$TMP/profile.txt" || true
    fi
done
kill "$REDIS_PID" 2>/dev/null || true
wait "$REDIS_PID" 2>/dev/null || true
REDIS_PID=""

# ---- engine only ------------------------------------------------------------------
say "engine only: $N sagas through the runtime on a file database"
record engine_file "$("$B/engine" runtime "$TMP/engine.db" "$SAGA" "$N")"
sizes=$(sqlite3 -separator ' ' "$TMP/engine.db" "SELECT
    (SELECT CAST(avg(length(input)) AS INTEGER) FROM executions),
    (SELECT CAST(avg(length(events)) + 0 AS INTEGER) FROM history),
    (SELECT CAST(avg(length(output)) AS INTEGER) FROM executions),
    (SELECT CAST(avg(length(payload)) AS INTEGER) FROM outbox)")
record sizes "$(echo "$sizes" | awk '{printf "input=%s history=%s output=%s outbox=%s", $1, $2, $3, $4}')"
say "engine only: $N sagas through the runtime on :memory:"
record engine_mem "$("$B/engine" runtime :memory: "$SAGA" "$N")"
say "engine only: $((N * 5)) sagas through the pure engine"
record engine_pure "$("$B/engine" pure "$SAGA" $((N * 5)))"

# ---- peer ---------------------------------------------------------------------------
if [ "$PEER" = 1 ]; then
    say "peer: $PEER_N sagas on aws-local-stepfunctions (one at a time, then 64 in flight)"
    record peer "$(cd bench/peer && node peer.mjs "$SAGA" "$PEER_N" 1)"
    record peer "$(cd bench/peer && node peer.mjs "$SAGA" "$PEER_N" 64)"
fi
# The machine is shared: a second engine-only run after the peer's, best of two.
say "engine only: $N sagas through the runtime on a file database, again"
rm -f "$TMP/engine2.db"*
record engine_file "$("$B/engine" runtime "$TMP/engine2.db" "$SAGA" "$N")"
rm -f "$TMP/engine2.db"*

# ---- floor ---------------------------------------------------------------------------
set -- $sizes
for batch in 64 256; do
    say "floor: $N sagas, $batch per transaction, file database"
    rm -f "$TMP/floor.db"*
    record floor_file "$("$B/floor" "$TMP/floor.db" "$N" "$batch" "$1" "$2" "$3" "$4")"
done
rm -f "$TMP/floor.db"*
say "floor: random ids (UUIDv4, sagad before b8bf835) instead of time-ordered ones"
record floor_random "$("$B/floor" "$TMP/floor.db" "$N" 256 "$1" "$2" "$3" "$4" random)"
rm -f "$TMP/floor.db"*
say "floor: compact history (300 bytes per saga instead of $2)"
record floor_compact "$("$B/floor" "$TMP/floor.db" "$N" 256 "$1" 300 "$3" "$4")"
rm -f "$TMP/floor.db"*
record floor_mem "$("$B/floor" :memory: "$N" 256 "$1" "$2" "$3" "$4")"

# ---- steps outside the daemon ------------------------------------------------------
say "workers: activity round trips with 1, 4, 16 worker processes; token callback latency"
python3 bench/workers.py "$BUILD" "${BENCH_WORKER_TASKS:-5000}" 1000 | while read -r tag rest; do
    record "$tag" "$rest"
done

# ---- the console's reads ----------------------------------------------------------
say "console: the reads the web console makes, on ${BENCH_CONSOLE_N:-10000} executions"
python3 bench/console.py "$BUILD" "${BENCH_CONSOLE_N:-10000}" 100 | while read -r tag rest; do
    record "$tag" "$rest"
done

cluster_bench

# ---- profile --------------------------------------------------------------------------
if [ "$PERF_OK" = 1 ] && [ -s "$TMP/profile.txt" ]; then
    record profile "tool=perf target=sagad-e2e-c64"
elif command -v valgrind >/dev/null 2>&1; then
    say "profile: callgrind on the engine-only benchmark (:memory:, 300 sagas)"
    valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
        "$B/engine" runtime :memory: "$SAGA" 300 >/dev/null 2>"$TMP/cg.log"
    # Keep one line per function: no recursion-cycle entries (NAME'2), no
    # object-less duplicates, and without the " [object]" suffix.
    tidy() {
        grep -E '^ *[0-9,]+ +\([ 0-9.]+%\)' | grep -v 'PROGRAM TOTALS' | grep "\[" |
            grep -v "'[0-9]" | sed -e 's/ \[[^]]*\]$//' -e 's|[^ ]*/src/|src/|' -e 's|\./malloc/\./malloc/||'
    }
    callgrind_annotate --inclusive=yes "$TMP/cg.out" 2>/dev/null | tidy |
        grep -E 'src/|sqlite3_exec|sqlite3_step|malloc.c:malloc|malloc.c:free|cJSON_(Delete|Duplicate|Parse)|snprintf' |
        grep -v -E 'bench/engine.c|src/daemon' | head -30 >"$TMP/profile.txt"
    callgrind_annotate "$TMP/cg.out" 2>/dev/null | tidy | head -15 >"$TMP/profile_self.txt"
    total=$(callgrind_annotate "$TMP/cg.out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
    if [ -n "$total" ]; then
        record profile "tool=callgrind target=engine-runtime-memory-300 instructions=$total per_saga=$((total / 300))"
    fi
fi

record meta_end "end=$(date -u +%Y-%m-%dT%H:%M:%SZ) load_after=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
python3 bench/report.py "$RES" "$TMP" docs/BENCHMARKS.md docs/bench.png
