"""Reading prompt-retrieval data: Hugging Face splits (hub or `--data-dir` JSON Lines), the reference's JSON
files, Super-NaturalInstructions draws, and rows into examples."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from harness.benchmarks.prompt_retrieval.spec import HfSource, PromptProtocol, PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.types import Example, Format
from harness.core.errors import DataError
from harness.core.io import read_jsonl, write_jsonl
from harness.core.sources import FilesSource, task_files


def files_source(spec: PromptRetrievalTaskSpec) -> FilesSource:
    if not isinstance(spec.source, FilesSource):
        raise DataError(f"task {spec.name}: its adapter reads files, but the task file gives source kind hf")
    return spec.source


def hf_source(spec: PromptRetrievalTaskSpec) -> HfSource:
    if not isinstance(spec.source, HfSource):
        raise DataError(f"task {spec.name}: its adapter reads a Hugging Face dataset, but the source is files")
    return spec.source


def pool_size(protocol: PromptProtocol) -> int:
    if protocol.pool_size is None:
        raise DataError("this task's protocol needs pool_size")
    return protocol.pool_size


def examples(spec: PromptRetrievalTaskSpec, rows: list[dict[str, Any]], ids: list[int], fmt: Format) -> list[Example]:
    """Rows `ids` as examples: embedded through the task's input template, prompted through `fmt`."""
    return [
        Example(
            str(i),
            spec.embed_text(rows[i]),
            fmt.lm_input(rows[i]),
            fmt.gold(rows[i]),
            tuple(fmt.options(rows[i])) if fmt.options else None,
        )
        for i in ids
    ]


def hf_rows(spec: PromptRetrievalTaskSpec, source: HfSource, split: str, data_dir: Path | None) -> list[dict[str, Any]]:
    """A split of a Hugging Face task: `data_dir/<folder>/<split>.jsonl`, else the dataset at its revision."""
    if data_dir is not None:
        return [row for _, row in read_jsonl(source.split_file(data_dir, split))]
    from datasets import load_dataset

    try:
        data = load_dataset(source.hf_dataset, source.config, split=split, revision=source.revision)
    except Exception as exc:
        raise DataError(
            f"task {spec.name}: could not load {source.hf_dataset} ({exc.__class__.__name__}); "
            f"offline, pass --data-dir DIR with {source.folder}/{split}.jsonl"
        ) from None
    return [dict(r) for r in data]


def json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg})") from None


def super_ni_split(
    path: Path, seed: int, pool_size: int, test_size: int, reference_size: int
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """main_answerbility.py and main_coda_title_gen.py: `reference_size` test indices first (the task file's
    test size, as the script drew them), then the pool from the rest. The pool therefore never depends on
    `--test-size` (its cached vectors serve every test size): a smaller test set is the first `test_size` of the
    reference's, a larger one extends it with rows outside both, drawn with `seed + 1`."""
    try:
        rows = json_file(path)["Instances"]
    except (KeyError, TypeError):
        raise DataError(f"{path}: expected a Super-NaturalInstructions task file with 'Instances'") from None
    if reference_size > len(rows):
        raise DataError(f"{path}: {len(rows)} instances, fewer than the {reference_size} test examples drawn from it")
    rng = random.Random(seed)
    test_idx = rng.sample(range(len(rows)), reference_size)
    rest = sorted(set(range(len(rows))) - set(test_idx))  # = the reference's list(set(...)) for ints
    pool_idx = rng.sample(rest, min(pool_size, len(rest)))
    if test_size <= reference_size:
        return rows, pool_idx, test_idx[:test_size]
    spare = sorted(set(rest) - set(pool_idx))
    if test_size - reference_size > len(spare):
        raise DataError(
            f"{path}: --test-size {test_size} needs {test_size - reference_size} instances beyond the reference's "
            f"{reference_size} test and {len(pool_idx)} pool examples, and {len(spare)} are left; "
            f"pass --test-size {reference_size + len(spare)} or less"
        )
    return rows, pool_idx, test_idx + random.Random(seed + 1).sample(spare, test_size - reference_size)


def reference_test_size(spec: PromptRetrievalTaskSpec) -> int:
    """The task's own test size (the reference script's draw), which `--test-size` does not change."""
    return spec.protocol.reference_test_size or spec.protocol.test_size


def check_data(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> None:
    """Fail before any model loads when the task's local files are missing."""
    source = spec.source
    if not isinstance(source, HfSource):
        task_files(spec, source, data_dir)
    elif data_dir is not None:
        for split in (source.pool_split, source.test_split):
            if not source.split_file(data_dir, split).is_file():
                raise DataError(
                    f"task {spec.name}: missing {source.split_file(data_dir, split)} "
                    f"(rows of {source.hf_dataset} {split} with columns {spec.text_fields} + label)"
                )


def mirror_hf(spec: PromptRetrievalTaskSpec, source: HfSource, out: Path) -> list[Path]:
    """A Hugging Face task: OUT/<folder>/<split>.jsonl for its pool and test splits."""
    written = []
    for split in (source.pool_split, source.test_split):
        path = source.split_file(out, split)
        write_jsonl(path, hf_rows(spec, source, split, None))
        written.append(path)
    return written
