"""Billboard: loading and joining the THumB files, bad files, and the score against an independent computation."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr

from harness.app.runner import run_tasks
from harness.benchmarks.billboard.scoring import correlations, load, max_reference_cosine
from harness.core.context import RunOptions
from harness.core.errors import HarnessError
from harness.core.instructions import library
from harness.core.results import Unit
from harness.core.spec import registry
from harness.models.cache import CachedEncoder
from harness.models.encoder import Encoder
from harness.models.stores.sqlite import EmbeddingCache
from tests.conftest import DATA, need

HYPS = [
    {"SYS": "A", "seg_id": "1", "set_id": 0, "hyp": "a cat on a mat", "human_score": 4.0},
    {"SYS": "B", "seg_id": "1", "set_id": 0, "hyp": "a dog in the rain", "human_score": 1.0},
    {"SYS": "A", "seg_id": "2", "set_id": 1, "hyp": "two birds fly", "human_score": 3.0},
    {"SYS": "B", "seg_id": "2", "set_id": 1, "hyp": "a red car", "human_score": 2.0},
]
REFS = [  # different numbers of references per item
    {"seg_id": "2", "set_id": 1, "refs": ["birds flying", "two birds in the sky", "a flock"]},
    {"seg_id": "1", "set_id": 0, "refs": ["a cat sits on a mat"]},
]


def _write(tmp: Path, hyps: list[dict], refs: list[dict]) -> tuple[Path, Path]:
    h, r = tmp / "h.jsonl", tmp / "r.jsonl"
    h.write_text("".join(json.dumps(x) + "\n" for x in hyps))
    r.write_text("".join(json.dumps(x) + "\n" for x in refs))
    return h, r


def letters(texts: list[str]) -> np.ndarray:
    """A toy encoder: letter counts."""
    return np.array([[t.count(c) + 0.01 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts], dtype=np.float32)


def test_join_is_on_item_keys_and_scores_by_hand(tmp_path: Path) -> None:
    data = load(*_write(tmp_path, HYPS, REFS))
    predicted = max_reference_cosine(data, letters)
    # by hand: hypothesis 3 ("two birds fly") against its item's three references
    h = letters(["two birds fly"])[0]
    refs = letters(REFS[0]["refs"])
    expected = max(float(h @ r / np.linalg.norm(h) / np.linalg.norm(r)) for r in refs)
    assert predicted[2] == pytest.approx(expected, abs=1e-6)
    reordered = load(*_write(tmp_path, HYPS[::-1], REFS[::-1]))
    again = max_reference_cosine(reordered, letters)
    assert again[::-1] == pytest.approx(predicted, abs=1e-7)
    scores = correlations(data, predicted)
    assert scores["pearson"] == pytest.approx(pearsonr(predicted, [4, 1, 3, 2]).statistic, abs=1e-12)
    assert scores["n_pairs"] == 4 and scores["n_items"] == 2 and scores["n_systems"] == 2


@pytest.mark.parametrize(
    ("hyps", "refs", "message"),
    [
        (
            HYPS + [{"SYS": "A", "seg_id": "9", "set_id": 9, "hyp": "x", "human_score": 1}],
            REFS,
            r"h.jsonl:5: item set_id=9 seg_id=9 has no references",
        ),
        (HYPS, [REFS[0], {**REFS[1], "refs": []}], r"r.jsonl:2: 'refs' must be a non-empty list of strings"),
        (
            [{**HYPS[0], "human_score": "high"}, *HYPS[1:]],
            REFS,
            r"h.jsonl:1: human_score must be a finite number .*, got 'high'",
        ),
        (HYPS + [HYPS[1]], REFS, r"h.jsonl:5: duplicate \(item set_id=0 seg_id=1, system 'B'\); first at line 2"),
        ([{k: v for k, v in HYPS[0].items() if k != "hyp"}], REFS, r"h.jsonl:1: missing column 'hyp'"),
    ],
)
def test_malformed_files(tmp_path: Path, hyps: list[dict], refs: list[dict], message: str) -> None:
    with pytest.raises(HarnessError, match=message):
        load(*_write(tmp_path, hyps, refs))


@pytest.mark.slow
def test_mscoco_run_matches_an_independent_computation(tmp_path: Path) -> None:
    folder = need(DATA / "billboard" / "mscoco")
    encoder = CachedEncoder(
        Encoder("minilm", mode="prefix"), EmbeddingCache(tmp_path / "cache.sqlite")
    )  # same embeddings
    unit = Unit("minilm", "test", "instructor-large", "prefix")
    [outcome] = run_tasks(
        [registry().get("BillboardMSCOCO")],
        lambda: encoder,
        library(),
        RunOptions(unit, tmp_path, DATA, log=lambda *_: None),
    )
    instruction = "Represent the caption: "  # instructor-large's mscoco string (facts file section 2.4)
    assert outcome.record["instructions"]["BillboardMSCOCO"]["query"]["text"] == instruction
    hyps = [json.loads(line) for line in (folder / "mscoco_THumB-1.0.jsonl").open()]
    refs = defaultdict(list)
    for line in (folder / "mscoco_references.jsonl").open():
        row = json.loads(line)
        refs[(row["set_id"], row["seg_id"])] += row["refs"]
    unit_rows = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    hyp_vecs = unit_rows(encoder.encode([h["hyp"] for h in hyps], instruction=instruction))
    texts = sorted({r for rs in refs.values() for r in rs})
    vector = dict(zip(texts, unit_rows(encoder.encode(texts, instruction=instruction)), strict=True))
    best = [
        max(float(vector[r] @ v) for r in refs[(h["set_id"], h["seg_id"])]) for h, v in zip(hyps, hyp_vecs, strict=True)
    ]
    expected = pearsonr(best, [h["human_score"] for h in hyps]).statistic
    assert outcome.score == pytest.approx(expected, abs=1e-6)
    assert outcome.record["scores"]["n_pairs"] == 2500 and outcome.record["scores"]["n_items"] == 500
