"""The 56 MTEB tasks, evaluated by mteb's own task classes and evaluators.

Data: the hub at the revision pinned in the task file (passed to mteb), or `--data-dir` in the portable layout
(`portable.py`). The protocol (`protocols.py`) changes mteb's task objects at the smallest points; the encoder
reaches mteb through `adapter.InstructedEncoder`, which picks each text's instruction by task and side.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from harness.benchmarks.base import Evaluation
from harness.benchmarks.mteb.spec import MtebTaskSpec
from harness.core.errors import DataError
from harness.core.fingerprint import files_identity
from harness.core.results import instruction_record, write_task_result
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.core.runner import Context, RunOptions


def mteb_parts(spec: MtebTaskSpec) -> list[tuple[str, MtebTaskSpec]]:
    """(mteb task name, data spec) per part: the 12 CQADupstack forums, else the task itself."""
    if not spec.subtasks:
        return [(spec.source.mteb_task, spec)]
    return [(sub, spec.model_copy(update={"name": sub, "subtasks": None})) for sub in spec.subtasks]


def data_folder(spec: MtebTaskSpec, part: MtebTaskSpec, root: Path) -> Path:
    """DIR/mteb/<Task>/, or DIR/mteb/<Task>/<subtask>/ for a task with subtasks."""
    base = root / "mteb" / spec.name
    return base if part is spec else base / part.name


def load_part(spec: MtebTaskSpec, part: MtebTaskSpec, root: Path | None) -> tuple[Any, dict[str, Any]]:
    """The mteb task object with its data, and where that data came from."""
    import mteb

    from harness.benchmarks.mteb.portable import TaskData

    task = mteb.get_task(part.source.mteb_task if part is spec else part.name)
    if part.name != task.metadata.name:  # the smoke suite evaluates its own tasks with a real task's class
        task.metadata = task.metadata.model_copy(update={"name": part.name})
    task.hf_subsets = list(spec.subsets)
    if root is not None:
        data = TaskData(part, root, folder=data_folder(spec, part, root))
        task.dataset, task.data_loaded = data.to_mteb(), True
        return task, {"source": "data-dir", "folder": str(data.folder), "sha256": data.checksum()}
    pin = spec.source.pin(part.name if spec.subtasks else None)
    dataset = {**task.metadata.dataset, "path": pin.hf_dataset, "revision": pin.revision}  # the task file's pin
    task.metadata = task.metadata.model_copy(update={"dataset": dataset})
    try:
        task.load_data()
    except Exception as exc:
        raise DataError(
            f"task {part.name}: could not load {pin.hf_dataset} @ {pin.revision} from the hub "
            f"({type(exc).__name__}: {str(exc)[:200]}). "
            "Offline, pass --data-dir DIR with the portable layout (see `harness data mirror`)."
        ) from None
    source: dict[str, Any] = {"source": "hub", "path": pin.hf_dataset, "revision": pin.revision}
    paper = spec.source.paper_revision
    if paper and not pin.revision.startswith(paper):
        source["paper_data"] = {"path": spec.source.paper_hf_dataset, "revision": paper, "differs": True}
    return task, source


class MtebBenchmark:
    name = "mteb"
    spec_type: type[TaskSpec] = MtebTaskSpec

    def preflight(self, spec: TaskSpec, opts: RunOptions) -> None:
        from harness.benchmarks.mteb.portable import TaskData

        spec = cast(MtebTaskSpec, spec)
        if opts.data_dir is not None:
            for _, part in mteb_parts(spec):
                TaskData(part, opts.data_dir, folder=data_folder(spec, part, opts.data_dir))

    def evaluate(self, spec: TaskSpec, ctx: Context) -> Evaluation:
        from mteb.results import TaskResult

        from harness.benchmarks.mteb.adapter import InstructedEncoder
        from harness.benchmarks.mteb.protocols import SEED, configure

        spec = cast(MtebTaskSpec, spec)
        opts, parts = ctx.opts, mteb_parts(spec)
        keys = {part.name: (spec.name, part.name if spec.subtasks else None) for _, part in parts}
        model = InstructedEncoder(ctx.encoder, ctx.library, opts.unit.variant, keys)
        scores, sources, settings = [], {}, {}
        for _, part in parts:
            task, sources[part.name] = load_part(spec, part, opts.data_dir)
            if sources[part.name].get("paper_data"):
                opts.log(
                    f"note: {part.name}: the paper evaluated {sources[part.name]['paper_data']}; this run loads "
                    f"{sources[part.name]['path']} @ {sources[part.name]['revision']}"
                )
            settings = configure(task, spec, opts.unit.protocol)
            if "instruction_token_limit" in settings:
                model.token_limits[part.name] = settings["instruction_token_limit"]
            start = time.perf_counter()
            per_subset = task.evaluate(
                model, spec.split, encode_kwargs={"batch_size": opts.batch_size, "show_progress_bar": False}
            )
            result = TaskResult.from_task_results(task, {spec.split: per_subset}, time.perf_counter() - start)
            write_task_result(self.result_folder(spec, opts), result)
            scores.append(sum(s[spec.main_metric] for s in per_subset.values()) / len(per_subset))
            task.unload_data()
        names = [part.name for _, part in parts]
        return Evaluation(
            sum(scores) / len(scores),
            {
                "part_scores": dict(zip(names, scores, strict=True)) if spec.subtasks else None,
                "instructions": {t: instruction_record(sides) for t, sides in model.used.items() if t in names},
                "data": sources,
                "protocol": settings,
                "seed": SEED,
            },
        )

    def data_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        spec = cast(MtebTaskSpec, spec)
        if opts.data_dir is None:
            return {
                p.name: spec.source.pin(p.name if spec.subtasks else None).model_dump() for _, p in mteb_parts(spec)
            }
        folder = opts.data_dir / "mteb" / spec.name
        if not folder.is_dir():
            raise DataError(
                f"task {spec.name}: no data folder {folder} (expected the portable layout DIR/mteb/{spec.name}/; "
                "see harness/benchmarks/mteb/portable.py or `harness data mirror`)"
            )
        return files_identity((p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCE.md"), folder)

    def settings_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        return {}

    def mirror(self, spec: TaskSpec, out: Path) -> list[Path]:
        from harness.benchmarks.mteb.mirror import mirror

        spec = cast(MtebTaskSpec, spec)
        return mirror(spec, [(part, load_part(spec, part, None)[0]) for _, part in mteb_parts(spec)], out)

    def result_folder(self, spec: TaskSpec, opts: RunOptions) -> Path:
        return opts.unit.folder(opts.output)


BENCHMARK = MtebBenchmark()
