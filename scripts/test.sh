#!/usr/bin/env bash
# npm test: unit tests (no network), then integration tests against the real local stack. It
# starts the stack when it is not already up and stops it afterwards; a running stack is reused
# and left running. The last line sums both runs: "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
mkdir -p .stack
results=.stack/test-results
rm -rf "$results" && mkdir -p "$results"

summarize() {
  node -e '
    const fs = require("node:fs");
    let passed = 0, failed = 0, skipped = 0;
    for (const file of fs.readdirSync(process.argv[1])) {
      const run = JSON.parse(fs.readFileSync(`${process.argv[1]}/${file}`, "utf8"));
      passed += run.numPassedTests; failed += run.numFailedTests + run.numRuntimeErrorTestSuites;
      skipped += run.numPendingTests + run.numTodoTests;
    }
    console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  ' "$results"
}

status=0
npx jest --selectProjects unit --json --outputFile="$results/unit.json" "$@" || status=$?

if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  trap 'bash scripts/stack.sh down' EXIT
fi
if bash scripts/stack.sh up; then
  # --forceExit: a client a test forgot to close must not hang CI; leaks are still reported.
  npx jest --selectProjects integration --runInBand --forceExit --json --outputFile="$results/integration.json" "$@" ||
    status=$?
else
  echo "medstream: the local stack did not come up; integration tests not run" >&2
  status=1
fi

summarize || true
exit "$status"
