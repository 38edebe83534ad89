"""The `harness` command line: one module per verb, argument parsing only; the work is in the package."""

from __future__ import annotations

import argparse
import sys
import warnings

from harness.cli import data, misc, report, robustness, run  # noqa: F401 - each registers its verbs
from harness.cli.common import COMMANDS
from harness.core.errors import HarnessError


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
    # API-rename and deprecation notices of the libraries underneath are for their developers, not for a
    # researcher reading a run's progress; the library-level tests still see them.
    for module in ("mteb", "sentence_transformers", "transformers", "datasets"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
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
