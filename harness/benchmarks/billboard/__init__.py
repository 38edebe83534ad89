"""Billboard text-generation evaluation (paper appendix B.3): generated texts scored by their best cosine to a
reference, correlated with human judgments (`scoring.py`). Data: the published files (`core.sources`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from harness.core.benchmark import Evaluation, Flag
from harness.core.checks import DataCheck, Notes, Work
from harness.core.fingerprint import files_identity
from harness.core.instructions import sha256
from harness.core.results import instruction_record, write_scores
from harness.core.sources import FilesSource, mirror_files, task_files
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.billboard.scoring import BillboardData
    from harness.core.context import Context, RunOptions


class BillboardTaskSpec(TaskSpec):
    benchmark: Literal["billboard"]
    source: FilesSource

    @model_validator(mode="after")
    def _category(self) -> BillboardTaskSpec:
        if self.category != "Billboard" or set(self.source.files) != {"hypotheses", "references"}:
            raise ValueError("Billboard tasks have category Billboard and files {hypotheses, references}")
        return self


def billboard_data(
    spec: BillboardTaskSpec, root: Path | None, notes: Notes | None = None
) -> tuple[BillboardData, dict[str, Any]]:
    from harness.benchmarks.billboard.scoring import load

    files = task_files(spec, spec.source, root)
    digest = sha256("".join(sha256(p.read_text(encoding="utf-8")) for p in files.values()))
    return load(files["hypotheses"], files["references"], notes), {
        "source": "data-dir" if root else "repository",
        "files": {k: str(p) for k, p in files.items()},
        "sha256": digest,
        "repository": spec.source.repository,
        "commit": spec.source.commit,
    }


class BillboardBenchmark:
    name = "billboard"
    spec_type: type[TaskSpec] = BillboardTaskSpec
    encode_share = True
    flags: tuple[Flag, ...] = ()  # no settings of its own

    def settings(self, values: Mapping[str, Any]) -> None:
        return None

    def check_data(self, spec: BillboardTaskSpec, opts: RunOptions) -> DataCheck:
        notes = Notes()
        data, _ = billboard_data(spec, opts.data_dir, notes)
        texts = [h.text for h in data.hypotheses] + [r for refs in data.references.values() for r in refs]
        rows = {"hypotheses": len(data.hypotheses), "items": len(data.references)}
        return DataCheck(rows, notes.all(), Work.of(texts))

    preflight = check_data

    def evaluate(self, spec: BillboardTaskSpec, ctx: Context, folder: Path) -> Evaluation:
        from harness.benchmarks.billboard import scoring

        data, source = billboard_data(spec, ctx.opts.data_dir)
        if ctx.opts.unit.limit:  # a partial run: N items spread through the file, every system's output for each
            every = list(data.references)
            step = max(1, len(every) // ctx.opts.unit.limit)
            items = every[::step][: ctx.opts.unit.limit]
            data = scoring.BillboardData(
                [h for h in data.hypotheses if h.item in set(items)], {i: data.references[i] for i in items}
            )
        instruction = ctx.library.get(spec.name, ctx.opts.unit.variant).query  # same on both sides
        start = time.perf_counter()
        predicted = scoring.max_reference_cosine(data, lambda texts: ctx.encoder.encode(texts, instruction=instruction))
        scores = scoring.correlations(data, predicted)
        write_scores(folder, spec, scores, source["commit"], time.perf_counter() - start)
        return Evaluation(
            scores["main_score"],
            {
                "instructions": {spec.name: instruction_record({"query": instruction, "document": instruction})},
                "data": source,
                "protocol": {"protocol": "billboard (paper appendix B.3)"},
                "scores": scores,
            },
            items=scoring.items(data, predicted),
        )

    def data_identity(self, spec: BillboardTaskSpec, opts: RunOptions) -> dict[str, Any]:
        source = spec.source
        if opts.data_dir is None:
            return {"repository": source.repository, "commit": source.commit}
        return files_identity(task_files(spec, source, opts.data_dir).values())

    def settings_identity(self, spec: BillboardTaskSpec, opts: RunOptions) -> dict[str, Any]:
        return {}

    def mirror(self, spec: BillboardTaskSpec, out: Path, opts: RunOptions) -> list[Path]:
        return mirror_files(spec, spec.source, out)

    def condition(self, opts: RunOptions) -> dict[str, str]:
        return {}

    def metric(self, spec: TaskSpec, opts: RunOptions) -> str:
        return spec.main_metric

    def subfolder(self, spec: BillboardTaskSpec, opts: RunOptions) -> str | None:
        return None


BENCHMARK = BillboardBenchmark()
