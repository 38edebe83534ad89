"""`harness launch`: a local Ray cluster and submitit's local executor run a multi-task plan to the very results of a
sequential run, and a worker killed mid-unit is retried with nothing lost (issue #14).

The bugs each test catches: workers writing other numbers or other files than a local run (another code path),
a dead worker's unit never finishing (no retry, or its lease never taken over), a unit computed twice."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.app.api import RunRequest, TaskScore, evaluate
from harness.app.launch import launch_ray, launch_slurm, run_shard, run_unit
from tests.tiny_models import tiny_instructor

ROOT = Path(__file__).resolve().parents[1]
TASKS = ["SmokeClassification", "SmokeClustering", "SmokeRetrieval", "SmokeSTS", "SmokeSummarization"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def _request(tiny: Path, out: Path) -> RunRequest:
    return RunRequest(model=str(tiny), tasks=TASKS, instructions="instructor-large", mode="masked", output_dir=out)


def _results(out: Path) -> dict[str, Any]:
    """Every task's numbers and fingerprint (not its timing or host)."""
    found = {}
    for path in out.rglob("*.run.json"):
        record = json.loads(path.read_text())
        scores = json.loads((path.parent.parent / path.name.replace(".run.json", ".json")).read_text())["scores"]
        found[path.name] = (record["main_score"], record["fingerprint"]["sha256"], scores)
    return found


@pytest.fixture(scope="module")
def sequential(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("sequential")
    req = _request(tiny, out)
    evaluate(req.model, req.tasks, instructions=req.instructions, mode=req.mode, output_dir=out, log=lambda *_: None)
    return _results(out)


def _die_in_the_first_encoding(marker: Path) -> None:
    """This process exits (as kill -9 would leave it) in its first encode call, once per marker."""
    if marker.exists():
        return
    marker.touch()
    from harness.models.encoder import Encoder

    def die(*_: Any, **__: Any) -> Any:
        os._exit(9)

    Encoder.encode_batches = die  # type: ignore[method-assign]


def crashing_unit(request: RunRequest, task: str) -> list[TaskScore]:
    if task == "SmokeClustering":
        _die_in_the_first_encoding(Path(os.environ["HARNESS_TEST_MARKERS"]) / task)
    return run_unit(request, task)


def crashing_shard(request: RunRequest, index: int, count: int) -> list[TaskScore]:
    if index == 1:
        _die_in_the_first_encoding(Path(os.environ["HARNESS_TEST_MARKERS"]) / f"shard-{index}")
    return run_shard(request, index, count)


@pytest.mark.slow
def test_ray_runs_each_unit_as_a_task_to_the_sequential_results(
    tiny: Path, tmp_path: Path, sequential: dict[str, Any]
) -> None:
    out = tmp_path / "ray"
    env = {"PYTHONPATH": str(ROOT), "HARNESS_TEST_MARKERS": str(tmp_path), "HARNESS_CACHE": str(tmp_path / "c")}
    scores = launch_ray(_request(tiny, out), workers=2, unit=crashing_unit, runtime_env={"env_vars": env})
    assert (tmp_path / "SmokeClustering").exists()  # the first attempt died in its encoding, and was retried
    assert sorted(s.task for s in scores) == sorted(TASKS) and {s.status for s in scores} == {"done"}
    assert _results(out) == sequential


@pytest.mark.slow
def test_submitit_runs_an_array_of_shards_to_the_sequential_results(
    tiny: Path, tmp_path: Path, sequential: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the local executor's job processes import this module
    monkeypatch.setenv("HARNESS_TEST_MARKERS", str(tmp_path))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "c"))
    out = tmp_path / "slurm"
    scores = launch_slurm(
        _request(tiny, out), jobs=2, folder=tmp_path / "jobs", cluster="local", shard=crashing_shard, timeout_min=10
    )
    assert (tmp_path / "shard-1").exists()  # shard 1's first job died; it was resubmitted
    assert sorted(s.task for s in scores) == sorted(TASKS)  # each unit in exactly one shard
    assert _results(out) == sequential


def test_a_shard_that_keeps_failing_is_one_line_naming_its_log(tmp_path: Path) -> None:
    from harness.cli import main

    def always(*_: Any) -> Any:  # pragma: no cover - runs in the job process
        raise RuntimeError("node lost")

    with pytest.raises(Exception, match=r"shard 1/1 failed 2 time\(s\) \(RuntimeError: node lost\); its log is under"):
        launch_slurm(RunRequest(), jobs=1, folder=tmp_path / "jobs", cluster="local", shard=always, max_retries=1)
    assert main(["launch", "slurm", "--shard", "1/2"]) == 2  # launch makes the shards itself


@pytest.mark.slow
def test_an_encoding_stage_of_shares_then_the_units_score_from_the_store(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--encode-shares 2`: two array jobs encode their shares of every call's batches into a shard store, then the
    shard job scores. Fails if the encoding stage did not run as jobs of its own, if the store then lacks a vector
    the units need (a later run would encode), or if the results differ from one process's with the same settings."""
    import dataclasses

    from harness.models.cache import CachedEncoder

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("HARNESS_CACHE_STORE", "shards")
    req = dataclasses.replace(_request(tiny, tmp_path / "slurm"), batch_size=2, tasks=["SmokeRetrieval", "SmokeSTS"])
    launch_slurm(req, jobs=1, folder=tmp_path / "jobs", cluster="local", encode_shares=2, timeout_min=10)
    assert len(list((tmp_path / "jobs").rglob("*_result.pkl"))) == 3  # two encoding shares, then one shard
    encoded = []
    monkeypatch.setattr(CachedEncoder, "encode", _counting(CachedEncoder.encode, encoded))
    again = tmp_path / "again"
    evaluate(req.model, req.tasks, instructions=req.instructions, mode=req.mode, batch_size=2, output_dir=again)
    assert encoded == [0] * len(encoded) and encoded  # the store held every vector the units needed
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "fresh"))
    single = tmp_path / "single"
    evaluate(req.model, req.tasks, instructions=req.instructions, mode=req.mode, batch_size=2, output_dir=single)
    assert _results(tmp_path / "slurm") == _results(single) == _results(again)


def _counting(encode: Any, counts: list[int]) -> Any:
    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.telemetry.texts_encoded
        out = encode(self, *args, **kwargs)
        counts.append(self.telemetry.texts_encoded - before)
        return out

    return counted
