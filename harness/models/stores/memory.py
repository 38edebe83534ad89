"""The memory store (`--no-cache`): the cache's wrapper over a dictionary, so a run without the cache encodes the
same batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class MemoryStore:
    """A process's own store (`--no-cache`): nothing is read from or written to disk."""

    location = "memory"

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        self.vectors.update(items)

    def stats(self) -> tuple[int, int]:
        return len(self.vectors), sum(v.nbytes for v in self.vectors.values())
