"""The data types of prompt retrieval: examples as the embedding model and the LM see them, a task's sample,
and how a task's rows become prompts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec

if TYPE_CHECKING:
    from harness.benchmarks.prompt_retrieval.tasks.multiwoz.tracker import Tracker


@dataclass(frozen=True)
class Example:
    id: str
    embed_text: str  # what the embedding model sees (after the instruction)
    lm_input: str  # what the LM sees
    gold: str
    options: tuple[str, ...] | None = None  # per-example options (HellaSwag's endings)
    demo_text: str = ""  # as a demonstration in a plain-layout prompt (and for its length); default input+gold
    prefix: str = ""  # plain layout: what precedes the demonstrations (GeoQuery's rows, MultiWOZ's schema)
    group: str | None = None  # Amazon: the reviewer

    def demo(self) -> str:
        return self.demo_text or self.lm_input + self.gold


@dataclass(frozen=True)
class Sample:
    pool: list[Example]
    tests: list[Example]
    provenance: dict[str, Any]
    tracker: Tracker | None = None  # MultiWOZ: test turns run in order, each prompt showing the state predicted before


Loader = Callable[[PromptRetrievalTaskSpec, Path | None], Sample]


@dataclass(frozen=True)
class Format:
    """How one raw row becomes an example, as the task's reference script formats it. What the embedding
    model sees is the task file's `input_template`, not code."""

    lm_input: Callable[[dict[str, Any]], str]
    gold: Callable[[dict[str, Any]], str]
    options: Callable[[dict[str, Any]], list[str]] | None = None


@dataclass(frozen=True)
class PromptTask:
    """How a task's rows become prompts. Budget, candidate cut, duplicate rule, test-side centring, the answer
    kind, group scoring and generation settings are data: the `protocol` of the task file."""

    load: Loader
    options: list[str] | None = None  # label tasks: the options every example shares
    layout: str = "metaicl"  # metaicl: MetaICL direct; plain: prefix + demonstrations + test input, one string
    header: str = ""  # plain layout: put before each demonstration and the test input, numbered ({n}) from 0
    answer_prefix: str = ""  # prepended to generated text (GeoQuery's prompt ends in "SELECT")
    token_joined: bool = False  # score the reference's token-joined predictions, the decoded text beside (CODA)
