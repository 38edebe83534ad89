"""`harness report`: paper-style tables from result folders and published rows."""

from __future__ import annotations

import argparse

from harness.cli.common import command, emit
from harness.core.errors import UsageError


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="result folders (harness or mteb files, any era) or published reference names (e.g. instructor-large)",
    )
    p.add_argument(
        "--baseline",
        help="a result folder, or a published model (reference/README.md: all-MiniLM-L6-v2, gtr-t5-large, "
        "instructor-large, ...; NAME@ERA for one era, else the era the runs' protocol reproduces): shown first; per "
        "task the difference, whether it lies in the run's 95%% interval, the paired test where both have items",
    )
    p.add_argument("--baseline-label", help="the baseline's name in the tables and figures")
    from harness.reports import FORMATS  # not render: the help needs no numpy

    p.add_argument(
        "--format",
        choices=FORMATS,
        default="md",
        help="md, latex, html: the paper-style summary and per-task tables; csv: one tidy row per run and task "
        "(numbers as numbers); summary-csv: the summary as data; json",
    )
    p.add_argument("--output", help="write here instead of standard output")
    p.add_argument(
        "--label",
        action="append",
        help="a row's name, once per run in order (a folder holding several conditions gives one run each)",
    )


@command("report", "paper-style tables (Table 2 layout, per task, gains vs a baseline) from results", _report_args)
def _report(args: argparse.Namespace) -> int:

    from harness.core.spec import every_task
    from harness.reports.load import load_runs
    from harness.reports.render import report

    reg = every_task()  # the smoke suite's results are reportable too
    runs = load_runs(args.runs, reg, args.label)
    protocols = {r.protocol for r in runs if r.protocol}  # a published baseline of the era the runs reproduce
    protocol = protocols.pop() if len(protocols) == 1 else None
    labels = [args.baseline_label] if args.baseline_label else None
    baselines = load_runs([args.baseline], reg, labels, protocol) if args.baseline else [None]
    if len(baselines) > 1:
        raise UsageError(
            f"--baseline {args.baseline} holds {len(baselines)} conditions ("
            + "; ".join(b.label for b in baselines if b)
            + "): pass the folder of one of them"
        )
    baseline = baselines[0]
    text = report(runs, reg, baseline, args.format)
    return emit(text, args.output)
