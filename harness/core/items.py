"""Per-item outputs: what each task's score is computed from, saved beside its result so the score can be
re-aggregated (bootstrap intervals, paired tests) without re-encoding.

A task's score is a weighted mean over *strata* (subsets, CQADupstack forums, clustering sets, classification
subsets), each one statistic of its items:
  mean       `value` per item (a query's nDCG@10 or AP, a test text's accuracy over the experiments, a
             document's Spearman, a prompt's ROUGE-L)
  spearman   `x` (the model's similarity) against `y` (the gold score), per pair
  pearson    the same, Pearson's r
  ap         average precision of `score` for the binary `label`, per pair
  v_measure  V-measure of the predicted cluster `pred` against the gold `label`, per text
  kth_lowest_group_mean  the k-th lowest mean of `value` over the groups (`group`): the prompt-retrieval Amazon
             task's reviewer at about the 10th percentile
Items resample as units, or whole `group`s where a stratum has them (a Billboard item with its systems).
The saved statistic over all items equals the task's main score (the runner checks it to 1e-9).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import HarnessError

KINDS = ("mean", "spearman", "pearson", "ap", "v_measure", "kth_lowest_group_mean")
COLUMNS = {
    "mean": ("value",),
    "spearman": ("x", "y"),
    "pearson": ("x", "y"),
    "ap": ("score", "label"),
    "v_measure": ("label", "pred"),
    "kth_lowest_group_mean": ("value",),
}
FORMAT = 1


@dataclass
class Stratum:
    """One statistic over one set of items."""

    name: str
    kind: str
    columns: dict[str, np.ndarray]
    weight: float = 1.0
    ids: list[str] | None = None  # what each item is, so two runs' items can be checked to pair up
    group: np.ndarray | None = None  # resampling unit per item, when items come in groups
    k: int | None = None  # kth_lowest_group_mean only

    def __post_init__(self) -> None:
        if self.kind not in KINDS or set(self.columns) != set(COLUMNS[self.kind]):
            raise HarnessError(f"items {self.name}: kind {self.kind!r} needs columns {COLUMNS.get(self.kind)}")
        self.columns = {k: np.asarray(v) for k, v in self.columns.items()}
        sizes = {len(v) for v in self.columns.values()} | ({len(self.group)} if self.group is not None else set())
        if len(sizes) != 1:
            raise HarnessError(f"items {self.name}: columns of different lengths {sorted(sizes)}")
        if self.kind == "kth_lowest_group_mean" and (self.group is None or not self.k):
            raise HarnessError(f"items {self.name}: kth_lowest_group_mean needs group and k")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "weight": self.weight,
            "columns": {k: v.tolist() for k, v in self.columns.items()},
            **({"ids": self.ids} if self.ids is not None else {}),
            **({"group": self.group.tolist()} if self.group is not None else {}),
            **({"k": self.k} if self.k is not None else {}),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Stratum:
        group = obj.get("group")
        return cls(
            obj["name"],
            obj["kind"],
            {k: np.asarray(v) for k, v in obj["columns"].items()},
            obj["weight"],
            obj.get("ids"),
            None if group is None else np.asarray(group),
            obj.get("k"),
        )


@dataclass
class Items:
    """A task's per-item outputs: its strata, whose weighted statistics sum to the task's score."""

    strata: list[Stratum] = field(default_factory=list)

    def score(self) -> float:
        return float(sum(s.weight * statistic(s, None) for s in self.strata))

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "strata": [s.to_json() for s in self.strata]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Items:
        if obj.get("format") != FORMAT:
            raise HarnessError(f"per-item outputs in format {obj.get('format')!r}; this harness reads {FORMAT}")
        return cls([Stratum.from_json(s) for s in obj["strata"]])

    @staticmethod
    def combine(parts: Sequence[tuple[str, Items]]) -> Items:
        """Equal-weight mean of several Items (subsets, forums), stratum names prefixed by their part."""
        out = []
        for name, items in parts:
            for s in items.strata:
                s.name, s.weight = f"{name}/{s.name}" if s.name else name, s.weight / len(parts)
                out.append(s)
        return Items(out)


def single(kind: str, name: str = "", **columns: Any) -> Items:
    return Items([Stratum(name, kind, {k: np.asarray(v) for k, v in columns.items()})])


def items_path(folder: Path, task: str) -> Path:
    return folder / "items" / f"{task}.json.gz"


def save(items: Items, path: Path) -> None:
    from harness.core.io import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.compress(json.dumps(items.to_json(), separators=(",", ":")).encode(), mtime=0)
    write_atomic(path, lambda fh: fh.write(data), mode="wb")


def load(path: Path) -> Items:
    try:
        return Items.from_json(json.loads(gzip.decompress(path.read_bytes())))
    except (OSError, ValueError, KeyError) as exc:
        raise HarnessError(f"{path}: unreadable per-item outputs ({exc}); re-run the task with --overwrite") from None


# ---------------------------------------------------------------- each kind's statistic (bootstrap resamples it)
def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(axis=-1) / np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))


def _ap(score: np.ndarray, label: np.ndarray, weight: np.ndarray | None = None) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(label, score, sample_weight=weight))


def _cells(label: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Each item's cell of the contingency table (gold cluster x predicted cluster) and the table's shape."""
    _, li = np.unique(label, return_inverse=True)
    _, pi = np.unique(pred, return_inverse=True)
    shape = (int(li.max()) + 1, int(pi.max()) + 1)
    return li * shape[1] + pi, shape


