"""A pinned dataset revision's own files, from the Hugging Face hub through `huggingface_hub` (which reads its cache
without a network under `HF_HUB_OFFLINE=1`), parsed with today's libraries and never by running remote code.

What a revision holds for a task comes from the public record, written into its task file (`spec.HubPin`: the
files, the page or commit that shows them): exactly those files are downloaded and must all be there, so a
missing or cut download is named by its file. A revision the record does not establish is refused in one line,
never read by a guess (`HubPin.refused`). Two kinds of revision:
- script-free: data files that `datasets` resolves by itself (parquet, JSON Lines, with or without README configs).
  They are loaded from the local snapshot folder, `datasets.load_dataset(folder, subset)`, the same builder and
  split inference as `load_dataset(repo, revision=...)` online, minus the network.
- a 2022 revision whose subsets only its loading script defined (`HubPin.script`): `datasets` 4 and later never run
  a script, nor does the harness; the script's files are read here as the script read them (`read_scripted`).
A `.py` file is never downloaded (only the listed files and the README are) and never imported.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.mteb.spec import place
from harness.core.errors import DataError
from harness.core.paths import cache_path

if TYPE_CHECKING:
    from harness.benchmarks.mteb.spec import HubPin

CARD = "README.md"  # the dataset card: its `configs` tell `datasets` (and mteb) which files form which split


def refused(task: str, pin: HubPin) -> DataError:
    """The one line for a revision the task file refuses (`HubPin.refused`) or names no files of."""
    why = pin.refused or "its task file names no files of it"
    return DataError(
        f"task {task}: {pin.label()} is not read from the hub: {why} (tasks/mteb/{task}.yaml). Pass --data-dir "
        "with a copy of the task's data in the portable layout"
    )


def snapshot(task: str, pin: HubPin) -> Path:
    """The pin's files (and its dataset card), downloaded once into the hub cache or found there offline, each one
    checked to be there."""
    from huggingface_hub import snapshot_download

    if pin.files is None or pin.refused:
        raise refused(task, pin)
    try:
        folder = Path(
            snapshot_download(
                pin.hf_dataset, repo_type="dataset", revision=pin.revision, allow_patterns=[*pin.files.values(), CARD]
            )
        )
    except Exception as exc:
        raise DataError(
            f"task {task}: could not get {pin.label()} from the hub or its cache "
            f"({type(exc).__name__}: {str(exc)[:200]}). Offline, mirror it where the hub is reachable "
            "(`harness data mirror --protocol ...`) and pass --data-dir, or copy that machine's hub cache"
        ) from None
    for part, name in pin.files.items():
        if not any(p.is_file() for p in folder.glob(name)):
            raise DataError(
                f"task {task}: the hub cache holds {pin.label()} without {folder / name} ({part}; the record: "
                f"{pin.evidence}): the download was cut short or the cache was pruned. Run once with the hub "
                "reachable (the file is fetched again), or copy it from a machine that has it"
            )
    return folder


def files_of(pin: HubPin, folder: Path) -> list[Path]:
    """The snapshot's files a task reads, and its dataset card where it has one."""
    assert pin.files is not None  # `snapshot` refused a pin without files
    found = {p for name in [*pin.files.values(), CARD] for p in folder.glob(name) if p.is_file()}
    return sorted(found)


def view(pin: HubPin, folder: Path) -> Path:
    """The snapshot's files, linked into a folder named by what they are: each file's blob (huggingface_hub names
    a blob by its content's hash), size and modification time. `datasets` (and so mteb) keeps what it read from a
    local folder under the folder's path and files' names: after a blob is repaired (re-downloaded) under the same
    snapshot path, `datasets` 5.2 served the old rows from its cache (measured). Read from here, other bytes are
    another folder, never a cached copy of the old ones."""
    files = files_of(pin, folder)
    state = [(str(p.relative_to(folder)), p.resolve().name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]
    target = cache_path("hub-views") / f"{pin.hf_dataset.replace('/', '__')}@{pin.revision}" / key
    if not target.is_dir():
        draft = target.with_name(f".{key}.{os.getpid()}.partial")
        shutil.rmtree(draft, ignore_errors=True)
        for path in files:
            link = draft / path.relative_to(folder)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
        try:
            os.replace(draft, target)
        except OSError:  # another process made the same view first
            shutil.rmtree(draft, ignore_errors=True)
    return target


def load_script_free(task: str, pin: HubPin, subset: str, folder: Path) -> Any:
    """`load_dataset` on the revision's local snapshot: what the hub call loads, without the network."""
    from datasets import load_dataset

    try:
        return load_dataset(str(folder), None if subset == "default" else subset)
    except Exception as exc:
        names = ", ".join(str(p.relative_to(folder)) for p in files_of(pin, folder) if p.name != CARD)
        raise DataError(
            f"task {task}: {pin.label()} (subset {subset}) did not load from its files {names} in {folder} "
            f"({type(exc).__name__}: {str(exc)[:200]}): a file is damaged (delete it from the hub cache and fetch "
            "it again) or not what the record shows"
        ) from None


def read_scripted(task: str, pin: HubPin, subset: str, splits: list[str], folder: Path) -> dict:
    """{split: {column: [values]}} read from the files the revision's script read, as it read them, in order."""
    assert pin.script is not None and pin.files is not None
    out: dict[str, dict[str, list[Any]]] = {}
    for split in splits:
        name = pin.files.get(place(subset, split))
        if name is None:
            raise DataError(
                f"task {task}: tasks/mteb/{task}.yaml names no file of {pin.label()} for {place(subset, split)}"
            )
        path = folder / name
        try:
            rows = _tsv(path, pin) if pin.script.format == "tsv" else _json_lines(path)
        except (OSError, ValueError, KeyError, csv.Error) as exc:  # KeyError: a column the script read is absent
            raise DataError(
                f"task {task}: {path} of {pin.label()} does not read as {pin.script.format} ({exc}): the file is "
                "damaged; delete it from the hub cache and fetch it again"
            ) from None
        columns = list(dict.fromkeys(k for r in rows for k in r))
        out[split] = {c: [r.get(c) for r in rows] for c in columns}
    return out


def _tsv(path: Path, pin: HubPin) -> list[dict[str, Any]]:
    """A header line, then tab-separated rows (`csv.DictReader`, default quoting), each mapped to the script's
    fields: `columns` (field -> column), `label` as an integer, `label_text` from the script's `label_names`."""
    assert pin.script is not None
    columns, names = pin.script.columns or {}, pin.script.label_names or {}
    rows = []
    with _open(path) as fh:
        for line in csv.DictReader(fh, delimiter="\t"):
            row = {field: line[column] for field, column in columns.items()}
            if "label" in row:
                row["label"] = int(row["label"])
                if names:
                    row["label_text"] = names[str(row["label"])]
            rows.append(row)
    return rows


def _json_lines(path: Path) -> list[dict[str, Any]]:
    with _open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _open(path: Path) -> Any:
    return (
        gzip.open(path, "rt", encoding="utf-8", newline="")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8", newline="")
    )
