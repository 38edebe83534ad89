"""What every store of the embedding cache shares: the `Store` protocol, and the checksum that every stored vector
carries over its key and bytes, verified on every read (altered or truncated bytes are an error naming the store
and `harness cache --clear`, never a silently wrong vector)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.core.errors import CacheError


class Store(Protocol):
    """Vectors by entry key. `put_many` is durable when it returns."""

    location: str  # where the vectors are, for messages

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None: ...

    def stats(self) -> tuple[int, int]: ...


def vector_checksum(key: str, blob: bytes) -> str:
    return hashlib.sha256(key.encode() + b"\0" + blob).hexdigest()[:32]


def corrupt(where: Path | str) -> CacheError:
    return CacheError(
        f"embedding cache {where}: a stored vector fails its checksum (altered or truncated bytes); clear it with "
        "`harness cache --clear` (embeddings are recomputed)"
    )
