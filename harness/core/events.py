"""The event log beside the results: `<output-dir>/events.jsonl`, one JSON object per line, appended by every run
into that folder (each line says its run, host and process, so concurrent runs stay apart; a task's lines name
its own unit, its benchmark's condition included, as its run record does):

    run            the unit, its tasks, those still to do, the shard
    task_start     task, category
    task_done      task, metric, score (0-1), seconds, texts encoded so far
    task_resumed   task (finished before with the same inputs)
    task_elsewhere task (another run holds its lease)
    task_failed    task, error (the failure family), message
    run_end        done, seconds; or interrupted

A line is written whole with one append; a log that cannot be written never stops the run (the results are what
counts, and they are checked writable before any model loads).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

LOG = "events.jsonl"


def emit(output: Path, event: str, **fields: Any) -> None:
    line = {"time": round(time.time(), 3), "event": event, "host": socket.gethostname(), "pid": os.getpid(), **fields}
    with contextlib.suppress(OSError), open(output / LOG, "a", encoding="utf-8") as fh:  # noqa: PTH123
        fh.write(json.dumps(line, default=str) + "\n")
