"""Prompt-retrieval scores as the reference scripts computed them: ROUGE-L (over label ids for label tasks),
CODA-19's token-joined predictions, Amazon's group at a rank of ascending accuracy."""

from __future__ import annotations

from typing import Any

import numpy as np

from harness.benchmarks.prompt_retrieval.types import Example
from harness.core import items


def rouge_l_each(predictions: list[str], golds: list[str]) -> np.ndarray:
    """Each prediction's ROUGE-L F-measure (rouge-score, Porter stemming), 0-1."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return np.asarray([scorer.score(g, p)["rougeL"].fmeasure for p, g in zip(predictions, golds, strict=True)])


def rouge_l(predictions: list[str], golds: list[str]) -> float:
    """Mean ROUGE-L F-measure x100; equals accuracy for single-word labels. The reference reported the `mid` of
    HF `rouge`'s unseeded bootstrap, a random estimate of this mean."""
    return 100 * float(np.mean(rouge_l_each(predictions, golds)))


def scored_pairs(options: list[str] | None, rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """What ROUGE-L compares. Label tasks: the label ids, as the reference scripts convert predictions with
    label_to_digit (so the score is accuracy; label words would give partial credit, e.g. 'negative' against
    'very negative'). Multiple choice and generation: the texts."""
    if options is not None:
        return (
            [str(options.index(r["prediction"])) for r in rows],
            [str(options.index(r["gold"])) for r in rows],
        )
    return [r["prediction"] for r in rows], [r["gold"] for r in rows]


def group_at_rank(
    tests: list[Example], rows: list[dict[str, Any]], rank: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Amazon: the rows of the group (reviewer) at `rank` of ascending accuracy (`items.group_at_rank`, which the
    per-item statistic uses too), and every group's accuracy."""
    groups = np.asarray([str(e.group) for e in tests])
    correct = np.asarray([float(r["prediction"] == r["gold"]) for r in rows])
    chosen, _ = items.group_at_rank(correct, groups, rank)
    accuracy_of = {g: float(correct[groups == g].mean()) for g in dict.fromkeys(groups.tolist())}
    return [r for r, g in zip(rows, groups, strict=True) if g == chosen], {
        "group_accuracy": accuracy_of,
        "scored_group": chosen,
    }


def joined_tokens(pieces: list[str], stop: list[str]) -> str:
    """main_coda_title_gen.py's prediction: the generated tokens decoded one by one, cut before the first token
    (after the first) that is a stop string once spaces are stripped, joined with spaces. So "coronavirus" in
    three tokens reads "cor onav irus" to ROUGE, and a "\n\n" token does not stop it."""
    end = next((i for i, piece in enumerate(pieces) if i > 0 and piece.strip(" ") in stop), len(pieces))
    return " ".join(pieces[:end])
