"""Model names -> local folders, revisions and weights digests: the `minilm` alias, local folders and hub ids; which
instruction mode a checkpoint is meant for.

A model is known by its bytes, not by its name: a hub id by its snapshot commit (git content-addresses it), a local
folder and the packaged alias by a sha256 of their files (`folder_digest`; a package's version string says nothing
of the weights a shadowing copy on PYTHONPATH brings). The digest enters every fingerprint and cache key
(`ModelIdentity.weights`); it is computed once per folder state (path, sizes, mtimes) and remembered on disk, so a
run pays for reading gigabytes once, not per process."""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import json
from pathlib import Path
from typing import NamedTuple

from harness.core.errors import ModelError, OutputError
from harness.core.fingerprint import hash_file
from harness.core.interfaces import ALIASES, Mode
from harness.core.io import write_json
from harness.core.paths import cache_path


class Resolved(NamedTuple):
    folder: Path
    revision: str  # names the unit's folder: the hub commit, `<package>==<version>`, `sha256-<16>` of a local folder
    weights: str  # what the vectors depend on: the hub commit, else `sha256-<digest of the folder's files>`


def resolve_model(name: str, revision: str | None = None) -> Resolved:
    """A model name (alias, local folder or hub id) -> its folder, revision and weights identity."""
    if name in ALIASES:
        module = __import__(ALIASES[name])
        path = Path(module.get_model_path())
        digest = f"sha256-{folder_digest(path)}"
        return Resolved(path, f"{ALIASES[name]}=={getattr(module, '__version__', 'installed')}", digest)
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "modules.json").exists() and not (local / "config.json").exists():
            raise ModelError(f"model folder {local} has neither modules.json nor config.json: not a model")
        digest = folder_digest(local)
        return Resolved(local, f"sha256-{digest[:16]}", f"sha256-{digest}")
    if name.startswith(("/", ".", "~")):
        raise ModelError(f"model path {name!r} does not exist: pass an existing folder, a hub id or 'minilm'")
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(name, revision=revision))
    except Exception as exc:  # offline miss, unknown repo, bad revision all land here
        close = difflib.get_close_matches(name, list(ALIASES), n=1, cutoff=0.7)
        hint = f" Did you mean: {close[0]}?" if close else ""
        raise ModelError(
            f"model {name!r} (revision {revision or 'main'}) is not available: {type(exc).__name__}.{hint} "
            "Offline, download it once elsewhere and pass its local folder, or use the packaged 'minilm'."
        ) from None
    return Resolved(folder, folder.name, folder.name)  # snapshots/<commit>: git names the bytes


def folder_digest(folder: Path) -> str:
    """sha256 over every file's relative path and bytes (weights, config and tokenizer alike). Kept for as long as
    no file's size or modification time changes: per process, and on disk (`$HARNESS_CACHE/digests/`) so that
    the next run does not read a 24 GB folder again; edited weights still change the digest."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    signature = tuple((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest(str(folder.resolve()), signature)


@functools.lru_cache(maxsize=64)
def _digest(folder: str, signature: tuple[tuple[str, int, int], ...]) -> str:
    state = hashlib.sha256(json.dumps([folder, signature]).encode()).hexdigest()
    memo = cache_path("digests") / f"{hashlib.sha256(folder.encode()).hexdigest()[:32]}.json"
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if known.get("state") == state and isinstance(known.get("sha256"), str):
            return str(known["sha256"])
    except (OSError, ValueError, AttributeError):
        pass  # no memo yet, or an unreadable one: computed again
    digest = hashlib.sha256()
    for relative, _, _ in signature:
        digest.update(relative.encode())
        hash_file(digest, Path(folder) / relative)
    value = digest.hexdigest()
    with contextlib.suppress(OSError, OutputError):  # a read-only cache only costs the next run a re-read
        write_json(memo, {"folder": folder, "state": state, "sha256": value})
    return value


def is_instructor(name: str) -> bool:
    """An INSTRUCTOR checkpoint: its name says so, or its local folder's modules.json names InstructorEmbedding's
    modules (as hkunlp/instructor-* do), whatever the folder is called."""
    local = Path(name).expanduser()
    if not local.exists():
        return "instructor" in name.lower()  # a hub id
    modules = local / "modules.json"
    if modules.is_file() and "InstructorEmbedding" in modules.read_text(encoding="utf-8", errors="replace"):
        return True
    return "instructor" in local.name.lower()  # the folder's own name, not a parent's


def default_mode(name: str) -> Mode:
    """INSTRUCTOR checkpoints are meant to be used masked; other models see the text alone by default."""
    return "masked" if is_instructor(name) else "none"
