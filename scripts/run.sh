#!/bin/sh
# `make run`: makes sure the Redis server named in conf/sagad.conf answers
# (starting a local one on loopback if it is ours to start), then runs sagad
# in the foreground with that configuration. Data lives under var/. A Redis
# started here is stopped again when sagad ends.
set -eu
cd "$(dirname "$0")/.."
conf=${SAGAD_CONF:-conf/sagad.conf}
mkdir -p var
started_redis=""

redis=$(sed -n 's/#.*//; s/^[[:space:]]*redis[[:space:]]*=[[:space:]]*//p' "$conf" | tail -n 1 | tr -d '[:space:]')
if [ -n "$redis" ]; then
  case "$redis" in
    /*) ping() { redis-cli -s "$redis" ping; } ;;
    *)  host=${redis%:*}; port=${redis##*:}
        ping() { redis-cli -h "$host" -p "$port" ping; } ;;
  esac
  if ! ping >/dev/null 2>&1; then
    case "$redis" in
      127.0.0.1:*|localhost:*)
        echo "run: no Redis answers at $redis; starting a local redis-server (log: var/redis.log)" >&2
        redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$PWD/var" \
          --logfile "$PWD/var/redis.log" --pidfile "$PWD/var/redis.pid" --save '' --appendonly no
        started_redis=1
        i=0
        until ping >/dev/null 2>&1; do
          i=$((i + 1)); [ $i -lt 50 ] || { echo "run: redis-server did not answer" >&2; exit 1; }
          sleep 0.1
        done ;;
      *) echo "run: Redis at $redis does not answer; sagad keeps events in its outbox until it does" >&2 ;;
    esac
  fi
fi
if [ -z "$started_redis" ]; then
  exec "${SAGAD_BIN:-build/sagad}" -c "$conf"
fi
# sagad runs as a child: Ctrl-C and SIGTERM reach this shell, which passes
# them on, waits for sagad to end, then stops the Redis it started.
"${SAGAD_BIN:-build/sagad}" -c "$conf" &
pid=$!
trap 'kill -INT $pid 2>/dev/null' INT
trap 'kill -TERM $pid 2>/dev/null' TERM
status=0
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" && status=0 || status=$?
done
echo "run: stopping the redis-server started for this run" >&2
redis-cli -h "$host" -p "$port" shutdown nosave >/dev/null 2>&1 || true
exit $status
