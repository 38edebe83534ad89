"""The layers of `harness/`, checked on every import statement (TYPE_CHECKING and function-level ones included):

    cli  ->  app  ->  models, benchmarks, reports  ->  core

A module imports only its own layer or those below; `models`, `benchmarks` and `reports` do not import each
other; and the import graph of `harness/` has no circle. An import that runs back up (core reaching into a
benchmark, a benchmark into the model code) or a new circle fails here, naming the file and the import."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "harness"
RANK = {"core": 0, "models": 1, "benchmarks": 1, "reports": 1, "app": 2, "cli": 3}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every harness module `path` imports (`from harness.x import y` is harness.x.y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("harness"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub) else str(node.module))
    return found - {"harness"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        here = _layer(module)
        for target in targets:
            there = _layer(target)
            if here is None or there is None or there == here:
                continue
            if RANK[there] >= RANK[here]:  # above, or a sibling of the same rank (models <-> benchmarks, ...)
                wrong.append(f"{module} imports {target} ({here} may import only layers below it)")
    return sorted(wrong)


def test_no_module_imports_a_layer_above_or_beside_it() -> None:
    wrong = _violations(GRAPH)
    assert not wrong, "\n".join(wrong)


def test_the_import_graph_has_no_circle() -> None:
    modules = {m: {t for t in ts if t in GRAPH and t != m} for m, ts in GRAPH.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(m: str, path: list[str]) -> list[str] | None:
        state[m] = 1
        for t in sorted(modules[m]):
            if state.get(t) == 1:
                return [*path[path.index(t) :], t] if t in path else [m, t]
            if t not in state and (circle := visit(t, [*path, t])):
                return circle
        state[m] = 2
        return None

    for m in sorted(modules):
        if m not in state and (circle := visit(m, [m])):
            raise AssertionError("import circle: " + " -> ".join(circle))


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an import of the app from core is found (a checker that finds nothing passes all)."""
    probe = tmp_path / "probe.py"
    probe.write_text("from harness.app.runner import run_tasks\nfrom harness import benchmarks\n")
    assert _imports(probe) == {"harness.app.runner", "harness.benchmarks"}
    assert _violations({"harness.core.probe": _imports(probe)}) == [
        "harness.core.probe imports harness.app.runner (core may import only layers below it)",
        "harness.core.probe imports harness.benchmarks (core may import only layers below it)",
    ]


# What names a benchmark from outside its package, and why: `harness.mteb_model` / `harness.mteb_task` are the
# mteb-facing API by definition, composed in the top layer because they need the encoder the app builds. MTEB's
# protocol is MTEB's own setting (`benchmarks/mteb/settings.py`), so no generic layer names it.
NAMED_OUTSIDE = {
    ("harness.app.mteb", "harness.benchmarks.mteb.data"),
    ("harness.app.mteb", "harness.benchmarks.mteb.adapter"),
    ("harness.app.mteb", "harness.benchmarks.mteb.settings"),
    ("harness.app.mteb", "harness.benchmarks.mteb.spec"),
}


def test_a_benchmark_is_imported_by_name_only_from_its_own_package() -> None:
    """Benchmarks are found by folder (`core.plugins`); their settings and flags are members of `Benchmark`
    (`flags`, `settings`). A new `from harness.benchmarks.<name> import ...` elsewhere fails here."""
    found = set()
    for module, targets in GRAPH.items():
        for target in targets:
            parts = target.split(".")
            if len(parts) > 2 and parts[1] == "benchmarks" and not module.startswith(".".join(parts[:3])):
                found.add((module, target))
    assert found == NAMED_OUTSIDE, sorted(found ^ NAMED_OUTSIDE)


def test_the_cli_starts_without_the_heavy_libraries() -> None:
    """`harness --help` and `harness tasks` took 1.2 s because the parser imported every evaluator, and
    `core/items.py` scipy at module level (perf/cli_startup.py). In a fresh interpreter neither command may import
    numpy, scipy, torch or the libraries above them: a module-level import of one of them in any module the CLI
    reaches fails here, naming it."""
    import subprocess
    import sys

    from perf.cli_startup import HEAVY, PROBE

    for argv in (["--help"], ["tasks"]):
        code = PROBE.format(argv=argv, heavy=HEAVY)
        done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "none", f"harness {' '.join(argv)} imports {done.stdout.strip()}"
