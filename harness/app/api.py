"""The Python API (`harness.evaluate`, `harness.load_results`) and the one place that turns a run's settings into
tasks, an instruction library and run options: the CLI's `run` and `plan` build a `RunRequest` and call this too.

    import harness
    scores = harness.evaluate("minilm", ["STSBenchmark", "SciFact"], data_dir="../shared/data")
    frame = harness.load_results("results")   # one row per (run, task), as a pandas DataFrame
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.errors import HarnessError, UsageError

LOG = logging.getLogger("harness")  # the API's lines; quiet unless `verbose=True` or the caller configures logging

if TYPE_CHECKING:
    import pandas as pd

    from harness.core.context import RunOptions
    from harness.core.instructions import Library
    from harness.core.interfaces import TextEncoder
    from harness.core.spec import TaskSpec
    from harness.reports.robustness import Study


@dataclass(frozen=True)
class RunRequest:
    """A run's settings, with the CLI's defaults (`harness run --help` says what each does)."""

    model: str = "minilm"
    tasks: list[str] | None = None  # none of tasks, category, benchmark: the packaged smoke suite
    category: str | None = None
    benchmark: str | None = None
    instructions: str | None = None  # default: the checkpoint's own family for INSTRUCTOR models, else none
    mode: str | None = None  # default: masked for INSTRUCTOR checkpoints, else none
    revision: str | None = None
    data_dir: Path | None = None
    output_dir: Path = Path("results")
    batch_size: int = 32
    device: str | None = None
    devices: list[str] | None = None  # several devices of one node (harness.models.devices)
    precision: str = "fp32"
    max_length: int | None = None
    cache: bool = True
    overwrite: bool = False
    dry_run: bool = False
    shard: tuple[int, int] | None = None
    limit: int | None = None  # at most this many evaluation items per task: a partial run, named as one
    # the benchmarks' own settings by name (MTEB's protocol; prompt retrieval's lm, demos, test_size, ...:
    # `Benchmark.flags`)
    settings: dict[str, Any] = field(default_factory=dict)
    progress: bool = False
    log: Any = field(default=LOG.info, compare=False)  # the CLI passes print
    # a model object's encoder (`with_model_object`), used instead of loading `model`, which is its name
    loaded: Any = field(default=None, compare=False)

    @property
    def model_settings(self) -> dict[str, Any]:
        """The model settings that change numbers beyond name, revision and mode (part of every fingerprint)."""
        return {"max_length": self.max_length, "precision": self.precision}


@dataclass(frozen=True)
class Prepared:
    specs: list[TaskSpec]
    library: Library
    options: RunOptions
    smoke: bool


@dataclass(frozen=True)
class TaskScore:
    """One task's result: the main score on the paper's 0-100 scale, and its full run record."""

    task: str
    category: str
    metric: str
    score: float | None
    status: str  # done | resumed | planned | elsewhere
    record: dict[str, Any]


def check_mode(instruction_given: bool, mode: str) -> None:
    """An instruction with mode none would be silently dropped: refuse, naming the fix."""
    if instruction_given and mode == "none":
        raise UsageError(
            "an instruction is given but the instruction mode is 'none', which ignores it (the default for models "
            "that are not INSTRUCTOR checkpoints): pass --mode masked (INSTRUCTOR) or --mode prefix (instruction + "
            "text); in Python, mode='masked' or mode='prefix'"
        )


def variant_and_mode(request: RunRequest) -> tuple[str, str]:
    """The instruction variant (an INSTRUCTOR checkpoint's own family unless `instructions` names one) and the
    mode a request runs under, a contradiction refused (`check_mode`): for `run` and the mteb bridge alike."""
    from harness.core.instructions import FAMILIES
    from harness.models.resolve import default_mode

    family = next((f for f in FAMILIES if f in request.model.lower()), None)
    variant, mode = request.instructions or family or "none", request.mode or default_mode(request.model)
    check_mode(variant != "none", mode)
    return variant, mode


def prepare(request: RunRequest) -> Prepared:
    """The selected tasks, their instruction library and the run options a request describes."""
    from harness.core.context import RunOptions
    from harness.core.instructions import Library, library
    from harness.core.paths import data_dir, smoke_dir
    from harness.core.results import Unit, settings_keys
    from harness.core.spec import Registry, registry
    from harness.models.encoder import check_precision
    from harness.models.lm import LocalModels
    from harness.models.resolve import resolve_model

    r = request
    if r.loaded is None:  # a model object was checked as it was taken (`with_model_object`)
        devices: list[str | None] = list(r.devices) if r.devices else [r.device]
        for device in devices:
            check_precision(r.precision, device)  # before any data or model is read
    packaged = Registry(smoke_dir() / "tasks")
    # the smoke suite: nothing selected, or only its own tasks (a launcher's worker runs them one by one)
    smoke = not (r.tasks or r.category or r.benchmark) or bool(r.tasks and set(r.tasks) <= set(packaged.tasks))
    reg = packaged if smoke else registry()
    lib = Library(data_dir("instructions"), reg) if smoke else library()
    specs = reg.select(names=r.tasks, benchmark=r.benchmark, category=r.category)
    if not specs:
        raise UsageError("no task matches the selection")
    variant, mode = variant_and_mode(r)
    lib.get(specs[0].name, variant, specs[0].subtasks[0] if specs[0].subtasks else None)  # unknown variant fails now
    try:
        if r.loaded is not None:
            revision, weights = r.loaded.identity.revision, r.loaded.identity.weights
        else:
            revision, weights = (r.revision, r.revision) if r.revision else resolve_model(r.model)[1:]
    except HarnessError:
        if not r.dry_run:
            raise
        revision = weights = "unresolved"  # a plan can still be shown; its paths name no revision
    options = RunOptions(
        Unit(
            r.model,
            revision,
            variant,
            mode,
            r.limit,
            settings=settings_keys(r.model_settings, smoke),
        ),
        Path(r.output_dir),
        Path(r.data_dir) if r.data_dir else (smoke_dir() / "data" if smoke else None),
        r.batch_size,
        r.overwrite,
        r.dry_run,
        r.log,
        settings=benchmark_settings(r.settings),
        model_settings=r.model_settings,
        weights=weights,
        shard=r.shard,
        models=LocalModels(),
    )
    return Prepared(specs, lib, options, smoke)


def default_options() -> RunOptions:
    """Run options at every default (no model, no output): what the benchmarks report under default settings
    (`harness tasks`' metric names)."""
    from harness.core.context import RunOptions
    from harness.core.results import Unit

    return RunOptions(Unit("-", "-", "none", "none"), Path("."), settings=benchmark_settings({}))


def benchmark_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Each benchmark's settings object from a request's values (`Benchmark.flags`, `Benchmark.settings`); a
    value that no benchmark reads is refused, with a "did you mean", rather than ignored, and each value is checked
    as its flag checks it (`Flag.parse`: the Python API reaches no argparse)."""
    from harness.core.benchmark import all_benchmarks
    from harness.core.errors import unknown

    flags = {flag.name: flag for benchmark in all_benchmarks() for flag in benchmark.flags}
    for name in values:
        if name not in flags:
            raise unknown("run setting", name, [*RunRequest.__dataclass_fields__, *flags])
    parsed = {name: flags[name].parse(v) if v is not None else None for name, v in values.items()}
    return {benchmark.name: benchmark.settings(parsed) for benchmark in all_benchmarks()}


def split_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Keyword settings of the Python API as `RunRequest` fields, the rest as its benchmark `settings`
    (`harness.evaluate(..., lm="gpt2", test_size=64)`)."""
    fields = set(RunRequest.__dataclass_fields__) - {"loaded"}  # the harness's own: set by `with_model_object`
    own = {k: v for k, v in settings.items() if k in fields}
    return {**own, "settings": {**own.get("settings", {}), **{k: v for k, v in settings.items() if k not in fields}}}


def encoder_for(request: RunRequest) -> TextEncoder:
    """The encoder a request describes, behind the embedding cache unless `cache=False`."""
    from harness.models.cache import CachedEncoder
    from harness.models.devices import MultiDeviceEncoder
    from harness.models.encoder import Encoder
    from harness.models.objects import identified
    from harness.models.resolve import default_mode
    from harness.models.stores import open_store
    from harness.models.stores.memory import MemoryStore

    if request.loaded is not None:  # a model object: cached only where its bytes identify it
        return CachedEncoder(
            request.loaded, open_store() if request.cache and identified(request.loaded) else MemoryStore()
        )
    settings: dict[str, Any] = {
        "mode": request.mode or default_mode(request.model),
        "revision": request.revision,
        "precision": request.precision,
        "max_length": request.max_length,
        "batch_size": request.batch_size,
    }
    if request.devices:
        encoder: Encoder = MultiDeviceEncoder(request.model, devices=request.devices, **settings)
    else:
        encoder = Encoder(request.model, device=request.device, **settings)
    # without the cache, the same wrapper over memory: the same batches, the same vectors
    return CachedEncoder(encoder, open_store() if request.cache else MemoryStore())


def encode_share(request: RunRequest, index: int, count: int) -> dict[str, int]:
    """`run --encode-share I/N`: this worker's share of every encode call's batches stored (`CachedEncoder.share`),
    task by task; the evaluations see placeholders for the other shares, so they run in a temporary folder and
    are thrown away. Returns the texts encoded so far after each task."""
    import contextlib
    import tempfile

    from harness.app.runner import run_tasks
    from harness.core.benchmark import get_benchmark
    from harness.core.errors import ResultError
    from harness.models.cache import CachedEncoder

    if not request.cache or request.dry_run:
        raise UsageError("--encode-share fills the embedding cache: drop --no-cache and --dry-run")
    prepared = prepare(request)
    encoder = encoder_for(request)
    assert isinstance(encoder, CachedEncoder)  # encoder_for always wraps the model in the cache
    encoder.share = (index, count)
    done = {}
    with tempfile.TemporaryDirectory(prefix="harness-share-") as tmp:
        scratch = dataclasses.replace(prepared.options, output=Path(tmp), overwrite=True, shard=None, log=silent)
        for spec in [s for s in prepared.specs if get_benchmark(s.benchmark).encode_share]:
            with contextlib.suppress(ResultError):  # a score over placeholders (constant similarities) is none
                run_tasks([spec], lambda: encoder, prepared.library, scratch)
            done[spec.name] = encoder.telemetry.texts_encoded
    return done


def silent(*_: Any) -> None:
    """A log function that drops every line (`-q`, launched workers, thrown-away evaluations)."""


def api_output(verbose: bool, progress: bool = False) -> None:
    """What the API shows: nothing by default (its lines go to the `harness` logger, at INFO; the libraries are
    quieted as the CLI quiets them); with `verbose`, its lines and the progress display on stderr, and the
    libraries' own output."""
    from harness.core import progress as display

    if verbose:
        if not any(getattr(h, "harness", False) for h in LOG.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.harness = True  # type: ignore[attr-defined]
            LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
    else:
        display.quiet_libraries()
    display.configure(verbose or progress)


def with_model_object(request: RunRequest, model: Any) -> RunRequest:
    """`request` for a model object (a SentenceTransformer, or anything with `encode`): its encoder built now
    (`harness.models.objects`: known by its state dict's digest), the request named by it."""
    from harness.models.objects import object_encoder, object_name
    from harness.models.resolve import default_mode

    if isinstance(model, str):
        return dataclasses.replace(request, model=model)
    if request.devices or request.device or request.revision:
        raise UsageError("a model object runs where it is: device, devices and revision apply to a name")
    mode = request.mode or default_mode(object_name(model))
    encoder = object_encoder(
        model,
        mode=mode,
        precision=request.precision,
        max_length=request.max_length,
        batch_size=request.batch_size,
        log=request.log,
    )
    return dataclasses.replace(request, model=encoder.identity.name, mode=mode, loaded=encoder)


def evaluate(
    model: Any = "minilm", tasks: list[str] | None = None, verbose: bool = False, **settings: Any
) -> list[TaskScore]:
    """Run `model` on `tasks` (the packaged smoke suite when none are named) and return one `TaskScore` per task,
    resuming finished units and refusing stale ones exactly as `harness run` does. `model`: a name (hub id,
    folder, "minilm"), a SentenceTransformer, or any object with `encode(texts)` (`with_model_object`).
    `settings` are `RunRequest`'s fields: instructions, mode, protocol, data_dir, output_dir, overwrite, lm, ...
    Quiet unless `verbose`: the lines go to the `harness` logger (`api_output`)."""
    from harness.app.runner import run_tasks

    api_output(verbose, bool(settings.get("progress")))
    request = with_model_object(RunRequest(tasks=tasks, **split_settings(settings)), model)
    prepared = prepare(request)
    outcomes = run_tasks(prepared.specs, lambda: encoder_for(request), prepared.library, prepared.options)
    category = {s.name: s.category for s in prepared.specs}
    return [
        TaskScore(o.task, category[o.task], o.metric, None if o.score is None else 100 * o.score, o.status, o.record)
        for o in outcomes
    ]


def robustness_study(request: RunRequest, variants: list[str], kind: str = "", encoder_factory: Any = None) -> Study:
    """One model under every variant of one kind, each variant prepared as `harness run` prepares it, so with its
    checks (an instruction under mode none refused, naming --mode prefix; a data refusal before any model loads),
    its `limit` and prompt retrieval's LM settings; the model loaded once for all. A task runs each variant under
    the name of what it rewords there (`Library.variant_for`: STS has no query side, so `paraphrase-query:3` is
    `paraphrase:3` there). A task no variant of which can differ (no evaluated instruction) is flagged, not run;
    one another run holds is flagged, never a 0. Progress: `variant k/N: name`, with the study's ETA."""
    import functools

    from harness.app.runner import run_tasks
    from harness.core.benchmark import task_folder
    from harness.reports.robustness import Study

    encoder = encoder_factory or functools.cache(lambda: encoder_for(request))
    prepared = {v: prepare(dataclasses.replace(request, instructions=v)) for v in variants}  # every check first
    specs, library = prepared[variants[0]].specs, prepared[variants[0]].library
    mapped = {library.variant_for(s.name, v) for v in variants for s in specs} - prepared.keys()  # `paraphrase:3`
    prepared |= {v: prepare(dataclasses.replace(request, instructions=v)) for v in sorted(mapped)}
    rewords = kind in ("paraphrases", "frames")
    flagged = {s.name: "no evaluated instruction" for s in specs if rewords and library.unevaluated(s.name)}
    runnable = [s for s in specs if s.name not in flagged]
    scores: dict[str, dict[str, float]] = {s.name: {} for s in runnable}
    items: dict[str, dict[str, Path | None]] = {s.name: {} for s in runnable}
    seconds: dict[str, float] = {}
    for k, variant in enumerate(variants, 1):
        eta = f", study ETA {(len(variants) - k + 1) * sum(seconds.values()) / len(seconds):.0f}s" if seconds else ""
        request.log(f"variant {k}/{len(variants)}: {variant}{eta}")
        start = time.perf_counter()
        named: dict[str, list[TaskSpec]] = {}  # the variant's name on each task, its tasks
        for spec in runnable:
            named.setdefault(library.variant_for(spec.name, variant), []).append(spec)
        for effective, group in named.items():
            ready = prepared[effective]
            for outcome in run_tasks(group, encoder, ready.library, ready.options):
                if outcome.score is None:
                    flagged[outcome.task] = f"{variant}: {outcome.status} (another run holds it); run the study again"
                    continue
                scores[outcome.task][variant] = 100 * outcome.score
                saved = outcome.record.get("uncertainty", {}).get("items")
                folder = task_folder(next(s for s in group if s.name == outcome.task), ready.options)
                items[outcome.task][variant] = folder / saved if saved else None
        seconds[variant] = time.perf_counter() - start
    done = {t: v for t, v in scores.items() if t not in flagged}
    return Study(request.model, done, seconds, {t: items[t] for t in done}, kind, flagged, limit=request.limit)


def load_results(paths: str | Path | list[str | Path], labels: list[str] | None = None) -> pd.DataFrame:
    """Result folders (harness runs or mteb result files of any era) or published reference names, as a
    DataFrame with one row per (run, task): run, task, category, score (0-100), source. A folder holding several
    conditions gives one run each, never a merged one."""
    import pandas as pd

    from harness.core.spec import every_task
    from harness.reports.load import load_runs

    sources = [str(p) for p in (paths if isinstance(paths, list) else [paths])]
    reg = every_task()
    rows = [
        {"run": run.label, "task": task, "category": reg.tasks[task].category, "score": score, "source": run.source}
        for run in load_runs(sources, reg, labels)
        for task, score in run.tasks.items()
        if task in reg.tasks
    ]
    return pd.DataFrame(rows, columns=["run", "task", "category", "score", "source"])
