"""Prompt retrieval (INSTRUCTOR paper appendix B.2): the embedding model retrieves in-context demonstrations
from an annotated pool; a causal LM answers with them; the score is ROUGE-L F x100 against the gold answer.

Each task's adapter (`tasks/`) reproduces its reference script (`evaluation/prompt_retrieval/main_*.py` of
xlang-ai/instructor-embedding): sampling, LM input format, options; what the embedding model sees, the budget
and the answer kind are the task file's. Demonstrations: `demonstrations.py`; the run: `evaluate.py`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from harness.benchmarks.base import Evaluation
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.core.checks import DataCheck
from harness.core.errors import UsageError
from harness.core.fingerprint import files_identity
from harness.core.results import instruction_record, model_label, slug, write_scores
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.core.runner import Context, RunOptions

CONDITIONS = ("similar", "random", "zero-shot")


@dataclass
class PromptSettings:
    """The LM and demonstration settings of a run (`--lm`, `--demos`, ...)."""

    lm: str | None = None
    lm_device: str | None = None
    lm_precision: str = "fp32"
    lm_batch_size: int = 8
    demos: str = "similar"
    test_size: int | None = None

    def applied(self, spec: PromptRetrievalTaskSpec) -> PromptRetrievalTaskSpec:
        """The spec with `--test-size` in its protocol (the draw itself keeps the task file's: `super_ni_split`)."""
        if not self.test_size:
            return spec
        return spec.model_copy(update={"protocol": spec.protocol.model_copy(update={"test_size": self.test_size})})

    def folder_name(self, spec: PromptRetrievalTaskSpec) -> str:
        return slug(
            f"lm={model_label(self.lm) if self.lm else self.lm},"
            f"demos={self.demos},test={self.test_size or spec.protocol.test_size}"
        )


def settings(opts: RunOptions) -> PromptSettings:
    found = opts.settings.get(BENCHMARK.name)
    return found if isinstance(found, PromptSettings) else PromptSettings()


class PromptRetrievalBenchmark:
    name = "prompt-retrieval"
    spec_type: type[TaskSpec] = PromptRetrievalTaskSpec

    def check_data(self, spec: TaskSpec, opts: RunOptions) -> DataCheck:
        from harness.benchmarks.prompt_retrieval.data import check_data
        from harness.benchmarks.prompt_retrieval.tasks import adapter

        spec = cast(PromptRetrievalTaskSpec, spec)
        task = adapter(spec)
        check_data(spec, opts.data_dir)
        data = task.load(settings(opts).applied(spec), opts.data_dir)  # the draw the run makes, so its refusals
        return DataCheck({"pool": len(data.pool), "test": len(data.tests)})

    def preflight(self, spec: TaskSpec, opts: RunOptions) -> DataCheck:
        check = self.check_data(spec, opts)
        lm = settings(opts).lm
        if not lm:
            raise UsageError(
                f"task {spec.name}: prompt retrieval needs a language model: pass --lm "
                "(a hub id or local folder of a causal LM; the paper used EleutherAI/gpt-j-6B)"
            )
        from harness.models.lm import check_causal_lm

        check_causal_lm(lm)
        return check

    def evaluate(self, spec: TaskSpec, ctx: Context) -> Evaluation:
        from harness.benchmarks.prompt_retrieval.evaluate import claim_records, evaluate
        from harness.models.lm import CausalLM

        spec = cast(PromptRetrievalTaskSpec, spec)
        opts, prompt = ctx.opts, settings(ctx.opts)
        lm = ctx.shared(
            "lm",
            lambda: CausalLM(
                str(prompt.lm), device=prompt.lm_device, precision=prompt.lm_precision, batch_size=prompt.lm_batch_size
            ),
        )
        instruction = ctx.library.get(spec.name, opts.unit.variant).query  # pool and test inputs alike
        folder = self.result_folder(spec, opts)
        records = folder / f"{spec.name}.examples.jsonl"
        claim_records(records, ctx.fingerprints[spec.name]["sha256"], opts.overwrite)
        start = time.perf_counter()
        scores, items = evaluate(
            spec,
            opts.data_dir,
            lambda texts: ctx.encoder.encode(texts, instruction=instruction),
            lm,
            prompt,
            records,
            opts.log,
        )
        revision = spec.source.commit if spec.source.kind == "files" else "hub"
        write_scores(folder, spec, scores, revision, time.perf_counter() - start)
        reference_lm = spec.protocol.reference_lm
        deviation = (
            f"the reference used {reference_lm}; this run used {prompt.lm}" if reference_lm != prompt.lm else None
        )
        return Evaluation(
            scores["main_score"],
            {
                "instructions": {spec.name: instruction_record({"query": instruction, "document": instruction})},
                "data": scores.pop("data"),
                "protocol": {
                    "protocol": "prompt retrieval (paper appendix B.2)",
                    "demonstrations": prompt.demos,
                    "seed": spec.protocol.seed,
                    "pool_size": scores["n_pool"],
                    "test_size": scores["n_test"],
                    "lm": lm.identity(),
                    "lm_precision": prompt.lm_precision,
                    "deviation": deviation,
                },
                "scores": scores,
                "examples": str(records),
            },
            items=items,
        )

    def data_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        from harness.benchmarks.prompt_retrieval.data import check_data
        from harness.benchmarks.prompt_retrieval.spec import HfSource
        from harness.benchmarks.prompt_retrieval.tasks import adapter
        from harness.core.sources import task_files

        task = cast(PromptRetrievalTaskSpec, spec)
        adapter(task)
        check_data(task, opts.data_dir)  # an unknown adapter or a missing file: their own clear messages first
        source = task.source
        if isinstance(source, HfSource):
            if opts.data_dir is None:
                return {"hf_dataset": source.hf_dataset, "config": source.config, "revision": source.revision}
            paths = [source.split_file(opts.data_dir, s) for s in (source.pool_split, source.test_split)]
            return files_identity(paths)
        if opts.data_dir is None:
            return {"repository": source.repository, "commit": source.commit}
        return files_identity(task_files(spec, source, opts.data_dir).values())

    def settings_identity(self, spec: TaskSpec, opts: RunOptions) -> dict[str, Any]:
        """The LM by its weights (folder digest or hub commit), not by its folder's name."""
        from harness.models.resolve import resolve_model

        prompt = settings(opts)
        return {
            "lm": prompt.lm,
            "lm_revision": resolve_model(prompt.lm)[1] if prompt.lm else None,
            "lm_precision": prompt.lm_precision,
            "demos": prompt.demos,
            "test_size": prompt.test_size or cast(PromptRetrievalTaskSpec, spec).protocol.test_size,
        }

    def mirror(self, spec: TaskSpec, out: Path, protocol: str) -> list[Path]:
        from harness.benchmarks.prompt_retrieval.data import mirror_hf
        from harness.benchmarks.prompt_retrieval.spec import HfSource
        from harness.core.sources import mirror_files

        spec = cast(PromptRetrievalTaskSpec, spec)
        if isinstance(spec.source, HfSource):
            return mirror_hf(spec, spec.source, out)
        return mirror_files(spec, spec.source, out)

    def result_folder(self, spec: TaskSpec, opts: RunOptions) -> Path:
        """Results depend on the LM and demonstrations too: a sub-folder per LM setting."""
        return opts.unit.folder(opts.output) / settings(opts).folder_name(cast(PromptRetrievalTaskSpec, spec))


BENCHMARK = PromptRetrievalBenchmark()
