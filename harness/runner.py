"""`harness run`: plan, pre-flight the data, load the model once, evaluate each task with its benchmark's
evaluator, write one result per task, resume what is done."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.instructions import Library, sha256
from harness.portable import TaskData
from harness.prompt_retrieval import PromptSettings
from harness.protocols import SEED, configure
from harness.registry import TaskSpec
from harness.results import Unit, is_done, package_versions, read_record, record_path, write_record, write_task_result


@dataclass
class RunOptions:
    unit: Unit
    output: Path
    data_dir: Path | None = None
    batch_size: int = 32
    overwrite: bool = False
    dry_run: bool = False
    log: Callable[..., None] = print
    prompt: PromptSettings = field(default_factory=PromptSettings)

    def folder(self, spec: TaskSpec) -> Path:
        """Where a task's results go; prompt-retrieval results depend on the LM and demonstrations too."""
        base = self.unit.folder(self.output)
        return base / self.prompt.folder_name(spec) if spec.benchmark == "prompt-retrieval" else base


@dataclass
class Outcome:
    task: str
    status: str  # done | resumed | planned
    score: float | None = None
    metric: str = ""
    seconds: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What every task's evaluation needs; the model is loaded on first use."""

    library: Library
    opts: RunOptions
    encoder_factory: Callable[[], Any]
    mteb_keys: dict[str, tuple[str, str | None]]
    _encoder: Any = None
    _mteb_model: Any = None
    _lm: Any = None

    @property
    def lm(self) -> Any:
        if self._lm is None:
            from harness.lm import CausalLM

            p = self.opts.prompt
            if not p.lm:
                raise HarnessError("prompt retrieval needs a language model: pass --lm")
            self._lm = CausalLM(p.lm, device=p.lm_device, precision=p.lm_precision, batch_size=p.lm_batch_size)
        return self._lm

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            self._encoder = self.encoder_factory()
        return self._encoder

    @property
    def mteb_model(self) -> Any:
        if self._mteb_model is None:
            from harness.mteb_adapter import InstructedEncoder

            self._mteb_model = InstructedEncoder(self.encoder, self.library, self.opts.unit.variant, self.mteb_keys)
        return self._mteb_model


# ---------------------------------------------------------------------------------------------- MTEB
def mteb_parts(spec: TaskSpec) -> list[tuple[str, TaskSpec]]:
    """(mteb task name, data spec) per part: the 12 CQADupstack forums, else the task itself."""
    if not spec.subtasks:
        return [(spec.source.mteb_task, spec)]  # type: ignore[union-attr]
    return [(sub, spec.model_copy(update={"name": sub, "subtasks": None})) for sub in spec.subtasks]


def data_folder(spec: TaskSpec, part: TaskSpec, root: Path) -> Path:
    """DIR/mteb/<Task>/, or DIR/mteb/<Task>/<subtask>/ for a task with subtasks."""
    base = root / "mteb" / spec.name
    return base if part is spec else base / part.name


def load_part(spec: TaskSpec, part: TaskSpec, root: Path | None) -> tuple[Any, dict[str, Any]]:
    """The mteb task object with its data, and where that data came from."""
    import mteb

    task = mteb.get_task(part.source.mteb_task if part is spec else part.name)  # type: ignore[union-attr]
    if part.name != task.metadata.name:  # the smoke suite evaluates its own tasks with a real task's class
        task.metadata = task.metadata.model_copy(update={"name": part.name})
    task.hf_subsets = list(spec.subsets)
    if root is None:
        try:
            task.load_data()
        except Exception as exc:
            raise HarnessError(
                f"task {part.name}: could not load {task.metadata.dataset.get('path')} @ "
                f"{task.metadata.dataset.get('revision')} from the hub ({type(exc).__name__}: {str(exc)[:200]}). "
                "Offline, pass --data-dir DIR with the portable layout (see `harness data mirror`)."
            ) from None
        return task, {"source": "hub", **{k: task.metadata.dataset.get(k) for k in ("path", "revision")}}
    data = TaskData(part, root, folder=data_folder(spec, part, root))
    task.dataset, task.data_loaded = data.to_mteb(), True
    return task, {"source": "data-dir", "folder": str(data.folder), "sha256": data.checksum()}


