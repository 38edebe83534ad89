"""Rendering reports: paper-style tables (Table 2 layout, then per task, gains vs a baseline) in md, csv, latex,
html or json."""

from __future__ import annotations

import base64
import html
import json
import re

from harness.core.bootstrap import PairedTest
from harness.core.checks import Note
from harness.core.errors import UsageError
from harness.core.spec import CATEGORIES, Registry
from harness.reports import FORMATS
from harness.reports.aggregate import COLUMNS, EXPECTED, SHORT, Cell, Run, aggregate, relative_gain
from harness.reports.export import json_run, record_of, summary_csv, tidy_csv
from harness.reports.load import REFERENCE_SOURCE
from harness.reports.significance import Band, draw_noise, intervals, p_text, paired

LEGEND = (  # (what in the tables calls for it, its sentence): a report says what the tables it shows hold
    (
        "categories",
        "Category = mean of its tasks; MTEB Avg = mean over the 56 MTEB datasets; Avg (70) = mean of the 9 "
        "category scores (as the paper computes it).",
    ),
    ("(k/n)", "'(k/n)': a partial average over k of n tasks."),
    ("n/70", "'n/70': Avg (70) is given only over all 70 tasks; this is how many the run has."),
    ("—", "'—': no result."),
    ("†", "'†': the published figure (paper Table 2) where the run has no per-task numbers."),
    (
        "outside",
        "Smoke-suite tasks and your own tasks (include paths) are listed per task, never inside the paper's averages.",
    ),
    (
        "95% CI",
        "'95% CI' and [low, high]: percentile bootstrap over test items of the score shown (1000 resamples; "
        "a mean's replicates are its tasks' replicates averaged); blank where a run has no per-item outputs.",
    ),
    (
        "inside",
        "'inside/outside the 95% CI': whether the baseline's figure lies in the run's interval (where only "
        "the run has per-item outputs).",
    ),
    (
        "paired p",
        "'difference, paired p': run minus baseline in points, with the two-sided paired bootstrap p-value "
        "over the items (a mean: the tasks) both have ('*': p < 0.05).",
    ),
    (
        "draws",
        "'first-shuffle draws': mteb 0.0.2 left classification's first shuffle unseeded, so a published 2022 "
        "figure is one draw; within noise = within 2 sd of the draws' mean.",
    ),
    (
        "data notes",
        "'data notes': what the data held that the era code evaluated as it stands (docs/concepts/data.md).",
    ),
)


def legend(shown: set[str]) -> str:
    """The sentences for what the tables show (`LEGEND`'s keys found by `_shown`)."""
    return " ".join(sentence for key, sentence in LEGEND if key in shown)


def _shown(table: list[list[str]], tasks: tuple[list[str], list[list[str]]], registry: Registry) -> set[str]:
    header, rows = tasks
    cells = [c for r in table for c in r[1:]] + [c for r in rows for c in r[2:]]
    labels = " ".join([*(r[0] for r in table), *header])
    found = {"categories"} if table else set()
    found |= {k for k in ("—", "†") if any(k in c for c in cells)}
    found |= {"(k/n)"} if any(re.search(r"\(\d+/\d+\)", c) for c in cells) else set()
    found |= {"n/70"} if any(re.fullmatch(r"\d+/70", c) for c in cells) else set()
    found |= {"95% CI"} if "95% CI" in labels or any(" [" in c for c in cells) else set()
    found |= {"inside"} if any("side the 95% CI" in c for c in cells) else set()
    found |= {"paired p"} if "paired p" in labels or any(", p=" in c for c in cells) else set()
    found |= {k for k, word in (("draws", "first-shuffle draws"), ("data notes", "data notes")) if word in labels}
    found |= {"outside"} if any(not registry.shipped(r[0]) for r in rows) else set()
    return found


def report(runs: list[Run], registry: Registry, baseline: Run | None, fmt: str) -> str:
    everyone = [baseline, *runs] if baseline else runs
    rows = [(r, aggregate(r, registry)) for r in everyone]
    base_cells = rows[0][1] if baseline else None
    bands = {id(r): intervals(r, registry) for r in everyone}
    tests = {id(r): paired(r, baseline, registry) for r in runs if baseline is not None}  # {} without items
    if fmt == "json":
        out = [json_run(r, cells, registry, base_cells, bands, baseline, tests.get(id(r), {})) for r, cells in rows]
        return json.dumps(out, indent=1)
    if fmt == "csv":
        return tidy_csv(everyone, registry, bands, baseline, tests)
    if fmt == "summary-csv":
        return summary_csv(rows, bands, tests)
    header = ["run", *(f"{SHORT[c]} ({EXPECTED[c]})" for c in COLUMNS)]
    table = []
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
    if all(c.score is None and not c.n_tasks for _, cells in rows for c in cells.values()):
        table = []  # only tasks outside the paper's averages (the smoke suite, include paths): no category row
    tasks = _task_table(everyone, registry, bands, tests, baseline)
    note = legend(_shown(table, tasks, registry))
    if fmt == "html":
        figures = comparison_figures(rows, baseline, bands, tests, registry) if table else []
        return _html(header, table, tasks, figures, everyone, note)
    if fmt not in ("md", "latex"):
        raise UsageError(f"unknown report format {fmt!r}: use {', '.join(FORMATS)}")
    return {"md": _md, "latex": _latex}[fmt](header, table, tasks, note)


