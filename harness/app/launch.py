"""Runs spread over a cluster by the field's engines, no scheduler of our own: Ray (one task per unit, with declared
CPU/GPU resources and retries) and Slurm through submitit (a job array, one cost-balanced shard per job, failed
jobs resubmitted). Every worker runs the same code as `harness run` (`harness.app.api.evaluate`) on the same
output folder, so the unit files are a local run's; leases (`harness.core.leases`) keep a unit from being computed
twice when a retried or duplicated worker meets it, and a worker that died leaves its lease to be taken over.

    harness launch ray   --tasks ... [--address ray://head:10001] [--workers 4] [--gpus-per-unit 1]
    harness launch slurm --tasks ... --jobs 8 --partition gpu [--gpus-per-job 1] [--time 240]

With `--encode-shares N` both first run N encoding workers (`harness.app.api.encode_share`: each stores its share
of every encode call's batches, so a giant corpus is encoded by N workers, each batch once), then the units, which
find their vectors in the store and score in one process each.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.app.api import RunRequest, TaskScore, encode_share, evaluate, prepare, silent
from harness.core.errors import HarnessError, LaunchError, UsageError


def _settings(request: RunRequest) -> dict[str, Any]:
    """A request's settings for `evaluate`, without the selection and the process-local fields."""
    skip = {"model", "tasks", "category", "benchmark", "shard", "log", "progress", "dry_run", "loaded"}
    return {f.name: getattr(request, f.name) for f in dataclasses.fields(request) if f.name not in skip}


def run_unit(request: RunRequest, task: str) -> list[TaskScore]:
    """One unit, in this process: the body of a Ray task."""
    return evaluate(request.model, [task], **_settings(request), log=silent)


def run_shard(request: RunRequest, index: int, count: int) -> list[TaskScore]:
    """The index-th of `count` cost-balanced parts of the request's tasks, in this process: one Slurm array job."""
    tasks = [s.name for s in prepare(request).specs]
    return evaluate(request.model, tasks, **_settings(request), shard=(index, count), log=print)


def run_encode_share(request: RunRequest, index: int, count: int) -> dict[str, int]:
    """One encoding worker, in this process: a Ray task or a Slurm array job of the encoding stage."""
    return encode_share(dataclasses.replace(request, log=silent), index, count)


def _engine(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UsageError(f"{name} is not installed: pip install 'instructor-harness[cluster]'") from None


def _last_line(exc: BaseException) -> str:
    """The exception a job's traceback ends with (submitit and Ray carry the remote traceback, and submitit the log
    paths after it, in the message)."""
    raised = [m.group(0) for m in re.finditer(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*$", str(exc), re.M)]
    return (raised[-1] if raised else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")[:300]


def _shippable(request: RunRequest) -> RunRequest:
    """The request as workers receive it: without this process's log function and progress display."""
    return dataclasses.replace(request, log=silent, progress=False)


def launch_ray(
    request: RunRequest,
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_unit: float = 1,
    gpus_per_unit: float = 0,
    max_retries: int = 2,
    unit: Callable[[RunRequest, str], list[TaskScore]] = run_unit,
    runtime_env: dict[str, Any] | None = None,
    quiet: bool = True,
    encode_shares: int = 0,
) -> list[TaskScore]:
    """Every unit of the request as a Ray task; a local cluster of `workers` CPUs unless `address` names one. A task
    whose worker dies is retried up to `max_retries` times (Ray's own retries). `quiet`: Ray's notices only on errors."""
    import logging

    ray = _engine("ray")

    specs = prepare(request).specs
    started = not ray.is_initialized()
    if started:
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env=runtime_env,
            logging_level=logging.ERROR if quiet else logging.INFO,
        )
    try:
        resources = {"num_cpus": cpus_per_unit, "num_gpus": gpus_per_unit, "max_retries": max_retries}
        if encode_shares:
            share = ray.remote(**resources)(run_encode_share)
            shipped = _shippable(request)
            _gather(ray, [share.remote(shipped, i, encode_shares) for i in range(1, encode_shares + 1)], max_retries)
        remote = ray.remote(**resources)(unit)
        refs = [remote.remote(_shippable(request), spec.name) for spec in specs]
        return [score for scores in _gather(ray, refs, max_retries) for score in scores]
    finally:
        if started:
            ray.shutdown()


def _gather(ray: Any, refs: list[Any], max_retries: int) -> list[Any]:
    """The Ray tasks' results; a unit's own harness error keeps its family, anything else is a LaunchError."""
    try:
        return list(ray.get(refs))
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, HarnessError):
            raise exc.cause from None
        raise LaunchError(f"a Ray task failed: {type(exc.cause).__name__}: {_last_line(exc.cause)}") from None
    except ray.exceptions.RayError as exc:  # a worker that kept dying, a lost node
        raise LaunchError(
            f"a Ray task failed after {max_retries} retries ({_last_line(exc)}); finished units are kept: launch "
            "again to resume"
        ) from None


def launch_slurm(
    request: RunRequest,
    *,
    jobs: int,
    folder: Path,
    cluster: str | None = None,
    max_retries: int = 1,
    shard: Callable[[RunRequest, int, int], list[TaskScore]] = run_shard,
    encode_shares: int = 0,
    **slurm: Any,
) -> list[TaskScore]:
    """A job array of `jobs` shards through submitit (`cluster`: None = Slurm when sbatch exists, "local" runs the
    jobs as local processes); a job that fails (killed, preempted, out of time) is resubmitted up to `max_retries`
    times, and its finished units are kept (a resubmitted shard resumes them)."""
    submitit = _engine("submitit")
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**{k: v for k, v in slurm.items() if v is not None})
    if encode_shares:
        _array(executor, run_encode_share, _shippable(request), encode_shares, max_retries, folder, "encoding share")
    scores = _array(executor, shard, _shippable(request), jobs, max_retries, folder, "shard")
    return [score for index in sorted(scores) for score in scores[index]]


def _array(
    executor: Any, job: Callable[..., Any], request: RunRequest, count: int, max_retries: int, folder: Path, what: str
) -> dict[int, Any]:
    """A job array of `job(request, i, count)` for i = 1..count, failed jobs resubmitted up to `max_retries` times."""
    pending = list(range(1, count + 1))
    results: dict[int, Any] = {}
    for attempt in range(max_retries + 1):
        submitted = executor.map_array(job, [request] * len(pending), pending, [count] * len(pending))
        failed = []
        for index, handle in zip(pending, submitted, strict=True):
            try:
                results[index] = handle.result()
            except Exception as exc:  # submitit raises the job's failure (a crash, a timeout) here
                if attempt == max_retries:
                    raise LaunchError(
                        f"{what} {index}/{count} failed {max_retries + 1} time(s) ({_last_line(exc)}); its log is "
                        f"under {folder}; finished work is kept, rerun to resume"
                    ) from None
                failed.append(index)
        pending = failed
        if not pending:
            break
    return results
