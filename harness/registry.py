"""The task registry: `tasks/**/*.yaml`, one file per task, validated into typed `TaskSpec`s.

Loaded lazily on first use; a malformed file fails with its path, the field and what was expected.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import HarnessError, unknown
from harness.paths import data_dir

Benchmark = Literal["mteb", "billboard", "prompt-retrieval"]
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MtebSource(_Strict):
    kind: Literal["mteb"]
    mteb_task: str
    hf_dataset: str
    revision: str = Field(min_length=1)
    paper_hf_dataset: str | None = None
    paper_revision: str | None = None


class FilesSource(_Strict):
    """Files under `DATA_DIR/<folder>/`, or online from `repository` at `commit`, `path`."""

    kind: Literal["files"]
    folder: str
    files: dict[str, str]
    remote_names: dict[str, str] = {}  # where the upstream file is named differently from the local copy
    repository: str
    commit: str
    path: str


class HfSource(_Strict):
    """A Hugging Face dataset online, or `DATA_DIR/<folder>/<split>.jsonl` with the same columns offline."""

    kind: Literal["hf"]
    hf_dataset: str
    config: str | None = None
    revision: str | None = None
    folder: str
    pool_split: str
    test_split: str

    def split_file(self, data_dir: Path, split: str) -> Path:
        """Where `--data-dir` keeps a split (and `harness data mirror` writes it)."""
        return data_dir / self.folder / f"{split}.jsonl"


Source = Annotated[MtebSource | FilesSource | HfSource, Field(discriminator="kind")]


class TaskSpec(_Strict):
    name: str
    benchmark: Benchmark
    category: Category
    main_metric: str
    split: str
    subsets: list[str] = ["default"]
    subtasks: list[str] | None = None
    instructions_from: str | None = None  # borrow another task's instructions (the smoke suite does)
    source: Source
    text_fields: list[str]
    protocol: dict[str, Any] = {}
    notes: str | None = None

    @property
    def symmetric(self) -> bool:
        """Same instruction on both sides (all but retrieval and reranking)."""
        return self.category not in ASYMMETRIC

    @model_validator(mode="after")
    def _benchmark_matches(self) -> TaskSpec:
        is_mteb = self.category in MTEB_CATEGORIES
        if is_mteb != (self.benchmark == "mteb") or (self.benchmark == "mteb") != (self.source.kind == "mteb"):
            raise ValueError(
                f"benchmark {self.benchmark!r}, category {self.category!r} and source kind "
                f"{self.source.kind!r} do not agree"
            )
        return self


def describe(err: ValidationError) -> str:
    """One line per pydantic problem: field path, message, the value given."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(file)"
        lines.append(f"  field {loc}: {e['msg']} (got {e.get('input')!r:.80})")
    return "\n".join(lines)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise HarnessError(f"{path}: not valid YAML: {exc}") from None


def load_spec(path: Path) -> TaskSpec:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise HarnessError(f"{path}: expected a mapping of task fields, got {type(raw).__name__}")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise HarnessError(f"{path}: invalid task entry\n{describe(exc)}") from None
    if spec.name != path.stem:
        raise HarnessError(f"{path}: field name: {spec.name!r} must equal the file name {path.stem!r}")
    return spec


class Registry:
    """All task specs of one tasks folder, by name."""

    def __init__(self, root: Path) -> None:
        files = sorted(root.rglob("*.yaml"))
        if not files:
            raise HarnessError(f"no task files under {root}: expected tasks/<benchmark>/<Task>.yaml")
        self.tasks: dict[str, TaskSpec] = {}
        for path in files:
            spec = load_spec(path)
            if spec.name in self.tasks:
                raise HarnessError(f"{path}: task {spec.name!r} is defined twice")
            self.tasks[spec.name] = spec

    def get(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise unknown("task", name, self.tasks)
        return self.tasks[name]

    def select(
        self, *, names: list[str] | None = None, benchmark: str | None = None, category: str | None = None
    ) -> list[TaskSpec]:
        if category is not None and category not in CATEGORIES:
            raise unknown("category", category, CATEGORIES)
        if benchmark is not None and benchmark not in Benchmark.__args__:  # type: ignore[attr-defined]
            raise unknown("benchmark", benchmark, Benchmark.__args__)  # type: ignore[attr-defined]
        specs = [self.get(n) for n in names] if names else list(self.tasks.values())
        return [s for s in specs if (benchmark in (None, s.benchmark)) and (category in (None, s.category))]


@functools.cache
def registry(root: Path | None = None) -> Registry:
    return Registry(root or data_dir("tasks"))
