#!/usr/bin/env bash
# Runs cfn-lint (PyPI) on CloudFormation templates, installing it on first use into a venv under
# ~/.cache/medstream (outside the repo, shared by every clone on this machine).
set -euo pipefail

version=1.58.0
venv="${MEDSTREAM_CACHE:-$HOME/.cache/medstream}/venv-cfn-lint-$version"
# A venv cannot be moved (its scripts hold absolute paths), so completion is marked by a file.
if [[ ! -f $venv/.complete ]]; then
  command -v python3 >/dev/null || { echo "cfn-lint needs python3 (apt-get install python3 python3-venv)" >&2; exit 1; }
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$version"
  touch "$venv/.complete"
fi
exec "$venv/bin/cfn-lint" "$@"
