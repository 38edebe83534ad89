"""Data checks by consequence (`harness.core.checks`, docs/concepts/data.md): what the era code evaluated as it
stands is noted and evaluated, end to end with the packaged MiniLM; what would change a scored number is refused.

The real cases: MTEB's TweetSentimentExtraction train split has an empty text; the INSTRUCTOR repository's CNN/DM
THumB file has `"turker_annotations": NaN` on 200 of its lines. A check that refuses either fails here; so does
a NaN let through in a field a scorer reads, or a note that does not reach the run record and the run's output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.core.results import record_path
from tests.conftest import DATA, need


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _records(out: Path, task: str) -> dict:
    found = list(out.rglob(record_path(Path(), task).as_posix()))
    assert len(found) == 1, found
    return json.loads(found[0].read_text())


def test_an_empty_text_in_a_classification_train_split_is_noted_and_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = "TweetSentimentExtractionClassification"
    words = ["sunny", "awful", "meh", "great", "sad", "fine"]
    train = [{"text": f"{words[i % 6]} day {i}", "label": i % 3, "label_text": "x"} for i in range(60)]
    train[3]["text"] = ""  # as in mteb's own train split (27,481 rows, one of them empty)
    _jsonl(tmp_path / "data" / "mteb" / task / "train.jsonl", train)
    _jsonl(tmp_path / "data" / "mteb" / task / "test.jsonl", train[10:40])
    out = tmp_path / "out"
    args = ["run", "--tasks", task, "--data-dir", str(tmp_path / "data"), "--output-dir", str(out)]
    assert main(args) == 0
    record = _records(out, task)
    empty, copy = record["data_notes"]  # and the copy's figures beside mteb's (60 train rows of its 27,481)
    assert empty == {"file": "train.jsonl", "line": 4, "what": "empty 'text'", "count": 1}
    assert copy["what"].startswith("this copy differs from mteb's figures of mteb/tweet_sentiment_extraction")
    assert 0 < record["main_score"] <= 1
    assert f"data notes: {task}: empty 'text' x1 (first train.jsonl:4)" in capsys.readouterr().out


def _cnndm(tmp_path: Path, edit) -> Path:  # noqa: ANN001
    """A CNN/DM-shaped THumB pair: the real MSCOCO THumB files under the CNN/DM names, each row passed to `edit`."""
    source = need(DATA / "billboard" / "mscoco")
    folder = tmp_path / "data" / "billboard" / "cnndm"
    folder.mkdir(parents=True)
    shutil.copyfile(source / "mscoco_references.jsonl", folder / "cnndm_references.jsonl")
    lines = (source / "mscoco_THumB-1.0.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [edit(n, json.loads(line)) for n, line in enumerate(lines, 1)]
    (folder / "cnndm_THumB-1.0.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows),
        encoding="utf-8",  # json writes NaN as NaN, as the file has it
    )
    return tmp_path / "data"


def test_nan_in_an_unread_thumb_field_is_noted_and_the_file_evaluated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _cnndm(tmp_path, lambda n, r: {**r, "turker_annotations": float("nan") if n % 9 == 0 else []})
    out = tmp_path / "out"
    args = ["run", "--tasks", "BillboardCNNDM", "--data-dir", str(data), "--output-dir", str(out), "--limit", "8"]
    assert main(args) == 0
    record = _records(out, "BillboardCNNDM")
    nan_rows = 2500 // 9
    what = "non-finite number in unread field 'turker_annotations'"
    assert record["data_notes"] == [{"file": "cnndm_THumB-1.0.jsonl", "line": 9, "what": what, "count": nan_rows}]
    assert -1 <= record["main_score"] <= 1
    assert f"{what} x{nan_rows}" in capsys.readouterr().out


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_human_score_is_refused_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: float
) -> None:
    data = _cnndm(tmp_path, lambda n, r: {**r, "human_score": value} if n == 7 else r)
    assert main(["data", "check", "--tasks", "BillboardCNNDM", "--data-dir", str(data)]) == 4
    out = capsys.readouterr().out
    assert "refused  BillboardCNNDM:" in out and "cnndm_THumB-1.0.jsonl:7: human_score must be a finite number" in out


def test_a_nan_gold_score_is_refused_and_an_empty_sentence_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"sentence1": f"a {i}", "sentence2": f"b {i}", "score": i % 5} for i in range(6)]
    _jsonl(tmp_path / "ok" / "mteb" / "STS12" / "test.jsonl", [*rows, {"sentence1": "", "sentence2": "x", "score": 1}])
    _jsonl(tmp_path / "bad" / "mteb" / "STS12" / "test.jsonl", [*rows[:2], {**rows[2], "score": float("nan")}])
    assert main(["data", "check", "--tasks", "STS12", "--data-dir", str(tmp_path / "ok")]) == 0
    assert "noted    STS12: test 7; notes: empty 'sentence1' x1 (first test.jsonl:7)" in capsys.readouterr().out
    assert main(["data", "check", "--tasks", "STS12", "--data-dir", str(tmp_path / "bad")]) == 4
    assert "test.jsonl:3: column 'score' must be a number, got nan" in capsys.readouterr().out


def test_data_check_on_the_shared_data_gives_one_line_per_task(capsys: pytest.CaptureFixture[str]) -> None:
    root = need(DATA)
    tasks = "STSBenchmark,Banking77Classification,SciFact,SummEval,BillboardMSCOCO"
    assert main(["data", "check", "--tasks", tasks, "--data-dir", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [  # the order of the selection; these three copies give exactly mteb's figures
        "ok       STSBenchmark: test 1,379",
        "ok       Banking77Classification: test 3,080, train 10,003",
        "ok       SciFact: corpus 5,183, queries 300, judged queries 300",
    ]
    # the SummEval copy is the tokenized source text (its SOURCE.md): noted, with mteb's own figures beside
    assert lines[3].startswith(
        "noted    SummEval: test 100; notes: this copy differs from mteb's figures of mteb/summeval @ cda12ad7: "
        "test: characters 1,016,809 vs 1,007,527; test: text characters 214,489 vs 210,035;"
    )
    assert lines[4] == "ok       BillboardMSCOCO: hypotheses 2,500, items 500"
    assert lines[-1] == "5 of 5 task(s) can run as minilm:instructions=none,mode=none,protocol=instructor"
