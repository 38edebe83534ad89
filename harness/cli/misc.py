"""`harness tasks`, `instructions`, `validate`, `embed`, `cache`: the registry, instructions and cache at a glance."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.common import command, make_encoder, model_args, table
from harness.core.errors import HarnessError, SpecError


def _tasks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", help="mteb, billboard or prompt-retrieval")
    p.add_argument("--category", help="e.g. STS, Retrieval, Billboard, PromptRetrieval")
    p.add_argument("--format", choices=["table", "json"], default="table")


@command("tasks", "list the registry's tasks (70: 56 MTEB, 3 Billboard, 11 prompt retrieval)", _tasks_args)
def _tasks(args: argparse.Namespace) -> int:
    from harness.app.api import default_options
    from harness.core.benchmark import get_benchmark
    from harness.core.instructions import library
    from harness.core.paths import smoke_dir
    from harness.core.spec import Registry, registry

    specs = registry().select(benchmark=args.benchmark, category=args.category)
    opts = default_options()

    def metric(spec: Any) -> str:  # the name the default settings report it under, as a run's table does
        return get_benchmark(spec.benchmark).metric(spec, opts)

    if args.format == "json":
        print(json.dumps([{**library().record(s), "metric": metric(s)} for s in specs], indent=1, ensure_ascii=False))
    else:
        header = ("task", "benchmark", "category", "main metric", "split")
        table(header, [(s.name, s.benchmark, s.category, metric(s), s.split) for s in specs])
        print(f"{len(specs)} tasks; main metric as the default settings report it (--protocol mteb: mteb's own)")
        if not (args.benchmark or args.category):
            smoke = Registry(smoke_dir() / "tasks").tasks.values()
            print(
                "\nsmoke suite (what `harness run` runs when no task is named: tiny hand-made tasks in "
                "harness/smoke/, not a benchmark):"
            )
            table(header, [(s.name, s.benchmark, s.category, metric(s), s.split) for s in smoke])
    return 0


def _instructions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task")
    p.add_argument("--family", help="one variant only, e.g. instructor-xl, paraphrase:2, level:tag")


@command("instructions", "print every instruction of one task (families, paraphrases, levels)", _instructions_args)
def _instructions(args: argparse.Namespace) -> int:
    from harness.core.instructions import library, variants

    lib = library()
    chosen = [args.family] if args.family else variants(lib)
    keys = lib.keys(args.task)  # an unknown task fails here, with a "did you mean"
    shipped = lib.tasks.shipped(args.task)
    for key in keys:
        sub = key if lib.tasks.get(args.task).subtasks else None
        for variant in chosen:
            label = f"{key} [{variant}]"
            try:
                ins = lib.get(args.task, variant, sub)
            except SpecError:
                if shipped or args.family:
                    raise
                continue  # your own task needs only the families you give it (`harness validate` checks one)
            if ins.query == ins.document:
                print(f"{label}: {ins.query!r}")
            else:
                print(f"{label}: query={ins.query!r} document={ins.document!r}")
            if ins.note:
                print(f"    note: {ins.note}")
    return 0


def _validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="also read and check your own tasks' data (include paths) in this folder, as `run --data-dir` would",
    )


@command(
    "validate",
    "check every task and instruction file (and your tasks' data); exit 3 listing the problems",
    _validate_args,
)
def _validate(args: argparse.Namespace) -> int:
    from harness.core.instructions import library
    from harness.core.spec import EXPECTED_COUNTS, registry

    problems: list[str] = []
    own: list[str] = []
    try:
        reg = registry()
        counts = {c: sum(s.category == c and reg.shipped(s.name) for s in reg.tasks.values()) for c in EXPECTED_COUNTS}
        problems += [
            f"category {c}: {counts[c]} tasks, the paper has {n}" for c, n in EXPECTED_COUNTS.items() if counts[c] != n
        ]
        problems += library().problems()
        own = [n for n in reg.tasks if not reg.shipped(n)]
        if own and args.data_dir:
            problems += _own_data_problems(own, Path(args.data_dir))
    except HarnessError as exc:
        problems.append(str(exc))
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    yours = f" and {len(own)} of yours ({', '.join(own)})" if own else ""
    data = "" if not own or args.data_dir else "; add --data-dir DIR to check your tasks' data too"
    print(f"{len(problems)} problem(s)" if problems else f"ok: 70 tasks{yours}, every instruction present{data}")
    return SpecError.exit_code if problems else 0  # 3: a malformed task or instruction file (exit codes: docs)


def _own_data_problems(names: list[str], data: Path) -> list[str]:
    """Each of your tasks' data read and checked as a run reads it (`Benchmark.check_data`), without a model."""
    from harness.app.api import RunRequest, prepare
    from harness.core.benchmark import get_benchmark

    prepared = prepare(RunRequest(tasks=names, data_dir=data, dry_run=True))
    found = []
    for spec in prepared.specs:
        try:
            get_benchmark(spec.benchmark).check_data(spec, prepared.options)
        except HarnessError as exc:
            found.append(f"{spec.name}: {str(exc).removeprefix(f'task {spec.name}: ')}")
    return found


