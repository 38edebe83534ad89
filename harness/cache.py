"""On-disk embedding cache: one SQLite file, one row per (model identity, mode, max length, instruction, text).

SQLite commits are atomic, so a process killed mid-write leaves either the whole batch or none of it:
no partial entry can be read back later.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from harness.paths import cache_root


def default_path() -> Path:
    return cache_root() / "embeddings.sqlite"


def entry_key(model_key: str, instruction: str, text: str) -> str:
    """Unit separators keep ("ab", "c") and ("a", "bc") apart."""
    return hashlib.sha256(f"{model_key}\x1f{instruction}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, dim INTEGER, vector BLOB)")
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, dim, blob in self._db.execute(
                f"SELECT key, dim, vector FROM embedding WHERE key IN ({marks})", chunk
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """All rows in one transaction: on any failure none of them is written."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO embedding VALUES (?, ?, ?)",
                ((k, int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items),
            )

    def stats(self) -> tuple[int, int]:
        """(entries, bytes on disk)."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM embedding").fetchone()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return int(count), size

    def close(self) -> None:
        self._db.close()
