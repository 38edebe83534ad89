"""Reports: every aggregate checked to the digit on hand-made results, the paper's Table 2 reproduced
from per-task numbers, legacy result formats, partial-average marking and the output formats."""

from __future__ import annotations

import csv
import json
import statistics
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.core.errors import HarnessError
from harness.core.io import write_json
from harness.core.spec import CATEGORIES, MTEB_CATEGORIES, registry
from harness.reports.aggregate import AVG70, MTEB_AVG, Run, aggregate, relative_gain
from harness.reports.load import REFERENCE, load_reference, load_run_dir, load_runs
from harness.reports.render import report
from tests.conftest import finished

REG = registry()
BY_CAT = {c: sorted(s.name for s in REG.tasks.values() if s.category == c) for c in CATEGORIES}


def _records(folder: Path, scores: dict[str, float]) -> Path:
    for task, score in scores.items():
        finished(folder, task, score / 100)
    return folder


def _full(value_of) -> dict[str, float]:  # noqa: ANN001
    return {t: value_of(c, i) for c in CATEGORIES for i, t in enumerate(BY_CAT[c])}


def test_aggregates_to_the_digit(tmp_path: Path) -> None:
    # category c gets scores 10k + i (k = category index): every mean is known in closed form
    scores = _full(lambda c, i: 10 * (CATEGORIES.index(c) + 1) + i)
    run = load_run_dir(_records(tmp_path / "a", scores), REG)[0]
    cells = aggregate(run, REG)
    expected = {c: 10 * (k + 1) + (len(BY_CAT[c]) - 1) / 2 for k, c in enumerate(CATEGORIES)}
    assert expected["Retrieval"] == 17.0 and expected["PromptRetrieval"] == 95.0  # 90 + (0..10)/2
    for c in CATEGORIES:
        assert cells[c].score == pytest.approx(expected[c], abs=1e-9) and cells[c].complete
    mteb = [scores[t] for c in MTEB_CATEGORIES for t in BY_CAT[c]]
    assert len(mteb) == 56
    assert cells[MTEB_AVG].score == pytest.approx(sum(mteb) / 56, abs=1e-9)
    assert cells[AVG70].score == pytest.approx(sum(expected.values()) / 9, abs=1e-9)  # mean of 9 categories
    assert cells[AVG70].score != pytest.approx(sum(scores.values()) / 70)  # ... not of 70 datasets


def test_missing_task_marks_a_partial_average(tmp_path: Path) -> None:
    scores = _full(lambda c, i: 50.0 + i)
    del scores[BY_CAT["STS"][0]]
    cells = aggregate(load_run_dir(_records(tmp_path / "a", scores), REG)[0], REG)
    sts = cells["STS"]
    assert (sts.n_tasks, sts.n_expected, sts.complete) == (9, 10, False)
    assert sts.score == pytest.approx(statistics.mean(50.0 + i for i in range(1, 10)))
    assert sts.text().endswith("(9/10)")
    assert cells[MTEB_AVG].text().endswith("(55/56)")
    assert cells[AVG70].text() == "69/70" and cells[AVG70].score is None  # no average of a partial selection
    assert aggregate(Run("empty", {}), REG)["Billboard"].text() == "—"


def test_relative_gain_by_hand(tmp_path: Path) -> None:
    base = aggregate(load_run_dir(_records(tmp_path / "b", _full(lambda c, i: 40.0)), REG)[0], REG)
    run_scores = _full(lambda c, i: 50.0)
    run = aggregate(load_run_dir(_records(tmp_path / "r", run_scores), REG)[0], REG)
    assert relative_gain(run, base)["STS"] == pytest.approx(25.0)  # (50 - 40) / 40
    del run_scores[BY_CAT["Clustering"][0]]
    partial = aggregate(load_run_dir(_records(tmp_path / "p", run_scores), REG)[0], REG)
    assert relative_gain(partial, base)["Clustering"] is None  # never against a partial mean


