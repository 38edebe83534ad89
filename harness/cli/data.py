"""`harness data check`: every selected task's data read and checked, without a model; `harness data mirror`: task
data at their pins, written where `--data-dir` reads them."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from harness.cli.common import command, request
from harness.core.errors import DataError, HarnessError, UsageError


def _data_args(p: argparse.ArgumentParser) -> None:
    from harness.cli.run import _run_args

    p.add_argument(
        "action",
        choices=["check", "mirror"],
        help="check: load and check the selection's data as `run` would, one line per task; "
        "mirror: write the task data where --data-dir reads it (--tasks, --out)",
    )
    p.add_argument("--out", help="mirror: the folder to pass as --data-dir later (DIR/mteb/<Task>/, ...)")
    _run_args(p)  # the same selection, protocol and data folder as `run`


@command("data", "check task data before a long run, or mirror it for offline runs with --data-dir", _data_args)
def _data(args: argparse.Namespace) -> int:
    return _check(args) if args.action == "check" else _mirror(args)


def _check(args: argparse.Namespace) -> int:
    """One line per task (rows per split, notes, or the refusal); exit 4 (data) if any task cannot run."""
    from harness.app.api import prepare
    from harness.core.benchmark import get_benchmark, run_unit

    prepared = prepare(request(args))
    refused = 0
    for spec in prepared.specs:
        try:
            check = get_benchmark(spec.benchmark).check_data(spec, prepared.options)
        except HarnessError as exc:
            refused += 1
            print(f"refused  {spec.name}: {str(exc).removeprefix(f'task {spec.name}: ')}")
            continue
        print(f"{'noted' if check.notes else 'ok':<8} {spec.name}: {check.line()}")
    ok = len(prepared.specs) - refused
    print(f"{ok} of {len(prepared.specs)} task(s) can run as {run_unit(prepared.specs, prepared.options).name}")
    if refused:
        raise DataError(f"{refused} task(s) refused (above); fix their data, or leave them out of the selection")
    return 0


def _mirror(args: argparse.Namespace) -> int:
    from harness.app.api import prepare
    from harness.core.benchmark import get_benchmark

    if not (args.tasks and args.out):
        raise UsageError("data mirror needs --tasks and --out (e.g. --tasks STS12 --out mirror/)")
    prepared = prepare(dataclasses.replace(request(args), dry_run=True))  # the settings; no model is needed
    out = Path(args.out)
    for spec in prepared.specs:
        files = get_benchmark(spec.benchmark).mirror(spec, out, prepared.options)
        print(f"{spec.name}: {len(files)} file(s) under {os.path.commonpath([str(f.parent) for f in files])}")
    return 0