def evaluate_mteb(spec: TaskSpec, ctx: Context) -> tuple[float, dict[str, Any]]:
    from mteb.results import TaskResult

    opts, model = ctx.opts, ctx.mteb_model
    scores, sources, settings = [], {}, {}
    parts = [part.name for _, part in mteb_parts(spec)]
    for _, part in mteb_parts(spec):
        task, sources[part.name] = load_part(spec, part, opts.data_dir)
        settings = configure(task, spec, opts.unit.protocol)
        if "instruction_token_limit" in settings:
            model.token_limits[part.name] = settings["instruction_token_limit"]
        start = time.perf_counter()
        per_subset = task.evaluate(
            model, spec.split, encode_kwargs={"batch_size": opts.batch_size, "show_progress_bar": False}
        )
        result = TaskResult.from_task_results(task, {spec.split: per_subset}, time.perf_counter() - start)
        write_task_result(opts.folder(spec), result)
        scores.append(sum(s[spec.main_metric] for s in per_subset.values()) / len(per_subset))
        task.unload_data()
    return sum(scores) / len(scores), {
        "part_scores": dict(zip(parts, scores, strict=True)) if spec.subtasks else None,
        "instructions": {t: _sides(sides) for t, sides in model.used.items() if t in parts},
        "data": sources,
        "protocol": settings,
    }


# ---------------------------------------------------------------------------------------------- Billboard
def billboard_data(spec: TaskSpec, root: Path | None) -> tuple[Any, dict[str, Any]]:
    from harness.billboard import load
    from harness.sources import task_files

    files = task_files(spec, root)
    digest = sha256("".join(sha256(p.read_text(encoding="utf-8")) for p in files.values()))
    return load(files["hypotheses"], files["references"]), {
        "source": "data-dir" if root else "repository",
        "files": {k: str(p) for k, p in files.items()},
        "sha256": digest,
        "repository": getattr(spec.source, "repository", None),
        "commit": getattr(spec.source, "commit", None),
    }


def _write_scores(folder: Path, spec: TaskSpec, scores: dict[str, Any], revision: str, seconds: float) -> None:
    """A non-MTEB task's scores in mteb's TaskResult format, so every result file reads the same way."""
    import mteb
    from mteb.results import TaskResult

    result = TaskResult(
        dataset_revision=revision,
        task_name=spec.name,
        mteb_version=mteb.__version__,
        scores={spec.split: [{**scores, "hf_subset": "default", "languages": ["eng-Latn"]}]},
        evaluation_time=seconds,
    )
    write_task_result(folder, result)


def evaluate_billboard(spec: TaskSpec, ctx: Context) -> tuple[float, dict[str, Any]]:
    from harness.billboard import correlations, max_reference_cosine

    data, source = billboard_data(spec, ctx.opts.data_dir)
    instruction = ctx.library.get(spec.name, ctx.opts.unit.variant).query  # same on both sides
    start = time.perf_counter()
    scores = correlations(
        data,
        max_reference_cosine(data, lambda texts: ctx.encoder.encode(texts, instruction=instruction, role="document")),
    )
    _write_scores(ctx.opts.folder(spec), spec, scores, source["commit"], time.perf_counter() - start)
    return scores["main_score"], {
        "instructions": {spec.name: _sides({"query": instruction, "document": instruction})},
        "data": source,
        "protocol": {"protocol": "billboard (paper appendix B.3)"},
        "scores": scores,
    }


# ---------------------------------------------------------------------------------------------- prompt retrieval
def evaluate_prompt_retrieval(spec: TaskSpec, ctx: Context) -> tuple[float, dict[str, Any]]:
    from harness.prompt_retrieval import evaluate

    opts = ctx.opts
    instruction = ctx.library.get(spec.name, opts.unit.variant).query  # pool and test inputs alike
    records = opts.folder(spec) / f"{spec.name}.examples.jsonl"
    start = time.perf_counter()
    scores = evaluate(
        spec,
        opts.data_dir,
        lambda texts: ctx.encoder.encode(texts, instruction=instruction),
        ctx.lm,
        opts.prompt,
        records,
        opts.log,
    )
    _write_scores(opts.folder(spec), spec, scores, getattr(spec.source, "commit", "hub"), time.perf_counter() - start)
    reference_lm = spec.protocol.get("reference_lm")
    deviation = (
        f"the reference used {reference_lm}; this run used {opts.prompt.lm}" if reference_lm != opts.prompt.lm else None
    )
    return scores["main_score"], {
        "instructions": {spec.name: _sides({"query": instruction, "document": instruction})},
        "data": scores.pop("data"),
        "protocol": {
            "protocol": "prompt retrieval (paper appendix B.2)",
            "demonstrations": opts.prompt.demos,
            "seed": spec.protocol["seed"],
            "pool_size": scores["n_pool"],
            "test_size": scores["n_test"],
            "lm": ctx.lm.identity(),
            "lm_precision": opts.prompt.lm_precision,
            "deviation": deviation,
        },
        "scores": scores,
        "examples": str(records),
    }


