"""`harness robustness`: every paraphrase, frame or detail level of each task's instruction, per model; per task
the mean, the standard deviation and best-minus-worst (the paper's section 4.2 statistic) with a paired bootstrap
test of whether that spread is beyond the test set's noise (`spread_test`), and per category the mean of those.
Every variant is an ordinary run unit, so results are written, cached and resumed; the study is run by
`harness.app.api.robustness_study`, through `run`'s own preparation."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.core import bootstrap
from harness.core import items as per_item
from harness.core.errors import HarnessError
from harness.core.instructions import LEVELS, N_PARAPHRASES
from harness.core.spec import TaskSpec

KINDS = ("paraphrases", "frames", "levels")
METHOD = (
    "95% CI: the paired bootstrap over test items of best minus worst (harness.core.bootstrap, 1000 resamples), "
    "Bonferroni-corrected for the n(n-1)/2 pairs the best and worst were picked from (level 1 - 0.05/(n(n-1)/2)), "
    "centred on the spread; beyond noise: that interval excludes 0 (the figure draws the same interval). p: the "
    "corrected paired p-value, below 0.05 exactly where the interval excludes 0 but for ties at its edge."
)


def variant_names(kind: str, sides: str) -> list[str]:
    if kind == "levels":
        return [f"level:{lv}" for lv in LEVELS]
    prefix = {"paraphrases": "paraphrase", "frames": "frames"}[kind] + ("" if sides == "both" else "-query")
    return [f"{prefix}:{k}" for k in range(1, N_PARAPHRASES + 1)]


@dataclass
class Study:
    """One model under one kind of variant: each task's score per variant (x100) and where its items are."""

    model: str
    scores: dict[str, dict[str, float]]  # task -> variant -> score x100
    seconds: dict[str, float]  # variant -> wall time of its run
    items: dict[str, dict[str, Path | None]] = field(default_factory=dict)  # task -> variant -> per-item outputs
    kind: str = ""
    flagged: dict[str, str] = field(default_factory=dict)  # task -> why it has no spread (no evaluated instruction)
    limit: int | None = None  # --limit: every variant scored on at most this many items per task
    _replicates: dict[str, tuple[float, np.ndarray] | str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.model} {self.kind}".strip()

    def stats(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for task, by_variant in self.scores.items():
            values = list(by_variant.values())
            out[task] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "min": min(values),
                "max": max(values),
                "best_minus_worst": max(values) - min(values),
                "best": max(by_variant, key=by_variant.__getitem__),
                "worst": min(by_variant, key=by_variant.__getitem__),
                **self.spread_test(task),
            }
        return out

    def spread_replicates(self, task: str) -> tuple[float, np.ndarray] | str:
        """Best minus worst (x100, over the items both scored) and its bootstrap replicates, the two variants
        fixed by the full-data scores; or why there is no test."""
        if task not in self._replicates:
            self._replicates[task] = self._spread_replicates(task)
        return self._replicates[task]

    def _spread_replicates(self, task: str) -> tuple[float, np.ndarray] | str:
        by_variant, paths = self.scores[task], self.items.get(task, {})
        best, worst = max(by_variant, key=by_variant.__getitem__), min(by_variant, key=by_variant.__getitem__)
        if paths.get(best) is None or paths.get(worst) is None:
            return "no per-item outputs"
        a, b = per_item.load(paths[best]), per_item.load(paths[worst])  # type: ignore[arg-type]
        try:
            observed, reps = bootstrap.paired_replicates(task, a, b, bootstrap.task_seed(task))
        except HarnessError as exc:
            return str(exc)
        return 100 * observed, 100 * reps

    def spread_test(self, task: str) -> dict[str, Any]:
        """Is best-minus-worst beyond the test set's noise? The paired bootstrap test of the best variant
        against the worst, Bonferroni-corrected for having picked the pair after looking (n(n-1)/2 pairs)."""
        got = self.spread_replicates(task)
        if isinstance(got, str):
            return {"p_value": None, "low": None, "high": None, "beyond_noise": None, "why": got}
        return _tested(*got, len(self.scores[task]))


