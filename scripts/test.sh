#!/usr/bin/env bash
# The test command: offline, caches in a temporary folder, lint + tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HF_HOME="$tmp/hf" MTEB_CACHE="$tmp/mteb" HARNESS_CACHE="$tmp/harness"
ruff check harness tests perf scripts
python -m pytest -q "$@"
