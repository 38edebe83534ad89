"""At home in the mteb ecosystem (issue #16): mteb's own results API reads a harness run, and mteb.evaluate runs the
harness's mteb model on mteb's mock tasks and on a smoke task.

The bugs each test catches: a layout mteb's cache does not find (a folder too deep, no model_meta.json, the alias
instead of the hub id), run records that mteb takes for task results, a condition lost in mteb's view (two
conditions merged), a model that needs a hand-made task mapping, a score that differs between the two paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness
from harness.core.results import experiment_name, record_path
from tests.tiny_models import tiny_instructor

SMOKE = ["SmokeClassification", "SmokeSTS", "SmokeRetrieval", "SmokePairClassification"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def test_mtebs_results_cache_reads_a_harness_run_from_the_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default output folder (`results/`, no --output-dir) is `mteb.ResultCache(cache_path=".")`, read with the
    README's one argument: each condition an experiment of the model."""
    import mteb

    monkeypatch.chdir(tmp_path)
    runs = {
        protocol: harness.evaluate("minilm", SMOKE, protocol=protocol, cache=False)
        for protocol in ("instructor", "mteb")
    }
    assert (tmp_path / "results" / "sentence-transformers__all-MiniLM-L6-v2").is_dir()
    loaded = mteb.ResultCache(cache_path=".").load_results(load_experiments="match_name")
    seen = {}
    for model in loaded.model_results:
        assert model.model_name == "sentence-transformers/all-MiniLM-L6-v2"  # the hub id, not the alias
        seen[model.experiment_name] = {t.task_name: 100 * t.get_score() for t in model.task_results}
    for protocol, scores in runs.items():
        condition = experiment_name({"instructions": "none", "mode": "none", "protocol": protocol, "suite": "smoke"})
        # mteb keeps six decimals of a 0-1 score
        assert seen[condition] == pytest.approx({s.task: s.score for s in scores}, abs=1e-4)
    assert len(seen) == 2  # the two conditions stay apart (and apart from the real tasks': suite=smoke)


def test_mteb_evaluate_runs_the_harness_model_on_mock_tasks_without_a_mapping(tmp_path: Path) -> None:
    import mteb

    notes: list[str] = []
    model = harness.mteb_model("minilm", cache=False, log=notes.append)
    from mteb.mocks import mock_tasks as mocks

    kinds = ["STS", "Classification", "Retrieval", "PairClassification", "Reranking", "Summarization"]
    tasks = [getattr(mocks, f"Mock{kind}Task")() for kind in kinds]
    result = mteb.evaluate(model, tasks, cache=None, show_progress_bar=False)
    assert sorted(t.task_name for t in result.task_results) == sorted(t.metadata.name for t in tasks)
    assert all(0 <= t.get_score() <= 1 for t in result.task_results)
    assert sorted(n.split()[1] for n in notes) == sorted(t.metadata.name for t in tasks)  # said once each
    assert model.mteb_model_meta.experiment_kwargs == {"instructions": "none", "mode": "none", "protocol": "mteb"}


def test_the_mteb_bridge_names_the_condition_a_run_would() -> None:
    """`mteb_model(max_length=...)` (or a precision) left the setting out of its ModelMeta, so mteb filed its results
    under the default condition's experiment, beside full-length fp32 runs; `harness run` names it."""
    model = harness.mteb_model("minilm", cache=False, max_length=128)
    kwargs = {"instructions": "none", "max_length": "128", "mode": "none", "protocol": "mteb"}
    assert model.mteb_model_meta.experiment_kwargs == kwargs


def test_the_harness_model_under_mteb_gives_harness_runs_numbers(tiny: Path, tmp_path: Path) -> None:
    """A smoke task through mteb.evaluate with the harness model (its registry instruction: SmokeSTS borrows
    STSBenchmark's) = `harness run --protocol mteb` on it, and mteb writes it into the harness unit's folder."""
    import mteb

    from harness.benchmarks.mteb.data import mteb_task
    from harness.benchmarks.mteb.portable import TaskData
    from harness.core.paths import smoke_dir
    from harness.core.spec import Registry

    settings = {"instructions": "instructor-large", "mode": "masked", "cache": False}
    [score] = harness.evaluate(str(tiny), ["SmokeSTS"], protocol="mteb", output_dir=tmp_path / "results", **settings)
    spec = Registry(smoke_dir() / "tasks").get("SmokeSTS")
    task = mteb_task(spec, spec)
    task.dataset, task.data_loaded = TaskData(spec, smoke_dir() / "data").to_mteb(), True
    model = harness.mteb_model(str(tiny), **settings)
    model.instruction_keys["SmokeSTS"] = ("STSBenchmark", None)  # a smoke task is no registry task: map it here
    cache = mteb.ResultCache(cache_path=tmp_path / "mteb-cache")
    result = mteb.evaluate(model, task, cache=cache, show_progress_bar=False)
    assert 100 * result.task_results[0].get_score() == pytest.approx(score.score, abs=1e-4)
    assert model.used["SmokeSTS"]["query"] == "represent the statement: "
    written = list((tmp_path / "mteb-cache" / "results").rglob("SmokeSTS.json"))
    harness_folder = record_path(
        next((tmp_path / "results").rglob("records")).parent, "SmokeSTS"
    ).parent.parent.relative_to(tmp_path / "results")
    # the same condition's folder; the harness keeps its smoke runs apart from real tasks' (suite=smoke), mteb's
    # model is not told that its task is a smoke task
    smoke_apart = harness_folder.with_name(harness_folder.name.removesuffix("__suite_smoke"))
    assert harness_folder.name.endswith("__suite_smoke")
    assert [p.parent.relative_to(tmp_path / "mteb-cache" / "results") for p in written] == [smoke_apart]
    assert json.loads((written[0].parent / "model_meta.json").read_text())["experiment_kwargs"]["mode"] == "masked"


