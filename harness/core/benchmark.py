"""The plug-in contract: what a benchmark provides to the run loop (`harness.app.runner`), the CLI and the reports
(`Benchmark`), what its evaluation returns (`Evaluation`), and `get_benchmark`, over the lazy table of
`plugins`. Nothing here names a benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness.core.plugins import plugin

if TYPE_CHECKING:
    from harness.core.checks import DataCheck
    from harness.core.context import Context, RunOptions
    from harness.core.items import Items
    from harness.core.results import Unit
    from harness.core.spec import TaskSpec


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


S = TypeVar("S", bound="TaskSpec", contravariant=True)  # the benchmark's own spec type, which its methods take


class Benchmark(Protocol[S]):
    name: str
    spec_type: type[TaskSpec]
    # whether `run --encode-share` workers fill the embedding cache for its tasks (their evaluations see
    # placeholder vectors for the other shares, and are thrown away)
    encode_share: bool

    def check_data(self, spec: S, opts: RunOptions) -> DataCheck:
        """Read and check all the task's data (local or hub) without a model: rows, notes; a refusal raises
        DataError (`harness data check`)."""
        ...

    def preflight(self, spec: S, opts: RunOptions) -> DataCheck:
        """The checks `run` makes before any model loads: the data (as `check_data`, or where a full load would be
        repeated by the evaluation, that its files are at hand) and anything else the task needs."""
        ...

    def evaluate(self, spec: S, ctx: Context) -> Evaluation:
        """Score the task, writing its result files under `self.result_folder(spec, ctx.opts)`."""
        ...

    def data_identity(self, spec: S, opts: RunOptions) -> dict[str, Any]:
        """What identifies the task's data without parsing it: the pinned revision, or a digest of the files."""
        ...

    def settings_identity(self, spec: S, opts: RunOptions) -> dict[str, Any]:
        """This benchmark's own run settings that change the number (prompt retrieval: the LM and demonstrations)."""
        ...

    def mirror(self, spec: S, out: Path, opts: RunOptions) -> list[Path]:
        """Write the task's data under `out` where `--data-dir out` reads it (online): the data these settings
        evaluate (MTEB's era protocols load paper-era revisions); the files written."""
        ...

    def condition(self, opts: RunOptions) -> dict[str, str]:
        """This benchmark's own keys of the unit's condition (MTEB: its protocol), which name the unit's folder
        and run beside the model, instructions and mode, and enter its fingerprint; {} for none."""
        ...

    def result_folder(self, spec: S, opts: RunOptions) -> Path:
        """Where the task's results go: its unit's folder (`task_unit`), or a sub-folder for settings of this
        benchmark."""
        ...


def task_unit(spec: TaskSpec, opts: RunOptions) -> Unit:
    """The unit a task is filed under: the run's, within its benchmark's own condition."""
    return opts.unit.within(get_benchmark(spec.benchmark).condition(opts))


def run_unit(specs: list[TaskSpec], opts: RunOptions) -> Unit:
    """A run's unit as its header names it: the run's, within every selected benchmark's own condition."""
    own = {k: v for b in dict.fromkeys(s.benchmark for s in specs) for k, v in get_benchmark(b).condition(opts).items()}
    return opts.unit.within(own)


def get_benchmark(name: str) -> Benchmark[Any]:
    """The benchmark a task file's `benchmark:` names (`plugins.plugin`: imported on first use); its methods take
    that benchmark's spec type, which the registry validated the task file into."""
    benchmark: Benchmark[Any] = plugin(name).BENCHMARK
    return benchmark
