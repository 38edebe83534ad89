"""`harness data mirror` for MTEB tasks, written in the portable layout so an air-gapped machine evaluates the same
bytes: under `mteb`, what mteb loaded at today's pin (the inverse of `portable.TaskData.to_mteb`); under the era
protocols, the rows the paper-era code read from the paper revision, parsed from its own files (`hub`,
`write_rows`), which a hub run also mirrors once into the harness cache (`cached_rows`)."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.io import write_atomic, write_jsonl
from harness.core.paths import cache_root
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.mteb.spec import DatasetPin, ScriptLoader


# source column -> portable column, per category (mteb 2.x's names; the paper-era pair datasets say sent1/sent2)
COLUMNS = {
    "STS": {"sentence1": "sentence1", "sentence2": "sentence2", "score": "score"},
    "Classification": {"text": "text", "label": "label", "label_text": "label_text"},
    "PairClassification": {"sentence1": "sentence1", "sentence2": "sentence2", "labels": "label"},
    "Clustering": {"sentences": "sentences", "labels": "labels"},
    "Summarization": {
        "text": "text",
        "human_summaries": "human_summaries",
        "machine_summaries": "machine_summaries",
        "relevance": "relevance",
        "id": "id",
    },
    "Reranking": {"query": "query", "positive": "positive", "negative": "negative"},  # the paper-era rows
}
PAIR_COLUMNS_2022 = {"sent1": "sentence1", "sent2": "sentence2", "labels": "label"}  # what mteb 0.0.2 and 1.0 read


def _rows(dataset: Any, columns: dict[str, str], single_row_lists: bool = False) -> list[dict[str, Any]]:
    """Rows with renamed columns. `single_row_lists`: pair-classification datasets of the mteb 1.x era hold
    every pair in one row (a list per column); they are unrolled."""
    data = dataset.to_dict() if hasattr(dataset, "to_dict") else dict(dataset)
    first = data[next(iter(columns))]
    if single_row_lists and len(first) == 1 and isinstance(first[0], list):
        data = {k: v[0] for k, v in data.items()}
    return [
        {new: data[old][i] for old, new in columns.items() if old in data}
        for i in range(len(data[next(iter(columns))]))
    ]


def write_portable(spec: TaskSpec, split_data: dict[str, Any], folder: Path) -> list[Path]:
    """One subset's splits (as mteb holds them) -> files under `folder`."""
    cat, split = spec.category, spec.split
    written = []
    if cat in ("Retrieval", "Reranking"):
        data = split_data[split]
        if cat == "Reranking":  # mteb 2.x holds reranking as retrieval; the paper-era datasets are plain rows
            rows = _reranking_rows(data) if isinstance(data, dict) else _rows(data, COLUMNS["Reranking"])
            write_jsonl(folder / f"{split}.jsonl", rows)
            return [folder / f"{split}.jsonl"]
        corpus = ({"_id": r["id"], "title": r.get("title") or "", "text": r["text"]} for r in data["corpus"])
        queries = [{"_id": r["id"], "text": r["text"]} for r in data["queries"]]
        write_jsonl(folder / "corpus.jsonl", corpus)
        write_jsonl(folder / "queries.jsonl", queries)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows([q, d, s] for q, docs in data["relevant_docs"].items() for d, s in docs.items())
        write_atomic(folder / "qrels" / f"{split}.tsv", lambda fh: fh.write(buf.getvalue()))
        return [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    columns = COLUMNS[cat]
    if cat == "PairClassification" and "sentence1" not in _columns(split_data[split]):
        columns = PAIR_COLUMNS_2022
    for part in [split, "train"] if cat == "Classification" else [split]:
        path = folder / f"{part}.jsonl"
        write_jsonl(path, _rows(split_data[part], columns, single_row_lists=cat == "PairClassification"))
        written.append(path)
    return written


def _columns(dataset: Any) -> list[str]:
    return list(dataset.column_names if hasattr(dataset, "column_names") else dataset)


def _reranking_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    text = {r["id"]: (f"{r['title']} {r['text']}" if r.get("title") else r["text"]) for r in data["corpus"]}
    rows = []
    for query in data["queries"]:
        relevant = {d for d, s in data["relevant_docs"].get(query["id"], {}).items() if s > 0}
        candidates = data["top_ranked"][query["id"]]
        rows.append(
            {
                "query": query["text"],
                "positive": [text[d] for d in candidates if d in relevant],
                "negative": [text[d] for d in candidates if d not in relevant],
            }
        )
    return rows


def mirror(spec: TaskSpec, parts: list[tuple[TaskSpec, Any]], out: Path) -> list[Path]:
    """Every subset of every part (CQADupstack forums are subfolders) of a loaded task."""
    written = []
    for part, task in parts:
        base = out / "mteb" / spec.name / ("" if part is spec else part.name)
        for subset in spec.subsets:
            folder = base if subset == "default" else base / subset
            data = task.dataset.get(subset, task.dataset)
            written += write_portable(spec, data, folder)
    return written


def write_rows(spec: TaskSpec, pin: DatasetPin, folder: Path, loader: ScriptLoader | None = None) -> list[Path]:
    """The paper-era code's data, every subset of `spec` read from the revision's own files as it loaded them
    (`hub`: through its script's files when `loader` says it had one), written under `folder`."""
    from harness.benchmarks.mteb import hub

    splits = [spec.split, "train"] if spec.category == "Classification" else [spec.split]
    written = []
    for subset in spec.subsets:
        if loader is not None:
            data = hub.load_scripted(spec.name, pin, loader, subset, splits)
        else:
            data = hub.load_script_free(spec.name, pin, subset)
        written += write_portable(spec, data, folder if subset == "default" else folder / subset)
    return written


def cached_rows(spec: TaskSpec, pin: DatasetPin, loader: ScriptLoader | None = None) -> Path:
    """The folder of the paper-era rows in the harness cache, mirrored on first use: into a private folder, then
    renamed into place, so a killed download leaves no partial data that a later run would read."""
    folder = cache_root() / "mteb-rows" / f"{pin.hf_dataset.replace('/', '__')}@{pin.revision}" / spec.name
    if not folder.is_dir():
        draft = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(draft, ignore_errors=True)
        write_rows(spec, pin, draft, loader)
        try:
            os.replace(draft, folder)
        except OSError:  # another process put it in place first: theirs is the same data
            shutil.rmtree(draft, ignore_errors=True)
    return folder
