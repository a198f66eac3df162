#!/bin/sh
# A sagad activity worker in shell, with curl and jq: long-polls ACTIVITY,
# counts the words of the input's "text" and reports the count, or a failure
# WordCount.NoText. No heartbeats: for a slow step use `sagactl worker`.
# usage: [SAGAD_URL=http://127.0.0.1:8080] [POLL_SECONDS=20] worker.sh ACTIVITY
set -u
url=${SAGAD_URL:-http://127.0.0.1:8080}
activity=$1
worker=${WORKER_NAME:-$(hostname)-$$}
poll_s=${POLL_SECONDS:-20}
json='Content-Type: application/json'

curl -fsS -X PUT "$url/activities/$activity" >/dev/null || exit 3
# SIGINT/SIGTERM: finish the current poll and task, then exit 0.
stop=0
trap 'stop=1' INT TERM
echo "worker.sh: serving activity $activity at $url as $worker" >&2

while [ "$stop" = 0 ]; do
    # 200 with {"taskToken", "input"}, or 204 (empty) when nothing arrived.
    task=$(curl -fsS --max-time $((poll_s + 20)) -X POST -H "$json" \
        -d "$(jq -cn --arg w "$worker" '{workerName: $w}')" \
        "$url/activities/$activity/poll?wait=$poll_s") || { sleep 1; continue; }
    [ -n "$task" ] || continue
    token=$(printf '%s' "$task" | jq -r .taskToken)

    if words=$(printf '%s' "$task" | jq -e '.input.text | strings | [splits("\\s+") | select(. != "")] | length'); then
        report=success
        body=$(jq -cn --arg t "$token" --argjson n "$words" '{taskToken: $t, output: {words: $n}}')
    else
        report=failure
        body=$(jq -cn --arg t "$token" \
            '{taskToken: $t, error: "WordCount.NoText", cause: "input.text is not a string"}')
    fi
    # The token is the idempotency key: a repeat of a report gets 404 and changes nothing.
    until curl -sS -o /dev/null -X POST -H "$json" -d "$body" "$url/tasks/$report"; do
        sleep 1
    done
    echo "worker.sh: task $(printf '%.12s' "$token")...: $report" >&2
done