def paper_round(x: float) -> float:
    """Table 2 rounds the 2-decimal mean half-up to 1 decimal (INSTRUCTOR-large STS: 83.146 -> 83.15 -> 83.2)."""
    two = Decimal(str(x)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return float(two.quantize(Decimal("0.1"), ROUND_HALF_UP))


def test_table2_reproduced_from_per_task_numbers() -> None:
    published = {}
    with (REFERENCE / "table2.csv").open() as fh:
        for row in csv.DictReader(fh):
            published[(row["model"], row["category"])] = float(row["score"])
    for model in ("gtr-t5-large", "instructor-large"):
        cells = aggregate(load_reference(model), REG)
        for column in [*MTEB_CATEGORIES, MTEB_AVG]:
            assert cells[column].n_tasks == cells[column].n_expected, (model, column)
            assert paper_round(cells[column].score) == published[(model, column)], column
        assert paper_round(cells[AVG70].score) == published[(model, AVG70)]  # 55.1 and 58.4
    gtr, ins = aggregate(load_reference("gtr-t5-large"), REG), aggregate(load_reference("instructor-large"), REG)
    assert round(relative_gain(ins, gtr)["Billboard"], 1) == 18.3  # the paper's "+18.3%"
    assert round(relative_gain(ins, gtr)[MTEB_AVG], 1) == 5.7


def test_legacy_and_current_mteb_result_files(tmp_path: Path) -> None:
    folder = tmp_path / "legacy"
    write_json(folder / "STS12.json", {"mteb_dataset_name": "STS12", "test": {"cos_sim": {"spearman": 0.7237}}})
    write_json(
        folder / "AmazonCounterfactualClassification.json",
        {
            "mteb_dataset_name": "AmazonCounterfactualClassification",
            "test": {"en": {"accuracy": 0.64}, "de": {"accuracy": 0.1}},
        },
    )
    write_json(
        folder / "SprintDuplicateQuestions.json",
        {
            "task_name": "SprintDuplicateQuestions",
            "scores": {"test": [{"hf_subset": "default", "cosine_ap": 0.9, "max_ap": 0.95, "main_score": 0.95}]},
        },
    )
    write_json(folder / "MSMARCO.json", {"test": {"ndcg_at_10": 0.1}, "dev": {"ndcg_at_10": 0.3776}})
    for i, forum in enumerate(REG.get("CQADupstackRetrieval").subtasks or []):
        write_json(folder / f"{forum}.json", {"mteb_dataset_name": forum, "test": {"ndcg_at_10": 0.3 + 0.01 * i}})
    [run] = load_run_dir(folder, REG)
    assert run.tasks["STS12"] == pytest.approx(72.37)
    assert run.tasks["AmazonCounterfactualClassification"] == pytest.approx(64.0)  # the en subset only
    assert run.tasks["SprintDuplicateQuestions"] == pytest.approx(90.0)  # cosine AP, not mteb's max_ap
    assert run.tasks["MSMARCO"] == pytest.approx(37.76)  # dev split
    assert run.tasks["CQADupstackRetrieval"] == pytest.approx(100 * (0.3 + 0.01 * 5.5))  # mean of 12 forums


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _records(tmp_path / "r", {"STS12": 72.37, "SciFact": 64.51})
    assert main(["report", str(folder), "--baseline", "gtr-t5-large", "--format", "json"]) == 0
    base, run = json.loads(capsys.readouterr().out)
    assert run["categories"]["STS"] == {"score": 72.37, "n_tasks": 1, "n_expected": 10, "ci95": None}
    assert run["avg70"]["n_expected"] == 70 and run["avg70"]["n_tasks"] == 2
    assert run["mteb_avg"]["score"] == pytest.approx((72.37 + 64.51) / 2)
    billboard = {"score": 31.2, "n_tasks": 0, "n_expected": 3, "ci95": None, "published": True}
    assert base["categories"]["Billboard"] == billboard and base["run"] == "gtr-t5-large (published 2022)"
    assert run["relative_gain"]["STS"] is None  # partial
    gtr_sts12 = load_reference("gtr-t5-large").tasks["STS12"]
    assert run["versus_baseline"]["STS12"] == {"difference": pytest.approx(72.37 - gtr_sts12), "baseline_in_ci95": None}
    assert run["paired"] == {}  # neither side has per-item outputs
    for fmt, needle in (
        ("md", "| STS12 | STS |"),
        ("csv", "STS12,STS"),
        ("latex", r"\begin{tabular}"),
        ("html", "data:image/png;base64,"),
    ):
        out = tmp_path / f"report.{fmt}"
        assert main(["report", str(folder), "instructor-large", "--format", fmt, "--output", str(out)]) == 0
        assert needle in out.read_text()
    with pytest.raises(HarnessError, match="Did you mean: instructor-large"):
        load_reference("instructor-largee")


def _unit_records(folder: Path, run: str, scores: dict[str, float]) -> Path:
    for task, score in scores.items():
        finished(folder, task, score / 100, run=run)
    return folder


def test_a_folder_of_several_conditions_gives_one_row_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`harness report FOLDER` used to merge every run below FOLDER into one row: a variant's 50.00 replaced 82.03,
    and of several prompt-retrieval conditions the alphabetically last won (zero-shot 40.0 for similar's 61.0)."""
    root = tmp_path / "out" / "minilm" / "rev"
    _unit_records(
        root / "instructions=none,mode=none,protocol=paper", "minilm:instructions=none", {"STSBenchmark": 82.03}
    )
    _unit_records(
        root / "instructions=paraphrase-1,mode=prefix,protocol=paper",
        "minilm:instructions=paraphrase:1",
        {"STSBenchmark": 50.0},
    )
    pr = root / "instructions=none,mode=none,protocol=paper"
    _unit_records(pr / "lm=tiny,demos=similar,test=256", "minilm:instructions=none", {"PromptRetrievalRTE": 61.0})
    _unit_records(pr / "lm=tiny,demos=zero-shot,test=256", "minilm:instructions=none", {"PromptRetrievalRTE": 40.0})
    runs = {r.label: r.tasks for r in load_runs([str(tmp_path / "out")], REG)}
    assert runs == {
        "minilm:instructions=none": {"STSBenchmark": 82.03},
        "minilm:instructions=paraphrase:1": {"STSBenchmark": 50.0},
        "minilm:instructions=none,lm=tiny,demos=similar,test=256": {"PromptRetrievalRTE": 61.0},
        "minilm:instructions=none,lm=tiny,demos=zero-shot,test=256": {"PromptRetrievalRTE": 40.0},
    }
    # one unit's MTEB tasks and its single LM setting do not overlap: one row, named by both
    [row] = load_runs(
        [str(tmp_path / "out/minilm/rev/instructions=none,mode=none,protocol=paper/lm=tiny,demos=similar,test=256")],
        REG,
    )
    assert row.tasks == {"PromptRetrievalRTE": 61.0}
    labels = ["a", "b", "c", "d"]
    assert [r.label for r in load_runs([str(tmp_path / "out")], REG, labels)] == labels
    with pytest.raises(HarnessError, match=r"--label given 1 time\(s\) for 4 run\(s\)"):
        load_runs([str(tmp_path / "out")], REG, ["a"])
    assert main(["report", str(tmp_path / "out"), "--baseline", str(tmp_path / "out"), "--format", "json"]) == 2
    assert "holds 4 conditions" in capsys.readouterr().err


def test_legacy_files_keep_msmarco_validation_and_mindsmall_map(tmp_path: Path) -> None:
    """Published mteb 0.0.x files call MSMARCO's dev split `validation` and MindSmall's main metric `map`: both were
    dropped from reports."""
    folder = tmp_path / "legacy"
    write_json(folder / "MSMARCO.json", {"mteb_dataset_name": "MSMARCO", "validation": {"ndcg_at_10": 0.4}})
    write_json(folder / "MindSmallReranking.json", {"mteb_dataset_name": "MindSmallReranking", "test": {"map": 0.3168}})
    [run] = load_run_dir(folder, REG)
    assert run.tasks == pytest.approx({"MSMARCO": 40.0, "MindSmallReranking": 31.68})


def test_latex_has_page_wide_summary_and_per_task_tables(tmp_path: Path) -> None:
    """The LaTeX used to be one tabular about three times a page wide, with no per-task table, and labels with _ or
    % broke it: now two booktabs tables scaled to the text width, every label escaped once."""
    folder = _unit_records(tmp_path / "r", "minilm:instructions=none,mode=none", {"STS12": 72.37, "SciFact": 64.51})
    out = tmp_path / "report.tex"
    assert main(["report", str(folder), "--label", "MiniLM_L6 (50%)", "--format", "latex", "--output", str(out)]) == 0
    tex = out.read_text()
    assert tex.count(r"\resizebox{\textwidth}{!}{%") == 2 and tex.count(r"\toprule") == 2
    assert r"STS12 & STS & 72.37 \\" in tex and r"SciFact & Retrieval & 64.51 \\" in tex
    assert r"MiniLM\_L6 (50\%)" in tex and "MiniLM_L6" not in tex.replace(r"MiniLM\_L6", "")
    assert r"\caption{Per-task scores. Category = mean" in tex and "'(k/n)': a partial average" in tex


def test_the_quick_start_is_reportable_outside_the_papers_averages(tmp_path: Path) -> None:
    """The smoke suite's results were dropped by every format without a word; they show per task now, never as a
    category score (a one-task smoke 'Summarization' is not SummEval), and the HTML says how each run was made."""
    import harness
    from harness.cli import main

    scores = harness.evaluate("minilm", ["SmokeSTS", "SmokeSummarization"], output_dir=tmp_path / "out", cache=False)
    md = tmp_path / "r.md"
    assert main(["report", str(tmp_path / "out"), "--output", str(md)]) == 0
    text = md.read_text()
    assert f"| SmokeSTS | STS | {scores[0].score:.2f} [" in text  # with its interval
    assert "Retri." not in text  # no category row of dashes: none of its tasks is in the paper's averages
    assert "listed per task, never inside the paper's averages" in text and "first-shuffle" not in text
    page = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "out"), "--format", "html", "--output", str(page)]) == 0
    html = page.read_text()
    fingerprint = scores[0].record["fingerprint"]["sha256"][:16]
    assert "<h2>Runs</h2>" in html and fingerprint in html and "sentence-transformers" in html


