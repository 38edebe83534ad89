"""Model objects as encoders: `harness.evaluate(SentenceTransformer(...), ...)`, or any object with an `encode`
method, evaluated as a model named by a string would be.

A SentenceTransformer runs in the harness's own `Encoder` (the instruction modes, INSTRUCTOR's masked pooling, the
planned batches). Any other object is called as `obj.encode(list_of_texts)` with the mode's inputs (`none`: the
text; `prefix`: instruction + text) and must return one vector per text; `masked` needs a sentence-transformers
Pooling module and is refused for it.

An object is known by what can be known of its bytes (`identify`): the sha256 of its state dict (every tensor's
name, dtype, shape and bytes; for a SentenceTransformer also each module's configuration and the tokenizer), which
names its results folder, its fingerprint and its cached vectors, as a folder's digest does. An object without a
state dict cannot be identified: its run is computed every time, never resumed and never cached (its revision is
a fresh `unidentified-<nonce>`), and the run says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.core.errors import ModelError, UsageError
from harness.core.interfaces import MODES, BatchEncoder, ModelIdentity, Telemetry
from harness.models.encoder import Encoder, check_precision, encode_distinct

UNIDENTIFIED = "unidentified-"  # the revision prefix of an object nothing identifies: never resumed, never cached


def object_encoder(
    model: Any, *, mode: str, precision: str, max_length: int | None, batch_size: int, log: Callable[[str], Any]
) -> BatchEncoder:
    """The encoder of a model object (a SentenceTransformer, or anything with `encode`), with its identity. A
    SentenceTransformer takes the harness's precision and max length; another object runs as it is."""
    if not callable(getattr(model, "encode", None)):
        raise UsageError(
            f"a model must be a name (hub id, folder, 'minilm'), a SentenceTransformer or an object with an "
            f"encode(texts) method; got {type(model).__name__}"
        )
    if mode not in MODES:
        raise ModelError(f"unknown instruction mode {mode!r}: use one of {', '.join(MODES)}")
    name, digest = object_name(model), identify(model)
    if digest is None:
        revision = UNIDENTIFIED + secrets.token_hex(8)
        log(
            f"model object {name}: no state dict, so nothing identifies its weights: its results are never resumed "
            f"and its vectors never cached (this run is filed under {revision})"
        )
        weights = revision
    else:
        revision, weights = f"state-{digest[:16]}", f"state-{digest}"
    identity = ModelIdentity(name, revision, mode, 0, 0, precision, weights=weights)  # type: ignore[arg-type]
    if _is_sentence_transformer(model):
        check_precision(precision, str(model.device))
        return Encoder.of(model, identity, max_length=max_length, batch_size=batch_size)
    if precision != "fp32" or max_length:
        raise UsageError(
            f"model object {name}: precision and max_length apply to a SentenceTransformer; an object with encode() "
            "runs as it is (set them on the object itself)"
        )
    if mode == "masked":
        raise ModelError(
            f"model object {name}: masked instruction mode needs a sentence-transformers Pooling module; "
            "use mode='prefix' (instruction + text) or mode='none'"
        )
    return EncodeObject(model, identity, batch_size)


def identified(encoder: Any) -> bool:
    """Whether an encoder's vectors and results may be reused: not an object nothing identifies."""
    return not str(encoder.identity.revision).startswith(UNIDENTIFIED)


def object_name(model: Any) -> str:
    """A SentenceTransformer's hub id or folder (as it was loaded), else the object's class."""
    base = getattr(getattr(model, "model_card_data", None), "base_model", None)
    if base:
        return str(base)
    try:
        return str(model[0].auto_model.config._name_or_path) or type(model).__name__
    except (TypeError, AttributeError, IndexError, KeyError):
        return type(model).__name__


