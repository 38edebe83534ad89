#!/usr/bin/env bash
# The test command (README step b; .ci/run calls exactly this): offline, caches in a temporary folder; lint, format,
# types, the docs site (strict: a broken link or reference fails), then the tests with the slowest listed. Extra
# arguments go to pytest (`-m "not slow"`: the fast subset).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HF_HOME="$tmp/hf" MTEB_CACHE="$tmp/mteb" HARNESS_CACHE="$tmp/harness"
ruff check harness tests perf scripts examples docs/hooks.py
ruff format --check harness tests perf scripts examples docs/hooks.py
mypy
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$tmp/site"   # the variable: no end-of-life banner
python -m pytest -q --durations=15 "$@"
