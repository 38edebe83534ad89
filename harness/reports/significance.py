"""Intervals and paired tests for reports, from the per-item outputs saved with each run (`harness.core.items`).

Every cell a report shows (a task, a category mean, MTEB Avg, Avg (70)) gets the bootstrap interval of the very
mean it shows (over the tasks present), and, against a baseline run on the same items, the paired test of the
difference. A column's replicate b is the mean of its tasks' replicates b (`bootstrap.mean_of`); Avg (70) is the
mean of the category replicates. A cell any of whose tasks lacks per-item outputs (published figures, results of
other tools, mteb-protocol evaluators that give none) has no interval: shown blank, never estimated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.core import bootstrap
from harness.core import items as per_item
from harness.core.errors import HarnessError
from harness.core.spec import CATEGORIES, MTEB_CATEGORIES, Registry
from harness.reports.aggregate import AVG70, EXPECTED, MTEB_AVG, Run

LOG = logging.getLogger("harness")


@dataclass(frozen=True)
class Band:
    """A shown score's interval (x100)."""

    low: float
    high: float

    def text(self) -> str:
        return f"[{self.low:.2f}, {self.high:.2f}]"

    def holds(self, value: float) -> bool:
        """Whether `value` (a baseline's figure) lies in the interval: the report's inside/outside check."""
        return self.low <= value <= self.high


def load_items(run: Run, task: str) -> per_item.Items | None:
    path = run.records.get(task, {}).get("items")
    return per_item.load(Path(path)) if path else None


def _columns(run_tasks: set[str], registry: Registry) -> dict[str, list[str]]:
    """Each report column's tasks present in the run (MTEB Avg: all MTEB tasks; Avg (70): via the categories)."""
    paper = [s for s in registry.tasks.values() if registry.shipped(s.name) and s.name in run_tasks]
    out = {c: [s.name for s in paper if s.category == c] for c in CATEGORIES}
    out[MTEB_AVG] = [n for c in MTEB_CATEGORIES for n in out[c]]
    return out


def _aggregate(per_task: dict[str, np.ndarray], columns: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Replicates of every column whose present tasks all have replicates; Avg (70) from the categories."""
    out: dict[str, np.ndarray] = {}
    for column, names in columns.items():
        if names and all(n in per_task for n in names):
            out[column] = bootstrap.mean_of([per_task[n] for n in names])
    present = [c for c in CATEGORIES if columns.get(c)]
    if present and all(c in out for c in present):
        out[AVG70] = bootstrap.mean_of([out[c] for c in present])
    return out


def _band(reps: np.ndarray) -> Band:
    return Band(*bootstrap.percentile_interval(reps))


def intervals(run: Run, registry: Registry) -> dict[str, Band]:
    """Task and column name -> the interval of the score the report shows for it."""
    per_task = {}
    for task in run.tasks:
        if (items := load_items(run, task)) is not None:
            per_task[task] = 100 * bootstrap.replicates(items, bootstrap.task_seed(task))
    reps = {**per_task, **_aggregate(per_task, _columns(set(run.tasks), registry))}
    return {name: _band(r) for name, r in reps.items()}


def paired(run: Run, baseline: Run, registry: Registry) -> dict[str, bootstrap.PairedTest]:
    """Task and column name -> the paired test of run minus baseline (x100), over the tasks both have with
    per-item outputs that pair up; a column only where every task it shows for both runs qualifies."""
    diffs, observed = {}, {}
    for task in run.tasks.keys() & baseline.tasks.keys():
        a, b = load_items(run, task), load_items(baseline, task)
        if a is None or b is None:
            continue
        try:
            difference, replicates = bootstrap.paired_replicates(task, a, b, bootstrap.task_seed(task))
        except HarnessError as exc:  # different items (a partial run against a full one): no paired test
            LOG.warning("%s: no paired test against %s: %s", task, baseline.label, exc)
            continue
        observed[task], diffs[task] = 100 * difference, 100 * replicates
    shared = _columns(run.tasks.keys() & baseline.tasks.keys(), registry)
    # a mean's difference only over a complete column: no average over a partial set is shown, paired or not
    whole = {c: names for c, names in shared.items() if len(names) == EXPECTED[c]}
    reps = {**diffs, **_aggregate(diffs, whole)}
    if not all(c in whole for c in CATEGORIES):  # Avg (70): the mean of all nine categories, or none
        reps.pop(AVG70, None)
    for column in reps.keys() - diffs.keys():  # a mean's difference is the mean of its tasks' (categories')
        if column == AVG70:
            per_category = [np.mean([observed[n] for n in shared[c]]) for c in CATEGORIES if shared[c]]
            observed[column] = float(np.mean(per_category))
        else:
            observed[column] = float(np.mean([observed[n] for n in shared[column]]))
    return {name: bootstrap.paired_test(observed[name], r) for name, r in reps.items() if name in observed}


def p_text(test: bootstrap.PairedTest | None) -> str:
    if test is None:
        return ""
    return f"{test.difference:+.2f}, p={test.p_value:.3f}" + (" *" if test.significant() else "")


def draw_noise(published: float | None, draws: dict[str, Any] | None) -> str:
    """A published 2022 classification figure beside the spread of mteb 0.0.2's unseeded first shuffle (the
    `mteb-2022` draws of a run): within noise when it lies within 2 sd of their mean, else how many sd off."""
    if published is None or not draws or not draws.get("accuracy"):
        return ""
    mean, sd = 100 * float(np.mean(draws["accuracy"])), 100 * float(draws["sd"])
    off = abs(published - mean) / sd if sd > 0 else float("inf") if published != mean else 0.0
    verdict = "within noise" if off <= 2 else f"{off:.1f} sd off"
    return f"{published:.2f} vs {mean:.2f} ± {sd:.2f} ({len(draws['accuracy'])} draws): {verdict}"
