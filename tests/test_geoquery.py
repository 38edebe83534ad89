"""GeoQuery's database prompt: rows matching the question (BRIDGE content matching) on a hand-built database,
the match rules by hand, and the real geography database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from harness.benchmarks.prompt_retrieval.tasks import geoquery
from tests.conftest import DATA, need


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "geo.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE state (state_name, capital, population)")
        conn.executemany(
            "INSERT INTO state VALUES (?, ?, ?)",
            [
                ("alabama", "montgomery", 100),
                ("alaska", "juneau", 200),
                ("texas", "austin", 300),
                ("new mexico", "santa fe", 400),
            ],
        )
        conn.execute("CREATE TABLE river (river_name, traverse)")
        conn.executemany(
            "INSERT INTO river VALUES (?, ?)",
            [("rio grande", "colorado"), ("rio grande", "new mexico"), ("red", "texas"), ("mississippi", "minnesota")],
        )
    return path


def _section(prompt: str, table: str) -> str:
    """The rows block that follows a table's CREATE statement."""
    after = prompt.split(f"CREATE TABLE {table}", 1)[1]
    return after.split("/*\n", 1)[1].split("\n*/", 1)[0]


def test_rows_matching_the_question_replace_the_first_rows(database: Path) -> None:
    prompt = geoquery.db_prompt(database, "which rivers run through new mexico")
    state = pd.DataFrame({"state_name": ["new mexico"], "capital": ["santa fe"], "population": [400]})
    river = pd.DataFrame({"river_name": ["rio grande"], "traverse": ["new mexico"]})
    assert _section(prompt, "state") == state.to_string(index=False)
    assert _section(prompt, "river") == river.to_string(index=False)
    # no value mentioned: the first three rows
    plain = geoquery.db_prompt(database, "how many rivers are there")
    assert _section(plain, "state") == pd.read_sql_query(
        "SELECT * FROM state LIMIT 3", sqlite3.connect(database)
    ).to_string(index=False)
    assert plain.count("*/\n\n") == 2 and "CREATE TABLE state" in plain


def test_match_rules_by_hand(database: Path) -> None:
    # "mississipi" against "mississippi": longest common subsequence 10, 2 x 10 / 21 = 0.952 >= 0.85
    assert geoquery.indel_ratio("mississippi", "mississipi") == pytest.approx(20 / 21)
    assert geoquery.indel_ratio("", "") == 1 and geoquery.indel_ratio("abc", "") == 0
    question = "rivers in the mississipi basin"
    assert geoquery.column_matches(question, ["minnesota", "mississippi"], "traverse") == ["mississippi"]
    # the matched characters must reach the word's end within 3 characters: "missis|ippi" is too far
    assert geoquery.column_matches("rivers in the missisippi basin", ["mississippi"], "traverse") == []
    assert geoquery.column_matches(question, ["mississippi"], "river_name") == []  # a name needs an exact match
    assert geoquery.column_matches("rivers in texas", ["texas", "tex"], "traverse") == ["texas"]
    assert geoquery.column_matches("what is in the state", ["the"], "traverse") == []  # a stopword alone
    assert geoquery.column_matches("how many states", ["many"], "traverse") == ["many"]  # a common word: exact only
    assert geoquery.column_matches("how manyy states", ["many"], "traverse") == []  # 8/9 would pass otherwise
    assert geoquery.column_matches("population of 300", ["300"], "traverse") == []  # numbers are not matched
    assert geoquery.column_matches("texas's rivers", ["texas"], "state_name") == ["texas"]  # possessive: exact


def test_real_geography_database() -> None:
    need(DATA / "prompt_retrieval" / "geoquery")
    folder = DATA / "prompt_retrieval" / "geoquery"
    question = json.loads((folder / "geoquery_eval.json").read_text())[0]["question"]
    assert question == "what is the biggest city in arizona"
    prompt = geoquery.db_prompt(folder / "geography.sqlite", question)
    assert prompt.count("CREATE TABLE") == 7
    city = _section(prompt, "`city`").splitlines()
    assert len(city) == 4 and all(line.rstrip().endswith("arizona") for line in city[1:])  # header + 3 rows
    mountain = _section(prompt, "`mountain`").splitlines()
    assert "arizona" not in "".join(mountain) and len(mountain) == 4  # no arizona mountain: the first rows
