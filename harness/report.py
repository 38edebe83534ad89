"""Reports: paper-style tables from result folders, mteb result files (current or legacy) and the shipped
published rows, in md, csv, latex, html or json.

Aggregation follows the paper: a category score is the mean of its tasks; MTEB Avg is the mean over the 56
MTEB datasets (not over categories); Avg (70) is the mean of the 9 category scores. A missing task never
silently shrinks an average: a partial average carries the number of tasks it covers.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, unknown
from harness.paths import data_dir
from harness.registry import CATEGORIES, EXPECTED_COUNTS, MTEB_CATEGORIES, Registry, TaskSpec

REFERENCE = data_dir("results/reference")
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
# how mteb 0.0.x / 1.x result files name the metrics the registry uses
LEGACY: dict[str, list[tuple[str, ...]]] = {
    "cosine_spearman": [("cos_sim", "spearman")],
    "cosine_ap": [("cos_sim", "ap")],
    "map_at_1000": [("map",)],
    "ndcg_at_10": [("ndcg_at_10",)],
    "accuracy": [("accuracy",)],
    "v_measure": [("v_measure",)],
    "pearson": [("pearson",)],
}


@dataclass
class Run:
    label: str
    tasks: dict[str, float] = field(default_factory=dict)  # registry task -> score x100
    published: dict[str, float] = field(default_factory=dict)  # column -> published figure x100
    source: str = ""


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
        if self.score is None:
            return "—"
        if self.published:
            return f"{self.score:.1f}†"
        return f"{self.score:.2f}" if self.complete else f"{self.score:.2f} ({self.n_tasks}/{self.n_expected})"


# ------------------------------------------------------------------------------------------ reading runs
def _metric(scores: dict[str, Any], metric: str) -> float | None:
    if metric in scores and isinstance(scores[metric], int | float):
        return float(scores[metric])
    for path in LEGACY.get(metric, []):
        value: Any = scores
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int | float):
            return float(value)
    return None


def score_from_result(obj: dict[str, Any], spec: TaskSpec) -> float | None:
    """Main score (x100) of a result file: mteb TaskResult ({"scores": {split: [per subset]}}) or the legacy
    layouts of mteb 0.0.x/1.x ({split: {metrics}} or {split: {subset: {metrics}}})."""
    if "scores" in obj:
        rows = [r for r in obj["scores"].get(spec.split, []) if r.get("hf_subset", "default") in spec.subsets]
    else:
        split = obj.get(spec.split) or {}
        rows = [split[s] for s in spec.subsets if isinstance(split.get(s), dict)] or [split]
    values = [_metric(r, spec.main_metric) for r in rows]
    found = [v for v in values if v is not None]
    if not found or len(found) < len(values):
        return None
    return 100 * statistics.mean(found)


def load_run_dir(folder: Path, registry: Registry) -> Run:
    """Scores from a result folder: harness run records first, else mteb result files (any era)."""
    if not folder.is_dir():
        raise HarnessError(f"run folder {folder} does not exist")
    run = Run(label=_label(folder), source=str(folder))
    parts: dict[str, float] = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise HarnessError(f"{path}: unreadable result file ({exc})") from None
        if path.name.endswith(".run.json"):
            run.tasks[obj["unit"]["task"]] = 100 * obj["main_score"]
            continue
        name = obj.get("task_name") or obj.get("mteb_dataset_name") or path.stem
        forum = next((s for s in registry.tasks.values() if s.subtasks and name in s.subtasks), None)
        spec = forum.model_copy(update={"name": name}) if forum else registry.tasks.get(name)
        if spec is not None and (score := score_from_result(obj, spec)) is not None:
            (parts if forum else run.tasks).setdefault(name, score)
    for spec in registry.tasks.values():  # CQADupstack: the mean of its forums, once all are there
        if spec.subtasks and spec.name not in run.tasks and all(s in parts for s in spec.subtasks):
            run.tasks[spec.name] = statistics.mean(parts[s] for s in spec.subtasks)
    if not run.tasks:
        raise HarnessError(f"{folder}: no result files for any registry task")
    return run


def _label(folder: Path) -> str:
    parts = folder.resolve().parts
    return "/".join(parts[-3:]) if any("instructions=" in p for p in parts[-1:]) else folder.name


def reference_models() -> list[str]:
    with (REFERENCE / "table2.csv").open() as a, (REFERENCE / "mteb_per_task.csv").open() as b:
        return sorted({r["model"] for r in csv.DictReader(a)} | {r["model"] for r in csv.DictReader(b)})


def load_reference(name: str) -> Run:
    if name not in reference_models():
        raise unknown("reference model", name, reference_models())
    run = Run(label=f"{name} (published)", source="results/reference")
    with (REFERENCE / "mteb_per_task.csv").open() as fh:
        run.tasks = {r["task"]: float(r["score"]) for r in csv.DictReader(fh) if r["model"] == name}
    with (REFERENCE / "table2.csv").open() as fh:
        run.published = {r["category"]: float(r["score"]) for r in csv.DictReader(fh) if r["model"] == name}
    return run


def load_runs(sources: list[str], registry: Registry) -> list[Run]:
    return [load_run_dir(Path(s), registry) if Path(s).exists() or "/" in s else load_reference(s) for s in sources]


# ------------------------------------------------------------------------------------------ aggregation
def aggregate(run: Run, registry: Registry) -> dict[str, Cell]:
    """The 9 categories, MTEB Avg and Avg (70). Where a run has no task of a column but a published figure
    (Billboard and prompt retrieval of the paper's rows), the published figure is shown, marked."""
    cells: dict[str, Cell] = {}
    by_cat = {c: [s.name for s in registry.tasks.values() if s.category == c] for c in CATEGORIES}
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
    elif scores:
        cells[AVG70] = Cell(statistics.mean(scores), n, 70)
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


# ------------------------------------------------------------------------------------------ rendering
NOTE = (
    "Category = mean of its tasks; MTEB Avg = mean over the 56 MTEB datasets; Avg (70) = mean of the 9 "
    "category scores (as the paper computes it). '(k/n)': partial average over k of n tasks; '—': no "
    "result; '†': the published figure (paper Table 2) where the run has no per-task numbers."
)


def report(
    runs: list[Run], registry: Registry, baseline: Run | None, fmt: str, figures: list[bytes] | None = None
) -> str:
    everyone = [baseline, *runs] if baseline else runs
    rows = [(r, aggregate(r, registry)) for r in everyone]
    base_cells = rows[0][1] if baseline else None
    if fmt == "json":
        return json.dumps([_json_run(r, cells, registry, base_cells) for r, cells in rows], indent=1)
    header = ["run", *(f"{SHORT[c]} ({EXPECTED[c]})" for c in COLUMNS)]
    table = []
    for run, cells in rows:
        table.append([run.label, *(cells[c].text() for c in COLUMNS)])
        if baseline is not None and base_cells is not None and run is not baseline:
            gains = relative_gain(cells, base_cells)
            table.append([f"  gain vs {baseline.label}", *(_percent(gains[c]) for c in COLUMNS)])
    tasks = _task_table(everyone, registry)
    if fmt == "html":
        return _html(header, table, tasks, figures or [])
    if fmt not in ("md", "csv", "latex"):
        raise HarnessError(f"unknown report format {fmt!r}: use md, csv, latex, html or json")
    return {"md": _md, "csv": _csv, "latex": _latex}[fmt](header, table, tasks)


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


def _task_table(runs: list[Run], registry: Registry) -> tuple[list[str], list[list[str]]]:
    names = [
        s.name
        for c in CATEGORIES
        for s in registry.tasks.values()
        if s.category == c and any(s.name in r.tasks for r in runs)
    ]
    header = ["task", "category", *(r.label for r in runs)]
    return header, [
        [n, registry.tasks[n].category, *(f"{r.tasks[n]:.2f}" if n in r.tasks else "—" for r in runs)] for n in names
    ]


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


def _csv(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerows([header, *table, [], tasks[0], *tasks[1]])
    return buf.getvalue()


def _latex(header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]]) -> str:
    esc = lambda s: s.replace("%", r"\%").replace("&", r"\&").replace("_", r"\_").replace("†", r"$^\dagger$")  # noqa: E731
    lines = [
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(map(esc, header)) + r" \\",
        r"\midrule",
        *(" & ".join(map(esc, r)) + r" \\" for r in table),
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + f"\n% {NOTE}\n"


def _html(
    header: list[str], table: list[list[str]], tasks: tuple[list[str], list[list[str]]], figures: list[bytes]
) -> str:
    """Figures sit between the summary table and the per-task table."""
    summary = f"{html_table(header, table)}<p>{html.escape(NOTE)}</p>"
    page = html_page("INSTRUCTOR evaluation report", summary, figures)
    return page.replace("</body>", f"<h2>Per task</h2>{html_table(*tasks)}</body>")