def identify(model: Any) -> str | None:
    """sha256 of the object's state dict (names, dtypes, shapes, bytes), with a SentenceTransformer's module
    configurations and tokenizer; None without a state dict."""
    state = getattr(model, "state_dict", None)
    if not callable(state):
        return None
    import torch

    digest = hashlib.sha256()
    for key, tensor in sorted(state().items()):
        data = tensor.detach().cpu().contiguous()
        digest.update(f"{key}|{data.dtype}|{tuple(data.shape)}|".encode())
        digest.update(data.view(-1).view(torch.uint8).numpy().tobytes())
    if _is_sentence_transformer(model):
        configs: list[Any] = [[type(m).__name__, getattr(m, "get_config_dict", dict)()] for m in model]
        digest.update(json.dumps(configs, sort_keys=True, default=str).encode())
        digest.update(_tokenizer_text(model.tokenizer).encode())
    return digest.hexdigest()


def _tokenizer_text(tokenizer: Any) -> str:
    """The tokenizer as text, without the truncation and padding a call leaves set on a fast tokenizer's backend
    (every encode sets them: the same object was known by other bytes after its first run)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return json.dumps(tokenizer.get_vocab(), sort_keys=True)
    state = json.loads(backend.to_str())
    return json.dumps({k: v for k, v in state.items() if k not in ("truncation", "padding")}, sort_keys=True)


def _is_sentence_transformer(model: Any) -> bool:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:  # pragma: no cover - a dependency
        return False
    return isinstance(model, SentenceTransformer)


class EncodeObject:
    """An object with `encode(texts) -> vectors` as a harness encoder (`core.interfaces.BatchEncoder`): batches
    of `batch_size` in order, the mode's inputs, float32 rows checked for shape and finiteness."""

    def __init__(self, model: Any, identity: ModelIdentity, batch_size: int) -> None:
        self.model, self.batch_size, self.identity = model, batch_size, identity
        self.identity = dataclasses.replace(identity, dimension=int(self._call(["a"]).shape[1]))  # a probe
        self.telemetry = Telemetry(str(getattr(model, "device", "object")))

    def _call(self, inputs: list[str]) -> np.ndarray:
        out = self.model.encode(inputs)
        vectors = np.asarray(out.detach().cpu().float() if hasattr(out, "detach") else out, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(inputs):
            raise ModelError(
                f"model object {self.identity.name}: encode({len(inputs)} texts) returned shape {vectors.shape}; "
                "expected one vector per text"
            )
        if not np.isfinite(vectors).all():
            raise ModelError(f"model object {self.identity.name} produced NaN/inf embeddings")
        return vectors

    def encode(self, texts: list[str], *, instruction: str = "") -> np.ndarray:
        return encode_distinct(self, texts, instruction)  # mode none: `encode_batches` drops the instruction

    def batches(self, texts: Sequence[str], instruction: str) -> list[list[int]]:
        return [list(range(i, min(i + self.batch_size, len(texts)))) for i in range(0, len(texts), self.batch_size)]

    def encode_batches(self, batches: list[list[str]], instruction: str) -> list[np.ndarray]:
        prefix = "" if self.identity.mode == "none" else instruction
        out = []
        for batch in batches:
            start = time.perf_counter()
            out.append(self._call([prefix + t for t in batch]))
            self.telemetry.add(len(batch), time.perf_counter() - start)
        return out

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        tokenizer = getattr(self.model, "tokenizer", None)
        if tokenizer is None:
            raise ModelError(f"model object {self.identity.name} has no tokenizer: its tokens cannot be counted")
        return [len(ids) for ids in tokenizer(list(texts))["input_ids"]]

    def similarity(self, a: Any, b: Any) -> Any:
        """Cosine similarity (mteb's default for a model that names none)."""
        import torch

        x, y = torch.as_tensor(np.asarray(a, np.float32)), torch.as_tensor(np.asarray(b, np.float32))
        return torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(y, dim=-1).T

    @property
    def similarity_fn_name(self) -> str:
        return "cosine"

    def metadata(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.identity), "object": type(self.model).__name__}
