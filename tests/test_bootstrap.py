"""Intervals and paired tests (harness.core.bootstrap) against an independent computation: the documented draws
replayed by hand, each replicate scored by scipy / sklearn on the resampled rows themselves (not by the weighted
shortcuts the module uses), scipy.stats.bootstrap, a planted real difference, and identical or equally noisy runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, v_measure_score

from harness.core import bootstrap
from harness.core import items as per_item
from harness.core.errors import HarnessError
from harness.core.items import Items, Stratum, single

RNG = np.random.default_rng(7)
N = 120


def _sts(noise: float, rng: np.random.Generator, gold: np.ndarray) -> Items:
    return single("spearman", x=gold + noise * rng.normal(size=len(gold)), y=gold)


# Each kind with its independent scorer: the statistic computed directly on resampled rows.
CASES: dict[str, tuple[Stratum, Callable[[dict[str, np.ndarray]], float]]] = {
    "mean": (Stratum("", "mean", {"value": RNG.random(N)}), lambda c: float(np.mean(c["value"]))),
    "spearman": (
        Stratum("", "spearman", {"x": RNG.normal(size=N), "y": np.round(RNG.normal(size=N), 1)}),
        lambda c: float(stats.spearmanr(c["x"], c["y"])[0]),
    ),
    "pearson": (
        Stratum("", "pearson", {"x": RNG.normal(size=N), "y": RNG.normal(size=N)}),
        lambda c: float(stats.pearsonr(c["x"], c["y"])[0]),
    ),
    "ap": (
        Stratum("", "ap", {"score": RNG.normal(size=N), "label": RNG.integers(0, 2, N)}),
        lambda c: float(average_precision_score(c["label"], c["score"])),
    ),
    "v_measure": (
        Stratum("", "v_measure", {"label": RNG.integers(0, 4, N), "pred": RNG.integers(0, 5, N)}),
        lambda c: float(v_measure_score(c["label"], c["pred"])),
    ),
}


def _by_hand(items: Items, seed: int, resamples: int, scorers: list[Callable]) -> np.ndarray:
    """The module docstring's scheme, replayed: per replicate, per stratum, rng.integers(0, n, n)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(resamples):
        total = 0.0
        for s, score in zip(items.strata, scorers, strict=True):
            idx = rng.integers(0, len(s), size=len(s))
            total += s.weight * score({k: v[idx] for k, v in s.columns.items()})
        out.append(total)
    return np.asarray(out)


@pytest.mark.parametrize("kind", list(CASES))
def test_statistic_and_replicates_equal_an_independent_computation(kind: str) -> None:
    """Fails if a kind's vectorised or weighted statistic (ranks, AP with multiplicities, the contingency
    V-measure) or the draw order drifts from the documented scheme."""
    stratum, score = CASES[kind]
    items = Items([stratum])
    assert items.score() == pytest.approx(score(stratum.columns), abs=1e-12)
    ours = bootstrap.replicates(items, seed=11, resamples=60)
    assert ours == pytest.approx(_by_hand(items, 11, 60, [score]), abs=1e-10)


def test_strata_are_weighted_and_drawn_in_order() -> None:
    """Two subsets of different sizes, equal weight: fails if strata were pooled or drawn in another order."""
    a, b = CASES["spearman"][0], CASES["mean"][0]
    items = Items.combine(
        [("x", Items([Stratum("", a.kind, dict(a.columns))])), ("y", Items([Stratum("", b.kind, dict(b.columns))]))]
    )
    expected = 0.5 * CASES["spearman"][1](a.columns) + 0.5 * CASES["mean"][1](b.columns)
    assert items.score() == pytest.approx(expected, abs=1e-12)
    scorers = [CASES["spearman"][1], CASES["mean"][1]]
    assert bootstrap.replicates(items, 3, 40) == pytest.approx(_by_hand(items, 3, 40, scorers), abs=1e-10)


def test_mean_interval_agrees_with_scipy_bootstrap() -> None:
    """scipy's own percentile bootstrap of a mean, another generator: the endpoints agree to Monte Carlo error."""
    values = RNG.exponential(size=400)
    ours = bootstrap.interval(bootstrap.replicates(single("mean", value=values), 5, 4000))
    theirs = stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile", random_state=9)
    assert ours.low == pytest.approx(theirs.confidence_interval.low, abs=0.15 * ours.se)
    assert ours.high == pytest.approx(theirs.confidence_interval.high, abs=0.15 * ours.se)
    assert ours.se == pytest.approx(values.std(ddof=1) / np.sqrt(len(values)), rel=0.1)


def test_groups_resample_whole() -> None:
    """Billboard: an item resamples with all its systems. Fails if rows were drawn one by one."""
    group = np.repeat(np.arange(30), 4)
    s = Stratum("", "pearson", {"x": RNG.normal(size=120), "y": RNG.normal(size=120)}, group=group)
    for (drawn,) in bootstrap._draws(Items([s]), seed=0, resamples=20):
        counts = np.bincount(group[drawn], minlength=30)
        assert len(drawn) == 120 and set(counts) <= {0, 4, 8, 12, 16, 20}


