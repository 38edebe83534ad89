"""The `harness` command line: one module per verb, argument parsing only; the work is in the package."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback

from harness.cli import data, launch, migrate, misc, report, robustness, run  # noqa: F401 - each registers its verbs
from harness.cli.common import COMMANDS
from harness.core import progress
from harness.core.errors import HarnessError, Interrupted, Terminated
from harness.core.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate instruction-conditioned text embeddings on the INSTRUCTOR paper's 70 tasks.",
    )
    parser.add_argument("--version", action="version", version=f"instructor-harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="let the libraries underneath show their progress bars and notices"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no per-task progress lines: the final table and errors only"
    )
    parser.add_argument(
        "--include-path",
        action="append",
        metavar="DIR",
        help="a folder of your own task files (DIR/tasks/<benchmark>/<Task>.yaml) and instructions "
        "(DIR/instructions/<family>.yaml), validated like the shipped ones; repeatable",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, configure, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(handler=fn)
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, then each error family's (harness.core.errors; docs/concepts/failing-well.md), 130 on SIGINT,
    143 on SIGTERM. An expected failure prints one line; --debug adds its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        progress.quiet_libraries()
    progress.configure(not args.quiet)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.include_path:  # through the environment, so that launched workers see the same tasks
        given = [*args.include_path, *os.environ.get("HARNESS_INCLUDE_PATH", "").split(os.pathsep)]
        os.environ["HARNESS_INCLUDE_PATH"] = os.pathsep.join(dict.fromkeys(p for p in given if p))
    previous = signal.signal(signal.SIGTERM, _terminate)  # what Slurm sends before the kill
    try:
        return args.handler(args)
    except HarnessError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"{'' if isinstance(exc, Interrupted) else 'error: '}{exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `harness ... | head`: the reader left; nothing is wrong
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the interpreter's final flush does not fail too
        return 0
    except (KeyboardInterrupt, Terminated) as exc:  # before any task started: nothing to keep
        if args.debug:
            traceback.print_exc()
        number = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        print("interrupted before any task finished; nothing was written", file=sys.stderr)
        return 128 + number
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
