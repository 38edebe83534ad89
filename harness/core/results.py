"""Result files. A unit of work = (model, revision, instruction variant, mode, the benchmark's own condition,
task), filed as mteb's results cache files an experiment of a model (`Unit.folder`):

    <output>/<org__model>/<revision>/experiments/instructions_<variant>__mode_<mode>[__<benchmark's keys>]/
                                   (MTEB adds protocol_<protocol>, `Benchmark.condition`; a --limit run adds
                                   limit_<N>; keys in sorted order, as mteb names them)
        model_meta.json            mteb's ModelMeta, the condition as its experiment_kwargs
        <MtebTask>.json            mteb TaskResult (mteb.ResultCache reads it); one per forum for CQADupstack
        records/<Task>.run.json    the run record: resolved task spec, exact instructions and their sha256, data
                                   revision or checksum and data notes, the condition, package versions, device,
                                   timing, the main score the reports read, the fingerprint
        items/<Task>.json.gz       per-item outputs (intervals, paired tests)
        [<settings>/...]           a benchmark's own settings below the unit (prompt retrieval: lm=...,demos=...)

All are written atomically; the run record is written last, so its presence marks a finished task (with its
result files readable: `harness.app.runner` recomputes a task whose result file is torn). Until December 2026
every unit carried MTEB's protocol, so older Billboard and prompt-retrieval folders end in `__protocol_instructor`;
reports read them as they read any condition folder (docs/concepts/results.md, "Layout history").
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError, ResultError
from harness.core.instructions import sha256
from harness.core.io import write_atomic_path, write_json
from harness.core.spec import TaskSpec

PACKAGES = (
    "instructor-harness",
    "mteb",
    "sentence-transformers",
    "transformers",
    "torch",
    "numpy",
    "scipy",
    "scikit-learn",
    "datasets",
    "rouge-score",
)


def model_label(name: str) -> str:
    """A local model folder is named by its last component (not the whole path); a hub id stays whole."""
    return Path(name).name if Path(name).exists() else name


def mteb_model_name(name: str) -> str:
    """The model's name as mteb's results know it: an alias's hub id, a hub id, or local/<folder> for a folder."""
    from harness.core.interfaces import HUB_IDS

    if name in HUB_IDS:
        return HUB_IDS[name]
    return f"local/{Path(name).name}" if Path(name).exists() else name


UNSAFE = re.compile(r'[<>:"|?*\\/\x00]')  # the characters mteb replaces in experiment names


def experiment_name(kwargs: dict[str, str]) -> str:
    """mteb's name for an experiment folder (`mteb.models.model_meta._serialize_experiment_kwargs_to_name` for
    string values: sorted keys, key_value joined by "__", path-unsafe characters as "_"), so that mteb's results
    cache finds a unit's files as an experiment of its model."""
    return "__".join(f"{k}_{UNSAFE.sub('_', v)}" for k, v in sorted(kwargs.items()))


def slug(text: str) -> str:
    """A path component: hub ids and local paths lose their slashes, variants their colons."""
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "-", text.strip("/")).strip("-") or "_"


# The run's own condition keys beside instructions and mode: the model settings that change a number when they are
# not their default (`settings_keys`), and the packaged smoke suite (`suite=smoke`), filed apart from real runs.
SETTING_DEFAULTS: dict[str, str | None] = {"max_length": None, "precision": "fp32"}
SUITE = "suite"


def settings_keys(model_settings: Mapping[str, Any], smoke: bool = False) -> tuple[tuple[str, str], ...]:
    """The condition keys of a run's model settings (those not at their default) and of the smoke suite, sorted
    (`Unit.settings`)."""
    keys = {k: str(v) for k, v in model_settings.items() if k in SETTING_DEFAULTS and v != SETTING_DEFAULTS[k]}
    return tuple(sorted({**keys, **({SUITE: "smoke"} if smoke else {})}.items()))


