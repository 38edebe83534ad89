"""Instruction robustness: query-only paraphrase variants, and a real run with its table and figure."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from harness.core.instructions import library
from harness.core.results import Unit, record_path
from harness.core.runner import RunOptions
from harness.core.spec import registry
from harness.models.cache import CachedEncoder, EmbeddingCache
from harness.models.encoder import Encoder
from harness.reports.robustness import render, study, variant_names, write_figure
from tests.conftest import DATA, need


def test_query_only_paraphrases_keep_the_document_instruction() -> None:
    lib = library()
    para, query_only = lib.get("SciFact", "paraphrase:2"), lib.get("SciFact", "paraphrase-query:2")
    assert (
        query_only.query == para.query == "Represent the given Scientific query for retrieving a supporting passage; "
    )
    assert query_only.document == lib.get("SciFact", "instructor-large").document != para.document
    assert lib.get("STS12", "paraphrase-query:2") == lib.get("STS12", "paraphrase:2")  # symmetric: both sides
    assert variant_names("paraphrases", "query") == [f"paraphrase-query:{k}" for k in range(1, 6)]
    assert variant_names("levels", "both") == ["level:none", "level:tag", "level:simple", "level:detailed"]


def test_robustness_run_on_a_real_task(tmp_path: Path) -> None:
    need(DATA / "mteb" / "BIOSSES")
    spec = registry().get("BIOSSES")
    encoder = CachedEncoder(Encoder("minilm", mode="prefix"), EmbeddingCache(tmp_path / "cache.sqlite"))
    base = RunOptions(Unit("", "", "", "", "instructor"), tmp_path / "out", DATA, log=lambda *_: None)
    variants = variant_names("paraphrases", "query")
    s = study("minilm", [spec], variants, lambda: encoder, library(), base, "test", "prefix")
    scores = s.scores["BIOSSES"]
    assert list(scores) == variants and len(set(scores.values())) > 1  # the wording moves the score
    for variant in variants:  # each variant is a unit of its own, with its exact instruction recorded
        folder = Unit("minilm", "test", variant, "prefix", "instructor").folder(tmp_path / "out")
        record = json.loads(record_path(folder, "BIOSSES").read_text())
        assert record["instructions"]["BIOSSES"]["query"]["text"] == library().get("BIOSSES", variant).query
        assert 100 * record["main_score"] == pytest.approx(scores[variant])
    stats = s.stats()["BIOSSES"]
    values = list(scores.values())
    assert stats["best_minus_worst"] == pytest.approx(max(values) - min(values))
    assert stats["mean"] == pytest.approx(statistics.mean(values))
    assert stats["std"] == pytest.approx(statistics.stdev(values))
    table = render([s], [spec], "md")
    assert (
        f"| BIOSSES | STS | minilm | {stats['mean']:.2f} | {stats['std']:.2f} | {stats['best_minus_worst']:.2f} |"
        in table
    )
    write_figure([s], tmp_path / "ranges.png")
    assert (tmp_path / "ranges.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in render([s], [spec], "html")


def test_two_models_side_by_side_by_hand() -> None:
    from harness.reports.robustness import Study, table

    specs = [registry().get("STS12"), registry().get("STS13")]
    variants = [f"paraphrase-query:{k}" for k in range(1, 6)]
    a = Study(
        "model-a",
        {
            "STS12": dict(zip(variants, [70, 72, 74, 76, 78], strict=True)),
            "STS13": dict(zip(variants, [80, 80, 80, 80, 85], strict=True)),
        },
        {},
    )
    b = Study(
        "model-b",
        {
            "STS12": dict(zip(variants, [60, 60, 60, 60, 60], strict=True)),
            "STS13": dict(zip(variants, [50, 55, 60, 65, 70], strict=True)),
        },
        {},
    )
    header, rows = table([a, b], specs)
    assert header[:6] == ["task", "category", "model", "mean", "std", "best-worst"]
    by = {(r[0], r[2]): r[3:6] for r in rows}
    assert by[("STS12", "model-a")] == ["74.00", "3.16", "8.00"]  # sample std of 70..78 step 2 = sqrt(10)
    assert by[("STS13", "model-a")] == ["81.00", "2.24", "5.00"]  # sqrt(5)
    assert by[("STS12", "model-b")] == ["60.00", "0.00", "0.00"]
    assert by[("STS13", "model-b")] == ["60.00", "7.91", "20.00"]  # sqrt(62.5)
    assert by[("(mean of 2)", "model-a")] == ["77.50", "2.70", "6.50"]  # category = mean of the task statistics
    assert by[("(mean of 2)", "model-b")] == ["60.00", "3.95", "10.00"]
