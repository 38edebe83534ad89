"""Compare two conditions: all-MiniLM-L6-v2 without instructions (the baseline) against the same model given
instructor-large's instruction strings, prepended to each text (`mode="prefix"`). Then `harness report` puts them
side by side with 95% intervals and a paired bootstrap test per task. Docs: docs/guides/compare.md.

    python examples/compare.py [--data-dir ../shared/data] [--tasks BIOSSES,STS12] [--limit 200] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--tasks", default="BIOSSES,STS12", help="comma-separated task names")
    parser.add_argument("--limit", type=int, default=200, help="items per task; 0: every item")
    parser.add_argument("--output-dir", type=Path, help="where results go (default: a new temporary folder)")
    args = parser.parse_args()
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="compare-"))

    import harness
    from harness.cli import main as cli

    tasks, shared = args.tasks.split(","), {"data_dir": args.data_dir, "limit": args.limit or None}
    base = harness.evaluate("minilm", tasks, output_dir=args.output_dir / "none", **shared)
    prefix = harness.evaluate(
        "minilm", tasks, instructions="instructor-large", mode="prefix", output_dir=args.output_dir / "prefix", **shared
    )
    for b, p in zip(base, prefix, strict=True):
        print(f"{b.task}: none {b.score:.2f}, instructor-large prefix {p.score:.2f}")
    # the report: both runs, the first as the baseline (`harness report RUN --baseline RUN`)
    cli(["report", str(args.output_dir / "prefix"), "--baseline", str(args.output_dir / "none")])
    print(f"results: {args.output_dir}")


if __name__ == "__main__":
    main()
