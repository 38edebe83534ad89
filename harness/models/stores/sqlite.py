"""The SQLite store (the default): vectors by entry key in one file in WAL mode: one host, many readers, one writer
at a time. SQLite documents WAL as unsafe on a network filesystem, so `open_store` refuses it there."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from harness.core.errors import CacheError
from harness.core.paths import cache_path
from harness.models.stores.base import corrupt, vector_checksum


def default_path() -> Path:
    return cache_path("embeddings.sqlite")


class EmbeddingCache:
    """The SQLite store: vectors by entry key in one file (WAL mode: one host, many readers, one writer at a time);
    each commit is one transaction, so a process killed mid-write leaves the whole commit or none of it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.location = str(self.path)
        with self._guard():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS embedding_v2 (key TEXT PRIMARY KEY, dim INTEGER, vector BLOB, checksum TEXT)"
            )
            self._db.commit()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """sqlite's own errors (a corrupt or truncated file) become one clear line with the fix."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:  # not a damaged file: keep it
                raise CacheError(
                    f"embedding cache {self.path}: the disk is full ({exc}); everything stored so far is kept: free "
                    f"space on {self.path.parent}, or point HARNESS_CACHE at another disk, and run again"
                ) from None
            raise CacheError(
                f"embedding cache {self.path} is unreadable ({exc}); clear it with `harness cache --clear` "
                "(embeddings are recomputed), or point HARNESS_CACHE elsewhere"
            ) from None
        except OSError as exc:
            raise CacheError(
                f"embedding cache folder {self.path.parent} is not writable ({exc.strerror}); point HARNESS_CACHE "
                "at a writable folder, or run with --no-cache"
            ) from None

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors by key; every entry read is verified against its checksum."""
        found: dict[str, np.ndarray] = {}
        with self._guard():
            for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
                chunk = keys[start : start + 900]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, dim, vector, checksum FROM embedding_v2 WHERE key IN ({marks})", chunk
                )
                for key, dim, blob, checksum in rows:
                    if not isinstance(blob, bytes) or len(blob) != 4 * dim or vector_checksum(key, blob) != checksum:
                        raise corrupt(self.path)
                    found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """All rows in one transaction: on any failure none of them is written."""
        rows = []
        for key, vector in items:
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append((key, int(vector.shape[0]), blob, vector_checksum(key, blob)))
        with self._guard(), self._db:
            self._db.executemany("INSERT OR REPLACE INTO embedding_v2 VALUES (?, ?, ?, ?)", rows)

    def stats(self) -> tuple[int, int]:
        """(entries, bytes on disk)."""
        with self._guard():
            (count,) = self._db.execute("SELECT COUNT(*) FROM embedding_v2").fetchone()
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        return int(count), size

    def close(self) -> None:
        self._db.close()
