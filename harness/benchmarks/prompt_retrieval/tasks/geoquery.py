"""GeoQuery's database prompt, as `get_db_prompt(rows=3, question=...)` of main_geo.py (xlang-ai/instructor-
embedding @ 9a9742c) builds it: each table's CREATE statement (sqlparse, aligned) and three rows, where the rows
are those matching the question when any cell value does (BRIDGE content matching, Lin et al. 2020, as
`get_database_matches` of the `bridge_content_encoder` module main_geo.py imports, in PICARD's public form:
character-level longest match widened to the question's words, Indel ratio >= 0.85, at most two values per
column, names only on an exact match).

Deterministic where the reference was not: a column's distinct values are matched in sorted order (the reference
walked a Python set, so ties between equally good values fell in hash order), and a text column is matched
whatever its first value's type (the reference skipped a column whose set happened to start with a number).
"""

from __future__ import annotations

import difflib
import json
import random
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.benchmarks.prompt_retrieval.data import files_source
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.types import Example, Sample
from harness.core.sources import task_files

INSTRUCTIONS = "-- Using valid SQLite, answer the following questions for the tables provided above.\n"
THRESHOLD, TOP_K = 0.85, 2

# NLTK's English stopwords and BRIDGE's common words: a match on one of these alone does not count
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him
    his himself she she's her hers herself it it's its itself they them their theirs themselves what which who
    whom this that that'll these those am is are was were be been being have has had having do does did doing a
    an the and but if or because as until while of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once here there when
    where why how all any both each few more most other some such no nor not only own same so than too very s t
    can will just don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't
    doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't
    shan shan't shouldn shouldn't wasn wasn't weren weren't won won't wouldn wouldn't""".split()  # noqa: SIM905
)
COMMON_WORDS = frozenset({"no", "yes", "many"})
SEPARATORS = "'\"()`,.?! "


def db_prompt(database: Path, question: str, rows: int = 3) -> str:
    """The schema and example rows that precede the questions in every GeoQuery prompt."""
    import pandas as pd
    import sqlparse

    with sqlite3.connect(database) as conn:
        prompt = ""
        for table, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'").fetchall():
            sample = pd.read_sql_query(f"SELECT * FROM {table} LIMIT {rows}", conn)
            clauses = [
                (column, value)
                for column in sample.columns
                for value in column_matches(question, _picklist(str(database), table, column), column)
            ]
            if clauses:
                where = " OR ".join(f"{column} = ?" for column, _ in clauses)
                query = f"SELECT DISTINCT * FROM {table} WHERE {where} LIMIT {rows}"
                sample = pd.read_sql_query(query, conn, params=[value for _, value in clauses])
            prompt += (
                sqlparse.format(sql, reindent_aligned=True) + "\n/*\n" + sample.to_string(index=False) + "\n*/\n\n"
            )
    return prompt


@lru_cache(maxsize=256)
def _picklist(database: str, table: str, column: str) -> tuple[str, ...]:
    with sqlite3.connect(database) as conn:
        values = conn.execute(f"SELECT DISTINCT `{column}` FROM `{table}`").fetchall()
    return tuple(sorted(v for (v,) in values if isinstance(v, str)))


def column_matches(question: str, values: Iterable[str], column: str) -> list[str]:
    """Up to two cell values the question mentions, best first; a *name* column needs an exact match."""
    found = [value for value, score in _matched(question, values) if "name" not in column or score >= 1]
    return found[:TOP_K]


def _matched(question: str, values: Iterable[str]) -> list[tuple[str, float]]:
    """(value, score) of every value matched at or above the threshold, by score then match length. One entry
    per matched substring, the last value giving it winning, as BRIDGE keys its matches."""
    chars = [c.lower() for c in question.strip()]
    matched: dict[str, tuple[str, float, int]] = {}
    for value in values:
        value_chars = [c.lower() for c in value.strip()]
        match = difflib.SequenceMatcher(None, chars, value_chars).find_longest_match(0, len(chars), 0, len(value_chars))
        span = _word_span(chars, match.a, match.a + match.size) if match.size else None
        if span is None or span[1] <= 1:
            continue
        match_str = value[match.b : match.b + match.size]
        score = _score(match_str.lower().strip(), question[span[0] : span[0] + span[1]].lower().strip(), value)
        if score is not None and score >= THRESHOLD and not (value.isupper() and score < 1):
            matched[match_str] = (value, score, match.size)
    ranked = sorted(matched.values(), key=lambda m: 1e16 * m[1] + 1e8 * m[1] + m[2], reverse=True)
    return [(value, score) for value, score, _ in ranked]


def _score(matched: str, source: str, value: str) -> float | None:
    """How well the question's words match the value; None where BRIDGE ignores the match."""
    whole = value.lower().strip()
    if not matched or _is_number(matched) or matched == "id":
        return None
    if matched in STOPWORDS or source in STOPWORDS or whole in STOPWORDS:
        return None
    if source.endswith(matched + "'s"):
        return 1.0
    score = indel_ratio(whole, source) if _prefix_match(whole, source) else 0.0
    common = COMMON_WORDS & {matched, source, whole}
    return None if common and score < 1 else score


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _word_span(chars: list[str], start: int, end: int) -> tuple[int, int] | None:
    """BRIDGE's get_effective_match_source: the match widened to the separators around it (looking one
    character back and three ahead), then trimmed of separators; (start, size), or None past that reach."""
    left = right = -1
    for i in range(start, start - 2, -1):
        if i < 0 or chars[i] in SEPARATORS:
            left = i + 1 if i < 0 else i
            break
    for i in range(end - 1, end + 3):
        if i >= len(chars) or chars[i] in SEPARATORS:
            right = i if i < len(chars) else i - 1
            break
    if left < 0 or right < 0:
        return None
    while left < len(chars) and chars[left] in SEPARATORS:
        left += 1
    while right >= 0 and chars[right] in SEPARATORS:
        right -= 1
    return left, right - left + 1


