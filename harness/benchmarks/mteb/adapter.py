"""The harness encoder as an mteb encoder: picks each task's instruction from the library.

mteb passes the query/document side (`prompt_type`) for retrieval and reranking only; for every other
task the side is irrelevant (symmetric instructions) and the task name alone selects the instruction.
`TaskEmbedder` gives the era evaluators (`eras.py`) the same path for one task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from mteb.models import ModelMeta
from mteb.models.abs_encoder import AbsEncoder
from mteb.similarity_functions import _upcast_low_precision
from mteb.types import PromptType

from harness.core.errors import UsageError
from harness.core.instructions import Library, Side
from harness.core.interfaces import TextEncoder
from harness.core.results import model_meta


class InstructedEncoder(AbsEncoder):
    """`encode(dataloader, task_metadata=..., prompt_type=...)` -> the harness encoder with the task's instruction.

    `instruction_keys` maps an mteb task name to (registry task, subtask or None): CQADupstack forums are
    mteb tasks of their own but subtasks of one registry task. `token_limits` (mteb task -> tokens), set by
    the instructor protocol for clustering, reproduces the INSTRUCTOR reference's rule that a text whose
    instruction + text exceeds that many tokens is encoded with an empty instruction.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        library: Library,
        variant: str,
        instruction_keys: dict[str, tuple[str, str | None]],
    ) -> None:
        self.mteb_model_meta = model_meta(encoder.identity, encoder.similarity_fn_name)
        self.encoder = encoder
        self.library = library
        self.variant = variant
        self.instruction_keys = instruction_keys
        self.token_limits: dict[str, int] = {}
        self.used: dict[str, dict[str, str]] = {}  # mteb task -> side -> instruction actually used

    def instruction(self, mteb_task: str, side: Side) -> str:
        if mteb_task not in self.instruction_keys:
            raise UsageError(f"mteb task {mteb_task!r} is not mapped to a registry task")
        task, subtask = self.instruction_keys[mteb_task]
        return self.library.get(task, self.variant, subtask).side(side)

    def encode(
        self,
        inputs: Any,
        *,
        task_metadata: Any,
        hf_split: str,
        hf_subset: str,
        prompt_type: PromptType | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        texts = [t for batch in inputs for t in batch["text"]]
        return self.embed(texts, task_metadata.name, "document" if prompt_type == PromptType.document else "query")

    def embed(self, texts: Sequence[str], mteb_task: str, side: Side) -> np.ndarray:
        """`texts` with the task's instruction for `side` (and its token-limit rule), recording what was used."""
        instruction = self.instruction(mteb_task, side)
        self.used.setdefault(mteb_task, {})[side] = instruction
        limit = self.token_limits.get(mteb_task)
        if limit is not None and instruction:
            return self._encode_within(limit, list(texts), instruction)
        return self.encoder.encode(list(texts), instruction=instruction)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> Any:
        """The model's own similarity, in float32 (as mteb's sentence-transformers wrapper scores)."""
        return self.encoder.similarity(_upcast_low_precision(embeddings1), _upcast_low_precision(embeddings2))

    def _encode_within(self, limit: int, texts: list[str], instruction: str) -> np.ndarray:
        too_long = np.array([n > limit for n in self.encoder.token_counts([instruction + t for t in texts])])
        out = np.empty((len(texts), self.encoder.identity.dimension), dtype=np.float32)
        for drop, ins in ((False, instruction), (True, "")):
            idx = np.flatnonzero(too_long == drop)
            if idx.size:
                out[idx] = self.encoder.encode([texts[i] for i in idx], instruction=ins)
        return out


class TaskEmbedder:
    """One task's view of an `InstructedEncoder` (the `eras.Embedder` protocol)."""

    def __init__(self, model: InstructedEncoder, mteb_task: str) -> None:
        self.model, self.mteb_task = model, mteb_task

    def __call__(self, texts: Sequence[str], side: Side = "query") -> np.ndarray:
        return self.model.embed(texts, self.mteb_task, side)

    def plain(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encoder.encode(list(texts), instruction="")

    def instruction(self, side: Side) -> str:
        return self.model.instruction(self.mteb_task, side)


class HarnessModel(InstructedEncoder):
    """An mteb model: `mteb.evaluate(harness.mteb_model("hkunlp/instructor-large"), mteb.get_tasks([...]))`. The
    harness encoder with an instruction variant for every MTEB task of the registry (CQADupstack's forums
    included, so no mapping is needed); a task the registry does not know (mteb's mock tasks, a newer task) is
    encoded without an instruction, said once. Its ModelMeta names the condition (`experiment_kwargs`), so mteb
    files the results where `harness run --protocol mteb` puts the same unit's."""

    def __init__(self, encoder: TextEncoder, library: Library, variant: str, meta: ModelMeta, log: Any = print) -> None:
        keys: dict[str, tuple[str, str | None]] = {}
        for spec in library.tasks.tasks.values():
            if spec.benchmark == "mteb":
                for sub in spec.subtasks or []:
                    keys[sub] = (spec.name, sub)
                if not spec.subtasks:
                    keys[spec.source.mteb_task] = (spec.name, None)  # type: ignore[attr-defined]
        super().__init__(encoder, library, variant, keys)
        self.mteb_model_meta = meta
        self.log = log
        self.unmapped: set[str] = set()

    def instruction(self, mteb_task: str, side: Side) -> str:
        if mteb_task in self.instruction_keys:
            return super().instruction(mteb_task, side)
        if mteb_task not in self.unmapped:
            self.unmapped.add(mteb_task)
            self.log(f"note: {mteb_task} is not a task of the instruction library: encoded without an instruction")
        return ""
