#!/usr/bin/env bash
# Creates (or refreshes) the project's Python environment in .venv from the hashed lock
# python/requirements.txt: real Freqtrade with FreqAI (datasieve, LightGBM), MLflow, moto, cfn-lint and
# ArcticDB for the tests and `npm start`. Does nothing when .venv already matches the lock. The Dockerfile
# installs the same lock.
# TRADAI_VENV=<dir> builds another environment instead (to try a lock or time a build without touching the
# .venv the tests and `npm start` use).
set -euo pipefail
cd "$(dirname "$0")/.."
lock=python/requirements.txt
venv=${TRADAI_VENV:-.venv}
stamp="$venv/.tradai-lock.sha256"
# The pins and hashes decide, not the lock's comments.
want=$(grep -v '^ *#' "$lock" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
finish() {
  "$venv/bin/python" -m pip check >&2
  echo "$want" > "$stamp"
  echo "python-env: ready ($("$venv/bin/freqtrade" --version 2>/dev/null | grep -i 'freqtrade version' | tr -s '\t ' ' '))" >&2
}
# An environment built from an earlier lock is brought to this one in place (uv from that lock installs,
# removes and re-pins exactly what changed): removing it would pull Python out from under every test and
# `npm start` running on this checkout, for minutes, when a lock change is usually one or two packages.
if [ -f "$stamp" ] && [ -x "$venv/bin/uv" ] \
  && [ "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = 3.11 ]; then
  echo "python-env: bringing $venv to the lock in place" >&2
  "$venv/bin/uv" pip sync --quiet --require-hashes --python "$venv/bin/python" "$lock"
  finish
  exit 0
fi
python=${PYTHON:-python3.11}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "python-env: $python not found; install Python 3.11 (or set PYTHON) and run: npm run python:env" >&2
  exit 1
fi
echo "python-env: installing the pinned Python side into $venv (Freqtrade with FreqAI, MLflow, moto, cfn-lint, ArcticDB; under a minute, once)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
# uv first, by pip from its own hashed lines of the lock, then the whole lock by uv: parallel downloads and
# installs take seconds where pip took minutes of every clean CI run.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
  -r <(awk '/^uv==/ { keep = 1 } keep { print; if ($0 !~ /\\$/) exit }' "$lock")
"$venv/bin/uv" pip sync --quiet --require-hashes --python "$venv/bin/python" "$lock"
finish
