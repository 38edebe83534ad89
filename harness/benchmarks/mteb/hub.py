"""A pinned dataset revision's own files, from the Hugging Face hub through `huggingface_hub` (which reads its cache
without a network under `HF_HUB_OFFLINE=1`), parsed with today's libraries and never by running remote code.

Two kinds of revision (`MtebSource.paper_loader`):
- script-free: data files that `datasets` resolves by itself (parquet, JSON Lines, with or without README configs).
  They are loaded from the local snapshot folder, `datasets.load_dataset(folder, subset)`, the same builder and
  split inference as `load_dataset(repo, revision=...)` online, minus the network.
- `loader: script`: a 2022 revision whose subsets only its loading script defined. `datasets` 4 and later never
  run a script, nor does the harness: the script's data files (`ScriptLoader.files`) are read here as the script
  read them, one JSON object per line yielded as it stands, in file order, and their row counts checked against
  the task file's.
A `.py` file is never downloaded (`allow_patterns`) and never imported: a snapshot may hold one.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.errors import DataError

if TYPE_CHECKING:
    from harness.benchmarks.mteb.spec import DatasetPin, ScriptLoader

DATA_PATTERNS = ["*.parquet", "*.jsonl", "*.jsonl.gz", "*.json", "*.json.gz", "*.csv", "*.tsv", "*.arrow", "*.md"]


def snapshot(task: str, pin: DatasetPin, patterns: list[str]) -> Path:
    """The revision's files matching `patterns`, downloaded once into the hub cache (or found there offline)."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(pin.hf_dataset, repo_type="dataset", revision=pin.revision, allow_patterns=patterns)
    except Exception as exc:
        raise DataError(
            f"task {task}: could not get {pin.hf_dataset} @ {pin.revision} from the hub or its cache "
            f"({type(exc).__name__}: {str(exc)[:200]}). Offline, mirror it where the hub is reachable "
            "(`harness data mirror --protocol ...`) and pass --data-dir, or copy that machine's hub cache"
        ) from None
    return Path(folder)


def load_script_free(task: str, pin: DatasetPin, subset: str) -> Any:
    """`load_dataset` on the revision's local snapshot: what the hub call loads, without the network."""
    from datasets import load_dataset

    folder = snapshot(task, pin, DATA_PATTERNS)
    try:
        return load_dataset(str(folder), None if subset == "default" else subset)
    except Exception as exc:
        raise DataError(
            f"task {task}: {pin.hf_dataset} @ {pin.revision} (subset {subset}) did not load from {folder} "
            f"({type(exc).__name__}: {str(exc)[:200]}); if this revision needs a loading script, give its task "
            "file a `paper_loader` (see tasks/mteb/AmazonCounterfactualClassification.yaml)"
        ) from None


def load_scripted(task: str, pin: DatasetPin, loader: ScriptLoader, subset: str, splits: list[str]) -> dict:
    """{split: {column: [values]}} read from the files the revision's script read, in their order."""
    paths = {split: loader.files.format(subset=subset, split=split) for split in splits}
    folder = snapshot(task, pin, [f"{p}*" for p in paths.values()])  # `*`: the plain or the gzipped file
    out: dict[str, dict[str, list[Any]]] = {}
    for split, name in paths.items():
        found = [folder / n for n in (name, f"{name}.gz") if (folder / n).is_file()]
        if not found:
            raise DataError(
                f"task {task}: {pin.hf_dataset} @ {pin.revision} has no {name} (read by its script "
                f"{loader.script}); correct `paper_loader.files` in its task file"
            )
        rows = _json_lines(found[0])
        expected = (loader.rows or {}).get(subset, {}).get(split)
        if expected is not None and len(rows) != expected:
            raise DataError(
                f"task {task}: {found[0].name} of {pin.hf_dataset} @ {pin.revision} has {len(rows)} rows, its "
                f"task file {expected} ({subset}/{split}); these are not the files the paper read: check "
                "`paper_loader` in the task file"
            )
        columns = list(dict.fromkeys(k for r in rows for k in r))
        out[split] = {c: [r.get(c) for r in rows] for c in columns}
    return out


def _json_lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
