"""`harness robustness`: every paraphrase (or detail level) of each task's instruction, per model; per task
the mean, the standard deviation and best-minus-worst (the paper's section 4.2 statistic), and per category
the mean of those. Every variant is an ordinary run unit, so results are written, cached and resumed."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.instructions import LEVELS, N_PARAPHRASES, Library
from harness.core.results import Unit
from harness.core.runner import RunOptions, run_tasks
from harness.core.spec import TaskSpec


def variant_names(kind: str, sides: str) -> list[str]:
    if kind == "levels":
        return [f"level:{lv}" for lv in LEVELS]
    prefix = "paraphrase" if sides == "both" else "paraphrase-query"
    return [f"{prefix}:{k}" for k in range(1, N_PARAPHRASES + 1)]


@dataclass
class Study:
    model: str
    scores: dict[str, dict[str, float]]  # task -> variant -> score x100
    seconds: dict[str, float]  # variant -> wall time of its run

    def stats(self) -> dict[str, dict[str, float]]:
        out = {}
        for task, by_variant in self.scores.items():
            values = list(by_variant.values())
            out[task] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "min": min(values),
                "max": max(values),
                "best_minus_worst": max(values) - min(values),
            }
        return out


def study(
    model: str,
    specs: list[TaskSpec],
    variants: list[str],
    encoder_factory: Callable[[], Any],
    library: Library,
    base: RunOptions,
    revision: str,
    mode: str,
) -> Study:
    encoder: list[Any] = []  # one model load for all variants

    def shared() -> Any:
        if not encoder:
            encoder.append(encoder_factory())
        return encoder[0]

    scores: dict[str, dict[str, float]] = {s.name: {} for s in specs}
    seconds = {}
    for variant in variants:
        opts = RunOptions(
            Unit(model, revision, variant, mode, base.unit.protocol),
            base.output,
            base.data_dir,
            base.batch_size,
            base.overwrite,
            False,
            base.log,
            model_settings=base.model_settings,
        )
        start = time.perf_counter()
        for outcome in run_tasks(specs, shared, library, opts):
            scores[outcome.task][variant] = 100 * (outcome.score or 0.0)
        seconds[variant] = time.perf_counter() - start
    return Study(model, scores, seconds)


def table(studies: list[Study], specs: list[TaskSpec]) -> tuple[list[str], list[list[str]]]:
    """Per task and per category rows, models side by side."""
    variants = list(next(iter(studies[0].scores.values())))
    header = ["task", "category", "model", "mean", "std", "best-worst", *variants]
    rows = []
    for spec in specs:
        for s in studies:
            st = s.stats()[spec.name]
            rows.append(
                [
                    spec.name,
                    spec.category,
                    s.model,
                    f"{st['mean']:.2f}",
                    f"{st['std']:.2f}",
                    f"{st['best_minus_worst']:.2f}",
                    *(f"{s.scores[spec.name][v]:.2f}" for v in variants),
                ]
            )
    for category in dict.fromkeys(s.category for s in specs):
        names = [s.name for s in specs if s.category == category]
        for s in studies:
            per_task = s.stats()
            rows.append(
                [
                    f"(mean of {len(names)})",
                    category,
                    s.model,
                    *(
                        f"{statistics.mean(per_task[n][k] for n in names):.2f}"
                        for k in ("mean", "std", "best_minus_worst")
                    ),
                    *[""] * len(variants),
                ]
            )
    return header, rows


def cost_note(s: Study) -> str:
    first, total = next(iter(s.seconds.values())), sum(s.seconds.values())
    return (
        f"{s.model}: {len(s.seconds)} variants took {total:.1f}s = {total / max(first, 1e-9):.2f} x the first "
        f"variant's run ({first:.1f}s)"
    )


def render(studies: list[Study], specs: list[TaskSpec], fmt: str) -> str:
    import json

    header, rows = table(studies, specs)
    notes = [cost_note(s) for s in studies]
    if fmt == "json":
        return json.dumps(
            [{"model": s.model, "scores": s.scores, "stats": s.stats(), "seconds": s.seconds} for s in studies],
            indent=1,
        )
    if fmt == "html":
        import html

        from harness.reports.figures import robustness_ranges
        from harness.reports.render import html_page, html_table

        png = robustness_ranges({s.model: s.stats() for s in studies})
        body = f"{html_table(header, rows)}<p>{'<br>'.join(map(html.escape, notes))}</p>"
        return html_page("Instruction robustness", body, [png])
    from harness.reports.render import md_table

    return md_table(header, rows) + "\n\n" + "\n".join(notes) + "\n"


def write_figure(studies: list[Study], path: Path) -> None:
    from harness.core.io import write_atomic
    from harness.reports.figures import robustness_ranges

    png = robustness_ranges({s.model: s.stats() for s in studies})
    write_atomic(path, lambda fh: fh.write(png), mode="wb")
