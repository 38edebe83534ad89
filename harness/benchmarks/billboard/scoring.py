"""Billboard text-generation evaluation (INSTRUCTOR paper, appendix B.3; Kasai et al. 2022).

Each generated text (hypothesis) is scored by its best cosine similarity to any reference of its item; the
task score is the Pearson correlation of those scores with the human judgments over all (item, system)
pairs. Spearman, Kendall and the system-level Pearson (per-system means) are reported beside it.

Files (the Billboard / THumB jsonl format):
  hypotheses  one row per item x system: SYS, seg_id, set_id, hyp, human_score, ...
  references  one row per item: seg_id, set_id, refs (a non-empty list; the count may differ per item)
Rows are joined on the item key (set_id, seg_id), never on row order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from harness.core.checks import Notes
from harness.core.errors import DataError
from harness.core.io import read_jsonl
from harness.core.items import Items, Stratum

Item = tuple[str, str]  # (set_id, seg_id) as strings


@dataclass(frozen=True)
class Hypothesis:
    item: Item
    system: str
    text: str
    human: float


@dataclass(frozen=True)
class BillboardData:
    hypotheses: list[Hypothesis]
    references: dict[Item, list[str]]


def _item(row: dict[str, Any], where: str) -> Item:
    for key in ("set_id", "seg_id"):
        if key not in row:
            raise DataError(f"{where}: missing column {key!r} (items are keyed by set_id and seg_id)")
    return str(row["set_id"]), str(row["seg_id"])


HYPOTHESIS_FIELDS = {"SYS", "set_id", "seg_id", "hyp", "human_score"}  # what the scorer reads; other fields are
REFERENCE_FIELDS = {"set_id", "seg_id", "refs"}  # the annotation files' own (THumB: turker_annotations, may be NaN)


def load(hypotheses: Path, references: Path, notes: Notes | None = None) -> BillboardData:
    """The two files, refusing what would change the correlation (a missing or non-finite human score, an unknown
    or repeated item) and noting what the reference code read as it stands (an empty hypothesis, NaN in a field
    nothing reads)."""
    notes = notes if notes is not None else Notes()
    refs: dict[Item, list[str]] = {}
    for number, row in read_jsonl(references, nonfinite=True):
        where = f"{references}:{number}"
        item = _item(row, where)
        value = row.get("refs")
        if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
            raise DataError(f"{where}: 'refs' must be a non-empty list of strings, got {value!r:.80}")
        if item in refs:
            raise DataError(f"{where}: item set_id={item[0]} seg_id={item[1]} has a second references row")
        refs[item] = value
        notes.unread_nonfinite(references.name, number, row, REFERENCE_FIELDS)
    hyps: list[Hypothesis] = []
    seen: dict[tuple[Item, str], int] = {}
    for number, row in read_jsonl(hypotheses, nonfinite=True):
        where = f"{hypotheses}:{number}"
        item = _item(row, where)
        for key in ("SYS", "hyp", "human_score"):
            if key not in row:
                raise DataError(f"{where}: missing column {key!r}")
        score = row["human_score"]
        if not isinstance(score, int | float) or isinstance(score, bool) or not np.isfinite(score):
            raise DataError(
                f"{where}: human_score must be a finite number (the judgment the score correlates with), got "
                f"{score!r}; fix or drop the row"
            )
        if not isinstance(row["hyp"], str):
            raise DataError(f"{where}: hyp must be a string, got {type(row['hyp']).__name__}")
        if not row["hyp"].strip():
            notes.add(hypotheses.name, number, "empty 'hyp'")
        notes.unread_nonfinite(hypotheses.name, number, row, HYPOTHESIS_FIELDS)
        if item not in refs:
            raise DataError(f"{where}: item set_id={item[0]} seg_id={item[1]} has no references in {references}")
        pair = (item, str(row["SYS"]))
        if pair in seen:
            raise DataError(
                f"{where}: duplicate (item set_id={item[0]} seg_id={item[1]}, system "
                f"{row['SYS']!r}); first at line {seen[pair]}"
            )
        seen[pair] = number
        hyps.append(Hypothesis(item, str(row["SYS"]), row["hyp"], float(score)))
    if not hyps:
        raise DataError(f"{hypotheses}: no hypotheses")
    return BillboardData(hyps, refs)


def max_reference_cosine(data: BillboardData, encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Per hypothesis: the highest cosine similarity to any reference of its item."""
    items = sorted({h.item for h in data.hypotheses})
    ref_texts = [r for item in items for r in data.references[item]]
    bounds = np.cumsum([0] + [len(data.references[item]) for item in items])
    span = {item: (bounds[i], bounds[i + 1]) for i, item in enumerate(items)}
    hyp_vectors = _unit(encode([h.text for h in data.hypotheses]))
    ref_vectors = _unit(encode(ref_texts))
    return np.array(
        [(ref_vectors[slice(*span[h.item])] @ v).max() for h, v in zip(data.hypotheses, hyp_vectors, strict=True)]
    )


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def correlations(data: BillboardData, predicted: np.ndarray) -> dict[str, Any]:
    human = np.array([h.human for h in data.hypotheses])
    systems = sorted({h.system for h in data.hypotheses})
    per_system = [[i for i, h in enumerate(data.hypotheses) if h.system == s] for s in systems]
    sys_pred = [predicted[idx].mean() for idx in per_system]
    sys_human = [human[idx].mean() for idx in per_system]
    scores = {
        "pearson": float(stats.pearsonr(predicted, human).statistic),
        "spearman": float(stats.spearmanr(predicted, human).statistic),
        "kendall": float(stats.kendalltau(predicted, human).statistic),
        "system_pearson": float(stats.pearsonr(sys_pred, sys_human).statistic) if len(systems) > 2 else None,
        "n_pairs": len(data.hypotheses),
        "n_items": len({h.item for h in data.hypotheses}),
        "n_systems": len(systems),
    }
    scores["main_score"] = scores["pearson"]
    return scores


def items(data: BillboardData, predicted: np.ndarray) -> Items:
    """Each (item, system) pair's score and human judgment; an item resamples with all its systems."""
    columns = {"x": predicted, "y": np.array([h.human for h in data.hypotheses])}
    ids = ["|".join((*h.item, h.system)) for h in data.hypotheses]
    group = np.asarray(["|".join(h.item) for h in data.hypotheses])
    return Items([Stratum("", "pearson", columns, ids=ids, group=group)])