def _run_with_items(tmp_path: Path, label: str, noise: float, seed: int) -> Run:
    """A run of STS12, STS13 and SummEval whose per-item outputs are written by hand."""
    from harness.core import items as per_item
    from harness.core.items import single

    rng = np.random.default_rng(seed)
    gold = np.linspace(0, 5, 150)
    run = Run(label=label)
    for task in ("STS12", "STS13", "SummEval"):
        items = single("spearman", x=gold + rng.normal(0, noise, 150), y=gold)
        path = tmp_path / label / f"{task}.json.gz"
        per_item.save(items, path)
        run.tasks[task] = 100 * items.score()
        run.records[task] = {"items": str(path)}
    return run


def test_report_intervals_and_paired_tests_by_hand(tmp_path: Path) -> None:
    """Each shown mean's interval is the percentile interval of its tasks' replicates averaged, Avg (70) over the
    categories present; the paired test of a run against itself is p = 1. Fails if a category's interval were
    computed from pooled items or Avg (70) averaged tasks instead of categories."""
    from harness.core import bootstrap
    from harness.core import items as per_item
    from harness.reports.significance import intervals, paired

    run = _run_with_items(tmp_path, "a", 1.0, 0)
    reps = {
        t: 100 * bootstrap.replicates(per_item.load(Path(run.records[t]["items"])), bootstrap.task_seed(t))
        for t in run.tasks
    }
    bands = intervals(run, registry())
    sts = (reps["STS12"] + reps["STS13"]) / 2
    avg = (sts + reps["SummEval"]) / 2
    for name, r in (
        ("STS12", reps["STS12"]),
        ("STS", sts),
        ("Avg (70)", avg),
        ("MTEB Avg", (2 * sts + reps["SummEval"]) / 3),
    ):
        assert (bands[name].low, bands[name].high) == pytest.approx(tuple(np.quantile(r, [0.025, 0.975]))), name
    same = paired(run, run, registry())
    assert {t.p_value for t in same.values()} == {1.0}
    better = paired(_run_with_items(tmp_path, "b", 0.3, 0), run, registry())
    assert better["STS12"].difference > 0 and better["STS12"].p_value < 0.05
    # no mean over a partial set: 2 of 10 STS tasks, 3 of 70 in all (a 3-of-70 run printed one under Avg (70))
    assert better.keys() == {"STS12", "STS13", "SummEval", "Summarization"}  # the one complete category
    text = report([_run_with_items(tmp_path, "b", 0.3, 0)], registry(), run, "md")
    assert "|   95% CI |" in text and "difference, paired p" in text
    assert "| STS12 | STS |" in text and "p=" in text  # the per-task paired test


