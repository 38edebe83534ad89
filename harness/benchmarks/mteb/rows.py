"""The rows of the portable layout's files, read and checked by consequence (`harness.core.checks`): what would change
or break a number is refused (`RULES`, the schemas, unique ids, judgements naming known rows), what the era code
evaluated as it stands is noted (`NOTES`: empty texts, a reranking sample the evaluators drop, non-finite numbers
in fields nothing reads). Every problem names the task, the file, the line and what was expected. A retrieval
corpus (millions of passages) is read by pyarrow into one Arrow table and checked column by column; only when a
check fails is the file read again line by line, to name the line (`read_corpus`)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

from harness.core.checks import Notes
from harness.core.errors import DataError
from harness.core.io import read_jsonl

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


def one_label_type(task: str, path: Path, rows: list[dict[str, Any]], column: str) -> None:
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
