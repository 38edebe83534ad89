"""The 56 MTEB tasks, under a protocol (`protocols.py`): the paper-era code's evaluators (`eras.py`) or mteb's own
(`protocols.evaluator_era` chooses, once).

Data (`data.py`): the hub at the revision the protocol loads (the paper-era pin under `instructor`/`mteb-2022`,
today's pin under `mteb`), or `--data-dir` in the portable layout (`portable.py`), every load checked against its
figures of record (`stats.py`). The encoder reaches both evaluators through `adapter.InstructedEncoder`, which picks
each text's instruction by task and side. Light to import: the evaluators and their libraries load in the methods
that use them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.mteb.data import (
    copy_notes,
    data_folder,
    dataset_pin,
    era_rows,
    hub_rows,
    load_part,
    mteb_parts,
    mteb_task,
)
from harness.benchmarks.mteb.protocols import era, evaluator_era
from harness.benchmarks.mteb.settings import FLAGS, MtebSettings, from_values
from harness.benchmarks.mteb.spec import ClusteringProtocol, MtebTaskSpec
from harness.core.benchmark import Evaluation
from harness.core.checks import DataCheck, Work
from harness.core.errors import DataError
from harness.core.fingerprint import files_identity
from harness.core.results import instruction_record, write_task_result
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.mteb.adapter import InstructedEncoder
    from harness.benchmarks.mteb.protocols import Era
    from harness.core.context import Context, RunOptions
    from harness.core.items import Items


SUMMARIZATION_BAR = "mteb._evaluators.text.summarization_evaluator"  # draws a bare tqdm bar, no switch of mteb's


def settings_of(opts: RunOptions) -> MtebSettings:
    """The run's MTEB settings (`settings.py`; the defaults where the run names none)."""
    found = opts.settings.get(BENCHMARK.name)
    return found if isinstance(found, MtebSettings) else MtebSettings()


def protocol_of(opts: RunOptions) -> str:
    return settings_of(opts).protocol