@dataclass(frozen=True)
class Unit:
    model: str
    revision: str
    variant: str
    mode: str
    limit: int | None = None  # --limit: at most this many evaluation items per task (a partial run)
    # a benchmark's own keys of the condition (`Benchmark.condition`: MTEB's protocol), sorted: `within` sets them
    extra: tuple[tuple[str, str], ...] = ()
    # the run's own keys (`settings_keys`: model settings off their default, the smoke suite), sorted
    settings: tuple[tuple[str, str], ...] = ()

    def within(self, condition: Mapping[str, str]) -> Unit:
        """This unit under a benchmark's own condition (`Benchmark.condition`), which names its folder too."""
        return dataclasses.replace(self, extra=tuple(sorted(condition.items())))

    def _keys(self) -> list[tuple[str, str]]:
        return sorted([*self.settings, *self.extra])

    @property
    def name(self) -> str:
        """HELM-style run name: the parts that change the numbers."""
        own = "".join(f",{k}={v}" for k, v in self._keys())
        partial = f",limit={self.limit}" if self.limit else ""
        return f"{self.model}:instructions={self.variant},mode={self.mode}{own}{partial}"

    @property
    def condition(self) -> dict[str, str]:
        """What, beside the model and its revision, names the unit: mteb's `experiment_kwargs` (a partial run's
        limit included, so its folder is never a full run's)."""
        limit = {"limit": str(self.limit)} if self.limit else {}
        return {"instructions": self.variant, "mode": self.mode, **dict(self._keys()), **limit}

    def record(self) -> dict[str, Any]:
        """The unit as its run records store it: its fields, the condition keys among them."""
        fields = {"model": self.model, "revision": self.revision, "variant": self.variant, "mode": self.mode}
        return {**fields, **dict(self._keys()), "limit": self.limit}

    @classmethod
    def from_record(cls, unit: Mapping[str, Any]) -> Unit:
        """The unit a run record's `unit` names (`record()`, beside the task's own `task` and `split`)."""
        own = ("model", "revision", "variant", "mode", "limit", "task", "split")
        keys = {k: str(v) for k, v in unit.items() if k not in own}
        settings = tuple(sorted((k, v) for k, v in keys.items() if k in SETTING_DEFAULTS or k == SUITE))
        base = cls(unit["model"], unit["revision"], unit["variant"], unit["mode"], unit.get("limit"), (), settings)
        return base.within({k: v for k, v in keys.items() if k not in dict(settings)})

    def folder(self, output: Path) -> Path:
        """mteb's results-cache layout, `<org__model>/<revision>/experiments/<condition>/`: mteb's loaders read
        `--output-dir P` as `mteb.ResultCache(cache_path=P/..)` does `P/..` /results (docs/concepts/results.md)."""
        model = mteb_model_name(self.model).replace("/", "__")
        return output / slug(model) / slug(self.revision) / "experiments" / experiment_name(self.condition)


def record_path(folder: Path, task: str) -> Path:
    """A task's run record: in `records/`, where mteb's loaders (which read `*.json` beside model_meta.json) never
    take it for a task result."""
    return folder / "records" / f"{task}.run.json"


def model_meta(identity: Any, similarity: str, condition: Mapping[str, str] | None = None) -> Any:
    """mteb's ModelMeta of a model (`interfaces.ModelIdentity`): its name as mteb's results know it, revision,
    dimension, max tokens and similarity, and a unit's condition as `experiment_kwargs` (where mteb's results cache
    files an experiment of the model). The one place the harness describes a model to mteb."""
    from mteb.models import ModelMeta
    from mteb.models.model_meta import ScoringFunction

    fields = {
        "name": mteb_model_name(identity.name),
        "revision": identity.revision,
        "embed_dim": identity.dimension,
        "max_tokens": identity.max_length,
        "similarity_fn_name": ScoringFunction.from_str(similarity),
    }
    return ModelMeta.create_empty(overwrites={**fields, **({"experiment_kwargs": condition} if condition else {})})


def write_model_meta(folder: Path, unit: Unit, identity: Any, similarity: str) -> None:
    """The unit folder's `model_meta.json` (`model_meta` with the unit's condition and the revision its folder is
    named by: `--revision` as given, which mteb's reader matches with the folder), once."""
    path = folder / "model_meta.json"
    if not path.is_file():
        named = dataclasses.replace(identity, revision=unit.revision)
        write_json(path, model_meta(named, similarity, unit.condition).model_dump(mode="json"))


