"""Reading runs for reports: harness result folders, mteb result files of any era (current `TaskResult`s and the
legacy 0.0.x/1.x layouts), and the published rows shipped in `reference/`."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import Any

from harness.core.errors import ResultError, UsageError, unknown
from harness.core.paths import data_dir
from harness.core.results import SUITE, mteb_model_name, result_problem
from harness.core.spec import Registry, TaskSpec
from harness.reports.aggregate import Run

REFERENCE = data_dir("reference")
REFERENCE_SOURCE = "reference"  # the source of a published run (`load_reference`)
# how mteb 0.0.x / 1.x result files name the metrics the registry uses
LEGACY: dict[str, list[tuple[str, ...]]] = {
    "cosine_spearman": [("cos_sim", "spearman")],
    "cosine_ap": [("cos_sim", "ap")],
    "map_at_1000": [("map",)],
    "max_over_subqueries_map_at_1000": [("map",)],  # MindSmallReranking in mteb 0.0.x/1.x files
    "ndcg_at_10": [("ndcg_at_10",)],
    "accuracy": [("accuracy",)],
    "v_measure": [("v_measure",)],
    "pearson": [("pearson",)],
}


# how older result files name a split the registry uses (MSMARCO's dev set was "validation" in mteb 0.0.x)
SPLIT_ALIASES: dict[str, tuple[str, ...]] = {"dev": ("validation",)}


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
    holder = obj.get("scores", obj)
    name = next((s for s in (spec.split, *SPLIT_ALIASES.get(spec.split, ())) if s in holder), spec.split)
    if "scores" in obj:
        rows = [r for r in obj["scores"].get(name, []) if r.get("hf_subset", "default") in spec.subsets]
    else:
        split = obj.get(name) or {}
        rows = [split[s] for s in spec.subsets if isinstance(split.get(s), dict)] or [split]
    values = [_metric(r, spec.main_metric) for r in rows]
    found = [v for v in values if v is not None]
    if not found or len(found) < len(values):
        return None
    return 100 * statistics.mean(found)


def _condition_scores(
    files: list[Path], registry: Registry, records: dict[str, dict[str, Any]] | None = None
) -> tuple[dict[str, float], str | None]:
    """One condition's task scores (harness run records first, else mteb result files of any era) and its
    run name when a harness record gives one; `records` receives each run record's provenance."""
    tasks: dict[str, float] = {}
    parts: dict[str, float] = {}
    name: str | None = None
    for path in files:
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ResultError(f"{path}: unreadable result file ({exc})") from None
        if path.name.endswith(".run.json"):
            if problem := result_problem(path.parent.parent if path.parent.name == "records" else path.parent, obj):
                raise ResultError(
                    f"{path}: {problem}; not shown. Run the command that made it again: it recomputes the task"
                )
            tasks[obj["unit"]["task"]] = 100 * obj["main_score"]
            name = obj.get("run", name)
            if records is not None:
                saved = (obj.get("uncertainty") or {}).get("items")
                items = {"items": str(path.parent.parent / saved)} if saved else {}
                records[obj["unit"]["task"]] = {**provenance(obj), **items}
            continue
        task = obj.get("task_name") or obj.get("mteb_dataset_name") or path.stem
        forum = next((s for s in registry.tasks.values() if s.subtasks and task in s.subtasks), None)
        spec = forum.model_copy(update={"name": task}) if forum else registry.tasks.get(task)
        if spec is not None and (score := score_from_result(obj, spec)) is not None:
            (parts if forum else tasks).setdefault(task, score)
    for spec in registry.tasks.values():  # CQADupstack: the mean of its forums, once all are there
        if spec.subtasks and spec.name not in tasks and all(s in parts for s in spec.subtasks):
            tasks[spec.name] = statistics.mean(parts[s] for s in spec.subtasks)
    return tasks, name


