"""Prompt retrieval (INSTRUCTOR paper appendix B.2): the embedding model retrieves in-context demonstrations
from an annotated pool; a causal LM answers with them; the score is ROUGE-L F x100 against the gold answer.

Each task's adapter (`tasks/`) reproduces its reference script (`evaluation/prompt_retrieval/main_*.py` of
xlang-ai/instructor-embedding): sampling, LM input format, options; what the embedding model sees, the budget
and the answer kind are the task file's. Demonstrations: `demonstrations.py`; the run: `evaluate.py`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.prompt_retrieval.settings import FLAGS, PromptSettings, from_values
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.core.benchmark import Evaluation
from harness.core.checks import DataCheck, Work
from harness.core.errors import UsageError
from harness.core.fingerprint import files_identity
from harness.core.results import instruction_record, write_scores
from harness.core.spec import TaskSpec

if TYPE_CHECKING:
    from harness.core.context import Context, RunOptions
    from harness.core.interfaces import LanguageModels


def settings(opts: RunOptions) -> PromptSettings:
    """The run's settings, its `--limit` capping the test size (`RunOptions.unit.limit`, as every benchmark's)."""
    found = opts.settings.get(BENCHMARK.name)
    return (found if isinstance(found, PromptSettings) else PromptSettings()).limited(opts.unit.limit)


def models(opts: RunOptions) -> LanguageModels:
    """The LMs the run's top layer provides (`RunOptions.models`)."""
    if opts.models is None:
        raise UsageError("prompt retrieval needs RunOptions.models (the run's LMs); harness.app.api.prepare sets it")
    return opts.models


class PromptRetrievalBenchmark:
    name = "prompt-retrieval"
    spec_type: type[TaskSpec] = PromptRetrievalTaskSpec
    encode_share = False  # small pools, and its LM would answer prompts built from placeholder demos
    flags = FLAGS

    def settings(self, values: Mapping[str, Any]) -> PromptSettings:
        return from_values(values)

    def check_data(self, spec: PromptRetrievalTaskSpec, opts: RunOptions) -> DataCheck:
        from harness.benchmarks.prompt_retrieval.data import check_data
        from harness.benchmarks.prompt_retrieval.tasks import adapter

        task = adapter(spec)
        check_data(spec, opts.data_dir)
        data = task.load(settings(opts).applied(spec), opts.data_dir)  # the draw the run makes, so its refusals
        texts = [e.embed_text for e in [*data.pool, *data.tests]]  # what the embedding model sees; the LM's is apart
        return DataCheck({"pool": len(data.pool), "test": len(data.tests)}, work=Work.of(texts))

    def preflight(self, spec: PromptRetrievalTaskSpec, opts: RunOptions) -> DataCheck:
        check = self.check_data(spec, opts)
        lm = settings(opts).lm
        if not lm:
            raise UsageError(
                f"task {spec.name}: prompt retrieval needs a language model: pass --lm "
                "(a hub id or local folder of a causal LM; the paper used EleutherAI/gpt-j-6B)"
            )
        models(opts).check(lm)
        return check

    def evaluate(self, spec: PromptRetrievalTaskSpec, ctx: Context, folder: Path) -> Evaluation:
        from harness.benchmarks.prompt_retrieval.evaluate import claim_records, evaluate

        opts, prompt = ctx.opts, settings(ctx.opts)
        lm = ctx.shared(
            "lm",
            lambda: models(opts).load(
                str(prompt.lm), device=prompt.lm_device, precision=prompt.lm_precision, batch_size=prompt.lm_batch_size
            ),
        )
        instruction = ctx.library.get(spec.name, opts.unit.variant).query  # pool and test inputs alike
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

    def data_identity(self, spec: PromptRetrievalTaskSpec, opts: RunOptions) -> dict[str, Any]:
        from harness.benchmarks.prompt_retrieval.data import check_data
        from harness.benchmarks.prompt_retrieval.spec import HfSource
        from harness.benchmarks.prompt_retrieval.tasks import adapter
        from harness.core.sources import task_files

        task = spec
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

    def settings_identity(self, spec: PromptRetrievalTaskSpec, opts: RunOptions) -> dict[str, Any]:
        """The LM by its weights (folder digest or hub commit), not by its folder's name."""
        prompt = settings(opts)
        return {
            "lm": prompt.lm,
            "lm_revision": models(opts).revision(prompt.lm) if prompt.lm else None,
            "lm_precision": prompt.lm_precision,
            "demos": prompt.demos,
            "test_size": prompt.test_size or spec.protocol.test_size,
        }

    def mirror(self, spec: PromptRetrievalTaskSpec, out: Path, opts: RunOptions) -> list[Path]:
        from harness.benchmarks.prompt_retrieval.data import mirror_hf
        from harness.benchmarks.prompt_retrieval.spec import HfSource
        from harness.core.sources import mirror_files

        if isinstance(spec.source, HfSource):
            return mirror_hf(spec, spec.source, out)
        return mirror_files(spec, spec.source, out)

    def condition(self, opts: RunOptions) -> dict[str, str]:
        return {}  # its settings name a folder below the unit's (`subfolder`), as they are many and long

    def metric(self, spec: TaskSpec, opts: RunOptions) -> str:
        return spec.main_metric

    def subfolder(self, spec: PromptRetrievalTaskSpec, opts: RunOptions) -> str | None:
        """Results depend on the LM and demonstrations too: a sub-folder per LM setting."""
        return settings(opts).folder_name(spec)


BENCHMARK = PromptRetrievalBenchmark()
