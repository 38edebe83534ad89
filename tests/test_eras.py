"""The era protocols' evaluators against the era code itself: mteb 0.0.2 (embeddings-benchmark/mteb@210d012) and the
INSTRUCTOR fork (xlang-ai/instructor-embedding@9a9742c, evaluation/MTEB) were run on the synthetic fixtures of
tests/era_fixtures.py with the fixture model's vectors; their main scores are in tests/fixtures/era/outputs.json
(how they were made: tests/fixtures/era/README.md). Each test feeds the same rows and vectors to `eras.py`.

A changed sampler, seed, solver, k-means draw, AP definition, skipped document or SummEval quirk fails here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks.mteb import eras
from harness.benchmarks.mteb.protocols import ERAS
from harness.benchmarks.mteb.spec import MtebTaskSpec
from harness.core.instructions import Side, library
from harness.core.items import Items
from harness.core.spec import registry
from tests import era_fixtures as fx

OUTPUTS = json.loads((Path(__file__).parent / "fixtures" / "era" / "outputs.json").read_text())


class FixtureEmbedder:
    """The fixture model behind the `eras.Embedder` protocol, with the instructions the era code attached."""

    def __init__(self, instructions: dict[str, str]) -> None:
        self.instructions = instructions

    def __call__(self, texts: list[str], side: Side = "query") -> np.ndarray:
        return np.stack([fx.vector(self.instructions[side], t.strip()) for t in texts])

    def plain(self, texts: list[str]) -> np.ndarray:
        return np.stack([fx.vector("", t.strip()) for t in texts])

    def instruction(self, side: Side) -> str:
        return self.instructions[side]


def _evaluated(era_name: str, name: str) -> tuple[dict, Items]:
    spec = registry().get(fx.FORK_TASKS[name])
    assert isinstance(spec, MtebTaskSpec)
    data = fx.fixtures()[name]
    rows = data if isinstance(data, dict) else {spec.split: data}
    # the fork attached instructor-large's strings (the recorder gave clustering none: its rule needs a tokenizer);
    # mteb 0.0.2 had no instructions
    instructed = era_name == "instructor" and name != "clustering"
    sides = library().get(spec.name, "instructor-large") if instructed else None
    embed = FixtureEmbedder(
        {"query": sides.query, "document": sides.document} if sides else {"query": "", "document": ""}
    )
    return eras.evaluate(ERAS[era_name], spec, rows, embed)


def _scores(era_name: str, name: str) -> dict:
    return _evaluated(era_name, name)[0]


@pytest.mark.parametrize("era_name", ["mteb-2022", "instructor"])
@pytest.mark.parametrize("name", list(fx.FORK_TASKS))
def test_per_item_outputs_give_the_main_score(era_name: str, name: str) -> None:
    """Fails if an evaluator's items leave something out or weigh it wrongly (a skipped SummEval document kept,
    a first-shuffle draw or cluster set dropped): re-aggregation would then not reproduce the published score."""
    scores, items = _evaluated(era_name, name)
    if math.isnan(scores["main_score"]):
        assert math.isnan(items.score())
    else:
        assert items.score() == pytest.approx(scores["main_score"], abs=1e-12)


@pytest.mark.parametrize("era_name", ["mteb-2022", "instructor"])
@pytest.mark.parametrize("name", [n for n in fx.FORK_TASKS if n not in ("classification", "binary")])
def test_each_task_type_equals_the_era_code(era_name: str, name: str) -> None:
    expected = OUTPUTS[era_name][name]
    got = _scores(era_name, name)["main_score"]
    if math.isnan(expected):  # mteb 0.0.2 averaged a NaN Spearman of a constant document into the score
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name", ["classification", "binary"])
def test_classification_equals_the_fork(name: str) -> None:
    assert _scores("instructor", name)["main_score"] == pytest.approx(OUTPUTS["instructor"][name], abs=1e-6)


@pytest.mark.parametrize("name", ["classification", "binary"])
def test_classification_draws_equal_mteb_0_0_2_from_each_first_state(name: str) -> None:
    """0.0.2 from np.random.seed(s) before the task, for s = 0..19: each draw equal, the score their mean."""
    recorded = OUTPUTS["mteb-2022"][name]
    assert recorded["first_shuffle_seed"] == list(ERAS["mteb-2022"].first_shuffles)
    scores = _scores("mteb-2022", name)
    assert scores["first_shuffle_draws"]["accuracy"] == pytest.approx(recorded["main_score"], abs=1e-6)
    assert scores["main_score"] == pytest.approx(float(np.mean(recorded["main_score"])), abs=1e-6)
    assert scores["first_shuffle_draws"]["sd"] > 0  # the draws differ: the first shuffle matters


def test_the_fork_skips_constant_documents_and_mteb_0_0_2_does_not() -> None:
    """The same rows: NaN under 0.0.2 (a constant document's Spearman is undefined), a number under the fork."""
    assert math.isnan(_scores("mteb-2022", "summarization_constant")["main_score"])
    assert math.isfinite(_scores("instructor", "summarization_constant")["main_score"])
