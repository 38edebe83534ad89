"""MTEB tasks' data: each part (CQADupstack's forums) at the revision a protocol reads, from `--data-dir` (the
portable layout, `portable.py`) or the hub (`hub.py`), loaded by mteb (`load_part`: today's pins) or read into
the rows the era evaluators take (`era_rows`), and every load checked against its figures of record (`stats.py`):
hub data unlike them refused, a `--data-dir` copy unlike them noted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.mteb import stats
from harness.benchmarks.mteb.protocols import era
from harness.benchmarks.mteb.spec import HubPin, MtebTaskSpec, place
from harness.core.checks import Note
from harness.core.errors import DataError
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.mteb.portable import TaskData


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


def hub_rows(task: Any) -> dict[str, int]:
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