class MtebBenchmark:
    name = "mteb"
    spec_type: type[TaskSpec] = MtebTaskSpec
    encode_share = True
    flags = FLAGS

    def settings(self, values: Mapping[str, Any]) -> MtebSettings:
        return from_values(values)

    def check_data(self, spec: MtebTaskSpec, opts: RunOptions) -> DataCheck:
        return self._check(spec, opts, load_hub=True)

    def preflight(self, spec: MtebTaskSpec, opts: RunOptions) -> DataCheck:
        """As `check_data`, except that data mteb loads from the hub (`--protocol mteb`, retrieval) is only
        fetched here: loading a corpus of millions twice would double the run's longest wait."""
        return self._check(spec, opts, load_hub=False)

    @staticmethod
    def _check(spec: MtebTaskSpec, opts: RunOptions, load_hub: bool) -> DataCheck:
        from harness.benchmarks.mteb import hub
        from harness.benchmarks.mteb.portable import TaskData

        protocol, checks = protocol_of(opts), []
        for _, part in mteb_parts(spec):
            prefix = f"{part.name}:" if spec.subtasks else ""
            if opts.data_dir is not None:
                data = TaskData(part, opts.data_dir, folder=data_folder(spec, part, opts.data_dir))
                check = data.check(opts.unit.limit)
                check.notes += copy_notes(spec, part, protocol, data)
            elif evaluator_era(spec.category, protocol) is not None:  # checked once, kept in the cache
                check = era_rows(spec, part, None, protocol)[0].check(opts.unit.limit)
            elif load_hub:
                check = DataCheck(hub_rows(load_part(spec, part, None, protocol)[0]))
            else:
                hub.snapshot(part.name, dataset_pin(spec, part, protocol))
                check = DataCheck()
            checks.append(DataCheck({f"{prefix}{k}": n for k, n in check.rows.items()}, check.notes, check.work))
        work = [c.work for c in checks]
        return DataCheck(
            {k: n for c in checks for k, n in c.rows.items()},
            [n for c in checks for n in c.notes],
            None if None in work else sum((w for w in work if w), Work()),
        )

    def evaluate(self, spec: MtebTaskSpec, ctx: Context, folder: Path) -> Evaluation:
        from harness.benchmarks.mteb.adapter import InstructedEncoder
        from harness.core.items import Items

        opts, parts, protocol = ctx.opts, mteb_parts(spec), protocol_of(ctx.opts)
        the_era = evaluator_era(spec.category, protocol)
        keys = {part.name: (spec.name, part.name if spec.subtasks else None) for _, part in parts}
        model = InstructedEncoder(ctx.encoder, ctx.library, opts.unit.variant, keys)
        if the_era is not None and the_era.fork_quirks and isinstance(p := spec.protocol, ClusteringProtocol):
            model.token_limits.update({name: p.instructor_max_tokens_with_instruction for name in keys})
        scores, sources, metric = [], {}, None
        items: list[tuple[str, Items | None]] = []
        why = None
        for _, part in parts:
            start = time.perf_counter()
            part_items: Items | None
            if the_era is not None:
                per_subset, sources[part.name], part_items = self._evaluate_era(
                    the_era, spec, part, model, opts.data_dir, opts.unit.limit
                )
                main = [s["main_score"] for s in per_subset.values()]  # the paper's metric, set by the era evaluator
                metric = self.metric(spec, opts)
            else:
                per_subset, sources[part.name], part_items, why = self._evaluate_mteb(spec, part, model, opts)
                main = [s[spec.main_metric] for s in per_subset.values()]  # mteb's main score may be another
            items.append((part.name, part_items))
            read = sources[part.name].get("revision") or f"sha256-{sources[part.name]['sha256'][:16]}"
            result = _task_result(mteb_task(spec, part), {spec.split: per_subset}, time.perf_counter() - start, read)
            write_task_result(folder, result)
            scores.append(sum(main) / len(main))
        names = [part.name for _, part in parts]
        complete = all(i is not None for _, i in items)
        draws = [s["first_shuffle_draws"] for s in per_subset.values() if "first_shuffle_draws" in s]
        return Evaluation(
            sum(scores) / len(scores),
            {
                "part_scores": dict(zip(names, scores, strict=True)) if spec.subtasks else None,
                "instructions": {t: instruction_record(sides) for t, sides in model.used.items() if t in names},
                "data": sources,
                "protocol": _protocol_record(protocol, era(protocol), spec),
                # mteb 0.0.2's unseeded first shuffle: the spread a published 2022 figure was one draw of
                "first_shuffle_draws": draws[0] if len(draws) == 1 and len(parts) == 1 else None,
            },
            metric,
            Items.combine(items) if complete else None,  # type: ignore[arg-type]
            None if complete else why,
            None if the_era is not None else 5,  # mteb rounds some scores
        )

    @staticmethod
    def _evaluate_era(
        the_era: Era,
        spec: MtebTaskSpec,
        part: MtebTaskSpec,
        model: InstructedEncoder,
        root: Path | None,
        limit: int | None,
    ) -> tuple[dict[str, Any], dict[str, Any], Items]:
        from harness.benchmarks.mteb import eras
        from harness.benchmarks.mteb.adapter import TaskEmbedder
        from harness.core.items import Items

        data, source = era_rows(spec, part, root, the_era.name)
        if limit:
            data.limit(limit)
        embed = TaskEmbedder(model, part.name)
        both = {subset: eras.evaluate(the_era, part, rows, embed) for subset, rows in data.subsets.items()}
        per_subset = {subset: scores for subset, (scores, _) in both.items()}
        return per_subset, source, Items.combine([(subset, items) for subset, (_, items) in both.items()])

    @staticmethod
    def _evaluate_mteb(
        spec: MtebTaskSpec, part: MtebTaskSpec, model: InstructedEncoder, opts: RunOptions
    ) -> tuple[dict[str, Any], dict[str, Any], Items | None, str | None]:
        """mteb's evaluator, and per-item outputs from the predictions it writes (or why there are none)."""
        import tempfile

        from harness.benchmarks.mteb.predictions import items_from_predictions
        from harness.core.progress import bars_off

        task, source = load_part(spec, part, opts.data_dir, protocol_of(opts), opts.unit.limit)
        if source.get("paper_data"):
            opts.log(
                f"note: {part.name}: the paper evaluated {source['paper_data']}; this run loads "
                f"{source['path']} @ {source['revision']}"
            )
        encode_kwargs = {"batch_size": opts.batch_size, "show_progress_bar": False}
        with tempfile.TemporaryDirectory() as tmp, bars_off(SUMMARIZATION_BAR):
            per_subset = task.evaluate(model, spec.split, encode_kwargs=encode_kwargs, prediction_folder=Path(tmp))
            items, why = items_from_predictions(
                task, spec.category, Path(tmp) / task.prediction_file_name, spec.split, spec.main_metric, per_subset
            )
        task.unload_data()
        return dict(per_subset), source, items, why

    def data_identity(self, spec: MtebTaskSpec, opts: RunOptions) -> dict[str, Any]:
        if opts.data_dir is None:
            return {p.name: dataset_pin(spec, p, protocol_of(opts)).model_dump() for _, p in mteb_parts(spec)}
        folder = opts.data_dir / "mteb" / spec.name
        if not folder.is_dir():
            raise DataError(
                f"task {spec.name}: no data folder {folder} (expected the portable layout DIR/mteb/{spec.name}/; "
                "see harness/benchmarks/mteb/portable.py or `harness data mirror`)"
            )
        return files_identity((p for p in folder.rglob("*") if p.is_file() and p.name != "SOURCE.md"), folder)

    def settings_identity(self, spec: MtebTaskSpec, opts: RunOptions) -> dict[str, Any]:
        """Under an era protocol, the version of its evaluators (installed mteb's is in the package versions)."""
        from harness.benchmarks.mteb.eras import RULES

        return {"era_evaluators": RULES} if era(protocol_of(opts)) else {}

    def mirror(self, spec: MtebTaskSpec, out: Path, opts: RunOptions) -> list[Path]:
        from harness.benchmarks.mteb.mirror import copy_rows, mirror

        protocol = protocol_of(opts)
        if evaluator_era(spec.category, protocol) is not None:  # the checked rows the era protocol reads
            return [
                path
                for _, part in mteb_parts(spec)
                for path in copy_rows(era_rows(spec, part, None, protocol)[0].folder, data_folder(spec, part, out))
            ]
        return mirror(spec, [(part, load_part(spec, part, None, protocol)[0]) for _, part in mteb_parts(spec)], out)

    def condition(self, opts: RunOptions) -> dict[str, str]:
        return settings_of(opts).condition()

    def metric(self, spec: MtebTaskSpec, opts: RunOptions) -> str:
        from harness.benchmarks.mteb.protocols import metric

        return metric(spec.category, spec.main_metric, protocol_of(opts))

    def subfolder(self, spec: MtebTaskSpec, opts: RunOptions) -> str | None:
        return None


