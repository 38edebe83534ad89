"""`harness run`: evaluate a model on tasks with an instruction variant (resumable)."""

from __future__ import annotations

import argparse
from typing import Any

from harness.cli.common import (
    benchmark_args,
    command,
    existing_folder,
    model_args,
    positive_int,
    request,
    score_table,
    table,
    tasks_option,
)


def _run_args(p: argparse.ArgumentParser) -> None:
    model_args(p)
    sel = p.add_argument_group("what to run (none given: the packaged smoke suite, offline)")
    tasks_option(sel)
    sel.add_argument("--category", help="all tasks of a category, e.g. STS")
    sel.add_argument("--benchmark", help="mteb, billboard or prompt-retrieval")
    p.add_argument(
        "--instructions",
        metavar="VARIANT",
        help="instructor-base|instructor-large|instructor-xl (the paper's families); FAMILY@2023-02-23 (the "
        "instructions as first released); none; paraphrase:K, paraphrase-query:K, frames:K, frames-query:K "
        "(K 1-5: rewordings of instructor-large's, -query: the query side only); level:none|tag|simple|detailed "
        "(the paper's detail levels). Default: the checkpoint's family for INSTRUCTOR models, none otherwise. "
        "`harness instructions TASK` prints each",
    )
    p.add_argument(
        "--data-dir",
        type=existing_folder,
        help="root of the portable layout: DIR/mteb/<Task>/, DIR/billboard/<set>/, ...",
    )
    p.add_argument("--output-dir", default="results", help="where result files go (default results)")
    p.add_argument("--overwrite", action="store_true", help="re-run tasks that already have results")
    p.add_argument(
        "--limit",
        type=positive_int,
        help="at most N evaluation items per task (pairs, test texts, queries, documents): a quick partial run, "
        "named and filed as one",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan (tasks, instructions, paths) only")
    benchmark_args(p)
    p.add_argument(
        "--shard",
        type=shard_spec,
        help="I/N: run the I-th of N cost-balanced parts of the selection (Slurm arrays: I=$SLURM_ARRAY_TASK_ID+1)",
    )


def _encode_share_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--encode-share",
        type=shard_spec,
        metavar="I/N",
        help="encode the I-th of N shares of every encode call's batches into the embedding cache and write no "
        "result; N such workers on one store (HARNESS_CACHE_STORE=shards across hosts), then a plain run with the "
        "same settings scores from the store (giant corpora)",
    )


def shard_spec(text: str) -> tuple[int, int]:
    """An argparse type: I/N with 1 <= I <= N."""
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N (e.g. 1/4), got {text!r}")
    return int(index), int(count)


def _options(args: argparse.Namespace) -> tuple[list[Any], Any, Any, bool]:
    """The selected tasks, their instruction library and the run options the arguments describe."""
    from harness.app.api import prepare

    prepared = prepare(request(args))
    return prepared.specs, prepared.library, prepared.options, prepared.smoke


def _run_and_share_args(p: argparse.ArgumentParser) -> None:
    _run_args(p)
    _encode_share_args(p)


@command("run", "evaluate a model on tasks with an instruction variant; resumable", _run_and_share_args)
def _run(args: argparse.Namespace) -> int:
    from harness.app.api import encoder_for
    from harness.app.runner import run_tasks
    from harness.core.benchmark import run_unit, task_folder
    from harness.core.checks import Note

    if args.encode_share:
        return _encode_share(args)
    specs, lib, opts, smoke = _options(args)
    print(
        f"run {run_unit(specs, opts).name}: {len(specs)} task(s)"
        f"{' (smoke suite: tiny hand-made tasks, not a benchmark)' if smoke else ''}"
        f"{f', shard {opts.shard[0]}/{opts.shard[1]}' if opts.shard else ''}"
    )
    outcomes = run_tasks(specs, lambda: encoder_for(request(args)), lib, opts)
    by_name = {s.name: s for s in specs}
    score_table(
        [
            (o.task, by_name[o.task].category, o.metric, None if o.score is None else 100 * o.score, o.status, o.record)
            for o in outcomes
        ]
    )
    for o in outcomes:  # what the data held that the era code evaluated as it stands (docs/concepts/data.md)
        if notes := o.record.get("data_notes"):
            print(f"data notes: {o.task}: " + "; ".join(Note(**n).text() for n in notes))
    if not args.dry_run:
        for folder in sorted({str(task_folder(by_name[o.task], opts)) for o in outcomes}):
            print(f"results: {folder}")
    return 0


def _encode_share(args: argparse.Namespace) -> int:
    from harness.app.api import encode_share

    index, count = args.encode_share
    for task, texts in encode_share(request(args), index, count).items():
        print(f"{task}: share {index}/{count} stored ({texts} texts encoded so far)")
    print("then run the same command without --encode-share: it scores from the store")
    return 0


def _plan_args(p: argparse.ArgumentParser) -> None:
    _run_args(p)
    p.add_argument("--format", choices=["table", "jsonl"], default="table")


@command("plan", "every unit of a run with its status (done, missing, stale: what differs), cost and shard", _plan_args)
def _plan(args: argparse.Namespace) -> int:
    import json
    import time

    from harness.app.runner import cost, plan, shard
    from harness.core.benchmark import task_folder, task_unit
    from harness.core.leases import Lease
    from harness.core.results import record_path

    specs, lib, opts, _ = _options(args)
    status = plan(specs, lib, opts)
    for s in specs:  # a unit a live run holds is running, not missing
        held = Lease(task_folder(s, opts), s.name).holder() if status[s.name][0] != "done" else None
        if held:
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(held.get("since", held.get("time", 0))))
            status[s.name] = (f"running ({held.get('host')}, pid {held.get('pid')}, since {since})", status[s.name][1])
    count = opts.shard[1] if opts.shard else 1
    part = {s.name: i for i in range(1, count + 1) for s in shard(specs, status, i, count)}
    rows = [
        {
            "unit": f"{task_unit(s, opts).name}:task={s.name}",
            "task": s.name,
            "status": status[s.name][0],
            "cost_bytes": cost(status[s.name][1]),
            "shard": f"{part[s.name]}/{count}",
            "fingerprint": status[s.name][1]["sha256"][:16],
            "record": str(record_path(task_folder(s, opts), s.name)),
        }
        for s in specs
    ]
    if args.format == "jsonl":
        print("\n".join(json.dumps(r) for r in rows))
    else:
        table(
            ("task", "status", "cost (bytes)", "shard", "fingerprint"),
            [(r["task"], r["status"], r["cost_bytes"], r["shard"], r["fingerprint"]) for r in rows],
        )
    return 0
