"""Instruction robustness: query-only paraphrase variants, and a real run with its table and figure."""

from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

import numpy as np
import pytest

from harness.app.api import RunRequest, prepare, robustness_study
from harness.cli import main
from harness.core import items as per_item
from harness.core.benchmark import task_folder
from harness.core.instructions import library
from harness.core.items import single
from harness.core.results import record_path
from harness.core.spec import registry
from harness.reports.robustness import Study, category_test, render, table, variant_names, write_figure
from tests.conftest import DATA, need


def test_variant_names() -> None:
    assert variant_names("paraphrases", "query") == [f"paraphrase-query:{k}" for k in range(1, 6)]
    assert variant_names("frames", "both") == [f"frames:{k}" for k in range(1, 6)]
    assert variant_names("levels", "both") == ["level:none", "level:tag", "level:simple", "level:detailed"]


@pytest.mark.slow
def test_robustness_run_on_a_real_task(tmp_path: Path) -> None:
    need(DATA / "mteb" / "BIOSSES")
    spec = registry().get("BIOSSES")
    said: list[str] = []
    request = RunRequest(
        model="minilm", mode="prefix", tasks=["BIOSSES"], data_dir=DATA, output_dir=tmp_path / "out", log=said.append
    )
    variants = variant_names("paraphrases", "query")
    s = robustness_study(request, variants, "paraphrases")
    steps = [line for line in said if line.startswith("variant ")]  # the study's own progress, with its ETA
    assert steps[0] == "variant 1/5: paraphrase-query:1" and steps[4].startswith(
        "variant 5/5: paraphrase-query:5, study ETA "
    )
    scores = s.scores["BIOSSES"]
    assert list(scores) == variants and len(set(scores.values())) > 1  # the wording moves the score
    for variant in variants:  # each variant is a unit of its own, with its exact instruction recorded
        filed = library().variant_for("BIOSSES", variant)  # STS has no query side: paraphrase:K, not -query:K
        assert filed == variant.replace("-query", "")
        folder = task_folder(spec, prepare(dataclasses.replace(request, instructions=filed)).options)
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
        f"| BIOSSES | STS | minilm paraphrases | {stats['mean']:.2f} | {stats['std']:.2f} | {stats['best_minus_worst']:.2f} |"
        in table
    )
    # the spread's paired test: best against worst on BIOSSES's 100 pairs, by the module's own replicates
    observed, reps = s.spread_replicates("BIOSSES")  # type: ignore[misc]
    assert observed == pytest.approx(stats["best_minus_worst"]) and len(reps) == 1000
    assert stats["low"] <= stats["best_minus_worst"] + 1e-9 and stats["p_value"] is not None
    assert stats["beyond_noise"] == (not stats["low"] <= 0 <= stats["high"])  # one notion: the drawn interval
    assert not list((tmp_path / "out").rglob("*paraphrase-query*"))
    write_figure([s], [spec], tmp_path / "ranges.png")
    assert (tmp_path / "ranges.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in render([s], [spec], "html")


def _study_with_items(tmp_path: Path, values: dict[str, np.ndarray]) -> Study:
    """A hand-made study of one STS task whose variants' per-pair similarities are `values`."""
    gold = np.linspace(0, 5, 200)
    paths: dict[str, Path | None] = {}
    scores = {}
    for variant, x in values.items():
        items = single("spearman", x=x, y=gold)
        paths[variant] = tmp_path / f"{variant}.json.gz"
        per_item.save(items, paths[variant])  # type: ignore[arg-type]
        scores[variant] = 100 * items.score()
    return Study("m", {"STS12": scores}, {}, {"STS12": paths}, "paraphrases")


def test_spread_beyond_noise_is_told_from_noise(tmp_path: Path) -> None:
    """Five wordings, one of them truly worse (twice the noise): beyond noise. Five wordings that differ only by
    chance (same noise, independent draws): not beyond noise once the pick of best and worst is corrected for.
    Fails without the Bonferroni factor (about a third of chance spreads would pass) or without pairing."""
    rng = np.random.default_rng(0)
    gold = np.linspace(0, 5, 200)
    real = {f"paraphrase:{k}": gold + rng.normal(0, 3 if k == 5 else 1, 200) for k in range(1, 6)}
    stats = _study_with_items(tmp_path / "real", real).stats()["STS12"]
    assert stats["worst"] == "paraphrase:5" and stats["beyond_noise"] and stats["low"] > 0
    called = 0
    for seed in range(10):
        rng = np.random.default_rng(50 + seed)
        chance = {f"paraphrase:{k}": gold + rng.normal(0, 1, 200) for k in range(1, 6)}
        called += bool(_study_with_items(tmp_path / f"chance{seed}", chance).stats()["STS12"]["beyond_noise"])
    assert called <= 1


def test_category_spread_averages_the_tasks_replicates(tmp_path: Path) -> None:
    """The category row's interval is the corrected interval of the tasks' spread replicates averaged: centred
    on the mean spread, half-width the 1 - 0.05/10 quantile of |replicate - mean spread| (10 pairs of 5)."""
    rng = np.random.default_rng(3)
    gold = np.linspace(0, 5, 200)
    s = _study_with_items(tmp_path, {f"paraphrase:{k}": gold + rng.normal(0, k, 200) for k in range(1, 6)})
    s.scores["STS13"], s.items["STS13"] = s.scores["STS12"], s.items["STS12"]
    test = category_test(s, ["STS12", "STS13"])
    (a, ra), (b, rb) = s.spread_replicates("STS12"), s.spread_replicates("STS13")  # type: ignore[misc]
    observed, both = (a + b) / 2, (ra + rb) / 2
    half = float(np.quantile(np.abs(both - observed), 1 - 0.05 / 10))
    assert (test["low"], test["high"]) == pytest.approx((observed - half, observed + half))
    assert test["beyond_noise"] == (not test["low"] <= 0 <= test["high"])


def test_tasks_without_an_evaluated_instruction_are_flagged_in_the_study() -> None:
    spec = registry().get("PromptRetrievalMultiWOZ")
    request = RunRequest(model="minilm", mode="prefix", tasks=[spec.name], output_dir=Path("/nonexistent"))
    s = robustness_study(request, variant_names("paraphrases", "query"), "paraphrases", lambda: None)
    assert s.flagged == {"PromptRetrievalMultiWOZ": "no evaluated instruction"} and s.scores == {}
    header, rows = table([s], [spec])
    assert rows[0][:3] == ["PromptRetrievalMultiWOZ", "PromptRetrieval", "minilm paraphrases"]
    assert rows[0][8] == "no evaluated instruction"


def test_robustness_refuses_variants_that_mode_none_would_ignore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MiniLM is no INSTRUCTOR checkpoint: its default mode, none, embeds every paraphrase as the same text, a
    spread of 0 by construction. Refused, as `run` refuses it, before any model loads."""
    code = main(["robustness", "--model", "minilm", "--tasks", "STS12", "--output-dir", str(tmp_path)])
    assert code == 2 and "pass --mode masked (INSTRUCTOR) or --mode prefix" in capsys.readouterr().err


def test_robustness_runs_a_prompt_retrieval_task_with_the_tiny_lm(
    tmp_path: Path, lm_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through run's preparation: --lm reaches prompt retrieval's settings, --limit cuts the test set."""
    from tests.test_reliability import _prdata

    args = ["robustness", "--model", "minilm", "--mode", "prefix", "--tasks", "PromptRetrievalRTE"]
    args += ["--data-dir", str(_prdata(tmp_path)), "--lm", str(lm_path), "--lm-device", "cpu", "--limit", "2"]
    args += ["--output-dir", str(tmp_path / "out"), "--format", "json", "--output", str(tmp_path / "s.json")]
    assert main([*args, "--no-cache"]) == 0
    (study,) = json.loads((tmp_path / "s.json").read_text())
    scores = study["scores"]["PromptRetrievalRTE"]
    assert list(scores) == variant_names("paraphrases", "query") and all(0 <= v <= 100 for v in scores.values())
    records = list((tmp_path / "out").rglob("PromptRetrievalRTE.run.json"))
    assert len(records) == 5 and all(json.loads(r.read_text())["partial"] == {"limit": 2} for r in records)


def test_two_models_side_by_side_by_hand() -> None:
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
    assert header[:9] == [
        "task",
        "category",
        "study",
        "mean",
        "std",
        "best-worst",
        "95% CI",
        "p (Bonf.)",
        "beyond noise",
    ]
    by = {(r[0], r[2]): r[3:6] for r in rows}
    assert by[("STS12", "model-a")] == ["74.00", "3.16", "8.00"]  # sample std of 70..78 step 2 = sqrt(10)
    assert by[("STS13", "model-a")] == ["81.00", "2.24", "5.00"]  # sqrt(5)
    assert by[("STS12", "model-b")] == ["60.00", "0.00", "0.00"]
    assert by[("STS13", "model-b")] == ["60.00", "7.91", "20.00"]  # sqrt(62.5)
    assert by[("(mean of 2)", "model-a")] == ["77.50", "2.70", "6.50"]  # category = mean of the task statistics
    assert by[("(mean of 2)", "model-b")] == ["60.00", "3.95", "10.00"]


def test_the_table_and_figure_say_what_they_show() -> None:
    """Level columns read none / tag / simple / detailed (they read #1..#4); a category's mean spread is drawn
    beside its tasks' (it was missing from the figure); a --limit study says so in table and figure."""
    from harness.reports.robustness import figure_data, limit_note

    specs = [registry().get("STS12"), registry().get("STS13")]
    levels = variant_names("levels", "query")
    scores = {t: dict(zip(levels, [60.0, 61.0, 63.0, 64.0], strict=True)) for t in ("STS12", "STS13")}
    s = Study("m", scores, {v: 1.0 for v in levels}, {}, "levels", limit=50)
    header, _ = table([s], specs)
    assert header[-4:] == ["none", "tag", "simple", "detailed"]
    drawn = figure_data([s], specs)["m levels"]
    assert list(drawn) == ["STS12", "STS13", "(mean of 2) STS"] and drawn["(mean of 2) STS"]["best_minus_worst"] == 4.0
    assert limit_note([s]) == "partial: at most 50 items per task (--limit)"
    assert "partial: at most 50 items per task (--limit)" in render([s], specs, "md")
    # beside a study of another kind the columns are positions, so each cell names its variant
    paraphrases = variant_names("paraphrases", "query")
    other = Study("m", {t: dict.fromkeys(paraphrases, 62.0) for t in scores}, {}, {}, "paraphrases")
    header, rows = table([s, other], specs)
    assert header[-5:] == ["#1", "#2", "#3", "#4", "#5"]
    assert rows[0][-4:] == ["none: 60.00", "tag: 61.00", "simple: 63.00", "detailed: 64.00"]
