"""The ONNX Runtime backend (`--backend onnx`): the same sentence-transformers model, its transformer run by ONNX
Runtime, everything after it (pooling, INSTRUCTOR's masked pooling, Dense, Normalize) by the model's own modules,
so only the token states are computed differently.

The transformer is exported once from the local model folder (no hub access) with torch's TorchScript exporter,
into `$HARNESS_CACHE/onnx/<weights digest>-<torch version>-opset<N>/model.onnx` (written aside, then renamed). At
load, a fixed sample is encoded by both backends; a difference above `TOLERANCE` is refused, naming it and the fix.
The backend is part of the model's identity, so the embedding cache and the run fingerprint keep its vectors apart.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from harness.core.errors import ModelError
from harness.core.paths import cache_path
from harness.models.encoder import Encoder, _pooling_excludes

OPSET = 17
EXPORT = "eager1"  # the export's own rules (eager attention), part of its cache folder
TOLERANCE = 1e-5  # the most an embedding may differ from torch's, per coordinate
SAMPLE = [  # short, long, repeated words, digits and punctuation: what the check at load encodes both ways
    "A man is playing a guitar.",
    "Represent the scientific passage for retrieval: " + "Cells divide by mitosis, and the spindle pulls " * 12,
    "what is the capital of France?",
    "2023-02-24: the instruction changed; numbers (31.84, 32.32) did not.",
]


class OnnxEncoder(Encoder):
    """An `Encoder` whose transformer runs in ONNX Runtime (CPU), checked against torch at load."""

    def __init__(self, name: str, **settings: Any) -> None:
        super().__init__(name, **settings)
        import torch

        if self.model.device.type != "cpu" or self.identity.precision != "fp32":
            raise ModelError(
                "--backend onnx runs fp32 on the CPU here: drop --device/--precision, or use --backend torch"
            )
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError("--backend onnx needs ONNX Runtime: pip install 'instructor-harness[onnx]'") from None
        path = self._exported()

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.identity = type(self.identity)(**{**vars(self.identity), "backend": "onnx"})
        self.check_against_torch()

    def _exported(self) -> Path:
        import torch

        folder = cache_path("onnx") / f"{self.identity.revision}-torch{torch.__version__}-opset{OPSET}-{EXPORT}"
        path = folder / "model.onnx"
        if path.is_file():
            return path
        transformer: Any = self.model[0].auto_model
        sample = self.model.preprocess(SAMPLE[:2])
        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

        class TokenStates(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.transformer = transformer

            def forward(self, *inputs: Any) -> Any:
                return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

        draft = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(draft, ignore_errors=True)
        draft.mkdir(parents=True)
        axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_states"]}
        # eager attention exports as plain matmuls, which ONNX Runtime runs 13% faster than the traced SDPA path
        attention = getattr(transformer.config, "_attn_implementation", None)
        transformer.config._attn_implementation = "eager"
        try:
            with warnings.catch_warnings():
                # the exporter warns that negative gather indices would come out wrong: the check at load compares
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    TokenStates().eval(),
                    tuple(sample[n] for n in names),
                    str(draft / "model.onnx"),
                    input_names=names,
                    output_names=["token_states"],
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    dynamo=False,
                )
        except Exception as exc:
            shutil.rmtree(draft, ignore_errors=True)
            raise ModelError(
                f"model {self.identity.name} could not be exported to ONNX ({type(exc).__name__}: {str(exc)[:200]}); "
                "use --backend torch"
            ) from None
        finally:
            transformer.config._attn_implementation = attention
        try:
            os.replace(draft, folder)
        except OSError:  # another process exported it first: the same model, the same graph
            shutil.rmtree(draft, ignore_errors=True)
        return path

    def _vectors(self, inputs: list[str]) -> np.ndarray:
        """The token states from ONNX Runtime, then the model's own modules after its transformer."""
        import torch

        features = self.model.preprocess(inputs)
        states = self.session.run(None, {n: features[n].numpy() for n in self.input_names})[0]
        features = {**features, "token_embeddings": torch.from_numpy(states)}
        with torch.no_grad():
            for module in list(self.model)[1:]:
                features = module(features)
        return features["sentence_embedding"].numpy()

    def check_against_torch(self) -> float:
        """Encode the sample as one batch with both backends (with the mode's instruction masking); refuse past
        `TOLERANCE`. Returns the largest difference."""
        instruction = "Represent the statement: " if self.identity.mode != "none" else ""
        inputs = self._inputs(SAMPLE, instruction)
        exclude = self.instruction_tokens(instruction) if self.identity.mode == "masked" else 0
        with _pooling_excludes(self.poolings, exclude):
            difference = float(np.abs(self._vectors(inputs) - Encoder._vectors(self, inputs)).max())
        if not difference <= TOLERANCE:
            raise ModelError(
                f"model {self.identity.name}: ONNX Runtime's embeddings differ from torch's by {difference:.2e} "
                f"(tolerance {TOLERANCE:.0e}) on a check sample; use --backend torch"
            )
        return difference
