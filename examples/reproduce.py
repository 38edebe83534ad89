"""Reproduce a published figure: all-MiniLM-L6-v2 without instructions under the MTEB paper's 2022 evaluation code
(`protocol="mteb-2022"`, mteb 0.0.2), beside the figure the public MTEB results repository holds for it.

STSBenchmark on the shared data gives the published 82.03 exactly (25 s on a 2-core CPU). A `--limit` run is a
partial run: quicker, and not comparable with the published figure. Docs: docs/guides/reproduce.md.

    python examples/reproduce.py [--data-dir ../shared/data] [--tasks STSBenchmark] [--limit N] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

# all-MiniLM-L6-v2, the MTEB paper's 2022 runs (mteb 0.0.2), from the public MTEB results repository
PUBLISHED_2022 = {
    "STSBenchmark": 82.03,
    "SICK-R": 77.58,
    "STS12": 72.37,
    "STS13": 80.60,
    "Banking77Classification": 79.75,
    "EmotionClassification": 38.43,
    "SciFact": 64.51,
}


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--tasks", default="STSBenchmark", help=f"comma-separated, of {', '.join(PUBLISHED_2022)}")
    parser.add_argument("--limit", type=int, help="at most N items per task: a partial run")
    parser.add_argument("--output-dir", type=Path, help="where results go (default: a new temporary folder)")
    args = parser.parse_args()
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="reproduce-"))

    import harness

    scores = harness.evaluate(
        "minilm",
        args.tasks.split(","),
        protocol="mteb-2022",  # the evaluation code that produced the published figures
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        limit=args.limit,
    )
    for s in scores:
        published = PUBLISHED_2022.get(s.task)
        beside = "partial run, not comparable" if args.limit else f"published {published:.2f}"
        print(f"{s.task}: {s.metric} {s.score:.2f} ({beside})")
    print(f"results: {args.output_dir}")


if __name__ == "__main__":
    main()
