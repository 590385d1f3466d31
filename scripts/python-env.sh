#!/usr/bin/env bash
# Creates (or refreshes) the project's Python environment in .venv from the hashed lock
# python/requirements.txt: real Freqtrade, MLflow, moto, cfn-lint and ArcticDB for the tests and
# `npm start`. Does nothing when .venv already matches the lock. The Dockerfile installs the same lock.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=python/requirements.txt
venv=.venv
stamp="$venv/.tradai-lock.sha256"
# The pins and hashes decide, not the lock's comments.
want=$(grep -v '^ *#' "$lock" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
python=${PYTHON:-python3.11}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "python-env: $python not found; install Python 3.11 (or set PYTHON) and run: npm run python:env" >&2
  exit 1
fi
echo "python-env: installing the pinned Python side into $venv (Freqtrade, MLflow, moto, cfn-lint, ArcticDB; a few minutes, once)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r "$lock"
"$venv/bin/python" -m pip check >&2
echo "$want" > "$stamp"
echo "python-env: ready ($("$venv/bin/freqtrade" --version 2>/dev/null | grep -i 'freqtrade version' | tr -s '\t ' ' '))" >&2
