"""The plug-in contract: what a benchmark provides to the run loop (`harness.app.runner`), the CLI and the reports
(`Benchmark`), what its evaluation returns (`Evaluation`), and `get_benchmark`, over the lazy table of
`plugins`. Nothing here names a benchmark."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from harness.core.plugins import benchmark_names, plugin

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


@dataclass(frozen=True)
class Flag:
    """One of a benchmark's own run settings, declared as data: its request value (`RunRequest.settings[name]`,
    a keyword of `harness.evaluate`) and its flag on `run`, `plan`, `robustness` and `data` (`--name-with-dashes`).
    `default` is shown in the help and applied by the benchmark's `settings`."""

    name: str
    help: str
    type: Callable[[str], Any] = str
    choices: tuple[str, ...] | None = None
    default: Any = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, value: Any) -> Any:
        """A request's value as the flag takes it, for the Python API, which no argparse checks: `type` applied to
        its text and `choices` enforced, an invalid value refused naming the flag (as the CLI refuses it)."""
        import argparse

        from harness.core.errors import UsageError, unknown

        if self.type is not str:
            try:
                value = self.type(str(value))
            except (argparse.ArgumentTypeError, ValueError) as exc:
                raise UsageError(f"{self.name}={value!r} ({self.option}): {exc}") from None
        if self.choices and value not in self.choices:
            raise unknown(f"{self.name} ({self.option})", str(value), self.choices)
        return value


S = TypeVar("S", bound="TaskSpec", contravariant=True)  # the benchmark's own spec type, which its methods take


class Benchmark(Protocol[S]):
    name: str
    spec_type: type[TaskSpec]
    # whether `run --encode-share` workers fill the embedding cache for its tasks (their evaluations see
    # placeholder vectors for the other shares, and are thrown away)
    encode_share: bool
    # its own run settings, declared (the CLI lists them without importing an evaluator): `settings` reads them
    flags: tuple[Flag, ...]

    def settings(self, values: Mapping[str, Any]) -> Any:
        """Its settings object from a request's values of `flags` (absent ones at their defaults; an invalid one
        refused), handed to it as `RunOptions.settings[name]`."""
        ...

    def check_data(self, spec: S, opts: RunOptions) -> DataCheck:
        """Read and check all the task's data (local or hub) without a model: rows, notes; a refusal raises
        DataError (`harness data check`)."""
        ...

    def preflight(self, spec: S, opts: RunOptions) -> DataCheck:
        """The checks `run` makes before any model loads: the data (as `check_data`, or where a full load would be
        repeated by the evaluation, that its files are at hand) and anything else the task needs."""
        ...

    def evaluate(self, spec: S, ctx: Context, folder: Path) -> Evaluation:
        """Score the task, writing its result files under `folder` (`task_folder`)."""
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

    def metric(self, spec: S, opts: RunOptions) -> str:
        """The name of the main score the task reports under these settings (MTEB's era protocols score reranking
        by `map`, installed mteb by `map_at_1000`): one name in `harness tasks`, the run's table and its record."""
        ...

    def subfolder(self, spec: S, opts: RunOptions) -> str | None:
        """A folder below the unit's for settings of this benchmark too many and long to name the unit (prompt
        retrieval's LM and demonstrations), or None."""
        ...


def task_unit(spec: TaskSpec, opts: RunOptions) -> Unit:
    """The unit a task is filed under: the run's, within its benchmark's own condition."""
    return opts.unit.within(get_benchmark(spec.benchmark).condition(opts))


def task_folder(spec: TaskSpec, opts: RunOptions) -> Path:
    """Where a task's results go: its unit's folder, or its benchmark's settings folder below it."""
    below = get_benchmark(spec.benchmark).subfolder(spec, opts)
    folder = task_unit(spec, opts).folder(opts.output)
    return folder / below if below else folder


def run_unit(specs: list[TaskSpec], opts: RunOptions) -> Unit:
    """A run's unit as its header names it: the run's, within every selected benchmark's own condition."""
    own = {k: v for b in dict.fromkeys(s.benchmark for s in specs) for k, v in get_benchmark(b).condition(opts).items()}
    return opts.unit.within(own)


def all_benchmarks() -> list[Benchmark[Any]]:
    """Every benchmark (`plugins`: found by folder, each package light to import: its heavy code loads in the
    methods that need it)."""
    return [get_benchmark(name) for name in benchmark_names()]


def setting_names() -> list[str]:
    """Every benchmark's own request values (`Benchmark.flags`): what `run` passes on as settings."""
    return [flag.name for benchmark in all_benchmarks() for flag in benchmark.flags]


def get_benchmark(name: str) -> Benchmark[Any]:
    """The benchmark a task file's `benchmark:` names (`plugins.plugin`: imported on first use); its methods take
    that benchmark's spec type, which the registry validated the task file into."""
    benchmark: Benchmark[Any] = plugin(name).BENCHMARK
    return benchmark
