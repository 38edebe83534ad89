"""Per-item outputs from what installed mteb saves in its prediction folder (`task.evaluate(...,
prediction_folder=...)`), joined with the task's gold data: the `mteb` protocol's, and retrieval's under every
protocol. Each subset's statistic is checked against the main score mteb computed: outputs that do not give it
back are refused as a harness bug (as the runner refuses them), never saved; a task type or metric not read here
yields no per-item outputs, with the reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.benchmarks.mteb import stats
from harness.core.errors import ResultError
from harness.core.items import Items, Stratum, single

RETRIEVAL_METRICS = {"ndcg_at_": "ndcg_cut_", "map_at_": "map_cut_"}  # mteb's name -> pytrec_eval's


def _retrieval(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    from mteb._evaluators.retrieval_metrics import calculate_retrieval_scores

    prefix = next((p for p in RETRIEVAL_METRICS if metric.startswith(p)), None)
    if prefix is None:
        return None
    k = int(metric[len(prefix) :])
    per_query = calculate_retrieval_scores(saved, gold["relevant_docs"], [k]).all_scores
    ids = sorted(per_query)
    key = RETRIEVAL_METRICS[prefix] + str(k)
    return Items([Stratum("", "mean", {"value": np.asarray([per_query[q][key] for q in ids])}, ids=ids)])


def _sts(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    return single("spearman", x=saved["cosine_scores"], y=gold["score"]) if metric == "cosine_spearman" else None


def _pairs(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    labels = np.asarray(gold[task.label_column_name])
    return single("ap", score=saved["cosine_scores"], label=labels) if metric == "cosine_ap" else None


def _classification(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    if metric != "accuracy":
        return None
    truth = np.asarray(gold[task.label_column_name])
    return single("mean", value=np.mean([np.asarray(p) == truth for p in saved], axis=0))


def _clustering(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    if metric != "v_measure" or "sentences" not in gold.column_names:  # the legacy, per-set layout only
        return None
    sets = list(zip(gold["labels"], saved, strict=True))
    return Items(
        [
            Stratum(f"set{i}", "v_measure", {"label": np.asarray(lab), "pred": np.asarray(pred)}, 1 / len(sets))
            for i, (lab, pred) in enumerate(sets)
        ]
    )


def _summarization(task: Any, saved: Any, gold: Any, metric: str) -> Items | None:
    from mteb._evaluators.text.summarization_evaluator import DeprecatedSummarizationEvaluator
    from scipy.stats import spearmanr

    if metric != "cosine_spearman":
        return None
    fits = [spearmanr(h, c) for h, c in zip(saved["human_scores"], saved["cosine_scores"], strict=True)]
    if issubclass(task.evaluator, DeprecatedSummarizationEvaluator):  # SummEval: (rho, p-value) averaged together
        return single("mean", value=[(f.statistic + f.pvalue) / 2 for f in fits])
    return single("mean", value=[f.statistic for f in fits])


READERS: dict[str, Callable[[Any, Any, Any, str], Items | None]] = {
    "Retrieval": _retrieval,
    "Reranking": _retrieval,
    "STS": _sts,
    "PairClassification": _pairs,
    "Classification": _classification,
    "Clustering": _clustering,
    "Summarization": _summarization,
}


def items_from_predictions(
    task: Any, category: str, path: Path, split: str, metric: str, scores: dict[str, Any]
) -> tuple[Items | None, str | None]:
    """The per-item outputs of every subset (equal weights, as the task's score), or None and why (a task type or
    metric not read here); outputs that do not give back mteb's score are refused (ResultError)."""
    saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    parts = []
    for subset in task.hf_subsets:
        got = None
        if subset in saved and split in saved[subset]:
            got = READERS[category](task, saved[subset][split], stats.subsets_of(task)[subset][split], metric)
        if got is None:
            return None, f"mteb's {category} predictions give no per-item {metric} the harness can read"
        main, again = scores[subset][metric], got.score()
        if not math.isclose(again, main, abs_tol=1e-9 + 0.5e-5):  # mteb rounds some scores to 5 decimals
            # the runner's policy for a per-item score that does not reproduce the main one: a harness bug, refused
            raise ResultError(
                f"task {task.metadata.name} ({subset}): its per-item outputs from mteb's predictions give {again!r}, "
                f"mteb's score is {main!r}; no result was written. This is a harness bug: please report it"
            )
        parts.append((subset, got))
    return Items.combine(parts), None
