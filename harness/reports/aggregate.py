"""Aggregation as the paper computes it: a category score is the mean of its tasks; MTEB Avg is the mean over
the 56 MTEB datasets (not over categories); Avg (70) is the mean of the 9 category scores. A missing task never
silently shrinks an average: a partial average carries the number of tasks it covers."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from harness.core.spec import CATEGORIES, EXPECTED_COUNTS, MTEB_CATEGORIES, Registry

MTEB_AVG, AVG70 = "MTEB Avg", "Avg (70)"
COLUMNS = [*MTEB_CATEGORIES, MTEB_AVG, "Billboard", "PromptRetrieval", AVG70]
SHORT = {
    "Retrieval": "Retri.",
    "Reranking": "Rerank",
    "Clustering": "Cluster",
    "PairClassification": "Pair",
    "Classification": "Class.",
    "STS": "STS",
    "Summarization": "Sum.",
    MTEB_AVG: "MTEB Avg",
    "Billboard": "Billboard",
    "PromptRetrieval": "Prompt Retr.",
    AVG70: "Avg",
}
EXPECTED = {**EXPECTED_COUNTS, MTEB_AVG: 56, AVG70: 70}


@dataclass
class Run:
    label: str
    tasks: dict[str, float] = field(default_factory=dict)  # registry task -> score x100
    published: dict[str, float] = field(default_factory=dict)  # column -> published figure x100
    source: str = ""
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> what its run record says
    model: str = ""  # the model's hub id (mteb's name of it), where known: whose figures are compared with whose
    era: str = ""  # a published row's era (`reference/README.md`: 2022, 2024, card)

    @property
    def protocol(self) -> str | None:
        """The MTEB protocol its records name, where they name one (a published row: None)."""
        found = {r["condition"].get("protocol") for r in self.records.values() if "condition" in r}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    @property
    def partial(self) -> bool:
        """A `--limit` run: its tasks were scored on some of their items."""
        return any(r.get("partial") for r in self.records.values())


@dataclass(frozen=True)
class Cell:
    score: float | None
    n_tasks: int
    n_expected: int
    published: bool = False

    @property
    def complete(self) -> bool:
        return self.score is not None and (self.published or self.n_tasks == self.n_expected)

    def text(self) -> str:
        if self.score is None:  # Avg (70) over a partial selection is no average: only how much is there
            return f"{self.n_tasks}/{self.n_expected}" if self.n_tasks else "—"
        if self.published:
            return f"{self.score:.1f}†"
        return f"{self.score:.2f}" if self.complete else f"{self.score:.2f} ({self.n_tasks}/{self.n_expected})"


def aggregate(run: Run, registry: Registry) -> dict[str, Cell]:
    """The 9 categories, MTEB Avg and Avg (70), over the paper's tasks only: the smoke suite's and your own tasks
    (include paths) show in the per-task table, never inside a paper average. Where a run has no task of a column
    but a published figure (Billboard and prompt retrieval of the paper's rows), the published figure is shown,
    marked."""
    cells: dict[str, Cell] = {}
    paper = [s for s in registry.tasks.values() if registry.shipped(s.name)]
    by_cat = {c: [s.name for s in paper if s.category == c] for c in CATEGORIES}
    for column in COLUMNS:
        if column == AVG70:
            continue
        names = [n for c in MTEB_CATEGORIES for n in by_cat[c]] if column == MTEB_AVG else by_cat[column]
        have = [run.tasks[n] for n in names if n in run.tasks]
        if have:
            cells[column] = Cell(statistics.mean(have), len(have), EXPECTED[column])
        elif column in run.published:
            cells[column] = Cell(run.published[column], 0, EXPECTED[column], published=True)
        else:
            cells[column] = Cell(None, 0, EXPECTED[column])
    cats = [cells[c] for c in CATEGORIES]
    scores = [c.score for c in cats if c.score is not None]
    n = sum(c.n_expected if c.published else c.n_tasks for c in cats if c.score is not None)
    if all(c.complete for c in cats):
        cells[AVG70] = Cell(statistics.mean(scores), 70, 70, published=all(c.published for c in cats))
    elif scores:  # the mean of some categories is not the paper's average: shown as "n/70", no number
        cells[AVG70] = Cell(None, n, 70)
    else:
        cells[AVG70] = Cell(run.published.get(AVG70), 0, 70, published=AVG70 in run.published)
    return cells


def relative_gain(cells: dict[str, Cell], base: dict[str, Cell]) -> dict[str, float | None]:
    """(run - baseline) / baseline x 100, only where both cells are complete (never against a partial mean)."""
    return {
        c: (
            100 * (cells[c].score - base[c].score) / base[c].score  # type: ignore[operator]
            if cells[c].complete and base[c].complete and base[c].score
            else None
        )
        for c in COLUMNS
    }