def test_identical_runs_are_not_different() -> None:
    gold = RNG.normal(size=200)
    run = _sts(0.8, np.random.default_rng(1), gold)
    test = bootstrap.compare("STS12", run, run)
    assert (test.difference, test.low, test.high, test.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert not test.significant()


def test_a_planted_real_difference_is_detected() -> None:
    """Run A's similarities carry half the noise of run B's on the same pairs: a real gain. Fails if the paired
    resampling broke (independent draws for the two runs would bury it in each run's own noise)."""
    gold = RNG.normal(size=300)
    a, b = _sts(0.5, np.random.default_rng(2), gold), _sts(1.0, np.random.default_rng(3), gold)
    test = bootstrap.compare("STS12", a, b)
    assert test.difference > 0 and test.low > 0 and test.p_value < 0.01


def test_equally_noisy_runs_are_rarely_called_different() -> None:
    """No real difference (same noise level, independent draws): at the 5% level the test must reject about 5%
    of the time. Fails if the p-value were computed from the unshifted distribution (rejecting about half)."""
    gold = RNG.normal(size=150)
    rejected = 0
    for seed in range(60):
        rng = np.random.default_rng(100 + seed)
        a, b = _sts(1.0, rng, gold), _sts(1.0, rng, gold)
        rejected += bootstrap.compare("STS12", a, b, resamples=400).significant()
    assert rejected <= 9  # 5% of 60 is 3; 9 or more has probability < 0.005 under a calibrated test


def test_paired_test_p_value_by_hand() -> None:
    """(1 + #{|d_b - d| >= |d|}) / (1 + B) on a small hand-made set of replicates."""
    test = bootstrap.paired_test(1.0, np.array([0.5, 1.0, 1.5, 2.5, -0.2, 3.0]))
    # |d_b - 1| = 0.5, 0, 0.5, 1.5, 1.2, 2.0 -> three are >= 1
    assert test.p_value == pytest.approx(4 / 7)


def test_runs_on_different_items_pair_on_the_common_ones_or_are_refused() -> None:
    """A per-item mean (SummEval documents the fork skipped under one instruction only) is compared on the items
    both scored; a correlation over different pairs, or different test sets, is refused."""
    a = Items([Stratum("", "mean", {"value": np.array([1.0, 0.0, 1.0])}, ids=["d1", "d2", "d3"])])
    b = Items([Stratum("", "mean", {"value": np.array([0.0, 1.0, 0.5])}, ids=["d2", "d3", "d4"])])
    test = bootstrap.compare("SummEval", a, b, resamples=50)
    assert test.difference == pytest.approx((0.0 + 1.0) / 2 - (0.0 + 1.0) / 2)  # d2, d3 only
    x = np.arange(3.0)
    sa = Items([Stratum("", "spearman", {"x": x, "y": x}, ids=["p1", "p2", "p3"])])
    sb = Items([Stratum("", "spearman", {"x": x, "y": x}, ids=["p1", "p2", "p4"])])
    with pytest.raises(HarnessError, match="scored different items"):
        bootstrap.compare("STS12", sa, sb)
    with pytest.raises(HarnessError, match="do not pair up"):
        bootstrap.compare("SciFact", single("mean", value=np.ones(3)), single("mean", value=np.ones(4)))


def test_items_round_trip_and_unreadable_files(tmp_path: Path) -> None:
    items = Items(
        [
            CASES["v_measure"][0],
            Stratum("b", "kth_lowest_group_mean", {"value": np.arange(6.0)}, 0.5, group=np.array(list("aabbcc")), k=2),
        ]
    )
    path = per_item.items_path(tmp_path, "Task")
    per_item.save(items, path)
    again = per_item.load(path)
    assert again.score() == items.score() and again.to_json() == items.to_json()
    path.write_bytes(b"not gzip")
    with pytest.raises(HarnessError, match="unreadable per-item outputs"):
        per_item.load(path)


def test_kth_lowest_group_mean_by_hand() -> None:
    """Amazon's reviewer at rank 3 of ascending accuracy."""
    values = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1, 0.0])
    group = np.array(list("aabbccddee"))  # means a 1, b .5, c 0, d 1, e .5
    assert single("mean", value=values).score() == pytest.approx(0.6)
    assert Items([Stratum("", "kth_lowest_group_mean", {"value": values}, group=group, k=3)]).score() == 0.5


def test_pairing_a_large_id_set_is_linear() -> None:
    """`pair_up` rebuilt the other run's id set for every item: 1.8 s at 4,000 ids, minutes for the paired test of
    a large retrieval task. 200,000 ids (every other one skipped by run B) pair in well under a second; the pairs
    are the ids both scored, in A's order."""
    import time

    from harness.core.bootstrap import pair_up
    from harness.core.items import Items, Stratum

    ids = [f"q{i}" for i in range(200_000)]
    a = Items([Stratum("", "mean", {"value": np.arange(len(ids), dtype=float)}, ids=ids)])
    b = Items([Stratum("", "mean", {"value": np.arange(0, len(ids), 2, dtype=float)}, ids=ids[::2])])
    start = time.perf_counter()
    pa, pb = pair_up("T", a, b)
    assert time.perf_counter() - start < 30  # a bound on complexity, not a timing: quadratic takes hours here
    assert pa.strata[0].ids == ids[::2] and np.array_equal(pa.strata[0].columns["value"], pb.strata[0].columns["value"])