def _tested(observed: float, reps: np.ndarray, n_variants: int) -> dict[str, Any]:
    """One notion of beyond noise for the table and the figure: the Bonferroni-corrected interval (`METHOD`)."""
    pairs = max(1, n_variants * (n_variants - 1) // 2)
    p = min(1.0, bootstrap.paired_test(observed, reps).p_value * pairs)
    low, high = bootstrap.centred_interval(observed, reps, 1 - (1 - bootstrap.LEVEL) / pairs)
    return {"p_value": p, "low": low, "high": high, "beyond_noise": not low <= 0 <= high}


def category_test(s: Study, names: list[str]) -> dict[str, Any]:
    """The category's mean best-minus-worst, tested as one statistic (tasks' replicates averaged)."""
    got = [s.spread_replicates(n) for n in names if n not in s.flagged]
    tested = [g for g in got if not isinstance(g, str)]
    if not tested or len(tested) < len(got):
        return {"p_value": None, "low": None, "high": None, "beyond_noise": None, "why": "a task has no test"}
    n_variants = len(next(iter(s.scores.values())))
    observed = statistics.mean(o for o, _ in tested)
    return _tested(observed, bootstrap.mean_of([r for _, r in tested]), n_variants)


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "" if x is None else format(x, spec)


def _test_cells(t: dict[str, Any]) -> list[str]:
    if t["p_value"] is None:
        return ["", "", t["why"]]
    return [f"[{t['low']:.2f}, {t['high']:.2f}]", _fmt(t["p_value"], ".3f"), "yes" if t["beyond_noise"] else "no"]


def variant_columns(studies: list[Study]) -> list[str]:
    """The variant columns' names: what each variant is where every study runs the same ones (levels: none, tag,
    simple, detailed; paraphrases 1..5), else their positions #1..#k."""
    orders = {tuple(v.partition(":")[2] for v in scores) for s in studies for scores in s.scores.values()}
    if len(orders) == 1:
        return list(next(iter(orders)))
    return [f"#{k}" for k in range(1, max((len(o) for o in orders), default=0) + 1)]


def category_rows(s: Study, specs: list[TaskSpec]) -> dict[str, dict[str, Any]]:
    """Per category with tasks in the study: the mean of its tasks' mean, std and best-worst, and the test of its
    mean spread (`category_test`), by the row's name, `(mean of N) Category`."""
    out = {}
    per_task = s.stats()
    for category in dict.fromkeys(x.category for x in specs):
        names = [x.name for x in specs if x.category == category and x.name not in s.flagged and x.name in per_task]
        if names:
            means = {k: statistics.mean(per_task[n][k] for n in names) for k in ("mean", "std", "best_minus_worst")}
            out[f"(mean of {len(names)}) {category}"] = {**means, **category_test(s, names)}
    return out


def limit_note(studies: list[Study]) -> str:
    limits = sorted({s.limit for s in studies if s.limit})
    return f"partial: at most {', '.join(map(str, limits))} items per task (--limit)" if limits else ""


def table(studies: list[Study], specs: list[TaskSpec]) -> tuple[list[str], list[list[str]]]:
    """Per task and per category rows, studies (model x kind of variant) side by side; the variants' scores in
    their order, the columns named where every study runs the same ones (`variant_columns`), else each cell."""
    header = ["task", "category", "study", "mean", "std", "best-worst", "95% CI", "p (Bonf.)", "beyond noise"]
    columns = variant_columns(studies)
    header += columns
    named = columns[:1] != ["#1"]  # else each cell says its variant: studies of other kinds share the columns

    def cells(scores: dict[str, float]) -> list[str]:
        return [f"{v:.2f}" if named else f"{k.partition(':')[2]}: {v:.2f}" for k, v in scores.items()]

    rows = []
    for spec in specs:
        for s in studies:
            if spec.name in s.flagged:
                rows.append([spec.name, spec.category, s.label, "", "", "", "", "", s.flagged[spec.name]])
                continue
            st = s.stats()[spec.name]
            rows.append(
                [
                    spec.name,
                    spec.category,
                    s.label,
                    f"{st['mean']:.2f}",
                    f"{st['std']:.2f}",
                    f"{st['best_minus_worst']:.2f}",
                    *_test_cells(st),
                    *cells(s.scores[spec.name]),
                ]
            )
    for s in studies:
        for name, row in category_rows(s, specs).items():
            label, _, category = name.partition(") ")
            rows.append(
                [
                    f"{label})",
                    category,
                    s.label,
                    *(f"{row[k]:.2f}" for k in ("mean", "std", "best_minus_worst")),
                    *_test_cells(row),
                ]
            )
    return header, rows


def cost_note(s: Study) -> str:
    first, total = next(iter(s.seconds.values())), sum(s.seconds.values())
    return (
        f"{s.label}: {len(s.seconds)} variants took {total:.1f}s = {total / max(first, 1e-9):.2f} x the first "
        f"variant's run ({first:.1f}s)"
    )


def render(studies: list[Study], specs: list[TaskSpec], fmt: str) -> str:
    import json

    header, rows = table(studies, specs)
    notes = [n for n in (limit_note(studies), *(cost_note(s) for s in studies)) if n]
    if fmt == "json":
        return json.dumps(
            [
                {
                    "model": s.model,
                    "kind": s.kind,
                    "scores": s.scores,
                    "stats": s.stats(),
                    "categories": category_rows(s, specs),
                    "flagged": s.flagged,
                    "seconds": s.seconds,
                    "limit": s.limit,
                }
                for s in studies
            ],
            indent=1,
        )
    if fmt == "html":
        import html

        from harness.reports.figures import robustness_ranges
        from harness.reports.render import html_page, html_table

        png = robustness_ranges(figure_data(studies, specs), limit_note(studies))
        body = f"{html_table(header, rows)}<p>{'<br>'.join(map(html.escape, notes))}</p>"
        return html_page("Instruction robustness", body, [png])
    from harness.reports.render import md_table

    return md_table(header, rows) + "\n\n" + "\n".join([METHOD, *notes]) + "\n"


def figure_data(studies: list[Study], specs: list[TaskSpec]) -> dict[str, dict[str, dict[str, Any]]]:
    """What the figure draws per study: each task's spread and test, then each category's mean spread."""
    return {s.label: {**s.stats(), **category_rows(s, specs)} for s in studies}


def write_figure(studies: list[Study], specs: list[TaskSpec], path: Path) -> None:
    from harness.core.io import write_atomic
    from harness.reports.figures import robustness_ranges

    png = robustness_ranges(figure_data(studies, specs), limit_note(studies))
    write_atomic(path, lambda fh: fh.write(png), mode="wb")
