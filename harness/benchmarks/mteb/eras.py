"""The evaluators of the two codebases behind the published numbers, on today's libraries, one per task type.

`mteb-2022`: mteb 0.0.2 as released to PyPI (embeddings-benchmark/mteb@210d012, 2022-06-30), which wrote the MTEB
paper's baseline files (all-MiniLM-L6-v2, Sent-T5, GTR; the INSTRUCTOR paper copies their rows).
`instructor`: the mteb fork that produced the INSTRUCTOR numbers (xlang-ai/instructor-embedding@9a9742c,
`evaluation/MTEB`, equal to mteb 0.9-1.0 plus the instruction code), run one task per process as its
`examples/evaluate_model.py` does (English subsets, the test split).

Where the two differ from each other and from mteb 2.x, by task type (each checked against the era's own code run
on the same embeddings; see tests/fixtures/era/README.md):
- Classification: 10 experiments, each logistic regression (sklearn 1.1, `era_sklearn.fit_logreg`) on a train set
  undersampled per label from a shuffle of the previous experiment's order. Every experiment's evaluator re-seeds
  the global np.random with 42 before the next shuffle, in both codebases; the first shuffle differs. The fork
  seeded 42 when the task was built. 0.0.2 left it to whatever state the process had: a fresh process's numpy
  seeds itself from the OS, so a 0.0.2 classification number is one random draw. `mteb-2022` therefore reports
  the mean over `FIRST_SHUFFLE_DRAWS` first-shuffle states (seeds 0..N-1), with every draw kept in the result.
  (mteb 0.0.2 files written after 2022-08-06, when mteb began seeding 42 at task creation, such as GTR-Large's,
  used the fork's sampler; for a model without instructions `instructor` reproduces those.)
- Clustering: MiniBatchKMeans(k, batch_size=500) per cluster set, the global np.random seeded 28042000 (0.0.2) or
  42 (the fork) just before, V-measure averaged over the sets (`era_sklearn.kmeans_labels`).
- Pair classification: AP of 1 - paired cosine distance (the paper's `cos_sim.ap`), also for dot, Euclidean and
  Manhattan, whose maximum was 0.0.2's main score.
- Reranking: per query, sklearn's average precision of the cosine scores (the maximum over sub-queries when a
  query is a list), samples without positives or negatives dropped; MAP and MRR@10 over queries.
- STS: Spearman (and Pearson) of 1 - paired cosine distance.
- Summarization: per document, each machine summary scored by its maximum cosine to the human summaries, the
  per-document (Spearman, p-value) pairs averaged together (mteb issue #1156, flagged; the correct mean beside).
  The fork also skips documents with constant scores and, with an instruction, encodes each machine summary as
  `encode([instruction, summary, 0])`, which INSTRUCTOR 1.0.1 reads as three plain texts (the stripped
  instruction, the summary, "0"), scoring the maximum over all three.
- Retrieval is not here: both codebases ran BEIR's exact search, which mteb's retrieval evaluator reproduces
  (SciFact: 64.51, the published figure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import numpy as np

from harness.benchmarks.mteb.era_sklearn import fit_logreg, kmeans_labels
from harness.benchmarks.mteb.protocols import ERA_METRICS as MAIN
from harness.benchmarks.mteb.protocols import Era
from harness.benchmarks.mteb.spec import ClassificationProtocol, MtebTaskSpec
from harness.core.instructions import Side
from harness.core.items import Items, Stratum, single

RERANKING_MRR_AT = 10
# The version of these evaluators, part of every era result's fingerprint: bump it with any change that can move a
# number, so results computed by the previous code are refused, never reused.
RULES = "1"


class Embedder(Protocol):
    """A task's encoder: each text with the task's instruction for `side`; `plain` without any."""

    def __call__(self, texts: Sequence[str], side: Side = "query") -> np.ndarray: ...

    def plain(self, texts: Sequence[str]) -> np.ndarray: ...

    def instruction(self, side: Side) -> str: ...


Rows = list[dict[str, Any]]
Scores = dict[str, Any]


def evaluate(era: Era, spec: MtebTaskSpec, rows: dict[str, Rows], embed: Embedder) -> tuple[Scores, Items]:
    """One subset's scores under `era`, with `main_score` (the paper's metric) set, and the per-item outputs it is
    computed from; `rows` maps split -> rows."""
    test = rows[spec.split]
    if spec.category == "Classification":
        scores, items = classification(era, rows["train"], test, embed, cast(ClassificationProtocol, spec.protocol))
        return {**scores, "main_score": scores["accuracy"]}, items
    evaluator: dict[str, Callable[[Era, Rows, Embedder], tuple[Scores, Items]]] = {
        "Clustering": clustering,
        "PairClassification": pair_classification,
        "Reranking": reranking,
        "STS": sts,
        "Summarization": summarization,
    }
    scores, items = evaluator[spec.category](era, test, embed)
    return {**scores, "main_score": scores[MAIN[spec.category]]}, items


def _embed_unique(embed: Embedder, texts: Sequence[str], side: Side = "query") -> dict[str, np.ndarray]:
    unique = list(dict.fromkeys(texts))
    return dict(zip(unique, embed(unique, side), strict=True))


# ---------------------------------------------------------------- classification
def undersample(labels: Sequence[Any], per_label: int, order: np.ndarray) -> list[int]:
    """The first `per_label` indices of each label in `order` (both codebases' `_undersample_data`)."""
    counter: dict[Any, int] = defaultdict(int)
    chosen = []
    for i in order:
        if counter[labels[i]] < per_label:
            chosen.append(int(i))
            counter[labels[i]] += 1
    return chosen


def experiment_samples(n: int, labels: Sequence[Any], p: ClassificationProtocol, first: int) -> list[list[int]]:
    """Each experiment's train indices: the order reshuffled in place before each experiment, the first shuffle
    from a RandomState seeded `first`, every later one from a fresh seed-42 state (the evaluator's re-seed)."""
    order = np.arange(n)
    samples = []
    for experiment in range(p.n_experiments):
        np.random.RandomState(first if experiment == 0 else 42).shuffle(order)
        samples.append(undersample(labels, p.samples_per_label, order))
    return samples


def classification(
    era: Era, train: Rows, test: Rows, embed: Embedder, p: ClassificationProtocol
) -> tuple[Scores, Items]:
    """Items: each test text's accuracy over every experiment (and first-shuffle draw); their mean is the score."""
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score

    texts, labels = [r["text"] for r in train], [r["label"] for r in train]
    draws = {first: experiment_samples(len(train), labels, p, first) for first in era.first_shuffles}
    needed = sorted({i for samples in draws.values() for chosen in samples for i in chosen})
    vectors = dict(zip(needed, embed([texts[i] for i in needed]), strict=True))
    x_test, y_test = embed([r["text"] for r in test]), np.asarray([r["label"] for r in test])
    per_draw, correct = [], np.zeros(len(y_test))
    for samples in draws.values():
        experiments = []
        for chosen in samples:
            y = np.asarray([labels[i] for i in chosen])
            predicted = fit_logreg(np.stack([vectors[i] for i in chosen]), y, max_iter=p.max_iter).predict(x_test)
            correct += predicted == y_test
            metrics = {
                "accuracy": accuracy_score(y_test, predicted),
                "f1": f1_score(y_test, predicted, average="macro"),
            }
            if np.unique(y).size == 2:
                metrics["ap"] = average_precision_score(y_test, predicted)
            experiments.append(metrics)
        per_draw.append(
            {
                **{k: float(np.mean([e[k] for e in experiments])) for k in experiments[0]},
                **{f"{k}_stderr": float(np.std([e[k] for e in experiments])) for k in experiments[0]},
            }
        )
    scores: Scores = {k: float(np.mean([d[k] for d in per_draw])) for k in per_draw[0]}
    if len(per_draw) > 1:
        accuracies = [d["accuracy"] for d in per_draw]
        scores["first_shuffle_draws"] = {"seeds": list(draws), "accuracy": accuracies, "sd": float(np.std(accuracies))}
    runs = len(draws) * p.n_experiments
    return scores, single("mean", value=correct / runs)


# ---------------------------------------------------------------- clustering
def clustering(era: Era, sets: Rows, embed: Embedder) -> tuple[Scores, Items]:
    """Items: per cluster set, each text's gold and predicted cluster (the clustering is kept when resampling)."""
    from sklearn.metrics import v_measure_score

    measures, strata = [], []
    for i, cluster_set in enumerate(sets):
        vectors = embed(cluster_set["sentences"])
        predicted = kmeans_labels(vectors, len(set(cluster_set["labels"])), era.clustering_seed)
        measures.append(float(v_measure_score(cluster_set["labels"], predicted)))
        columns = {"label": np.asarray(cluster_set["labels"]), "pred": predicted}
        strata.append(Stratum(f"set{i}", "v_measure", columns, 1 / len(sets)))
    return {"v_measure": float(np.mean(measures)), "v_measure_std": float(np.std(measures))}, Items(strata)


# ---------------------------------------------------------------- pair classification, STS
def _paired(embed: Embedder, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    vectors = _embed_unique(embed, [r[k] for r in rows for k in ("sentence1", "sentence2")])
    return np.stack([vectors[r["sentence1"]] for r in rows]), np.stack([vectors[r["sentence2"]] for r in rows])


def pair_classification(era: Era, rows: Rows, embed: Embedder) -> tuple[Scores, Items]:
    """Items: each pair's cosine similarity and label."""
    from sklearn.metrics import average_precision_score
    from sklearn.metrics.pairwise import (
        paired_cosine_distances,
        paired_euclidean_distances,
        paired_manhattan_distances,
    )

    a, b = _paired(embed, rows)
    labels = np.asarray([r["label"] for r in rows])
    similarities = {
        "cosine": 1 - paired_cosine_distances(a, b),
        "dot": np.asarray([np.dot(a[i], b[i]) for i in range(len(a))]),
        "euclidean": -paired_euclidean_distances(a, b),
        "manhattan": -paired_manhattan_distances(a, b),
    }
    scores = {f"{name}_ap": float(average_precision_score(labels, s)) for name, s in similarities.items()}
    return {**scores, "max_ap": max(scores.values())}, single("ap", score=similarities["cosine"], label=labels)


def sts(era: Era, rows: Rows, embed: Embedder) -> tuple[Scores, Items]:
    """Items: each pair's cosine similarity and gold score."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics.pairwise import paired_cosine_distances

    a, b = _paired(embed, rows)
    gold = [r["score"] for r in rows]
    cosine = 1 - paired_cosine_distances(a, b)
    scores = {"cosine_spearman": float(spearmanr(gold, cosine)[0]), "cosine_pearson": float(pearsonr(gold, cosine)[0])}
    return scores, single("spearman", x=cosine, y=np.asarray(gold, dtype=float))


# ---------------------------------------------------------------- reranking, summarization (torch's cos_sim)
def _cos_sim(a: np.ndarray, b: np.ndarray) -> Any:
    """The era's `utils.cos_sim`: float32 torch, rows normalised, one matrix product."""
    import torch

    a_t, b_t = (torch.nn.functional.normalize(torch.as_tensor(np.atleast_2d(v)), p=2, dim=1) for v in (a, b))
    return torch.mm(a_t, b_t.transpose(0, 1))


def reranking(era: Era, rows: Rows, embed: Embedder) -> tuple[Scores, Items]:
    """Items: each query's average precision."""
    import torch
    from sklearn.metrics import average_precision_score

    rows = [r for r in rows if r["positive"] and r["negative"]]
    queries = [q for r in rows for q in ([r["query"]] if isinstance(r["query"], str) else r["query"])]
    query_vectors = _embed_unique(embed, queries, "query")
    doc_vectors = _embed_unique(embed, [d for r in rows for d in r["positive"] + r["negative"]], "document")
    aps, mrrs = [], []
    for row in rows:
        asked = [row["query"]] if isinstance(row["query"], str) else row["query"]
        docs = row["positive"] + row["negative"]
        relevant = [True] * len(row["positive"]) + [False] * len(row["negative"])
        scores = _cos_sim(np.stack([query_vectors[q] for q in asked]), np.stack([doc_vectors[d] for d in docs]))
        scores = torch.amax(scores, dim=0)
        ranking = torch.argsort(-scores)[:RERANKING_MRR_AT].tolist()
        mrrs.append(next((1 / (rank + 1) for rank, i in enumerate(ranking) if relevant[i]), 0.0))
        aps.append(float(average_precision_score(relevant, scores.tolist())))
    return {"map": float(np.mean(aps)), "mrr": float(np.mean(mrrs))}, single("mean", value=aps)


def summarization(era: Era, documents: Rows, embed: Embedder) -> tuple[Scores, Items]:
    """Items: each scored document's (Spearman + its p-value) / 2, whose mean is the legacy main score."""
    from scipy.stats import pearsonr, spearmanr

    instruction = embed.instruction("query")
    quirk = era.fork_quirks and bool(instruction)
    fits: dict[str, list[tuple[float, float]]] = {"cosine_spearman": [], "cosine_pearson": []}
    scored = []
    for i, doc in enumerate(documents):
        humans = embed(doc["human_summaries"])
        if quirk:  # encode([instruction, summary, 0]): three plain texts, as INSTRUCTOR 1.0.1 tokenized them
            machines = [embed.plain([instruction.strip(), s.strip(), "0"]) for s in doc["machine_summaries"]]
        else:
            machines = list(embed(doc["machine_summaries"])[:, None, :])
        cosine = [_cos_sim(m, humans).max().item() for m in machines]
        dot = [float(np.max(np.atleast_2d(m) @ humans.T)) for m in machines]
        gold = doc["relevance"]
        if era.fork_quirks and 1 in (len(set(gold)), len(set(dot)), len(set(cosine))):
            continue  # the fork skipped documents whose scores are all equal
        fits["cosine_spearman"].append(tuple(spearmanr(gold, cosine)))  # type: ignore[arg-type]
        fits["cosine_pearson"].append(tuple(pearsonr(gold, cosine)))  # type: ignore[arg-type]
        scored.append(str(i))
    items = Items([Stratum("", "mean", {"value": np.mean(fits["cosine_spearman"], axis=1)}, ids=scored)])
    return {
        **{name: float(np.mean(pairs)) for name, pairs in fits.items()},  # correlations and p-values together
        **{f"{name}_correct": float(np.mean([c for c, _ in pairs])) for name, pairs in fits.items()},
        "legacy_pvalue_averaging": True,
    }, items
