"""The benchmark table: the one place that maps a task file's `benchmark:` to the code that runs it.

Entries are "module:attribute" strings imported on first use, so listing or validating tasks never imports
mteb or a language model stack (as lm-evaluation-harness's lazy registries).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from harness.core.errors import unknown

if TYPE_CHECKING:
    from harness.benchmarks.base import Benchmark

TABLE: dict[str, str] = {
    "mteb": "harness.benchmarks.mteb:BENCHMARK",
    "billboard": "harness.benchmarks.billboard:BENCHMARK",
    "prompt-retrieval": "harness.benchmarks.prompt_retrieval:BENCHMARK",
}


def names() -> list[str]:
    return list(TABLE)


def get(name: str) -> Benchmark:
    if name not in TABLE:
        raise unknown("benchmark", name, TABLE)
    module, _, attribute = TABLE[name].partition(":")
    benchmark: Benchmark = getattr(importlib.import_module(module), attribute)
    return benchmark
