"""The types a benchmark is handed: a unit's `RunOptions` (preflight, identities, result folders), and, when it
evaluates, the `Context` (the encoder built on first use, anything shared across tasks); `Outcome`, a task's
status in a run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core import events
from harness.core.checks import DataCheck
from harness.core.instructions import Library
from harness.core.interfaces import LanguageModels, TextEncoder
from harness.core.results import Unit


@dataclass
class RunOptions:
    unit: Unit
    output: Path
    data_dir: Path | None = None
    batch_size: int = 32
    overwrite: bool = False
    dry_run: bool = False
    log: Callable[..., None] = print
    settings: dict[str, Any] = field(default_factory=dict)  # benchmark name -> its own settings object
    model_settings: dict[str, Any] = field(default_factory=dict)  # max_length, precision: they change numbers
    weights: str = ""  # the model's bytes (`models.resolve.Resolved.weights`): in the fingerprint beside its revision
    shard: tuple[int, int] | None = None  # (i, N): this process runs the i-th of N cost-balanced parts
    models: LanguageModels | None = None  # the LMs a benchmark may load (prompt retrieval), from the top layer

    def event(self, event: str, run: str | None = None, **fields: Any) -> None:
        """A line of the event log (`harness.core.events`), named by this run, or by a task's own unit (`run`:
        with its benchmark's condition, as its run record names it)."""
        if not self.dry_run:
            events.emit(self.output, event, run=run or self.unit.name, **fields)


@dataclass
class Outcome:
    task: str
    status: str  # done | resumed | planned | elsewhere (another run holds its lease)
    score: float | None = None
    metric: str = ""
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What every task's evaluation needs; the encoder and anything shared across tasks (prompt retrieval's LM)
    are built on first use and kept for the run."""

    library: Library
    opts: RunOptions
    encoder_factory: Callable[[], TextEncoder]
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> its unit's fingerprint
    checks: dict[str, DataCheck] = field(default_factory=dict)  # task -> what its preflight found in the data
    _encoder: TextEncoder | None = None
    _shared: dict[str, Any] = field(default_factory=dict)
    load_seconds: float = 0.0  # building the encoder and anything shared (model loads): not a task's throughput

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            start = time.perf_counter()
            self._encoder = self.encoder_factory()
            self.load_seconds += time.perf_counter() - start
        return self._encoder

    @property
    def max_length(self) -> int | None:
        """The encoder's max length once it is built (what caps a text's tokens in the run's ETA)."""
        return self._encoder.identity.max_length if self._encoder is not None else None

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._shared:
            start = time.perf_counter()
            self._shared[key] = make()
            self.load_seconds += time.perf_counter() - start
        return self._shared[key]