def _embed_args(p: argparse.ArgumentParser) -> None:
    model_args(p)
    p.add_argument("--instruction", default="", help="instruction string, used verbatim")
    p.add_argument("--input", required=True, help='JSON Lines, one {"text": ...} per line')
    p.add_argument("--output", required=True, help=".npy file: one float32 row per input line, in order")


@command("embed", "encode a JSON Lines file of texts into a .npy matrix", _embed_args)
def _embed(args: argparse.Namespace) -> int:

    import numpy as np

    from harness.app.api import check_mode
    from harness.core.io import read_texts, write_atomic
    from harness.models.resolve import default_mode

    check_mode(bool(args.instruction), args.mode or default_mode(args.model))
    texts = read_texts(Path(args.input))
    encoder = make_encoder(args)
    vectors = encoder.encode(texts, instruction=args.instruction)
    write_atomic(Path(args.output), lambda fh: np.save(fh, vectors), mode="wb")
    print(
        f"{len(texts)} texts -> {args.output} {vectors.shape} float32; encoded {encoder.telemetry.texts_encoded}, "
        f"{len(set(texts)) - encoder.telemetry.texts_encoded} from cache"
    )
    return 0


def _cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--clear",
        action="store_true",
        help="delete everything the harness derived into its cache (embeddings, rows read from hub revisions, "
        "model digests, downloaded files, an earlier version's ONNX exports), naming each",
    )
    p.add_argument("--compact", action="store_true", help="merge the shard store's segments into few files")


@command("cache", "report the embedding cache's size (entries, bytes), compact or clear it", _cache_args)
def _cache(args: argparse.Namespace) -> int:
    import shutil

    from harness.models.stores import ShardStore, open_store, shards_path

    if args.clear:
        from harness.core.paths import CACHE_ENTRIES, cache_path

        cleared = 0
        for entry, what in CACHE_ENTRIES.items():
            found = sorted(cache_path(entry).parent.glob(entry + "*"))  # the SQLite store's -wal and -shm too
            size = sum(f.stat().st_size for p in found for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
            for path in found:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            if found:
                cleared += 1
                print(f"cleared {cache_path(entry)}: {what} ({size / 1e6:.1f} MB)")
        print(f"{cleared} cache entr{'y' if cleared == 1 else 'ies'} cleared under {cache_path('digests').parent}")
        return 0
    if args.compact:
        merged = ShardStore(shards_path()).compact()
        print(f"{shards_path()}: {merged} segment(s) merged")
        return 0
    store = open_store()
    count, size = store.stats()
    print(f"{store.location}: {count} embeddings, {size / 1e6:.1f} MB")
    return 0
