"""`harness robustness`: every paraphrase or detail level of each task's instruction, per model."""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from harness.cli.common import (
    benchmark_args,
    command,
    emit,
    existing_folder,
    model_args,
    positive_int,
    request,
    tasks_option,
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
    tasks_option(p, required=True)
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
    p.add_argument("--data-dir", type=existing_folder, help="root of the portable layout")
    p.add_argument("--output-dir", default="results", help="where each variant's results go, as `run` files them")
    p.add_argument("--overwrite", action="store_true", help="re-run variants that already have results")
    p.add_argument("--limit", type=positive_int, help="at most N evaluation items per task, as in `run`")
    benchmark_args(p)
    p.add_argument("--format", choices=["md", "json", "html"], default="md", help="the table's format (default md)")
    p.add_argument("--output", help="write the table here; with --figure, the PNG of the ranges too")
    p.add_argument("--figure", help="write the robustness-range figure (PNG) here")


@command(
    "robustness",
    "run every paraphrase or detail level of each task's instruction; mean, std, "
    "best-minus-worst per task and category",
    _robustness_args,
)
def _robustness(args: argparse.Namespace) -> int:
    import dataclasses

    from harness.app.api import encoder_for, robustness_study
    from harness.core.spec import registry
    from harness.reports.robustness import render, variant_names, write_figure

    base = request(args)  # the same request `run` takes: its preparation and checks for every variant
    models = [args.model, *([m.strip() for m in args.models.split(",")] if args.models else [])]
    studies = []
    for model in models:
        one = dataclasses.replace(base, model=model, revision=args.revision if model == args.model else None)
        load = functools.cache(lambda one=one: encoder_for(one))  # one load for every kind of variant
        for kind in args.variants:
            studies.append(robustness_study(one, variant_names(kind, args.sides), kind, load))
    specs = registry().select(names=args.tasks)
    text = render(studies, specs, args.format)
    if args.figure:
        write_figure(studies, specs, Path(args.figure))
    return emit(text, args.output)
