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


CHARS_PER_TOKEN = 4  # English text in the tokenizers of the paper's models, roughly (the rate is calibrated anyway)
BINS = 16  # text lengths in bins [2^k, 2^(k+1)) characters, the last open


@dataclass(frozen=True)
class Work:
    """What encoding a task costs, known before the model loads: its distinct texts' lengths, binned, so that the
    model's max length can cap each (a 9,000-character abstract costs a 256-token model what a 1,024-character one
    does). The run's ETA (`runner.run_line`) counts it in tokens."""

    counts: tuple[float, ...] = (0,) * BINS
    characters: tuple[float, ...] = (0,) * BINS

    @classmethod
    def of(cls, texts: Iterable[str]) -> Work:
        """Each distinct text counted once (the encoder's rule)."""
        return cls.of_lengths([len(t) for t in set(texts)])

    @classmethod
    def of_lengths(cls, lengths: Iterable[int]) -> Work:
        counts, characters = [0.0] * BINS, [0.0] * BINS
        for n in lengths:
            k = min(max(int(n), 1).bit_length() - 1, BINS - 1)
            counts[k] += 1
            characters[k] += int(n)
        return cls(tuple(counts), tuple(characters))

    def scaled(self, share: float) -> Work:
        """`share` of these texts, alike in length (classification's undersampled train sets)."""
        return Work(tuple(n * share for n in self.counts), tuple(c * share for c in self.characters))

    def __add__(self, other: Work) -> Work:
        return Work(
            tuple(a + b for a, b in zip(self.counts, other.counts, strict=True)),
            tuple(a + b for a, b in zip(self.characters, other.characters, strict=True)),
        )

    def tokens(self, max_length: int) -> float:
        """Tokens through the model: each bin's texts at their mean length, capped at `max_length`."""
        return sum(
            n * min(chars / n / CHARS_PER_TOKEN + 2, max_length)
            for n, chars in zip(self.counts, self.characters, strict=True)
            if n
        )


@dataclass
class DataCheck:
    """What a benchmark's preflight found in a task's data: rows per part (`en/test`, `corpus`) and its notes."""

    rows: dict[str, int] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    work: Work | None = None  # where known before the model loads (mteb's own hub loads: not)

    def line(self) -> str:
        rows = ", ".join(f"{part} {n:,}" for part, n in self.rows.items()) or "rows not counted before loading"
        notes = "; ".join(n.text() for n in self.notes)
        return f"{rows}{f'; notes: {notes}' if notes else ''}"
