"""Data checked against mteb's own descriptive statistics (`mteb.get_task(name).metadata.descriptive_stats`, shipped
in the mteb package for each task's dataset revision: samples per split and subset, characters, unique texts,
lengths, label counts, score means).

The figures of the data at hand are computed by mteb's own statistic code (`_calculate_descriptive_statistics_from_
split`, the method that wrote the shipped figures) over the data in the form mteb's evaluators take it, so the two
are comparable figure for figure. Measured on the real copies in `../shared/data`: the exact copies (Banking77,
Emotion, SciFact) agree on every figure but `unique_pairs`, which the mteb release that wrote the figures counted
otherwise (exact copies of STSBenchmark and SICK-R differ there by 1 and 65), so it is left out; BIOSSES, STS12 and
SummEval, known to differ in text, differ exactly there.

Hub data that does not agree is refused (`DataError`, naming the files and the figures): the download is short,
damaged or not the revision's. A `--data-dir` copy is only noted ("this copy differs from MTEB's: ..."): it may be
a deliberate, documented copy (`../shared/data/mteb/BIOSSES/SOURCE.md`), and the note travels into the run record
and the report beside its score.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.benchmarks.mteb.spec import place

if TYPE_CHECKING:
    from harness.benchmarks.mteb.spec import HubPin

HASHES_BAR = "mteb._content_hashes"  # its "Computing text hashes" bar, which no switch of mteb's turns off
UNCOMPARED = {"unique_pairs"}  # counted otherwise by the mteb release that wrote the shipped figures (see above)
FIGURE_NAMES = {  # how a figure reads in a note or refusal (others: `_name`)
    "num_samples": "samples",
    "number_of_characters": "characters",
    "num_documents": "documents",
    "num_queries": "queries",
    "score_statistics.avg_score": "mean score",
    "label_statistics.avg_score": "mean score",
}
LEADING = tuple(FIGURE_NAMES)  # shown first: the figures a reader checks a copy by


@dataclass(frozen=True)
class Difference:
    where: str  # the split, `en/test` in a task of several subsets (`spec.place`)
    figure: str
    found: Any
    expected: Any

    def text(self) -> str:
        return f"{self.where}: {_name(self.figure)} {_fmt(self.found)} vs {_fmt(self.expected)}"


LEAVES = {"total_text_length": "characters", "unique_texts": "unique texts", "min_text_length": "shortest",
          "max_text_length": "longest"}  # fmt: skip


def _name(figure: str) -> str:
    """`text1_statistics.total_text_length` -> `text1 characters`; the leading figures by their plain names."""
    if figure in FIGURE_NAMES:
        return FIGURE_NAMES[figure]
    group, _, leaf = figure.rpartition(".")
    group = group.removesuffix("_statistics").removesuffix("_text")  # queries_text_statistics -> queries
    return f"{group} {LEAVES.get(leaf, leaf.replace('_', ' '))}".strip()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return f"{value:,}" if isinstance(value, int) else repr(value)


def subsets_of(task: Any) -> dict[str, Any]:
    """{subset: {split: data}} of a task mteb loaded: a task of one subset loaded from the hub holds its splits
    directly (`{split: data}`), one loaded from `--data-dir` or of several subsets by subset."""
    data = task.dataset
    return data if set(task.hf_subsets) <= set(data) else {"default": data}


def expected_stats(task: Any, subset: str, split: str) -> Mapping[str, Any] | None:
    """mteb's shipped figures of one subset and split of `task`'s own revision, or None where it ships none."""
    stats = (task.metadata.descriptive_stats or {}).get(split)
    if not stats:
        return None
    per_subset = stats.get("hf_subset_descriptive_stats")
    return per_subset.get(subset) if per_subset else stats


def observed_stats(task: Any, subset: str, split: str) -> Mapping[str, Any]:
    """The same figures of the data `task.dataset` holds ({subset: {split: ...}}), by mteb's own code."""
    from harness.core.progress import bars_off

    with bars_off(HASHES_BAR):
        return dict(task._calculate_descriptive_statistics_from_split(split, hf_subset=subset))


def differences(found: Mapping[str, Any], expected: Mapping[str, Any], where: str) -> list[Difference]:
    """Every figure mteb ships that the data gives otherwise (floats to 1e-9 relative; label counts as counts)."""
    out = []
    for path, value in _leaves(expected):
        leaf = path.rsplit(".", 1)[-1]
        if leaf in UNCOMPARED or leaf.startswith("average_") or value is None:  # an average: a total over a count
            continue
        got = _at(found, path)
        same = (
            isinstance(got, int | float) and math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-12)
            if isinstance(value, float)
            else got == value
        )
        if not same:
            out.append(Difference(where, path, got, value))
    return out


def check(task: Any, splits: list[str]) -> list[Difference]:
    """The differences between the data `task.dataset` holds ({subset: {split: ...}}) and mteb's figures for the
    task's revision, over its subsets and `splits` (those mteb ships figures for)."""
    found = []
    for subset in task.hf_subsets:
        for split in splits:
            expected = expected_stats(task, subset, split)
            if expected is not None:
                found += differences(observed_stats(task, subset, split), expected, place(subset, split))
    return found


def against_record(task: Any, pin: HubPin, counts: Mapping[str, int], splits: list[str]) -> list[Difference]:
    """The data `task.dataset` holds for `pin` against the figures of record: the samples per subset and split the
    task file records for a revision whose figures mteb does not ship (`HubPin.rows`, against `counts`: rows per
    split as read, named as `spec.place` names them), else mteb's figures, which are `pin`'s (the revision mteb pins, or one the record
    shows holds its rows). [] where neither applies (the smoke suite borrows a real task's class, not its data)."""
    if pin.rows is not None:
        return [
            Difference(where, "num_samples", counts.get(where), expected)
            for where, expected in pin.rows.items()
            if counts.get(where) != expected
        ]
    if task.metadata.dataset.get("path") != pin.hf_dataset:
        return []
    return check(task, splits)


def summary(found: list[Difference], limit: int = 4) -> str:
    """The differences in one line, the leading figures (samples, characters, queries, mean score) first: the
    first `limit`, then how many more."""
    ranked = sorted(found, key=lambda d: LEADING.index(d.figure) if d.figure in LEADING else len(LEADING))
    shown = "; ".join(d.text() for d in ranked[:limit])
    return shown + (f"; and {len(found) - limit} more figures" if len(found) > limit else "")


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if key == "hf_subset_descriptive_stats":
            continue
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{path}.")
        else:
            yield path, value


def _at(tree: Mapping[str, Any], path: str) -> Any:
    value: Any = tree
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value
