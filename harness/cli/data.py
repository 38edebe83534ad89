"""`harness data mirror`: task data at their pins, written where `--data-dir` reads them."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from harness.cli.common import command, protocol_arg, task_names


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["mirror"], help="mirror: write the task data where --data-dir reads it")
    p.add_argument("--tasks", required=True, type=task_names, help="comma-separated task names")
    p.add_argument("--out", required=True, help="the folder to pass as --data-dir later (DIR/mteb/<Task>/..., ...)")
    protocol_arg(p)


@command("data", "mirror task data (pinned revisions and commits) for offline runs with --data-dir", _data_args)
def _data(args: argparse.Namespace) -> int:

    from harness import benchmarks
    from harness.benchmarks.mteb.protocols import resolve
    from harness.core.spec import registry

    out, protocol = Path(args.out), resolve(args.protocol)
    for name in args.tasks:
        spec = registry().get(name)
        files = benchmarks.get(spec.benchmark).mirror(spec, out, protocol)
        print(f"{name}: {len(files)} file(s) under {os.path.commonpath([str(f.parent) for f in files])}")
    return 0
