"""instructor-harness: reproduce, compare and stress instruction-conditioned text embeddings.

Python API (imports the heavy libraries only when called; see `harness.app.api` and `harness.app.mteb`):
    harness.evaluate(model, tasks, instructions=..., mode=..., protocol=..., data_dir=...) -> list[TaskScore]
    harness.load_results(paths) -> pandas.DataFrame
    harness.mteb_model(model, instructions=..., mode=...) -> an mteb model for mteb.evaluate(...)
    harness.mteb_task(name, data_dir=..., limit=...) -> an mteb task with its data loaded (offline from data_dir)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from harness.app.api import TaskScore

from harness.core.version import __version__

__all__ = ["__version__", "evaluate", "load_results", "mteb_model", "mteb_task"]


def evaluate(model: Any = "minilm", tasks: list[str] | None = None, **settings: Any) -> list[TaskScore]:
    """`harness.app.api.evaluate`: run a model (a name, a SentenceTransformer or any object with `encode`) on
    tasks, as `harness run` does."""
    from harness.app.api import evaluate as run

    return run(model, tasks, **settings)


def load_results(paths: Any, labels: list[str] | None = None) -> pd.DataFrame:
    """`harness.app.api.load_results`: result folders or published rows as a DataFrame, one row per (run, task)."""
    from harness.app.api import load_results as load

    return load(paths, labels)


def mteb_model(model: Any = "minilm", **settings: Any) -> Any:
    """`harness.app.mteb.mteb_model`: the model (a name, a SentenceTransformer or any object with `encode`), with
    its instructions for every MTEB task, as an mteb model."""
    from harness.app.mteb import mteb_model as build

    return build(model, **settings)


def mteb_task(name: str, data_dir: Any = None, limit: int | None = None) -> Any:
    """`harness.app.mteb.mteb_task`: a registry task as an mteb task with its data loaded, for mteb.evaluate."""
    from harness.app.mteb import mteb_task as build

    return build(name, data_dir, limit)
