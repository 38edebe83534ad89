"""The portable task format: `DIR/mteb/<Task>[/<subset>]/...`, read into the datasets mteb's tasks evaluate.

| category           | files                                   | row schema                                              |
|--------------------|-----------------------------------------|---------------------------------------------------------|
| STS                | <split>.jsonl                           | sentence1, sentence2, score (original scale)            |
| Classification     | train.jsonl, <split>.jsonl              | text, label[, label_text] (source row order)            |
| PairClassification | <split>.jsonl                           | sentence1, sentence2, label (0/1)                       |
| Clustering         | <split>.jsonl                           | sentences [str], labels [..] (one row per cluster set)  |
| Summarization      | <split>.jsonl                           | text, human_summaries [str], machine_summaries [str],   |
|                    |                                         | relevance [float] (one per machine summary)             |
| Retrieval          | corpus.jsonl, queries.jsonl,            | corpus {_id, title, text}; queries {_id, text};         |
|                    | qrels/<split>.tsv                       | qrels TSV header query-id, corpus-id, score             |
| Reranking          | <split>.jsonl                           | query, positive [str], negative [str]                   |

Every problem is reported with the task, the file and what was expected, before any model is loaded: the rows and
their checks are `rows.py`'s; here the task-level ones (test labels seen in train), the `--limit` cut and the
conversion to the datasets mteb's task classes evaluate.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from harness.benchmarks.mteb.rows import NOTES, RULES, SCHEMAS, one_label_type, read_corpus, read_qrels, read_rows
from harness.benchmarks.mteb.spec import ClassificationProtocol
from harness.core.checks import DataCheck, Notes, Work
from harness.core.errors import DataError
from harness.core.fingerprint import files_digest
from harness.core.spec import TaskSpec


def limited(category: str, split: str, rows: dict[str, Any], n: int) -> dict[str, Any]:
    """One subset's rows cut to at most `n` evaluation items (see `TaskData.limit`)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def spread(items: list[Any]) -> list[Any]:
        return (
            items
            if len(items) <= n
            else [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]
            if n > 1
            else items[:1]
        )

    if category == "Retrieval":
        queries = spread(rows["queries"])
        kept = {q["_id"] for q in queries}
        qrels = {q: docs for q, docs in rows["qrels"].items() if q in kept}
        judged = pa.array(sorted({d for docs in qrels.values() for d in docs}), pa.string())
        corpus = rows["corpus"]
        first = pa.array(np.arange(corpus.num_rows) < 10 * n)
        return {
            "corpus": corpus.filter(pc.or_(pc.is_in(corpus["_id"], value_set=judged), first)),
            "queries": queries,
            "qrels": qrels,
        }
    if category == "Clustering":
        cut = [{**r, "sentences": spread(r["sentences"]), "labels": spread(r["labels"])} for r in rows[split]]
        return {**rows, split: cut}
    return {**rows, split: spread(rows[split])}


