"""Reading runs for reports: harness result folders, mteb result files of any era (current `TaskResult`s and the
legacy 0.0.x/1.x layouts), and the published rows shipped in `results/reference/`."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError, unknown
from harness.core.paths import data_dir
from harness.core.spec import Registry, TaskSpec
from harness.reports.aggregate import Run

REFERENCE = data_dir("results/reference")
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