def test_csv_is_one_tidy_table_that_pandas_reads_as_numbers(tmp_path: Path) -> None:
    """A real run (with per-item outputs): one row per task, score and interval as floats; the summary is its own
    format, where a one-task run's Avg (70) is no number."""
    import pandas as pd

    import harness
    from harness.reports.export import PAIRED, SUMMARY, TIDY, VERSUS

    scores = harness.evaluate("minilm", ["SmokeSTS", "SmokeClassification"], output_dir=tmp_path / "out", cache=False)
    tidy, summary = tmp_path / "r.csv", tmp_path / "s.csv"
    assert main(["report", str(tmp_path / "out"), "--format", "csv", "--output", str(tidy)]) == 0
    assert main(["report", str(tmp_path / "out"), "--format", "summary-csv", "--output", str(summary)]) == 0
    table = pd.read_csv(tidy)
    assert list(table.columns) == TIDY + VERSUS and len(table) == 2
    for column in ("score", "ci_low", "ci_high"):
        assert table[column].dtype == np.float64
    by_task = table.set_index("task")
    for s in scores:
        row = by_task.loc[s.task]
        assert row["score"] == pytest.approx(s.score) and row["ci_low"] <= row["score"] <= row["ci_high"]
    assert by_task.loc["SmokeSTS", "n_items"] == 12  # the smoke STS task's pairs (harness/smoke/data)
    assert table["partial"].isna().all()
    cells = pd.read_csv(summary)
    assert list(cells.columns) == SUMMARY + PAIRED and cells["score"].dtype == np.float64
    avg70 = cells.set_index("column").loc["Avg (70)"]
    assert pd.isna(avg70["score"]) and avg70["n_tasks"] == 0  # smoke tasks are never inside a paper average