# How far a stored score may sit from what its files give back: mteb's TaskResult stores 6 decimals, some mteb
# evaluators round to 5 (the runner's own check at write time is 1e-9 plus that rounding). An edit of a shown
# figure (0.01 points = 1e-4) is far outside it.
AGREE = 1e-9 + 0.5e-5


def result_problem(folder: Path, record: dict[str, Any]) -> str | None:
    """Why a finished task's results beside its run record cannot be believed, naming the file, or None. Its mteb
    result file(s) (one per CQADupstack forum) must be readable and give the record's score (mteb's reader shows
    the file, reports the record: they may never disagree), and its per-item outputs must still give that score.
    The run loop recomputes such a task instead of resuming it; reports refuse to show it."""
    task = record.get("task") or {}
    parts = task.get("subtasks") or [record.get("unit", {}).get("task") or task.get("name")]
    scores = record.get("part_scores") or {parts[0]: record.get("main_score")}
    for part in parts:
        path = folder / f"{part}.json"
        if not path.is_file():
            return f"its result file {path} is missing"
        try:
            shown = _stored_score(json.loads(path.read_text(encoding="utf-8")), record, task)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return f"its result file {path} is truncated or unreadable ({exc})"
        if shown is None or not isinstance(scores.get(part), float) or abs(shown - scores[part]) > AGREE:
            return f"its result file {path} gives {shown}, its run record {scores.get(part)}: one was edited"
    main = record.get("main_score")
    if record.get("part_scores") and isinstance(main, float) and abs(sum(scores.values()) / len(scores) - main) > AGREE:
        return f"its run record's score {main} is not the mean of its parts' {sorted(scores.values())}"
    saved = (record.get("uncertainty") or {}).get("items")
    if saved:
        from harness.core import items as per_item

        try:
            again = per_item.load(folder / saved).score()
        except (OSError, ValueError, KeyError, HarnessError) as exc:
            return f"its per-item outputs {folder / saved} are unreadable ({exc})"
        if not isinstance(main, float) or abs(again - main) > AGREE:
            return f"its per-item outputs {folder / saved} give {again}, its run record {main}: one was edited"
    return None


def _stored_score(result: dict[str, Any], record: dict[str, Any], task: dict[str, Any]) -> float | None:
    """The main score an mteb TaskResult holds for the record's task: its metric (else `main_score`), averaged
    over the task's subsets of its split, as the record's score is."""
    split, metric = task.get("split") or record.get("unit", {}).get("split"), record.get("main_metric")
    subsets = task.get("subsets") or ["default"]
    rows = [r for r in (result.get("scores") or {}).get(split, []) if r.get("hf_subset", "default") in subsets]
    values = [r.get(metric, r.get("main_score")) for r in rows]
    if not values or not all(isinstance(v, int | float) for v in values):
        return None
    return float(sum(values) / len(values))


def read_record(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultError(f"{path}: unreadable run record ({exc}); delete it to re-run the task") from None


def write_task_result(folder: Path, result: Any) -> Path:
    path = folder / f"{result.task_name}.json"
    write_atomic_path(path, result.to_disk)
    return path


def write_scores(folder: Path, spec: TaskSpec, scores: dict[str, Any], revision: str, seconds: float) -> None:
    """A non-MTEB task's scores in mteb's TaskResult format, so every result file reads the same way."""
    import mteb
    from mteb.results import TaskResult

    result = TaskResult(
        dataset_revision=revision,
        task_name=spec.name,
        mteb_version=mteb.__version__,
        scores={spec.split: [{**scores, "hf_subset": "default", "languages": ["eng-Latn"]}]},
        evaluation_time=seconds,
    )
    write_task_result(folder, result)


def instruction_record(sides: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each side's exact instruction and its sha256, as run records store them."""
    return {side: {"text": text, "sha256": sha256(text)} for side, text in sides.items()}


def write_record(folder: Path, task: str, record: dict[str, Any]) -> Path:
    path = record_path(folder, task)
    write_json(path, record)
    return path


def package_versions() -> dict[str, str]:
    """Python's and the numeric libraries' versions (fixed for a process, so looked up once)."""
    return dict(_versions())


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    versions = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            versions.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return tuple(versions)
