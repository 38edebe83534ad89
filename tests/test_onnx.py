"""The ONNX Runtime backend (issue #18): the same embeddings as torch, masked pooling included, an export made once,
and a refusal when the two backends disagree.

The bugs each test catches: pooling redone by hand (masked mode drifting from the torch path), an export per run,
a disagreement let through, vectors of one backend served from the cache to the other, a score that moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import HarnessError
from harness.models.encoder import Encoder
from harness.models.onnx import SAMPLE, OnnxEncoder
from tests.conftest import DATA, need
from tests.tiny_models import tiny_instructor

INSTRUCTION = "Represent the statement: "


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))


TEXTS = [*SAMPLE, "  leading and trailing spaces  ", "short", "a " * 300]  # the last one is truncated


@pytest.mark.parametrize(("model", "mode"), [("tiny", "masked"), ("minilm", "none"), ("minilm", "masked")])
def test_onnx_gives_torchs_embeddings(model: str, mode: str, tiny: Path) -> None:
    """Masked mode on the tiny T5 (no token_type_ids, INSTRUCTOR's pooling) and on MiniLM: within 1e-5 of torch."""
    name = str(tiny) if model == "tiny" else "minilm"
    instruction = INSTRUCTION if mode != "none" else ""
    onnx = OnnxEncoder(name, mode=mode, batch_size=3).encode(TEXTS, instruction=instruction)
    torch = Encoder(name, mode=mode, batch_size=3).encode(TEXTS, instruction=instruction)
    assert np.abs(onnx - torch).max() <= 1e-5


def test_the_export_is_made_once_and_keyed_apart_in_the_cache(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = OnnxEncoder(str(tiny), mode="masked")
    assert first.identity.backend == "onnx" and first.identity.key.endswith("|onnx")
    assert Encoder(str(tiny), mode="masked").identity.key != first.identity.key  # the cache keeps them apart

    def no_export(*_: object, **__: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr("torch.onnx.export", no_export)
    OnnxEncoder(str(tiny), mode="masked")  # from the cache


def test_a_disagreement_with_torch_is_refused(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = OnnxEncoder._vectors

    def drift(self: OnnxEncoder, inputs: list[str]) -> np.ndarray:
        return original(self, inputs) + 1e-4  # an exporter bug, a kernel that rounds differently

    monkeypatch.setattr(OnnxEncoder, "_vectors", drift)
    with pytest.raises(HarnessError, match=r"differ from torch's by 1.0\de-04 \(tolerance 1e-05\).*--backend torch"):
        OnnxEncoder(str(tiny), mode="masked")


def test_a_real_score_is_unchanged_under_onnx(tmp_path: Path) -> None:
    """STSBenchmark (2,552 texts) under both backends: the same score to 1e-4, separate units of the fingerprint."""
    import harness

    need(DATA / "mteb" / "STSBenchmark")
    runs = {
        backend: harness.evaluate(
            "minilm", ["STSBenchmark"], data_dir=DATA, output_dir=tmp_path / backend, backend=backend
        )[0]
        for backend in ("torch", "onnx")
    }
    assert runs["onnx"].score == pytest.approx(runs["torch"].score, abs=1e-4)
    fingerprints = {b: r.record["fingerprint"] for b, r in runs.items()}
    assert fingerprints["onnx"]["inputs"]["model"]["backend"] == "onnx"
    assert fingerprints["onnx"]["sha256"] != fingerprints["torch"]["sha256"]
