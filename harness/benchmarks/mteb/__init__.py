"""The 56 MTEB tasks, under a protocol (`protocols.py`): the paper-era code's evaluators (`eras.py`) or mteb's own.

Data: the hub at the revision the protocol loads (the paper-era pin under `instructor`/`mteb-2022`, today's pin
under `mteb`), or `--data-dir` in the portable layout (`portable.py`). The era evaluators read rows in the portable
layout, so a hub dataset is mirrored into the harness cache first (`mirror.cached_rows`), as `harness data
mirror` would write it, and read back with the same checks. The encoder reaches both through
`adapter.InstructedEncoder`, which picks each text's instruction by task and side.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.mteb import stats
from harness.benchmarks.mteb.protocols import era
from harness.benchmarks.mteb.spec import ClusteringProtocol, HubPin, MtebTaskSpec, place
from harness.core.benchmark import Evaluation, task_unit
from harness.core.checks import DataCheck, Note
from harness.core.errors import DataError
from harness.core.fingerprint import files_identity
from harness.core.items import Items
from harness.core.results import instruction_record, write_task_result
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.mteb.adapter import InstructedEncoder
    from harness.benchmarks.mteb.eras import Era
    from harness.benchmarks.mteb.portable import TaskData
    from harness.benchmarks.mteb.settings import MtebSettings
    from harness.core.context import Context, RunOptions


SUMMARIZATION_BAR = "mteb._evaluators.text.summarization_evaluator"  # draws a bare tqdm bar, no switch of mteb's


def settings_of(opts: RunOptions) -> MtebSettings:
    """The run's MTEB settings (`settings.py`; the defaults where the run names none)."""
    from harness.benchmarks.mteb.settings import MtebSettings

    found = opts.settings.get(BENCHMARK.name)
    return found if isinstance(found, MtebSettings) else MtebSettings()


def protocol_of(opts: RunOptions) -> str:
    return settings_of(opts).protocol


def mteb_parts(spec: MtebTaskSpec) -> list[tuple[str, MtebTaskSpec]]:
    """(mteb task name, data spec) per part: the 12 CQADupstack forums, else the task itself."""
    if not spec.subtasks:
        return [(spec.source.mteb_task, spec)]
    return [(sub, spec.model_copy(update={"name": sub, "subtasks": None})) for sub in spec.subtasks]


def data_folder(spec: MtebTaskSpec, part: MtebTaskSpec, root: Path) -> Path:
    """DIR/mteb/<Task>/, or DIR/mteb/<Task>/<subtask>/ for a task with subtasks."""
    base = root / "mteb" / spec.name
    return base if part is spec else base / part.name


def dataset_pin(spec: MtebTaskSpec, part: MtebTaskSpec, protocol: str) -> HubPin:
    """The revision a protocol loads: the paper-era code's under the era protocols, today's pin under mteb."""
    sub = part.name if spec.subtasks else None
    return spec.source.era_pin(sub) if era(protocol) else spec.source.today(sub)


def splits_read(spec: TaskSpec) -> list[str]:
    """The splits a task reads: its evaluation split, and a classifier's train split."""
    return [spec.split, "train"] if spec.category == "Classification" else [spec.split]


def mteb_task(spec: MtebTaskSpec, part: MtebTaskSpec) -> Any:
    """The mteb task object for a part, without data (the smoke suite's tasks borrow a real task's class)."""
    import mteb

    task = mteb.get_task(part.source.mteb_task if part is spec else part.name)
    if part.name != task.metadata.name:
        task.metadata = task.metadata.model_copy(update={"name": part.name})
    task.hf_subsets = list(spec.subsets)
    return task


