"""Small synthetic tasks, one per MTEB task type, and the embedding of every (instruction, text) pair, built from
fixed seeds with numpy's legacy RandomState (its streams are the same in every numpy version). The era code's
outputs on them are recorded in tests/fixtures/era/outputs.json (how: tests/fixtures/era/README.md); this module is
imported both there and by tests/test_eras.py, so both sides see the same rows and vectors.

Texts carry their class in their words, and a text's vector is its class centre plus noise, so every evaluator
has something to find; an instruction shifts the vector by a direction of its own.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

DIM = 24
NOISE = 4.0


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8], 16)


def vector(instruction: str, text: str) -> np.ndarray:
    """The fixture model: the centre of the text's group (its first word) + noise + an instruction direction."""
    group = text.split()[0] if text.strip() else ""
    v = np.random.RandomState(_seed("centre", group)).normal(size=DIM) * 2.0
    v += np.random.RandomState(_seed("noise", text)).normal(size=DIM) * NOISE
    if instruction:
        v += np.random.RandomState(_seed("instruction", instruction)).normal(size=DIM) * 0.5
    return v.astype(np.float32)


def _words(rng: np.random.RandomState, group: str, n: int) -> str:
    vocab = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "rho"]
    return " ".join([group, *[vocab[i] for i in rng.randint(0, len(vocab), n)]])


def classification(n_labels: int, n_train: int, n_test: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = np.random.RandomState(seed)

    def rows(n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            label = int(rng.randint(n_labels))
            out.append({"text": f"{_words(rng, f'c{label}', 4)} {i}", "label": label})
        return out

    return {"train": rows(n_train), "test": rows(n_test)}


def clustering(seed: int) -> list[dict[str, Any]]:
    """Three cluster sets: one smaller than a minibatch, two larger (the minibatch path runs)."""
    rng = np.random.RandomState(seed)
    sets = []
    for size, k in ((90, 3), (700, 8), (1300, 12)):
        labels = [int(x) for x in rng.randint(0, k, size)]
        sets.append(
            {"sentences": [f"{_words(rng, f'k{lab}', 3)} {i}" for i, lab in enumerate(labels)], "labels": labels}
        )
    return sets


def pairs(seed: int) -> list[dict[str, Any]]:
    rng = np.random.RandomState(seed)
    out = []
    for i in range(240):
        a = int(rng.randint(12))
        same = bool(rng.rand() < 0.4)
        b = a if same else int((a + 1 + rng.randint(11)) % 12)
        first = f"{_words(rng, f'p{a}', 3)} {i % 50}"  # repeats: some sentences occur in several pairs
        out.append({"sentence1": first, "sentence2": f"{_words(rng, f'p{b}', 3)} x{i}", "label": int(same)})
    return out


def sts(seed: int) -> list[dict[str, Any]]:
    rng = np.random.RandomState(seed)
    out = []
    for i in range(160):
        a, b = int(rng.randint(10)), int(rng.randint(10))
        score = round(5.0 - abs(a - b) / 2 + rng.rand(), 1)  # one decimal: many ties, as STS gold has
        out.append(
            {
                "sentence1": f"{_words(rng, f's{a}', 4)} {i}",
                "sentence2": f"{_words(rng, f's{b}', 4)} y{i}",
                "score": score,
            }
        )
    return out


def reranking(seed: int, subqueries: bool) -> list[dict[str, Any]]:
    """Queries with their candidates, one row without negatives (dropped). `subqueries`: every query is a list
    of 1-3 texts, as MindSmall's are (the era code reads the first row to decide, so a task is all one kind)."""
    rng = np.random.RandomState(seed)
    rows = []
    for i in range(40):
        topic = int(rng.randint(15))
        query: Any = f"{_words(rng, f'r{topic}', 3)} q{i}"
        if subqueries:
            query = [f"{_words(rng, f'r{topic}', 2)} q{i}-{j}" for j in range(1 + rng.randint(3))]
        positive = [f"{_words(rng, f'r{topic}', 5)} d{i}-{j}" for j in range(1 + rng.randint(3))]
        negative = [
            f"{_words(rng, f'r{(topic + 1 + rng.randint(14)) % 15}', 5)} n{i}-{j}" for j in range(4 + rng.randint(6))
        ]
        rows.append({"query": query, "positive": positive, "negative": [] if i == 7 else negative})
    return rows


def summarization(seed: int, constant_document: bool) -> list[dict[str, Any]]:
    """Documents with human and machine summaries; `constant_document` adds one whose relevance is all equal
    (mteb 0.0.2 then averages a NaN; the fork skips it)."""
    rng = np.random.RandomState(seed)
    docs = []
    for i in range(9):
        topic = int(rng.randint(6))
        humans = [f"{_words(rng, f'h{topic}', 6)} {i}-{j}" for j in range(3)]
        machines = [f"{_words(rng, f'h{(topic + int(rng.randint(3))) % 6}', 6)} m{i}-{j}" for j in range(6)]
        relevance = [float(round(1 + 4 * rng.rand(), 2)) for _ in machines]
        if constant_document and i == 4:
            relevance = [3.0] * len(machines)
        docs.append(
            {"text": f"doc {i}", "human_summaries": humans, "machine_summaries": machines, "relevance": relevance}
        )
    return docs


# The fixtures the era code ran on: (name, mteb task whose instructions the fork used, rows).
def fixtures() -> dict[str, Any]:
    return {
        "classification": classification(5, 400, 120, seed=1),
        "binary": classification(2, 300, 100, seed=2),
        "clustering": clustering(seed=3),
        "pairs": pairs(seed=4),
        "sts": sts(seed=5),
        "reranking": reranking(seed=6, subqueries=False),
        "reranking_subqueries": reranking(seed=9, subqueries=True),
        "summarization": summarization(seed=7, constant_document=False),
        "summarization_constant": summarization(seed=8, constant_document=True),
    }


# which mteb task's instructor-large instructions the fork attached to each fixture
FORK_TASKS = {
    "classification": "Banking77Classification",
    "binary": "ToxicConversationsClassification",
    "clustering": "TwentyNewsgroupsClustering",
    "pairs": "TwitterSemEval2015",
    "sts": "STS12",
    "reranking": "AskUbuntuDupQuestions",
    "reranking_subqueries": "MindSmallReranking",
    "summarization": "SummEval",
    "summarization_constant": "SummEval",
}
SAMPLES_PER_LABEL = {"classification": 8, "binary": 32}