def _band(band: Band | None) -> str:
    return band.text() if band else ""


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def comparison_figures(
    rows: list[tuple[Run, dict[str, Cell]]],
    baseline: Run | None,
    bands: dict[int, dict[str, Band]],
    tests: dict[int, dict[str, PairedTest]],
    registry: Registry,
) -> list[bytes]:
    """The HTML report's figures: the category scores with their intervals (empty categories dropped) and, against
    a baseline, a forest plot of each run's differences per task and per complete mean (`figures.forest`)."""
    from harness.reports.figures import category_bars, forest

    pictures = [category_bars([(r.label, cells, bands.get(id(r), {})) for r, cells in rows])]
    lines = []
    for run, _ in rows:
        if baseline is None or run is baseline:
            continue
        found = tests.get(id(run), {})
        names = [n for c in CATEGORIES for n, s in registry.tasks.items() if s.category == c and n in run.tasks]
        for name in [n for n in names if n in baseline.tasks] + [c for c in COLUMNS if c in found]:
            test = found.get(name)
            diff = test.difference if test else run.tasks[name] - baseline.tasks[name]
            low, high = (test.low, test.high) if test else (None, None)
            lines.append((run.label, name, diff, low, high, bool(test and test.significant())))
    if lines and baseline is not None:
        pictures.append(forest(lines, f"Each run minus {baseline.label}, per task and per complete mean"))
    return pictures


def _task_table(
    runs: list[Run],
    registry: Registry,
    bands: dict[int, dict[str, Band]] | None = None,
    tests: dict[int, dict[str, PairedTest]] | None = None,
    baseline: Run | None = None,
) -> tuple[list[str], list[list[str]]]:
    """Per task: each run's score with its 95% interval, each run against the baseline (`versus`), the noise of a
    2022 figure where the run has its own model's draws (`own_draws`), the data notes."""
    bands, tests = bands or {}, tests or {}
    measured = [r for r in runs if r.source != REFERENCE_SOURCE] or runs  # a published row's other tasks: not rows
    names = [
        s.name
        for c in CATEGORIES
        for s in registry.tasks.values()
        if s.category == c and any(s.name in r.tasks for r in measured)
    ]
    compared = [r for r in runs if id(r) in tests]
    # the published figure the draws are set against: the baseline where it is one, else a published row shown
    published = [r for r in ([baseline] if baseline else []) + runs if r.source == REFERENCE_SOURCE]
    base = published[0] if published else None
    drawn = [r for r in runs if own_draws(r, base) and any(record_of(r, n).get("first_shuffle_draws") for n in names)]
    noted = any(record_of(r, n).get("data_notes") for r in runs for n in names)
    header = [
        "task",
        "category",
        *(r.label for r in runs),
        *(f"{r.label} vs {baseline.label}" for r in compared if baseline is not None),
        *(f"{base.label} vs {r.label}'s first-shuffle draws" for r in drawn if base is not None),
        *(["data notes"] if noted else []),
    ]

    def cell(r: Run, n: str) -> str:
        if n not in r.tasks:
            return "—"
        band = bands.get(id(r), {}).get(n)
        return f"{r.tasks[n]:.2f}" + (f" {band.text()}" if band else "")

    def notes(n: str) -> list[str]:
        texts = [Note(**x).text() for r in runs for x in record_of(r, n).get("data_notes", [])]
        return ["; ".join(dict.fromkeys(texts))] if noted else []

    return header, [
        [
            n,
            registry.tasks[n].category,
            *(cell(r, n) for r in runs),
            *(versus(r, baseline, n, bands.get(id(r), {}).get(n), tests[id(r)].get(n)) for r in compared if baseline),
            *(draw_noise(base.tasks.get(n), record_of(r, n).get("first_shuffle_draws")) for r in drawn if base),
            *notes(n),
        ]
        for n in names
    ]


def own_draws(run: Run, published: Run | None) -> bool:
    """Whether a run's first-shuffle draws may be set against `published`'s figure: the same model's own published
    figure of the 2022 era (mteb 0.0.2 left the shuffle unseeded), for a run on every item (not `--limit`)."""
    return bool(
        published is not None
        and published.source == REFERENCE_SOURCE
        and published.era == "2022"
        and published.model
        and run.model == published.model
        and not run.partial
    )


def versus(run: Run, baseline: Run, task: str, band: Band | None, test: PairedTest | None) -> str:
    """A task's run against the baseline: the plain difference in points, whether the baseline's figure lies in
    the run's 95% interval, and the paired test where both have per-item outputs."""
    if task not in run.tasks or task not in baseline.tasks:
        return ""
    if test is not None:
        return p_text(test)
    inside = "" if band is None else (" (inside" if band.holds(baseline.tasks[task]) else " (outside")
    difference = run.tasks[task] - baseline.tasks[task]
    shown = "0.00" if abs(difference) < 0.005 else f"{difference:+.2f}"  # never "-0.00"
    return shown + (f"{inside} the 95% CI)" if inside else "")


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


def _md(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]], note: str) -> str:
    summary = f"{md_table(header, table)}\n\n" if table else ""
    return f"{summary}### Per task\n\n{md_table(*tasks)}\n\n{note}\n"


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


def _latex(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]], note: str) -> str:
    """The Table 2 layout and the per-task scores, each a page-wide table; the legend under the last."""
    summary = [*_latex_table(header, table, "Category scores."), ""] if table else []
    lines = [r"% needs \usepackage{booktabs,graphicx}", *summary, *_latex_table(*tasks, f"Per-task scores. {note}")]
    return "\n".join(lines) + "\n"


def _html(
    header: list[str],
    table: list[list[str]],
    tasks: tuple[list[str], list[list[str]]],
    figures: list[bytes],
    runs: list[Run],
    note: str,
) -> str:
    """Figures sit between the summary table and the per-task table; then the legend and how each run was made."""
    page = html_page("INSTRUCTOR evaluation report", html_table(header, table) if table else "", figures)
    body = f"<h2>Per task</h2>{html_table(*tasks)}<p>{html.escape(note)}</p>{_provenance(runs)}"
    return page.replace("</body>", f"{body}</body>")


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