def _drawn(folder: Path, model: str = "minilm", limit: int | None = None) -> Path:
    """mteb-2022 classification results of `model` with their first-shuffle draws, Emotion with a data note."""
    draws = {
        "Banking77Classification": {"accuracy": [0.7970, 0.7975, 0.7980, 0.7965, 0.7985], "sd": 0.0008},
        "EmotionClassification": {"accuracy": [0.4500, 0.4520, 0.4510], "sd": 0.0028},
    }
    note = {"file": "train.jsonl", "line": 4, "what": "empty 'text'", "count": 1}
    for task, d in draws.items():
        spec = REG.tasks[task]
        unit = {"model": model, "protocol": "mteb-2022", "task": task, "split": spec.split, "limit": limit}
        finished(
            folder,
            task,
            float(np.mean(d["accuracy"])),
            unit=unit,
            first_shuffle_draws=d,
            data_notes=[note] if task.startswith("Emotion") else [],
            partial={"limit": limit} if limit else None,
        )
    return folder


def test_a_published_2022_figure_is_set_against_the_same_models_first_shuffle_draws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """all-MiniLM-L6-v2's published 2022 Banking77 (79.75) lies at the draws' mean: within noise; its Emotion
    (38.43) lies 23.8 sd from these draws. The column names whose figure it is. A data note shows beside the row."""
    folder = _drawn(tmp_path / "r")
    assert main(["report", str(folder), "--baseline", "all-MiniLM-L6-v2"]) == 0
    text = capsys.readouterr().out
    assert "all-MiniLM-L6-v2 (published 2022) vs " in text and "'s first-shuffle draws" in text
    assert "| 79.75 vs 79.75 ± 0.08 (5 draws): within noise |" in text
    assert "| 38.43 vs 45.10 ± 0.28 (3 draws): 23.8 sd off | empty 'text' x1 (first train.jsonl:4) |" in text


