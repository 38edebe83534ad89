"""`harness robustness`: every paraphrase or detail level of each task's instruction, per model."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import (
    command,
    emit,
    existing_folder,
    make_encoder,
    model_args,
    protocol_arg,
    request,
    task_names,
)


def variant_kinds(text: str) -> list[str]:
    """An argparse type: comma-separated kinds of variant."""
    from harness.reports.robustness import KINDS

    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(KINDS)}, comma-separated; got {text!r}")
    return kinds


def _robustness_args(p: argparse.ArgumentParser) -> None:
    model_args(p)
    p.add_argument("--models", help="more models, comma-separated, run side by side with --model")
    p.add_argument("--tasks", required=True, type=task_names, help="comma-separated task names")
    p.add_argument(
        "--variants",
        type=variant_kinds,
        default=["paraphrases"],
        help="comma-separated, each a study of its own: paraphrases (hand-written rewordings), frames (the same "
        "words reframed) or levels (the paper's detail levels)",
    )
    p.add_argument(
        "--sides",
        choices=["query", "both"],
        default="query",
        help="paraphrase the query side only of retrieval/reranking (default; the corpus is embedded "
        "once) or both sides",
    )
    protocol_arg(p)
    p.add_argument("--data-dir", type=existing_folder, help="root of the portable layout")
    p.add_argument("--output-dir", default="results")
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

    from harness.benchmarks.mteb.protocols import resolve
    from harness.core.instructions import library
    from harness.core.results import Unit
    from harness.core.runner import RunOptions
    from harness.core.spec import registry
    from harness.models.resolve import default_mode, resolve_model
    from harness.reports.robustness import render, study, variant_names, write_figure

    specs = registry().select(names=args.tasks)
    models = [args.model, *([m.strip() for m in args.models.split(",")] if args.models else [])]
    base = RunOptions(
        Unit("", "", "", "", resolve(args.protocol)),
        Path(args.output_dir),
        args.data_dir,
        args.batch_size,
        args.overwrite,
        model_settings=request(args).model_settings,
    )
    studies = []
    for model in models:
        margs = copy.copy(args)
        margs.model, margs.revision = model, args.revision if model == args.model else None
        mode = args.mode or default_mode(model)
        encoder = functools.cache(functools.partial(make_encoder, margs))  # one load for every kind of variant
        revision = resolve_model(model, margs.revision)[1]
        for kind in args.variants:
            variants = variant_names(kind, args.sides)
            studies.append(study(model, specs, variants, encoder, library(), base, revision, mode, kind))
    text = render(studies, specs, args.format)
    if args.figure:
        write_figure(studies, Path(args.figure))
    return emit(text, args.output)
