"""Reports as data: `--format json` (each run's cells and tasks with their 95% intervals, and against a baseline
the differences, the interval check and the paired tests), `csv` (one tidy row per run and task, the comparison
beside it) and `summary-csv` (one row per run and column, with the paired test of complete columns). Numbers
stay numbers: `pandas.read_csv` gives float columns."""

from __future__ import annotations

import csv
import io
from typing import Any

from harness.core.bootstrap import PairedTest
from harness.core.spec import CATEGORIES, Registry
from harness.reports.aggregate import AVG70, COLUMNS, MTEB_AVG, Cell, Run, relative_gain
from harness.reports.significance import Band, load_items


def record_of(run: Run, task: str) -> dict[str, Any]:
    return run.records.get(task, {})


def json_run(
    run: Run,
    cells: dict[str, Cell],
    registry: Registry,
    base: dict[str, Cell] | None,
    bands: dict[int, dict[str, Band]],
    baseline: Run | None,
    tests: dict[str, PairedTest],
) -> dict[str, Any]:
    """A run as data: its cells and tasks, each with its 95% interval, and against the baseline the relative gain
    (complete cells), each task's difference (and whether the baseline lies in the run's interval) and the paired
    tests."""
    own = bands.get(id(run), {})

    def band(name: str) -> list[float] | None:
        return [own[name].low, own[name].high] if name in own else None

    def shape(column: str) -> dict[str, Any]:
        c = cells[column]
        extra = {"published": True} if c.published else {}
        interval = band(column) if c.score is not None else None
        return {"score": c.score, "n_tasks": c.n_tasks, "n_expected": c.n_expected, "ci95": interval, **extra}

    out: dict[str, Any] = {
        "run": run.label,
        "source": run.source,
        "categories": {c: shape(c) for c in CATEGORIES},
        "mteb_avg": shape(MTEB_AVG),
        "avg70": shape(AVG70),
        "tasks": {n: {"score": run.tasks[n], "ci95": band(n)} for n in registry.tasks if n in run.tasks},
    }
    if base is not None and baseline is not None and run is not baseline:
        out["baseline"] = baseline.label
        out["relative_gain"] = relative_gain(cells, base)
        out["versus_baseline"] = {
            n: {
                "difference": run.tasks[n] - baseline.tasks[n],
                "baseline_in_ci95": own[n].holds(baseline.tasks[n]) if n in own else None,
            }
            for n in registry.tasks
            if n in run.tasks and n in baseline.tasks
        }
        out["paired"] = {name: _test_record(t) for name, t in tests.items()}
    return out


def _test_record(test: PairedTest) -> dict[str, Any]:
    return {"difference": test.difference, "ci95": [test.low, test.high], "p_value": test.p_value}


TIDY = ["run", "task", "category", "metric", "score", "ci_low", "ci_high", "n_items", "partial"]
VERSUS = ["baseline", "baseline_score", "difference", "baseline_in_ci", "paired_low", "paired_high", "p_value"]
SUMMARY = ["run", "column", "score", "n_tasks", "n_expected", "complete", "published", "ci_low", "ci_high"]
PAIRED = ["paired_difference", "paired_low", "paired_high", "p_value"]


def tidy_csv(
    runs: list[Run],
    registry: Registry,
    bands: dict[int, dict[str, Band]],
    baseline: Run | None = None,
    tests: dict[int, dict[str, PairedTest]] | None = None,
) -> str:
    """One row per run and task, numbers as numbers (x100; empty where there is none): `pandas.read_csv` gives
    float columns. `partial`: the run's --limit, empty for a full run. Against a baseline: its figure, the
    difference, whether the baseline lies in the run's interval, and the paired test (interval, p)."""
    rows = []
    for run in runs:
        for name in (n for n in registry.tasks if n in run.tasks):
            record, band = record_of(run, name), bands.get(id(run), {}).get(name)
            items = load_items(run, name)
            versus: list[Any] = [None] * len(VERSUS)
            if baseline is not None and run is not baseline and name in baseline.tasks:
                test = (tests or {}).get(id(run), {}).get(name)
                theirs = baseline.tasks[name]
                versus = [
                    baseline.label,
                    theirs,
                    run.tasks[name] - theirs,
                    band.holds(theirs) if band else None,
                    *((test.low, test.high, test.p_value) if test else (None, None, None)),
                ]
            rows.append(
                [
                    run.label,
                    name,
                    registry.tasks[name].category,
                    record.get("metric") or registry.tasks[name].main_metric,
                    run.tasks[name],
                    band.low if band else None,
                    band.high if band else None,
                    sum(len(s) for s in items.strata) if items else None,
                    (record.get("partial") or {}).get("limit"),
                    *versus,
                ]
            )
    return _csv_text(TIDY + VERSUS, rows)


def summary_csv(
    rows: list[tuple[Run, dict[str, Cell]]],
    bands: dict[int, dict[str, Band]],
    tests: dict[int, dict[str, PairedTest]] | None = None,
) -> str:
    """The paper-style summary as data: one row per run and column (category, MTEB Avg, Avg (70)), with the
    paired test against the baseline where the column is complete for both."""
    out = []
    for run, cells in rows:
        for column in COLUMNS:
            c, band = cells[column], bands.get(id(run), {}).get(column) if cells[column].score is not None else None
            test = (tests or {}).get(id(run), {}).get(column)
            out.append(
                [run.label, column, c.score, c.n_tasks, c.n_expected, c.complete, c.published]
                + [band.low if band else None, band.high if band else None]
                + ([test.difference, test.low, test.high, test.p_value] if test else [None] * 4)
            )
    return _csv_text(SUMMARY + PAIRED, out)


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *([("" if v is None else v) for v in r] for r in rows)])
    return buf.getvalue()
