"""Data checks by consequence. A check *refuses* what would change or break a scored number (a DataError naming
the file, the line and the fix); it *notes* what the era's reference code evaluated as it stands (an empty text, a
non-finite value in a field no scorer reads, a field the harness does not read). Notes are counted per file and
kind, with the first line, and go into the run record (`data_notes`), `harness run`'s task lines, `harness data
check` and the report. The table of every check is in docs/concepts/data.md."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Note:
    file: str
    line: int  # the first line it occurs on (0: the whole file)
    what: str
    count: int

    def record(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        if not self.line:  # a note on the file as a whole (a copy's figures), made once
            return f"{self.what} ({self.file})"
        return f"{self.what} x{self.count} (first {self.file}:{self.line})"


@dataclass
class Notes:
    """Notes gathered while reading a task's files: one per (file, kind), counted."""

    _seen: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, file: object, line: int, what: str) -> None:
        entry = self._seen.setdefault((str(file), what), [line, 0])
        entry[1] += 1

    def unread_nonfinite(self, file: object, line: int, row: dict[str, Any], read: set[str]) -> None:
        """Note each field the scorers do not read (`read`) that holds NaN or Infinity: the era code kept it."""
        for key, value in row.items():
            if key not in read and _nonfinite(value):
                self.add(file, line, f"non-finite number in unread field {key!r}")

    def all(self) -> list[Note]:
        return [Note(f, line, what, n) for (f, what), (line, n) in self._seen.items()]


def _nonfinite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_nonfinite(v) for v in value.values())
    return False


@dataclass
class DataCheck:
    """What a benchmark's preflight found in a task's data: rows per part (`en/test`, `corpus`) and its notes."""

    rows: dict[str, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    # what encoding it costs: the characters of the distinct texts it embeds (the run's ETA, `runner.run_line`),
    # where known before the model loads
    work: int | None = None

    @staticmethod
    def characters(texts: Iterable[str]) -> int:
        """The `work` of a task that embeds `texts`: each distinct text counted once (the encoder's rule)."""
        return sum(len(t) for t in set(texts))

    def line(self) -> str:
        rows = ", ".join(f"{part} {n:,}" for part, n in self.rows.items()) or "rows not counted before loading"
        notes = "; ".join(n.text() for n in self.notes)
        return f"{rows}{f'; notes: {notes}' if notes else ''}"