def _task_result(task: Any, scores: dict[str, dict[str, Any]], seconds: float, revision: str) -> Any:
    """mteb's result file, naming the data that was read: the hub revision (the paper's pin under an era
    protocol, not the task's today), or `sha256-<16>` of a `--data-dir` copy, as a local model folder is named."""
    from mteb.results import TaskResult

    result = TaskResult.from_task_results(task, scores, seconds)
    result.dataset_revision = revision
    return result


def _protocol_record(protocol: str, the_era: Era | None, spec: MtebTaskSpec) -> dict[str, Any]:
    """What the run record says about the protocol: its name, the code it reproduces and the settings it used."""
    record: dict[str, Any] = {"protocol": protocol}
    if the_era is None:
        return {**record, "reproduces": "the installed mteb"}
    record["reproduces"] = the_era.code
    if spec.category == "Retrieval":
        record["evaluator"] = "mteb's retrieval evaluator (BEIR exact search, as both eras ran it)"
    if spec.protocol is not None:
        record.update(spec.protocol.model_dump())
    if spec.category == "Classification":
        record["first_shuffle_seeds"] = list(the_era.first_shuffles)
    if spec.category == "Clustering":
        record["kmeans_seed"] = the_era.clustering_seed
    return record


BENCHMARK = MtebBenchmark()
