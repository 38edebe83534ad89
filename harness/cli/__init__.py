"""The `harness` command line: one module per verb, argument parsing only; the work is in the package."""

from __future__ import annotations

import argparse
import difflib
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


# other tools' spellings (mteb's and lm-evaluation-harness's CLIs) -> the harness's
HABITS = {
    "--output_folder": "--output-dir",
    "--output-folder": "--output-dir",
    "--output_path": "--output-dir",
    "--output-path": "--output-dir",
    "--model_name": "--model",
    "--model_args": "--model (a hub id, a local folder or 'minilm')",
    "--task": "--tasks",
    "--task_types": "--category",
    "--task-types": "--category",
    "--verbosity": "-v (before the verb)",
}


def unrecognized(parser: argparse.ArgumentParser, argv: list[str], extra: list[str]) -> str:
    """One line for arguments the parser does not know: the harness's spelling of another tool's flag (`HABITS`),
    an underscore spelling's hyphen one, a close match, or where a global flag goes."""
    verb = next((a for a in argv if a in COMMANDS), None)
    spellings: set[str] = set()
    globals_ = {s for a in parser._actions for s in a.option_strings}
    if verb:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[verb]
        spellings = {s for a in sub._actions for s in a.option_strings}
    flag = next((a for a in extra if a.startswith("-")), extra[0]).split("=")[0]
    hyphen = "--" + flag.lstrip("-").replace("_", "-")
    if flag in HABITS:
        hint = f"the harness spells it {HABITS[flag]}"
    elif hyphen in spellings:
        hint = f"the harness spells it {hyphen}"
    elif hyphen in globals_:
        hint = f"{hyphen} goes before the verb: harness {hyphen} ... {verb or 'COMMAND'} ..."
    elif close := difflib.get_close_matches(flag, sorted(spellings), n=1, cutoff=0.6):
        hint = f"did you mean {close[0]}?"
    elif not flag.startswith("-"):
        hint = "a value without its flag (several task names: --tasks A B or --tasks A,B)"
    else:
        hint = "not a flag of this command"
    where = f"harness {verb} --help" if verb else "harness --help"
    return f"unrecognized argument {flag}: {hint} (see `{where}`)"


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, then each error family's (harness.core.errors; docs/concepts/failing-well.md), 130 on SIGINT,
    143 on SIGTERM. An expected failure prints one line; --debug adds its traceback."""
    parser = build_parser()
    given = sys.argv[1:] if argv is None else argv
    args, extra = parser.parse_known_args(given)
    if extra:
        print(f"error: {unrecognized(parser, given, extra)}", file=sys.stderr)
        return 2
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
