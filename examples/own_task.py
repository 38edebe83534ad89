"""Add your own task: a task file and its instructions under an include path, validated, then run.

MySTS is an STS task over the first N pairs of the shared STSBenchmark copy, in the portable layout, evaluated by
mteb's STSBenchmark task class, with an instruction of its own. Docs: docs/guides/own-task.md.

    python examples/own_task.py [--data-dir ../shared/data] [--limit 100] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

TASK = """\
name: MySTS
benchmark: mteb
category: STS
main_metric: cosine_spearman
split: test
source:
  kind: mteb
  mteb_task: STSBenchmark  # the mteb task class that evaluates it (any STS task would do)
  pin:  # where the data would come from without --data-dir
    hf_dataset: my-org/my-sts
    revision: main
text_fields: [sentence1, sentence2]
notes: The first pairs of STSBenchmark's test set, as an example of a task of your own.
"""
INSTRUCTIONS = """\
family: instructor-large
version: 1
instructions:
  MySTS: 'Represent the sentence for judging its similarity: '
"""


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=100, help="pairs of STSBenchmark copied into the task")
    parser.add_argument("--output-dir", type=Path, help="where results go (default: a new temporary folder)")
    args = parser.parse_args()
    args.output_dir = args.output_dir or Path(tempfile.mkdtemp(prefix="own-task-"))

    mine, data = args.output_dir / "mine", args.output_dir / "data"  # the include path; the task's data
    rows = (args.data_dir / "mteb" / "STSBenchmark" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    for path, text in [
        (mine / "tasks" / "mteb" / "MySTS.yaml", TASK),
        (mine / "instructions" / "instructor-large.yaml", INSTRUCTIONS),
        (data / "mteb" / "MySTS" / "test.jsonl", "\n".join(rows[: args.limit]) + "\n"),
    ]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    os.environ["HARNESS_INCLUDE_PATH"] = str(mine)  # what `harness --include-path DIR` sets
    import harness
    from harness.cli import main as cli

    if cli(["validate"]) != 0:  # `harness --include-path DIR validate`: every file, shipped and yours
        raise SystemExit("the task or instruction files are not valid (above)")
    # instructor-large: the family whose file gives MySTS its instruction; prefix: prepended to each text
    settings = {"instructions": "instructor-large", "mode": "prefix", "output_dir": args.output_dir / "results"}
    [score] = harness.evaluate("minilm", ["MySTS"], data_dir=data, **settings)
    print(f"{score.task}: {score.metric} {score.score:.4f} ({score.status})")
    print(f"instruction: {score.record['instructions']['MySTS']['query']['text']!r}")
    print(f"results: {args.output_dir / 'results'}")


if __name__ == "__main__":
    main()
