"""How long `harness --help` and `harness tasks` take to start, and what they import, for this checkout and
(optionally) another one side by side: runs alternated and repeated, medians.

    python perf/cli_startup.py [--before /path/to/an/older/checkout] [--repeats 9]

Each run is a fresh interpreter (`python -m harness ...` in the checkout's folder, with it first on PYTHONPATH:
the current folder comes first on `sys.path`, so running elsewhere would import another checkout), as a user's
shell runs it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
COMMANDS = {"--help": ["--help"], "tasks": ["tasks"]}
PYTHON = str(Path(sys.executable).absolute())  # the subprocesses run in another folder
HEAVY = ("numpy", "scipy", "torch", "sklearn", "mteb", "sentence_transformers", "datasets")
PROBE = (
    "import sys, contextlib, io\n"
    "from harness.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try: main({argv!r})\n"
    "    except SystemExit: pass\n"
    "print(','.join(m for m in {heavy!r} if m in sys.modules) or 'none')\n"
)


def timed(checkout: Path, argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    subprocess.run([PYTHON, "-m", "harness", *argv], env=env, cwd=checkout, check=True, capture_output=True)
    return time.perf_counter() - start


def imported(checkout: Path, argv: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([PYTHON, "-c", code], env=env, cwd=checkout, check=True, capture_output=True, text=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout, measured alternately with this one")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    checkouts = {"this": HERE, **({"before": args.before.resolve()} if args.before else {})}
    times = {(c, name): [] for c in checkouts for name in COMMANDS}
    for rep in range(args.repeats):
        for c in list(checkouts) if rep % 2 == 0 else list(checkouts)[::-1]:
            for name, argv in COMMANDS.items():
                times[(c, name)].append(timed(checkouts[c], argv))
    print(f"median of {args.repeats} fresh interpreters each, alternated")
    print("| checkout | command | seconds | heavy modules imported |\n|---|---|---|---|")
    for (c, name), seconds in times.items():
        modules = imported(checkouts[c], COMMANDS[name]).strip()
        print(f"| {c} ({checkouts[c]}) | harness {name} | {statistics.median(seconds):.2f} | {modules} |")


if __name__ == "__main__":
    main()
