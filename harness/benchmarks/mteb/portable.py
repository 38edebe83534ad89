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

Every problem is reported with the task, the file and what was expected, before any model is loaded. What would
change or break a number is refused (`RULES`, the schemas, unique ids, judgements naming known rows, test labels
seen in train); what the era code evaluated as it stands is noted (`NOTES`: empty texts, a reranking sample the
evaluators drop, non-finite numbers in fields nothing reads; `harness.core.checks`). A retrieval
corpus (millions of passages) is read by pyarrow into one Arrow table and checked column by column; only when a
check fails is the file read again line by line, to name the line (`read_corpus`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

from harness.core.checks import DataCheck, Notes
from harness.core.errors import DataError
from harness.core.fingerprint import files_digest
from harness.core.io import read_jsonl
from harness.core.spec import TaskSpec

STR, NUM, INT, STR_LIST, NUM_LIST, LIST = (
    "a string",
    "a number",
    "an integer",
    "a list of strings",
    "a list of numbers",
    "a list",
)
SCHEMAS: dict[str, dict[str, str]] = {
    "STS": {"sentence1": STR, "sentence2": STR, "score": NUM},
    "Classification": {"text": STR, "label": "a label"},
    "PairClassification": {"sentence1": STR, "sentence2": STR, "label": INT},
    "Clustering": {"sentences": STR_LIST, "labels": LIST},
    "Summarization": {"text": STR, "human_summaries": STR_LIST, "machine_summaries": STR_LIST, "relevance": NUM_LIST},
    "Reranking": {"query": STR, "positive": STR_LIST, "negative": STR_LIST},
    "corpus": {"_id": STR, "text": STR},
    "queries": {"_id": STR, "text": STR},
}


def _is(kind: str, value: Any) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == NUM:
        return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in (STR_LIST, NUM_LIST, LIST):
        return isinstance(value, list) and (
            kind == LIST or all(_is(STR if kind == STR_LIST else NUM, v) for v in value)
        )
    return isinstance(value, int | str) and not isinstance(value, bool)  # a label


Rule = Callable[[dict[str, Any]], str | None]  # a row -> what is wrong with it, or None


def non_empty(*columns: str) -> Rule:
    return lambda row: next((f"empty {c!r}" for c in columns if not str(row[c]).strip()), None)


def within(column: str, low: float, high: float) -> Rule:
    return lambda row: (
        None if low <= row[column] <= high else f"column {column!r} is {row[column]}, outside [{low}, {high}]"
    )


def one_of(column: str, values: tuple[Any, ...]) -> Rule:
    return lambda row: (
        None if row[column] in values else f"column {column!r} is {row[column]!r}, expected one of {values}"
    )


# refused: each would change or break the score
RULES: dict[str, list[Rule]] = {
    "STS": [within("score", 0, 5)],  # every MTEB STS scale lies in 0-5
    "PairClassification": [one_of("label", (0, 1))],
    "Summarization": [
        lambda r: (
            None
            if len(r["relevance"]) == len(r["machine_summaries"])
            else f"{len(r['relevance'])} relevance scores for {len(r['machine_summaries'])} machine summaries"
        ),
    ],
}
# noted: the era code embedded and scored these as they stand (mteb's own TweetSentimentExtraction train split has
# an empty text), or dropped them itself (a reranking sample without a positive)
NOTES: dict[str, list[Rule]] = {
    "STS": [non_empty("sentence1", "sentence2")],
    "Classification": [non_empty("text")],
    "PairClassification": [non_empty("sentence1", "sentence2")],
    "Summarization": [non_empty("text")],
    "Reranking": [
        non_empty("query"),
        lambda r: None if r["positive"] else "no positive candidate (the evaluators drop the sample)",
    ],
    "corpus": [
        lambda r: None if str(r["text"]).strip() or str(r.get("title") or "").strip() else "empty title and text"
    ],
    "queries": [non_empty("text")],
}
OPTIONAL = {"label_text", "id", "title", "_id"}  # fields the format names that no scorer reads


def read_rows(
    task: str,
    path: Path,
    schema: dict[str, str],
    rules: Sequence[Rule] = (),
    unique: str | None = None,
    notes: Notes | None = None,
    noted: Sequence[Rule] = (),
) -> list[dict[str, Any]]:
    """Rows with their schema and `rules` checked, and `unique` (an id column) never repeated; `noted` rules and
    non-finite numbers in fields outside the schema go to `notes`."""
    if not path.is_file():
        raise DataError(f"task {task}: missing file {path} (expected JSON Lines with {', '.join(schema)})")
    notes = notes if notes is not None else Notes()
    rows: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for number, row in read_jsonl(path, nonfinite=True):
        where = f"task {task}: {path}:{number}"
        for column, kind in schema.items():
            if column not in row:
                raise DataError(f"{where}: missing column {column!r} (expected {', '.join(schema)})")
            if not _is(kind, row[column]):
                raise DataError(f"{where}: column {column!r} must be {kind}, got {row[column]!r:.60}")
        for rule in rules:
            if problem := rule(row):
                raise DataError(f"{where}: {problem}; fix or drop the row")
        for rule in noted:
            if problem := rule(row):
                notes.add(path.name, number, problem)
        notes.unread_nonfinite(path.name, number, row, set(schema))
        if unknown := sorted(set(row) - set(schema) - OPTIONAL):
            notes.add(path.name, number, f"field(s) the harness does not read: {', '.join(unknown)}")
        if unique is not None:
            if row[unique] in seen:
                raise DataError(
                    f"{where}: duplicate {unique} {row[unique]!r} (first at line {seen[row[unique]]}); ids must be unique"
                )
            seen[row[unique]] = number
        rows.append(row)
    if not rows:
        raise DataError(f"task {task}: {path} is empty (expected one JSON object per line)")
    return rows


def _one_label_type(task: str, path: Path, rows: list[dict[str, Any]], column: str) -> None:
    kinds = {type(r[column]).__name__ for r in rows}
    if len(kinds) > 1:
        raise DataError(
            f"task {task}: {path}: column {column!r} mixes types {sorted(kinds)}; use all integers or all strings"
        )


def read_qrels(task: str, path: Path, queries: set[str], corpus: Any) -> dict[str, dict[str, int]]:
    """Judgements, each naming a query and a document of the task (a dangling one would silently score 0).
    `corpus`: the corpus's `_id` column (Arrow), checked in one pass rather than as a set of Python strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not path.is_file():
        raise DataError(f"task {task}: missing file {path} (expected TSV: query-id, corpus-id, score)")
    rows: list[tuple[int, list[str]]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if header != ["query-id", "corpus-id", "score"]:
            raise DataError(f"task {task}: {path}: header must be query-id<TAB>corpus-id<TAB>score, got {header}")
        for number, row in enumerate(reader, 2):
            if len(row) != 3 or not row[2].lstrip("-").isdigit():
                raise DataError(f"task {task}: {path}:{number}: expected query-id, corpus-id, integer score")
            rows.append((number, row))
    known_docs = pc.is_in(pa.array([r[1] for _, r in rows], pa.string()), value_set=corpus).to_pylist()
    for (number, row), doc_known in zip(rows, known_docs, strict=True):
        for value, known, what in ((row[0], row[0] in queries, "query"), (row[1], doc_known, "document")):
            if not known:
                raise DataError(
                    f"task {task}: {path}:{number}: {what} {value!r} is not in the task's {what} file; "
                    "drop the judgement or add the missing row"
                )
    qrels: dict[str, dict[str, int]] = {}
    for _, row in rows:
        qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    if not qrels:
        raise DataError(f"task {task}: {path} has no judgements")
    return qrels


CORPUS_BLOCK = 4 << 20  # bytes pyarrow parses at a time: the lowest peak memory measured on a 1M-passage corpus


def read_corpus(task: str, path: Path, notes: Notes | None = None) -> Any:
    """The corpus as an Arrow table (`_id`, `title`, `text`; missing titles empty), streamed by pyarrow in 4 MB
    blocks with the portable schema and checked block by block: memory is about the table's (perf/scale.py),
    not a Python object per passage. A file pyarrow refuses (a non-string id, bad JSON or UTF-8) or a failed check
    is read again row by row, which names the line and the fix."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not path.is_file():
        raise DataError(f"task {task}: missing file {path} (expected JSON Lines with {', '.join(SCHEMAS['corpus'])})")
    schema = pa.schema([("_id", pa.string()), ("title", pa.string()), ("text", pa.string())])
    try:
        reader = pj.open_json(
            pa.OSFile(str(path)),
            read_options=pj.ReadOptions(block_size=CORPUS_BLOCK),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
        table = pa.Table.from_batches([_sound_batch(batch) for batch in reader], schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError, _Unsound):
        table = None
    if table is not None and table.num_rows and len(table.column("_id").unique()) == table.num_rows:
        return table
    # row by row: names the bad line, if any, and notes the blank passages
    rows = read_rows(task, path, SCHEMAS["corpus"], unique="_id", notes=notes, noted=NOTES["corpus"])
    return pa.Table.from_pylist([{"_id": r["_id"], "title": r.get("title") or "", "text": r["text"]} for r in rows])


class _Unsound(Exception):
    """A block breaks a corpus rule: the file is read row by row to name the line."""


def _sound_batch(batch: Any) -> Any:
    """One block under the row rules of SCHEMAS/NOTES["corpus"] (an id and a text in every row, not both title and
    text blank: a blank passage is noted on the row-by-row read), its missing titles made empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids, title, text = batch.column(0), pc.fill_null(batch.column(1), ""), batch.column(2)
    blank = pc.and_(pc.equal(pc.utf8_trim_whitespace(text), ""), pc.equal(pc.utf8_trim_whitespace(title), ""))
    if ids.null_count or text.null_count or pc.any(blank).as_py():
        raise _Unsound()
    return pa.RecordBatch.from_arrays([ids, title, text], schema=batch.schema)


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
                _one_label_type(name, folder / f"{part}.jsonl", data, "label")
            unseen = sorted({str(r["label"]) for r in rows[split]} - {str(r["label"]) for r in rows["train"]})
            if unseen:
                raise DataError(
                    f"task {name}: {folder / f'{split}.jsonl'} has labels that train.jsonl lacks: {', '.join(unseen[:5])}"
                    "; the classifier can never predict them (check the label ids of both files)"
                )
        return rows

    def check(self) -> DataCheck:
        """Rows per subset and part, and the notes, for `harness data check` and the run record."""
        rows = {}
        for subset, parts in self.subsets.items():
            for part, data in parts.items():
                count = data.num_rows if hasattr(data, "num_rows") else len(data)
                name = "judged queries" if part == "qrels" else part
                rows[name if subset == "default" else f"{subset}/{name}"] = count
        return DataCheck(rows, self.notes.all())

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
