"""Shared fixtures: where the real data lives (../shared beside the checkout) and skips when it is absent; the
tiny LM and run options of the prompt-retrieval tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.benchmarks.prompt_retrieval import PromptSettings
from harness.core.context import RunOptions
from harness.core.results import Unit
from harness.models.lm import LocalModels
from tests.tiny_models import tiny_gpt2

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HARNESS_SHARED", ROOT.parent / "shared"))
FACTS = SHARED / "reference" / "instructor-paper-facts.md"
DATA = SHARED / "data"


@pytest.fixture(autouse=True)
def _own_include_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without include paths and leaves none: `main(["--include-path", ...])` exports
    HARNESS_INCLUDE_PATH for launched workers, which would otherwise put one test's task files in every later test."""
    monkeypatch.delenv("HARNESS_INCLUDE_PATH", raising=False)


def need(path: Path) -> Path:
    """Skip (with the reason) when a piece of the shared data is absent, as in a fresh clone elsewhere."""
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data beside the checkout; present in CI)")
    return path


@pytest.fixture(scope="session")
def facts_text() -> str:
    return need(FACTS).read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def lm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gpt2(tmp_path_factory.mktemp("lm"))


def prompt_options(
    root: Path, tmp_path: Path, lm_path: Path, variant: str = "none", mode: str = "none", **prompt: Any
) -> RunOptions:
    """Run options for a prompt-retrieval test: the tiny LM on CPU, results under tmp_path/out."""
    return RunOptions(
        Unit("minilm", "test", variant, mode),
        tmp_path / "out",
        root,
        log=lambda *_: None,
        settings={"prompt-retrieval": PromptSettings(lm=str(lm_path), lm_device="cpu", **prompt)},
        models=LocalModels(),
    )


class HubCache:
    """A Hugging Face hub cache laid out as `huggingface_hub` writes it: each file's bytes once under
    `datasets--org--name/blobs/<hash>`, and `snapshots/<revision>/<path>` a relative symlink to its blob; read by
    the harness's real hub code under HF_HUB_OFFLINE=1: the hub path under test without a network."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def dataset(self, repo: str, revision: str, files: dict[str, str | bytes]) -> Path:
        import hashlib

        repo_dir = self.root / f"datasets--{repo.replace('/', '--')}"
        snap = repo_dir / "snapshots" / revision
        for name, body in files.items():
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            path = snap / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            path.symlink_to(os.path.relpath(blob, path.parent))
        return snap

    @staticmethod
    def replace(snap: Path, name: str, body: str | bytes) -> None:
        """Give a snapshot file other bytes, as a repaired (re-downloaded) or damaged blob would have."""
        import hashlib

        data = body if isinstance(body, bytes) else body.encode("utf-8")
        path = snap / name
        blob = path.resolve().parent / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        path.unlink()
        path.symlink_to(os.path.relpath(blob, path.parent))


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubCache:
    import huggingface_hub.constants

    root = tmp_path / "hub"
    root.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "harness-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))  # read at import, in this process
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return HubCache(root)


def finished(folder: Path, task: str, score: float, **record: Any) -> Path:
    """A finished task as a run files it (`harness.core.results`): its mteb result file (one per part) and its run
    record in `records/`, giving one score, as `results.result_problem` requires before anything is resumed or
    reported. `score` on the 0-1 scale; `record` adds or replaces fields of the run record."""
    from harness.core.io import write_json
    from harness.core.results import record_path
    from harness.core.spec import every_task

    spec = every_task().tasks[task]
    for part in spec.subtasks or [task]:
        rows = [{"hf_subset": subset, spec.main_metric: score} for subset in spec.subsets]
        write_json(folder / f"{part}.json", {"task_name": part, "scores": {spec.split: rows}})
    body = {
        "unit": {"task": task, "split": spec.split},
        "task": spec.model_dump(mode="json"),
        "main_metric": spec.main_metric,
        "main_score": score,
        "part_scores": dict.fromkeys(spec.subtasks, score) if spec.subtasks else None,
        **record,
    }
    write_json(record_path(folder, task), body)
    return folder