class TaskData:
    """The validated rows of one task (all subsets), plus a checksum of the files they came from."""

    def __init__(self, spec: TaskSpec, root: Path, folder: Path | None = None) -> None:
        self.spec = spec
        self.folder = folder or root / "mteb" / spec.name
        if not self.folder.is_dir():
            raise DataError(
                f"task {spec.name}: no data folder {self.folder} (expected the portable layout "
                f"DIR/mteb/{spec.name}/; see harness/benchmarks/mteb/portable.py or `harness data mirror`)"
            )
        self.files: list[Path] = []
        self.notes = Notes()
        self.subsets = {s: self._read(self.folder if s == "default" else self.folder / s) for s in spec.subsets}

    def _rows(self, path: Path, kind: str, unique: str | None = None) -> list[dict[str, Any]]:
        self.files.append(path)
        return read_rows(
            self.spec.name, path, SCHEMAS[kind], RULES.get(kind, []), unique, self.notes, NOTES.get(kind, [])
        )

    def _read(self, folder: Path) -> dict[str, Any]:
        cat, split, name = self.spec.category, self.spec.split, self.spec.name
        if cat == "Retrieval":
            self.files += [folder / "corpus.jsonl", folder / "qrels" / f"{split}.tsv"]
            corpus = read_corpus(name, folder / "corpus.jsonl", self.notes)
            queries = self._rows(folder / "queries.jsonl", "queries", unique="_id")
            qrels = read_qrels(name, folder / "qrels" / f"{split}.tsv", {q["_id"] for q in queries}, corpus["_id"])
            return {"corpus": corpus, "queries": queries, "qrels": qrels}
        rows = {split: self._rows(folder / f"{split}.jsonl", cat)}
        if cat == "Classification":
            rows["train"] = self._rows(folder / "train.jsonl", cat)
            for part, data in rows.items():
                one_label_type(name, folder / f"{part}.jsonl", data, "label")
            unseen = sorted({str(r["label"]) for r in rows[split]} - {str(r["label"]) for r in rows["train"]})
            if unseen:
                raise DataError(
                    f"task {name}: {folder / f'{split}.jsonl'} has labels that train.jsonl lacks: {', '.join(unseen[:5])}"
                    "; the classifier can never predict them (check the label ids of both files)"
                )
        return rows

    def check(self, limit: int | None = None) -> DataCheck:
        """Rows per subset and part, and the notes, for `harness data check` and the run record; the work of a
        run of at most `limit` items (`--limit`: the ETA's, the rows are the data's)."""
        rows = {}
        for subset, parts in self.subsets.items():
            for part, data in parts.items():
                count = data.num_rows if hasattr(data, "num_rows") else len(data)
                name = "judged queries" if part == "qrels" else part
                rows[name if subset == "default" else f"{subset}/{name}"] = count
        return DataCheck(rows, self.notes.all(), (self.limited(limit) if limit else self).work())

    def work(self) -> Work:
        """The distinct texts the task embeds (`DataCheck.work`): its text fields' strings, a corpus's passages
        (title and text; every passage distinct by id)."""
        import pyarrow.compute as pc

        total, texts = Work(), []
        for parts in self.subsets.values():
            for part, data in parts.items():
                if part == "corpus":
                    lengths = pc.add(*(pc.fill_null(pc.utf8_length(data[c]), 0) for c in ("title", "text")))
                    total += Work.of_lengths(lengths.to_numpy(zero_copy_only=False))
                elif part == "train" and isinstance(
                    protocol := getattr(self.spec, "protocol", None), ClassificationProtocol
                ):
                    train = Work.of(row["text"] for row in data)  # of it, only the undersampled sets are embedded
                    used = protocol.samples_per_label * len({str(r["label"]) for r in data}) * protocol.n_experiments
                    total += train.scaled(min(1.0, used / max(sum(train.counts), 1)))
                elif isinstance(data, list):
                    texts += [t for row in data for f in self.spec.text_fields for t in _strings(row.get(f))]
        return total + Work.of(texts)

    def limited(self, n: int) -> TaskData:
        """A copy cut as `limit` cuts, this one left whole."""
        cut = copy.copy(self)
        cut.limit(n)
        return cut

    def limit(self, n: int) -> None:
        """Keep at most `n` evaluation items of every subset (`--limit`, a partial run), evenly spaced through each
        file (files are often sorted by label: the first n would be one or two classes): n pairs, test texts (train
        is whole: classifiers still learn from it), documents, queries (retrieval: with the passages judged for
        them and the corpus's first 10n), or n texts of every cluster set."""
        self.subsets = {s: limited(self.spec.category, self.spec.split, rows, n) for s, rows in self.subsets.items()}

    def checksum(self) -> str:
        """sha256 over the files' names and bytes, read in blocks."""
        return files_digest(self.files, self.folder)

    def to_mteb(self) -> dict[str, dict[str, Any]]:
        """{subset: {split: Dataset | RetrievalSplitData}} as mteb's task classes hold after loading."""
        digest = self.checksum()
        return {
            subset: _convert(self.spec.category, self.spec.split, rows, f"{digest[:16]}-{subset}")
            for subset, rows in self.subsets.items()
        }


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _convert(category: str, split: str, rows: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    from datasets import Dataset

    if category == "Retrieval":
        # the Arrow table itself; with a fingerprint given, datasets does not serialise the table to make one
        # (+1.9 GB on 1M passages)
        corpus = Dataset(rows["corpus"].rename_columns(["id", "title", "text"]), fingerprint=fingerprint)
        queries = Dataset.from_list([{"id": r["_id"], "text": r["text"]} for r in rows["queries"]])
        return {split: {"corpus": corpus, "queries": queries, "relevant_docs": rows["qrels"], "top_ranked": None}}
    if category == "Reranking":
        return {split: _reranking_as_retrieval(rows[split])}
    if category == "PairClassification":
        return {
            split: Dataset.from_list(
                [{"sentence1": r["sentence1"], "sentence2": r["sentence2"], "labels": r["label"]} for r in rows[split]]
            )
        }
    keep = {
        "Classification": ["text", "label"],
        "STS": ["sentence1", "sentence2", "score"],
        "Clustering": ["sentences", "labels"],
        "Summarization": ["text", "human_summaries", "machine_summaries", "relevance"],
    }[category]
    return {part: Dataset.from_list([{k: r[k] for k in keep} for r in data]) for part, data in rows.items()}


def _reranking_as_retrieval(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """MTEB 2.x evaluates reranking as retrieval restricted to each query's candidates (top_ranked)."""
    from datasets import Dataset

    queries, corpus, qrels, top = [], [], {}, {}
    for i, row in enumerate(rows):
        if not row["positive"]:  # noted when read; the evaluators drop such a sample
            continue
        qid = f"q{i}"
        queries.append({"id": qid, "text": row["query"]})
        candidates = [(f"q{i}-p{j}", t, 1) for j, t in enumerate(row["positive"])]
        candidates += [(f"q{i}-n{j}", t, 0) for j, t in enumerate(row["negative"])]
        corpus += [{"id": did, "title": "", "text": t} for did, t, _ in candidates]
        qrels[qid] = {did: rel for did, _, rel in candidates if rel}
        top[qid] = [did for did, _, _ in candidates]
    return {
        "corpus": Dataset.from_list(corpus),
        "queries": Dataset.from_list(queries),
        "relevant_docs": qrels,
        "top_ranked": top,
    }
