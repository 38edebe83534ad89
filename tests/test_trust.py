"""Trust: a finished result is reused only when nothing that determines it changed; bad data is refused with the
file, the line and the fix before any model loads; examples files heal; settings that would drop an instruction
are refused. Each test names the bug it catches."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.app.runner import run_tasks
from harness.benchmarks.mteb.settings import MtebSettings
from harness.benchmarks.prompt_retrieval.evaluate import read_done
from harness.cli import main
from harness.core import results
from harness.core.context import RunOptions
from harness.core.errors import HarnessError
from harness.core.instructions import Library
from harness.core.paths import data_dir, smoke_dir
from harness.core.results import Unit
from harness.core.spec import Registry, registry
from harness.models.encoder import Encoder
from harness.models.resolve import default_mode
from tests.tiny_models import tiny_instructor

SMOKE = Registry(smoke_dir() / "tasks")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def _data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    if not root.exists():
        shutil.copytree(smoke_dir() / "data", root)
    return root


def _opts(tmp_path: Path, **change: Any) -> RunOptions:
    unit = Unit(
        change.pop("model", "tiny"),
        change.pop("revision", "r1"),
        change.pop("variant", "instructor-large"),
        change.pop("mode", "masked"),
    )
    settings = {"mteb": MtebSettings(change.pop("protocol", "instructor")), **change.pop("settings", {})}
    return RunOptions(unit, tmp_path / "out", _data(tmp_path), log=lambda *_: None, settings=settings, **change)


def _run(tmp_path: Path, tiny: Path, reg: Registry = SMOKE, lib: Library | None = None, **change: Any) -> Any:
    lib = lib or Library(data_dir("instructions"), reg)
    mode = change.get("mode", "masked")
    [outcome] = run_tasks([reg.get("SmokeSTS")], lambda: Encoder(str(tiny), mode=mode), lib, _opts(tmp_path, **change))  # type: ignore[arg-type]
    return outcome


def _edit_instructions(tmp_path: Path) -> Library:
    root = tmp_path / "instructions"
    shutil.copytree(data_dir("instructions"), root)
    path = root / "instructor-large.yaml"
    path.write_text(
        path.read_text().replace(
            "STSBenchmark: 'represent the statement: '", "STSBenchmark: 'represent the sentence: '", 1
        )
    )
    return Library(root, SMOKE)


def _edit_task(tmp_path: Path) -> Registry:
    root = tmp_path / "tasks"
    shutil.copytree(smoke_dir() / "tasks", root)
    path = root / "SmokeSTS.yaml"
    path.write_text(path.read_text() + "notes: edited\n")
    return Registry(root)


def _edit_data(tmp_path: Path) -> None:
    path = _data(tmp_path) / "mteb/SmokeSTS/test.jsonl"
    path.write_text(path.read_text().replace('"score": 4.8', '"score": 4.7', 1))


# Each input of the fingerprint, changed alone (the bug each catches: that input left out of the fingerprint, so
# a result computed without it is "resumed").
CHANGES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "task": lambda t: {"reg": _edit_task(t)},
    "data": lambda t: (_edit_data(t), {})[1],
    "instructions": lambda t: {"lib": _edit_instructions(t)},
    "model.max_length": lambda t: {"model_settings": {"max_length": 8}},
    "model.precision": lambda t: {"model_settings": {"precision": "bf16"}},
    "settings": lambda t: {"settings": {"prompt-retrieval": "unused by MTEB tasks"}},
    "versions": lambda t: {},
}


@pytest.mark.parametrize("what", list(CHANGES))
def test_changing_any_fingerprint_input_refuses_reuse_then_recomputes(
    what: str, tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _run(tmp_path, tiny)
    assert _run(tmp_path, tiny).status == "resumed"  # nothing changed: reused
    change = CHANGES[what](tmp_path)
    if what == "versions":
        real = results.package_versions
        monkeypatch.setattr("harness.app.runner.package_versions", lambda: {**real(), "torch": "9.9"})
    if what == "settings":
        monkeypatch.setattr(
            "harness.benchmarks.mteb.MtebBenchmark.settings_identity", lambda self, spec, opts: {"x": 1}
        )
    with pytest.raises(HarnessError, match=r"computed from other inputs: SmokeSTS \(.*\)\. Pass --overwrite"):
        _run(tmp_path, tiny, **change)
    again = _run(tmp_path, tiny, overwrite=True, **change)
    assert again.status == "done" and again.record["fingerprint"]["sha256"] != first.record["fingerprint"]["sha256"]


def test_an_edit_of_the_document_side_alone_refuses_reuse(tiny: Path, tmp_path: Path) -> None:
    """27 of the 81 instruction keys have a document side of their own (SciFact's, which the smoke retrieval task
    uses): a fingerprint that kept the query side alone would resume a result embedded with the old document
    instruction. The query side is left as it is."""
    root = tmp_path / "instructions"
    shutil.copytree(data_dir("instructions"), root)
    path = root / "instructor-large.yaml"
    old = "document: 'represent the Scientific passage for retrieval; '"
    assert path.read_text().count(old) == 1
    path.write_text(path.read_text().replace(old, "document: 'represent the Scientific passage for retrieval: '"))
    specs = [SMOKE.get("SmokeRetrieval")]

    def run(lib: Library, **change: Any) -> Any:
        return run_tasks(specs, lambda: Encoder(str(tiny), mode="masked"), lib, _opts(tmp_path, **change))  # type: ignore[arg-type]

    [first] = run(Library(data_dir("instructions"), SMOKE))
    edited = Library(root, SMOKE)
    assert edited.get("SmokeRetrieval", "instructor-large").query.startswith("Represent a Scientific query")
    with pytest.raises(HarnessError, match=r"computed from other inputs: SmokeRetrieval \(instructions"):
        run(edited)
    [again] = run(edited, overwrite=True)
    assert again.record["fingerprint"]["sha256"] != first.record["fingerprint"]["sha256"]


@pytest.mark.parametrize("change", [{"revision": "r2"}, {"mode": "prefix"}, {"variant": "none"}, {"protocol": "mteb"}])
def test_inputs_in_the_result_path_recompute_into_a_folder_of_their_own(
    change: dict[str, str], tiny: Path, tmp_path: Path
) -> None:
    """Model revision (weights digest), mode, instructions and protocol name the unit's folder: a change is a new
    unit, computed fresh beside the old one, never "resumed" from it."""
    first = _run(tmp_path, tiny)
    again = _run(tmp_path, tiny, **change)
    assert again.status == "done" and again.record["fingerprint"]["sha256"] != first.record["fingerprint"]["sha256"]
    assert _run(tmp_path, tiny).status == "resumed"  # the first unit is still there, untouched


def test_the_refusal_names_what_differs(tiny: Path, tmp_path: Path) -> None:
    """The case of the report: a run with --max-length 8, then the default, used to show the old scores."""
    _run(tmp_path, tiny, model_settings={"max_length": 8})
    with pytest.raises(HarnessError, match=r"SmokeSTS \(model.max_length\)"):
        _run(tmp_path, tiny, model_settings={"max_length": None})


# Bad data: the table-driven CLI suite in test_reliability.py (exit 4, before any model loads, nothing written).


# ------------------------------------------------------------------ examples files, splits, modes
def test_a_torn_last_line_is_cut_off_before_appending(tmp_path: Path) -> None:
    """A run killed mid-write left a fragment that every resume appended after (and redid forever)."""
    path = tmp_path / "T.examples.jsonl"
    path.write_text('{"id": "0", "prediction": "a"}\n{"id": "1", "predic')
    said: list[str] = []
    assert list(read_done(path, said.append)) == ["0"]
    assert path.read_text() == '{"id": "0", "prediction": "a"}\n' and "torn last line" in said[0]
    path.write_text('{"id": "0"}\nnot json\n{"id": "2"}\n')
    with pytest.raises(HarnessError, match=r"T.examples.jsonl:2: not valid JSON; run with --overwrite"):
        read_done(path)


def test_classification_tasks_are_scored_on_test() -> None:
    """Five were set to validation; the paper and every published result use test."""
    for name in (
        "AmazonReviewsClassification",
        "MTOPDomainClassification",
        "MTOPIntentClassification",
        "MassiveIntentClassification",
        "MassiveScenarioClassification",
    ):
        assert registry().get(name).split == "test", name
    assert {s.split for s in registry().tasks.values() if s.category == "Classification"} == {"test"}


def test_an_instruction_with_mode_none_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`embed --instruction` on a model folder without 'instructor' in its name used to drop the instruction."""
    texts = tmp_path / "t.jsonl"
    texts.write_text('{"text": "a"}\n')
    args = [
        "embed",
        "--model",
        "minilm",
        "--instruction",
        "Represent: ",
        "--input",
        str(texts),
        "--output",
        str(tmp_path / "o.npy"),
    ]
    assert main(args) == 2
    assert "pass --mode masked (INSTRUCTOR) or --mode prefix" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()
    assert main(["run", "--tasks", "STS12", "--instructions", "instructor-large", "--dry-run"]) == 2


def test_instructor_checkpoints_are_recognised_by_their_files(tmp_path: Path) -> None:
    """A local INSTRUCTOR folder named 'ckpt' used to default to mode none."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "modules.json").write_text(json.dumps([{"type": "InstructorEmbedding.INSTRUCTOR_Transformer"}]))
    assert default_mode(str(folder)) == "masked"
    (folder / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Transformer"}]))
    assert default_mode(str(folder)) == "none" and default_mode("hkunlp/instructor-large") == "masked"


def test_a_new_version_of_the_era_evaluators_refuses_old_results(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result computed by the previous era evaluators is never reused by changed ones (eras.RULES bumped)."""
    _run(tmp_path, tiny)
    monkeypatch.setattr("harness.benchmarks.mteb.eras.RULES", "2")
    with pytest.raises(HarnessError, match=r"computed from other inputs: SmokeSTS \(settings\.era_evaluators\)"):
        _run(tmp_path, tiny)
    assert _run(tmp_path, tiny, protocol="mteb").status == "done"  # installed mteb: its version is what counts