def test_the_noise_check_stays_when_the_baseline_is_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a result folder as `--baseline`, the published row among the runs lost its first-shuffle column."""
    folder, other = _drawn(tmp_path / "r"), _drawn(tmp_path / "b")
    assert main(["report", str(folder), "all-MiniLM-L6-v2", "--baseline", str(other), "--baseline-label", "b"]) == 0
    assert "| 79.75 vs 79.75 ± 0.08 (5 draws): within noise |" in capsys.readouterr().out


@pytest.mark.parametrize(("baseline", "limit"), [("gtr-t5-large", None), ("all-MiniLM-L6-v2", 50)])
def test_the_noise_check_says_nothing_of_another_model_or_a_partial_run(
    baseline: str, limit: int | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MiniLM's Emotion draws were set against GTR's figure ("46.32 vs 39.80 +- 0.77: 8.4 sd off"), and a --limit
    run's draws against a full-data figure: neither says anything of the model."""
    folder = _drawn(tmp_path / "r", limit=limit)
    assert main(["report", str(folder), "--baseline", baseline]) == 0
    text = capsys.readouterr().out
    assert "first-shuffle draws" not in text.split("### Per task")[1] and " sd off" not in text


def test_a_rows_conditions_are_named_once_by_the_union_of_their_parts() -> None:
    """A full run files MTEB tasks under its protocol and Billboard / prompt-retrieval tasks without it: one row,
    named by the union of the parts (it used to be the names joined, the shared ones twice). Two values of one key,
    or two models, keep the names apart."""
    from harness.reports.load import merged_label

    mteb, billboard = "minilm:instructions=none,mode=none,protocol=instructor", "minilm:instructions=none,mode=none"
    pr = "minilm:instructions=none,mode=none,lm=tiny,demos=similar,test=256"
    assert merged_label([mteb, billboard, pr]) == f"{mteb},lm=tiny,demos=similar,test=256"
    assert merged_label([billboard, mteb]) == "minilm:instructions=none,mode=none,protocol=instructor"
    other = "minilm:instructions=none,mode=none,protocol=mteb"
    assert merged_label([mteb, other]) == f"{mteb} + {other}"
    assert merged_label([mteb, "gtr:instructions=none,mode=none"]) == f"{mteb} + gtr:instructions=none,mode=none"
    assert merged_label(["old-folder", mteb]) == f"old-folder + {mteb}"


def test_settings_off_their_default_name_the_run_and_its_folder(tmp_path: Path) -> None:
    """Precision and max length entered the fingerprint but not the run's name or folder: two runs of
    one model under different max lengths collided in one --output-dir (exit 7) and showed as identical columns.
    Each setting off its default is now a key of the condition: a folder and a row of its own."""
    import dataclasses

    from harness.app.api import RunRequest, prepare
    from harness.core.benchmark import task_folder

    request = RunRequest(tasks=["SmokeSTS"], output_dir=tmp_path, dry_run=True)
    plain, short = (prepare(dataclasses.replace(request, max_length=m)) for m in (None, 16))
    spec = plain.specs[0]
    assert task_folder(spec, plain.options) != task_folder(spec, short.options)
    assert "max_length_16" in task_folder(spec, short.options).name and "max_length" not in plain.options.unit.name
    assert short.options.unit.name == "minilm:instructions=none,mode=none,max_length=16,suite=smoke"
    half = prepare(dataclasses.replace(request, precision="bf16", device="cuda"))
    assert half.options.unit.condition == {
        "instructions": "none",
        "mode": "none",
        "precision": "bf16",
        "suite": "smoke",
    }


def test_the_smoke_suite_is_filed_and_reported_apart_from_real_runs(tmp_path: Path) -> None:
    """The quick start's smoke results were filed under the same condition as a later real run, so its 7
    meaningless rows showed in every report of that folder. They are a condition of their own (suite=smoke),
    never merged into a real run's row."""
    import harness

    real = tmp_path / "data" / "mteb" / "STS12"
    real.mkdir(parents=True)
    rows = [{"sentence1": f"a cat {i}", "sentence2": f"the cat {i % 3}", "score": i % 5} for i in range(12)]
    (real / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    harness.evaluate("minilm", ["SmokeSTS"], output_dir=out, cache=False)
    harness.evaluate("minilm", ["STS12"], data_dir=tmp_path / "data", output_dir=out, cache=False)
    runs = {r.label: set(r.tasks) for r in load_run_dir(out, REG)}
    assert runs == {
        "minilm:instructions=none,mode=none,protocol=instructor,suite=smoke": {"SmokeSTS"},
        "minilm:instructions=none,mode=none,protocol=instructor": {"STS12"},
    }
