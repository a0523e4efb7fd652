#!/usr/bin/env bash
# npm start: install what is missing, bring the local stack up, and run every function under
# `serverless offline start` with the project's Kafka trigger. A status line, printed when it
# changes, shows the events in the topics the sink reads, the rows in their tables and the lag. Ctrl-C stops the functions (the stack stays
# up for the next run; `npm run stack:down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

# A second `npm start` would get as far as serverless offline before failing on its ports (after the
# stack, the seeding, and with its S3 poller already started): say so first. The ports are
# serverless.yml's custom.serverless-offline httpPort and lambdaPort.
for port in 3000 3002; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    holder=$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 || true)
    echo "npm start: port $port is in use${holder:+ (process ${holder#pid=})}: is npm start already running? Stop it first (Ctrl-C in its terminal)." >&2
    exit 1
  fi
done

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
# Both children are started without a wrapper (no npx: its npm and shell layers do not always pass a
# signal on), so these pids are the processes themselves. Errors are ignored here: a `wait` on a
# process ended by a signal returns non-zero, and under `set -e` that would skip the rest.
stop() {
  trap - INT TERM EXIT
  set +e
  [[ -n $monitor_pid ]] && kill "$monitor_pid" 2>/dev/null
  if [[ -n $offline_pid ]] && kill -INT "$offline_pid" 2>/dev/null; then
    # Ctrl-C lets invocations in flight finish; a process started with SIGINT ignored (npm start
    # run in the background) does not hear it, so after 20 s it gets SIGTERM.
    for _ in {1..40}; do
      kill -0 "$offline_pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -TERM "$offline_pid" 2>/dev/null
    wait "$offline_pid" 2>/dev/null
  fi
  [[ -n $monitor_pid ]] && wait "$monitor_pid" 2>/dev/null
  echo "medstream: stopped (the stack is still up: npm run stack:down stops it)"
}
trap stop INT TERM EXIT

# The process that runs the Kafka trigger allocates ~3 KB per record (kafkajs' decoded messages, the
# event, the function's rows) and holds each batch until its invocation ends, tens of milliseconds
# later. With V8's default young generation most of that is copied before it dies; 64 MB
# semi-spaces let it die young (sink benchmark: node CPU per record ~4.7 → ~4.2 µs, +8–13 % rows/s).
NODE_OPTIONS="${NODE_OPTIONS:-} $(cat scripts/trigger.node-options)" node_modules/.bin/sls offline start --stage local &
offline_pid=$!

# The schedule fires at the next minute boundary: invoke simulate once as soon as the local
# Lambda endpoint answers, so the first rows do not wait for the clock.
npx tsx scripts/kick-simulate.ts &

node --import tsx scripts/monitor.ts &
monitor_pid=$!

wait "$offline_pid"
