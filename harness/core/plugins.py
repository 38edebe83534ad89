"""The lazy table of benchmarks. A benchmark is a package `harness/benchmarks/<name>/` (its name with `_` for `-`)
exposing `BENCHMARK`; it is found by its folder and imported on first use, so listing or validating tasks never
imports mteb or a language model stack (as lm-evaluation-harness's lazy registries). Imports nothing of the
harness but its errors, so the spec loader and the plug-in contract can both stand on it."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from harness.core.errors import unknown

PACKAGE = "harness.benchmarks"  # whose sub-packages are the benchmarks


def benchmark_names() -> list[str]:
    """Every benchmark, from the packages under `harness/benchmarks/`, none of them imported."""
    found = importlib.util.find_spec(PACKAGE)
    folders = [Path(p) for p in (found.submodule_search_locations or [])] if found else []
    return sorted(d.name.replace("_", "-") for f in folders for d in f.iterdir() if (d / "__init__.py").is_file())


def plugin(name: str) -> ModuleType:
    """The package of benchmark `name`, imported now; an unknown name gets a "did you mean"."""
    if name not in benchmark_names():
        raise unknown("benchmark", name, benchmark_names())
    return importlib.import_module(f"{PACKAGE}.{name.replace('-', '_')}")