EVALUATORS: dict[str, Callable[[TaskSpec, Context], tuple[float, dict[str, Any]]]] = {
    "mteb": evaluate_mteb,
    "billboard": evaluate_billboard,
    "prompt-retrieval": evaluate_prompt_retrieval,
}


def preflight(specs: list[TaskSpec], root: Path | None, opts: RunOptions) -> None:
    """Read and validate every task's data (local, or fetched) before any model is loaded."""
    for spec in specs:
        if spec.benchmark not in EVALUATORS:
            raise HarnessError(f"task {spec.name}: {spec.benchmark} tasks cannot be run yet")
        if spec.benchmark == "billboard":
            billboard_data(spec, root)
        elif spec.benchmark == "prompt-retrieval":
            from harness.prompt_retrieval import check_data

            check_data(spec, root)
            if not opts.prompt.lm:
                raise HarnessError(
                    f"task {spec.name}: prompt retrieval needs a language model: pass --lm "
                    "(a hub id or local folder of a causal LM; the paper used EleutherAI/gpt-j-6B)"
                )
        elif root is not None:
            for _, part in mteb_parts(spec):
                TaskData(part, root, folder=data_folder(spec, part, root))


# ---------------------------------------------------------------------------------------------- the run
def run_tasks(
    specs: list[TaskSpec], encoder_factory: Callable[[], Any], library: Library, opts: RunOptions
) -> list[Outcome]:
    todo = [s for s in specs if opts.overwrite or not is_done(opts.folder(s), s.name)]
    outcomes = {s.name: _resumed(opts.folder(s), s.name) for s in specs if s not in todo}
    for o in outcomes.values():
        opts.log(f"resume: {o.task} already done ({o.metric} {100 * (o.score or 0):.2f}), skipped")
    if opts.dry_run:
        for s in todo:
            ins = library.get(s.name, opts.unit.variant, s.subtasks[0] if s.subtasks else None)
            opts.log(
                f"plan: {s.name} [{s.category}] query={ins.query!r} document={ins.document!r} -> "
                f"{record_path(opts.folder(s), s.name)}"
            )
        return [*outcomes.values(), *(Outcome(s.name, "planned") for s in todo)]
    preflight(todo, opts.data_dir, opts)
    keys = {
        part.name: (s.name, part.name if s.subtasks else None)
        for s in todo
        if s.benchmark == "mteb"
        for _, part in mteb_parts(s)
    }
    ctx = Context(library, opts, encoder_factory, keys)
    started = time.perf_counter()
    for n, spec in enumerate(todo, 1):
        opts.log(f"[{n}/{len(todo)}] {spec.name} ({spec.category}) ...")
        t0 = time.perf_counter()
        main, details = EVALUATORS[spec.benchmark](spec, ctx)
        seconds = time.perf_counter() - t0
        record = _write_record(opts.folder(spec), spec, main, details, ctx, seconds)
        outcomes[spec.name] = Outcome(spec.name, "done", main, spec.main_metric, seconds, record)
        enc, elapsed = ctx.encoder, time.perf_counter() - started
        opts.log(
            f"[{n}/{len(todo)}] {spec.name}: {spec.main_metric} {100 * main:.2f} in {seconds:.1f}s;"
            f" {enc.texts_encoded} texts encoded so far ({enc.texts_encoded / max(enc.seconds_encoding, 1e-9):.0f}/s);"
            f" ETA {elapsed / n * (len(todo) - n):.0f}s"
        )
    return [outcomes[s.name] for s in specs]


def _resumed(folder: Path, task: str) -> Outcome:
    record = read_record(record_path(folder, task))
    return Outcome(task, "resumed", record["main_score"], record["main_metric"], record=record)


def _sides(sides: dict[str, str]) -> dict[str, dict[str, str]]:
    return {side: {"text": text, "sha256": sha256(text)} for side, text in sides.items()}


def _write_record(
    folder: Path, spec: TaskSpec, main: float, details: dict[str, Any], ctx: Context, seconds: float
) -> dict[str, Any]:
    record = {
        "harness_version": __version__,
        "run": ctx.opts.unit.name,
        "unit": {**vars(ctx.opts.unit), "task": spec.name, "split": spec.split},
        "task": spec.model_dump(),
        "main_metric": spec.main_metric,
        "main_score": main,
        **details,
        "model": ctx.encoder.metadata(),
        "packages": package_versions(),
        "seed": SEED,
        "device": str(ctx.encoder.model.device),
        "timing": {"seconds": seconds},
    }
    write_record(folder, spec.name, record)
    return record
