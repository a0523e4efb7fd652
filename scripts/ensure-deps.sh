#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than the lock file, so that
# `npm start` and `npm test` work on a fresh clone with nothing run before them.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  echo "medstream: installing npm dependencies…"
  # `npm install`, not `npm ci`: the registry reachable here lacks the other platforms' optional
  # binaries (biome, swc, …), so the lock file cannot list them and `npm ci` refuses it as out of
  # sync. `npm install` still installs exactly the locked versions.
  npm install --no-audit --no-fund --loglevel=error
fi

# patches/ mends dependencies (see patches/README.md); npm's postinstall applies them after an
# install, and this re-applies them when a pull brings a changed patch to an existing install.
patched=node_modules/.medstream-patches
if [[ ! -f $patched ]] || [[ -n $(find patches -newer "$patched" -print -quit) ]]; then
  node_modules/.bin/patch-package --error-on-fail >/dev/null
  touch "$patched"
fi
