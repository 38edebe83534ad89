"""The embedding cache, as a wrapper around any `TextEncoder` (mteb's `CachedEmbeddingWrapper` is the model), over a
store of vectors by key (model identity, mode, max length, precision, encoding rules, library versions,
instruction, text). Every vector carries a checksum over its key and bytes, verified on every read: altered or
truncated bytes are an error naming the store and `harness cache --clear`, never a silently wrong vector.
Environments with other library versions (sharing ~/.cache) never exchange vectors.

The wrapper walks the encoder's batch plan and commits to the store every `COMMIT_BATCHES` batches, so a killed
run loses at most that much encoding, and a resumed one continues mid-corpus with the very batches a plain run
encodes (a partly cached batch is encoded whole: a vector depends on its batch by ulps).

Stores (`$HARNESS_CACHE_STORE`):
- `sqlite` (default): one SQLite file in WAL mode: one host, many readers, one writer at a time. SQLite documents
  WAL as unsafe on a network filesystem, so it is refused there.
- `shards`: a folder of immutable segment files, one per commit of one writer process, each written under a
  private name and published by an atomic rename; readers take the union. No file is ever written by two
  processes and no lock is taken, so any number of processes on any number of hosts can share it (NFS, Lustre,
  GPFS). `harness cache --compact` merges segments.
- memory (`--no-cache`): the same wrapper over a dictionary, so a run without the cache encodes the same batches.

Shared encoding (`share`, `harness run --encode-share I/N`): worker I of N encodes only the batches k of each
call's plan with k % N == I - 1 into the store and answers the rest with a placeholder. N workers on one store
(the `shards` store across hosts) thus encode a giant corpus together, each batch once, and a plain run with the
same settings then finds every batch stored and scores from the store in one process, bit for bit the vectors a
single process computes (the plan, not the worker, decides each batch).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import mmap
import os
import socket
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.core.errors import CacheError
from harness.core.interfaces import BatchEncoder, ModelIdentity
from harness.core.paths import cache_root
from harness.core.progress import display
from harness.models.encoder import ENCODING_RULES, check_texts

COMMIT_BATCHES = 16  # batches encoded between two commits: the most a killed run loses
STORES = ("sqlite", "shards")
# filesystems on which SQLite's WAL (shared memory, POSIX locks) is unsafe
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "glusterfs", "fuse.glusterfs", "ceph",
    "fuse.ceph-fuse", "9p", "afs", "ocfs2", "panfs", "fuse.sshfs", "fuse.gcsfuse", "fuse.s3fs", "wekafs",
}  # fmt: skip


def default_path() -> Path:
    return cache_root() / "embeddings.sqlite"


def shards_path() -> Path:
    return cache_root() / "embeddings.shards"


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


def _corrupt(where: Path | str) -> CacheError:
    return CacheError(
        f"embedding cache {where}: a stored vector fails its checksum (altered or truncated bytes); clear it with "
        "`harness cache --clear` (embeddings are recomputed)"
    )


class Store(Protocol):
    """Vectors by entry key. `put_many` is durable when it returns."""

    location: str  # where the vectors are, for messages

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]: ...

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None: ...

    def stats(self) -> tuple[int, int]: ...


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path` (the longest mount point above it in /proc/mounts)."""
    best, kind = "", "unknown"
    target = str(path.resolve())
    with contextlib.suppress(OSError), open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 3:
                point = fields[1].replace("\\040", " ")
                if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                    best, kind = point, fields[2]
    return kind


def open_store() -> Store:
    """The store `$HARNESS_CACHE_STORE` names under `$HARNESS_CACHE`, its kind checked against the filesystem."""
    kind = os.environ.get("HARNESS_CACHE_STORE", "sqlite")
    if kind not in STORES:
        raise CacheError(f"HARNESS_CACHE_STORE={kind!r}: use one of {', '.join(STORES)}")
    if kind == "shards":
        return ShardStore(shards_path())
    fs = filesystem_type(cache_root().parent if not cache_root().exists() else cache_root())
    if fs in NETWORK_FILESYSTEMS:
        raise CacheError(
            f"embedding cache {default_path()} is on a network filesystem ({fs}), where SQLite's WAL can corrupt it "
            "when several hosts write: set HARNESS_CACHE_STORE=shards (one file per writer, safe on any filesystem), "
            "or point HARNESS_CACHE at a local disk"
        )
    return EmbeddingCache(default_path())


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
                    if not isinstance(blob, bytes) or len(blob) != 4 * dim or _checksum(key, blob) != checksum:
                        raise _corrupt(self.path)
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
            raise _corrupt(path)
        self.n, self.dim = (int(x) for x in np.frombuffer(self._map, dtype="<u8", count=2, offset=8))
        if len(self._map) != 24 + self.n * (48 + 4 * self.dim):
            raise _corrupt(path)
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
            raise _corrupt(self.path)
        return vector


class ShardStore:
    """The store for many writers on many hosts (see the module docstring): `<folder>/*.seg`, immutable."""

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
