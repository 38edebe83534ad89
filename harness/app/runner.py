"""`harness run`: plan, pre-flight the data, load the model once, evaluate each task with its benchmark (found by
`harness.core.benchmark`), write one result per task, resume what is done."""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.core.benchmark import Evaluation, get_benchmark, task_folder, task_unit
from harness.core.context import Context, Outcome, RunOptions
from harness.core.errors import HarnessError, Interrupted, ResultError, Terminated
from harness.core.fingerprint import differences, fingerprint
from harness.core.instructions import Library
from harness.core.interfaces import TextEncoder, unnamed_weights
from harness.core.io import ensure_writable
from harness.core.leases import Lease
from harness.core.progress import display
from harness.core.results import (
    package_versions,
    read_record,
    record_path,
    result_problem,
    write_model_meta,
    write_record,
)
from harness.core.spec import TaskSpec
from harness.core.version import __version__


def unit_fingerprint(spec: TaskSpec, library: Library, opts: RunOptions) -> dict[str, Any]:
    """Everything that determines the task's number under these options (`harness.core.fingerprint`)."""
    benchmark, unit = get_benchmark(spec.benchmark), opts.unit
    data, settings = benchmark.data_identity(spec, opts), benchmark.settings_identity(spec, opts)  # their checks first
    instructions = {}
    for key in library.keys(spec.name):
        ins = library.get(spec.name, unit.variant, key if spec.subtasks else None)
        instructions[key] = {"query": ins.query, "document": ins.document}
    return fingerprint(
        {
            "task": spec.model_dump(mode="json"),
            "data": data,
            "instructions": instructions,
            "model": {
                "name": unit.model,
                "revision": unit.revision,
                "mode": unit.mode,
                **opts.model_settings,
                # where the revision does not name the bytes (the packaged alias: a version string), their digest
                **({"weights": w} if (w := unnamed_weights(unit.revision, opts.weights)) else {}),
            },
            "limit": unit.limit,
            **benchmark.condition(opts),  # the benchmark's own condition keys (MTEB: "protocol")
            "settings": settings,
            "versions": package_versions(),
        }
    )


def task_state(spec: TaskSpec, opts: RunOptions, fingerprint: dict[str, Any]) -> str:
    """Whether a task is finished: `done` (a result of these inputs whose files give its score: resumed), `stale:
    <what differs>` (a result of other inputs: refused unless --overwrite), `missing`, or `broken: <why>` (a result
    of these inputs that cannot be believed: recomputed). The one resume decision: of the plan and of a unit
    another run may have finished meanwhile."""
    folder = task_folder(spec, opts)
    path = record_path(folder, spec.name)
    if not path.is_file():
        return "missing"
    record = read_record(path)
    old = record.get("fingerprint")
    if not (isinstance(old, dict) and old.get("sha256") == fingerprint["sha256"]):
        return f"stale: {', '.join(differences(old, fingerprint))}"
    broken = result_problem(folder, record)
    return f"broken: {broken}" if broken else "done"


def plan(specs: list[TaskSpec], library: Library, opts: RunOptions) -> dict[str, tuple[str, dict[str, Any]]]:
    """Task -> (status, fingerprint): done, missing, or stale naming what differs (a broken result is
    missing, said once: `task_state`)."""
    out = {}
    for spec in specs:
        fp = unit_fingerprint(spec, library, opts)
        state = task_state(spec, opts, fp)
        if state.startswith("broken: "):
            opts.log(f"resume: {spec.name}: {state.removeprefix('broken: ')}; the task is recomputed")
            state = "missing"
        out[spec.name] = (state, fp)
    return out


def cost(fp: dict[str, Any]) -> int:
    """A unit's estimated cost: its local data's size in bytes (texts x length), 1 when it is not local."""
    return int(fp["inputs"]["data"].get("bytes") or 1)


def shard(
    specs: list[TaskSpec], status: dict[str, tuple[str, dict[str, Any]]], index: int, count: int
) -> list[TaskSpec]:
    """The `index`-th (1-based) of `count` parts, balanced by cost: longest first, each to the least-loaded part
    (ties to the lowest part, then by name), so every process of a Slurm array computes the same split."""
    loads, parts = [0] * count, [[] for _ in range(count)]  # type: list[int], list[list[TaskSpec]]
    for spec in sorted(specs, key=lambda s: (-cost(status[s.name][1]), s.name)):
        lightest = loads.index(min(loads))
        parts[lightest].append(spec)
        loads[lightest] += cost(status[spec.name][1])
    chosen = {s.name for s in parts[index - 1]}
    return [s for s in specs if s.name in chosen]


