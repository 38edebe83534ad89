"""Rendering reports: paper-style tables (Table 2 layout, then per task, gains vs a baseline) in md, csv, latex,
html or json."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from typing import Any

from harness.core.bootstrap import PairedTest
from harness.core.checks import Note
from harness.core.errors import UsageError
from harness.core.spec import CATEGORIES, Registry
from harness.reports.aggregate import AVG70, COLUMNS, EXPECTED, MTEB_AVG, SHORT, Cell, Run, aggregate, relative_gain
from harness.reports.load import REFERENCE_SOURCE
from harness.reports.significance import Band, draw_noise, intervals, load_items, p_text, paired

FORMATS = ("md", "csv", "summary-csv", "latex", "html", "json")  # csv: one tidy row per run and task

NOTE = (
    "Category = mean of its tasks; MTEB Avg = mean over the 56 MTEB datasets; Avg (70) = mean of the 9 "
    "category scores (as the paper computes it). '(k/n)': partial average over k of n tasks; '—': no "
    "result; '†': the published figure (paper Table 2) where the run has no per-task numbers. Smoke-suite tasks and "
    "your own tasks (include paths) are listed per task, never inside the paper's averages. '95% CI': percentile "
    "bootstrap over test items of the score shown (1000 resamples; a mean's replicates are its tasks' replicates "
    "averaged); 'difference, paired p': run minus baseline in points, with the two-sided paired bootstrap p-value "
    "over the tasks both have ('*': p < 0.05). Blank where a run has no per-item outputs. Avg (70) is shown only "
    "over all 70 tasks ('n/70': how many a partial run has). 'first-shuffle draws': mteb 0.0.2 left classification's "
    "first shuffle unseeded, so a published 2022 figure is one draw; within noise = within 2 sd of the draws' mean. "
    "'data notes': what the data held that the era code evaluated as it stands (docs/concepts/data.md)."
)


def report(
    runs: list[Run], registry: Registry, baseline: Run | None, fmt: str, figures: list[bytes] | None = None
) -> str:
    everyone = [baseline, *runs] if baseline else runs
    rows = [(r, aggregate(r, registry)) for r in everyone]
    base_cells = rows[0][1] if baseline else None
    if fmt == "json":
        return json.dumps([_json_run(r, cells, registry, base_cells) for r, cells in rows], indent=1)
    bands = {id(r): intervals(r, registry) for r in everyone}
    if fmt == "csv":
        return tidy_csv(everyone, registry, bands)
    if fmt == "summary-csv":
        return summary_csv(rows, bands)
    header = ["run", *(f"{SHORT[c]} ({EXPECTED[c]})" for c in COLUMNS)]
    table = []
    tests = {id(r): paired(r, baseline, registry) for r in runs if baseline is not None}
    for run, cells in rows:
        table.append([run.label, *(cells[c].text() for c in COLUMNS)])
        if any(c in bands[id(run)] for c in COLUMNS):
            shown = {c: bands[id(run)].get(c) if cells[c].score is not None else None for c in COLUMNS}
            table.append(["  95% CI", *(_band(shown[c]) for c in COLUMNS)])
        if baseline is not None and base_cells is not None and run is not baseline:
            gains = relative_gain(cells, base_cells)
            table.append([f"  gain vs {baseline.label}", *(_percent(gains[c]) for c in COLUMNS)])
            if any(c in tests[id(run)] for c in COLUMNS):
                table.append(["  difference, paired p", *(p_text(tests[id(run)].get(c)) for c in COLUMNS)])
    tasks = _task_table(everyone, registry, bands, tests)
    if fmt == "html":
        return _html(header, table, tasks, figures or [], everyone)
    if fmt not in ("md", "latex"):
        raise UsageError(f"unknown report format {fmt!r}: use {', '.join(FORMATS)}")
    return {"md": _md, "latex": _latex}[fmt](header, table, tasks)


def _band(band: Band | None) -> str:
    return band.text() if band else ""


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _json_run(run: Run, cells: dict[str, Cell], registry: Registry, base: dict[str, Cell] | None) -> dict[str, Any]:
    def shape(c: Cell) -> dict[str, Any]:
        extra = {"published": True} if c.published else {}
        return {"score": c.score, "n_tasks": c.n_tasks, "n_expected": c.n_expected, **extra}

    out = {
        "run": run.label,
        "source": run.source,
        "categories": {c: shape(cells[c]) for c in CATEGORIES},
        "mteb_avg": shape(cells[MTEB_AVG]),
        "avg70": shape(cells[AVG70]),
        "tasks": {n: run.tasks[n] for n in registry.tasks if n in run.tasks},
    }
    if base is not None:
        out["relative_gain"] = relative_gain(cells, base)
    return out


def _task_table(
    runs: list[Run],
    registry: Registry,
    bands: dict[int, dict[str, Band]] | None = None,
    tests: dict[int, dict[str, PairedTest]] | None = None,
) -> tuple[list[str], list[list[str]]]:
    """Per task: each run's score with its 95% interval, and each run's paired test against the baseline."""
    bands, tests = bands or {}, tests or {}
    names = [
        s.name
        for c in CATEGORIES
        for s in registry.tasks.values()
        if s.category == c and any(s.name in r.tasks for r in runs)
    ]
    compared = [r for r in runs if id(r) in tests]
    published = next((r for r in runs if r.source == REFERENCE_SOURCE), None)
    drawn = [r for r in runs if published and any(_record(r, n).get("first_shuffle_draws") for n in names)]
    noted = any(_record(r, n).get("data_notes") for r in runs for n in names)
    header = [
        "task",
        "category",
        *(r.label for r in runs),
        *(f"{r.label} vs baseline" for r in compared),
        *(f"published vs {r.label}'s first-shuffle draws" for r in drawn),
        *(["data notes"] if noted else []),
    ]

    def cell(r: Run, n: str) -> str:
        if n not in r.tasks:
            return "—"
        band = bands.get(id(r), {}).get(n)
        return f"{r.tasks[n]:.2f}" + (f" {band.text()}" if band else "")

    def notes(n: str) -> list[str]:
        texts = [Note(**x).text() for r in runs for x in _record(r, n).get("data_notes", [])]
        return ["; ".join(dict.fromkeys(texts))] if noted else []

    return header, [
        [
            n,
            registry.tasks[n].category,
            *(cell(r, n) for r in runs),
            *(p_text(tests[id(r)].get(n)) for r in compared),
            *(draw_noise(published.tasks.get(n), _record(r, n).get("first_shuffle_draws")) for r in drawn if published),
            *notes(n),
        ]
        for n in names
    ]


def _record(run: Run, task: str) -> dict[str, Any]:
    return run.records.get(task, {})


TIDY = ["run", "task", "category", "metric", "score", "ci_low", "ci_high", "n_items", "partial"]
SUMMARY = ["run", "column", "score", "n_tasks", "n_expected", "complete", "published", "ci_low", "ci_high"]


def tidy_csv(runs: list[Run], registry: Registry, bands: dict[int, dict[str, Band]]) -> str:
    """One row per run and task, numbers as numbers (x100; empty where there is none): `pandas.read_csv` gives
    float columns. `partial`: the run's --limit, empty for a full run."""
    rows = []
    for run in runs:
        for name in (n for n in registry.tasks if n in run.tasks):
            record, band = _record(run, name), bands.get(id(run), {}).get(name)
            items = load_items(run, name)
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
                ]
            )
    return _csv_text(TIDY, rows)


