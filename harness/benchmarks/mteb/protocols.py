"""Evaluation protocols: `paper` (the 2022 MTEB protocol behind the paper's numbers) and `mteb` (installed mteb).

`paper` changes mteb's task objects at the smallest points:
- Classification: the per-task train sample sizes of 2022 (8 per label; 16 Emotion; 32 AmazonCounterfactual,
  ToxicConversations, TweetSentimentExtraction), 10 experiments, logistic regression with 100 iterations, and
  the 2022 undersampling random stream. mteb 0.0.x shuffled the train indices with the *global* `np.random`
  (seeded 42 when the task was created), one shuffle per experiment, so experiment i used the i-th draw of
  one continuing stream. Current mteb re-creates `RandomState(42)` for every experiment and re-shuffles the
  previous permutation with it, so experiment i sees permutation P^i of a single shuffle P: other training
  subsets, hence other scores (all-MiniLM-L6-v2 on EmotionClassification: 40.83 now vs 38.43 published in
  2022; this sampler gives 38.73, and current mteb's gives 40.83 exactly, as the 2024 re-run).
- Summarization: mteb's 2022 evaluator averaged each document's (Spearman, p-value) pair (mteb issue #1156).
  Kept for parity, flagged as `legacy_pvalue_averaging`, with the correct mean Spearman beside it.
- Clustering (texts with a non-empty instruction): the INSTRUCTOR reference's rule that a text whose
  instruction + text exceeds 256 tokens is encoded without instruction (done in the mteb adapter).
"""

from __future__ import annotations

import types
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone

from harness.benchmarks.mteb.spec import ClassificationProtocol, ClusteringProtocol, MtebTaskSpec
from harness.core.errors import UsageError

PROTOCOLS = ("paper", "mteb")
SEED = 42  # mteb's task seed, then and now


def configure(task: Any, spec: MtebTaskSpec, protocol: str) -> dict[str, Any]:
    """Apply `protocol` to an mteb task object; return the resolved settings for the run record."""
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown protocol {protocol!r}: use paper or mteb")
    if protocol == "mteb":
        return {"protocol": "mteb"}
    settings: dict[str, Any] = {"protocol": "paper"}
    if isinstance(p := spec.protocol, ClassificationProtocol):
        task.samples_per_label = p.samples_per_label
        task.n_experiments = p.n_experiments
        # a clone: mteb keeps one LogisticRegression on the task class, shared by every task of that class
        task.evaluator_model = clone(task.evaluator_model).set_params(max_iter=p.max_iter, random_state=SEED)
        task._undersample_data = types.MethodType(_legacy_undersample_method(), task)
        settings.update(
            samples_per_label=p.samples_per_label,
            n_experiments=p.n_experiments,
            max_iter=p.max_iter,
            undersampling="2022: one continuing np.random stream, seed 42",
        )
    if spec.category == "Summarization":
        task.evaluator = _flagged_summarization_evaluator()
        settings["summarization"] = "2022 Spearman/p-value averaging (flagged), correct mean Spearman beside it"
    if isinstance(p := spec.protocol, ClusteringProtocol):
        settings["instruction_token_limit"] = p.instructor_max_tokens_with_instruction
    return settings


def legacy_undersample(
    labels: list[Any], samples_per_label: int, idxs: np.ndarray, rng: np.random.RandomState
) -> list[int]:
    """mteb 0.0.x `_undersample_data`: shuffle `idxs` in place, keep the first `samples_per_label` per label."""
    rng.shuffle(idxs)
    counter: dict[Any, int] = defaultdict(int)
    chosen = []
    for i in idxs:
        if counter[labels[i]] < samples_per_label:
            chosen.append(int(i))
            counter[labels[i]] += 1
    return chosen


def _legacy_undersample_method() -> Callable[..., tuple[Any, Any, list[int]]]:
    state: dict[str, Any] = {}

    def undersample(self: Any, dataset: Any, experiment_num: int, idxs: Any = None) -> tuple[Any, Any, list[int]]:
        if idxs is None:  # the first experiment of an evaluation: the stream starts from the seed
            state["rng"] = np.random.RandomState(SEED)
            idxs = np.arange(len(dataset))
        labels = dataset[self.label_column_name]
        chosen = legacy_undersample(labels, self.samples_per_label, idxs, state["rng"])
        return dataset.select(chosen), idxs, chosen

    return undersample


def _flagged_summarization_evaluator() -> type:
    from mteb._evaluators.text.summarization_evaluator import (
        DeprecatedSummarizationEvaluator,
        SummarizationEvaluator,
    )

    class FlaggedLegacySummarizationEvaluator(DeprecatedSummarizationEvaluator):  # type: ignore[misc,valid-type]
        def _calculate_metrics(self, distances: Any) -> Any:
            legacy = super()._calculate_metrics(distances)
            correct = SummarizationEvaluator._calculate_metrics(self, distances)
            return {
                **legacy,
                "legacy_pvalue_averaging": True,
                "cosine_spearman_correct": correct["cosine_spearman"],
                "cosine_pearson_correct": correct["cosine_pearson"],
            }

    return FlaggedLegacySummarizationEvaluator
