"""The embedding cache, as a wrapper around any `TextEncoder` (mteb's `CachedEmbeddingWrapper` is the model), over a
store of vectors by key (model identity, mode, max length, precision, encoding rules, library versions,
instruction, text). Every vector carries a checksum over its key and bytes, verified on every read: altered or
truncated bytes are an error naming the store and `harness cache --clear`, never a silently wrong vector.
Environments with other library versions (sharing ~/.cache) never exchange vectors.

The wrapper walks the encoder's batch plan and commits to the store every `COMMIT_BATCHES` batches, so a killed
run loses at most that much encoding, and a resumed one continues mid-corpus with the very batches a plain run
encodes (a partly cached batch is encoded whole: a vector depends on its batch by ulps).

The stores (SQLite, shards, memory) are `harness.models.stores`, one module each.

Shared encoding (`share`, `harness run --encode-share I/N`): worker I of N encodes only the batches k of each
call's plan with k % N == I - 1 into the store and answers the rest with a placeholder. N workers on one store
(the `shards` store across hosts) thus encode a giant corpus together, each batch once, and a plain run with the
same settings then finds every batch stored and scores from the store in one process, bit for bit the vectors a
single process computes (the plan, not the worker, decides each batch).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.core.interfaces import BatchEncoder, ModelIdentity, Telemetry
from harness.core.progress import display
from harness.models.encoder import ENCODING_RULES, check_texts
from harness.models.stores.base import Store

COMMIT_BATCHES = 16  # batches encoded between two commits: the most a killed run loses
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


def entry_key(model_key: str, instruction: str, text: str) -> str:
    """Unit separators keep ("ab", "c") and ("a", "bc") apart."""
    return hashlib.sha256(f"{model_key}\x1f{instruction}\x1f{text}".encode()).hexdigest()


class CachedEncoder:
    """A `TextEncoder` that answers from `store` and encodes only the planned batches it lacks, committing every
    `COMMIT_BATCHES` of them (see the module docstring)."""

    def __init__(self, inner: BatchEncoder, store: Store, *, share: tuple[int, int] | None = None) -> None:
        self.inner = inner
        self.cache = store
        self.key = f"{inner.identity.key}|{environment_key()}"
        self.share = share  # (I, N): encode only every N-th planned batch from the I-th (see the module docstring)

    def encode(self, texts: list[str], *, instruction: str = "") -> np.ndarray:
        check_texts(texts)
        if self.inner.identity.mode == "none":
            instruction = ""
        if not texts:
            return np.zeros((0, self.inner.identity.dimension), np.float32)
        unique = list(dict.fromkeys(texts))
        keys = [entry_key(self.key, instruction, t) for t in unique]
        found = self.cache.get_many(keys)
        plan = self.inner.batches(unique, instruction)
        if self.share is not None:  # by index in the whole plan, so that every worker takes the same batches
            plan = [b for k, b in enumerate(plan) if k % self.share[1] == self.share[0] - 1]
        plan = [b for b in plan if any(keys[i] not in found for i in b)]
        with display().encoding(sum(len(b) for b in plan)) as advance:  # the texts the model will see
            for start in range(0, len(plan), COMMIT_BATCHES):
                group = plan[start : start + COMMIT_BATCHES]
                vectors = self.inner.encode_batches([[unique[i] for i in b] for b in group], instruction)
                new = {
                    keys[i]: v
                    for batch, out in zip(group, vectors, strict=True)
                    for i, v in zip(batch, out, strict=True)
                    if keys[i] not in found  # a cached text of a partly cached batch keeps its stored vector
                }
                self.cache.put_many(new.items())
                found.update(new)
                advance(sum(len(b) for b in group))
        if self.share is not None:  # another worker's batches: a placeholder, never stored
            placeholder = np.eye(1, self.inner.identity.dimension, dtype=np.float32)[0]
            found = {k: found.get(k, placeholder) for k in keys}
        row = {t: found[k] for t, k in zip(unique, keys, strict=True)}
        return np.stack([row[t] for t in texts]).astype(np.float32, copy=False)

    # the rest of the protocol is the inner encoder's
    @property
    def identity(self) -> ModelIdentity:
        return self.inner.identity

    @property
    def telemetry(self) -> Telemetry:
        return self.inner.telemetry

    @property
    def similarity_fn_name(self) -> str:
        return self.inner.similarity_fn_name

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return self.inner.token_counts(texts)

    def similarity(self, a: Any, b: Any) -> Any:
        return self.inner.similarity(a, b)

    def metadata(self) -> dict[str, Any]:
        return self.inner.metadata()
