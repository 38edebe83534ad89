"""File-backed task data: `DATA_DIR/<folder>/<file>` offline, or the public repository file at a pinned
commit online (downloaded once into the harness cache). Billboard and most prompt-retrieval sets use it."""

from __future__ import annotations

import os
import shutil
import urllib.request
from functools import partial
from pathlib import Path
from typing import Literal

from harness.core.errors import DataError
from harness.core.io import write_atomic, write_atomic_path
from harness.core.paths import cache_path
from harness.core.spec import Strict, TaskSpec


class FilesSource(Strict):
    """Files under `DATA_DIR/<folder>/`, or online from `repository` at `commit`, `path`."""

    kind: Literal["files"]
    folder: str
    files: dict[str, str]
    remote_names: dict[str, str] = {}  # where the upstream file is named differently from the local copy
    repository: str
    commit: str
    path: str


RAW = "https://raw.githubusercontent.com/{repository}/{commit}/{path}/{file}"


def task_files(spec: TaskSpec, source: FilesSource, data_dir: Path | None) -> dict[str, Path]:
    """Role -> local path of each file the task needs (`source.files`)."""
    roles = list(source.files)
    if data_dir is not None:
        folder = data_dir / source.folder
        paths = {role: folder / source.files[role] for role in roles}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise DataError(
                f"task {spec.name}: missing {', '.join(missing)} (expected the files of "
                f"{source.repository}@{source.commit[:7]} {source.path} under {folder})"
            )
        return paths
    return {role: _download(spec, source, source.remote_names.get(role, source.files[role])) for role in roles}


def _download(spec: TaskSpec, source: FilesSource, name: str) -> Path:
    dest = cache_path("files") / source.repository / source.commit / source.path / name
    if dest.is_file():
        return dest
    url = RAW.format(repository=source.repository, commit=source.commit, path=source.path, file=name)
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise DataError(
            f"task {spec.name}: {name} is not cached and this run is offline; pass --data-dir DIR "
            f"with {source.folder}/{name} (from {source.repository}@{source.commit[:7]} {source.path})"
        )
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
    except OSError as exc:
        raise DataError(
            f"task {spec.name}: could not download {url} ({exc}); pass --data-dir DIR with {source.folder}/{name}"
        ) from None
    write_atomic(dest, lambda fh: fh.write(body), mode="wb")
    return dest


def mirror_files(spec: TaskSpec, source: FilesSource, out: Path) -> list[Path]:
    """Each file (fetched once into the cache at the pinned commit) copied to OUT/<folder>/."""
    written = []
    for role, path in task_files(spec, source, None).items():
        dest = out / source.folder / source.files[role]
        write_atomic_path(dest, partial(shutil.copyfile, path))
        written.append(dest)
    return written
