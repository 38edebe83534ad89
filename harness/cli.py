"""The `harness` command line. Every verb is a thin layer over a module of the package."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def _tasks_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", help="mteb, billboard or prompt-retrieval")
    p.add_argument("--category", help="e.g. STS, Retrieval, Billboard, PromptRetrieval")
    p.add_argument("--format", choices=["table", "json"], default="table")


@command("tasks", "list the registry's tasks (70: 56 MTEB, 3 Billboard, 11 prompt retrieval)", _tasks_args)
def _tasks(args: argparse.Namespace) -> int:
    from harness.catalog import task_record
    from harness.registry import registry

    specs = registry().select(benchmark=args.benchmark, category=args.category)
    if args.format == "json":
        print(json.dumps([task_record(s) for s in specs], indent=1, ensure_ascii=False))
    else:
        rows = [(s.name, s.benchmark, s.category, s.main_metric, s.split) for s in specs]
        _table(("task", "benchmark", "category", "main metric", "split"), rows)
        print(f"{len(specs)} tasks")
    return 0


def _instructions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task")
    p.add_argument("--family", help="one variant only, e.g. instructor-xl, paraphrase:2, level:tag")


@command("instructions", "print every instruction of one task (families, paraphrases, levels)", _instructions_args)
def _instructions(args: argparse.Namespace) -> int:
    from harness.instructions import library, variants

    lib = library()
    chosen = [args.family] if args.family else variants()
    for key in lib.keys(args.task):
        sub = key if lib.tasks.get(args.task).subtasks else None
        for variant in chosen:
            ins = lib.get(args.task, variant, sub)
            label = f"{key} [{variant}]"
            if ins.query == ins.document:
                print(f"{label}: {ins.query!r}")
            else:
                print(f"{label}: query={ins.query!r} document={ins.document!r}")
            if ins.note:
                print(f"    note: {ins.note}")
    return 0


@command("validate", "check every task and instruction file; exit 1 listing the problems", lambda p: None)
def _validate(args: argparse.Namespace) -> int:
    from harness.instructions import library
    from harness.registry import EXPECTED_COUNTS, registry

    problems: list[str] = []
    try:
        reg = registry()
        counts = {c: sum(s.category == c for s in reg.tasks.values()) for c in EXPECTED_COUNTS}
        problems += [
            f"category {c}: {counts[c]} tasks, the paper has {n}" for c, n in EXPECTED_COUNTS.items() if counts[c] != n
        ]
        problems += library().problems()
    except HarnessError as exc:
        problems.append(str(exc))
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems else "ok: 70 tasks, every instruction variant present")
    return 1 if problems else 0


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="minilm", help="hub id, local folder, or 'minilm' (packaged, offline)")
    p.add_argument("--revision", help="hub revision (commit) to load")
    p.add_argument(
        "--mode",
        choices=["masked", "prefix", "none"],
        help="instruction mode (default: masked for INSTRUCTOR checkpoints, none otherwise)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--max-length", type=int, help="max tokens of instruction + text (default: the model's)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")


def make_encoder(args: argparse.Namespace):  # noqa: ANN201 - lazy import keeps --help fast
    from harness.cache import EmbeddingCache
    from harness.encoders import Encoder, default_mode

    return Encoder(
        args.model,
        mode=args.mode or default_mode(args.model),
        revision=args.revision,
        device=args.device,
        precision=args.precision,
        max_length=args.max_length,
        cache=None if args.no_cache else EmbeddingCache(),
        batch_size=args.batch_size,
        progress=sys.stderr.isatty(),
    )


def _embed_args(p: argparse.ArgumentParser) -> None:
    _model_args(p)
    p.add_argument("--instruction", default="", help="instruction string, used verbatim")
    p.add_argument("--role", choices=["query", "document"], default="query")
    p.add_argument("--input", required=True, help='JSON Lines, one {"text": ...} per line')
    p.add_argument("--output", required=True, help=".npy file: one float32 row per input line, in order")


@command("embed", "encode a JSON Lines file of texts into a .npy matrix", _embed_args)
def _embed(args: argparse.Namespace) -> int:

    import numpy as np

    from harness.io import read_texts, write_atomic

    texts = read_texts(Path(args.input))
    encoder = make_encoder(args)
    vectors = encoder.encode(texts, instruction=args.instruction, role=args.role)
    write_atomic(Path(args.output), lambda fh: np.save(fh, vectors), mode="wb")
    print(
        f"{len(texts)} texts -> {args.output} {vectors.shape} float32; encoded {encoder.texts_encoded}, "
        f"{len(set(texts)) - encoder.texts_encoded} from cache"
    )
    return 0


def _run_args(p: argparse.ArgumentParser) -> None:
    _model_args(p)
    sel = p.add_argument_group("what to run (none given: the packaged smoke suite, offline)")
    sel.add_argument("--tasks", help="comma-separated task names")
    sel.add_argument("--category", help="all tasks of a category, e.g. STS")
    sel.add_argument("--benchmark", help="mteb, billboard or prompt-retrieval")
    p.add_argument(
        "--instructions",
        help="variant: instructor-large|base|xl, none, paraphrase:K, level:L "
        "(default: the checkpoint's family for INSTRUCTOR models, none otherwise)",
    )
    p.add_argument(
        "--protocol",
        choices=["paper", "mteb"],
        default="paper",
        help="paper: the 2022 protocol behind the published numbers; mteb: installed mteb as is",
    )
    p.add_argument("--data-dir", help="root of the portable layout: DIR/mteb/<Task>/, DIR/billboard/<set>/, ...")
    p.add_argument("--output-dir", default="results/runs", help="where result files go (default results/runs)")
    p.add_argument("--overwrite", action="store_true", help="re-run tasks that already have results")
    p.add_argument("--dry-run", action="store_true", help="print the plan (tasks, instructions, paths) only")
    from harness.prompt_retrieval import CONDITIONS

    pr = p.add_argument_group("prompt retrieval")
    pr.add_argument("--lm", help="causal LM that uses the demonstrations (hub id or local folder)")
    pr.add_argument("--lm-device", help="device of the LM (default: cuda if available)")
    pr.add_argument("--lm-precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    pr.add_argument("--lm-batch-size", type=int, default=8)
    pr.add_argument(
        "--demos",
        choices=list(CONDITIONS),
        default="similar",
        help="retrieved demonstrations (the paper), random ones within the same budget, or none",
    )
    pr.add_argument("--test-size", type=int, help="test examples (default: the task's, 256)")


@command("run", "evaluate a model on tasks with an instruction variant; resumable", _run_args)
def _run(args: argparse.Namespace) -> int:
    from harness.encoders import default_mode, resolve_model
    from harness.instructions import FAMILIES, Library, library
    from harness.paths import data_dir, smoke_dir
    from harness.prompt_retrieval import PromptSettings
    from harness.registry import Registry, registry
    from harness.results import Unit
    from harness.runner import RunOptions, run_tasks

    smoke = not (args.tasks or args.category or args.benchmark)
    reg = Registry(smoke_dir() / "tasks") if smoke else registry()
    lib = Library(data_dir("instructions"), reg) if smoke else library()
    names = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    specs = reg.select(names=names, benchmark=args.benchmark, category=args.category)
    if not specs:
        raise HarnessError("no task matches the selection")
    family = next((f for f in FAMILIES if f in args.model.lower()), None)
    variant = args.instructions or family or "none"
    lib.get(specs[0].name, variant, specs[0].subtasks[0] if specs[0].subtasks else None)  # unknown variant fails now
    mode = args.mode or default_mode(args.model)
    if variant != "none" and mode == "none":
        print(f"note: instructions {variant!r} with mode 'none' are ignored by the model; use --mode prefix or masked")
    try:
        revision = args.revision or resolve_model(args.model, args.revision)[1]
    except HarnessError:
        if not args.dry_run:
            raise
        revision = "unresolved"  # a plan can still be shown; its paths name no revision
    unit = Unit(args.model, revision, variant, mode, args.protocol)
    data_root = Path(args.data_dir) if args.data_dir else (smoke_dir() / "data" if smoke else None)
    prompt = PromptSettings(args.lm, args.lm_device, args.lm_precision, args.lm_batch_size, args.demos, args.test_size)
    opts = RunOptions(
        unit, Path(args.output_dir), data_root, args.batch_size, args.overwrite, args.dry_run, prompt=prompt
    )
    print(
        f"run {unit.name}: {len(specs)} task(s){' (smoke suite: tiny hand-made tasks, not a benchmark)' if smoke else ''}"
    )
    outcomes = run_tasks(specs, lambda: make_encoder(args), lib, opts)
    by_name = {s.name: s for s in specs}
    _table(
        ("task", "category", "metric", "score", "status"),
        [
            (o.task, by_name[o.task].category, o.metric, "" if o.score is None else f"{100 * o.score:.2f}", o.status)
            for o in outcomes
        ],
    )
    if not args.dry_run:
        print(f"results: {sorted({str(opts.folder(s)) for s in specs})}")
    return 0


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["mirror"], help="mirror: write the task data where --data-dir reads it")
    p.add_argument("--tasks", required=True, help="comma-separated task names")
    p.add_argument("--out", required=True, help="the folder to pass as --data-dir later (DIR/mteb/<Task>/..., ...)")


@command("data", "mirror task data (pinned revisions and commits) for offline runs with --data-dir", _data_args)
def _data(args: argparse.Namespace) -> int:

    from harness.mirror import mirror, mirror_files, mirror_hf
    from harness.registry import FilesSource, MtebSource, registry
    from harness.runner import load_part, mteb_parts

    out = Path(args.out)
    for name in [t.strip() for t in args.tasks.split(",") if t.strip()]:
        spec = registry().get(name)
        if isinstance(spec.source, MtebSource):
            files = mirror(spec, [(part, load_part(spec, part, None)[0]) for _, part in mteb_parts(spec)], out)
        elif isinstance(spec.source, FilesSource):
            files = mirror_files(spec, out)
        else:
            files = mirror_hf(spec, out)
        print(f"{name}: {len(files)} file(s) under {os.path.commonpath([str(f.parent) for f in files])}")
    return 0


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "runs",
        nargs="+",
        metavar="RUN",
        help="result folders (harness or mteb files, any era) or published reference names (e.g. instructor-large)",
    )
    p.add_argument("--baseline", help="a published reference name or a result folder, shown first with gains")
    p.add_argument("--format", choices=["md", "csv", "latex", "html", "json"], default="md")
    p.add_argument("--output", help="write here instead of standard output")


@command("report", "paper-style tables (Table 2 layout, per task, gains vs a baseline) from results", _report_args)
def _report(args: argparse.Namespace) -> int:

    from harness.registry import registry
    from harness.report import aggregate, load_runs, report

    reg = registry()
    runs = load_runs(args.runs, reg)
    baseline = load_runs([args.baseline], reg)[0] if args.baseline else None
    figures = None
    if args.format == "html":
        from harness.figures import category_bars

        figures = [category_bars([(r.label, aggregate(r, reg)) for r in ([baseline] if baseline else []) + runs])]
    text = report(runs, reg, baseline, args.format, figures)
    return _emit(text, args.output)


def _robustness_args(p: argparse.ArgumentParser) -> None:
    _model_args(p)
    p.add_argument("--models", help="more models, comma-separated, run side by side with --model")
    p.add_argument("--tasks", required=True, help="comma-separated task names")
    p.add_argument("--variants", choices=["paraphrases", "levels"], default="paraphrases")
    p.add_argument(
        "--sides",
        choices=["query", "both"],
        default="query",
        help="paraphrase the query side only of retrieval/reranking (default; the corpus is embedded "
        "once) or both sides",
    )
    p.add_argument("--protocol", choices=["paper", "mteb"], default="paper")
    p.add_argument("--data-dir", help="root of the portable layout")
    p.add_argument("--output-dir", default="results/runs")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--format", choices=["md", "json", "html"], default="md")
    p.add_argument("--output", help="write the table here; with --figure, the PNG of the ranges too")
    p.add_argument("--figure", help="write the robustness-range figure (PNG) here")


@command(
    "robustness",
    "run every paraphrase or detail level of each task's instruction; mean, std, "
    "best-minus-worst per task and category",
    _robustness_args,
)
def _robustness(args: argparse.Namespace) -> int:
    import copy
    import functools

    from harness.encoders import default_mode, resolve_model
    from harness.instructions import library
    from harness.registry import registry
    from harness.results import Unit
    from harness.robustness import render, study, variant_names, write_figure
    from harness.runner import RunOptions

    specs = registry().select(names=[t.strip() for t in args.tasks.split(",") if t.strip()])
    models = [args.model, *([m.strip() for m in args.models.split(",")] if args.models else [])]
    base = RunOptions(
        Unit("", "", "", "", args.protocol),
        Path(args.output_dir),
        Path(args.data_dir) if args.data_dir else None,
        args.batch_size,
        args.overwrite,
    )
    studies = []
    for model in models:
        margs = copy.copy(args)
        margs.model, margs.revision = model, args.revision if model == args.model else None
        mode = args.mode or default_mode(model)
        studies.append(
            study(
                model,
                specs,
                variant_names(args.variants, args.sides),
                functools.partial(make_encoder, margs),
                library(),
                base,
                resolve_model(model, margs.revision)[1],
                mode,
            )
        )
    text = render(studies, specs, args.format)
    if args.figure:
        write_figure(studies, Path(args.figure))
    return _emit(text, args.output)


def _cache_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clear", action="store_true", help="delete the cache file")


@command("cache", "report the embedding cache's size (entries, bytes), or clear it", _cache_args)
def _cache(args: argparse.Namespace) -> int:
    from harness.cache import EmbeddingCache, default_path

    path = default_path()
    if args.clear:
        for f in path.parent.glob(path.name + "*"):
            f.unlink()
        print(f"cleared {path}")
        return 0
    count, size = EmbeddingCache(path).stats()
    print(f"{path}: {count} embeddings, {size / 1e6:.1f} MB")
    return 0


def _emit(text: str, output: str | None) -> int:
    """Print a command's text, or write it atomically to `output`."""
    if output:
        from harness.io import write_atomic

        write_atomic(Path(output), lambda fh: fh.write(text))
        print(f"wrote {output}")
    else:
        print(text)
    return 0


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate instruction-conditioned text embeddings on the INSTRUCTOR paper's 70 tasks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, configure, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(handler=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    # API-rename and deprecation notices of the libraries underneath are for their developers, not for a
    # researcher reading a run's progress; the library-level tests still see them.
    for module in ("mteb", "sentence_transformers", "transformers", "datasets"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