def run_tasks(
    specs: list[TaskSpec], encoder_factory: Callable[[], TextEncoder], library: Library, opts: RunOptions
) -> list[Outcome]:
    status = plan(specs, library, opts)
    if opts.shard is not None:
        specs = shard(specs, status, *opts.shard)
        status = {s.name: status[s.name] for s in specs}
    stale = [
        f"{name} ({state.removeprefix('stale: ')})" for name, (state, _) in status.items() if state.startswith("stale")
    ]
    if stale and not opts.overwrite and not opts.dry_run:
        raise ResultError(
            f"finished results under {opts.output} were computed from other inputs: "
            f"{'; '.join(stale)}. Pass --overwrite to recompute them, or --output-dir DIR to keep both"
        )
    todo = [s for s in specs if opts.overwrite or status[s.name][0] != "done"]
    outcomes = {s.name: _resumed(task_folder(s, opts), s.name) for s in specs if s not in todo}
    if not opts.dry_run:
        for folder in dict.fromkeys(task_folder(s, opts) for s in todo):  # writable, with room, before any model loads
            ensure_writable(folder)  # this also makes the output folder the event log goes in
    opts.event("run", tasks=[s.name for s in specs], todo=[s.name for s in todo], shard=opts.shard)
    for s in (s for s in specs if s.name in outcomes):
        o = outcomes[s.name]
        opts.log(f"resume: {o.task} already done with the same inputs ({o.metric} {100 * (o.score or 0):.2f}), skipped")
        _event(opts, s, "task_resumed")
    if opts.dry_run:
        for s in todo:
            ins = library.get(s.name, opts.unit.variant, s.subtasks[0] if s.subtasks else None)
            opts.log(
                f"plan: {s.name} [{s.category}] ({status[s.name][0]}) query={ins.query!r} document={ins.document!r}"
                f" -> {record_path(task_folder(s, opts), s.name)}"
            )
        return [*outcomes.values(), *(Outcome(s.name, "planned") for s in todo)]
    for s in todo:  # a live run on other inputs holds the task: said before any model loads
        refuse_other_inputs(s, opts, Lease(task_folder(s, opts), s.name, status[s.name][1]))
    checks = {s.name: get_benchmark(s.benchmark).preflight(s, opts) for s in todo}  # all, before any model loads
    for name, check in checks.items():
        if check.notes:
            opts.log(f"data: {name}: {check.line()}")
    ctx = Context(library, opts, encoder_factory, {name: fp for name, (_, fp) in status.items()}, checks)
    started = time.perf_counter()
    try:
        _evaluate_all(todo, ctx, outcomes)
    except (KeyboardInterrupt, Terminated) as exc:
        finished = sum(o.status == "done" for o in outcomes.values())
        opts.event("run_end", interrupted=type(exc).__name__, done=finished)
        raise Interrupted(
            f"interrupted: {finished} of {len(todo)} task(s) finished and kept under {opts.output}"
            "; resume with the same command",
            signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT,
        ) from None
    opts.event(
        "run_end", done=sum(o.status == "done" for o in outcomes.values()), seconds=time.perf_counter() - started
    )
    return [outcomes[s.name] for s in specs]


def _evaluate_all(todo: list[TaskSpec], ctx: Context, outcomes: dict[str, Outcome]) -> None:
    opts, started = ctx.opts, time.perf_counter()
    for n, spec in enumerate(todo, 1):
        lease = Lease(task_folder(spec, opts), spec.name, ctx.fingerprints[spec.name])
        if not lease.acquire():
            refuse_other_inputs(spec, opts, lease)
            opts.log(f"[{n}/{len(todo)}] {spec.name}: another run is computing it ({lease.path}); left to it")
            _event(opts, spec, "task_elsewhere")
            outcomes[spec.name] = Outcome(spec.name, "elsewhere")
            continue
        try:
            _evaluate_one(n, spec, todo, ctx, outcomes, started)
        except HarnessError as exc:
            _event(opts, spec, "task_failed", error=type(exc).__name__, message=str(exc))
            raise
        finally:
            lease.release()


def _evaluate_one(
    n: int, spec: TaskSpec, todo: list[TaskSpec], ctx: Context, outcomes: dict[str, Outcome], started: float
) -> None:
    opts = ctx.opts
    if not opts.overwrite and task_state(spec, opts, ctx.fingerprints[spec.name]) == "done":
        outcomes[spec.name] = _resumed(task_folder(spec, opts), spec.name)  # another run finished it meanwhile
        return
    opts.log(f"[{n}/{len(todo)}] {spec.name} ({spec.category}) ...")
    _event(opts, spec, "task_start", category=spec.category)
    display().task = spec.name
    t0, loading = time.perf_counter(), ctx.load_seconds
    evaluation = get_benchmark(spec.benchmark).evaluate(spec, ctx, task_folder(spec, opts))
    seconds = time.perf_counter() - t0 - (ctx.load_seconds - loading)  # the task's own time, model loads apart
    metric = evaluation.metric or spec.main_metric
    if not math.isfinite(evaluation.main_score):
        raise ResultError(
            f"task {spec.name}: the {metric} is {evaluation.main_score} (not a number); no result was "
            "written. Check the data for constant or non-finite gold scores"
        )
    record = _write_record(task_folder(spec, opts), spec, metric, evaluation, ctx, seconds)
    unit = task_unit(spec, opts)
    write_model_meta(unit.folder(opts.output), unit, ctx.encoder.identity, ctx.encoder.similarity_fn_name)
    outcomes[spec.name] = Outcome(spec.name, "done", evaluation.main_score, metric, seconds, record)
    work = ctx.encoder.telemetry
    _event(
        opts, spec, "task_done", metric=metric, score=evaluation.main_score, seconds=seconds, texts=work.texts_encoded
    )
    opts.log(
        f"[{n}/{len(todo)}] {spec.name}: {metric} {100 * evaluation.main_score:.2f} in {seconds:.1f}s;"
        f" {work.texts_encoded:,} texts encoded so far ({work.rate:.0f}/s);"
        f" {run_line(n, todo, ctx, time.perf_counter() - started)}"
    )


