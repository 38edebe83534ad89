"""`harness launch ray|slurm`: a run's units over a cluster (harness.app.launch), ending with the run's table."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import command, positive_int, request, score_table
from harness.cli.run import _run_args


def _launch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("engine", choices=["ray", "slurm"], help="ray: one task per unit; slurm: a job array via submitit")
    _run_args(p)
    p.add_argument("--max-retries", type=int, default=2, help="retries of a unit (ray) or a job (slurm) that dies")
    p.add_argument(
        "--encode-shares",
        type=positive_int,
        help="first encode every call's batches with N workers into the store (giant corpora), then score",
    )
    ray = p.add_argument_group("ray")
    ray.add_argument("--address", help="a running cluster (ray://head:10001 or auto); default: a local one")
    ray.add_argument("--workers", type=positive_int, help="CPUs of the local cluster (default: all)")
    ray.add_argument("--cpus-per-unit", type=float, default=1)
    ray.add_argument("--gpus-per-unit", type=float, default=0)
    slurm = p.add_argument_group("slurm (submitit)")
    slurm.add_argument("--jobs", type=positive_int, default=1, help="array size: the units in cost-balanced shards")
    slurm.add_argument("--partition")
    slurm.add_argument("--time", type=positive_int, default=240, help="minutes per job")
    slurm.add_argument("--gpus-per-job", type=int)
    slurm.add_argument("--cpus-per-job", type=positive_int)
    slurm.add_argument("--mem-gb", type=positive_int)
    slurm.add_argument("--log-dir", help="submitit's job folder (default: <output-dir>/.launch)")
    slurm.add_argument("--cluster", choices=["slurm", "local"], help="default: slurm where sbatch is found")


@command("launch", "run a selection over a cluster: Ray tasks or a Slurm job array (submitit)", _launch_args)
def _launch(args: argparse.Namespace) -> int:
    from harness.app.launch import launch_ray, launch_slurm
    from harness.core.errors import UsageError

    if args.shard:
        raise UsageError("--shard is for one array job of `harness run`; `harness launch` makes the shards itself")
    req = request(args)
    if args.engine == "ray":
        scores = launch_ray(
            req,
            address=args.address,
            workers=args.workers,
            cpus_per_unit=args.cpus_per_unit,
            gpus_per_unit=args.gpus_per_unit,
            max_retries=args.max_retries,
            quiet=not args.verbose,
            encode_shares=args.encode_shares or 0,
        )
    else:
        scores = launch_slurm(
            req,
            jobs=args.jobs,
            folder=Path(args.log_dir or Path(args.output_dir) / ".launch"),
            cluster=args.cluster,
            max_retries=args.max_retries,
            encode_shares=args.encode_shares or 0,
            timeout_min=args.time,
            slurm_partition=args.partition,
            gpus_per_node=args.gpus_per_job,
            cpus_per_task=args.cpus_per_job,
            mem_gb=args.mem_gb,
        )
    score_table([(s.task, s.category, s.metric, s.score, s.status, s.record) for s in scores])
    return 0
