"""The store for many writers on many hosts: a folder of immutable segment files, one per commit of one writer
process, each written under a private name and published by an atomic rename; readers take the union. No file is
ever written by two processes and no lock is taken, so any number of processes on any number of hosts can share
it (NFS, Lustre, GPFS). `harness cache --compact` merges segments."""

from __future__ import annotations

import hashlib
import mmap
import os
import socket
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import CacheError
from harness.core.paths import cache_path
from harness.models.stores.base import corrupt


def shards_path() -> Path:
    return cache_path("embeddings.shards")


SEGMENT_MAGIC = b"IHSEG001"  # then n and dim (little-endian u64), n sorted keys (32 bytes), n checksums (16), vectors


def _padded(value: Any, width: int) -> bytes:
    """An item of an `S<width>` array as its full bytes (numpy drops the trailing NUL bytes of items read)."""
    return bytes(value).ljust(width, b"\0")


class Segment:
    """One published segment, memory-mapped: sorted keys, their checksums and their vectors."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[:8] != SEGMENT_MAGIC or len(self._map) < 24:
            raise corrupt(path)
        self.n, self.dim = (int(x) for x in np.frombuffer(self._map, dtype="<u8", count=2, offset=8))
        if len(self._map) != 24 + self.n * (48 + 4 * self.dim):
            raise corrupt(path)
        self.keys = np.frombuffer(self._map, dtype="S32", count=self.n, offset=24)
        self.checksums = np.frombuffer(self._map, dtype="S16", count=self.n, offset=24 + 32 * self.n)
        self.vectors = np.frombuffer(self._map, dtype="<f4", count=self.n * self.dim, offset=24 + 48 * self.n)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in `keys` found here, their rows)."""
        if not self.n:
            return np.zeros(0, int), np.zeros(0, int)
        rows = np.searchsorted(self.keys, keys).clip(max=self.n - 1)
        hit = self.keys[rows] == keys
        return np.flatnonzero(hit), rows[hit]

    def key(self, row: int) -> bytes:
        return _padded(self.keys[row], 32)

    def vector(self, row: int, key: bytes) -> np.ndarray:
        vector = np.array(self.vectors[row * self.dim : (row + 1) * self.dim])
        if hashlib.sha256(key + vector.tobytes()).digest()[:16] != _padded(self.checksums[row], 16):
            raise corrupt(self.path)
        return vector


class ShardStore:
    """The store for many writers on many hosts (this module's docstring): `<folder>/*.seg`, immutable."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.location = str(folder)
        self.segments: dict[str, Segment] = {}
        self.skipped: set[str] = set()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"embedding cache folder {folder} is not writable ({exc.strerror}); point HARNESS_CACHE at a "
                "writable folder, or run with --no-cache"
            ) from None
        self._writer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._published = 0

    def _refresh(self) -> list[Segment]:
        """Every published segment, those another process published since the last look included. An empty or
        torn one (a copy cut short, a full disk on another host: the writers publish whole files by rename) is
        skipped with one warning: its vectors are recomputed, never read wrong."""
        for path in sorted(self.folder.glob("*.seg")):
            if path.name not in self.segments and path.name not in self.skipped:
                try:
                    self.segments[path.name] = Segment(path)
                except (ValueError, OSError, CacheError) as exc:  # mmap of an empty file: ValueError
                    self.skipped.add(path.name)
                    warnings.warn(
                        f"embedding cache {path}: skipped, an empty or torn segment ({exc}); its vectors are "
                        "recomputed. Delete the file, or `harness cache --compact` once no run writes",
                        stacklevel=2,
                    )
        return list(self.segments.values())

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        wanted = np.array([bytes.fromhex(k) for k in keys], dtype="S32")
        found: dict[str, np.ndarray] = {}
        for segment in self._refresh() if keys else []:
            positions, rows = segment.find(wanted)
            for pos, row in zip(positions.tolist(), rows.tolist(), strict=True):
                found[keys[pos]] = segment.vector(row, _padded(wanted[pos], 32))
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """One new segment per dimension, written privately, flushed, then published by an atomic rename."""
        by_dim: dict[int, list[tuple[bytes, np.ndarray]]] = {}
        for key, vector in items:
            v = np.ascontiguousarray(vector, dtype="<f4")
            by_dim.setdefault(int(v.shape[0]), []).append((bytes.fromhex(key), v))
        for dim, entries in by_dim.items():
            entries.sort(key=lambda e: e[0])
            keys = b"".join(k for k, _ in entries)
            sums = b"".join(hashlib.sha256(k + v.tobytes()).digest()[:16] for k, v in entries)
            header = SEGMENT_MAGIC + np.array([len(entries), dim], dtype="<u8").tobytes()
            self._published += 1
            name = f"{time.strftime('%Y%m%d%H%M%S')}-{self._writer}-{self._published:06d}"
            draft = self.folder / f".{name}.partial"
            try:
                with draft.open("wb") as fh:
                    fh.write(header + keys + sums + b"".join(v.tobytes() for _, v in entries))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(draft, self.folder / f"{name}.seg")
            except OSError as exc:
                draft.unlink(missing_ok=True)
                raise CacheError(f"embedding cache {self.folder}: could not write a segment ({exc.strerror})") from None

    def stats(self) -> tuple[int, int]:
        segments = self._refresh()
        return sum(s.n for s in segments), sum(s.path.stat().st_size for s in segments)

    def compact(self) -> int:
        """Merge every published segment into new ones, then remove the merged ones; the segments merged."""
        segments = self._refresh()
        entries: dict[str, np.ndarray] = {}
        for segment in segments:
            for row in range(segment.n):
                key = segment.key(row)
                entries[key.hex()] = segment.vector(row, key)
        self.put_many(entries.items())
        for segment in segments:
            segment.path.unlink(missing_ok=True)
            del self.segments[segment.path.name]
        return len(segments)
