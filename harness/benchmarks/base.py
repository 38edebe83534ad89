"""What a benchmark provides to the generic runner (`harness.core.runner`), the CLI and the reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.core.checks import DataCheck
    from harness.core.items import Items
    from harness.core.runner import Context, RunOptions


@dataclass
class Evaluation:
    """A task's main score (0-1 scale), the metric it is (None: the task file's `main_metric`), what its run
    record says about how it was obtained, and the per-item outputs it is computed from (None: the evaluator
    gives none, and `no_items` says why)."""

    main_score: float
    details: dict[str, Any] = field(default_factory=dict)
    metric: str | None = None
    items: Items | None = None
    no_items: str | None = None
    decimals: int | None = None  # the main score's rounding by its evaluator (mteb rounds retrieval to 5), if any


class Benchmark(Protocol):
    name: str
    spec_type: type[TaskSpec]

    def check_data(self, spec: TaskSpec, opts: RunOptions) -> DataCheck:
        """Read and check all the task's data (local or hub) without a model: rows, notes; a refusal raises
        DataError (`harness data check`)."""
        ...

    def preflight(self, spec: TaskSpec, opts: RunOptions) -> DataCheck:
        """The checks `run` makes before any model loads: the data (as `check_data`, or where a full load would be
        repeated by the evaluation, that its files are at hand) and anything else the task needs."""
        ...

    def evaluate(self, spec: TaskSpec, ctx: Context) -> Evaluation:
        """Score the task, writing its result files under `self.result_folder(spec, ctx.opts)`."""
        ...

    def data_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        """What identifies the task's data without parsing it: the pinned revision, or a digest of the files."""
        ...

    def settings_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        """This benchmark's own run settings that change the number (prompt retrieval: the LM and demonstrations)."""
        ...

    def mirror(self, spec: TaskSpec, out: Path, protocol: str) -> list[Path]:
        """Write the task's data under `out` where `--data-dir out` reads it (online): the data the protocol
        evaluates (MTEB's era protocols load paper-era revisions); the files written."""
        ...

    def result_folder(self, spec: TaskSpec, opts: RunOptions) -> Path:
        """Where the task's results go: the unit's folder, or a sub-folder for settings of this benchmark."""
        ...
