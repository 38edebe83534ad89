"""Instruction robustness: all-MiniLM-L6-v2 with each of five hand-written paraphrases of the instructor-large
instruction prepended (`harness robustness --variants paraphrases --mode prefix`): per task the mean, the standard
deviation, best minus worst, and whether that spread is beyond the test set's noise (a paired bootstrap,
Bonferroni-corrected). Docs: docs/guides/robustness.md.

On BIOSSES (100 pairs, all of them by default) best minus worst is 1.79 points [-3.51, 7.08], within noise.

    python examples/robustness.py [--data-dir ../shared/data] [--tasks BIOSSES] [--limit N] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--tasks", default="BIOSSES", help="comma-separated task names")
    parser.add_argument("--limit", type=int, help="at most N items per task")
    parser.add_argument("--output-dir", type=Path, help="where results go (default: a new temporary folder)")
    args = parser.parse_args()
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="robustness-"))

    from harness.cli import main as cli

    table = args.output_dir / "robustness.json"
    study = ["robustness", "--model", "minilm", "--mode", "prefix", "--variants", "paraphrases", "--tasks", args.tasks]
    study += ["--data-dir", str(args.data_dir), "--output-dir", str(args.output_dir / "results")]
    study += ["--format", "json", "--output", str(table)] + (["--limit", str(args.limit)] if args.limit else [])
    if cli(["-q", *study]) != 0:  # `harness -q robustness ...`
        raise SystemExit("the study failed (above)")
    [paraphrases] = json.loads(table.read_text(encoding="utf-8"))
    for task, s in paraphrases["stats"].items():
        scores = ", ".join(f"{v:.2f}" for v in paraphrases["scores"][task].values())
        noise = "beyond noise" if s["beyond_noise"] else "within noise"
        print(f"{task}: best-worst {s['best_minus_worst']:.2f} [{s['low']:.2f}, {s['high']:.2f}] {noise}")
        print(f"  mean {s['mean']:.2f}, std {s['std']:.2f}; variants {scores}")
    for task, why in paraphrases["flagged"].items():
        print(f"{task}: flagged ({why})")
    print(f"results: {args.output_dir}")


if __name__ == "__main__":
    main()
