"""Task specs: `tasks/<benchmark>/<Task>.yaml`, one file per task, validated into the typed spec of its benchmark.

The fields every task has live here (`TaskSpec`); each benchmark subclasses it with its own `source` and
`protocol` models (`harness/benchmarks/<name>/spec.py`), all with unknown keys forbidden, so a misspelt key
fails `harness validate` naming the file, the field and the valid keys. Loaded lazily on first use.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.core.errors import HarnessError, SpecError, UsageError, unknown
from harness.core.paths import data_dir, include_paths

Category = Literal[
    "Retrieval",
    "Reranking",
    "Clustering",
    "PairClassification",
    "Classification",
    "STS",
    "Summarization",
    "Billboard",
    "PromptRetrieval",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
MTEB_CATEGORIES = CATEGORIES[:7]
#: Task counts of the paper's Table 2 header ("15/4/11/3/12/10/1 | 3 | 11 | 70").
EXPECTED_COUNTS = {
    "Retrieval": 15,
    "Reranking": 4,
    "Clustering": 11,
    "PairClassification": 3,
    "Classification": 12,
    "STS": 10,
    "Summarization": 1,
    "Billboard": 3,
    "PromptRetrieval": 11,
}
ASYMMETRIC = frozenset({"Retrieval", "Reranking"})


class Strict(BaseModel):
    """Unknown keys are errors; specs never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSpec(Strict):
    """The fields of every task; `source` and `protocol` are typed by each benchmark's subclass."""

    name: str
    benchmark: str
    category: Category
    main_metric: str
    split: str
    subsets: list[str] = ["default"]
    subtasks: list[str] | None = None
    instructions_from: str | None = None  # borrow another task's instructions (the smoke suite does)
    text_fields: list[str]
    notes: str | None = None

    @property
    def symmetric(self) -> bool:
        """Same instruction on both sides (all but retrieval and reranking)."""
        return self.category not in ASYMMETRIC


M = TypeVar("M", bound=BaseModel)


def typed(model: type[M], value: Any, what: str) -> M:
    """`value` validated as `model`; an unknown key is named with the valid ones (for a field validator)."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        valid = ", ".join(model.model_fields)
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                problems.append(f"unknown {what} key {loc!r} (valid keys: {valid})")
            else:
                problems.append(f"{what} {loc or '(value)'}: {e['msg']} (got {e.get('input')!r:.60})")
        raise ValueError("; ".join(problems)) from None


def describe(err: ValidationError) -> str:
    """One line per pydantic problem: field path, message, the value given."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(file)"
        got = "" if e["type"] == "value_error" else f" (got {e.get('input')!r:.80})"
        lines.append(f"  field {loc}: {e['msg'].removeprefix('Value error, ')}{got}")
    return "\n".join(lines)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None


def load_spec(path: Path) -> TaskSpec:
    """One task file, validated as the spec type of the benchmark it names."""
    from harness.core.plugins import plugin

    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of task fields, got {type(raw).__name__}")
    try:
        spec_type = plugin(str(raw.get("benchmark"))).BENCHMARK.spec_type
    except HarnessError as exc:
        raise SpecError(f"{path}: field benchmark: {exc}") from None
    try:
        spec = spec_type.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{path}: invalid task entry\n{describe(exc)}") from None
    if spec.name != path.stem:
        raise SpecError(f"{path}: field name: {spec.name!r} must equal the file name {path.stem!r}")
    return spec


class Registry:
    """All task specs of one or more tasks folders, by name."""

    def __init__(self, *roots: Path) -> None:
        files = sorted(p for root in roots for p in root.rglob("*.yaml"))
        if not files:
            raise SpecError(f"no task files under {', '.join(map(str, roots))}: expected <benchmark>/<Task>.yaml")
        self.tasks: dict[str, TaskSpec] = {}
        self.files: dict[str, Path] = {}  # task -> the file that defines it
        for path in files:
            spec = load_spec(path)
            if spec.name in self.tasks:
                raise SpecError(f"{path}: task {spec.name!r} is defined twice (also in {self.files[spec.name]})")
            self.tasks[spec.name] = spec
            self.files[spec.name] = path

    def shipped(self, name: str) -> bool:
        """Whether a task is one of the package's own (not from an include path)."""
        return data_dir("tasks") in self.files[name].parents

    def get(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise unknown("task", name, self.tasks)
        return self.tasks[name]

    def select(
        self, *, names: list[str] | None = None, benchmark: str | None = None, category: str | None = None
    ) -> list[TaskSpec]:
        """Tasks by name (each once, in the order given), or all of a benchmark / category. Names and a filter
        together must agree: a named task outside the filter is an error, never silently dropped."""
        from harness.core.plugins import plugin

        if category is not None and category not in CATEGORIES:
            raise unknown("category", category, CATEGORIES)
        if benchmark is not None:
            plugin(benchmark)
        # a task named twice runs once (a second run of it would wait on the first's lease)
        specs = [self.get(n) for n in dict.fromkeys(names)] if names else list(self.tasks.values())
        if names and (outside := [s.name for s in specs if benchmark not in (None, s.benchmark)]):
            raise UsageError(f"tasks {', '.join(outside)} are not of benchmark {benchmark}: drop one selector")
        if names and (outside := [s.name for s in specs if category not in (None, s.category)]):
            raise UsageError(f"tasks {', '.join(outside)} are not of category {category}: drop one selector")
        return [s for s in specs if (benchmark in (None, s.benchmark)) and (category in (None, s.category))]


def every_task() -> Registry:
    """Every task a result may name (what reports read): the shipped ones, the smoke suite's, the include paths'."""
    from harness.core.paths import smoke_dir

    return _registry(data_dir("tasks"), (*include_paths(), smoke_dir()))


def registry(root: Path | None = None) -> Registry:
    """The shipped tasks (or `root`'s) and those of the include paths (`paths.include_paths`)."""
    return _registry(root or data_dir("tasks"), include_paths())


@functools.cache
def _registry(root: Path, includes: tuple[Path, ...]) -> Registry:
    extra = []
    for folder in includes:
        if not (folder / "tasks").is_dir() and not (folder / "instructions").is_dir():
            raise SpecError(f"include path {folder}: expected tasks/<benchmark>/<Task>.yaml or instructions/ under it")
        if (folder / "tasks").is_dir():
            extra.append(folder / "tasks")
    return Registry(root, *extra)
