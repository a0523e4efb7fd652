#!/usr/bin/env bash
# npm test: unit tests (no network), then integration tests against the real local stack. It
# starts the stack when it is not already up and stops it afterwards; a running stack is reused
# and left running.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh

npx jest --selectProjects unit "$@"

if ! bash scripts/stack.sh status >/dev/null 2>&1; then
  trap 'bash scripts/stack.sh down' EXIT
fi
bash scripts/stack.sh up

npx jest --selectProjects integration --runInBand "$@"
