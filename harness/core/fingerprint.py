"""Run fingerprints: sha256 over everything that determines a task's number, so a finished result is reused only
when nothing that made it has changed.

Inputs (all known before any model loads): the resolved task spec; the data's identity (pinned revision, or a
digest of the local files' bytes); the exact instruction strings of every side and subtask; the model (name,
revision or folder digest, instruction mode, max length, precision); the protocol; the benchmark's own settings
(prompt retrieval: the LM's weights digest, demonstrations, test size, LM precision); the harness version and the
versions of the libraries that change numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.errors import DataError


def hash_file(digest: Any, path: Path) -> None:
    """Feed a file's bytes to `digest` in 1 MiB blocks (weights files are gigabytes)."""
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)


def files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """sha256 over each file's name (relative to `root`) and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        digest.update(str(path.relative_to(root) if root else path.name).encode() + b"\0")
        hash_file(digest, path)
    return digest.hexdigest()


def files_identity(paths: Iterable[Path], root: Path | None = None) -> dict[str, Any]:
    """A local data set's identity (digest of names and bytes) and its size, the plan's cost estimate."""
    chosen = sorted(set(paths))
    return {"sha256": files_digest(chosen, root), "bytes": sum(p.stat().st_size for p in chosen)}


def digest(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint(inputs: dict[str, Any]) -> dict[str, Any]:
    """What a run record stores: the inputs and their digest."""
    return {"sha256": digest(inputs), "inputs": json.loads(json.dumps(inputs, sort_keys=True, default=str))}


def differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The inputs that differ, by name (`task.protocol`, `model.max_length`, `versions.torch`, ...)."""
    if not old or "inputs" not in old:
        return ["the record has no fingerprint (written by an older harness)"]
    found = []
    before = old["inputs"]
    for key in sorted(set(before) | set(new["inputs"])):
        a, b = before.get(key), new["inputs"].get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += [f"{key}.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        else:
            found.append(key)
    return found
