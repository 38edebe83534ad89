"""CODA-19 title generation, as main_coda_title_gen.py draws and prompts it."""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks.prompt_retrieval.data import files_source, pool_size, reference_test_size, super_ni_split
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.types import Example, Sample
from harness.core.sources import task_files


def load(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
    path = task_files(spec, files_source(spec), data_dir)["instances"]
    p = spec.protocol
    rows, pool_idx, test_idx = super_ni_split(path, p.seed, pool_size(p), p.test_size, reference_test_size(spec))

    def example(i: int) -> Example:
        text, title = rows[i]["input"], rows[i]["output"][0]
        return Example(
            str(i),
            spec.embed_text(rows[i]),
            f"write a title\n{text}\ntitle:",
            title,
            demo_text=f"write a title\n{text}\ntitle:{title}\n\n",
        )

    return Sample([example(i) for i in pool_idx], [example(i) for i in test_idx], {"file": str(path)})
