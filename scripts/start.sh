#!/usr/bin/env bash
# npm start: install what is missing, bring the local stack up, and run every function under
# `serverless offline start` with the project's Kafka trigger. A status line, printed when it
# changes, shows the events in the topics the sink reads, the rows in their tables and the lag. Ctrl-C stops the functions (the stack stays
# up for the next run; `npm run stack:down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
bash scripts/stack.sh up
# The local stack's clinical database starts empty: seed it once, so the clinical sources have rows
# to stream. Never a database CLINICAL_DATABASE_URL points elsewhere.
if [[ -z ${CLINICAL_DATABASE_URL:-} || $CLINICAL_DATABASE_URL == postgres://medstream:medstream@127.0.0.1:5432/clinical ]]; then
  npx tsx scripts/seed-clinical.ts --if-empty --patients 100
fi

mkdir -p .stack/logs
monitor_pid=""
offline_pid=""
stop() {
  trap - INT TERM EXIT
  [[ -n $offline_pid ]] && kill -INT "$offline_pid" 2>/dev/null && wait "$offline_pid" 2>/dev/null
  [[ -n $monitor_pid ]] && kill "$monitor_pid" 2>/dev/null && wait "$monitor_pid" 2>/dev/null
  echo "medstream: stopped (the stack is still up: npm run stack:down stops it)"
}
trap stop INT TERM EXIT

# The process that runs the Kafka trigger allocates ~3 KB per record (kafkajs' decoded messages, the
# event, the function's rows) and holds each batch until its invocation ends, tens of milliseconds
# later. With V8's default young generation most of that is copied before it dies; 64 MB
# semi-spaces let it die young (sink benchmark: node CPU per record ~4.7 → ~4.2 µs, +8–13 % rows/s).
NODE_OPTIONS="${NODE_OPTIONS:-} $(cat scripts/trigger.node-options)" npx sls offline start --stage local &
offline_pid=$!

# The schedule fires at the next minute boundary: invoke simulate once as soon as the local
# Lambda endpoint answers, so the first rows do not wait for the clock.
npx tsx scripts/kick-simulate.ts &

npx tsx scripts/monitor.ts &
monitor_pid=$!

wait "$offline_pid"
