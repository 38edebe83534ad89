"""`harness data mirror` for MTEB tasks: what mteb loaded (at the pinned revision) written in the portable layout,
the inverse of `portable.TaskData.to_mteb`, so an air-gapped machine evaluates the same bytes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from harness.core.io import write_atomic, write_jsonl
from harness.core.spec import TaskSpec


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
        if cat == "Reranking":
            rows = _reranking_rows(data)
            write_jsonl(folder / f"{split}.jsonl", rows)
            return [folder / f"{split}.jsonl"]
        corpus = [{"_id": r["id"], "title": r.get("title") or "", "text": r["text"]} for r in data["corpus"]]
        queries = [{"_id": r["id"], "text": r["text"]} for r in data["queries"]]
        write_jsonl(folder / "corpus.jsonl", corpus)
        write_jsonl(folder / "queries.jsonl", queries)
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        writer.writerow(["query-id", "corpus-id", "score"])
        writer.writerows([q, d, s] for q, docs in data["relevant_docs"].items() for d, s in docs.items())
        write_atomic(folder / "qrels" / f"{split}.tsv", lambda fh: fh.write(buf.getvalue()))
        return [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    columns = {
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
    }[cat]
    for part in [split, "train"] if cat == "Classification" else [split]:
        path = folder / f"{part}.jsonl"
        write_jsonl(path, _rows(split_data[part], columns, single_row_lists=cat == "PairClassification"))
        written.append(path)
    return written


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
