"""Where the project's data folders (tasks/, instructions/) live, installed or in a checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # harness/


def data_dir(kind: str) -> Path:
    """`tasks`, `instructions` or `results/reference`: the packaged copy in a wheel, else the checkout's folder."""
    packaged = _PACKAGE / "_data" / kind
    return packaged if packaged.is_dir() else _PACKAGE.parent / kind


def cache_root() -> Path:
    """The harness cache: `$HARNESS_CACHE`, else ~/.cache/instructor-harness (embeddings, downloaded files)."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "instructor-harness")


def smoke_dir() -> Path:
    """The packaged smoke suite: tiny hand-made tasks (tasks/ and data/ in the portable layout)."""
    return _PACKAGE / "smoke"
