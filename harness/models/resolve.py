"""Model names -> local folders and revisions: the `minilm` alias, local folders (named by a digest of their
files) and hub ids (snapshot commit); which instruction mode a checkpoint is meant for."""

from __future__ import annotations

import difflib
import functools
import hashlib
from pathlib import Path

from harness.core.errors import ModelError
from harness.core.fingerprint import hash_file
from harness.core.interfaces import ALIASES, Mode


def resolve_model(name: str, revision: str | None = None) -> tuple[Path, str]:
    """A model name (alias, local folder or hub id) -> (local folder, revision)."""
    if name in ALIASES:
        module = __import__(ALIASES[name])
        path = Path(module.get_model_path())
        return path, f"{ALIASES[name]}=={getattr(module, '__version__', 'installed')}"
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "modules.json").exists() and not (local / "config.json").exists():
            raise ModelError(f"model folder {local} has neither modules.json nor config.json: not a model")
        return local, f"sha256-{folder_digest(local)[:16]}"
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
    return folder, folder.name  # snapshots/<commit>


def folder_digest(folder: Path) -> str:
    """sha256 over every file's relative path and bytes (weights and tokenizer alike). A run resolves the same
    folder several times (its fingerprint, the pre-flight, the load), so the digest is kept per process for as
    long as no file's size or modification time changes: a 24 GB LM is read once, and edited weights still
    change the digest."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    signature = tuple((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest(str(folder.resolve()), signature)


@functools.lru_cache(maxsize=64)
def _digest(folder: str, signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for relative, _, _ in signature:
        digest.update(relative.encode())
        hash_file(digest, Path(folder) / relative)
    return digest.hexdigest()


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
