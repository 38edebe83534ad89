#!/usr/bin/env bash
# A fixed set of runs (every benchmark, the three protocols, per-item outputs), written under OUT, so that a
# restructuring can be shown to change no number: run it before and after, then compare the two folders with
# `python scripts/same_numbers.py BEFORE AFTER` (every float of every result file, bit for bit).
# Usage: bash scripts/same-numbers.sh OUT [DATA]   (DATA: the shared data, default ../shared/data)
set -euo pipefail
out=$(realpath -m "$1"); data=$(realpath "${2:-../shared/data}")
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HARNESS_CACHE="$out/.cache"
mkdir -p "$out"
lm=$(python -c "from pathlib import Path; from tests.tiny_models import tiny_gpt2; print(tiny_gpt2(Path('$out/lm')))" | tail -1)
run() { harness -q run --no-cache --output-dir "$out/results" "$@" >/dev/null; }
run                                                                  # the smoke suite
for protocol in instructor mteb-2022 mteb; do
  run --protocol "$protocol" --data-dir "$data" --limit 40 \
      --tasks STSBenchmark,SICK-R,STS12,Banking77Classification,EmotionClassification,SciFact,SummEval
done
run --instructions instructor-large --mode prefix --data-dir "$data" --limit 30 --tasks BillboardMSCOCO
run --instructions instructor-large --mode prefix --data-dir "$data" --tasks PromptRetrievalMultiRCAnswerability \
    --lm "$lm" --lm-device cpu --test-size 8
echo "results under $out/results"