def _prefix_match(a: str, b: str) -> bool:
    """Whether the first non-separator characters agree (as BRIDGE's loop leaves its index on an all-separator
    string: its last character)."""
    i = next((k for k, c in enumerate(a) if c not in SEPARATORS), max(len(a) - 1, 0))
    j = next((k for k, c in enumerate(b) if c not in SEPARATORS), max(len(b) - 1, 0))
    if i < len(a) and j < len(b):
        return a[i] == b[j]
    return i >= len(a) and j >= len(b)


def indel_ratio(a: str, b: str) -> float:
    """rapidfuzz's fuzz.ratio / 100: 2 x longest common subsequence / total length (1 for two empty strings)."""
    if not a and not b:
        return 1.0
    row = [0] * (len(b) + 1)
    for ca in a:
        diagonal = 0
        for j, cb in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if ca == cb else max(row[j], row[j - 1])
    return 2 * row[-1] / (len(a) + len(b))


def load(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
    """main_geo.py: the whole train file is the pool; 256 test questions drawn with random.seed(0); each test
    prompt opens with the database rows that match its question (`db_prompt`)."""
    files = task_files(spec, files_source(spec), data_dir)
    train, test = (json.loads(files[k].read_text(encoding="utf-8")) for k in ("train", "test"))

    def example(row: dict[str, Any], i: int, prefix: str = "") -> Example:
        return Example(
            str(i),
            spec.embed_text(row),
            f"-- {row['question']}\nSELECT",
            row["query"],
            demo_text=f"-- {row['question']}\n{row['query']}\n\n",
            prefix=prefix,
        )

    rng = random.Random(spec.protocol.seed)
    test_idx = rng.sample(range(len(test)), min(spec.protocol.test_size, len(test)))
    database = files["database"]
    deviation = "greedy decoding; the reference sampled code-davinci-002 at temperature 0.7 (utils.py codex_execution)"
    return Sample(
        [example(r, i) for i, r in enumerate(train)],  # demonstrations: no prefix of their own
        [example(test[i], i, db_prompt(database, test[i]["question"]) + INSTRUCTIONS) for i in test_idx],
        {"files": {k: str(v) for k, v in files.items()}, "deviation": deviation},
    )
