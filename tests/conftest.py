"""Shared fixtures: where the real data lives (../shared beside the checkout) and skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HARNESS_SHARED", ROOT.parent / "shared"))
FACTS = SHARED / "reference" / "instructor-paper-facts.md"
DATA = SHARED / "data"


def need(path: Path) -> Path:
    """Skip (with the reason) when a piece of the shared data is absent, as in a fresh clone elsewhere."""
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data beside the checkout; present in CI)")
    return path


@pytest.fixture(scope="session")
def facts_text() -> str:
    return need(FACTS).read_text(encoding="utf-8")
