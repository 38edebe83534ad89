"""`harness migrate DIR`: result folders of an older layout moved to where today's run looks for them, so that a
re-run resumes them instead of computing them again.

The layout change it moves (the other of 2026-12-07, a non-default precision or max length and the smoke suite
named in the folder, is left to a re-run: CHANGELOG): until December 2026 every unit's condition carried MTEB's
protocol, so Billboard and prompt-retrieval results sit in `instructions_X__mode_Y__protocol_P/` beside the MTEB
tasks. Today a benchmark names its own condition keys (`Benchmark.condition`: MTEB `protocol`, the others none).
A finished task whose record holds a condition key its benchmark no longer owns is moved to the folder without
it, and its record rewritten as a run today would write it: the key dropped from `unit`, `run` and the
fingerprint's inputs, the sha256 recomputed. That is exact because no such key ever reached the benchmark
(Billboard and prompt retrieval never read the protocol): the number is the one a run today computes. Reports read
both layouts; this only saves the re-run.

Written by hand: the folders are this harness's own (mteb's layout, but mteb has no such migration).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.benchmark import get_benchmark
from harness.core.context import RunOptions
from harness.core.errors import OutputError, ResultError
from harness.core.fingerprint import digest
from harness.core.io import write_json
from harness.core.leases import Lease
from harness.core.results import Unit, experiment_name, read_record, record_path


@dataclass(frozen=True)
class Move:
    task: str
    old: Path  # the unit folder the task is filed under
    new: Path  # the unit folder today's run files it under
    within: Path  # its benchmark's settings folder below the unit's (prompt retrieval), or "."
    dropped: tuple[str, ...]  # the condition keys its benchmark no longer owns

    @property
    def source(self) -> Path:
        return self.old / self.within

    @property
    def target(self) -> Path:
        return self.new / self.within


def plan_moves(output: Path) -> list[Move]:
    """Every finished task under `output` filed under condition keys its benchmark no longer owns."""
    moves, probe = [], _probe(output)
    for path in sorted(output.rglob("records/*.run.json")):
        record = read_record(path)
        unit = record.get("unit") or {}
        benchmark = (record.get("task") or {}).get("benchmark")
        if not benchmark or not {"model", "revision", "variant", "mode", "task"} <= set(unit):
            continue  # not a harness run record this layout change concerns
        old = Unit.from_record(unit)
        owned = set(get_benchmark(benchmark).condition(probe))
        dropped = tuple(k for k, _ in old.extra if k not in owned)
        if not dropped:
            continue
        new = old.within({k: v for k, v in old.extra if k in owned})
        folder = path.parent.parent
        unit_dir = next((p for p in (folder, *folder.parents) if p.name == experiment_name(old.condition)), None)
        if unit_dir is None:
            continue  # an older layout (no experiments/ folder): reports read it, runs never resumed it
        new_dir = unit_dir.parent / experiment_name(new.condition)
        moves.append(Move(unit["task"], unit_dir, new_dir, folder.relative_to(unit_dir), dropped))
    return moves


def _probe(output: Path) -> RunOptions:
    """Run options with every benchmark's settings at their defaults: which condition keys a benchmark owns."""
    return RunOptions(Unit("probe", "probe", "none", "none"), output)


def _files(move: Move, record: dict[str, Any]) -> list[Path]:
    """The task's files in its folder: its result files (one per part), others it wrote (`<Task>.*`), its
    per-item outputs and its run record."""
    parts = record["task"].get("subtasks") or [move.task]
    found = {p for name in parts for p in move.source.glob(f"{name}.*") if p.is_file()}
    saved = (record.get("uncertainty") or {}).get("items")
    if saved and (move.source / saved).is_file():
        found.add(move.source / saved)
    return sorted(found) + [record_path(move.source, move.task)]


def migrated(record: dict[str, Any], dropped: tuple[str, ...]) -> dict[str, Any]:
    """The record as today's run writes it: the dropped keys gone from its unit, run name and fingerprint."""
    unit = {k: v for k, v in record["unit"].items() if k not in dropped}
    out = {**record, "unit": unit, "run": Unit.from_record(unit).name}
    fingerprint = record.get("fingerprint")
    if isinstance(fingerprint, dict) and isinstance(fingerprint.get("inputs"), dict):
        inputs = {k: v for k, v in fingerprint["inputs"].items() if k not in dropped}
        out["fingerprint"] = {**fingerprint, "sha256": digest(inputs), "inputs": inputs}
    return out


def migrate(output: Path, dry_run: bool = False) -> tuple[list[Move], list[Move]]:
    """Every move `plan_moves` finds, each checked first (none is made when any cannot be), then made; and the
    moves left out because an earlier one fills the same place (a Billboard task run under two protocols: the
    same number twice, as the protocol never reached it), whose results stay where they are, still reported."""
    moves: list[Move] = []
    left: list[Move] = []
    taken: set[tuple[Path, str]] = set()
    for move in plan_moves(output):
        (left if (move.target, move.task) in taken else moves).append(move)
        taken.add((move.target, move.task))
    for move in moves:
        for folder in (move.source, move.target):
            if Lease(folder, move.task).holder():
                raise ResultError(
                    f"{move.task}: a run holds its lease in {folder}; nothing was moved. Migrate once that run has ended"
                )
        if record_path(move.target, move.task).exists():
            raise ResultError(
                f"{move.task}: {move.target} already holds a result of it; nothing was moved. Keep one of the two "
                f"(delete {record_path(move.target, move.task)} or the old one), then migrate again"
            )
    for move in [] if dry_run else moves:
        try:
            _apply(move)
        except OSError as exc:  # a read-only or full folder: what was moved before stays moved, and readable
            raise OutputError(
                f"{move.task}: could not move {move.source} -> {move.target} ({exc.strerror or exc}); make both "
                "writable (or free space), then migrate again: finished moves are kept"
            ) from None
    return moves, left


def _apply(move: Move) -> None:
    """Move one task's files (the run record last, so an interrupted move leaves no finished-looking task), then
    give the new unit folder its model_meta.json and drop the old folder if nothing of it is left."""
    record = read_record(record_path(move.source, move.task))
    files = _files(move, record)
    for path in files[:-1]:
        destination = move.target / path.relative_to(move.source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, destination)
    write_json(record_path(move.target, move.task), migrated(record, move.dropped))
    files[-1].unlink()
    _meta(move)
    _prune(move.old)


def _meta(move: Move) -> None:
    """The new unit folder's model_meta.json: the old one with the new condition as its experiment_kwargs."""
    old, new = move.old / "model_meta.json", move.new / "model_meta.json"
    if new.is_file() or not old.is_file():
        return
    meta = json.loads(old.read_text(encoding="utf-8"))
    kwargs = {k: v for k, v in (meta.get("experiment_kwargs") or {}).items() if k not in move.dropped}
    write_json(new, {**meta, "experiment_kwargs": kwargs})


def _prune(unit_dir: Path) -> None:
    """Remove a unit folder that holds no result any more (its model_meta.json alone, empty folders)."""
    if any(p.name != "model_meta.json" for p in unit_dir.rglob("*.json")):
        return
    (unit_dir / "model_meta.json").unlink(missing_ok=True)
    for path in sorted((p for p in unit_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(path.iterdir()):
            path.rmdir()
    if not any(unit_dir.iterdir()):
        unit_dir.rmdir()
