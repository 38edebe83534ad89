"""`harness run`: evaluate a model on tasks with an instruction variant (resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import (
    check_mode,
    command,
    device,
    existing_folder,
    make_encoder,
    model_args,
    model_settings,
    positive_int,
    table,
    task_names,
)
from harness.core.errors import HarnessError, UsageError


def _run_args(p: argparse.ArgumentParser) -> None:
    model_args(p)
    sel = p.add_argument_group("what to run (none given: the packaged smoke suite, offline)")
    sel.add_argument("--tasks", type=task_names, help="comma-separated task names")
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
    p.add_argument(
        "--data-dir",
        type=existing_folder,
        help="root of the portable layout: DIR/mteb/<Task>/, DIR/billboard/<set>/, ...",
    )
    p.add_argument("--output-dir", default="results/runs", help="where result files go (default results/runs)")
    p.add_argument("--overwrite", action="store_true", help="re-run tasks that already have results")
    p.add_argument("--dry-run", action="store_true", help="print the plan (tasks, instructions, paths) only")
    from harness.benchmarks.prompt_retrieval import CONDITIONS

    pr = p.add_argument_group("prompt retrieval")
    pr.add_argument("--lm", help="causal LM that uses the demonstrations (hub id or local folder)")
    pr.add_argument("--lm-device", type=device, help="device of the LM (default: cuda if available)")
    pr.add_argument("--lm-precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    pr.add_argument("--lm-batch-size", type=positive_int, default=8)
    pr.add_argument(
        "--demos",
        choices=list(CONDITIONS),
        default="similar",
        help="retrieved demonstrations (the paper), random ones within the same budget, or none",
    )
    pr.add_argument("--test-size", type=positive_int, help="test examples (default: the task's, 256)")


@command("run", "evaluate a model on tasks with an instruction variant; resumable", _run_args)
def _run(args: argparse.Namespace) -> int:
    from harness.benchmarks.prompt_retrieval import BENCHMARK as PROMPT_RETRIEVAL
    from harness.benchmarks.prompt_retrieval import PromptSettings
    from harness.core.instructions import FAMILIES, Library, library
    from harness.core.paths import data_dir, smoke_dir
    from harness.core.results import Unit
    from harness.core.runner import RunOptions, run_tasks
    from harness.core.spec import Registry, registry
    from harness.models.resolve import default_mode, resolve_model

    smoke = not (args.tasks or args.category or args.benchmark)
    reg = Registry(smoke_dir() / "tasks") if smoke else registry()
    lib = Library(data_dir("instructions"), reg) if smoke else library()
    names = args.tasks
    specs = reg.select(names=names, benchmark=args.benchmark, category=args.category)
    if not specs:
        raise UsageError("no task matches the selection")
    family = next((f for f in FAMILIES if f in args.model.lower()), None)
    variant = args.instructions or family or "none"
    lib.get(specs[0].name, variant, specs[0].subtasks[0] if specs[0].subtasks else None)  # unknown variant fails now
    mode = args.mode or default_mode(args.model)
    check_mode(variant != "none", mode, f"--instructions {variant}")
    try:
        revision = args.revision or resolve_model(args.model, args.revision)[1]
    except HarnessError:
        if not args.dry_run:
            raise
        revision = "unresolved"  # a plan can still be shown; its paths name no revision
    unit = Unit(args.model, revision, variant, mode, args.protocol)
    data_root = args.data_dir if args.data_dir else (smoke_dir() / "data" if smoke else None)
    prompt = PromptSettings(args.lm, args.lm_device, args.lm_precision, args.lm_batch_size, args.demos, args.test_size)
    opts = RunOptions(
        unit,
        Path(args.output_dir),
        data_root,
        args.batch_size,
        args.overwrite,
        args.dry_run,
        settings={PROMPT_RETRIEVAL.name: prompt},
        model_settings=model_settings(args),
    )
    print(
        f"run {unit.name}: {len(specs)} task(s){' (smoke suite: tiny hand-made tasks, not a benchmark)' if smoke else ''}"
    )
    outcomes = run_tasks(specs, lambda: make_encoder(args), lib, opts)
    by_name = {s.name: s for s in specs}
    table(
        ("task", "category", "metric", "score", "status"),
        [
            (o.task, by_name[o.task].category, o.metric, "" if o.score is None else f"{100 * o.score:.2f}", o.status)
            for o in outcomes
        ],
    )
    if not args.dry_run:
        for folder in sorted({str(opts.folder(s)) for s in specs}):
            print(f"results: {folder}")
    return 0
