"""The text encoder: a sentence-transformers model with an instruction mode and input checks.

`encode(texts, *, instruction) -> float32 array`. A call's distinct texts are encoded in the batches of
`batches` (longest input first, stable, `batch_size` each), one forward pass per batch: a vector depends on its
batch's other texts by a few ulps, so this plan alone decides every vector, and a cached, resumed or multi-device
run encodes exactly the batches a plain run does (`encode_batches`). Instruction modes:
  masked  INSTRUCTOR semantics, exactly as PyPI InstructorEmbedding 1.0.1's INSTRUCTOR_Transformer.tokenize and
          forward: input = (instruction + text.strip()).strip(); n = tokens of instruction.strip() (special
          tokens included) minus one, n <= 1 meaning none; the first n tokens are attended to but left out of
          mean pooling; the max length is 512 whatever the model folder says.
  prefix  instruction + text, pooled whole (how a model without instruction training sees it).
  none    the text alone; the instruction is ignored (plain sentence-transformers output).
Caching is a wrapper (`harness.models.cache.CachedEncoder`), not part of this class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from harness.core.errors import ModelError
from harness.core.interfaces import MODES, BatchEncoder, Mode, ModelIdentity, Precision, Telemetry
from harness.models.resolve import resolve_model

# The version of the rules that turn (instruction, text) into model input and pooling; part of every cache key,
# so a change to them never serves vectors computed under the old ones.
ENCODING_RULES = (
    "3"  # 2: masked mode exactly as 1.0.1 (outer strip, stripped instruction count, 512); 3: planned batches
)
INSTRUCTOR_MAX_LENGTH = 512  # 1.0.1's INSTRUCTOR_Transformer sets max_seq_length = 512 unconditionally


class Encoder:
    """A sentence-transformers model with an instruction mode and input checks (`core.interfaces.TextEncoder`)."""

    def __init__(
        self,
        name: str,
        *,
        mode: Mode,
        revision: str | None = None,
        device: str | None = None,
        precision: Precision = "fp32",
        max_length: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if mode not in MODES:
            raise ModelError(f"unknown instruction mode {mode!r}: use one of {', '.join(MODES)}")
        check_precision(precision, device)
        from sentence_transformers import SentenceTransformer

        folder, resolved, weights = resolve_model(name, revision)
        model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        identity = ModelIdentity(name, resolved, mode, 0, 0, precision, weights=weights)
        self._attach(model, identity, max_length, batch_size, owned=True)

    @classmethod
    def of(cls, model: Any, identity: ModelIdentity, *, max_length: int | None, batch_size: int) -> Encoder:
        """An encoder of a SentenceTransformer already loaded (`harness.models.objects`), known by `identity`
        (its max length and dimension filled in here). The caller's object is left as it was."""
        encoder = cls.__new__(cls)
        encoder._attach(model, identity, max_length, batch_size, owned=False)
        return encoder

    def _attach(
        self, model: Any, identity: ModelIdentity, max_length: int | None, batch_size: int, *, owned: bool
    ) -> None:
        """Take `model` under `identity`'s mode and precision: its max length, pooling and telemetry. A model the
        encoder does not `own` (a caller's object) is never changed: its precision runs under autocast and its max
        length is set for each forward pass only (`_max_length`)."""
        self.model = model
        name, mode, precision = identity.name, identity.mode, identity.precision
        self.autocast: Any = contextlib.nullcontext
        if precision != "fp32":
            import torch

            dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]
            kind = self.model.device.type
            if kind == "cpu" or not owned:  # on a CPU, measured: perf/cpu_precision.py, docs/performance.md
                self.autocast = lambda: torch.autocast(kind, dtype=dtype)
            else:
                self.model.to(dtype=dtype)
        self.max_length = max_length or (INSTRUCTOR_MAX_LENGTH if mode == "masked" else None)
        self.poolings: list[Any] = [m for m in self.model if type(m).__name__ == "Pooling"]
        if mode == "masked" and not self.poolings:
            raise ModelError(f"model {name!r} has no Pooling module: masked instruction mode is undefined")
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ModelError(f"model {name!r} does not declare its embedding dimension: not a sentence embedder")
        length = int(self.max_length or self.model.max_seq_length or 0)
        self.identity = dataclasses.replace(identity, max_length=length, dimension=int(dimension))
        self.batch_size = batch_size
        self.telemetry = Telemetry(str(self.model.device))

    # ------------------------------------------------------------------ public API
    def encode(self, texts: list[str], *, instruction: str = "") -> np.ndarray:
        """One float32 row per text, in input order. Identical texts are encoded once."""
        return encode_distinct(self, texts, "" if self.identity.mode == "none" else instruction)

    def batches(self, texts: Sequence[str], instruction: str) -> list[list[int]]:
        """The batches (indices into `texts`, distinct texts) a call is encoded in: by model input, longest first
        (a stable sort, so ties keep their order), `batch_size` each."""
        order = np.argsort([-len(s) for s in self._inputs(list(texts), instruction)], kind="stable")
        return [order[i : i + self.batch_size].tolist() for i in range(0, len(order), self.batch_size)]

    def encode_batches(self, batches: list[list[str]], instruction: str) -> list[np.ndarray]:
        """Each batch (of `batches`) in one forward pass, on this process's device."""
        return [self._forward(batch, instruction) for batch in batches]

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.model.tokenizer(list(texts))["input_ids"]]

    def similarity(self, a: Any, b: Any) -> Any:
        return self.model.similarity(a, b)

    @property
    def similarity_fn_name(self) -> str:
        return str(self.model.similarity_fn_name)

    def metadata(self) -> dict[str, Any]:
        return dataclasses.asdict(self.identity)

    def instruction_tokens(self, instruction: str) -> int:
        """INSTRUCTOR 1.0.1's count: tokens of `instruction.strip()` as the model's tokenizer gives them (special
        tokens included, truncated to the max length) minus one, whatever the last token is; 0 when that is <= 1."""
        ids = self.model.tokenizer([instruction.strip()], truncation=True, max_length=self.identity.max_length or None)
        n = len(ids["input_ids"][0]) - 1
        return n if n > 1 else 0

    # ------------------------------------------------------------------ internals
    def _vectors(self, inputs: list[str]) -> np.ndarray:
        """The model's vectors of one batch of model inputs."""
        return np.asarray(
            self.model.encode(inputs, batch_size=len(inputs), convert_to_numpy=True, show_progress_bar=False)
        )

    def _inputs(self, texts: list[str], instruction: str) -> list[str]:
        if self.identity.mode == "masked":
            return [(instruction + t.strip()).strip() for t in texts]
        return [instruction + t for t in texts]

    def _forward(self, texts: list[str], instruction: str) -> np.ndarray:
        """One batch through the model in one forward pass (its composition is the caller's plan)."""
        exclude = self.instruction_tokens(instruction) if self.identity.mode == "masked" else 0
        inputs = self._inputs(texts, instruction)
        start = time.perf_counter()
        with _pooling_excludes(self.poolings, exclude), _max_length(self.model, self.max_length), self.autocast():
            vectors = self._vectors(inputs)
        self.telemetry.add(len(inputs), time.perf_counter() - start)
        vectors = np.asarray(vectors, dtype=np.float32)
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if bad.size:
            raise ModelError(
                f"model {self.identity.name} produced NaN/inf embeddings for {bad.size} text(s), first: "
                f"{texts[bad[0]][:80]!r} (instruction {instruction!r}). Check the weights and precision "
                "(fp16 overflow is common: try bf16 or fp32)."
            )
        return vectors