def refuse_other_inputs(spec: TaskSpec, opts: RunOptions, lease: Lease) -> None:
    """A task whose lease a live run holds is left to it, unless that run computes it from other inputs (another
    data copy, other settings of the same condition): its result would not be this run's, so this run stops."""
    if other := lease.differs():
        raise ResultError(
            f"{spec.name}: another run is computing it into {task_folder(spec, opts)} from other inputs "
            f"({', '.join(other)}); its result would not be this run's. Wait for it and re-run with --overwrite, "
            "or pass another --output-dir"
        )


def _event(opts: RunOptions, spec: TaskSpec, event: str, **fields: Any) -> None:
    """A task's line of the event log, named by the task's unit, as its run record is (`task_unit`)."""
    opts.event(event, run=task_unit(spec, opts).name, task=spec.name, **fields)


def run_line(n: int, todo: list[TaskSpec], ctx: Context, elapsed: float) -> str:
    """Tasks done / total and the run's ETA from the work: the seconds per token (`DataCheck.work`, each text
    capped at the model's max length) measured on this run's finished tasks, model loads excluded, times the tokens
    left (the data's bytes, `cost`, where a task's work is unknown before it loads: mteb's own hub loads)."""
    checks = [ctx.checks.get(s.name) for s in todo]
    work = [c.work for c in checks if c is not None and c.work is not None]
    cap = ctx.max_length or 512
    if len(work) == len(todo):
        costs = [w.tokens(cap) for w in work]
    else:
        costs = [float(cost(ctx.fingerprints[s.name])) for s in todo]
    working = max(elapsed - ctx.load_seconds, 1e-9)
    left = sum(costs[n:]) * working / max(sum(costs[:n]), 1)
    loads = f", model load {ctx.load_seconds:.1f}s apart" if ctx.load_seconds >= 0.05 else ""
    return f"run: {n}/{len(todo)} tasks done, ETA {left:.0f}s{loads}"


def _resumed(folder: Path, task: str) -> Outcome:
    record = read_record(record_path(folder, task))
    return Outcome(task, "resumed", record["main_score"], record["main_metric"], record=record)


def _save_items(folder: Path, task: str, evaluation: Evaluation) -> dict[str, Any]:
    """Write the per-item outputs beside the result, checked to reproduce the main score, and their interval."""
    from harness.core import items as per_item
    from harness.core.bootstrap import task_interval

    if evaluation.items is None:
        return {"items": None, "why": evaluation.no_items or "this evaluator gives no per-item outputs"}
    again = evaluation.items.score()
    tolerance = 1e-9 + (0.5 * 10.0**-evaluation.decimals if evaluation.decimals is not None else 0.0)
    if not abs(again - evaluation.main_score) <= tolerance:
        raise ResultError(
            f"task {task}: its per-item outputs give {again!r}, the evaluator {evaluation.main_score!r}; no result "
            "was written. This is a harness bug: please report it"
        )
    path = per_item.items_path(folder, task)
    per_item.save(evaluation.items, path)
    return {"items": str(path.relative_to(folder)), "interval": task_interval(task, evaluation.items).record()}


def _write_record(
    folder: Path, spec: TaskSpec, metric: str, evaluation: Evaluation, ctx: Context, seconds: float
) -> dict[str, Any]:
    unit = task_unit(spec, ctx.opts)
    record = {
        "harness_version": __version__,
        "uncertainty": _save_items(folder, spec.name, evaluation),
        "run": unit.name,
        "unit": {**unit.record(), "task": spec.name, "split": spec.split},
        "task": spec.model_dump(),
        "main_metric": metric,
        "main_score": evaluation.main_score,
        "partial": {"limit": ctx.opts.unit.limit} if ctx.opts.unit.limit else None,
        "data_notes": [n.record() for n in ctx.checks[spec.name].notes] if spec.name in ctx.checks else [],
        **evaluation.details,
        "model": ctx.encoder.metadata(),
        "packages": package_versions(),
        "device": ctx.encoder.telemetry.device,
        "timing": {"seconds": seconds},
        "fingerprint": ctx.fingerprints[spec.name],
    }
    write_record(folder, spec.name, record)
    return record
