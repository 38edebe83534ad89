"""`harness data mirror` for MTEB tasks, written in the portable layout so an air-gapped machine evaluates the same
bytes: under `mteb`, what mteb loaded at today's pin (the inverse of `portable.TaskData.to_mteb`); under the era
protocols, the rows the paper-era code read from the paper revision, parsed from its own files (`hub`,
`write_rows`), which a hub run also keeps in the harness cache, keyed by those files' bytes (`cached_rows`)."""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.fingerprint import files_digest
from harness.core.io import write_atomic, write_atomic_path, write_jsonl
from harness.core.paths import cache_path
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.mteb.spec import HubPin


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


def write_rows(spec: TaskSpec, pin: HubPin, folder: Path, snap: Path) -> list[Path]:
    """The paper-era code's data, every subset of `spec` read from the revision's own files as it loaded them
    (`hub`: as its script read them, where it had one), written under `folder`."""
    from harness.benchmarks.mteb import hub

    splits = [spec.split, "train"] if spec.category == "Classification" else [spec.split]
    written = []
    for subset in spec.subsets:
        if pin.script is not None:
            data = hub.read_scripted(spec.name, pin, subset, splits, snap)
        else:
            data = hub.load_script_free(spec.name, pin, subset, snap)
        written += write_portable(spec, data, folder if subset == "default" else folder / subset)
    return written


MANIFEST = "rows.sha256"  # a derived folder's own digest, written last: the folder is whole and unedited


def cached_rows(spec: TaskSpec, pin: HubPin, verify: Callable[[Path, Path], None]) -> Path:
    """The folder of the rows the revision's files give, in the portable layout in the harness cache. It is keyed by
    the source files' digests (`hub.view`: their blobs, sizes and times; a repaired or re-downloaded snapshot is
    read afresh, never served the rows of the files it replaced) and checked against its own manifest before each use (an edited or torn copy is built
    again). Built once: into a private folder, `verify`-ed (its rows and the snapshot they came from, against the
    figures of record), then renamed into place, so a
    killed or refused build leaves nothing a later run would read. `harness cache --clear` removes them all."""
    from harness.benchmarks.mteb import hub

    snap = hub.snapshot(spec.name, pin)
    view = hub.view(pin, snap)
    folder = rows_root() / f"{pin.hf_dataset.replace('/', '__')}@{pin.revision}" / view.name / spec.name
    if folder.is_dir() and _intact(folder):
        return folder
    draft = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(draft, ignore_errors=True)
    try:
        write_rows(spec, pin, draft, view)
        verify(draft, snap)
        write_atomic(draft / MANIFEST, lambda fh: fh.write(_digest(draft) + "\n"))
    except BaseException:
        shutil.rmtree(draft, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)  # a copy that failed its manifest
    try:
        os.replace(draft, folder)
    except OSError:  # another process put it in place first: theirs holds the same rows
        shutil.rmtree(draft, ignore_errors=True)
    return folder


def copy_rows(source: Path, folder: Path) -> list[Path]:
    """A checked rows folder (`cached_rows`) copied where `--data-dir` reads it (`harness data mirror`)."""
    written = []
    for path in sorted(p for p in source.rglob("*") if p.is_file() and p.name != MANIFEST):
        target = folder / path.relative_to(source)
        write_atomic_path(target, functools.partial(shutil.copyfile, path))
        written.append(target)
    return written


def rows_root() -> Path:
    return cache_path("mteb-rows")


def _digest(folder: Path) -> str:
    return files_digest((p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST), folder)


def _intact(folder: Path) -> bool:
    try:
        return (folder / MANIFEST).read_text(encoding="utf-8").strip() == _digest(folder)
    except OSError:
        return False