def summary_csv(rows: list[tuple[Run, dict[str, Cell]]], bands: dict[int, dict[str, Band]]) -> str:
    """The paper-style summary as data: one row per run and column (category, MTEB Avg, Avg (70))."""
    out = []
    for run, cells in rows:
        for column in COLUMNS:
            c, band = cells[column], bands.get(id(run), {}).get(column) if cells[column].score is not None else None
            out.append(
                [run.label, column, c.score, c.n_tasks, c.n_expected, c.complete, c.published]
                + [band.low if band else None, band.high if band else None]
            )
    return _csv_text(SUMMARY, out)


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *([("" if v is None else v) for v in r] for r in rows)])
    return buf.getvalue()


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, body: str, figures: list[bytes]) -> str:
    """A self-contained page: the body, then each PNG figure embedded."""
    imgs = "".join(f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(f).decode()}">' for f in figures)
    style = (
        "body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;margin:12px 0}"
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}td:first-child,th:first-child"
        "{text-align:left}img{max-width:900px;display:block;margin:12px 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}{imgs}</body></html>"
    )


def _md(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]]) -> str:
    return f"{md_table(header, table)}\n\n{NOTE}\n\n### Per task\n\n{md_table(*tasks)}\n"


LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "†": r"$^\dagger$",
}