def load_run_dir(folder: Path, registry: Registry) -> list[Run]:
    """The runs of a result folder: one per condition. A condition is the folder its result files sit in (a run
    unit, or a benchmark's settings folder below it). Conditions whose tasks do not overlap make one row
    (a unit's MTEB tasks and its one LM setting); when any task has results under two conditions, each
    condition is a row of its own, labelled by its name, so no row ever mixes two conditions' scores."""
    if not folder.is_dir():
        raise UsageError(f"run folder {folder} does not exist")
    by_folder: dict[Path, list[Path]] = {}
    for path in sorted(folder.rglob("*.json")):
        if path.name != "model_meta.json":  # a run record sits in its condition's records/ (results.record_path)
            where = path.parent.parent if path.parent.name == "records" else path.parent
            by_folder.setdefault(where, []).append(path)
    conditions = []
    records: dict[Path, dict[str, dict[str, Any]]] = {}
    for where, files in by_folder.items():
        tasks, name = _condition_scores(files, registry, records.setdefault(where, {}))
        if tasks:
            relative = where.relative_to(folder).as_posix()
            conditions.append((name or (relative if relative != "." else folder.name), where, tasks))
    if not conditions:
        raise ResultError(f"{folder}: no result files for any registry task")
    suites: dict[str, list[tuple[str, Path, dict[str, float]]]] = {}  # the smoke suite is never a real run's row
    for condition in conditions:
        suites.setdefault(_suite(records[condition[1]]), []).append(condition)
    return [run for group in suites.values() for run in _rows(group, records, folder)]


def _rows(
    conditions: list[tuple[str, Path, dict[str, float]]], records: dict[Path, dict[str, dict[str, Any]]], folder: Path
) -> list[Run]:
    """One row for conditions whose tasks do not overlap, else one row each (`load_run_dir`)."""
    seen: dict[str, int] = {}
    for _, _, tasks in conditions:
        for task in tasks:
            seen[task] = seen.get(task, 0) + 1
    if all(n == 1 for n in seen.values()):
        merged = {t: v for _, _, tasks in conditions for t, v in tasks.items()}
        label = merged_label([_short(n, w) for n, w, _ in conditions])
        provenance_of = {t: r for _, w, _ in conditions for t, r in records[w].items()}
        return [Run(label=label, tasks=merged, source=str(folder), records=provenance_of, model=_model(provenance_of))]
    return [
        Run(label=_short(n, w), tasks=t, source=str(w), records=records[w], model=_model(records[w]))
        for n, w, t in conditions
    ]


def _suite(records: dict[str, dict[str, Any]]) -> str:
    """The suite a condition's records name (`results.SUITE`: the packaged smoke suite), "" for a real run."""
    return next((str(r["condition"].get(SUITE, "")) for r in records.values() if r.get("condition")), "")


def _model(records: dict[str, dict[str, Any]]) -> str:
    """The model a run's records name, as mteb names it (an alias's hub id): whose published figures are its own."""
    names = {r["condition"].get("model") for r in records.values() if r.get("condition")}
    names.discard(None)
    return mteb_model_name(str(names.pop())) if len(names) == 1 else ""


def merged_label(names: list[str]) -> str:
    """One row's name for conditions whose tasks do not overlap (a run's MTEB tasks under its protocol, its
    Billboard tasks, its LM setting's prompt-retrieval tasks): the model and the union of their `k=v` parts, when
    they name one model and never give a key two values; else the names joined by " + "."""
    parsed = [name.partition(":") for name in dict.fromkeys(names)]
    parts: dict[str, str] = {}
    for _, _, rest in parsed:
        for pair in rest.split(","):
            key, _, value = pair.partition("=")
            if parts.setdefault(key, value) != value:
                return " + ".join(dict.fromkeys(names))
    if len({model for model, _, _ in parsed}) != 1 or not all(sep and "=" in rest for _, sep, rest in parsed):
        return " + ".join(dict.fromkeys(names))
    return f"{parsed[0][0]}:" + ",".join(f"{k}={v}" for k, v in parts.items())


def provenance(record: dict[str, Any]) -> dict[str, Any]:
    """What a report shows of a run record: the condition, where it ran, the versions, the fingerprint."""
    unit = record.get("unit", {})
    return {
        # the model, revision, variant, mode and the benchmark's own keys (MTEB's protocol): all but the task's own
        "condition": {k: v for k, v in unit.items() if k not in ("task", "split", "limit")},
        "metric": record.get("main_metric"),
        "device": record.get("device"),
        "packages": record.get("packages", {}),
        "fingerprint": (record.get("fingerprint") or {}).get("sha256", ""),
        "seconds": (record.get("timing") or {}).get("seconds"),
        "partial": record.get("partial"),
        "data_notes": record.get("data_notes") or [],
        "first_shuffle_draws": record.get("first_shuffle_draws"),
    }


