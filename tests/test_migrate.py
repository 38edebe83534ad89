"""`harness migrate`: a Billboard result filed, as before December 2026, under MTEB's protocol is moved to where a
run today resumes it, with its record rewritten as today's run writes it; MTEB results stay where they are. The
legacy record is built as the old runner built it: today's fingerprint inputs plus `"protocol"` (the one line
that changed), in a folder named with `__protocol_instructor`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.app.migrate import plan_moves
from harness.app.runner import plan
from harness.benchmarks.mteb.settings import MtebSettings
from harness.cli import main
from harness.core import items as per_item
from harness.core.benchmark import task_folder
from harness.core.context import RunOptions
from harness.core.fingerprint import digest
from harness.core.instructions import library
from harness.core.results import Unit, record_path
from harness.core.spec import registry
from tests.conftest import finished

BASE = Unit("minilm", "r1", "none", "none")
LEGACY = BASE.within({"protocol": "instructor"})  # every unit's condition until December 2026


def _legacy_result(out: Path, name: str, score: float, protocol: str = "instructor") -> Path:
    """A finished task as the old runner filed it: result file, per-item outputs, run record, model_meta."""
    spec, opts = registry().get(name), RunOptions(BASE, out, settings={"mteb": MtebSettings(protocol)})
    [(_, today)] = plan([spec], library(), opts).values()
    inputs = {**today["inputs"], "protocol": protocol}
    legacy = BASE.within({"protocol": protocol})
    folder = legacy.folder(out)
    per_item.save(per_item.single("mean", value=[score]), per_item.items_path(folder, name))
    meta = {"name": "sentence-transformers/all-MiniLM-L6-v2", "experiment_kwargs": legacy.condition}
    (folder / "model_meta.json").write_text(json.dumps(meta))
    record: dict[str, Any] = {
        "run": legacy.name,
        "unit": {**legacy.record(), "task": name, "split": spec.split},
        "uncertainty": {"items": f"items/{name}.json.gz"},
        "fingerprint": {"sha256": digest(inputs), "inputs": inputs},
    }
    return finished(folder, name, score, **record)


def _status(out: Path, name: str) -> str:
    opts = RunOptions(BASE, out, settings={"mteb": MtebSettings()})
    return plan([registry().get(name)], library(), opts)[name][0]


def test_a_legacy_billboard_result_is_moved_where_a_run_resumes_it(tmp_path: Path, capsys: Any) -> None:
    """Fails if the move leaves the fingerprint's protocol (the run sees it as stale), drops the per-item outputs
    or the model_meta, moves an MTEB result, or if reports stop reading the old layout."""
    out = tmp_path / "results"
    old = _legacy_result(out, "BillboardMSCOCO", 0.41)
    _legacy_result(out, "STSBenchmark", 0.82)
    before = harness.load_results(out).set_index("task")["score"]
    assert before.to_dict() == pytest.approx({"BillboardMSCOCO": 41.0, "STSBenchmark": 82.0})  # old layout read
    assert _status(out, "BillboardMSCOCO") == "missing" and _status(out, "STSBenchmark") == "done"

    assert main(["migrate", str(out), "--dry-run"]) == 0
    assert "would move BillboardMSCOCO" in capsys.readouterr().out and (old / "BillboardMSCOCO.json").is_file()
    assert main(["migrate", str(out)]) == 0
    assert "1 task(s) moved" in capsys.readouterr().out

    new = task_folder(registry().get("BillboardMSCOCO"), RunOptions(BASE, out))
    assert new == BASE.folder(out) and new.name == "instructions_none__mode_none"
    assert _status(out, "BillboardMSCOCO") == "done" and _status(out, "STSBenchmark") == "done"
    record = json.loads(record_path(new, "BillboardMSCOCO").read_text())
    assert record["run"] == "minilm:instructions=none,mode=none" and "protocol" not in record["unit"]
    assert "protocol" not in record["fingerprint"]["inputs"] and record["main_score"] == 0.41
    assert per_item.load(new / record["uncertainty"]["items"]).score() == 0.41  # the per-item outputs moved too
    assert json.loads((new / "model_meta.json").read_text())["experiment_kwargs"] == BASE.condition
    assert not (old / "BillboardMSCOCO.json").exists() and record_path(old, "STSBenchmark").is_file()
    after = harness.load_results(out).set_index("task")["score"]
    assert after.to_dict() == before.to_dict()
    assert plan_moves(out) == []  # a second migration has nothing to do
    assert (
        Unit.from_record(record["unit"]) == BASE
        and Unit.from_record(json.loads(record_path(old, "STSBenchmark").read_text())["unit"]) == LEGACY
    )  # a record's unit read back as written


def test_a_folder_left_without_results_is_removed_and_a_conflict_moves_nothing(tmp_path: Path) -> None:
    """Fails if an emptied legacy folder is left for mteb's loaders to find, or if a task with a result in both
    places is overwritten."""
    out = tmp_path / "results"
    old = _legacy_result(out, "BillboardMSCOCO", 0.41)
    assert main(["migrate", str(out)]) == 0
    assert not old.exists()  # its only task moved: the experiment folder is gone with its model_meta.json

    _legacy_result(out, "BillboardMSCOCO", 0.40)
    assert main(["migrate", str(out)]) == 7  # ResultError: a result of it is already there
    assert record_path(old, "BillboardMSCOCO").is_file()
    kept = json.loads(record_path(BASE.folder(out), "BillboardMSCOCO").read_text())
    assert kept["main_score"] == 0.41


def test_a_task_run_under_two_protocols_is_moved_once_and_the_other_left(tmp_path: Path, capsys: Any) -> None:
    """Billboard run under --protocol instructor and --protocol mteb: one result each in the old layout, one place
    in the new. Fails if the second move overwrites the first (its files moved over the first's) or if either
    result is lost."""
    out = tmp_path / "results"
    first = _legacy_result(out, "BillboardMSCOCO", 0.41, "instructor")
    second = _legacy_result(out, "BillboardMSCOCO", 0.41, "mteb")
    assert main(["migrate", str(out)]) == 0
    assert "left BillboardMSCOCO in " + str(second) in capsys.readouterr().out
    moved = json.loads(record_path(BASE.folder(out), "BillboardMSCOCO").read_text())
    split = registry().get("BillboardMSCOCO").split
    assert moved["unit"] == {**BASE.record(), "task": "BillboardMSCOCO", "split": split}  # the first, sorted
    assert not first.exists() and record_path(second, "BillboardMSCOCO").is_file()
    assert _status(out, "BillboardMSCOCO") == "done"
