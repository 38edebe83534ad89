"""Result files. A unit of work = (model, revision, instruction variant, mode, protocol, task) with a fixed path:

    <output>/<model>/<revision>/instructions=<variant>,mode=<mode>,protocol=<protocol>/
        <MtebTask>.json      mteb TaskResult (readable by mteb.TaskResult.from_disk); several for CQADupstack
        <Task>.run.json      the run record: resolved task spec, exact instructions and their sha256,
                             data checksum or revision, protocol, package versions, seed, device, timing,
                             and the main score the reports read

Both are written atomically; the run record is written last, so its presence marks a finished task.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.errors import ResultError
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


def slug(text: str) -> str:
    """A path component: hub ids and local paths lose their slashes, variants their colons."""
    return re.sub(r"[^A-Za-z0-9._=,+-]+", "-", text.strip("/")).strip("-") or "_"


@dataclass(frozen=True)
class Unit:
    model: str
    revision: str
    variant: str
    mode: str
    protocol: str

    @property
    def name(self) -> str:
        """HELM-style run name: the parts that change the numbers."""
        return f"{self.model}:instructions={self.variant},mode={self.mode},protocol={self.protocol}"

    def folder(self, output: Path) -> Path:
        return (
            output
            / slug(model_label(self.model))
            / slug(self.revision)
            / slug(f"instructions={self.variant},mode={self.mode},protocol={self.protocol}")
        )


def record_path(folder: Path, task: str) -> Path:
    return folder / f"{task}.run.json"


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