def encode_distinct(encoder: BatchEncoder, texts: list[str], instruction: str) -> np.ndarray:
    """One float32 row per text, in input order, each distinct text encoded once, in the encoder's planned batches:
    the `encode` of `Encoder` and of a model object (`objects.EncodeObject`)."""
    check_texts(texts)
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, encoder.identity.dimension), np.float32)
    plan = encoder.batches(unique, instruction)
    vectors = np.empty((len(unique), encoder.identity.dimension), np.float32)
    for batch, out in zip(
        plan, encoder.encode_batches([[unique[i] for i in b] for b in plan], instruction), strict=True
    ):
        vectors[batch] = out
    row = dict(zip(unique, vectors, strict=True))
    return np.stack([row[t] for t in texts])


@contextlib.contextmanager
def _max_length(model: Any, length: int | None) -> Iterator[None]:
    """The model's max_seq_length at `length` for one forward pass, then as it was: the model may be a caller's."""
    if not length:
        yield
        return
    original, model.max_seq_length = model.max_seq_length, length
    try:
        yield
    finally:
        model.max_seq_length = original


@contextlib.contextmanager
def _pooling_excludes(poolings: list[Any], n: int) -> Iterator[None]:
    """Mean pooling leaves out the first `n` tokens (attended to all the same), the count given by us rather
    than sentence-transformers' own prompt measurement, which differs from 1.0.1 for byte-level BPE tokenizers
    (an instruction's trailing space) and for tokenizers without a special end token."""
    originals = [(p, p.include_prompt) for p in poolings]
    for pooling in poolings:
        pooling.include_prompt = n == 0
        if n:
            forward = type(pooling).forward.__get__(pooling)
            pooling.forward = lambda features, _f=forward, **kw: _f({**features, "prompt_length": n}, **kw)
    try:
        yield
    finally:
        for pooling, include in originals:
            pooling.include_prompt = include
            pooling.__dict__.pop("forward", None)


def default_device() -> str:
    """The device sentence-transformers picks when none is given."""
    import torch

    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"


def native_precision(precision: str, device: str) -> bool:
    """Whether `device` runs `precision` natively: fp32 anywhere; on a CPU, bf16 with AVX512-BF16 or AMX and fp16
    with AMX-FP16 (torch's own checks: elsewhere torch emulates them, slower than fp32); a GPU's own kernels."""
    if precision == "fp32" or not device.startswith("cpu"):
        return True
    import torch

    if precision == "bf16":
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return bool(torch.cpu._is_amx_fp16_supported())


def check_precision(precision: str, device: str | None) -> None:
    """Refuse a precision the device does not run natively, before any model loads (`harness run --dry-run` too)."""
    if precision == "fp32":  # native everywhere: no torch import, no device probe (`plan`, `data`, `--dry-run`)
        return
    if not native_precision(precision, device or default_device()):
        need = "AVX512-BF16 or AMX" if precision == "bf16" else "AMX-FP16"
        raise ModelError(
            f"--precision {precision}: this CPU has no native {precision} ({need}), so it would run slower than "
            f"fp32 and change the numbers: use --precision fp32 (or a GPU: --device cuda)"
        )


def check_texts(texts: Any) -> None:
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise ModelError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ModelError(f"text #{i} is {type(t).__name__} ({t!r:.60}), expected str")
