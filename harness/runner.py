"""`harness run` for MTEB tasks: plan, pre-flight the data, load the model once, evaluate through mteb,
write one result per task, resume what is done."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.instructions import Library, sha256
from harness.portable import TaskData
from harness.protocols import SEED, configure
from harness.registry import Registry, TaskSpec
from harness.results import Unit, is_done, package_versions, read_record, record_path, write_record, write_task_result


@dataclass
class RunOptions:
    unit: Unit
    output: Path
    data_dir: Path | None = None
    batch_size: int = 32
    overwrite: bool = False
    dry_run: bool = False
    log: Any = print


@dataclass
class Outcome:
    task: str
    status: str  # done | resumed | planned
    score: float | None = None
    metric: str = ""
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)


def mteb_parts(spec: TaskSpec) -> list[tuple[str, TaskSpec]]:
    """(mteb task name, data spec) per part: the 12 CQADupstack forums, else the task itself."""
    if not spec.subtasks:
        return [(spec.source.mteb_task, spec)]  # type: ignore[union-attr]
    return [(sub, spec.model_copy(update={"name": sub, "subtasks": None})) for sub in spec.subtasks]


def data_folder(spec: TaskSpec, part: TaskSpec, root: Path) -> Path:
    """DIR/mteb/<Task>/, or DIR/mteb/<Task>/<subtask>/ for a task with subtasks."""
    base = root / "mteb" / spec.name
    return base if part is spec else base / part.name


def load_part(spec: TaskSpec, part: TaskSpec, root: Path | None) -> tuple[Any, dict[str, Any]]:
    """The mteb task object with its data, and where that data came from."""
    import mteb

    task = mteb.get_task(part.source.mteb_task if part is spec else part.name)  # type: ignore[union-attr]
    if part.name != task.metadata.name:  # the smoke suite evaluates its own tasks with a real task's class
        task.metadata = task.metadata.model_copy(update={"name": part.name})
    task.hf_subsets = list(spec.subsets)
    if root is None:
        try:
            task.load_data()
        except Exception as exc:
            raise HarnessError(
                f"task {part.name}: could not load {task.metadata.dataset.get('path')} @ "
                f"{task.metadata.dataset.get('revision')} from the hub ({type(exc).__name__}: {str(exc)[:200]}). "
                "Offline, pass --data-dir DIR with the portable layout (see `harness data mirror`)."
            ) from None
        return task, {"source": "hub", **{k: task.metadata.dataset.get(k) for k in ("path", "revision")}}
    data = TaskData(part, root, folder=data_folder(spec, part, root))
    task.dataset, task.data_loaded = data.to_mteb(), True
    return task, {"source": "data-dir", "folder": str(data.folder), "sha256": data.checksum()}


def preflight(specs: list[TaskSpec], root: Path | None) -> None:
    """Read and validate every task's local data before any model is loaded."""
    if root is None:
        return
    for spec in specs:
        for _, part in mteb_parts(spec):
            TaskData(part, root, folder=data_folder(spec, part, root))


def run_mteb(
    specs: list[TaskSpec], encoder_factory: Any, registry: Registry, library: Library, opts: RunOptions
) -> list[Outcome]:
    from mteb.results import TaskResult

    from harness.mteb_adapter import InstructedEncoder

    folder = opts.unit.folder(opts.output)
    todo = [s for s in specs if opts.overwrite or not is_done(folder, s.name)]
    outcomes = {
        s.name: Outcome(s.name, "resumed", record=read_record(record_path(folder, s.name)))
        for s in specs
        if s not in todo
    }
    for o in outcomes.values():
        o.score, o.metric = o.record["main_score"], o.record["main_metric"]
        opts.log(f"resume: {o.task} already done ({o.metric} {100 * o.score:.2f}), skipped")
    if opts.dry_run:
        for s in todo:
            ins = library.get(s.name, opts.unit.variant, s.subtasks[0] if s.subtasks else None)
            opts.log(
                f"plan: {s.name} [{s.category}] query={ins.query!r} document={ins.document!r} -> "
                f"{record_path(folder, s.name)}"
            )
        return [*outcomes.values(), *(Outcome(s.name, "planned") for s in todo)]
    preflight(todo, opts.data_dir)
    if not todo:
        return list(outcomes.values())

    encoder = encoder_factory()
    keys = {part.name: (s.name, part.name if s.subtasks else None) for s in todo for _, part in mteb_parts(s)}
    limit = 256 if opts.unit.protocol == "paper" else None
    model = InstructedEncoder(encoder, library, opts.unit.variant, keys, clustering_token_limit=limit)
    started = time.perf_counter()
    for n, spec in enumerate(todo, 1):
        opts.log(f"[{n}/{len(todo)}] {spec.name} ({spec.category}) ...")
        outcome = _run_one(spec, model, encoder, opts, folder, TaskResult)
        outcomes[spec.name] = outcome
        elapsed = time.perf_counter() - started
        eta = elapsed / n * (len(todo) - n)
        opts.log(
            f"[{n}/{len(todo)}] {spec.name}: {outcome.metric} {100 * outcome.score:.2f} in "
            f"{outcome.seconds:.1f}s; {encoder.texts_encoded} texts encoded so far "
            f"({encoder.texts_encoded / max(encoder.seconds_encoding, 1e-9):.0f}/s); ETA {eta:.0f}s"
        )
    return [outcomes[s.name] for s in specs]


def _run_one(spec: TaskSpec, model: Any, encoder: Any, opts: RunOptions, folder: Path, task_result: Any) -> Outcome:
    start = time.perf_counter()
    scores, data_sources, settings = [], {}, {}
    parts = [part.name for _, part in mteb_parts(spec)]
    for _, part in mteb_parts(spec):
        task, data_sources[part.name] = load_part(spec, part, opts.data_dir)
        settings = configure(task, spec, opts.unit.protocol)
        t0 = time.perf_counter()
        per_subset = task.evaluate(
            model, spec.split, encode_kwargs={"batch_size": opts.batch_size, "show_progress_bar": False}
        )
        result = task_result.from_task_results(task, {spec.split: per_subset}, time.perf_counter() - t0)
        write_task_result(folder, result)
        scores.append(sum(s[spec.main_metric] for s in per_subset.values()) / len(per_subset))
        task.unload_data()
    main = sum(scores) / len(scores)
    seconds = time.perf_counter() - start
    record = {
        "harness_version": __version__,
        "run": opts.unit.name,
        "unit": {**vars(opts.unit), "task": spec.name, "split": spec.split},
        "task": spec.model_dump(),
        "main_metric": spec.main_metric,
        "main_score": main,
        "part_scores": dict(zip(parts, scores, strict=True)) if spec.subtasks else None,
        "instructions": {
            t: {side: {"text": s, "sha256": sha256(s)} for side, s in sides.items()}
            for t, sides in model.used.items()
            if t in parts
        },
        "data": data_sources,
        "protocol": settings,
        "model": encoder.metadata(),
        "packages": package_versions(),
        "seed": SEED,
        "device": str(encoder.model.device),
        "timing": {"seconds": seconds},
    }
    write_record(folder, spec.name, record)
    return Outcome(spec.name, "done", main, spec.main_metric, seconds, record)