def _latex_escape(text: str) -> str:
    """Run labels and task names hold _ % # and the like: each character escaped once."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in text)


def _latex_table(header: list[str], rows: list[list[str]], caption: str) -> list[str]:
    """A booktabs table scaled to the text width (\\usepackage{booktabs,graphicx}), however many runs it has."""
    return [
        r"\begin{table}[t]",
        r"\centering",
        r"\resizebox{\textwidth}{!}{%",
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(map(_latex_escape, header)) + r" \\",
        r"\midrule",
        *(" & ".join(map(_latex_escape, r)) + r" \\" for r in rows),
        r"\bottomrule",
        r"\end{tabular}}",
        r"\caption{" + _latex_escape(caption) + "}",
        r"\end{table}",
    ]


def _latex(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]]) -> str:
    """The Table 2 layout and the per-task scores, each a page-wide table."""
    lines = [
        r"% needs \usepackage{booktabs,graphicx}",
        *_latex_table(header, table, f"Category scores. {NOTE}"),
        "",
        *_latex_table(*tasks, "Per-task scores."),
    ]
    return "\n".join(lines) + "\n"


def _html(
    header: list[str],
    table: list[list[str]],
    tasks: tuple[list[str], list[list[str]]],
    figures: list[bytes],
    runs: list[Run],
) -> str:
    """Figures sit between the summary table and the per-task table; then how each run was made."""
    summary = f"{html_table(header, table)}<p>{html.escape(NOTE)}</p>"
    page = html_page("INSTRUCTOR evaluation report", summary, figures)
    return page.replace("</body>", f"<h2>Per task</h2>{html_table(*tasks)}{_provenance(runs)}</body>")


def _provenance(runs: list[Run]) -> str:
    """Per run: its source, condition and versions, and each task's metric, device, time and fingerprint (the
    fingerprint names everything that determined the number: docs/concepts/results.md)."""
    parts = ["<h2>Runs</h2>"]
    for run in runs:
        parts.append(f"<h3>{html.escape(run.label)}</h3><p>source: <code>{html.escape(run.source)}</code></p>")
        if not run.records:
            parts.append("<p>published figures or mteb result files: no harness run records</p>")
            continue
        first = next(iter(run.records.values()))
        condition = ", ".join(f"{k}={v}" for k, v in first["condition"].items())
        versions = ", ".join(f"{k} {v}" for k, v in sorted(first["packages"].items()))
        parts.append(f"<p>{html.escape(condition)}</p><p>versions: {html.escape(versions)}</p>")
        rows = [
            [task, r["metric"] or "", str(r["device"] or ""), f"{r['seconds'] or 0:.1f}", r["fingerprint"][:16]]
            for task, r in sorted(run.records.items())
        ]
        parts.append(html_table(["task", "metric", "device", "seconds", "fingerprint"], rows))
    return "".join(parts)