def _v_measure(table: np.ndarray) -> float:
    """V-measure of a (weighted) contingency table, natural logs as sklearn's `v_measure_score`."""
    n = table.sum()

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / n
        return float(-(p * np.log(p)).sum())

    rows, cols = table.sum(axis=1), table.sum(axis=0)
    ci, ki = np.nonzero(table)
    joint = table[ci, ki]
    h_c, h_k = entropy(rows), entropy(cols)
    h_c_given_k = float(-(joint / n * np.log(joint / cols[ki])).sum())
    h_k_given_c = float(-(joint / n * np.log(joint / rows[ci])).sum())
    homogeneity = 1.0 if h_c == 0 else 1 - h_c_given_k / h_c
    completeness = 1.0 if h_k == 0 else 1 - h_k_given_c / h_k
    if homogeneity + completeness == 0:
        return 0.0
    return 2 * homogeneity * completeness / (homogeneity + completeness)


def group_at_rank(
    value: np.ndarray, group: np.ndarray, rank: int, weight: np.ndarray | None = None
) -> tuple[str, float]:
    """The group at 0-based `rank` of ascending mean `value` (past the last: the last; ties in order of first
    appearance), and that mean. The one definition of Amazon's "reviewer at rank": its scorer picks the group
    with it, its per-item statistic (`kth_lowest_group_mean`, k = rank + 1) resamples it."""
    first = {g: i for i, g in reversed(list(enumerate(group.tolist())))}
    names = sorted(first, key=first.__getitem__)
    index = {g: i for i, g in enumerate(names)}
    gi = np.fromiter((index[g] for g in group.tolist()), int, len(group))
    w = np.ones(len(value)) if weight is None else weight
    totals, counts = np.bincount(gi, w * value, len(names)), np.bincount(gi, w, len(names))
    present = np.flatnonzero(counts > 0)
    means = totals[present] / counts[present]
    pick = present[np.argsort(means, kind="stable")[min(rank, len(present) - 1)]]
    return str(names[pick]), float(totals[pick] / counts[pick])


def statistic(s: Stratum, idx: np.ndarray | None) -> float:
    """The stratum's statistic on the items `idx` (all items, in order, when None)."""
    return float(statistic_rows(s, None if idx is None else idx[None, :])[0])


def statistic_rows(s: Stratum, idx: np.ndarray | None) -> np.ndarray:
    """The statistic on each row of item indices `idx` (B x n); one value when None (all items)."""
    c = s.columns
    if idx is None:
        idx = np.arange(len(s))[None, :]
    if s.kind == "mean":
        return c["value"].astype(float)[idx].mean(axis=1)
    if s.kind == "pearson":
        return _pearson_rows(c["x"].astype(float)[idx], c["y"].astype(float)[idx])
    if s.kind == "spearman":
        from scipy.stats import rankdata  # here, not at import: scipy.stats takes 0.7 s to load

        return _pearson_rows(rankdata(c["x"][idx], axis=1), rankdata(c["y"][idx], axis=1))
    if s.kind == "v_measure":  # the contingency table of each resample, counted from its items' cells
        cells, shape = _cells(c["label"], c["pred"])
        size = shape[0] * shape[1]
        return np.asarray([_v_measure(np.bincount(cells[row], minlength=size).reshape(shape)) for row in idx])
    # the rest by resample counts as weights: a resample with repeats is the data weighted by multiplicity
    out = np.empty(len(idx))
    for b, row in enumerate(idx):
        w = np.bincount(row, minlength=len(s)).astype(float)
        if s.kind == "ap":
            out[b] = _ap(c["score"], c["label"], w)
        else:
            out[b] = group_at_rank(c["value"].astype(float), s.group, (s.k or 1) - 1, w)[1]  # type: ignore[arg-type]
    return out
