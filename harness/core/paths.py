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


def include_paths() -> tuple[Path, ...]:
    """User folders of task and instruction files, read and validated beside the shipped ones: `--include-path DIR`
    or `HARNESS_INCLUDE_PATH` (several joined by os.pathsep; launched workers inherit it). A folder holds
    `tasks/<benchmark>/<Task>.yaml` and/or `instructions/<family>.yaml` (entries for its own tasks)."""
    raw = os.environ.get("HARNESS_INCLUDE_PATH", "")
    return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)


def smoke_dir() -> Path:
    """The packaged smoke suite: tiny hand-made tasks (tasks/ and data/ in the portable layout)."""
    return _PACKAGE / "smoke"