def _short(name: str, where: Path) -> str:
    """A run's HELM-style name, plus its benchmark's own settings when its results sit in a settings folder
    below the unit's (`Benchmark.subfolder`: prompt retrieval's `lm=...,demos=...,test=...`). Such a folder
    is a condition (`k=v,...`) inside a condition, in today's layout (`experiments/<condition>/<settings>`) and
    the old one (`<revision>/<condition>/<settings>`) alike."""
    nested = "=" in where.name and "=" in where.parent.name
    return f"{name},{where.name}" if nested and not name.endswith(where.name) else name


ERAS_BY_PROTOCOL = {"mteb-2022": ("2022",), "instructor": ("card", "2022"), "mteb": ("2024",)}


def _reference_rows() -> list[dict[str, str]]:
    with (REFERENCE / "mteb_per_task.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def reference_models() -> list[str]:
    with (REFERENCE / "table2.csv").open(encoding="utf-8") as fh:
        names = {r["model"] for r in csv.DictReader(fh)}
    rows = _reference_rows()
    return sorted(names | {r["model"] for r in rows} | {r["hub_id"] for r in rows if r["hub_id"]})


def load_reference(name: str, protocol: str | None = None) -> Run:
    """A published row by model name or hub id, `NAME@ERA` for one era (`reference/README.md`); without one, the
    era the runs' protocol reproduces (`ERAS_BY_PROTOCOL`), else the model's first era (2022 for the MTEB
    baselines, the model card for INSTRUCTOR's checkpoints)."""
    model, _, era = name.partition("@")
    if model not in reference_models():
        raise unknown("reference model", name, reference_models())
    rows = [r for r in _reference_rows() if model in (r["model"], r["hub_id"])]
    eras = list(dict.fromkeys(r["era"] for r in rows))
    if era and era not in eras:
        raise UsageError(f"{model} has no published figures of era {era!r}: use {', '.join(eras) or 'none'}")
    preferred = [e for e in ERAS_BY_PROTOCOL.get(protocol or "", ()) if e in eras]
    chosen = era or (preferred[0] if preferred else eras[0] if eras else "")
    short = rows[0]["model"] if rows else model
    run = Run(label=f"{short} (published {chosen})".replace(" ()", ""), source=REFERENCE_SOURCE, era=chosen)
    run.tasks = {r["task"]: float(r["score"]) for r in rows if r["era"] == chosen}
    run.model = next((r["hub_id"] for r in rows if r["hub_id"]), "")
    if chosen in ("", "2022", "card"):  # the INSTRUCTOR paper's Table 2 shows these eras' figures
        with (REFERENCE / "table2.csv").open(encoding="utf-8") as fh:
            run.published = {r["category"]: float(r["score"]) for r in csv.DictReader(fh) if r["model"] == short}
    return run


def is_folder(source: str) -> bool:
    """A RUN argument names a result folder (else a published row): it exists, or it reads as a path and is no
    published model's hub id."""
    if Path(source).exists() or source.startswith((".", "/", "~")):
        return True
    return "/" in source and source.partition("@")[0] not in reference_models()


def load_runs(
    sources: list[str], registry: Registry, labels: list[str] | None = None, protocol: str | None = None
) -> list[Run]:
    """Each source's runs (a folder may hold several conditions: one run each; a published row in the era
    `protocol` reproduces), then `labels` in order."""
    runs = [
        run
        for s in sources
        for run in (load_run_dir(Path(s), registry) if is_folder(s) else [load_reference(s, protocol)])
    ]
    if labels:
        if len(labels) != len(runs):
            raise UsageError(
                f"--label given {len(labels)} time(s) for {len(runs)} run(s): "
                + "; ".join(r.label for r in runs)
                + " (give one --label per run, in this order)"
            )
        for run, label in zip(runs, labels, strict=True):
            run.label = label
    return runs
