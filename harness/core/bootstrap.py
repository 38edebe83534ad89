"""Confidence intervals and paired tests from per-item outputs (`harness.core.items`).

Method (documented in docs/guides/compare.md, recorded with every interval):
- Nonparametric bootstrap over test items: `RESAMPLES` replicates; in each, every stratum draws its items (or
  its groups) uniformly with replacement, `numpy.random.default_rng(seed)`, strata in order, one
  `rng.integers(0, n, size=n)` per stratum and replicate, replicate by replicate. The seed is `SEED` mixed with
  the task's name (`task_seed`), so a task's interval does not depend on which other tasks ran. The statistic is
  recomputed on each replicate (V-measure keeps the clustering; the model is not re-run). Interval: the
  percentile interval at `LEVEL`; also the replicates' standard deviation (the standard error).
- Paired test of two runs on the same task (same items, checked by their ids): both runs are resampled with the
  same indices, giving replicates of the difference d_b; the interval is their percentile interval and the
  two-sided p-value is (1 + #{|d_b - d| >= |d|}) / (1 + B), the bootstrap distribution shifted to the null
  (Efron & Tibshirani 1993, 16.4; Berg-Kirkpatrick et al. 2012). Identical runs give d = 0 and p = 1.
- Aggregates (category means, Avg) average the tasks' replicates index by index: tasks are independent
  samples, so replicate b of the mean is the mean of the tasks' replicates b.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.core.errors import HarnessError
from harness.core.items import Items, Stratum, statistic, statistic_rows

RESAMPLES = 1000
SEED = 20230101
LEVEL = 0.95


def task_seed(task: str, seed: int = SEED) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{task}".encode()).digest()[:8], "little")


def _draws(items: Items, seed: int, resamples: int) -> list[list[np.ndarray]]:
    """Each replicate's item indices per stratum (the module docstring's scheme): n items, or as many groups as
    there are, each with all its items."""
    rng = np.random.default_rng(seed)
    members: list[list[np.ndarray] | None] = []  # a grouped stratum's items per group, found once
    for s in items.strata:
        if s.group is None or s.kind == "kth_lowest_group_mean":
            members.append(None)
        else:
            _, gi = np.unique(s.group, return_inverse=True)
            members.append([np.flatnonzero(gi == g) for g in range(gi.max() + 1)])

    def draw(s: Stratum, groups: list[np.ndarray] | None) -> np.ndarray:
        if groups is None:
            return rng.integers(0, len(s), size=len(s))
        return np.concatenate([groups[g] for g in rng.integers(0, len(groups), size=len(groups))])

    return [[draw(s, g) for s, g in zip(items.strata, members, strict=True)] for _ in range(resamples)]


def replicates(items: Items, seed: int, resamples: int = RESAMPLES) -> np.ndarray:
    """The task score on each of `resamples` bootstrap replicates (the module docstring's scheme)."""
    return _scores(items, _draws(items, seed, resamples))


def _scores(items: Items, draws: list[list[np.ndarray]]) -> np.ndarray:
    total = np.zeros(len(draws))
    for j, s in enumerate(items.strata):
        rows = [d[j] for d in draws]
        if len({len(r) for r in rows}) == 1:
            total += s.weight * statistic_rows(s, np.stack(rows))
        else:  # grouped strata draw different numbers of items per replicate
            total += s.weight * np.asarray([statistic(s, r) for r in rows])
    return total


def percentile_interval(reps: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of the finite replicates."""
    low, high = np.quantile(reps[np.isfinite(reps)], [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


@dataclass(frozen=True)
class Interval:
    """A score's bootstrap interval and standard error."""

    low: float
    high: float
    se: float
    resamples: int = RESAMPLES
    level: float = LEVEL
    seed: int = SEED

    def record(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "se": self.se,
            "level": self.level,
            "resamples": self.resamples,
            "seed": self.seed,
            "method": "percentile bootstrap over test items (harness.core.bootstrap)",
        }


def interval(reps: np.ndarray, level: float = LEVEL, seed: int = SEED) -> Interval:
    reps = reps[np.isfinite(reps)]
    return Interval(*percentile_interval(reps, level), float(reps.std(ddof=1)), len(reps), level, seed)


def task_interval(task: str, items: Items, seed: int = SEED, resamples: int = RESAMPLES) -> Interval:
    return interval(replicates(items, task_seed(task, seed), resamples), seed=seed)


@dataclass(frozen=True)
class PairedTest:
    """Run A minus run B on the same items: the difference, its interval and the two-sided p-value."""

    difference: float
    low: float
    high: float
    p_value: float
    resamples: int

    def significant(self, alpha: float = 1 - LEVEL) -> bool:
        return self.p_value < alpha


def pair_up(task: str, a: Items, b: Items) -> tuple[Items, Items]:
    """The two runs' items one to one. Where a per-item mean scored different items in the two runs (the INSTRUCTOR
    fork skips SummEval documents whose scores are all equal, which depends on the instruction), both are cut to
    the items both scored; anything else that does not pair up is refused."""
    if [(s.name, s.kind) for s in a.strata] != [(s.name, s.kind) for s in b.strata]:
        raise HarnessError(f"{task}: the two runs' per-item outputs do not pair up (different subsets)")
    out_a, out_b = [], []
    for sa, sb in zip(a.strata, b.strata, strict=True):
        if sa.ids is not None and sb.ids is not None and sa.ids != sb.ids:
            theirs = set(sb.ids)  # once: a set per element made this quadratic (1.8 s at 4,000 ids)
            common = [i for i in sa.ids if i in theirs]
            if sa.kind != "mean" or not common:
                raise HarnessError(f"{task}: the two runs scored different items in {sa.name or 'the test set'}")
            sa, sb = _subset(sa, common), _subset(sb, common)
        elif len(sa) != len(sb):
            raise HarnessError(f"{task}: the two runs' per-item outputs do not pair up (different items)")
        out_a.append(sa)
        out_b.append(sb)
    return Items(out_a), Items(out_b)


def _subset(s: Stratum, ids: list[str]) -> Stratum:
    where = {i: n for n, i in enumerate(s.ids or [])}
    idx = np.asarray([where[i] for i in ids])
    return Stratum(s.name, s.kind, {k: v[idx] for k, v in s.columns.items()}, s.weight, ids)


def paired_replicates(task: str, a: Items, b: Items, seed: int, resamples: int = RESAMPLES) -> tuple[float, np.ndarray]:
    """The observed score(a) - score(b) over the items both scored, and its replicates, both runs resampled with
    the same indices."""
    a, b = pair_up(task, a, b)
    draws = _draws(a, seed, resamples)
    return a.score() - b.score(), _scores(a, draws) - _scores(b, draws)


def paired_test(observed: float, diffs: np.ndarray, level: float = LEVEL) -> PairedTest:
    diffs = diffs[np.isfinite(diffs)]
    low, high = percentile_interval(diffs, level)
    extreme = int(np.sum(np.abs(diffs - observed) >= abs(observed) - 1e-12))
    return PairedTest(observed, low, high, (1 + extreme) / (1 + len(diffs)), len(diffs))


def centred_interval(observed: float, diffs: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The interval dual to `paired_test`'s p-value: observed +- the `level` quantile of |replicate - observed|
    (the bootstrap distribution shifted to the null), so it excludes 0 exactly where p < 1 - level, up to the
    +1 of the p-value's count. A robustness spread is drawn and judged by this one interval (`reports.robustness`)."""
    diffs = diffs[np.isfinite(diffs)]
    half = float(np.quantile(np.abs(diffs - observed), level))
    return observed - half, observed + half


def compare(task: str, a: Items, b: Items, seed: int = SEED, resamples: int = RESAMPLES) -> PairedTest:
    """The paired test of run A against run B on one task."""
    return paired_test(*paired_replicates(task, a, b, task_seed(task, seed), resamples))


def mean_of(replicate_sets: Sequence[np.ndarray]) -> np.ndarray:
    """Replicates of a mean of independent tasks' scores (category means, Avg)."""
    return np.mean(np.stack(replicate_sets), axis=0)