def load_part(
    spec: MtebTaskSpec, part: MtebTaskSpec, root: Path | None, protocol: str, limit: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """The mteb task object with its data loaded by mteb (cut to `limit` items), and where that data came from."""
    from harness.benchmarks.mteb import hub
    from harness.benchmarks.mteb.portable import TaskData

    task = mteb_task(spec, part)
    if root is not None:
        data = TaskData(part, root, folder=data_folder(spec, part, root))
        if limit:
            data.limit(limit)
        task.dataset, task.data_loaded = data.to_mteb(), True
        return task, {"source": "data-dir", "folder": str(data.folder), "sha256": data.checksum()}
    pin = dataset_pin(spec, part, protocol)
    snap = hub.snapshot(part.name, pin)
    folder = hub.view(pin, snap)  # mteb loads the snapshot's files: the hub cache works offline
    dataset = {**task.metadata.dataset, "path": str(folder), "revision": None}
    task.metadata = task.metadata.model_copy(update={"dataset": dataset})
    try:
        task.load_data()
    except Exception as exc:
        raise DataError(
            f"task {part.name}: mteb could not load {pin.label()} from {snap} ({type(exc).__name__}: "
            f"{str(exc)[:200]}): a file is damaged (delete it from the hub cache and fetch it again) or not what "
            "the record shows. Offline, pass --data-dir DIR with the portable layout (see `harness data mirror`)"
        ) from None
    task.metadata = task.metadata.model_copy(update={"dataset": {**dataset, "path": pin.hf_dataset}})
    task.dataset = stats.subsets_of(task)
    refuse_unlike(part.name, pin, stats.against_record(task, pin, {}, splits_read(spec)), snap)
    source: dict[str, Any] = {"source": "hub", "path": pin.hf_dataset, "revision": pin.revision}
    paper = spec.source.era_pin(part.name if spec.subtasks else None)
    if paper != pin:
        source["paper_data"] = {"path": paper.hf_dataset, "revision": paper.revision, "differs": True}
    if limit:  # through the portable layout, where the cut is defined once
        import tempfile

        from harness.benchmarks.mteb.mirror import mirror

        with tempfile.TemporaryDirectory() as tmp:
            mirror(spec, [(part, task)], Path(tmp))
            data = TaskData(part, Path(tmp), folder=data_folder(spec, part, Path(tmp)))
            data.limit(limit)
            task.dataset = data.to_mteb()
    return task, source


def era_rows(
    spec: MtebTaskSpec, part: MtebTaskSpec, root: Path | None, protocol: str
) -> tuple[TaskData, dict[str, Any]]:
    """A part's rows for the era evaluators: from `--data-dir`, or the hub's paper-era revision as its files give
    them, checked against the figures of record and kept in the harness cache keyed by those files' bytes."""
    from harness.benchmarks.mteb.mirror import cached_rows
    from harness.benchmarks.mteb.portable import TaskData

    if root is not None:
        data = TaskData(part, root, folder=data_folder(spec, part, root))
        return data, {"source": "data-dir", "folder": str(data.folder), "sha256": data.checksum()}
    pin = dataset_pin(spec, part, protocol)

    def verify(rows: Path, snapshot: Path) -> None:
        refuse_unlike(part.name, pin, figures(spec, part, pin, TaskData(part, Path(), folder=rows)), snapshot)

    data = TaskData(part, Path(), folder=cached_rows(part, pin, verify))
    return data, {"source": "hub", "path": pin.hf_dataset, "revision": pin.revision, "sha256": data.checksum()}


def figures(spec: MtebTaskSpec, part: MtebTaskSpec, pin: HubPin, data: TaskData) -> list[stats.Difference]:
    """How the rows `data` holds differ from the figures of record of `pin` (`stats.against_record`)."""
    task = mteb_task(spec, part)
    task.dataset = data.to_mteb()
    counts = {
        place(subset, split): len(rows[split])
        for subset, rows in data.subsets.items()
        for split in rows
        if isinstance(rows[split], list)
    }
    return stats.against_record(task, pin, counts, splits_read(spec))


def refuse_unlike(task: str, pin: HubPin, found: list[stats.Difference], where: Path) -> None:
    """Hub data unlike its figures of record is refused: a short, damaged or other download is never scored."""
    if found:
        raise DataError(
            f"task {task}: the files of {pin.label()} (in {where}) do not give its figures of record: "
            f"{stats.summary(found)}. The download is short or damaged: delete the task's files from the hub cache "
            "and fetch them again"
        )


def copy_notes(spec: MtebTaskSpec, part: MtebTaskSpec, protocol: str, data: TaskData) -> list[Note]:
    """A `--data-dir` copy unlike the figures of the revision it stands for is noted, not refused: it may be a
    documented copy (`SOURCE.md`); the note goes into the run record and the report beside the score."""
    pin = dataset_pin(spec, part, protocol)
    found = figures(spec, part, pin, data)
    if not found:
        return []
    what = f"this copy differs from mteb's figures of {pin.label()}: {stats.summary(found)}"
    return [Note(str(data.folder), 0, what, 1)]


class MtebBenchmark:
    name = "mteb"
    spec_type: type[TaskSpec] = MtebTaskSpec
    encode_share = True

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
                check = data.check()
                check.notes += copy_notes(spec, part, protocol, data)
            elif era(protocol) is not None and spec.category != "Retrieval":  # checked once, kept in the cache
                check = era_rows(spec, part, None, protocol)[0].check()
            elif load_hub:
                check = DataCheck(_hub_rows(load_part(spec, part, None, protocol)[0]))
            else:
                hub.snapshot(part.name, dataset_pin(spec, part, protocol))
                check = DataCheck()
            checks.append(DataCheck({f"{prefix}{k}": n for k, n in check.rows.items()}, check.notes))
        return DataCheck({k: n for c in checks for k, n in c.rows.items()}, [n for c in checks for n in c.notes])

    def evaluate(self, spec: MtebTaskSpec, ctx: Context) -> Evaluation:
        from harness.benchmarks.mteb.adapter import InstructedEncoder
        from harness.benchmarks.mteb.eras import MAIN

        opts, parts, protocol = ctx.opts, mteb_parts(spec), protocol_of(ctx.opts)
        the_era = era(protocol)
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
            if the_era is not None and spec.category != "Retrieval":
                per_subset, sources[part.name], part_items = self._evaluate_era(
                    the_era, spec, part, model, opts.data_dir, opts.unit.limit
                )
                main = [s["main_score"] for s in per_subset.values()]  # the paper's metric, set by the era evaluator
                metric = MAIN.get(spec.category, spec.main_metric)
            else:
                per_subset, sources[part.name], part_items, why = self._evaluate_mteb(spec, part, model, opts)
                main = [s[spec.main_metric] for s in per_subset.values()]  # mteb's main score may be another
            items.append((part.name, part_items))
            read = sources[part.name].get("revision") or f"sha256-{sources[part.name]['sha256'][:16]}"
            result = _task_result(mteb_task(spec, part), {spec.split: per_subset}, time.perf_counter() - start, read)
            write_task_result(self.result_folder(spec, opts), result)
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
                "protocol": _protocol_record(protocol, the_era, spec),
                # mteb 0.0.2's unseeded first shuffle: the spread a published 2022 figure was one draw of
                "first_shuffle_draws": draws[0] if len(draws) == 1 and len(parts) == 1 else None,
            },
            metric,
            Items.combine(items) if complete else None,  # type: ignore[arg-type]
            None if complete else why,
            None if the_era is not None and spec.category != "Retrieval" else 5,  # mteb rounds some scores
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
        if era(protocol) is not None and spec.category != "Retrieval":  # the checked rows the era protocol reads
            return [
                path
                for _, part in mteb_parts(spec)
                for path in copy_rows(era_rows(spec, part, None, protocol)[0].folder, data_folder(spec, part, out))
            ]
        return mirror(spec, [(part, load_part(spec, part, None, protocol)[0]) for _, part in mteb_parts(spec)], out)

    def condition(self, opts: RunOptions) -> dict[str, str]:
        return settings_of(opts).condition()

    def result_folder(self, spec: MtebTaskSpec, opts: RunOptions) -> Path:
        return task_unit(spec, opts).folder(opts.output)


def _hub_rows(task: Any) -> dict[str, int]:
    """Rows per subset and split of a task mteb loaded (a task of one subset holds its splits directly)."""
    rows = {}
    for subset, splits in stats.subsets_of(task).items():
        for split, part in splits.items():
            name = split if subset == "default" else f"{subset}/{split}"
            if isinstance(part, dict) and "corpus" in part:
                rows.update({f"{name} corpus": len(part["corpus"]), f"{name} queries": len(part["queries"])})
            else:
                rows[name] = len(part)
    return rows


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
