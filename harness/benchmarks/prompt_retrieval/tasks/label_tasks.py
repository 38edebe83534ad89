"""The label and multiple-choice tasks, each as its reference script draws, embeds and prompts it
(`evaluation/prompt_retrieval/main_*.py` and `get_task.py` of xlang-ai/instructor-embedding @ 9a9742c)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.benchmarks.prompt_retrieval.data import (
    examples,
    files_source,
    hf_rows,
    hf_source,
    json_file,
    pool_size,
    reference_test_size,
    super_ni_split,
)
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.types import Example, Format, Loader, Sample
from harness.core.errors import DataError
from harness.core.sources import task_files


def _multirc_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    head, sep, question = row["input"].partition("\nQuestion:")
    answer = row["output"][0]
    if not head.startswith("Sentence:") or not sep or answer not in ("Yes.", "No."):
        raise DataError(
            f"{where}: expected input 'Sentence: ...\\nQuestion: ...' and output 'Yes.'/'No.', "
            f"got {row['input'][:60]!r} -> {answer!r}"
        )
    return {
        "sentence": head.removeprefix("Sentence:").strip(),
        "question": question.strip(),
        "label": {"Yes.": "True", "No.": "False"}[answer],
    }


MULTIRC = Format(
    lambda r: f"{r['sentence']}\n. Based on that information, can we know {r['question']}\nanswer:",
    lambda r: r["label"],
)


def multirc(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
    """main_answerbility.py: 256 test then 3,000 pool instances drawn with random.seed(0) from one file."""
    path = task_files(spec, files_source(spec), data_dir)["instances"]
    p = spec.protocol
    raw, pool_idx, test_idx = super_ni_split(path, p.seed, pool_size(p), p.test_size, reference_test_size(spec))
    rows = [_multirc_row(r, f"{path} instance {i}") for i, r in enumerate(raw)]
    return Sample(examples(spec, rows, pool_idx, MULTIRC), examples(spec, rows, test_idx, MULTIRC), {"file": str(path)})


def hf_task(fmt: Format) -> Loader:
    """get_task.py: random.seed(0); 3,000 pool rows from train (all of it when smaller, with no draw), then 256
    test rows, each drawn with random.sample."""

    def load(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
        source, p = hf_source(spec), spec.protocol
        train = hf_rows(spec, source, source.pool_split, data_dir)
        test = hf_rows(spec, source, source.test_split, data_dir)
        rng = random.Random(p.seed)
        pool_idx = (
            list(range(len(train))) if len(train) <= pool_size(p) else rng.sample(range(len(train)), pool_size(p))
        )
        test_idx = rng.sample(range(len(test)), min(p.test_size, len(test)))
        missing = [c for c in spec.text_fields if c not in train[0]]
        if missing:
            raise DataError(f"task {spec.name}: rows lack column(s) {missing} (expected {spec.text_fields} + label)")
        return Sample(
            examples(spec, train, pool_idx, fmt),
            examples(spec, test, test_idx, fmt),
            {"source": "data-dir" if data_dir else source.hf_dataset},
        )

    return load


def labels(names: list[str]) -> Callable[[dict[str, Any]], str]:
    return lambda r: names[int(r["label"])]


AMAZON_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
CIVIL_LABELS = ["positive", "negative"]  # main_civil.py's label_map: 0 positive, 1 negative


def wilds(kind: str) -> Loader:
    """main_amazon.py / main_civil.py: 3,000 pool rows drawn from train, then the test rows: Amazon 20
    reviewers x 50 reviews, CivilComments 256 toxic comments that mention the identity in meta[3]."""

    def load(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
        files = task_files(spec, files_source(spec), data_dir)
        train, test = json_file(files["train"]), json_file(files["test"])
        p = spec.protocol
        rng = random.Random(p.seed)
        pool_idx = rng.sample(range(len(train)), min(pool_size(p), len(train)))
        if kind == "amazon":
            by_reviewer: dict[Any, list[int]] = {}
            for i, row in enumerate(test):
                by_reviewer.setdefault(row["meta"][0], []).append(i)
            reviewers = rng.sample(sorted(by_reviewer), int(p.test_groups or 0))  # sorted: set order is not stable
            test_idx = [i for r in reviewers for i in rng.sample(by_reviewer[r], int(p.per_group or 0))]
        else:
            subgroup = [i for i, row in enumerate(test) if row["meta"][3] == 1 and row["label"] == 1]
            test_idx = rng.sample(subgroup, min(p.test_size, len(subgroup)))

        def example(row: dict[str, Any], i: int) -> Example:
            if kind == "amazon":
                text = row["text"].replace("\n", "")
                return Example(
                    str(i),
                    spec.embed_text(row),
                    f"How do you feel about the following sentence?\n{text}.\nanswer:",
                    AMAZON_LABELS[row["label"]],
                    group=str(row["meta"][0]),
                )
            return Example(
                str(i),
                spec.embed_text(row),
                f"Is the following sentence 'positive' or 'negative'?\n{row['text']}.\nanswer:",
                CIVIL_LABELS[row["label"]],
            )

        return Sample(
            [example(train[i], i) for i in pool_idx],
            [example(test[i], i) for i in test_idx],
            {"files": {k: str(v) for k, v in files.items()}},
        )

    return load


RTE_LABELS = ["True", "False"]
SST5_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
MRPC_LABELS = ["not equivalent", "equivalent"]
DBPEDIA_LABELS = [
    "company",
    "educational institution",
    "artist",
    "athlete",
    "office holder",
    "mean of transportation",
    "building",
    "natural place",
    "village",
    "animal",
    "plant",
    "album",
    "film",
    "written work",
]
