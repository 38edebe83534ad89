"""The embedding cache, as a wrapper around any `TextEncoder` (mteb's `CachedEmbeddingWrapper` is the model).

On disk: one SQLite file, one row per (model identity, mode, max length, precision, encoding rules, library
versions, instruction, text), each with a checksum over its key and vector bytes that is verified on every read:
altered or truncated bytes are an error naming the file and `harness cache --clear`, never a silently wrong
vector. Environments with other library versions (sharing ~/.cache) never exchange vectors. SQLite commits are
atomic, so a process killed mid-write leaves either the whole batch or none of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import CacheError
from harness.core.paths import cache_root
from harness.models.encoder import ENCODING_RULES, check_texts
from harness.models.protocol import ModelIdentity, Side, TextEncoder


def default_path() -> Path:
    return cache_root() / "embeddings.sqlite"


ENCODING_PACKAGES = ("sentence-transformers", "transformers", "torch")


def environment_key() -> str:
    """The encoding rules' version and the versions of the libraries that compute the vectors."""
    versions = []
    for name in ENCODING_PACKAGES:
        try:
            versions.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name}=absent")
    return f"rules={ENCODING_RULES}|" + "|".join(versions)


def _checksum(key: str, blob: bytes) -> str:
    return hashlib.sha256(key.encode() + b"\0" + blob).hexdigest()[:32]


def entry_key(model_key: str, instruction: str, text: str) -> str:
    """Unit separators keep ("ab", "c") and ("a", "bc") apart."""
    return hashlib.sha256(f"{model_key}\x1f{instruction}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors by entry key in one SQLite file (WAL mode: one host, many readers, one writer at a time)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
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
                    if not isinstance(blob, bytes) or len(blob) != 4 * dim or _checksum(key, blob) != checksum:
                        raise CacheError(
                            f"embedding cache {self.path}: a stored vector fails its checksum (altered or truncated "
                            "bytes); clear it with `harness cache --clear` (embeddings are recomputed)"
                        )
                    found[key] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """All rows in one transaction: on any failure none of them is written."""
        rows = []
        for key, vector in items:
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append((key, int(vector.shape[0]), blob, _checksum(key, blob)))
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


class CachedEncoder:
    """A `TextEncoder` that answers from `cache` and sends only the texts it lacks to `inner`."""

    def __init__(self, inner: TextEncoder, cache: EmbeddingCache) -> None:
        self.inner = inner
        self.cache = cache
        self.key = f"{inner.identity.key}|{environment_key()}"

    def encode(self, texts: list[str], *, instruction: str = "", side: Side = "query") -> np.ndarray:
        check_texts(texts)
        if self.inner.identity.mode == "none":
            instruction = ""
        unique = list(dict.fromkeys(texts))
        keys = [entry_key(self.key, instruction, t) for t in unique]
        found = self.cache.get_many(keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = self.inner.encode([unique[i] for i in missing], instruction=instruction, side=side)
            new = {keys[i]: v for i, v in zip(missing, vectors, strict=True)}
            self.cache.put_many(new.items())
            found.update(new)
        if not texts:
            return np.zeros((0, self.inner.identity.dimension), np.float32)
        row = {t: found[k] for t, k in zip(unique, keys, strict=True)}
        return np.stack([row[t] for t in texts]).astype(np.float32, copy=False)

    # the rest of the protocol is the inner encoder's
    @property
    def identity(self) -> ModelIdentity:
        return self.inner.identity

    @property
    def texts_encoded(self) -> int:
        return self.inner.texts_encoded

    @property
    def seconds_encoding(self) -> float:
        return self.inner.seconds_encoding

    @property
    def device(self) -> str:
        return self.inner.device

    @property
    def similarity_fn_name(self) -> str:
        return self.inner.similarity_fn_name

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self.inner.token_counts(texts)

    def similarity(self, a: Any, b: Any) -> Any:
        return self.inner.similarity(a, b)

    def metadata(self) -> dict[str, Any]:
        return self.inner.metadata()
