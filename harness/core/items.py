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
        from harness.core.bootstrap import statistic

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
