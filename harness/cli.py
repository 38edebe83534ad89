"""The `harness` command line. Every verb is a thin layer over a module of the package."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from harness.errors import HarnessError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def _tasks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", help="mteb, billboard or prompt-retrieval")
    p.add_argument("--category", help="e.g. STS, Retrieval, Billboard, PromptRetrieval")
    p.add_argument("--format", choices=["table", "json"], default="table")


@command("tasks", "list the registry's tasks (70: 56 MTEB, 3 Billboard, 11 prompt retrieval)", _tasks_args)
def _tasks(args: argparse.Namespace) -> int:
    from harness.catalog import task_record
    from harness.registry import registry

    specs = registry().select(benchmark=args.benchmark, category=args.category)
    if args.format == "json":
        print(json.dumps([task_record(s) for s in specs], indent=1, ensure_ascii=False))
    else:
        rows = [(s.name, s.benchmark, s.category, s.main_metric, s.split) for s in specs]
        _table(("task", "benchmark", "category", "main metric", "split"), rows)
        print(f"{len(specs)} tasks")
    return 0


def _instructions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task")
    p.add_argument("--family", help="one variant only, e.g. instructor-xl, paraphrase:2, level:tag")


@command("instructions", "print every instruction of one task (families, paraphrases, levels)", _instructions_args)
def _instructions(args: argparse.Namespace) -> int:
    from harness.instructions import library, variants

    lib = library()
    chosen = [args.family] if args.family else variants()
    for key in lib.keys(args.task):
        sub = None if key == args.task else key
        for variant in chosen:
            ins = lib.get(args.task, variant, sub)
            label = f"{key} [{variant}]"
            if ins.query == ins.document:
                print(f"{label}: {ins.query!r}")
            else:
                print(f"{label}: query={ins.query!r} document={ins.document!r}")
            if ins.note:
                print(f"    note: {ins.note}")
    return 0


@command("validate", "check every task and instruction file; exit 1 listing the problems", lambda p: None)
def _validate(args: argparse.Namespace) -> int:
    from harness.instructions import library
    from harness.registry import EXPECTED_COUNTS, registry

    problems: list[str] = []
    try:
        reg = registry()
        counts = {c: sum(s.category == c for s in reg.tasks.values()) for c in EXPECTED_COUNTS}
        problems += [
            f"category {c}: {counts[c]} tasks, the paper has {n}" for c, n in EXPECTED_COUNTS.items() if counts[c] != n
        ]
        problems += library().problems()
    except HarnessError as exc:
        problems.append(str(exc))
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems else "ok: 70 tasks, every instruction variant present")
    return 1 if problems else 0


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate instruction-conditioned text embeddings on the INSTRUCTOR paper's 70 tasks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, configure, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(handler=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
