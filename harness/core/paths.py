"""Where the project's data folders (tasks/, instructions/) live, installed or in a checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # harness/


def data_dir(kind: str) -> Path:
    """`tasks`, `instructions` or `reference`: the packaged copy in a wheel, else the checkout's folder."""
    packaged = _PACKAGE / "_data" / kind
    return packaged if packaged.is_dir() else _PACKAGE.parent / kind


def cache_root() -> Path:
    """The harness cache: `$HARNESS_CACHE`, else ~/.cache/instructor-harness (embeddings, downloaded files)."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "instructor-harness")


# Everything the harness keeps in its cache, by entry name: all of it derived, so all of it may go
# (`harness cache --clear` removes exactly these, and says which, so a cache folder shared with other tools is safe).
CACHE_ENTRIES = {
    "embeddings.sqlite": "the embedding cache (SQLite store; its -wal and -shm files beside it)",
    "embeddings.shards": "the embedding cache (shards store)",
    "mteb-rows": "MTEB rows read from pinned hub revisions, keyed by the digest of their files",
    "hub-views": "links to hub-cache files, in folders named by their blobs (what `datasets` reads)",
    "files": "reference files downloaded at pinned commits (Billboard)",
    "onnx": "ONNX exports of the --backend onnx that earlier versions had (removed: docs/performance.md)",
    "digests": "digests of model folders, by path, size and modification time",
}


def cache_path(entry: str) -> Path:
    """Where a cache entry (`CACHE_ENTRIES`) lives under `cache_root()`."""
    assert entry in CACHE_ENTRIES, entry
    return cache_root() / entry


def include_paths() -> tuple[Path, ...]:
    """User folders of task and instruction files, read and validated beside the shipped ones: `--include-path DIR`
    or `HARNESS_INCLUDE_PATH` (several joined by os.pathsep; launched workers inherit it). A folder holds
    `tasks/<benchmark>/<Task>.yaml` and/or `instructions/<family>.yaml` (entries for its own tasks)."""
    raw = os.environ.get("HARNESS_INCLUDE_PATH", "")
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)


def smoke_dir() -> Path:
    """The packaged smoke suite: tiny hand-made tasks (tasks/ and data/ in the portable layout)."""
    return _PACKAGE / "smoke"