def test_the_event_log_tells_a_run_and_its_resumption(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """events.jsonl beside the results: what each run did, in order; -q keeps only the table on stdout."""
    from harness.cli import main

    args = ["run", "--tasks", "SmokeSTS,SmokeClassification", "--output-dir", str(tmp_path), "--no-cache"]
    assert main(["-q", *args]) == 0
    out = capsys.readouterr().out
    assert "SmokeSTS" in out and "[1/2]" not in out  # the table, without the per-task lines
    assert main(args) == 0
    # the header names the run with the selected benchmarks' own condition (MTEB's protocol), as records do
    assert (
        "run minilm:instructions=none,mode=none,protocol=instructor,suite=smoke: 2 task(s)" in capsys.readouterr().out
    )
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    kinds = [(e["event"], e.get("task")) for e in events]
    assert kinds == [
        ("run", None),
        ("task_start", "SmokeSTS"),
        ("task_done", "SmokeSTS"),
        ("task_start", "SmokeClassification"),
        ("task_done", "SmokeClassification"),
        ("run_end", None),
        ("run", None),
        ("task_resumed", "SmokeSTS"),
        ("task_resumed", "SmokeClassification"),
        ("run_end", None),
    ]
    done = {e["task"]: e for e in events if e["event"] == "task_done"}
    record = json.loads(record_path(next(tmp_path.rglob("records")).parent, "SmokeSTS").read_text())
    assert done["SmokeSTS"]["score"] == record["main_score"] and done["SmokeSTS"]["metric"] == "cosine_spearman"
    # a task's lines are named by its unit, as its record is; the run's own lines by the run's shared parts
    assert {e["run"] for e in events if e.get("task")} == {record["run"]}
    assert record["run"] == "minilm:instructions=none,mode=none,protocol=instructor,suite=smoke"
    assert {e["run"] for e in events if not e.get("task")} == {"minilm:instructions=none,mode=none,suite=smoke"}


def test_limit_is_a_partial_run_named_and_filed_as_one(tmp_path: Path) -> None:
    """--limit 4: four pairs evenly spread through the file (the first four of a file sorted by label would be one
    class), a result of its own (never resumed as, or reported with, the full run), marked partial."""
    import numpy as np
    from scipy.stats import spearmanr

    from harness.core.paths import smoke_dir
    from harness.models.encoder import Encoder

    out = tmp_path / "results"
    [full] = harness.evaluate("minilm", ["SmokeSTS"], output_dir=out, cache=False)
    [part] = harness.evaluate("minilm", ["SmokeSTS"], output_dir=out, cache=False, limit=4)
    assert part.status == "done" and part.record["partial"] == {"limit": 4} and full.record["partial"] is None
    assert part.record["run"].endswith(",limit=4")
    assert len([p for p in out.rglob("SmokeSTS.run.json") if "limit_4" in p.parent.parent.name]) == 1
    rows = [json.loads(line) for line in (smoke_dir() / "data/mteb/SmokeSTS/test.jsonl").open()]
    chosen = [rows[round(i * (len(rows) - 1) / 3)] for i in range(4)]
    enc = Encoder("minilm", mode="none")
    a, b = (enc.encode([r[k] for r in chosen]) for k in ("sentence1", "sentence2"))
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert part.score == pytest.approx(100 * spearmanr([r["score"] for r in chosen], cosine)[0], abs=1e-6)
    frame = harness.load_results(out)
    assert sorted(frame["run"]) == sorted([full.record["run"], part.record["run"]])  # two rows, never merged


def test_the_wheels_readme_stands_on_its_own() -> None:
    """The wheel's long description pointed at files a user of the wheel does not have."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    text = (root / project["readme"]).read_text()
    for checkout_only in ("../shared", "scripts/test.sh", ".ci/", "tests/"):
        assert checkout_only not in text
    assert "pip install" in text and "harness run" in text and project["license-files"] == ["LICENSE"]


def test_mteb_evaluate_runs_offline_on_a_harness_task_from_the_data_dir(tmp_path: Path) -> None:
    """`mteb.evaluate(harness.mteb_model(...), harness.mteb_task(name, data_dir=..., limit=...))`, offline, gives the
    number `harness run --protocol mteb` gives on the same rows."""
    import mteb

    from tests.conftest import DATA, need

    root = need(DATA)
    task = harness.mteb_task("STSBenchmark", data_dir=root, limit=40)
    result = mteb.evaluate(harness.mteb_model("minilm", cache=False), task, cache=None)
    (ours,) = harness.evaluate(
        "minilm", ["STSBenchmark"], protocol="mteb", data_dir=root, limit=40, output_dir=tmp_path, cache=False
    )
    assert 100 * result.task_results[0].get_score() == pytest.approx(ours.score, abs=1e-4)
    with pytest.raises(harness.core.errors.UsageError, match="BillboardMSCOCO is a billboard task"):
        harness.mteb_task("BillboardMSCOCO")


def test_model_meta_names_the_revision_its_folder_is_named_by(tmp_path: Path) -> None:
    """`--revision main` names the unit's folder `main/`; model_meta.json said the resolved commit, so mteb's
    reader saw a folder and a ModelMeta that disagree."""
    from harness.core.interfaces import ModelIdentity
    from harness.core.results import Unit, write_model_meta

    identity = ModelIdentity("org/model", "0123abcd", "none", 128, 384, "fp32", weights="0123abcd")
    unit = Unit("org/model", "main", "none", "none")
    write_model_meta(tmp_path, unit, identity, "cosine")
    assert json.loads((tmp_path / "model_meta.json").read_text())["revision"] == "main"
