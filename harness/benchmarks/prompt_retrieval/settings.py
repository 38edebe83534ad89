"""Prompt retrieval's own run settings (`--lm`, `--demos`, `--test-size`, ...): they change its numbers, and name
its result folders below the unit's. Declared as data (`FLAGS`, `Benchmark.flags`) and read into its settings
object by `from_values`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.core.argtypes import device, positive_int
from harness.core.benchmark import Flag
from harness.core.results import model_label, slug

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

    def limited(self, limit: int | None) -> PromptSettings:
        """`--limit` caps the test size, as it caps every benchmark's evaluation items (`RunOptions.unit.limit`)."""
        if limit and (self.test_size is None or self.test_size > limit):
            return dataclasses.replace(self, test_size=limit)
        return self

    def applied(self, spec: PromptRetrievalTaskSpec) -> PromptRetrievalTaskSpec:
        """The spec with `--test-size` in its protocol (the draw itself keeps the task file's: `super_ni_split`)."""
        if not self.test_size:
            return spec
        p = spec.protocol
        sized = p.model_copy(
            update={"test_size": self.test_size, "reference_test_size": p.reference_test_size or p.test_size}
        )
        return spec.model_copy(update={"protocol": sized})

    def folder_name(self, spec: PromptRetrievalTaskSpec) -> str:
        return slug(
            f"lm={model_label(self.lm) if self.lm else self.lm},"
            f"demos={self.demos},test={self.test_size or spec.protocol.test_size}"
        )


DEFAULTS = PromptSettings()  # the flags' defaults, written once (in the dataclass)
FLAGS = (
    Flag("lm", "causal LM that uses the demonstrations (hub id or local folder)"),
    Flag("lm_device", "device of the LM (default: cuda if available)", type=device),
    Flag("lm_precision", "the LM's precision", choices=("fp32", "fp16", "bf16"), default=DEFAULTS.lm_precision),
    Flag("lm_batch_size", "prompts the LM scores at once", type=positive_int, default=DEFAULTS.lm_batch_size),
    Flag(
        "demos",
        "retrieved demonstrations (the paper), random ones within the same budget, or none",
        choices=CONDITIONS,
        default=DEFAULTS.demos,
    ),
    Flag("test_size", "test examples (default: the task's, 256; --limit caps it)", type=positive_int),
)


def from_values(values: Mapping[str, Any]) -> PromptSettings:
    """The settings a request's values name (absent ones at their defaults)."""
    return PromptSettings(**{f.name: values[f.name] for f in FLAGS if values.get(f.name) is not None})
