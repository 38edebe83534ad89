"""The run ETA's error on a multi-task run: `harness run` in a subprocess, each progress line timestamped; after
each finished task, the ETA the line gave against the time the rest of the run then took.

    python perf/eta_error.py [--data-dir ../shared/data] [--tasks STS12,SICK-R,...] [-- more harness run args]

Prints one row per finished task (ETA, actual, error) and the mean absolute error over the rows that had work
left. The run is written to a temporary folder without the embedding cache, so every task does its full work.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TASKS = "STS12,SICK-R,BIOSSES,STSBenchmark,SummEval,Banking77Classification,SciFact,STS13,EmotionClassification"
LINE = re.compile(r"run: (\d+)/(\d+) tasks done, ETA (\d+)s")
TASK = re.compile(r"\[\d+/\d+\] (\S+): \S+ [\d.]+ in ([\d.]+)s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("rest", nargs="*", help="more `harness run` arguments (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "harness.cli", "run", "--tasks", args.tasks, "--data-dir", str(args.data_dir)]
        command += ["--output-dir", out, "--no-cache", *args.rest]
        start = time.perf_counter()
        seen: list[tuple[int, int, float, float]] = []  # done, total, ETA, when
        tasks: list[str] = []
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if took := TASK.search(line):
                tasks.append(f"{took[1]} {float(took[2]):.0f} s")
            if found := LINE.search(line):
                done, total, eta = (int(g) for g in found.groups())
                seen.append((done, total, float(eta), time.perf_counter() - start))
        end = time.perf_counter() - start
        if proc.wait() != 0:
            raise SystemExit(f"harness run failed (exit {proc.returncode})")
    print(f"`harness run --tasks {args.tasks} --no-cache`: {end:.0f} s in all; each task: {', '.join(tasks)}")
    print("| tasks done | ETA said | the rest took | error |")
    print("|---|---|---|---|")
    errors = []
    for done, total, eta, when in seen:
        actual = end - when
        error = (eta - actual) / actual if done < total and actual > 1 else None
        if error is not None:
            errors.append(abs(error))
        shown = "—" if error is None else "0%" if abs(error) < 0.005 else f"{error:+.0%}"
        print(f"| {done}/{total} | {eta:.0f} s | {actual:.0f} s | {shown} |")
    if errors:
        print(f"mean absolute error {statistics.mean(errors):.0%} over {len(errors)} ETAs with work left")


if __name__ == "__main__":
    main()
