"""Prompt retrieval's own run settings (`--lm`, `--demos`, `--test-size`, ...): they change its numbers, and name
its result folders below the unit's. This module is the benchmark's settings hook (`harness.core.plugins.settings_hooks`):
its flags (`add_arguments`) and its settings from a request's values (`from_values`)."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.core.argtypes import device, positive_int
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


NAMES = tuple(f.name for f in dataclasses.fields(PromptSettings))  # the request values this benchmark reads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Its flags, on `run` and `robustness` (dests are `NAMES`)."""
    pr = parser.add_argument_group("prompt retrieval")
    pr.add_argument("--lm", help="causal LM that uses the demonstrations (hub id or local folder)")
    pr.add_argument("--lm-device", type=device, help="device of the LM (default: cuda if available)")
    pr.add_argument("--lm-precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    pr.add_argument("--lm-batch-size", type=positive_int, default=8)
    pr.add_argument(
        "--demos",
        choices=list(CONDITIONS),
        default="similar",
        help="retrieved demonstrations (the paper), random ones within the same budget, or none",
    )
    pr.add_argument("--test-size", type=positive_int, help="test examples (default: the task's, 256)")


def from_values(values: Mapping[str, Any], limit: int | None) -> PromptSettings:
    """The settings a request's values name (absent ones at their defaults); `--limit` caps the test size, as
    it caps every benchmark's evaluation items."""
    chosen = PromptSettings(**{k: v for k, v in values.items() if k in NAMES and v is not None})
    if limit and (chosen.test_size is None or chosen.test_size > limit):
        chosen = dataclasses.replace(chosen, test_size=limit)
    return chosen
