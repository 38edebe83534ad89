"""`harness data mirror` for the tasks that are not MTEB's, and the download behind it: published files fetched
once at the pinned commit and copied from the cache, Hugging Face prompt-retrieval splits written as JSON Lines;
either way `--data-dir` then reads what a hub run would load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.benchmarks.prompt_retrieval.tasks import ADAPTERS
from harness.cli import main
from harness.core.errors import HarnessError
from harness.core.paths import cache_root
from harness.core.sources import FilesSource, task_files
from harness.core.spec import registry


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "cache"


def test_files_task_is_copied_from_the_cache(offline_cache: Path, tmp_path: Path) -> None:
    spec = registry().get("PromptRetrievalGeoQuery")
    source = spec.source
    assert isinstance(source, FilesSource)
    cached = cache_root() / "files" / source.repository / source.commit / source.path
    cached.mkdir(parents=True)
    for n, name in enumerate(source.files.values()):  # stand-ins for the downloaded files
        (cached / name).write_bytes(f"file {n}\n".encode())
    out = tmp_path / "mirror"
    assert main(["data", "mirror", "--tasks", spec.name, "--out", str(out)]) == 0
    local = task_files(spec, spec.source, out)  # what --data-dir reads
    assert {p.name for p in local.values()} == set(source.files.values())
    for path in local.values():
        assert path.read_bytes() == (cached / path.name).read_bytes()


def test_files_task_offline_without_a_cache_names_the_fix(
    offline_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "mirror", "--tasks", "BillboardMSCOCO", "--out", str(tmp_path / "m")]) == 4  # data
    assert "not cached and this run is offline; pass --data-dir" in capsys.readouterr().err


def test_hf_prompt_task_splits_round_trip(
    offline_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import datasets

    rows = {
        "train": [{"sentence1": f"premise {i}", "sentence2": f"claim {i}", "label": i % 2, "idx": i} for i in range(9)],
        "validation": [{"sentence1": f"p {i}", "sentence2": f"c {i}", "label": 1 - i % 2, "idx": i} for i in range(5)],
    }
    asked: list[tuple[Any, ...]] = []

    def hub(name: str, config: str | None = None, *, split: str, revision: str | None = None) -> Any:
        asked.append((name, config, split, revision))
        return datasets.Dataset.from_list(rows[split])

    monkeypatch.setattr(datasets, "load_dataset", hub)
    spec = registry().get("PromptRetrievalRTE")
    out = tmp_path / "mirror"
    assert main(["data", "mirror", "--tasks", spec.name, "--out", str(out)]) == 0
    assert asked == [("glue", "rte", "train", None), ("glue", "rte", "validation", None)]
    assert "2 file(s) under" in capsys.readouterr().out
    written = [json.loads(line) for line in (out / "prompt_retrieval/rte/validation.jsonl").read_text().splitlines()]
    assert written == rows["validation"]
    spec = spec.model_copy(update={"protocol": spec.protocol.model_copy(update={"test_size": 3})})
    from_hub, from_mirror = ADAPTERS[spec.name].load(spec, None), ADAPTERS[spec.name].load(spec, out)
    assert from_mirror.pool == from_hub.pool and from_mirror.tests == from_hub.tests and len(from_hub.tests) == 3


def test_files_download_once_at_the_pinned_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real download path, served from a local folder laid out as repository/commit/path/file."""
    import harness.core.sources

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(
        harness.core.sources, "RAW", f"file://{tmp_path}/remote/{{repository}}/{{commit}}/{{path}}/{{file}}"
    )
    spec = registry().get("BillboardMSCOCO")
    source = spec.source
    assert isinstance(source, FilesSource)
    remote = tmp_path / "remote" / source.repository / source.commit / source.path
    remote.mkdir(parents=True)
    for name in source.files.values():
        (remote / name).write_text(f"published {name}\n")
    first = task_files(spec, spec.source, None)
    assert all(p.read_text() == f"published {p.name}\n" and cache_root() in p.parents for p in first.values())
    for name in source.files.values():  # gone upstream: the cached copies serve
        (remote / name).unlink()
    assert task_files(spec, spec.source, None) == first
    other = registry().get("BillboardCNNDM")
    with pytest.raises(HarnessError, match="could not download file://.*pass --data-dir"):
        task_files(other, other.source, None)
