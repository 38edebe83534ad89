"""The stores of the embedding cache (`$HARNESS_CACHE_STORE`), one module each:
- `sqlite` (default, `sqlite.py`): one SQLite file in WAL mode: one host, many readers, one writer at a time;
  refused on a network filesystem, where SQLite's WAL is unsafe.
- `shards` (`shards.py`): immutable segment files published by atomic rename: any number of writers on any
  number of hosts.
- memory (`memory.py`, `--no-cache`).
Every vector carries a checksum over its key and bytes (`base.py`), verified on every read."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from harness.core.errors import CacheError
from harness.core.paths import cache_root
from harness.models.stores.base import Store
from harness.models.stores.shards import ShardStore, shards_path
from harness.models.stores.sqlite import EmbeddingCache, default_path

STORES = ("sqlite", "shards")
# filesystems on which SQLite's WAL (shared memory, POSIX locks) is unsafe
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "glusterfs", "fuse.glusterfs", "ceph",
    "fuse.ceph-fuse", "9p", "afs", "ocfs2", "panfs", "fuse.sshfs", "fuse.gcsfuse", "fuse.s3fs", "wekafs",
}  # fmt: skip


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
